// nn2hls_dense_shared.h -- Dense layer with shared weights: general products grouped by value.
//
// Per output neuron o (docs/semantics.md, Dense): acc = bias[o] + sum over the nonzero weights of
// x[i]*w, computed as
//   for each group g of o (one distinct general magnitude v = grp_w[g]):
//     s = sum of x[pos_idx[..]] - sum of x[neg_idx[..]]   (group_t: exact, signed)
//     acc += s * v                                         (one product per group)
//   then the power-of-two (p2), +1 (add) and -1 (sub) row blocks of nn2hls_dense.h.
// Every term is exact and the accumulator is exact modulo 2^W (frac(acc) >= frac(x) + frac(w),
// AP_WRAP), so the result equals the ungrouped sum bit for bit. The generated layer calls
// dense_bias, dense_groups, the row blocks and dense_result in that order.
#ifndef NN2HLS_DENSE_SHARED_H_
#define NN2HLS_DENSE_SHARED_H_

#include "nn2hls_dense.h"

namespace nn2hls {

// acc[o] += (sum over group g of o) (sum of x[pos_idx] - sum of x[neg_idx]) * grp_w[g]; groups
// grp_start[o] .. grp_start[o+1]-1, each a CSR row of pos_idx and of neg_idx.
template <class g_t, int N_IN, int N_OUT, int N_POS, int N_NEG, class acc_t, class x_t, class w_t, class i_t>
NN2HLS_ALWAYS_INLINE void dense_groups(acc_t acc[N_OUT], const x_t x[N_IN], const int grp_start[N_OUT + 1],
                                       const w_t grp_w[], const int pos_start[], const i_t pos_idx[],
                                       const int neg_start[], const i_t neg_idx[]) {
#pragma HLS INLINE
Groups:
  for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
  Values:
    for (int g = grp_start[o]; g < grp_start[o + 1]; g++) {
#pragma HLS UNROLL
      g_t s = 0;
      if (N_POS > 0) {
      Plus:
        for (int k = pos_start[g]; k < pos_start[g + 1]; k++) {
#pragma HLS UNROLL
          s += x[pos_idx[k]];
        }
      }
      if (N_NEG > 0) {
      Minus:
        for (int k = neg_start[g]; k < neg_start[g + 1]; k++) {
#pragma HLS UNROLL
          s -= x[neg_idx[k]];
        }
      }
      acc[o] += s * grp_w[g];
    }
  }
}

}  // namespace nn2hls

#endif
