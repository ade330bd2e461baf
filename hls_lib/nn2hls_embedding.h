// nn2hls_embedding.h -- table lookup (Embedding), docs/semantics.md "Embedding".
//
// For every index i (N of them) and feature d (D): y[i * D + d] = table[x[i] * D + d] when
// 0 <= x[i] < V, else 0, assigned to y_t. The index type has no fractional bits (nn2hls.ir.lookup), so
// x[i].to_int() is its exact value. The table is a constant array (a ROM in hardware); the lookup
// computes no product.
#ifndef NN2HLS_EMBEDDING_H_
#define NN2HLS_EMBEDDING_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, class w_t, int N, int V, int D>
void embedding(const x_t x[N], y_t y[N * D], const w_t table[V * D]) {
#pragma HLS INLINE
Indices:
  for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
    const int row = x[i].to_int();
    const bool valid = row >= 0 && row < V;
  Features:
    for (int d = 0; d < D; d++) {
#pragma HLS UNROLL
      y[i * D + d] = valid ? (y_t)table[row * D + d] : (y_t)0;
    }
  }
}

}  // namespace nn2hls

#endif
