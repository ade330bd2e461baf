// nn2hls_dense_shared.h -- Dense layer with shared weights: general products grouped by value.
//
// Per output neuron o (docs/semantics.md, Dense): acc = bias[o] + sum over the nonzero weights of
// x[i]*w, computed as
//   for each group g of o (one distinct general magnitude v = grp_w[g]):
//     s = sum of x[pos_idx[..]] - sum of x[neg_idx[..]]   (group_t: exact, signed)
//     acc += s * v                                         (one product per group)
//   then the power-of-two (p2), +1 (add) and -1 (sub) lists of nn2hls_dense.h.
// Every term is exact and the accumulator is exact modulo 2^W (frac(acc) >= frac(x) + frac(w),
// AP_WRAP), so the result equals the ungrouped sum bit for bit. An empty list generates no code.
#ifndef NN2HLS_DENSE_SHARED_H_
#define NN2HLS_DENSE_SHARED_H_

#include "nn2hls_dense.h"

namespace nn2hls {

template <class x_t, class y_t, class acc_t, class w_t, class b_t, class g_t, class i_t, int N_IN, int N_OUT,
          int N_GRP, int N_POS, int N_NEG, int N_P2, int N_ADD, int N_SUB>
void dense_shared(const x_t x[N_IN], y_t y[N_OUT], const b_t bias[N_OUT],
                  const int grp_start[N_OUT + 1], const w_t grp_w[],
                  const int pos_start[], const i_t pos_idx[], const int neg_start[], const i_t neg_idx[],
                  const int p2_start[N_OUT + 1], const i_t p2_idx[], const w_t p2_w[],
                  const int add_start[N_OUT + 1], const i_t add_idx[],
                  const int sub_start[N_OUT + 1], const i_t sub_idx[]) {
#pragma HLS INLINE
  acc_t acc[N_OUT];
#pragma HLS ARRAY_PARTITION variable = acc complete
Groups:
  for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
    acc_t a = bias[o];
    if (N_GRP > 0) {
    Values:
      for (int g = grp_start[o]; g < grp_start[o + 1]; g++) {
#pragma HLS UNROLL
        g_t s = 0;
        if (N_POS > 0) add_row<false>(s, x, pos_idx, pos_start[g], pos_start[g + 1]);
        if (N_NEG > 0) add_row<true>(s, x, neg_idx, neg_start[g], neg_start[g + 1]);
        a += s * grp_w[g];
      }
    }
    acc[o] = a;
  }
  dense_finish<N_OUT, N_P2, N_ADD, N_SUB>(acc, x, y, p2_start, p2_idx, p2_w, add_start, add_idx, sub_start,
                                        sub_idx);
}

}  // namespace nn2hls

#endif
