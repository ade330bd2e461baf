// nn2hls_window.h -- line buffers of the io_stream Conv and pooling layers (channels-last, 1-D: IH = 1).
//
// Rule (docs/io_stream.md): the layer walks its zero-padded input in raster order, PH x PW positions
//   PH = max(PT + IH, (OH - 1) * SH + EH),  PW = max(PL + IW, (OW - 1) * SW + EW)
// (EH, EW: the window extent, (K - 1) * dilation + 1). At padded position (py, px) it reads the next
// pixel from its input stream when (py - PT, px - PL) lies in the input, else takes a pixel of zeros
// (never read from the stream), and pushes it into
//   line[EH - 1][PW][C]  the last EH - 1 rows, column px: line[k][px] holds row py - (EH - 1) + k,
//   win[EH][EW][C]       the window: win[ky][kx] = padded pixel (py - EH + 1 + ky, px - EW + 1 + kx).
// Output (oy, ox) is complete at the position (oy * SH + EH - 1, ox * SW + EW - 1): the window then holds
// its taps exactly, so each output pixel is written as soon as its last input arrived, in raster order.
// `window_scan` counts rows and columns with adders only (no division or modulo: no multiplier in the
// layer besides its products, so `ALLOCATION instances=mul` limits exactly those).
// Every loop has a compile-time trip count; the line buffer is addressed by the column px only.
#ifndef NN2HLS_WINDOW_H_
#define NN2HLS_WINDOW_H_

#include "nn2hls_common.h"
#include "nn2hls_stream.h"

namespace nn2hls {

// The raster-scan counters of a padded input (module doc): position (py, px), the output (oy, ox) whose
// window completes next, and the rows / columns left until it (cy, cx).
template <int PW, int EH, int EW, int SH, int SW>
struct window_scan {
  int py, px, oy, ox, cy, cx;
  window_scan() : py(0), px(0), oy(0), ox(0), cy(EH - 1), cx(EW - 1) {}
  // True when the window at the current position is an output's (oy < OH, ox < OW checked by the caller).
  bool complete() const { return cy == 0 && cx == 0; }
  void next() {
    if (cx == 0) {
      cx = SW - 1;
      ox++;
    } else {
      cx--;
    }
    if (px == PW - 1) {
      px = 0;
      ox = 0;
      cx = EW - 1;
      py++;
      if (cy == 0) {
        cy = SH - 1;
        oy++;
      } else {
        cy--;
      }
    } else {
      px++;
    }
  }
};

// True when padded position (py, px) holds an input pixel.
template <int IH, int IW, int PT, int PL>
NN2HLS_ALWAYS_INLINE bool padded_inside(int py, int px) {
#pragma HLS INLINE
  return py >= PT && py < PT + IH && px >= PL && px < PL + IW;
}

// Read the pixel of padded position (py, px) (zeros in the padding) and shift it into line and win.
template <class x_t, int IH, int IW, int C, int EH, int EW, int PW, int PT, int PL>
NN2HLS_ALWAYS_INLINE void window_push(hls::stream<pixel<x_t, C> > &in, x_t line[EH > 1 ? EH - 1 : 1][PW][C],
                                      x_t win[EH][EW][C], int py, int px) {
#pragma HLS INLINE
  pixel<x_t, C> v;
  if (padded_inside<IH, IW, PT, PL>(py, px)) {
    v = in.read();
  } else {
  Zero:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      v.data[c] = x_t(0);
    }
  }
Channels:
  for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
    x_t column[EH];
  Column:
    for (int k = 0; k < EH; k++) {
#pragma HLS UNROLL
      column[k] = k < EH - 1 ? line[k < EH - 1 ? k : 0][px][c] : v.data[c];
    }
  Line:
    for (int k = 0; k < EH - 1; k++) {
#pragma HLS UNROLL
      line[k][px][c] = column[k + 1];
    }
  WindowRows:
    for (int ky = 0; ky < EH; ky++) {
#pragma HLS UNROLL
    WindowShift:
      for (int kx = 0; kx < EW - 1; kx++) {
#pragma HLS UNROLL
        win[ky][kx][c] = win[ky][kx + 1][c];
      }
      win[ky][EW - 1][c] = column[ky];
    }
  }
}

// xw = the KH * KW * C taps of the window, ordered (ky, kx, c) like the io_parallel gathered window
// (nn2hls_conv_grouped.h conv_window), dilation DH, DW.
template <class x_t, int C, int KH, int KW, int DH, int DW, int EH, int EW>
NN2HLS_ALWAYS_INLINE void window_taps(const x_t win[EH][EW][C], x_t xw[KH * KW * C]) {
#pragma HLS INLINE
Taps:
  for (int t = 0; t < KH * KW; t++) {
#pragma HLS UNROLL
  TapChannels:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      xw[t * C + c] = win[(t / KW) * DH][(t % KW) * DW][c];
    }
  }
}

// Max pooling over a stream: y = max over the window's taps that lie in the input (padding ignored),
// the taps visited in the order of nn2hls_pool.h's pool2d_max.
template <class x_t, class y_t, int IH, int IW, int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT,
          int PL, int PH, int PW, int RF>
