// nn2hls_reduce.h -- Reduce mean / max / sum over any axes (docs/semantics.md, "Reduce").
//
// Output j reduces the K inputs x[src[j * K + k]], k = 0 .. K-1 (the backend lists them: an index
// remapping, i.e. wiring in io_parallel).
// Max:  y = max of the K inputs, assigned to y_t (Min: the min).
// Sum:  s = exact sum (sum_t wide enough that no partial sum rounds or wraps) assigned to acc_t;
//       y = s assigned to y_t.
// Mean: s as for Sum; y = s * recip[0] assigned to y_t, recip[0] = cast(1/K, recip type) (the
//       average pool's rule with one window of K inputs).
#ifndef NN2HLS_REDUCE_H_
#define NN2HLS_REDUCE_H_

#include "nn2hls_common.h"

namespace nn2hls {

// y[j] = the largest (MAX) or the smallest (!MAX) of output j's K inputs.
template <bool MAX, class x_t, class y_t, int N_OUT, int K>
void reduce_extreme(const x_t x[], y_t y[N_OUT], const int src[N_OUT * K]) {
#pragma HLS INLINE
Outputs:
  for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
    x_t m = x[src[j * K]];
    for (int k = 1; k < K; k++) {
#pragma HLS UNROLL
      const x_t v = x[src[j * K + k]];
      if (MAX ? v > m : v < m) m = v;
    }
    y[j] = m;
  }
}

template <class x_t, class y_t, int N_OUT, int K>
void reduce_max(const x_t x[], y_t y[N_OUT], const int src[N_OUT * K]) {
#pragma HLS INLINE
  reduce_extreme<true, x_t, y_t, N_OUT, K>(x, y, src);
}

template <class x_t, class y_t, int N_OUT, int K>
void reduce_min(const x_t x[], y_t y[N_OUT], const int src[N_OUT * K]) {
#pragma HLS INLINE
  reduce_extreme<false, x_t, y_t, N_OUT, K>(x, y, src);
}

template <class x_t, class sum_t, class acc_t, int N_OUT, int K>
NN2HLS_ALWAYS_INLINE acc_t reduce_exact_sum(const x_t x[], const int src[N_OUT * K], int j) {
#pragma HLS INLINE
  sum_t sum = 0;
  for (int k = 0; k < K; k++) {
#pragma HLS UNROLL
    sum += x[src[j * K + k]];
  }
  const acc_t s = sum;
  return s;
}

template <class x_t, class y_t, class sum_t, class acc_t, int N_OUT, int K>
void reduce_sum(const x_t x[], y_t y[N_OUT], const int src[N_OUT * K]) {
#pragma HLS INLINE
Outputs:
  for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
    y[j] = reduce_exact_sum<x_t, sum_t, acc_t, N_OUT, K>(x, src, j);
  }
}

template <class x_t, class y_t, class sum_t, class acc_t, class r_t, int N_OUT, int K>
void reduce_mean(const x_t x[], y_t y[N_OUT], const int src[N_OUT * K], const r_t recip[1]) {
#pragma HLS INLINE
Outputs:
  for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
    const acc_t s = reduce_exact_sum<x_t, sum_t, acc_t, N_OUT, K>(x, src, j);
    y[j] = s * recip[0];
  }
}

}  // namespace nn2hls

#endif
