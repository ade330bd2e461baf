// nn2hls_conv_grouped.h -- grouped and depthwise 2-D convolution, channels-last (Conv1D: IH = 1).
//
// Filter f of group g reads only the input channels of g (docs/semantics.md, Conv groups). The
// backend writes the kernel as an ordinary (KH * KW * C, F) matrix with zeros across groups and keeps
// only its nonzero weights, as row blocks of the Dense kernel (nn2hls_dense.h, sparse.py block_rows):
// per output position the window is gathered into xw[KH * KW * C] (taps ordered (ky, kx, c), 0 where a
// tap falls into the zero padding), then acc = bias, the generated block calls add the nonzero
// weights' terms (trees of compile-time size, loops of constant trip count), and y = acc. A weight of
// another group is a zero: no product, no entry in the constant arrays. The accumulator is exact
// (docs/semantics.md), so the grouping of the terms cannot change the result.
// The output-position loop is pipelined with II = reuse factor; everything inside is unrolled.
#ifndef NN2HLS_CONV_GROUPED_H_
#define NN2HLS_CONV_GROUPED_H_

#include "nn2hls_common.h"
#include "nn2hls_dense.h"

namespace nn2hls {

// xw = the KH * KW * C inputs of the window whose origin is (y0, x0); with CHECK (some window of the
// layer reaches the padding, a compile-time constant) taps outside the input are 0 and not read.
template <bool CHECK, int IH, int IW, int C, int KH, int KW, int DH, int DW, class x_t>
NN2HLS_ALWAYS_INLINE void conv_window(const x_t x[IH * IW * C], x_t xw[KH * KW * C], const int y0, const int x0) {
#pragma HLS INLINE
WindowTaps:
  for (int t = 0; t < KH * KW; t++) {
#pragma HLS UNROLL
    const int iy = y0 + (t / KW) * DH, ix = x0 + (t % KW) * DW;
    const bool inside = !CHECK || (iy >= 0 && iy < IH && ix >= 0 && ix < IW);
  WindowChannels:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      xw[t * C + c] = inside ? x[(iy * IW + ix) * C + c] : x_t(0);
    }
  }
}

}  // namespace nn2hls

#endif
