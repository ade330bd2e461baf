// nn2hls_dense.h -- sparse fully unrolled Dense layer (io_parallel, latency strategy).
//
// Per output neuron o (docs/semantics.md):  acc = bias[o] + sum over the nonzero weights of x[i]*w,
// in accum type acc_t, then y[o] = acc assigned to y_t (its Q/O modes apply once).
// The nonzero quantized weights are split by the backend into four lists (sparse.py):
//   mul  general weights            acc += x[i] * w      (one product per entry)
//   p2   powers of two (+-2^k, k!=0) acc += x[i] * w     (a product by a power-of-two constant:
//                                                         HLS constant-folds it into wiring)
//   add  weight +1                  acc += x[i]
//   sub  weight -1                  acc -= x[i]
// Zero weights have no entry at all. Each list is stored as row blocks (sparse.py block_rows), one
// generated call per block, between dense_bias (acc = bias) and dense_result (y = acc):
//   full rows   every one of the N_IN weights nonzero: all of them, +-1 and powers of two included,
//               in the mul list in input order; summed from x contiguously, without an index array
//               (mac_full_rows). HLS folds the constant products by +-1 and 2^k all the same.
//   sparse rows row r (output out[r]) has chunks[r] * T + R entries in increasing input index:
//               chunks[r] trees of T terms, then one tree of R terms (mac_rows / add_rows). R is the
//               same for the whole block and chunks[r] lies in [QMIN, QMAX] (one value for short
//               rows: a block per row length). A list has at most 3 T blocks (sparse.py), so the
//               code g++ compiles stays small whatever the layer size, and every loop has a
//               constant or a well-predicted trip count (no per-entry branches).
// Each tree is a balanced exact adder tree (each sum's type one bit wider than its operands',
// nothing rounds or wraps) that reaches the accumulator once. The precision rules make the
// accumulator exact modulo 2^W (frac(acc) >= frac(x) + frac(w), AP_WRAP), so the order and grouping
// of the terms cannot change the result. With constant arrays HLS unrolls every loop (UNROLL) and
// folds the indices and weights; a full row is one tree in hardware, the C simulation cuts it into
// trees of T terms.
// C simulation details (no effect on any bit): each weight is copied exactly into a type G bits wider
// (wide_of, G = log2 of the tree size) so products and partial sums share one native integer width;
// trees whose types would not fit 64-bit integers are summed term by term instead (terms_into).
#ifndef NN2HLS_DENSE_H_
#define NN2HLS_DENSE_H_

#include "nn2hls_common.h"

