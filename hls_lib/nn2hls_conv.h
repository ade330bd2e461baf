// nn2hls_conv.h -- sparse 2-D convolution, channels-last (Conv1D is the case IH = 1).
//
// y[p, f] = bias[f] + sum over the nonzero taps (ky, kx, c) of xpad[p*stride + k*dilation, c] * w,
// in accum type acc_t, then assigned to y_t (docs/semantics.md). Taps that fall into the zero padding
// produce no term. The backend emits, per filter f and per kind, the nonzero taps as constant arrays:
//   dy = ky * DH, dx = kx * DW (for the bounds check) and off = (dy * IW + dx) * C + c (the input
//   offset relative to the window origin); mul entries also carry their weight.
// Kinds: mul (general weight and powers of two: one product by a constant), add (+1), sub (-1).
// The output-position loop is pipelined with II = reuse factor; filters and taps are unrolled.
// Bounds are only tested when some window can reach into the padding (a compile-time constant);
// otherwise taps are summed four at a time in an exact adder tree (fewer wraps in the C simulation).
#ifndef NN2HLS_CONV_H_
#define NN2HLS_CONV_H_

#include "nn2hls_common.h"

namespace nn2hls {

// acc += (SIGN) sum of the taps k .. end-1 of one filter at the window whose origin is (y0, x0) and
// whose input offset is base. With CHECK, taps in the zero padding are skipped one by one; without
// (no tap of any window can leave the input) terms are summed four at a time in an exact adder tree
// (see nn2hls_dense.h: the accumulator is exact modulo 2^W, so grouping cannot change the result).
template <int KIND, bool CHECK, int IH, int IW, class acc_t, class x_t, class w_t>
NN2HLS_ALWAYS_INLINE void conv_taps(acc_t &acc, const x_t x[], const int base, const int y0, const int x0,
                                    const int dy[], const int dx[], const int off[], const w_t w[], int k,
                                    const int end) {
#pragma HLS INLINE
  // KIND: 0 general product, 1 weight +1, 2 weight -1
  if (CHECK) {
  Taps:
    for (; k < end; k++) {
#pragma HLS UNROLL
      const int iy = y0 + dy[k], ix = x0 + dx[k];
      if (iy >= 0 && iy < IH && ix >= 0 && ix < IW) {
        if (KIND == 0) acc += x[base + off[k]] * w[k];
        else if (KIND == 1) acc += x[base + off[k]];
        else acc -= x[base + off[k]];
      }
    }
  } else {
  Quads:
    for (; k + 4 <= end; k += 4) {
#pragma HLS UNROLL
      const x_t &a = x[base + off[k]], &b = x[base + off[k + 1]];
      const x_t &c = x[base + off[k + 2]], &d = x[base + off[k + 3]];
      if (KIND == 0) acc += (a * w[k] + b * w[k + 1]) + (c * w[k + 2] + d * w[k + 3]);
      else if (KIND == 1) acc += (a + b) + (c + d);
      else acc -= (a + b) + (c + d);
    }
  Rest:
    for (; k < end; k++) {
#pragma HLS UNROLL
      if (KIND == 0) acc += x[base + off[k]] * w[k];
      else if (KIND == 1) acc += x[base + off[k]];
      else acc -= x[base + off[k]];
    }
  }
}

// EH, EW: extent of the dilated kernel ((KH - 1) * DH + 1, ...); N_MUL, N_ADD, N_SUB: list lengths
// (an empty list generates no code).
template <class x_t, class y_t, class acc_t, class w_t, class b_t, int IH, int IW, int C, int OH, int OW,
          int F, int SH, int SW, int PT, int PL, int EH, int EW, int RF, int N_MUL, int N_ADD, int N_SUB>
void conv2d_sparse(const x_t x[IH * IW * C], y_t y[OH * OW * F], const b_t bias[F],
                   const int mul_start[F + 1], const int mul_dy[], const int mul_dx[], const int mul_off[],
                   const w_t mul_w[],
                   const int add_start[F + 1], const int add_dy[], const int add_dx[], const int add_off[],
                   const int sub_start[F + 1], const int sub_dy[], const int sub_dx[], const int sub_off[]) {
#pragma HLS INLINE
  const bool CHECK = window_reaches_padding(IH, IW, OH, OW, EH, EW, SH, SW, PT, PL);
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
      if (N_MUL > 0)
        conv_taps<0, CHECK, IH, IW>(acc, x, base, y0, x0, mul_dy, mul_dx, mul_off, mul_w, mul_start[f],
                                    mul_start[f + 1]);
      if (N_ADD > 0)
        conv_taps<1, CHECK, IH, IW>(acc, x, base, y0, x0, add_dy, add_dx, add_off, mul_w, add_start[f],
                                    add_start[f + 1]);
      if (N_SUB > 0)
        conv_taps<2, CHECK, IH, IW>(acc, x, base, y0, x0, sub_dy, sub_dx, sub_off, mul_w, sub_start[f],
                                    sub_start[f + 1]);
      y[p * F + f] = acc;
    }
  }
}

}  // namespace nn2hls

#endif
