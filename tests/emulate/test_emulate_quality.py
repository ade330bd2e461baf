"""Emulator vs the float executor, overflow counts, and the quality of the default lookup tables."""
from __future__ import annotations

from fractions import Fraction
import math

import numpy as np
import pytest

from nn2hls.emulate import emulate
from nn2hls.ir import fixed, ops, tables
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType

execute_mod = pytest.importorskip("nn2hls.ir.execute")


def _cnn(rng) -> Graph:
    g = Graph("cnn")
    x = g.add(ops.Input(shape=(8, 8, 1)), name="x").name
    c = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(1, 1), dilations=(1, 1), pads=((1, 1), (1, 1))),
              [x], name="conv", weights={"kernel": rng.normal(0, .5, (3, 3, 1, 8)), "bias": rng.normal(0, .1, 8)})
    r = g.add(ops.Activation(function="leaky_relu", alpha=0.125), [c.name], name="act").name
    p = g.add(ops.Pool(mode="avg", pool_size=(2, 2), strides=(2, 2)), [r], name="pool").name
    m = g.add(ops.Pool(mode="max", pool_size=(2, 2), strides=(1, 1), pads=((0, 1), (0, 1))), [p], name="mp").name
    s = g.add(ops.ScaleShift(), [m], name="ss", weights={"scale": rng.normal(1, .2, 8), "shift": rng.normal(0, .1, 8)}).name
    f = g.add(ops.Reshape(shape=(128,)), [s], name="flat").name
    d = g.add(ops.Dense(), [f], name="fc", weights={"kernel": rng.normal(0, .2, (128, 10)), "bias": rng.normal(0, .1, 10)}).name
    g.outputs = [d]
    return g


def test_wide_types_match_float_executor(emu):
    rng = np.random.default_rng(0)
    g = _cnn(rng)
    wide = FixedType.fixed(32, 10, rounding="AP_RND", overflow="AP_SAT")
    emu.type_graph(g, wide, weight=FixedType.fixed(32, 4, rounding="AP_RND"),
                   overrides={"pool": {"post": {"recip": FixedType.fixed(32, 1, False, "AP_RND")}},
                              "act": {"post": {"param": FixedType.fixed(32, 4, rounding="AP_RND")}}})
    x = rng.normal(0, 1, (500, 8, 8, 1))
    res = emulate(g, x, return_all=True)
    ref = execute_mod.execute(g, x, return_all=True)
    for name, (raw, t) in res.raw.items():
        np.testing.assert_allclose(fixed.to_float(raw, t), ref[name], atol=1e-4, err_msg=name)
    np.testing.assert_allclose(res.outputs[0], ref["fc"], atol=1e-4)
    assert res.total_overflows == 0


def test_overflow_counts_exact(emu):
    """A Dense into ap_fixed<6,2,AP_TRN,AP_SAT> (range [-2, 1.9375]): count values outside by hand."""
    rng = np.random.default_rng(1)
    k = np.round(rng.normal(0, 1, (4, 3)) * 4) / 4
    g = Graph("t")
    x = g.add(ops.Input(shape=(4,)), name="x").name
    d = g.add(ops.Dense(), [x], name="d", weights={"kernel": k}).name
    g.outputs = [d]
    emu.type_graph(g, FixedType.fixed(6, 2, rounding="AP_TRN", overflow="AP_SAT"),
                   weight=FixedType.fixed(8, 3),
                   overrides={"x": {"post": {"result": FixedType.fixed(12, 4)}}})
    xs = np.round(rng.normal(0, 1.5, (200, 4)) * 16) / 16  # exact in ap_fixed<12,4>
    res = emulate(g, xs)
    exact = xs @ k  # exact in float (few bits); truncation to 1/16 then saturation
    floored = np.floor(exact * 16) / 16
    expected = int(np.count_nonzero((floored > 1.9375) | (floored < -2)))
    assert expected > 20
    assert res.overflows == {"x": 0, "d": expected}
    np.testing.assert_array_equal(res.outputs[0], np.clip(floored, -2, 1.9375))
    wrap = FixedType.fixed(6, 2)  # AP_WRAP: counted too, values wrap modulo 4
    g.nodes["d"].precision["result"] = wrap
    res = emulate(g, xs)
    assert res.overflows["d"] == expected
    np.testing.assert_array_equal(res.outputs[0], np.mod(floored + 2, 4) - 2)
    assert emulate(g, xs, count_overflows=False).overflows == {}


def _softmax_graph(n: int, tx: FixedType, data_range=None) -> Graph:
    g = Graph("sm")
    x = g.add(ops.Input(shape=(n,)), name="x").name
    s = g.add(ops.Softmax(), [x], name="s")
    g.outputs = [s.name]
    g.nodes["x"].precision = {"result": tx}
    types = tables.default_table_types("softmax", 18, axis_length=n)
    s.precision = dict(types, result=FixedType.fixed(16, 0, False, "AP_RND", "AP_SAT"))
    e, i = tables.softmax_specs(tx, n, 1024, data_range, sum_frac=types["sum"].frac)
    s.tables = {"exp": e, "inv": i}
    return g


