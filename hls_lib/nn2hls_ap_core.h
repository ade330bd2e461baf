// nn2hls_ap_core.h -- nn2hls's own light, header-only simulation of the Vivado/Vitis arbitrary
// precision types ap_fixed<W,I,Q,O,N>, ap_ufixed<W,I,Q,O,N>, ap_int<W> and ap_uint<W>.
//
// Include it through "ap_fixed.h" or "ap_int.h" (both give the whole set, like the vendor's). The
// names and semantics are the vendor's, so generated HLS sources compile unchanged against either
// header set; the vendor headers are the reference the test-suite checks every mode against.
//
// Rules implemented (value = raw * 2^-F, F = W - I; storage is the smallest native integer):
//  * Conversion (construction/assignment from any of these types, C++ integers, float, double) is
//    exact-value based: the source value is first quantized to the target's F fractional bits with
//    the target's Q mode, then brought into the W-bit range with its O mode. ap_int/ap_uint behave
//    as AP_TRN_ZERO + AP_WRAP (C-like truncation of fractions, modular overflow).
//      Q: AP_TRN floor, AP_TRN_ZERO toward 0, AP_RND half up, AP_RND_ZERO half toward 0,
//         AP_RND_INF half away from 0, AP_RND_MIN_INF half down, AP_RND_CONV half to even.
//      O: AP_WRAP two's complement wrap, AP_SAT clamp, AP_SAT_ZERO 0 on overflow, AP_SAT_SYM clamp
//         to +-max (signed: the most negative value also becomes -max, except for W = 1).
//         AP_WRAP_SM and N != 0 are refused by a static_assert (the vendor's rules are not modelled).
//  * a*b is exact: W = W1+W2, I = I1+I2, signed if either is. a+b, a-b are exact with
//    F = max(F1,F2), I = max(I1 + (S2 && !S1), I2 + (S1 && !S2)) + 1, W = I + F, signed if either
//    is (a-b: always signed). -a: W+1, I+1, signed. int+int gives ap_int/ap_uint, anything with a
//    fixed operand gives ap_fixed/ap_ufixed. A C++ integer operand counts as ap_int<bits>/ap_uint<bits>
//    (int = ap_int<32>, bool = ap_uint<1>).
//  * Comparisons are exact across all types. to_double()/to_float() round to nearest even.
//    to_int()/to_int64()/... truncate toward zero (then wrap to the C++ type).
// Widths are limited to 1..128 bits (a static_assert says so); results wider than 128 bits too.
#ifndef NN2HLS_AP_CORE_H
#define NN2HLS_AP_CORE_H

#if __cplusplus < 201703L
#error "nn2hls hls_lib ap types need C++17: compile with -std=c++17 (or use the vendor headers)"
#endif

#include <cstdint>
#include <iosfwd>
#include <type_traits>

enum ap_q_mode { AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN, AP_TRN_ZERO };
enum ap_o_mode { AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP, AP_WRAP_SM };

template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0> struct ap_fixed;
template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0> struct ap_ufixed;
template <int W> struct ap_int;
template <int W> struct ap_uint;

