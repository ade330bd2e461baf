// nn2hls_conv.h -- sparse 2-D convolution, channels-last (Conv1D is the case IH = 1).
//
// y[p, f] = bias[f] + sum over the nonzero taps (ky, kx, c) of xpad[p*stride + k*dilation, c] * w,
// in accum type acc_t, then assigned to y_t (docs/semantics.md). Taps that fall into the zero padding
// produce no term. The backend emits, per filter f and per kind, the nonzero taps as constant arrays:
//   dy = ky * DH, dx = kx * DW (for the bounds check) and off = (dy * IW + dx) * C + c (the input
//   offset relative to the window origin); mul entries also carry their weight.
// Kinds: mul (general weight and powers of two: one product by a constant), add (+1), sub (-1).
// The output-position loop is pipelined with II = reuse factor; filters and taps are unrolled.
#ifndef NN2HLS_CONV_H_
#define NN2HLS_CONV_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, class acc_t, class w_t, class b_t, int IH, int IW, int C, int OH, int OW,
          int F, int SH, int SW, int PT, int PL, int RF>
void conv2d_sparse(const x_t x[IH * IW * C], y_t y[OH * OW * F], const b_t bias[F],
                   const int mul_start[F + 1], const int mul_dy[], const int mul_dx[], const int mul_off[],
                   const w_t mul_w[],
                   const int add_start[F + 1], const int add_dy[], const int add_dx[], const int add_off[],
                   const int sub_start[F + 1], const int sub_dy[], const int sub_dx[], const int sub_off[]) {
#pragma HLS INLINE
Positions:
  for (int p = 0; p < OH * OW; p++) {
#pragma HLS PIPELINE II = RF
    const int oy = p / OW, ox = p % OW;
    const int y0 = oy * SH - PT, x0 = ox * SW - PL;
    const int base = (y0 * IW + x0) * C;
  Filters:
    for (int f = 0; f < F; f++) {
#pragma HLS UNROLL
      acc_t acc = bias[f];
    Products:
      for (int k = mul_start[f]; k < mul_start[f + 1]; k++) {
#pragma HLS UNROLL
        const int iy = y0 + mul_dy[k], ix = x0 + mul_dx[k];
        if (iy >= 0 && iy < IH && ix >= 0 && ix < IW) acc += x[base + mul_off[k]] * mul_w[k];
      }
    Adds:
      for (int k = add_start[f]; k < add_start[f + 1]; k++) {
#pragma HLS UNROLL
        const int iy = y0 + add_dy[k], ix = x0 + add_dx[k];
        if (iy >= 0 && iy < IH && ix >= 0 && ix < IW) acc += x[base + add_off[k]];
      }
    Subs:
      for (int k = sub_start[f]; k < sub_start[f + 1]; k++) {
#pragma HLS UNROLL
        const int iy = y0 + sub_dy[k], ix = x0 + sub_dx[k];
        if (iy >= 0 && iy < IH && ix >= 0 && ix < IW) acc -= x[base + sub_off[k]];
      }
      y[p * F + f] = acc;
    }
  }
}

}  // namespace nn2hls

#endif