@pytest.mark.parametrize("n", [5, 10])
def test_softmax_quality(n):
    rng = np.random.default_rng(n)
    tx = FixedType.fixed(16, 6, rounding="AP_RND", overflow="AP_SAT")
    scale = rng.uniform(1, 8, (10000, 1))
    logits = rng.normal(0, 1, (10000, n)) * scale
    g = _softmax_graph(n, tx)
    y = emulate(g, logits).outputs[0]
    xq = fixed.to_float(fixed.quantize(logits, tx), tx)
    top2 = np.sort(xq, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > tx.lsb
    agree = np.argmax(y, axis=1) == np.argmax(xq, axis=1)
    assert agree[clear].mean() >= 0.999
    assert np.abs(y.sum(axis=1) - 1).max() <= 0.02
    ref = np.exp(xq - xq.max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    assert np.abs(y - ref).max() < 0.02


def test_softmax_table_properties():
    tx = FixedType.fixed(16, 6)
    e, i = tables.softmax_specs(tx, 10, 1024, data_range=5.0)
    ev = tables.table_values(e)
    assert ev[tables.index(np.array([0]), tx.frac, e)[0]] == 1.0  # exp(0) == 1 exactly
    assert np.all(np.diff(ev) > 0)
    assert e.size * e.step >= 5.0 and e.size <= 1024
    assert tables.index(np.array([1 << 17]), 17, i)[0] == 0  # s = 1 -> first bucket
    iv = tables.table_values(i)
    lo = 1 + np.arange(i.size) * i.step
    reach = lo <= 10  # sums lie in [1, n]
    inner = reach & (lo > 1) & (lo < 10)
    # inside the range the reciprocal entry lies strictly inside [1/hi, 1/lo] of its bucket: no edge bias
    assert np.all((iv[inner] < 1 / lo[inner]) & (iv[inner] > 1 / (lo[inner] + i.step)))
    # the edges are exact: s = 1 (one class, saturated logits) and s = n = 10 (equal inputs)
    assert iv[0] == 1.0 and iv[tables.index(np.array([10 << 17]), 17, i)[0]] == 0.1


@pytest.mark.parametrize("fn", ["sigmoid", "tanh"])
def test_sigmoid_tanh_error_bound(fn):
    tx = FixedType.fixed(16, 6, rounding="AP_RND", overflow="AP_SAT")
    spec = (tables.sigmoid_spec if fn == "sigmoid" else tables.tanh_spec)(tx, 1024)
    tt = tables.default_table_types(fn, 18)["table"]
    tr = FixedType.fixed(16, 2, rounding="AP_RND", overflow="AP_SAT")
    g = Graph(fn)
    x = g.add(ops.Input(shape=(1,)), name="x").name
    a = g.add(ops.Activation(function=fn), [x], name="a")
    g.outputs = [a.name]
    g.nodes["x"].precision = {"result": tx}
    a.precision = {"table": tt, "result": tr}
    a.tables = {"table": spec}
    v = np.arange(tx.min_raw, tx.max_raw + 1, 7)[:, None] * tx.lsb  # sweep the whole input range
    y = emulate(g, v).outputs[0][:, 0]
    f = 0.5 * (1 + np.tanh(v[:, 0] / 2)) if fn == "sigmoid" else np.tanh(v[:, 0])
    slope, limit = (0.25, tables.SIGMOID_RANGE) if fn == "sigmoid" else (1.0, tables.TANH_RANGE)
    tail = (0.5 * (1 + math.tanh(-limit / 2 + spec.step))) if fn == "sigmoid" else 1 - math.tanh(limit - spec.step)
    bound = max(slope * spec.step / 2, tail) + tt.lsb + tr.lsb / 2
    err = np.abs(y - f).max()
    assert err <= bound, (err, bound)
    assert bound < 0.01


def test_table_index_matches_fraction_definition():
    rng = np.random.default_rng(3)
    for spec, frac in [(tables.TableSpec("sigmoid", 64, 3, -32), 5), (tables.TableSpec("exp", 32, 7, -31), 4),
                       (tables.TableSpec("inv", 16, 2, 4), 9)]:
        raw = rng.integers(-2000, 2000, 300)
        want = [min(max(math.floor(Fraction(int(r), 2 ** frac) * 2 ** spec.shift) - spec.offset, 0),
                    spec.size - 1) for r in raw]
        for arr in (raw, raw.astype(np.float64), raw.astype(object)):
            np.testing.assert_array_equal(tables.index(arr, frac, spec), want)


def test_table_spec_validation_and_entry_types():
    with pytest.raises(Exception, match="power of two"):
        tables.TableSpec("sigmoid", 100, 0, 0)
    t = tables.default_table_types("sigmoid", 18)["table"]
    assert t.max_value < 1 <= t.max_value + 2 * t.lsb and not t.signed
    sm = tables.default_table_types("softmax", 18, axis_length=10)
    assert sm["exp"].max_value >= 1 and sm["sum"].max_value >= 10 and sm["sum"].frac == sm["exp"].frac
    assert tables.default_table_types("elu", 16, alpha=2.5)["table"].min_value <= -2.5
