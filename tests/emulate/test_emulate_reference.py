"""Emulator vs an independent scalar reference (Fractions, tests/emulate/conftest.py `Ref`).

Narrow types and several quantization/overflow modes so that rounding, saturation and wrapping
really happen; every node's raw output and overflow count must match exactly.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nn2hls.emulate import emulate
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph

MODES = [("AP_TRN", "AP_WRAP"), ("AP_RND", "AP_SAT"), ("AP_RND_CONV", "AP_SAT_SYM"),
         ("AP_TRN_ZERO", "AP_SAT_ZERO"), ("AP_RND_ZERO", "AP_WRAP"), ("AP_RND_INF", "AP_SAT"),
         ("AP_RND_MIN_INF", "AP_SAT_SYM")]


def check(emu, graph: Graph, x: np.ndarray):
    res = emulate(graph, x, return_all=True)
    ref = emu.Ref(graph)
    vals = ref.run(x)
    for name, (raw, t) in res.raw.items():
        got = emu.ref_values(raw, t)
        want = vals[name]
        assert got.shape == want.shape, name
        bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
        assert bad.size == 0, (f"{name}: first mismatch at {bad[0]}: emulator "
                               f"{got.reshape(-1)[bad[0]]} reference {want.reshape(-1)[bad[0]]}")
        assert res.overflows[name] == ref.overflows.get(name, 0), name
    return res, ref


def chain(input_shape, *layers):
    g = Graph("t")
    prev = g.add(ops.Input(shape=input_shape), name="x").name
    for i, (op, weights) in enumerate(layers):
        prev = g.add(op, [prev], name=f"n{i}", weights=weights).name
    g.outputs = [prev]
    return g


@pytest.mark.parametrize("q,o", MODES)
def test_dense_narrow(emu, q, o):
    rng = np.random.default_rng(1)
    g = chain((6,), (ops.Dense(), {"kernel": rng.normal(0, 1, (6, 4)), "bias": rng.normal(0, 1, 4)}))
    r = emu.F(f"ap_fixed<7,2,{q},{o}>")
    emu.type_graph(g, r, weight=emu.F("ap_fixed<6,2,AP_RND,AP_SAT>"),
                   overrides={"x": {"post": {"result": emu.F(f"ap_fixed<8,3,{q},{o}>")}}})
    g.nodes["n0"].weights["kernel"][0, 1] = 0.0  # a pruned weight
    res, ref = check(emu, g, rng.normal(0, 2, (30, 6)))
    assert res.overflows["n0"] > 0 and res.overflows["x"] > 0  # narrow types really overflow


@pytest.mark.parametrize("q,o", MODES[:4])
def test_conv_pad_stride_dilation(emu, q, o):
    rng = np.random.default_rng(2)
    conv = ops.Conv(ndim=2, kernel_size=(2, 3), strides=(2, 1), dilations=(1, 2), pads=((1, 0), (2, 1)))
    g = chain((5, 6, 2), (conv, {"kernel": rng.normal(0, 1, (2, 3, 2, 3)), "bias": rng.normal(0, 1, 3)}))
    emu.type_graph(g, emu.F(f"ap_fixed<8,3,{q},{o}>"), weight=emu.F("ap_fixed<5,2,AP_RND>"))
    check(emu, g, rng.normal(0, 2, (3, 5, 6, 2)))


def test_conv1d_and_scaleshift(emu):
    rng = np.random.default_rng(3)
    conv = ops.Conv(ndim=1, kernel_size=(3,), strides=(1,), dilations=(1,), pads=((1, 1),))
    g = chain((7, 2), (conv, {"kernel": rng.normal(0, 1, (3, 2, 4)), "bias": rng.normal(0, 1, 4)}),
              (ops.ScaleShift(), {"scale": rng.normal(0, 2, 4), "shift": rng.normal(0, 1, 4)}))
    emu.type_graph(g, emu.F("ap_fixed<9,4,AP_RND,AP_SAT>"), weight=emu.F("ap_fixed<6,3,AP_RND_CONV>"),
                   overrides={"n1": {"post": {"accum": emu.F("ap_fixed<10,5,AP_RND,AP_WRAP>")}}})
    check(emu, g, rng.normal(0, 2, (4, 7, 2)))


@pytest.mark.parametrize("mode,include", [("max", False), ("avg", False), ("avg", True)])
def test_pool(emu, mode, include):
    rng = np.random.default_rng(4)
    pool = ops.Pool(mode=mode, ndim=2, pool_size=(3, 2), strides=(2, 2), pads=((1, 1), (0, 1)),
                    count_include_pad=include)
    g = chain((5, 5, 2), (pool, {}))
    emu.type_graph(g, emu.F("ap_fixed<8,3,AP_RND,AP_SAT>"),
                   overrides={"n0": {"post": {"recip": emu.F("ap_ufixed<6,0,AP_RND>"),
                                              "result": emu.F("ap_fixed<7,2,AP_RND_CONV,AP_SAT>")}}})
    check(emu, g, rng.normal(0, 2, (3, 5, 5, 2)))


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_global_pool(emu, mode):
    rng = np.random.default_rng(5)
    g = chain((3, 3, 4), (ops.GlobalPool(mode=mode), {}))
    emu.type_graph(g, emu.F("ap_fixed<8,3,AP_TRN,AP_SAT>"),
                   overrides={"n0": {"post": {"recip": emu.F("ap_ufixed<8,0,AP_RND>")}}})
    check(emu, g, rng.normal(0, 2, (4, 3, 3, 4)))


ACTS = [ops.Activation(function="relu"), ops.Activation(function="linear"),
        ops.Activation(function="clip", low=-1.3, high=2.6), ops.Activation(function="clip", low=0.0),
        ops.Activation(function="leaky_relu", alpha=0.1), ops.Activation(function="hard_sigmoid",
                                                                          alpha=0.2, beta=0.5),
        ops.Activation(function="sigmoid"), ops.Activation(function="tanh"),
        ops.Activation(function="elu", alpha=1.0), ops.Activation(function="elu", alpha=2.5)]


@pytest.mark.parametrize("act", ACTS, ids=lambda a: f"{a.function}-{a.alpha}-{a.low}")
@pytest.mark.parametrize("q,o", [("AP_RND", "AP_SAT"), ("AP_TRN", "AP_WRAP")])
def test_activations(emu, act, q, o):
    rng = np.random.default_rng(6)
    g = chain((12,), (act, {}))
    emu.type_graph(g, emu.F(f"ap_fixed<10,4,{q},{o}>"), table_size=64, table_width=10,
                   overrides={"n0": {"post": {"result": emu.F(f"ap_fixed<7,2,{q},{o}>")}}})
    check(emu, g, rng.normal(0, 3, (20, 12)))


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax(emu, axis):
    rng = np.random.default_rng(7)
    g = chain((3, 5), (ops.Softmax(axis=axis), {}))
    emu.type_graph(g, emu.F("ap_fixed<10,4,AP_RND,AP_SAT>"), table_size=256, table_width=12,
                   overrides={"n0": {"post": {"result": emu.F("ap_ufixed<8,0,AP_RND,AP_SAT>")}}})
    check(emu, g, rng.normal(0, 3, (10, 3, 5)))


@pytest.mark.parametrize("operation", ["add", "sub", "mul"])
def test_elementwise_concat_wiring(emu, operation):
    rng = np.random.default_rng(8)
    g = Graph("t")
    x = g.add(ops.Input(shape=(2, 3)), name="x").name
    a = g.add(ops.Activation(function="relu"), [x], name="a").name
    t = g.add(ops.Transpose(perm=(1, 0)), [x], name="t").name
    tr = g.add(ops.Reshape(shape=(2, 3)), [t], name="r").name
    e = g.add(ops.Elementwise(operation=operation), [a, tr], name="e").name
    c = g.add(ops.Concat(axis=0), [e, x], name="c").name
    g.outputs = [c]
    emu.type_graph(g, emu.F("ap_fixed<8,3,AP_RND,AP_SAT>"),
                   overrides={"a": {"post": {"result": emu.F("ap_ufixed<6,2,AP_TRN,AP_SAT>")}},
                              "e": {"post": {"result": emu.F("ap_fixed<7,3,AP_RND_CONV,AP_WRAP>")}},
                              "c": {"post": {"result": emu.F("ap_fixed<6,2,AP_RND,AP_SAT_SYM>")}}})
    check(emu, g, rng.normal(0, 3, (10, 2, 3)))


def test_wide_types_object_path(emu):
    """Types beyond 63 bits take the Python-int path and still match the reference exactly."""
    rng = np.random.default_rng(9)
    g = chain((5,), (ops.Dense(), {"kernel": rng.normal(0, 1, (5, 3)), "bias": rng.normal(0, 1, 3)}),
              (ops.Activation(function="relu"), {}))
    emu.type_graph(g, emu.F("ap_fixed<66,10,AP_RND,AP_SAT>"), weight=emu.F("ap_fixed<20,4,AP_RND>"))
    assert g.nodes["n0"].precision["accum"].width > 64
    check(emu, g, rng.normal(0, 2, (6, 5)))


def test_int64_matmul_path(emu):
    """Accumulators between 52 and 62 bits use int64 products."""
    rng = np.random.default_rng(10)
    g = chain((4,), (ops.Dense(), {"kernel": rng.normal(0, 1, (4, 3)), "bias": rng.normal(0, 1, 3)}))
    emu.type_graph(g, emu.F("ap_fixed<30,6,AP_RND,AP_SAT>"), weight=emu.F("ap_fixed<28,4,AP_RND>"))
    check(emu, g, rng.normal(0, 2, (6, 4)))
    assert Fraction(1)  # the reference ran on Fractions
