"""Hand-typed tiny graphs for backend tests (explicit types, so golden files do not depend on passes)."""
from __future__ import annotations

import numpy as np

from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType

T = FixedType.parse


def tiny_mlp(names: tuple[str, str, str, str] = ("x", "fc1", "relu1", "fc2"), model: str = "tiny") -> Graph:
    """4 -> 3 (zeros, +-1, powers of two, general weights) -> ReLU -> 2."""
    g = Graph(model)
    x = g.add(ops.Input(shape=(4,)), name=names[0])
    k1 = np.array([[0.0, 1.0, 0.375],
                   [-1.0, 0.0, 0.5],
                   [0.25, -0.625, 0.0],
                   [0.0, -2.0, 1.125]])
    d1 = g.add(ops.Dense(), [x.name], name=names[1], weights={"kernel": k1, "bias": np.array([0.5, -0.25, 0.0])})
    r = g.add(ops.Activation(function="relu"), [d1.name], name=names[2])
    k2 = np.array([[0.75, 0.0], [-0.5, 1.0], [0.0, 0.0]])
    d2 = g.add(ops.Dense(), [r.name], name=names[3], weights={"kernel": k2, "bias": np.array([0.125, 0.0])})
    g.outputs = [d2.name]
    x.precision = {"result": T("ap_fixed<10,4,AP_RND,AP_SAT>")}
    for d in (d1, d2):
        d.precision = {"weight": T("ap_fixed<8,3>"), "bias": T("ap_fixed<8,3>"), "accum": T("ap_fixed<24,9>"),
                       "result": T("ap_fixed<12,6,AP_RND,AP_SAT>")}
    r.precision = {"result": T("ap_ufixed<10,5,AP_RND,AP_SAT>")}
    return g


def pruned_dense(rng: np.random.Generator, n_in: int = 40, n_out: int = 30, sparsity: float = 0.75) -> Graph:
    """One Dense layer with 75% zeros and a mix of trivial (+-1, +-2^k) and general 8-bit weights."""
    g = Graph("pruned")
    x = g.add(ops.Input(shape=(n_in,)), name="x")
    w = np.round(rng.normal(size=(n_in, n_out)) * 16) / 16
    w[rng.random(size=w.shape) < sparsity] = 0.0
    special = rng.random(size=w.shape)
    w[(special < 0.05) & (w != 0)] = 1.0
    w[(special > 0.95) & (w != 0)] = -1.0
    w[(special > 0.5) & (special < 0.55) & (w != 0)] = 0.5
    d = g.add(ops.Dense(), [x.name], name="dense", weights={"kernel": w, "bias": np.zeros(n_out)})
    g.outputs = [d.name]
    x.precision = {"result": T("ap_fixed<12,4,AP_RND,AP_SAT>")}
    d.precision = {"weight": T("ap_fixed<8,4>"), "bias": T("ap_fixed<8,4>"), "accum": T("ap_fixed<32,14>"),
                   "result": T("ap_fixed<16,8,AP_RND,AP_SAT>")}
    return g