namespace nn2hls_ap {

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

template <int W, bool S> struct storage {
  static_assert(W >= 1 && W <= 128,
                "nn2hls hls_lib: ap types are limited to 1..128 bits (a result of + or * may be "
                "wider: narrow an operand, or build the C simulation with the vendor headers)");
  typedef typename std::conditional<
      (W <= 8), int8_t,
      typename std::conditional<
          (W <= 16), int16_t,
          typename std::conditional<(W <= 32), int32_t,
                                    typename std::conditional<(W <= 64), int64_t, i128>::type>::
              type>::type>::type stype;
  typedef typename std::conditional<
      (W <= 8), uint8_t,
      typename std::conditional<
          (W <= 16), uint16_t,
          typename std::conditional<(W <= 32), uint32_t,
                                    typename std::conditional<(W <= 64), uint64_t, u128>::type>::
              type>::type>::type utype;
  typedef typename std::conditional<S, stype, utype>::type type;
};

constexpr int imax(int a, int b) { return a > b ? a : b; }
constexpr int imin(int a, int b) { return a < b ? a : b; }

// 2^e as a double (exact for -1074 <= e <= 1023).
constexpr double pow2d(int e) {
  double r = 1.0;
  while (e > 0) { r *= 2.0; --e; }
  while (e < 0) { r *= 0.5; ++e; }
  return r;
}

// Increment (0/1) that rounding mode Q adds to the floor quotient, given the sign of the exact
// value, the parity of the floor quotient and how the discarded remainder compares to one half.
template <ap_q_mode Q>
constexpr bool round_up_floor(bool neg, bool q_odd, bool rem_nz, bool above, bool tie) {
  switch (Q) {
    case AP_TRN: return false;
    case AP_TRN_ZERO: return neg && rem_nz;
    case AP_RND: return above || tie;
    case AP_RND_MIN_INF: return above;
    case AP_RND_ZERO: return above || (tie && neg);
    case AP_RND_INF: return above || (tie && !neg);
    case AP_RND_CONV: return above || (tie && q_odd);
  }
  return false;
}

// General conversion on a sign + 128-bit magnitude (value = +-mag * 2^-Fs), any shift amount.
// Returns the target's raw bits, sign- (Sd) or zero-extended to 128 bits.
template <int Wd, int Fd, bool Sd, ap_q_mode Q, ap_o_mode O>
constexpr u128 convert_general(bool neg, u128 mag, int Fs) {
  const u128 ones = ~(u128)0;
  if (mag == 0) neg = false;
  bool huge = false;  // |value| * 2^Fd >= 2^128
  const int sh = Fd - Fs;
  if (sh < 0) {
    const int d = -sh;
    u128 q = 0, rem = 0;
    bool above = false, tie = false;
    if (d >= 129) {
      q = 0; rem = mag; above = false; tie = false;
    } else if (d == 128) {
      const u128 half = (u128)1 << 127;
      q = 0; rem = mag; above = rem > half; tie = rem == half;
    } else {
      const u128 half = (u128)1 << (d - 1);
      q = mag >> d; rem = mag & (((u128)1 << d) - 1); above = rem > half; tie = rem == half;
    }
    // Rounding on the magnitude: floor of a negative value is -(q + (rem != 0)).
    bool inc = false;
    switch (Q) {
      case AP_TRN: inc = neg && rem != 0; break;
      case AP_TRN_ZERO: inc = false; break;
      case AP_RND: inc = neg ? above : (above || tie); break;
      case AP_RND_MIN_INF: inc = neg ? (above || tie) : above; break;
      case AP_RND_ZERO: inc = above; break;
      case AP_RND_INF: inc = above || tie; break;
      default: inc = above || (tie && (q & 1)); break;  // AP_RND_CONV
    }
    mag = q + (inc ? 1 : 0);
  } else if (sh > 0) {
    if (sh >= 128) {
      huge = mag != 0; mag = 0;
    } else {
      huge = mag > (ones >> sh); mag <<= sh;
    }
  }
  if (mag == 0 && !huge) neg = false;
  const u128 maxm = Sd ? (((u128)1 << (Wd - 1)) - 1) : (Wd == 128 ? ones : (((u128)1 << Wd) - 1));
  const u128 minm = Sd ? ((u128)1 << (Wd - 1)) : 0;  // magnitude of the most negative value
  bool ovf = false;
  if (huge) ovf = true;
  else if (neg) ovf = mag > minm || (O == AP_SAT_SYM && Sd && Wd > 1 && mag == minm);
  else ovf = mag > maxm;
  const u128 bits = neg ? (u128)0 - mag : mag;
  if (!ovf) return bits;
  u128 wrapped = 0;
  if (Wd == 128) wrapped = bits;
  else if (Sd) wrapped = (u128)(((i128)(bits << (128 - Wd))) >> (128 - Wd));
  else wrapped = bits & maxm;
  switch (O) {
    case AP_WRAP: return wrapped;
    case AP_SAT_ZERO: return 0;
    case AP_WRAP_SM:
      if (Sd) return ~wrapped;
      return neg ? 0 : maxm;
    case AP_SAT_SYM:
      if (Sd) return neg ? (u128)0 - (Wd > 1 ? maxm : minm) : maxm;
      return neg ? 0 : maxm;
    default:  // AP_SAT
      if (Sd) return neg ? (u128)0 - minm : maxm;
      return neg ? 0 : maxm;
  }
}

// Conversion from raw bits of <Ws, Fs, Ss> to raw bits of <Wd, Fd, Sd> with modes Q, O. Uses
// native 64/128-bit signed arithmetic when every intermediate fits, else convert_general.
template <int Ws, int Fs, bool Ss, int Wd, int Fd, bool Sd, ap_q_mode Q, ap_o_mode O>
struct conv {
  typedef typename storage<Ws, Ss>::type src_t;
  typedef typename storage<Wd, Sd>::type dst_t;
  static constexpr int sh = Fd - Fs;
  static constexpr int need = Ws + 2 + (sh > 0 ? sh : 0);
  static constexpr bool fits64 = need <= 63 && Wd + 2 <= 63;
  static constexpr bool fits128 = need <= 127 && Wd + 2 <= 127;
  typedef typename std::conditional<fits64, int64_t, i128>::type T;
  typedef typename std::conditional<fits64, uint64_t, u128>::type UT;
  static constexpr int tbits = fits64 ? 64 : 128;
  static constexpr int d = sh < 0 ? imin(-sh, Ws + 1) : 0;  // clamped right shift (same result)

