// nn2hls_dense.h -- sparse fully unrolled Dense layer (io_parallel, latency strategy).
//
// Per output neuron o (docs/semantics.md):  acc = bias[o] + sum over the nonzero weights of x[i]*w,
// in accum type acc_t, then y[o] = acc assigned to y_t (its Q/O modes apply once).
// The nonzero quantized weights are split by the backend into four CSR-like lists (row start
// offsets per neuron, input indices increasing inside a row; index type i_t is the smallest
// unsigned type holding N_IN - 1):
//   mul  general weights            acc += x[i] * w      (one product per entry)
//   p2   powers of two (+-2^k, k!=0) acc += x[i] * w     (a product by a power-of-two constant:
//                                                         HLS constant-folds it into wiring)
//   add  weight +1                  acc += x[i]
//   sub  weight -1                  acc -= x[i]
// The precision rules make the accumulator exact modulo 2^W (frac(acc) >= frac(x) + frac(w),
// AP_WRAP), so the order and grouping of the terms cannot change the result. Zero weights have no
// entry; N_MUL/N_P2/N_ADD/N_SUB are the list lengths (an empty list generates no code at all).
// Terms are summed four at a time in an exact adder tree before they reach the accumulator (the sum
// of four exact products never rounds or wraps), so the C simulation wraps the accumulator once per
// four terms; the lists are walked one after the other with one accumulator per neuron.
// Full rows (every one of the N_IN weights nonzero) hold all their weights, +-1 and powers of two
// included, in the mul list in input order: mul_start[o+1] - mul_start[o] == N_IN identifies them
// (a constant, folded by HLS), and their products x[i] * w[i] are summed contiguously, without the
// index array, in a balanced exact adder tree (dot_tree: types grow one bit per level, nothing
// rounds or wraps) that reaches the accumulator once per row. HLS folds the constant products by
// +-1 and 2^k into adders and wiring as before. The tree is used while its types fit 64 bits.
// Loops carry UNROLL: with constant arrays, HLS unrolls and folds them into an adder tree per
// neuron; g++ compiles them in milliseconds whatever the layer size.
#ifndef NN2HLS_DENSE_H_
#define NN2HLS_DENSE_H_

#include "nn2hls_common.h"

