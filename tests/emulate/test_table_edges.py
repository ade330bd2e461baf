"""Table-based ops at the edges of their range (property tests over types, sizes and axis lengths).

Softmax: one element gives exactly cast(1, result); n equal inputs give cast(inv(n), result) with
inv(n) = 1/n rounded to the inv type (written down from the definition); one logit saturated far
above the others gives exactly cast(1, result) there and 0 elsewhere. The one-class case used to give
0.6667 (the reciprocal table sampled at the centre of its first bucket). Element-wise tables: an input
saturated at either end of its type reads the function's limit (within the entry and result LSBs).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from nn2hls.emulate import emulate  # noqa: E402
from nn2hls.ir import fixed, ops, tables  # noqa: E402
from nn2hls.ir.graph import Graph  # noqa: E402
from nn2hls.ir.types import FixedType  # noqa: E402


def _softmax_graph(n: int, tx: FixedType, tr: FixedType, size: int, width: int,
                   data_range: float | None) -> Graph:
    g = Graph("sm")
    x = g.add(ops.Input(shape=(n,)), name="x")
    x.precision = {"result": tx}
    s = g.add(ops.Softmax(axis=-1), [x.name], name="sm")
    types = tables.default_table_types("softmax", width, axis_length=n)
    e, i = tables.softmax_specs(tx, n, size, data_range, sum_frac=types["sum"].frac)
    s.precision = {**types, "result": tr}
    s.tables = {"exp": e, "inv": i}
    g.outputs = [s.name]
    return g


def _q(value: float, t: FixedType) -> float:
    return float(fixed.to_float(fixed.quantize(np.array([value]), t), t)[0])


softmax_cases = st.fixed_dictionaries({
    "n": st.integers(1, 24),
    "x_width": st.integers(10, 24), "x_int": st.integers(6, 9),
    "r_width": st.integers(6, 20), "r_rnd": st.sampled_from(["AP_RND", "AP_TRN"]),
    "size": st.sampled_from([16, 64, 256, 1024, 4096]), "width": st.integers(8, 22),
    "data_range": st.one_of(st.none(), st.floats(0.5, 16.0)),
})


@settings(max_examples=60, deadline=None)
@given(softmax_cases, st.floats(-8.0, 8.0))
def test_softmax_edges_are_exact(c, level):
    n = c["n"]
    tx = FixedType.fixed(c["x_width"], c["x_int"], True, "AP_RND", "AP_SAT")
    tr = FixedType.fixed(c["r_width"], 1, False, c["r_rnd"], "AP_SAT")
    g = _softmax_graph(n, tx, tr, c["size"], c["width"], c["data_range"])
    inv_t = g.nodes["sm"].precision["inv"]
    one = _q(1.0, tr)
    # all equal (n = 1 included): every output is cast(cast(1/n, inv), result)
    x_equal = np.full((1, n), _q(level, tx))
    (y,) = emulate(g, x_equal).outputs
    np.testing.assert_array_equal(y, _q(_q(1.0 / n, inv_t), tr))
    if n == 1:
        assert y[0, 0] == one
        return
    # one saturated logit: the type's maximum against the type's minimum (gap >= 2^(x_int - 1) >= 32)
    x_sat = np.full((n, n), tx.min_value)
    np.fill_diagonal(x_sat, tx.max_value)
    (y,) = emulate(g, x_sat).outputs
    np.testing.assert_array_equal(np.diag(y), one)
    np.testing.assert_array_equal(y[~np.eye(n, dtype=bool)], 0.0)


EDGE_LIMITS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "elu": (-1.0, None), "softsign": (-1.0, 1.0),
               "celu": (-0.5, None), "selu": (-1.0507 * 1.6733, None)}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(EDGE_LIMITS)), st.integers(12, 24), st.integers(6, 10),
       st.sampled_from([64, 256, 1024]))
def test_element_wise_tables_reach_their_limits_when_saturated(function, x_width, x_int, size):
    tx = FixedType.fixed(x_width, x_int, True, "AP_RND", "AP_SAT")
    tr = FixedType.fixed(20, 3, True, "AP_RND", "AP_SAT")
    attrs = {"celu": {"alpha": 0.5}, "selu": {"alpha": 1.6733, "beta": 1.0507}, "elu": {"alpha": 1.0}}
    g = Graph("t")
    x = g.add(ops.Input(shape=(2,)), name="x")
    x.precision = {"result": tx}
    node = g.add(ops.Activation(function=function, **attrs.get(function, {})), [x.name], name="a")
    op = node.op
    if function == "selu":
        types = tables.default_table_types("elu", 18, alpha=op.alpha * op.beta)
        spec = tables.elu_spec(tx, size, op.alpha * op.beta)
        types["param"] = FixedType.fixed(18, 2, True, "AP_RND", "AP_SAT")
    else:
        types = tables.default_table_types(function, 18, alpha=op.alpha or 1.0)
        spec = {"sigmoid": tables.sigmoid_spec, "tanh": tables.tanh_spec, "softsign": tables.softsign_spec,
                "elu": lambda t, s: tables.elu_spec(t, s, op.alpha),
                "celu": lambda t, s: tables.celu_spec(t, s, op.alpha)}[function](tx, size)
    node.precision = {**types, "result": tr}
    node.tables = {"table": spec}
    g.outputs = [node.name]
    (y,) = emulate(g, np.array([[tx.min_value, tx.max_value]])).outputs
    low, high = EDGE_LIMITS[function]
    # the function at the type's own ends (softsign approaches its limit only slowly)
    if function == "softsign":
        low, high = tx.min_value / (1 - tx.min_value), tx.max_value / (1 + tx.max_value)
    slack = types["table"].lsb + tr.lsb + 2 * math.exp(-(2 ** (x_int - 2)))
    if function == "softsign":  # the whole range is tabulated: the edge bucket's own width counts
        slack += spec.step / (1 + abs(tx.min_value)) ** 2
    assert abs(y[0, 0] - low) <= slack
    if high is not None:
        assert abs(y[0, 1] - high) <= slack