  static constexpr T quant(T x) {
    if constexpr (sh > 0) {
      return (T)((UT)x << sh);
    } else if constexpr (sh < 0) {
      const T q = x >> d;
      if constexpr (Q == AP_TRN) {
        return q;
      } else {
        // floor((x + bias) / 2^d) with a mode-dependent bias in [0, 2^d): a rounding decision by
        // one add before the shift (|x| < 2^(Ws-1) and d <= Ws + 1, so x + bias cannot overflow T).
        const T half = (T)((UT)1 << (d - 1));
        const T neg = x < 0 ? 1 : 0;
        T bias = 0;
        switch (Q) {
          case AP_TRN_ZERO: bias = neg ? (T)(((UT)1 << d) - 1) : 0; break;  // toward zero
          case AP_RND: bias = half; break;                                  // ties toward +inf
          case AP_RND_MIN_INF: bias = half - 1; break;                      // ties toward -inf
          case AP_RND_INF: bias = half - neg; break;                        // ties away from zero
          case AP_RND_ZERO: bias = half - 1 + neg; break;                   // ties toward zero
          default: bias = half - 1 + (q & 1); break;                        // AP_RND_CONV: ties to even
        }
        return (x + bias) >> d;
      }
    } else {
      return x;
    }
  }
  static constexpr T smin() { return Ss ? -(T)((UT)1 << (Ws - 1)) : 0; }
  static constexpr T smax() { return Ss ? (T)(((UT)1 << (Ws - 1)) - 1) : (T)(((UT)1 << Ws) - 1); }
  static constexpr T dmin() { return Sd ? -(T)((UT)1 << (Wd - 1)) : 0; }
  static constexpr T dmax() { return Sd ? (T)(((UT)1 << (Wd - 1)) - 1) : (T)(((UT)1 << Wd) - 1); }
  static constexpr T qlo() { return sh > 0 ? (T)((UT)smin() << sh) : (sh < 0 ? (smin() >> d) : smin()); }
  static constexpr T qhi() {
    return sh > 0 ? (T)((UT)smax() << sh) : (sh < 0 ? (smax() >> d) + (Q == AP_TRN ? 0 : 1) : smax());
  }
  static constexpr bool sym = (O == AP_SAT_SYM) && Sd && Wd > 1;
  static constexpr bool may_ovf = qlo() < (sym ? -dmax() : dmin()) || qhi() > dmax();

  static constexpr T wrap(T v) {
    if constexpr (Sd) return (T)((UT)v << (tbits - Wd)) >> (tbits - Wd);
    else return (T)((UT)v & (UT)dmax());
  }

