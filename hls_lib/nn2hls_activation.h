// nn2hls_activation.h -- element-wise activations (docs/semantics.md, "Activation ...").
//
// relu:         y = cast(max(x, 0))
// clip:         y = cast(min(max(x, lo), hi)) with lo, hi already in the param type (a missing bound
//               is disabled by HAS_LO / HAS_HI)
// leaky_relu:   y = cast(x >= 0 ? x : x * a)
// hard_sigmoid: y = cast(min(max(x * a + b, 0), 1)), bounds compared exactly
// sigmoid/tanh: y = cast(table[index(x)]), entries computed in Python (nn2hls.ir.tables)
// elu:          y = x > 0 ? cast(x) : cast(table[index(x)])  (celu too, with its own table)
// prelu:        y = cast(x >= 0 ? x : x * alpha[i % PERIOD]), slopes per element (PERIOD = channels)
// thresholded_relu: y = cast(x > theta ? x : value), compared exactly
// steps:        y = levels[#{j : x >= thresholds[j]}], thresholds on x's grid (exact comparisons)
// hard_swish:   y = cast(x * min(max(x * a + b, 0), 1)), exact products and bounds
// selu:         y = x > 0 ? cast(x * scale) : cast(table[index(x)])
// relu_plus_table (softplus, swish, mish, gelu): y = cast(max(x, 0) + table[index(x)]), exact sum
// Every cast is an assignment to y_t, which applies y_t's quantization and overflow modes once.
#ifndef NN2HLS_ACTIVATION_H_
#define NN2HLS_ACTIVATION_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, int N>
void relu(const x_t x[N], y_t y[N]) {
#pragma HLS INLINE
  const ap_int<2> zero = 0;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (x[i] > zero) y[i] = x[i];
    else y[i] = zero;
  }
}

template <class x_t, class y_t, class p_t, int N, bool HAS_LO, bool HAS_HI>
void clip(const x_t x[N], y_t y[N], const p_t lo, const p_t hi) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (HAS_LO && x[i] < lo) y[i] = lo;
    else if (HAS_HI && x[i] > hi) y[i] = hi;
    else y[i] = x[i];
  }
}

template <class x_t, class y_t, class p_t, int N>
void hard_sigmoid(const x_t x[N], y_t y[N], const p_t alpha, const p_t beta) {
#pragma HLS INLINE
  const ap_int<2> zero = 0;
  const ap_int<2> one = 1;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    const auto t = x[i] * alpha + beta;
    if (t < zero) y[i] = zero;
    else if (t > one) y[i] = one;
    else y[i] = t;
  }
}

template <class x_t, class y_t, class t_t, int N, int W1, int SHIFT, int OFFSET, int SIZE>
void table_activation(const x_t x[N], y_t y[N], const t_t table[SIZE]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = table[table_index<W1, SHIFT, OFFSET, SIZE>(x[i])];
  }
}

template <class x_t, class y_t, class t_t, int N, int W1, int SHIFT, int OFFSET, int SIZE>
void elu(const x_t x[N], y_t y[N], const t_t table[SIZE]) {
#pragma HLS INLINE
  const ap_int<2> zero = 0;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (x[i] > zero) y[i] = x[i];
    else y[i] = table[table_index<W1, SHIFT, OFFSET, SIZE>(x[i])];
  }
}

template <class x_t, class y_t, class w_t, int N, int PERIOD>
void prelu(const x_t x[N], y_t y[N], const w_t alpha[PERIOD]) {
#pragma HLS INLINE
  const ap_int<2> zero = 0;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (x[i] >= zero) y[i] = x[i];
    else y[i] = x[i] * alpha[i % PERIOD];
  }
}

// leaky_relu: prelu with one slope for every element.
template <class x_t, class y_t, class p_t, int N>
void leaky_relu(const x_t x[N], y_t y[N], const p_t alpha) {
#pragma HLS INLINE
  prelu<x_t, y_t, p_t, N, 1>(x, y, &alpha);
}

template <class x_t, class y_t, class p_t, int N>
void thresholded_relu(const x_t x[N], y_t y[N], const p_t theta, const p_t value) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (x[i] > theta) y[i] = x[i];
    else y[i] = value;
  }
}

template <class x_t, class y_t, class t_t, int N, int K>
void steps(const x_t x[N], y_t y[N], const t_t thresholds[K], const y_t levels[K + 1]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    int k = 0;
    for (int j = 0; j < K; j++) {
#pragma HLS UNROLL
      if (x[i] >= thresholds[j]) k++;
    }
    y[i] = levels[k];
  }
}

template <class x_t, class y_t, class p_t, int N>
void hard_swish(const x_t x[N], y_t y[N], const p_t alpha, const p_t beta) {
#pragma HLS INLINE
  const ap_int<2> zero = 0;
  const ap_int<2> one = 1;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    const auto t = x[i] * alpha + beta;
    if (t <= zero) y[i] = zero;
    else if (t >= one) y[i] = x[i];
    else y[i] = x[i] * t;
  }
}

template <class x_t, class y_t, class p_t, class t_t, int N, int W1, int SHIFT, int OFFSET, int SIZE>
void selu(const x_t x[N], y_t y[N], const p_t scale, const t_t table[SIZE]) {
#pragma HLS INLINE
  const ap_int<2> zero = 0;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (x[i] > zero) y[i] = x[i] * scale;
    else y[i] = table[table_index<W1, SHIFT, OFFSET, SIZE>(x[i])];
  }
}

template <class x_t, class y_t, class t_t, int N, int W1, int SHIFT, int OFFSET, int SIZE>
void relu_plus_table(const x_t x[N], y_t y[N], const t_t table[SIZE]) {
#pragma HLS INLINE
  const ap_int<2> zero = 0;
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    const t_t g = table[table_index<W1, SHIFT, OFFSET, SIZE>(x[i])];
    if (x[i] > zero) y[i] = x[i] + g;
    else y[i] = g;
  }
}

}  // namespace nn2hls

#endif
