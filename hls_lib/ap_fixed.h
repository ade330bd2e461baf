// ap_fixed.h -- nn2hls's header-only simulation of the vendor's arbitrary precision types.
// Gives ap_fixed, ap_ufixed, ap_int, ap_uint, ap_q_mode and ap_o_mode with the vendor's names and
// semantics (see nn2hls_ap_core.h for the rules). Build a C simulation with -I<nn2hls>/hls_lib to use
// these, or with -I<vendor ap_types dir> to use the vendor's; generated code compiles against both.
#ifndef NN2HLS_AP_FIXED_H
#define NN2HLS_AP_FIXED_H
#include "nn2hls_ap_core.h"
#endif  // NN2HLS_AP_FIXED_H