void pool2d_max_stream(hls::stream<pixel<x_t, C> > &in, hls::stream<pixel<y_t, C> > &out) {
#pragma HLS INLINE
  x_t line[KH > 1 ? KH - 1 : 1][PW][C];
#pragma HLS ARRAY_PARTITION variable=line complete dim=1
#pragma HLS ARRAY_PARTITION variable=line complete dim=3
  x_t win[KH][KW][C];
#pragma HLS ARRAY_PARTITION variable=win complete dim=0
  window_scan<PW, KH, KW, SH, SW> s;
Positions:
  for (int p = 0; p < PH * PW; p++) {
#pragma HLS PIPELINE II = RF
    window_push<x_t, IH, IW, C, KH, KW, PW, PT, PL>(in, line, win, s.py, s.px);
    if (s.complete() && s.oy < OH && s.ox < OW) {
      pixel<y_t, C> o;
    Channels:
      for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
        x_t m = 0;
        bool first = true;
      Window:
        for (int k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
          if (padded_inside<IH, IW, PT, PL>(s.py - KH + 1 + k / KW, s.px - KW + 1 + k % KW)) {
            const x_t v = win[k / KW][k % KW][c];
            if (first || v > m) m = v;
            first = false;
          }
        }
        o.data[c] = m;
      }
      out.write(o);
    }
    s.next();
  }
}

// Average pooling over a stream: exact window sum, assigned once to acc_t, times recip[count] (count: the
// window size with COUNT_PAD, else its taps in the input), as nn2hls_pool.h's pool2d_avg.
template <class x_t, class y_t, class sum_t, class acc_t, class r_t, int IH, int IW, int C, int OH, int OW, int KH,
          int KW, int SH, int SW, int PT, int PL, bool COUNT_PAD, int PH, int PW, int RF>
void pool2d_avg_stream(hls::stream<pixel<x_t, C> > &in, hls::stream<pixel<y_t, C> > &out,
                       const r_t recip[KH * KW + 1]) {
#pragma HLS INLINE
  x_t line[KH > 1 ? KH - 1 : 1][PW][C];
#pragma HLS ARRAY_PARTITION variable=line complete dim=1
#pragma HLS ARRAY_PARTITION variable=line complete dim=3
  x_t win[KH][KW][C];
#pragma HLS ARRAY_PARTITION variable=win complete dim=0
  window_scan<PW, KH, KW, SH, SW> s;
Positions:
  for (int p = 0; p < PH * PW; p++) {
#pragma HLS PIPELINE II = RF
    window_push<x_t, IH, IW, C, KH, KW, PW, PT, PL>(in, line, win, s.py, s.px);
    if (s.complete() && s.oy < OH && s.ox < OW) {
      pixel<y_t, C> o;
      int count = 0;
    Count:
      for (int k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
        if (padded_inside<IH, IW, PT, PL>(s.py - KH + 1 + k / KW, s.px - KW + 1 + k % KW)) count++;
      }
      r_t r = recip[KH * KW];
    Reciprocal:  // recip[count] as a multiplexer of constants (constant addresses only)
      for (int k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
        if (!COUNT_PAD && k == count) r = recip[k];
      }
    Channels:
      for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
        sum_t sum = 0;
      Window:
        for (int k = 0; k < KH * KW; k++) {
#pragma HLS UNROLL
          if (padded_inside<IH, IW, PT, PL>(s.py - KH + 1 + k / KW, s.px - KW + 1 + k % KW))
            sum += win[k / KW][k % KW][c];
        }
        const acc_t a = sum;
        o.data[c] = a * r;
      }
      out.write(o);
    }
    s.next();
  }
}

// Global max pooling over a stream of P pixels: the running maximum per channel.
template <class x_t, class y_t, int P, int C, int RF>
void global_max_stream(hls::stream<pixel<x_t, C> > &in, hls::stream<pixel<y_t, C> > &out) {
#pragma HLS INLINE
  x_t m[C];
#pragma HLS ARRAY_PARTITION variable=m complete
Pixels:
  for (int p = 0; p < P; p++) {
#pragma HLS PIPELINE II = RF
    const pixel<x_t, C> v = in.read();
  Channels:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      if (p == 0 || v.data[c] > m[c]) m[c] = v.data[c];
    }
  }
  pixel<y_t, C> o;
Result:
  for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
    o.data[c] = m[c];
  }
  out.write(o);
}

// Global average pooling over a stream of P pixels: the exact sum per channel, assigned once to acc_t,
// times recip[P] (no padding: every count is P).
template <class x_t, class y_t, class sum_t, class acc_t, class r_t, int P, int C, int RF>
void global_avg_stream(hls::stream<pixel<x_t, C> > &in, hls::stream<pixel<y_t, C> > &out, const r_t recip[P + 1]) {
#pragma HLS INLINE
  sum_t sum[C];
#pragma HLS ARRAY_PARTITION variable=sum complete
Zero:
  for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
    sum[c] = 0;
  }
Pixels:
  for (int p = 0; p < P; p++) {
#pragma HLS PIPELINE II = RF
    const pixel<x_t, C> v = in.read();
  Channels:
    for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
      sum[c] += v.data[c];
    }
  }
  pixel<y_t, C> o;
Result:
  for (int c = 0; c < C; c++) {
#pragma HLS UNROLL
    const acc_t a = sum[c];
    o.data[c] = a * recip[P];
  }
  out.write(o);
}

}  // namespace nn2hls

#endif