  static constexpr dst_t run(src_t raw) {
    if constexpr (fits64 || fits128) {
      T v = quant((T)raw);
      if constexpr (may_ovf && O == AP_WRAP) {
        v = wrap(v);  // identity inside the range: a shift pair, no compare on the dependency chain
      } else if constexpr (may_ovf) {
        const T lo = sym ? -dmax() : dmin();
        if (v < lo || v > dmax()) {
          switch (O) {
            case AP_WRAP: v = wrap(v); break;
            case AP_SAT_ZERO: v = 0; break;
            case AP_WRAP_SM: v = Sd ? (T)~wrap(v) : (v < 0 ? 0 : dmax()); break;
            default: v = v < 0 ? lo : dmax(); break;  // AP_SAT, AP_SAT_SYM
          }
        }
      }
      return (dst_t)v;
    } else {
      const bool neg = Ss && raw < 0;
      const u128 mag = neg ? (u128)0 - (u128)(i128)raw : (u128)raw;
      return (dst_t)convert_general<Wd, Fd, Sd, Q, O>(neg, mag, Fs);
    }
  }
};

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, bool K> struct base;

// The user-facing class for given parameters (ap_int/ap_uint for integer kinds).
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, bool K> struct type_of;
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O> struct type_of<W, I, S, Q, O, false> {
  typedef typename std::conditional<S, ap_fixed<W, I, Q, O, 0>, ap_ufixed<W, I, Q, O, 0>>::type type;
};
template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O> struct type_of<W, I, S, Q, O, true> {
  typedef typename std::conditional<S, ap_int<W>, ap_uint<W>>::type type;
};
// Result type of an exact operation: default modes.
template <int W, int I, bool S, bool K> struct result_of {
  typedef typename type_of<W, I, S, (K ? AP_TRN_ZERO : AP_TRN), AP_WRAP, K>::type type;
};

template <class R> constexpr R from_raw(typename R::raw_t r) {
  R x;
  x.V = r;
  return x;
}

// C++ integer types seen as ap_int<bits> / ap_uint<bits> (bool: ap_uint<1>).
template <class T> struct int_bits {
  static constexpr int value = std::is_same<T, bool>::value ? 1 : (int)sizeof(T) * 8;
};
template <class T> struct int_as {
  static constexpr int B = int_bits<T>::value;
  static constexpr bool S = std::is_signed<T>::value;
  typedef base<B, B, S, AP_TRN_ZERO, AP_WRAP, true> type;
};
template <class T>
using enable_int = typename std::enable_if<std::is_integral<T>::value, int>::type;


struct u128_parts { uint64_t hi, lo; };

// x.range(hi, lo) on a non-const object: readable like the bits (an ap_uint) and assignable.
template <class B> struct range_ref {
  B* p;
  int hi, lo;
  constexpr ap_uint<B::width> get() const { return static_cast<const B*>(p)->range(hi, lo); }
  constexpr operator ap_uint<B::width>() const { return get(); }
  constexpr operator unsigned long long() const { return get().to_uint64(); }
  constexpr unsigned long long to_uint64() const { return get().to_uint64(); }
  constexpr long long to_int64() const { return get().to_int64(); }
  constexpr unsigned to_uint() const { return get().to_uint(); }
  constexpr int to_int() const { return get().to_int(); }
  constexpr int length() const { return hi - lo + 1; }
  // Replace bits hi..lo of the raw value with the low bits of v.
  constexpr range_ref& operator=(u128 v) {
    const int n = hi - lo + 1;
    const u128 m = (n >= 128 ? ~(u128)0 : (((u128)1 << n) - 1)) << lo;
    const u128 bits = ((u128)(i128)p->V & ~m) | ((v << lo) & m);
    p->V = B::wrap_bits(bits);
    return *this;
  }
  template <class T, enable_int<T> = 0> constexpr range_ref& operator=(T v) {
    return *this = (u128)(i128)v;
  }
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, bool K2>
  constexpr range_ref& operator=(const base<W2, I2, S2, Q2, O2, K2>& v) {
    return *this = (u128)(i128)v.V;
  }
  constexpr range_ref& operator=(const range_ref& o) { return *this = (u128)o.get().V; }
};

template <int W, int I, bool S, ap_q_mode Q, ap_o_mode O, bool K> struct base {
  static_assert(W >= 1 && W <= 128, "nn2hls hls_lib: ap types are limited to 1..128 bits");
  typedef typename storage<W, S>::type raw_t;
  typedef typename type_of<W, I, S, Q, O, K>::type self_t;
  typedef typename std::conditional<K, typename std::conditional<S, long long, unsigned long long>::type,
                                    double>::type native_t;
  static constexpr int width = W;
  static constexpr int iwidth = I;
  static constexpr int frac = W - I;
  static constexpr bool is_signed = S;
  static constexpr bool is_int = K;

  raw_t V;  // raw bits: value * 2^frac, sign- or zero-extended to the storage type

  constexpr base() : V(0) {}
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, bool K2>
  constexpr base(const base<W2, I2, S2, Q2, O2, K2>& o)
      : V(conv<W2, W2 - I2, S2, W, W - I, S, Q, O>::run(o.V)) {}
  template <class T, enable_int<T> = 0>
  constexpr base(T x)
      : V(conv<int_bits<T>::value, 0, std::is_signed<T>::value, W, W - I, S, Q, O>::run(
            (typename storage<int_bits<T>::value, std::is_signed<T>::value>::type)x)) {}
  constexpr base(double x) : V(from_double(x)) {}
  constexpr base(float x) : V(from_double((double)x)) {}

  static constexpr raw_t from_double(double x) {
    const uint64_t b = __builtin_bit_cast(uint64_t, x);
    const int e = (int)((b >> 52) & 0x7ff);
    uint64_t m = b & ((1ull << 52) - 1);
    if (e != 0) m |= 1ull << 52;
    const int fs = e == 0 ? 1074 : 1075 - e;  // |x| = m * 2^-fs
    if (m == 0) return 0;
    if constexpr (W <= 60) {
      // Fast path (the batch entry point converts every input): a right shift by 1..62 bits of the
      // signed 54-bit mantissa, rounded like conv::quant; out-of-range results take the general path.
      const int d = fs - (W - I);
      if (d >= 1 && d <= 62) {
        const int64_t v = (b >> 63) ? -(int64_t)m : (int64_t)m;
        int64_t q = v >> d;
        if constexpr (Q != AP_TRN) {
          const uint64_t rem = (uint64_t)v & ((1ull << d) - 1), half = 1ull << (d - 1);
          q += round_up_floor<Q>(v < 0, q & 1, rem != 0, rem > half, rem == half) ? 1 : 0;
        }
        constexpr int64_t hi = S ? (int64_t)((1ull << (W - 1)) - 1) : (int64_t)((1ull << W) - 1);
        constexpr int64_t lo = !S ? 0 : ((O == AP_SAT_SYM && W > 1) ? -hi : -hi - 1);
        if (q >= lo && q <= hi) return (raw_t)q;
      }
    }
    return (raw_t)convert_general<W, W - I, S, Q, O>((b >> 63) != 0, (u128)m, fs);
  }

  // ---- conversions out ----
  constexpr double to_double() const { return (double)V * pow2d(I - W); }
  constexpr float to_float() const {
    if constexpr (W <= 64) {
      return (float)V * (float)pow2d(I - W);
    } else {
      // (float) of a 128-bit integer near 2^128 overflows: keep the top 62 bits plus a sticky
      // bit (round-to-nearest-even stays exact), then scale by a power of two in double.
      const bool neg = S && V < 0;
      const u128 m = neg ? (u128)0 - (u128)(i128)V : (u128)V;
      const uint64_t mh = (uint64_t)(m >> 64);
      float f = 0.0f;
      if (mh == 0) {
        f = (float)((double)(float)(uint64_t)m * pow2d(I - W));
      } else {
        const int s = (128 - __builtin_clzll(mh)) - 62;
        const uint64_t top = (uint64_t)(m >> s) | (uint64_t)((m & (((u128)1 << s) - 1)) != 0);
        f = (float)((double)(float)top * pow2d(s + I - W));
      }
      return neg ? -f : f;
    }
  }
  constexpr operator native_t() const {
    if constexpr (K) return (native_t)V;
    else return to_double();
  }
  // Integer part rounded toward zero, as a 128-bit integer (modular for huge values).
  constexpr i128 int_part() const {
    constexpr int F = W - I;
    if constexpr (F <= 0) {
      return F <= -128 ? 0 : (i128)((u128)(i128)V << (-F));
    } else if constexpr (F >= W) {
      return 0;
    } else {
      i128 q = (i128)V >> F;
      if (V < 0 && ((i128)V & (((i128)1 << F) - 1)) != 0) q += 1;
      return q;
    }
  }
  constexpr int to_int() const { return (int)int_part(); }
  constexpr unsigned to_uint() const { return (unsigned)int_part(); }
  constexpr long to_long() const { return (long)int_part(); }
  constexpr unsigned long to_ulong() const { return (unsigned long)int_part(); }
  constexpr long long to_int64() const { return (long long)int_part(); }
  constexpr unsigned long long to_uint64() const { return (unsigned long long)int_part(); }
  constexpr int length() const { return W; }
  constexpr bool is_neg() const { return S && V < 0; }

  // ---- bit access (raw bits, bit 0 = LSB) ----
  constexpr bool operator[](int i) const { return ((u128)(i128)V >> i) & 1; }
  constexpr bool get_bit(int i) const { return (*this)[i]; }
  constexpr ap_uint<W> range(int hi, int lo) const {
    const u128 bits = (u128)(i128)V >> lo;
    const int n = hi - lo + 1;
    return from_raw<ap_uint<W>>((typename ap_uint<W>::raw_t)(n >= 128 ? bits : bits & (((u128)1 << n) - 1)));
  }
  constexpr ap_uint<W> range() const { return range(W - 1, 0); }
  constexpr range_ref<base> range(int hi, int lo) { return range_ref<base>{this, hi, lo}; }
  constexpr range_ref<base> range() { return range_ref<base>{this, W - 1, 0}; }
  template <class B> constexpr base(const range_ref<B>& r) : base(r.get()) {}

  // ---- compound assignment: exact operation, then this type's Q/O ----
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, bool K2>
  constexpr self_t& operator+=(const base<W2, I2, S2, Q2, O2, K2>& b) { return set(*this + b); }
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, bool K2>
  constexpr self_t& operator-=(const base<W2, I2, S2, Q2, O2, K2>& b) { return set(*this - b); }
  template <int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, bool K2>
  constexpr self_t& operator*=(const base<W2, I2, S2, Q2, O2, K2>& b) { return set(*this * b); }
  template <class T, enable_int<T> = 0> constexpr self_t& operator+=(T b) { return set(*this + b); }
  template <class T, enable_int<T> = 0> constexpr self_t& operator-=(T b) { return set(*this - b); }
  template <class T, enable_int<T> = 0> constexpr self_t& operator*=(T b) { return set(*this * b); }
  constexpr self_t& operator++() { return set(*this + 1); }
  constexpr self_t& operator--() { return set(*this - 1); }
  constexpr self_t operator++(int) { self_t old = self(); set(*this + 1); return old; }
  constexpr self_t operator--(int) { self_t old = self(); set(*this - 1); return old; }

  // ---- shifts of the raw bits, keeping the type (wrapping) ----
  constexpr self_t operator<<(int n) const {
    if (n < 0) return *this >> -n;
    return from_raw<self_t>(wrap_bits(n >= 128 ? (u128)0 : (u128)(i128)V << n));
  }
  constexpr self_t operator>>(int n) const {
    if (n < 0) return *this << -n;
    if (n >= 128) n = 127;
    return from_raw<self_t>((raw_t)(S ? (u128)((i128)V >> n) : ((u128)V >> n)));
  }
  constexpr self_t& operator<<=(int n) { V = (*this << n).V; return self(); }
  constexpr self_t& operator>>=(int n) { V = (*this >> n).V; return self(); }
  constexpr self_t operator+() const { return self(); }
  constexpr bool operator!() const { return V == 0; }

  // Raw bits (low W of b) to a normalized raw value.
  static constexpr raw_t wrap_bits(u128 b) {
    if constexpr (W == 128) return (raw_t)b;
    else if constexpr (S) return (raw_t)((i128)(b << (128 - W)) >> (128 - W));
    else return (raw_t)(b & (((u128)1 << W) - 1));
  }
 private:
  constexpr self_t& self() { return static_cast<self_t&>(*this); }
  constexpr const self_t& self() const { return static_cast<const self_t&>(*this); }
  template <class R> constexpr self_t& set(const R& r) {
    V = base(r).V;
    return self();
  }
};

// ---- exact arithmetic ----
#define NN2HLS_T1 int W1, int I1, bool S1, ap_q_mode Q1, ap_o_mode O1, bool K1
#define NN2HLS_T2 int W2, int I2, bool S2, ap_q_mode Q2, ap_o_mode O2, bool K2
#define NN2HLS_B1 base<W1, I1, S1, Q1, O1, K1>
#define NN2HLS_B2 base<W2, I2, S2, Q2, O2, K2>

template <int W1, int I1, bool S1, int W2, int I2, bool S2> struct add_rule {
  static constexpr int F = imax(W1 - I1, W2 - I2);
  static constexpr int I = imax(I1 + (S2 && !S1 ? 1 : 0), I2 + (S1 && !S2 ? 1 : 0)) + 1;
  static constexpr int W = I + F;
};

template <class R, int W1, int I1, class A> constexpr typename R::raw_t align(A v) {
  typedef typename R::raw_t RT;
  typedef typename storage<R::width, false>::type URT;
  constexpr int k = R::frac - (W1 - I1);
  return k == 0 ? (RT)v : (RT)((URT)(RT)v << k);
}

template <NN2HLS_T1, NN2HLS_T2> constexpr auto operator*(const NN2HLS_B1& a, const NN2HLS_B2& b) {
  typedef typename result_of<W1 + W2, I1 + I2, S1 || S2, K1 && K2>::type R;
  typedef typename R::raw_t RT;
  return from_raw<R>((RT)((RT)a.V * (RT)b.V));
}
template <NN2HLS_T1, NN2HLS_T2> constexpr auto operator+(const NN2HLS_B1& a, const NN2HLS_B2& b) {
  typedef add_rule<W1, I1, S1, W2, I2, S2> rule;
  typedef typename result_of<rule::W, rule::I, S1 || S2, K1 && K2>::type R;
  typedef typename R::raw_t RT;
  return from_raw<R>((RT)(align<R, W1, I1>(a.V) + align<R, W2, I2>(b.V)));
}
template <NN2HLS_T1, NN2HLS_T2> constexpr auto operator-(const NN2HLS_B1& a, const NN2HLS_B2& b) {
  typedef add_rule<W1, I1, S1, W2, I2, S2> rule;
  typedef typename result_of<rule::W, rule::I, true, K1 && K2>::type R;
  typedef typename R::raw_t RT;
  return from_raw<R>((RT)(align<R, W1, I1>(a.V) - align<R, W2, I2>(b.V)));
}
template <NN2HLS_T1> constexpr auto operator-(const NN2HLS_B1& a) {
  typedef typename result_of<W1 + 1, I1 + 1, true, K1>::type R;
  typedef typename R::raw_t RT;
  return from_raw<R>((RT)(-(RT)a.V));
}

// ---- exact comparisons ----
template <int W1, int I1, bool S1, int W2, int I2, bool S2> struct cmp_rule {
  static constexpr int F = imax(W1 - I1, W2 - I2);
  static constexpr int need = imax(W1 + F - (W1 - I1) + (S1 ? 0 : 1), W2 + F - (W2 - I2) + (S2 ? 0 : 1));
  static constexpr bool native = need <= 127;
  typedef typename std::conditional<(need <= 63), int64_t, i128>::type T;
  typedef typename std::conditional<(need <= 63), uint64_t, u128>::type UT;
};

template <class A> constexpr void sign_mag(const A& a, bool& neg, u128& mag) {
  neg = A::is_signed && a.V < 0;
  mag = neg ? (u128)0 - (u128)(i128)a.V : (u128)a.V;
}
// -1, 0, 1 for values +-ma*2^-fa against +-mb*2^-fb (slow path, only for > 127-bit alignments).
constexpr int cmp_general(bool na, u128 ma, int fa, bool nb, u128 mb, int fb) {
  if (ma == 0) na = false;
  if (mb == 0) nb = false;
  if (na != nb) return na ? -1 : 1;
  int r = 0;
  const int s = fa > fb ? fa - fb : fb - fa;
  u128& lo = fa > fb ? mb : ma;  // the one with fewer fraction bits gets shifted left
  bool big = false;
  if (s >= 128) big = lo != 0;
  else big = lo > (~(u128)0 >> s);
  if (big) {
    r = (fa > fb) ? -1 : 1;
  } else {
    lo <<= (s >= 128 ? 0 : s);
    r = ma < mb ? -1 : (ma > mb ? 1 : 0);
  }
  return na ? -r : r;
}

template <NN2HLS_T1, NN2HLS_T2> constexpr int compare(const NN2HLS_B1& a, const NN2HLS_B2& b) {
  typedef cmp_rule<W1, I1, S1, W2, I2, S2> rule;
  if constexpr (rule::native) {
    typedef typename rule::T T;
    typedef typename rule::UT UT;
    const T x = (T)((UT)(T)a.V << (rule::F - (W1 - I1)));
    const T y = (T)((UT)(T)b.V << (rule::F - (W2 - I2)));
    return (x > y) - (x < y);
  } else {
    bool na = false, nb = false;
    u128 ma = 0, mb = 0;
    sign_mag(a, na, ma);
    sign_mag(b, nb, mb);
    return cmp_general(na, ma, W1 - I1, nb, mb, W2 - I2);
  }
}

// Both operands aligned to the finer fraction in a native integer (only when rule::native).
template <class rule, int F, class A> constexpr typename rule::T cmp_align(const A& a) {
  typedef typename rule::T T;
  typedef typename rule::UT UT;
  return (T)((UT)(T)a.V << (rule::F - F));
}

#define NN2HLS_REL(OP)                                                                      \
  template <NN2HLS_T1, NN2HLS_T2>                                                           \
  constexpr bool operator OP(const NN2HLS_B1& a, const NN2HLS_B2& b) {                      \
    typedef cmp_rule<W1, I1, S1, W2, I2, S2> rule;                                          \
    if constexpr (rule::native) {                                                           \
      return cmp_align<rule, W1 - I1>(a) OP cmp_align<rule, W2 - I2>(b);                    \
    } else {                                                                                \
      return compare(a, b) OP 0;                                                            \
    }                                                                                       \
  }                                                                                         \
  template <NN2HLS_T1, class T, enable_int<T> = 0>                                          \
  constexpr bool operator OP(const NN2HLS_B1& a, T b) {                                     \
    return compare(a, typename int_as<T>::type(b)) OP 0;                                    \
  }                                                                                         \
  template <NN2HLS_T1, class T, enable_int<T> = 0>                                          \
  constexpr bool operator OP(T a, const NN2HLS_B1& b) {                                     \
    return compare(typename int_as<T>::type(a), b) OP 0;                                    \
  }
NN2HLS_REL(==)
NN2HLS_REL(!=)
NN2HLS_REL(<)
NN2HLS_REL(<=)
NN2HLS_REL(>)
NN2HLS_REL(>=)
#undef NN2HLS_REL

#define NN2HLS_ARITH_INT(OP)                                                                \
  template <NN2HLS_T1, class T, enable_int<T> = 0>                                          \
  constexpr auto operator OP(const NN2HLS_B1& a, T b) {                                     \
    return a OP typename int_as<T>::type(b);                                                \
  }                                                                                         \
  template <NN2HLS_T1, class T, enable_int<T> = 0>                                          \
  constexpr auto operator OP(T a, const NN2HLS_B1& b) {                                     \
    return typename int_as<T>::type(a) OP b;                                                \
  }
NN2HLS_ARITH_INT(+)
NN2HLS_ARITH_INT(-)
NN2HLS_ARITH_INT(*)
#undef NN2HLS_ARITH_INT

// Decimal text of a 128-bit integer (for printing wide integer types).
inline void i128_text(i128 v, bool is_signed, char* out) {
  char tmp[48];
  int n = 0;
  bool neg = is_signed && v < 0;
  u128 m = neg ? (u128)0 - (u128)v : (u128)v;
  do { tmp[n++] = (char)('0' + (int)(m % 10)); m /= 10; } while (m != 0);
  int k = 0;
  if (neg) out[k++] = '-';
  while (n > 0) out[k++] = tmp[--n];
  out[k] = 0;
}

// std::ostream output: decimal value (integers exactly; fixed types via to_double()).
// A template on the stream type, so <ostream> is only needed by code that prints.
template <class CharT, class Traits, NN2HLS_T1>
std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& os, const NN2HLS_B1& a) {
  if constexpr (K1) {
    char buf[48];
    i128_text((i128)a.V, S1, buf);
    return os << buf;
  } else {
    return os << a.to_double();
  }
}

