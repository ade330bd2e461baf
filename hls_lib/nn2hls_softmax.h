// nn2hls_softmax.h -- table-based softmax along one axis (docs/semantics.md, "Softmax").
//
// The tensor is viewed as (OUTER, N, INNER) with the softmax axis in the middle. For each vector:
//   m = max_j x_j;  d_i = x_i - m (exact, <= 0);  e_i = exp_table[index_exp(d_i)] (type e_t);
//   s = cast(sum_i e_i, s_t) (summed exactly in the wide sum_t first);
//   r = inv_table[index_inv(s)] (type r_t);  y_i = cast(e_i * r, y_t).
#ifndef NN2HLS_SOFTMAX_H_
#define NN2HLS_SOFTMAX_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, class e_t, class wide_t, class s_t, class r_t, int OUTER, int N, int INNER,
          int EW1, int ESHIFT, int EOFFSET, int ESIZE, int IW1, int ISHIFT, int IOFFSET, int ISIZE>
void softmax(const x_t x[OUTER * N * INNER], y_t y[OUTER * N * INNER], const e_t exp_table[ESIZE],
             const r_t inv_table[ISIZE]) {
#pragma HLS INLINE
Vectors:
  for (int v = 0; v < OUTER * INNER; v++) {
#pragma HLS UNROLL
    const int base = (v / INNER) * N * INNER + (v % INNER);
    x_t m = x[base];
    for (int i = 1; i < N; i++) {
#pragma HLS UNROLL
      if (x[base + i * INNER] > m) m = x[base + i * INNER];
    }
    e_t e[N];
#pragma HLS ARRAY_PARTITION variable = e complete
    wide_t sum = 0;
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
      e[i] = exp_table[table_index<EW1, ESHIFT, EOFFSET, ESIZE>(x[base + i * INNER] - m)];
      sum += e[i];
    }
    const s_t s = sum;
    const r_t r = inv_table[table_index<IW1, ISHIFT, IOFFSET, ISIZE>(s)];
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
      y[base + i * INNER] = e[i] * r;
    }
  }
}

}  // namespace nn2hls

#endif
