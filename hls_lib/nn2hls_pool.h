// nn2hls_pool.h -- max and average pooling, channels-last 2-D (1-D pooling is IH = 1; global
// pooling is one window covering the whole map).
//
// Max: y = max over the unpadded inputs of the window, assigned to y_t (padding is ignored).
// Avg: s = exact window sum (sum_t wide enough that no partial sum rounds or wraps), assigned once to
//      acc_t; r = recip[count] where recip[n] = cast(1/n, recip type) computed by the backend and count
//      is the window size (COUNT_PAD) or the number of unpadded inputs; y = s * r assigned to y_t.
// (docs/semantics.md, "Pool max / Pool avg".)
#ifndef NN2HLS_POOL_H_
#define NN2HLS_POOL_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, int IH, int IW, int C, int OH, int OW, int KH, int KW, int SH, int SW,
          int PT, int PL, int RF>
void pool2d_max(const x_t x[IH * IW * C], y_t y[OH * OW * C]) {
#pragma HLS INLINE
  const bool CHECK = window_reaches_padding(IH, IW, OH, OW, KH, KW, SH, SW, PT, PL);
Positions:
  for (int p = 0; p < OH * OW; p++) {
#pragma HLS PIPELINE II = RF
    const int y0 = (p / OW) * SH - PT, x0 = (p % OW) * SW - PL;
  Channels:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      x_t m = 0;
      bool first = true;
    Window:
      for (int k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
        const int iy = y0 + k / KW, ix = x0 + k % KW;
        if (!CHECK || (iy >= 0 && iy < IH && ix >= 0 && ix < IW)) {
          const x_t v = x[(iy * IW + ix) * C + c];
          if (first || v > m) m = v;
          first = false;
        }
      }
      y[p * C + c] = m;
    }
  }
}

template <class x_t, class y_t, class sum_t, class acc_t, class r_t, int IH, int IW, int C, int OH, int OW,
          int KH, int KW, int SH, int SW, int PT, int PL, bool COUNT_PAD, int RF>
void pool2d_avg(const x_t x[IH * IW * C], y_t y[OH * OW * C], const r_t recip[KH * KW + 1]) {
#pragma HLS INLINE
  const bool CHECK = window_reaches_padding(IH, IW, OH, OW, KH, KW, SH, SW, PT, PL);
Positions:
  for (int p = 0; p < OH * OW; p++) {
#pragma HLS PIPELINE II = RF
    const int y0 = (p / OW) * SH - PT, x0 = (p % OW) * SW - PL;
  Channels:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      sum_t sum = 0;
      int count = 0;
    Window:
      for (int k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
        const int iy = y0 + k / KW, ix = x0 + k % KW;
        if (!CHECK || (iy >= 0 && iy < IH && ix >= 0 && ix < IW)) {
          sum += x[(iy * IW + ix) * C + c];
          count++;
        }
      }
      const acc_t s = sum;
      y[p * C + c] = s * recip[COUNT_PAD ? KH * KW : count];
    }
  }
}

}  // namespace nn2hls

#endif
