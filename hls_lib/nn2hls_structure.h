// nn2hls_structure.h -- structural layers as index wiring (io_parallel): Pad, Slice (cropping),
// Upsample (nearest), DepthToSpace, SpaceToDepth.
//
// Rule (nn2hls/ir/rearrange.py): the output, row-major, is viewed as a gather shape D0 x ... x D5 and
// axis a has a table m_a of input offsets, so y[o] = x[m0[o0] + ... + m5[o5]] cast to y_t, or FILL
// where some m_a[o_a] < 0 (Pad's constant, already of type y_t). Unused axes have length 1 and the
// table {0}. Every index is a compile-time constant once the loops are unrolled: no logic in hardware
// beyond the casts (none when y_t is x_t) and the constant.
#ifndef NN2HLS_STRUCTURE_H_
#define NN2HLS_STRUCTURE_H_

#include "nn2hls_common.h"

namespace nn2hls {

template <class x_t, class y_t, int D0, int D1, int D2, int D3, int D4, int D5, bool HAS_FILL>
void gather_axes(const x_t x[], y_t y[D0 * D1 * D2 * D3 * D4 * D5], const int m0[D0], const int m1[D1],
                 const int m2[D2], const int m3[D3], const int m4[D4], const int m5[D5], const y_t &fill) {
#pragma HLS INLINE
  for (int a0 = 0; a0 < D0; a0++) {
#pragma HLS UNROLL
    for (int a1 = 0; a1 < D1; a1++) {
#pragma HLS UNROLL
      for (int a2 = 0; a2 < D2; a2++) {
#pragma HLS UNROLL
        for (int a3 = 0; a3 < D3; a3++) {
#pragma HLS UNROLL
          for (int a4 = 0; a4 < D4; a4++) {
#pragma HLS UNROLL
            const int o = ((((a0 * D1 + a1) * D2 + a2) * D3 + a3) * D4 + a4) * D5;
            const int base = m0[a0] + m1[a1] + m2[a2] + m3[a3] + m4[a4];
            const bool inside = !HAS_FILL || (m0[a0] >= 0 && m1[a1] >= 0 && m2[a2] >= 0 && m3[a3] >= 0 && m4[a4] >= 0);
            for (int a5 = 0; a5 < D5; a5++) {
#pragma HLS UNROLL
              if (inside && (!HAS_FILL || m5[a5] >= 0)) {
                y[o + a5] = x[base + m5[a5]];
              } else {
                y[o + a5] = fill;
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace nn2hls

#endif