#undef NN2HLS_T1
#undef NN2HLS_T2
#undef NN2HLS_B1
#undef NN2HLS_B2

}  // namespace nn2hls_ap

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct ap_fixed : nn2hls_ap::base<W, I, true, Q, O, false> {
  static_assert(N == 0, "nn2hls hls_lib: ap_fixed saturation bits N must be 0");
  static_assert(O != AP_WRAP_SM, "nn2hls hls_lib: AP_WRAP_SM is not supported (use the vendor headers)");
  typedef nn2hls_ap::base<W, I, true, Q, O, false> Base;
  using Base::Base;
  constexpr ap_fixed() : Base() {}
};

template <int W, int I, ap_q_mode Q, ap_o_mode O, int N>
struct ap_ufixed : nn2hls_ap::base<W, I, false, Q, O, false> {
  static_assert(N == 0, "nn2hls hls_lib: ap_ufixed saturation bits N must be 0");
  static_assert(O != AP_WRAP_SM, "nn2hls hls_lib: AP_WRAP_SM is not supported (use the vendor headers)");
  typedef nn2hls_ap::base<W, I, false, Q, O, false> Base;
  using Base::Base;
  constexpr ap_ufixed() : Base() {}
};

template <int W> struct ap_int : nn2hls_ap::base<W, W, true, AP_TRN_ZERO, AP_WRAP, true> {
  typedef nn2hls_ap::base<W, W, true, AP_TRN_ZERO, AP_WRAP, true> Base;
  using Base::Base;
  constexpr ap_int() : Base() {}
};

template <int W> struct ap_uint : nn2hls_ap::base<W, W, false, AP_TRN_ZERO, AP_WRAP, true> {
  typedef nn2hls_ap::base<W, W, false, AP_TRN_ZERO, AP_WRAP, true> Base;
  using Base::Base;
  constexpr ap_uint() : Base() {}
};

#endif  // NN2HLS_AP_CORE_H