namespace nn2hls {

// Placed before a loop the HLS tools unroll but g++ should keep rolled: fully unrolled blocks of rows
// would turn the C simulation into one statement per weight (slow to compile at scale).
#if defined(__GNUC__) && !defined(__clang__) && !defined(__SYNTHESIS__)
#define NN2HLS_CSIM_ROLLED _Pragma("GCC unroll 1")
#else
#define NN2HLS_CSIM_ROLLED
#endif

constexpr int ceil_log2(int n) { return n <= 1 ? 0 : 1 + ceil_log2((n + 1) / 2); }

// Bits by which the C simulation widens the weights of a tree of N terms (0 for HLS).
constexpr int tree_widening(int N) {
#ifdef __SYNTHESIS__
  return 0 * N;
#else
  return ceil_log2(N);
#endif
}

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

// Leaves of the row trees. MUL: x[i] * w (w copied exactly into wide_of<w_t, G>); SUM: x[i].
// CONTIGUOUS leaves (a full row) read x[j], the j-th entry of their row; the others x[idx[k]], k the
// entry's position in the list.
template <bool CONTIGUOUS, class x_t, class i_t>
NN2HLS_ALWAYS_INLINE const x_t &leaf_input(const x_t x[], const i_t idx[], int k, int j) {
#pragma HLS INLINE
  return CONTIGUOUS ? x[j] : x[idx[k]];
}
template <bool MUL, int G, class x_t, class w_t> struct leaf;
template <int G, class x_t, class w_t> struct leaf<true, G, x_t, w_t> {
  typedef decltype(x_t() * typename wide_of<w_t, G>::type()) type;
  template <bool CONTIGUOUS, class i_t>
  static NN2HLS_ALWAYS_INLINE type get(const x_t x[], const i_t idx[], const w_t w[], int k, int j) {
#pragma HLS INLINE
    const typename wide_of<w_t, G>::type wide = w[k];
    return leaf_input<CONTIGUOUS>(x, idx, k, j) * wide;
  }
};
template <int G, class x_t, class w_t> struct leaf<false, G, x_t, w_t> {
  typedef x_t type;
  template <bool CONTIGUOUS, class i_t>
  static NN2HLS_ALWAYS_INLINE type get(const x_t x[], const i_t idx[], const w_t[], int k, int j) {
#pragma HLS INLINE
    return leaf_input<CONTIGUOUS>(x, idx, k, j);
  }
};

// Exact sum of the N leaves k0 .. k0+N-1 (row positions j0 .. j0+N-1) as a balanced adder tree.
// (C++11 for the HLS front end: the exact result types are spelled out by tree_type.)
template <int N, class leaf_t> struct tree_type {
  typedef decltype(typename tree_type<N / 2, leaf_t>::type() + typename tree_type<N - N / 2, leaf_t>::type()) type;
};
template <class leaf_t> struct tree_type<1, leaf_t> { typedef typename leaf_t::type type; };

template <int N, class leaf_t, bool CONTIGUOUS> struct row_tree {
  template <class x_t, class i_t, class w_t>
  static NN2HLS_ALWAYS_INLINE typename tree_type<N, leaf_t>::type sum(const x_t x[], const i_t idx[], const w_t w[],
                                                                      int k0, int j0) {
#pragma HLS INLINE
    return row_tree<N / 2, leaf_t, CONTIGUOUS>::sum(x, idx, w, k0, j0) +
           row_tree<N - N / 2, leaf_t, CONTIGUOUS>::sum(x, idx, w, k0 + N / 2, j0 + N / 2);
  }
};
template <class leaf_t, bool CONTIGUOUS> struct row_tree<1, leaf_t, CONTIGUOUS> {
  template <class x_t, class i_t, class w_t>
  static NN2HLS_ALWAYS_INLINE typename leaf_t::type sum(const x_t x[], const i_t idx[], const w_t w[], int k0,
                                                        int j0) {
#pragma HLS INLINE
    return leaf_t::template get<CONTIGUOUS>(x, idx, w, k0, j0);
  }
};

// acc (+ or -) the exact tree of the N (>= 1) leaves from entry k0 (row position j0) when USE (the
// tree's types fit 64-bit integers); with USE false nothing is instantiated and the caller never
// takes this path.
template <bool USE, int N, class leaf_t, bool CONTIGUOUS> struct tree_into {
  template <bool SUB, class acc_t, class x_t, class i_t, class w_t>
  static NN2HLS_ALWAYS_INLINE void add(acc_t &acc, const x_t x[], const i_t idx[], const w_t w[], int k0, int j0) {
#pragma HLS INLINE
    if (SUB) acc -= row_tree<N, leaf_t, CONTIGUOUS>::sum(x, idx, w, k0, j0);
    else acc += row_tree<N, leaf_t, CONTIGUOUS>::sum(x, idx, w, k0, j0);
  }
};
template <int N, class leaf_t, bool CONTIGUOUS> struct tree_into<false, N, leaf_t, CONTIGUOUS> {
  template <bool SUB, class acc_t, class x_t, class i_t, class w_t>
  static NN2HLS_ALWAYS_INLINE void add(acc_t &, const x_t[], const i_t[], const w_t[], int, int) {}
};

// acc (+ or -) the N terms from entry k0 (row position j0): an exact tree when its types fit 64-bit
// integers, else one term at a time. G: the weights' widening (the same for every tree of a block, so
// all its trees share their types: fewer template instantiations for g++).
template <bool MUL, bool SUB, int N, int G, bool CONTIGUOUS, class acc_t, class x_t, class i_t, class w_t>
NN2HLS_ALWAYS_INLINE void terms_into(acc_t &acc, const x_t x[], const i_t idx[], const w_t w[], int k0, int j0) {
#pragma HLS INLINE
  typedef leaf<MUL, G, x_t, w_t> leaf_t;
  constexpr bool FITS = leaf_t::type::width + ceil_log2(N) <= 64;
  if (FITS) {
    tree_into<FITS, N, leaf_t, CONTIGUOUS>::template add<SUB>(acc, x, idx, w, k0, j0);
  } else {
  Terms:
    for (int k = 0; k < N; k++) {
#pragma HLS UNROLL
      const x_t &v = leaf_input<CONTIGUOUS>(x, idx, k0 + k, j0 + k);
      if (MUL) acc += v * w[k0 + k];
      else if (SUB) acc -= v;
      else acc += v;
    }
  }
}

// acc[o] = bias[o] for every output.
template <int N_OUT, class acc_t, class b_t>
NN2HLS_ALWAYS_INLINE void dense_bias(acc_t acc[N_OUT], const b_t bias[N_OUT]) {
#pragma HLS INLINE
Bias:
  for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
    acc[o] = bias[o];
  }
}

