// nn2hls_dense.h -- sparse fully unrolled Dense layer (io_parallel, latency strategy).
//
// Per output neuron o (docs/semantics.md):  acc = bias[o] + sum over the nonzero weights of x[i]*w,
// in accum type acc_t, then y[o] = acc assigned to y_t (its Q/O modes apply once).
// The nonzero quantized weights are split by the backend into four CSR-like lists (row start
// offsets per neuron, input indices increasing inside a row):
//   mul  general weights            acc += x[i] * w      (one product per entry)
//   p2   powers of two (+-2^k, k!=0) acc += x[i] * w     (a product by a power-of-two constant:
//                                                         HLS constant-folds it into wiring)
//   add  weight +1                  acc += x[i]
//   sub  weight -1                  acc -= x[i]
// The precision rules make the accumulator exact modulo 2^W (frac(acc) >= frac(x) + frac(w),
// AP_WRAP), so the order of the terms cannot change the result. Zero weights have no entry.
// Loops carry UNROLL: with constant arrays, HLS unrolls and folds them into an adder tree per
// neuron; g++ compiles them in milliseconds whatever the layer size.
#ifndef NN2HLS_DENSE_H_
#define NN2HLS_DENSE_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, class acc_t, class w_t, class b_t, int N_IN, int N_OUT>
void dense_sparse(const x_t x[N_IN], y_t y[N_OUT], const b_t bias[N_OUT],
                  const int mul_start[N_OUT + 1], const int mul_idx[], const w_t mul_w[],
                  const int p2_start[N_OUT + 1], const int p2_idx[], const w_t p2_w[],
                  const int add_start[N_OUT + 1], const int add_idx[],
                  const int sub_start[N_OUT + 1], const int sub_idx[]) {
#pragma HLS INLINE
Neurons:
  for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
    acc_t acc = bias[o];
  Products:
    for (int k = mul_start[o]; k < mul_start[o + 1]; k++) {
#pragma HLS UNROLL
      acc += x[mul_idx[k]] * mul_w[k];
    }
  Shifts:
    for (int k = p2_start[o]; k < p2_start[o + 1]; k++) {
#pragma HLS UNROLL
      acc += x[p2_idx[k]] * p2_w[k];
    }
  Adds:
    for (int k = add_start[o]; k < add_start[o + 1]; k++) {
#pragma HLS UNROLL
      acc += x[add_idx[k]];
    }
  Subs:
    for (int k = sub_start[o]; k < sub_start[o + 1]; k++) {
#pragma HLS UNROLL
      acc -= x[sub_idx[k]];
    }
    y[o] = acc;
  }
}

}  // namespace nn2hls

#endif
