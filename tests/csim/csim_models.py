"""Small float IR graphs covering every op the HLS backend supports (typed later by run_passes)."""
from __future__ import annotations

import numpy as np

from nn2hls.ir import ops
from nn2hls.ir.graph import Graph


def bn_mlp(rng: np.random.Generator) -> Graph:
    """Dense -> BatchNorm -> sigmoid -> Dense -> BatchNorm -> tanh -> Dense -> leaky ReLU -> Dense."""
    g = Graph("bn_mlp")
    prev = g.add(ops.Input(shape=(10,)), name="x").name
    widths = [10, 16, 12, 8, 4]
    acts = ["sigmoid", "tanh", "leaky_relu", None]
    for k, act in enumerate(acts):
        prev = g.add(ops.Dense(), [prev], name=f"fc{k}",
                     weights={"kernel": rng.normal(size=(widths[k], widths[k + 1])) / np.sqrt(widths[k]),
                              "bias": rng.normal(size=widths[k + 1]) * 0.1}).name
        if act is None:
            continue
        c = widths[k + 1]
        prev = g.add(ops.BatchNorm(), [prev], name=f"bn{k}",
                     weights={"gamma": rng.uniform(0.5, 1.5, c), "beta": rng.normal(size=c) * 0.1,
                              "mean": rng.normal(size=c) * 0.1, "var": rng.uniform(0.5, 2, c)}).name
        prev = g.add(ops.Activation(function=act, alpha=0.1 if act == "leaky_relu" else 0.0), [prev],
                     name=f"act{k}").name
    g.outputs = [prev]
    return g


def cnn2d(rng: np.random.Generator) -> Graph:
    """Conv (pad 1) -> ReLU -> avg pool (partial windows) -> strided dilated Conv -> max pool -> Dense -> Softmax."""
    g = Graph("cnn2d")
    x = g.add(ops.Input(shape=(8, 8, 2)), name="in")
    c = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(1, 1), dilations=(1, 1), pads=((1, 1), (1, 1))),
              [x.name], name="conv", weights={"kernel": rng.normal(size=(3, 3, 2, 4)) * 0.5,
                                              "bias": rng.normal(size=4) * 0.1})
    r = g.add(ops.Activation(function="relu"), [c.name], name="relu")
    p = g.add(ops.Pool(mode="avg", ndim=2, pool_size=(2, 2), strides=(2, 2), pads=((0, 1), (0, 1)),
                       count_include_pad=False), [r.name], name="avg")
    # half-integer weights: many +-1 (adders) and powers of two
    c2 = g.add(ops.Conv(ndim=2, kernel_size=(2, 2), strides=(2, 1), dilations=(1, 2), pads=((0, 0), (1, 0))),
               [p.name], name="conv2", weights={"kernel": np.round(rng.normal(size=(2, 2, 4, 3)) * 2) / 2,
                                                "bias": rng.normal(size=3) * 0.1})
    m = g.add(ops.Pool(mode="max", ndim=2, pool_size=(2, 2), strides=(1, 1), pads=((0, 0), (0, 0))),
              [c2.name], name="maxp")
    f = g.add(ops.Reshape(shape=(int(np.prod(m.shape)),)), [m.name], name="flat")
    d = g.add(ops.Dense(), [f.name], name="fc", weights={"kernel": rng.normal(size=(f.shape[0], 6)),
                                                          "bias": rng.normal(size=6)})
    s = g.add(ops.Softmax(axis=-1), [d.name], name="sm")
    g.outputs = [s.name]
    return g


def cnn1d(rng: np.random.Generator) -> Graph:
    """Conv1D (stride 2, pad, dilation) -> ELU -> max pool 1D -> Conv1D -> avg pool (count pad) -> global avg -> Dense."""
    g = Graph("cnn1d")
    x = g.add(ops.Input(shape=(20, 3)), name="seq")
    c = g.add(ops.Conv(ndim=1, kernel_size=(3,), strides=(2,), dilations=(2,), pads=((2, 1),)), [x.name],
              name="c1", weights={"kernel": rng.normal(size=(3, 3, 5)) * 0.5, "bias": rng.normal(size=5) * 0.1})
    a = g.add(ops.Activation(function="elu", alpha=1.0), [c.name], name="elu")
    p = g.add(ops.Pool(mode="max", ndim=1, pool_size=(2,), strides=(2,), pads=((0, 1),)), [a.name], name="mp")
    c2 = g.add(ops.Conv(ndim=1, kernel_size=(2,), strides=(1,), dilations=(1,), pads=((0, 0),)), [p.name],
               name="c2", weights={"kernel": rng.normal(size=(2, 5, 4)) * 0.5, "bias": np.zeros(4)})
    ap = g.add(ops.Pool(mode="avg", ndim=1, pool_size=(3,), strides=(1,), pads=((1, 1),), count_include_pad=True),
               [c2.name], name="ap")
    gp = g.add(ops.GlobalPool(mode="avg"), [ap.name], name="gap")
    d = g.add(ops.Dense(), [gp.name], name="out", weights={"kernel": rng.normal(size=(4, 3)), "bias": np.zeros(3)})
    g.outputs = [d.name]
    return g


def wiring(rng: np.random.Generator) -> Graph:
    """Element-wise add/sub/mul, Concat, Transpose, ScaleShift, clip, hard sigmoid, global max pool,
    softmax along a non-last axis; two outputs."""
    g = Graph("wiring")
    x = g.add(ops.Input(shape=(4, 3)), name="x")
    ss = g.add(ops.ScaleShift(), [x.name], name="ss",
               weights={"scale": rng.uniform(0.5, 2.0, 3), "shift": rng.normal(size=3) * 0.2})
    d1 = g.add(ops.Dense(), [ss.name], name="d1", weights={"kernel": rng.normal(size=(3, 3)), "bias": np.zeros(3)})
    cl = g.add(ops.Activation(function="clip", low=-0.5, high=1.5), [d1.name], name="clip")
    hs = g.add(ops.Activation(function="hard_sigmoid", alpha=0.2, beta=0.5), [ss.name], name="hsig")
    ad = g.add(ops.Elementwise(operation="add"), [cl.name, hs.name], name="add")
    sb = g.add(ops.Elementwise(operation="sub"), [cl.name, ss.name], name="sub")
    mu = g.add(ops.Elementwise(operation="mul"), [ad.name, sb.name], name="mul")
    cat = g.add(ops.Concat(axis=0), [mu.name, ad.name], name="cat")          # (8, 3)
    tr = g.add(ops.Transpose(perm=(1, 0)), [cat.name], name="tr")            # (3, 8)
    sm = g.add(ops.Softmax(axis=0), [tr.name], name="sm")                    # along the 3
    gm = g.add(ops.GlobalPool(mode="max"), [cat.name], name="gmax")          # (3,)
    g.outputs = [sm.name, gm.name]
    return g