// One block of C full rows: acc[out[r]] (+ or -) the sum over i < N_IN of x[i] (* w[r * N_IN + i]).
// One tree per row for HLS, trees of T terms in the C simulation.
template <bool MUL, bool SUB, int N_IN, int T, int C, class acc_t, class x_t, class o_t, class w_t>
NN2HLS_ALWAYS_INLINE void full_rows(acc_t acc[], const x_t x[N_IN], const o_t out[], const w_t w[]) {
#pragma HLS INLINE
#ifdef __SYNTHESIS__
  constexpr int TREE = N_IN;
#else
  constexpr int TREE = T < N_IN ? T : N_IN;
#endif
  constexpr int REST = N_IN % TREE;
  constexpr int G = tree_widening(TREE);
  const o_t *no_index = out;  // contiguous leaves read no index
Rows:
  NN2HLS_CSIM_ROLLED
  for (int r = 0; r < C; r++) {
#pragma HLS UNROLL
  Trees:
    NN2HLS_CSIM_ROLLED
    for (int t = 0; t < N_IN / TREE; t++) {
#pragma HLS UNROLL
      terms_into<MUL, SUB, TREE, G, true>(acc[out[r]], x, no_index, w, r * N_IN + t * TREE, t * TREE);
    }
    if (REST > 0)
      terms_into<MUL, SUB, REST + (REST == 0), G, true>(acc[out[r]], x, no_index, w, r * N_IN + N_IN - REST,
                                                        N_IN - REST);
  }
}

// One block of C sparse rows: row r adds chunks[r] trees of T terms and one of R terms to acc[out[r]]
// (+ or -); its entries follow the previous row's, from idx[0] (and w[0]). QMIN <= chunks[r] <= QMAX:
// with QMIN == QMAX (a block of rows of one length) the count is a constant and chunks is not read.
// The C simulation loops chunks[r] times; HLS sees a constant trip count QMAX (full UNROLL) with the
// chunks past chunks[r] switched off by a condition it folds from the constant array.
template <bool MUL, bool SUB, int T, int R, int QMIN, int QMAX, int C, class acc_t, class x_t, class o_t, class q_t,
          class i_t, class w_t>
NN2HLS_ALWAYS_INLINE void sparse_rows(acc_t acc[], const x_t x[], const o_t out[], const q_t chunks[],
                                      const i_t idx[], const w_t w[]) {
#pragma HLS INLINE
  constexpr int G = tree_widening(T);
  int k = 0;
Rows:
  NN2HLS_CSIM_ROLLED
  for (int r = 0; r < C; r++) {
#pragma HLS UNROLL
    const int q = QMIN == QMAX ? QMIN : (int)chunks[r];
#ifdef __SYNTHESIS__
  Chunks:
    for (int t = 0; t < QMAX; t++) {
#pragma HLS UNROLL
      if (t < q) {
        terms_into<MUL, SUB, T, G, false>(acc[out[r]], x, idx, w, k + t * T, 0);
      }
    }
#else
  Chunks:
    NN2HLS_CSIM_ROLLED
    for (int t = 0; t < q; t++) {
      terms_into<MUL, SUB, T, G, false>(acc[out[r]], x, idx, w, k + t * T, 0);
    }
#endif
    k += q * T;
    if (R > 0) terms_into<MUL, SUB, R + (R == 0), G, false>(acc[out[r]], x, idx, w, k, 0);
    k += R;
  }
}

// The generated calls: mul/p2 lists (weights w) and add/sub lists (SUB: the -1 list).
template <int N_IN, int T, int C, class acc_t, class x_t, class o_t, class w_t>
NN2HLS_ALWAYS_INLINE void mac_full_rows(acc_t acc[], const x_t x[N_IN], const o_t out[], const w_t w[]) {
#pragma HLS INLINE
  full_rows<true, false, N_IN, T, C>(acc, x, out, w);
}
template <bool SUB, int N_IN, int T, int C, class acc_t, class x_t, class o_t>
NN2HLS_ALWAYS_INLINE void add_full_rows(acc_t acc[], const x_t x[N_IN], const o_t out[]) {
#pragma HLS INLINE
  full_rows<false, SUB, N_IN, T, C>(acc, x, out, x);
}
template <int T, int R, int QMIN, int QMAX, int C, class acc_t, class x_t, class o_t, class q_t, class i_t,
          class w_t>
NN2HLS_ALWAYS_INLINE void mac_rows(acc_t acc[], const x_t x[], const o_t out[], const q_t chunks[], const i_t idx[],
                                   const w_t w[]) {
#pragma HLS INLINE
  sparse_rows<true, false, T, R, QMIN, QMAX, C>(acc, x, out, chunks, idx, w);
}
template <bool SUB, int T, int R, int QMIN, int QMAX, int C, class acc_t, class x_t, class o_t, class q_t,
          class i_t>
NN2HLS_ALWAYS_INLINE void add_rows(acc_t acc[], const x_t x[], const o_t out[], const q_t chunks[],
                                   const i_t idx[]) {
#pragma HLS INLINE
  sparse_rows<false, SUB, T, R, QMIN, QMAX, C>(acc, x, out, chunks, idx, x);
}

// y[o] = acc[o]: y_t's Q/O modes apply once.
template <int N_OUT, class acc_t, class y_t>
NN2HLS_ALWAYS_INLINE void dense_result(const acc_t acc[N_OUT], y_t y[N_OUT]) {
#pragma HLS INLINE
Results:
  for (int o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
    y[o] = acc[o];
  }
}

}  // namespace nn2hls

#endif
