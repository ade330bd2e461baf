// nn2hls_dense_shared.h -- Dense layer with shared weights: general products grouped by value.
//
// Per output neuron o (docs/semantics.md, Dense): acc = bias[o] + sum over the nonzero weights of
// x[i]*w, computed as
//   for each group g (one distinct general magnitude v = grp_w[g] of output o = grp_out[g]):
//     s[g] = sum of x over the group's +v inputs - sum over its -v inputs   (group_t: exact, signed)
//     acc[o] += s[g] * v                                                      (one product per group)
//   then the power-of-two (p2), +1 (add) and -1 (sub) row blocks of nn2hls_dense.h.
// The group sums are themselves row blocks of nn2hls_dense.h (the +1/-1 matrix of inputs x groups,
// lists gadd/gsub), so every loop has a compile-time trip count and every array is read at constant
// addresses once unrolled. Every term is exact and the accumulator is exact modulo 2^W (frac(acc) >=
// frac(x) + frac(w), AP_WRAP), so the result equals the ungrouped sum bit for bit. The generated layer
// calls dense_bias, dense_zero, the group blocks, dense_group_products, the row blocks and dense_result.
#ifndef NN2HLS_DENSE_SHARED_H_
#define NN2HLS_DENSE_SHARED_H_

#include "nn2hls_dense.h"

namespace nn2hls {

// s[g] = 0 for every group.
template <int N, class s_t>
NN2HLS_ALWAYS_INLINE void dense_zero(s_t s[N]) {
#pragma HLS INLINE
Zero:
  for (int g = 0; g < N; g++) {
#pragma HLS UNROLL
    s[g] = 0;
  }
}

// acc[grp_out[g]] += s[g] * grp_w[g] for the N_GRP groups (one product each).
template <int N_GRP, class acc_t, class s_t, class o_t, class w_t>
NN2HLS_ALWAYS_INLINE void dense_group_products(acc_t acc[], const s_t s[N_GRP], const o_t grp_out[N_GRP],
                                               const w_t grp_w[N_GRP]) {
#pragma HLS INLINE
Groups:
  for (int g = 0; g < N_GRP; g++) {
#pragma HLS UNROLL
    acc[grp_out[g]] += s[g] * grp_w[g];
  }
}

}  // namespace nn2hls

#endif
