// nn2hls_common.h -- shared helpers of the nn2hls layer kernels (io_parallel, latency strategy).
//
// Only the public ap_fixed/ap_int API is used (construction, assignment with the target's Q/O modes,
// + - *, comparisons, to_int()), so the kernels compile unchanged against nn2hls's hls_lib types and
// the vendor ap_types headers.
//
// Table index (docs/semantics.md): index(v) = clamp(floor(v * 2^SHIFT) - OFFSET, 0, SIZE - 1).
// It is computed exactly without doubles:
//   1. t = v assigned to ap_fixed<W1, W1 - SHIFT, AP_TRN, AP_SAT>: its LSB is 2^-SHIFT, so AP_TRN
//      floors to n * 2^-SHIFT with n = floor(v * 2^SHIFT); W1 (chosen by the backend) holds
//      OFFSET - 1 .. OFFSET + SIZE, so saturation only moves n within the clamped region;
//   2. t * 2^SHIFT (a 1-bit power-of-two constant, i.e. wiring) is an integer-valued fixed; to_int()
//      gives n exactly; then subtract OFFSET and clamp.
#ifndef NN2HLS_COMMON_H_
#define NN2HLS_COMMON_H_

#include <stdint.h>

#include "ap_fixed.h"
#include "ap_int.h"

// Layer constant arrays are `NN2HLS_CONST`: constexpr with nn2hls's own ap types (constant
// initialization: g++ does not emit a giant static constructor, so big layers compile fast), plain
// const with the vendor headers (whose types are not literal types) and in the HLS tools.
#ifndef NN2HLS_CONST
#if defined(NN2HLS_AP_CORE_H) && !defined(__SYNTHESIS__)
#define NN2HLS_CONST constexpr
#else
#define NN2HLS_CONST const
#endif
#endif

// Small kernel helpers carry `#pragma HLS INLINE` for the HLS tools; for the C simulation g++ is
// told to inline them too (its own heuristics sometimes leave a call per row). Inlining does not
// change what is computed.
#ifndef NN2HLS_ALWAYS_INLINE
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
#define NN2HLS_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define NN2HLS_ALWAYS_INLINE inline
#endif
#endif

namespace nn2hls {

// True when some window of a sliding operation over an IH x IW input can read outside it (into the
// padding): output OH x OW, window extent EH x EW (dilated), strides SH, SW, padding PT (top), PL (left).
// A compile-time constant: only such layers test their taps' bounds, in C++ and in hardware.
constexpr bool window_reaches_padding(int IH, int IW, int OH, int OW, int EH, int EW, int SH, int SW, int PT,
                                      int PL) {
  return PT > 0 || PL > 0 || (OH - 1) * SH - PT + EH > IH || (OW - 1) * SW - PL + EW > IW;
}

// 2^E as a compile-time double constant (exact for |E| < 1000). A template evaluated by the compiler,
// not a function: UG1399 forbids recursive functions in synthesis (tail recursion included), while a
// template instantiated at compile time leaves only its constant in the design.
template <int E, bool NEGATIVE = (E < 0)>
struct pow2_const;
template <>
struct pow2_const<0, false> {
  static constexpr double value = 1.0;
};
template <int E>
struct pow2_const<E, false> {
  static constexpr double value = 2.0 * pow2_const<E - 1>::value;
};
template <int E>
struct pow2_const<E, true> {
  static constexpr double value = 0.5 * pow2_const<E + 1>::value;
};

// A constant of type T wider than 53 bits, given by its raw two's complement bits (value = raw * 2^-F):
// hi = bits 127..64 (0 for W <= 64), lo = bits 63..0. Exact for every width up to 128, where a double
// literal holds 53 significant bits only. constexpr with nn2hls's types (like NN2HLS_CONST).
#if defined(NN2HLS_AP_CORE_H) && !defined(__SYNTHESIS__)
#define NN2HLS_CONST_FN constexpr
#else
#define NN2HLS_CONST_FN inline
#endif
template <class T>
NN2HLS_CONST_FN T constant_bits(unsigned long long hi, unsigned long long lo) {
  T r = 0;
  r.range(T::width > 64 ? 63 : T::width - 1, 0) = lo;
  if (T::width > 64) r.range(T::width - 1, T::width > 64 ? 64 : 0) = hi;
  return r;
}

template <int W1, int SHIFT, int OFFSET, int SIZE, class v_t>
inline int table_index(const v_t &v) {
#pragma HLS INLINE
  ap_fixed<W1, W1 - SHIFT, AP_TRN, AP_SAT> t = v;
  const ap_ufixed<1, 1 + SHIFT> scale = pow2_const<SHIFT>::value;  // 2^SHIFT exactly (raw 1)
  int n = (t * scale).to_int() - OFFSET;
  if (n < 0) n = 0;
  if (n > SIZE - 1) n = SIZE - 1;
  return n;
}

// y[i] = x[i] cast to y_t (Reshape; linear activation)
template <class x_t, class y_t, int N>
void copy_cast(const x_t x[N], y_t y[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = x[i];
  }
}

// y[i] = x[src[i]] cast to y_t (Transpose: index remapping, pure wiring in hardware)
template <class x_t, class y_t, int N>
void gather_cast(const x_t x[], y_t y[N], const int src[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = x[src[i]];
  }
}

// y[dst[i]] = x[i] cast to y_t (one input of a Concat)
template <class x_t, class y_t, int N>
void scatter_cast(const x_t x[N], y_t y[], const int dst[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[dst[i]] = x[i];
  }
}

}  // namespace nn2hls

#endif
