// Driver of the ap types probe (see ap_probe_gen.py): case templates that use only the API common to
// the vendor headers and hls_lib (construction, assignment, + - * unary -, comparisons, to_double,
// to_float, to_int, to_int64, length(), range(hi, lo) read and write). main() is appended by the
// generator.
#include "ap_fixed.h"
#include "ap_int.h"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

static size_t N = 0;
static std::vector<double> D;
static std::vector<uint64_t> PA, PB;
static FILE* OUT = nullptr;

static bool probe_init(int argc, char** argv) {
  if (argc != 3) { std::fprintf(stderr, "usage: probe INPUT OUTPUT\n"); return false; }
  FILE* in = std::fopen(argv[1], "rb");
  if (!in) { std::fprintf(stderr, "cannot read %s\n", argv[1]); return false; }
  int64_t n = 0;
  if (std::fread(&n, 8, 1, in) != 1) return false;
  N = (size_t)n;
  D.resize(N); PA.resize(2 * N); PB.resize(2 * N);
  bool ok = std::fread(D.data(), 8, N, in) == N && std::fread(PA.data(), 8, 2 * N, in) == 2 * N &&
            std::fread(PB.data(), 8, 2 * N, in) == 2 * N;
  std::fclose(in);
  OUT = std::fopen(argv[2], "wb");
  return ok && OUT;
}

static int probe_done() { return std::fclose(OUT) == 0 ? 0 : 1; }

static void put_word(uint64_t w) { std::fwrite(&w, 8, 1, OUT); }

template <class X> static void header(X& x) { put_word(0xCA5E); put_word((uint64_t)x.length()); }

template <class X> static void set_bits(X& x, const uint64_t* p) {
  const int w = x.length();
  // Mask to the range width: the vendor's range assignment keeps stray high bits of wide types.
  if (w <= 64) {
    x.range(w - 1, 0) = (unsigned long long)(w == 64 ? p[0] : p[0] & ((1ull << w) - 1));
  } else {
    x.range(63, 0) = (unsigned long long)p[0];
    x.range(w - 1, 64) = (unsigned long long)(w == 128 ? p[1] : p[1] & ((1ull << (w - 64)) - 1));
  }
}

template <class X> static void put(X& x) {
  const int w = x.length();
  if (w <= 64) {
    put_word((uint64_t)x.range(w - 1, 0).to_uint64());
  } else {
    put_word((uint64_t)x.range(63, 0).to_uint64());
    put_word((uint64_t)x.range(w - 1, 64).to_uint64());
  }
}

template <class Dst> static void case_from_double(size_t n) {
  Dst h; header(h);
  for (size_t i = 0; i < n; ++i) { Dst t = D[i]; put(t); }
}

template <class Src, class Dst> static void case_convert(size_t n) {
  Dst h; header(h);
  for (size_t i = 0; i < n; ++i) { Src s; set_bits(s, &PA[2 * i]); Dst t = s; put(t); }
}

#define NN2HLS_BINARY_CASE(NAME, EXPR)                                                 \
  template <class A, class B> static void case_##NAME(size_t n) {                      \
    A a0; B b0; auto h = EXPR(a0, b0); header(h);                                       \
    for (size_t i = 0; i < n; ++i) {                                                   \
      A a; B b; set_bits(a, &PA[2 * i]); set_bits(b, &PB[2 * i]);                       \
      auto r = EXPR(a, b); put(r);                                                     \
    }                                                                                  \
  }
#define MUL(a, b) ((a) * (b))
#define ADD(a, b) ((a) + (b))
#define SUB(a, b) ((a) - (b))
NN2HLS_BINARY_CASE(mul, MUL)
NN2HLS_BINARY_CASE(add, ADD)
NN2HLS_BINARY_CASE(sub, SUB)

// a + int, a * int, int - a with a C++ int taken from pattern B's low word.
#define NN2HLS_INT_CASE(NAME, EXPR)                                                    \
  template <class A> static void case_##NAME(size_t n) {                               \
    A a0; int k0 = 0; auto h = EXPR; (void)k0; header(h);                                \
    for (size_t i = 0; i < n; ++i) {                                                   \
      A a; set_bits(a, &PA[2 * i]); int k = (int)(int64_t)PB[2 * i];                   \
      A& a0 = a; int k0 = k; auto r = EXPR; put(r);                                     \
    }                                                                                  \
  }
NN2HLS_INT_CASE(addi, a0 + k0)
NN2HLS_INT_CASE(muli, a0 * k0)
NN2HLS_INT_CASE(isub, k0 - a0)

template <class A> static void case_neg(size_t n) {
  A a0; auto h = -a0; header(h);
  for (size_t i = 0; i < n; ++i) { A a; set_bits(a, &PA[2 * i]); auto r = -a; put(r); }
}

// Six relations as bits 0..5 (== != < <= > >=), plus the same against an int in bits 8..13.
template <class A, class B> static void case_cmp(size_t n) {
  put_word(0xCA5E); put_word(0);
  for (size_t i = 0; i < n; ++i) {
    A a; B b; set_bits(a, &PA[2 * i]); set_bits(b, &PB[2 * i]);
    if (i % 3 == 0) b = a;  // equal values often
    const int k = (int)((int64_t)PB[2 * i] >> 50);
    uint64_t r = (a == b) | (a != b) << 1 | (a < b) << 2 | (a <= b) << 3 | (a > b) << 4 | (a >= b) << 5;
    r |= (uint64_t)((a == k) | (a != k) << 1 | (a < k) << 2 | (a <= k) << 3 | (a > k) << 4 | (k >= a) << 5) << 8;
    put_word(r);
  }
}

// to_double and to_float | to_int << 32 as one 128-bit record; to_int64 as a 64-bit record.
template <class A> static void case_outs(size_t n) {
  put_word(0xCA5E); put_word(128);
  for (size_t i = 0; i < n; ++i) {
    A a; set_bits(a, &PA[2 * i]);
    const double d = a.to_double();
    const float f = a.to_float();
    uint64_t db; std::memcpy(&db, &d, 8);
    uint32_t fb; std::memcpy(&fb, &f, 4);
    put_word(db);
    put_word((uint64_t)fb | (uint64_t)(uint32_t)a.to_int() << 32);
  }
}

template <class A> static void case_outi(size_t n) {
  put_word(0xCA5E); put_word(64);
  for (size_t i = 0; i < n; ++i) { A a; set_bits(a, &PA[2 * i]); put_word((uint64_t)(int64_t)a.to_int64()); }
}

// acc = sum_{j<8} x_j * w_j in Acc (its own Q/O applies at each +=), then narrowed to Dst.
template <class X, class Wt, class Acc, class Dst> static void case_dot(size_t n) {
  Dst h; header(h);
  for (size_t i = 0; i < n; ++i) {
    Acc acc = 0;
    for (size_t j = 0; j < 8; ++j) {
      X x; Wt w; set_bits(x, &PA[2 * ((i + j) % N)]); set_bits(w, &PB[2 * ((i + 3 * j) % N)]);
      acc += x * w;
    }
    Dst t = acc; put(t);
  }
}
