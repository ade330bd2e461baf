// nn2hls_elementwise.h -- ScaleShift and two-input element-wise ops (docs/semantics.md).
//
// ScaleShift:  y = cast(cast(x * scale + shift, acc_t), y_t); scale/shift are either one value per
//              element (PERIOD = N) or per channel of the last axis (PERIOD = channels, index i % PERIOD).
// Elementwise: y = cast(a op b, y_t) with the exact full-width sum, difference or product; with
//              broadcast shapes (the *_bcast kernels) each operand is read through an index array.
#ifndef NN2HLS_ELEMENTWISE_H_
#define NN2HLS_ELEMENTWISE_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, class acc_t, class s_t, class b_t, int N, int PERIOD>
void scale_shift(const x_t x[N], y_t y[N], const s_t scale[PERIOD], const b_t shift[PERIOD]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    const acc_t a = x[i] * scale[i % PERIOD] + shift[i % PERIOD];
    y[i] = a;
  }
}

template <class a_t, class b_t, class y_t, int N>
void add(const a_t a[N], const b_t b[N], y_t y[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = a[i] + b[i];
  }
}

template <class a_t, class b_t, class y_t, int N>
void sub(const a_t a[N], const b_t b[N], y_t y[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = a[i] - b[i];
  }
}

template <class a_t, class b_t, class y_t, int N>
void mul(const a_t a[N], const b_t b[N], y_t y[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = a[i] * b[i];
  }
}

// Element-wise maximum / minimum: the larger (smaller) of the two exact values, assigned to y_t.
template <class a_t, class b_t, class y_t, int N>
void maximum(const a_t a[N], const b_t b[N], y_t y[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (a[i] > b[i]) y[i] = a[i]; else y[i] = b[i];
  }
}

template <class a_t, class b_t, class y_t, int N>
void minimum(const a_t a[N], const b_t b[N], y_t y[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (a[i] < b[i]) y[i] = a[i]; else y[i] = b[i];
  }
}

// Broadcast element-wise ops: y[i] = a[ia[i]] op b[ib[i]], the index arrays listing for every output
// element the input element numpy broadcasting pairs with it (wiring in io_parallel).
template <class a_t, class b_t, class y_t, int N>
void add_bcast(const a_t a[], const b_t b[], y_t y[N], const int ia[N], const int ib[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = a[ia[i]] + b[ib[i]];
  }
}

template <class a_t, class b_t, class y_t, int N>
void sub_bcast(const a_t a[], const b_t b[], y_t y[N], const int ia[N], const int ib[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = a[ia[i]] - b[ib[i]];
  }
}

template <class a_t, class b_t, class y_t, int N>
void mul_bcast(const a_t a[], const b_t b[], y_t y[N], const int ia[N], const int ib[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    y[i] = a[ia[i]] * b[ib[i]];
  }
}

template <class a_t, class b_t, class y_t, int N>
void maximum_bcast(const a_t a[], const b_t b[], y_t y[N], const int ia[N], const int ib[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (a[ia[i]] > b[ib[i]]) y[i] = a[ia[i]]; else y[i] = b[ib[i]];
  }
}

template <class a_t, class b_t, class y_t, int N>
void minimum_bcast(const a_t a[], const b_t b[], y_t y[N], const int ia[N], const int ib[N]) {
#pragma HLS INLINE
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    if (a[ia[i]] < b[ib[i]]) y[i] = a[ia[i]]; else y[i] = b[ib[i]];
  }
}

}  // namespace nn2hls

#endif