namespace nn2hls {

// acc += sum over the entries k .. end-1 of one row of x[idx[k]] * w[k].
template <class acc_t, class x_t, class w_t, class i_t>
NN2HLS_ALWAYS_INLINE void mac_row(acc_t &acc, const x_t x[], const i_t idx[], const w_t w[], int k,
                                  const int end) {
#pragma HLS INLINE
Quads:
  for (; k + 4 <= end; k += 4) {
#pragma HLS UNROLL
    acc += (x[idx[k]] * w[k] + x[idx[k + 1]] * w[k + 1]) + (x[idx[k + 2]] * w[k + 2] + x[idx[k + 3]] * w[k + 3]);
  }
Rest:
  for (; k < end; k++) {
#pragma HLS UNROLL
    acc += x[idx[k]] * w[k];
  }
}

constexpr int ceil_log2(int n) { return n <= 1 ? 0 : 1 + ceil_log2((n + 1) / 2); }

// wide_of<T, G>::type: a signed type holding every value of T exactly, with G more integer bits.
template <class T, int G> struct wide_of;
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N, int G> struct wide_of<ap_fixed<W, I, Q, O, N>, G> {
  typedef ap_fixed<W + G, I + G> type;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N, int G> struct wide_of<ap_ufixed<W, I, Q, O, N>, G> {
  typedef ap_fixed<W + G + 1, I + G + 1> type;
};
template <int W, int G> struct wide_of<ap_int<W>, G> { typedef ap_int<W + G> type; };
template <int W, int G> struct wide_of<ap_uint<W>, G> { typedef ap_int<W + G + 1> type; };

// Exact sum over i < N of x[i] * w[i] (a full row: contiguous weights, no index) as a balanced
// adder tree; each sum's type is one bit wider than its operands', so nothing rounds or wraps.
// Each weight is first copied exactly into wide_of<w_t, G> (G = ceil(log2 N)): its products are
// then as wide as the plain tree's sum, so in the C simulation every product and partial sum
// shares one native integer width (no sign extension per term); in HLS the weights are constants
// and the products fold as before.
// (C++11 for the HLS front end: the exact result types are spelled out by dot_type.)
template <int N, int G, class x_t, class w_t> struct dot_type {
  typedef decltype(typename dot_type<N / 2, G, x_t, w_t>::type() +
                   typename dot_type<N - N / 2, G, x_t, w_t>::type()) type;
};
template <int G, class x_t, class w_t> struct dot_type<1, G, x_t, w_t> {
  typedef decltype(x_t() * typename wide_of<w_t, G>::type()) type;
};
template <int N, int G> struct dot_tree {
  template <class x_t, class w_t>
  static NN2HLS_ALWAYS_INLINE typename dot_type<N, G, x_t, w_t>::type sum(const x_t x[], const w_t w[]) {
#pragma HLS INLINE
    return dot_tree<N / 2, G>::sum(x, w) + dot_tree<N - N / 2, G>::sum(x + N / 2, w + N / 2);
  }
};
template <int G> struct dot_tree<1, G> {
  template <class x_t, class w_t>
  static NN2HLS_ALWAYS_INLINE typename dot_type<1, G, x_t, w_t>::type sum(const x_t x[], const w_t w[]) {
#pragma HLS INLINE
    const typename wide_of<w_t, G>::type wide = w[0];
    return x[0] * wide;
  }
};

// acc += dot_tree<N, G>::sum(x, w) when USE (the tree's exact type fits 64 bits); with USE false the
// tree is not even instantiated and the caller never takes this path.
template <bool USE, int N> struct full_row {
  template <class acc_t, class x_t, class w_t>
  static NN2HLS_ALWAYS_INLINE void mac(acc_t &acc, const x_t x[], const w_t w[]) {
#pragma HLS INLINE
    acc += dot_tree<N, ceil_log2(N)>::sum(x, w);
  }
};
template <int N> struct full_row<false, N> {
  template <class acc_t, class x_t, class w_t>
  static NN2HLS_ALWAYS_INLINE void mac(acc_t &, const x_t[], const w_t[]) {}
};

// acc += (SUB ? -1 : 1) * sum over the entries k .. end-1 of one row of x[idx[k]] (adders only).
template <bool SUB, class acc_t, class x_t, class i_t>
NN2HLS_ALWAYS_INLINE void add_row(acc_t &acc, const x_t x[], const i_t idx[], int k, const int end) {
#pragma HLS INLINE
Quads:
  for (; k + 4 <= end; k += 4) {
#pragma HLS UNROLL
    if (SUB) acc -= (x[idx[k]] + x[idx[k + 1]]) + (x[idx[k + 2]] + x[idx[k + 3]]);
    else acc += (x[idx[k]] + x[idx[k + 1]]) + (x[idx[k + 2]] + x[idx[k + 3]]);
  }
Rest:
  for (; k < end; k++) {
#pragma HLS UNROLL
    if (SUB) acc -= x[idx[k]];
    else acc += x[idx[k]];
  }
}

// The part every Dense kernel shares once its general products are in acc: the power-of-two (p2),
// +1 (add) and -1 (sub) lists, then y[o] = acc[o] (y_t's Q/O modes apply once).
template <int N_OUT, int N_P2, int N_ADD, int N_SUB, class acc_t, class x_t, class y_t, class w_t, class i_t>
NN2HLS_ALWAYS_INLINE void dense_finish(acc_t acc[N_OUT], const x_t x[], y_t y[N_OUT],
                                       const int p2_start[N_OUT + 1], const i_t p2_idx[], const w_t p2_w[],
                                       const int add_start[N_OUT + 1], const i_t add_idx[],
                                       const int sub_start[N_OUT + 1], const i_t sub_idx[]) {
#pragma HLS INLINE
  if (N_P2 > 0) {
  Shifts:
    for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
      mac_row(acc[o], x, p2_idx, p2_w, p2_start[o], p2_start[o + 1]);
    }
  }
  if (N_ADD > 0) {
  Adds:
    for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
      add_row<false>(acc[o], x, add_idx, add_start[o], add_start[o + 1]);
    }
  }
  if (N_SUB > 0) {
  Subs:
    for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
      add_row<true>(acc[o], x, sub_idx, sub_start[o], sub_start[o + 1]);
    }
  }
Results:
  for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
    y[o] = acc[o];
  }
}

template <class x_t, class y_t, class acc_t, class w_t, class b_t, class i_t, int N_IN, int N_OUT, int N_MUL,
          int N_P2, int N_ADD, int N_SUB>
void dense_sparse(const x_t x[N_IN], y_t y[N_OUT], const b_t bias[N_OUT],
                  const int mul_start[N_OUT + 1], const i_t mul_idx[], const w_t mul_w[],
                  const int p2_start[N_OUT + 1], const i_t p2_idx[], const w_t p2_w[],
                  const int add_start[N_OUT + 1], const i_t add_idx[],
                  const int sub_start[N_OUT + 1], const i_t sub_idx[]) {
#pragma HLS INLINE
  // Width of a full row's tree sum (weights widened by G bits, +1 if unsigned); wider trees (rare)
  // take the listed path.
  constexpr bool FULL_TREE = x_t::width + w_t::width + 2 * ceil_log2(N_IN) + 1 <= 64;
  acc_t acc[N_OUT];
#pragma HLS ARRAY_PARTITION variable = acc complete
Products:
  for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
    acc_t a = bias[o];
    if (N_MUL > 0) {
      if (FULL_TREE && mul_start[o + 1] - mul_start[o] == N_IN) full_row<FULL_TREE, N_IN>::mac(a, x, mul_w + mul_start[o]);
      else mac_row(a, x, mul_idx, mul_w, mul_start[o], mul_start[o + 1]);
    }
    acc[o] = a;
  }
  dense_finish<N_OUT, N_P2, N_ADD, N_SUB>(acc, x, y, p2_start, p2_idx, p2_w, add_start, add_idx, sub_start,
                                        sub_idx);
}

}  // namespace nn2hls

#endif
