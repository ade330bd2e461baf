"""Report rows of the newer activations, counted by hand: a PReLU slope that is 0 costs nothing, +-1 and
powers of two cost no multiplier, and each other slope one product per position."""
from __future__ import annotations

import numpy as np

from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes
from nn2hls.report import build_report


def _rows(function: str, weights=None, **attrs):
    g = Graph("r")
    x = g.add(ops.Input(shape=(3, 4)), name="x")
    a = g.add(ops.Activation(function=function, **attrs), [x.name], name="act", weights=weights or {})
    g.outputs = [a.name]
    typed = run_passes(g, Config(), np.random.default_rng(0).normal(size=(50, 3, 4)))
    report = build_report(typed, Config())
    return {row["name"]: row for row in report["layers"]}["act"]


def test_prelu_zero_and_trivial_slopes_cost_nothing():
    # per channel: 0.3 (general), 0 (pruned), -1 (sign), 0.25 (power of two); 3 positions each
    row = _rows("prelu", {"alpha": np.array([0.3, 0.0, -1.0, 0.25])})
    assert (row["weights"], row["nonzero_weights"]) == (4, 3)
    assert row["mult_general"] == 3 and row["pruned_multiplies"] == 3
    assert row["mult_pm_one"] == 3 and row["mult_pow2"] == 3
    assert row["multiplies"] == 9


def test_residual_table_activation_is_a_table_read_and_an_adder():
    row = _rows("gelu")
    assert row["multiplies"] == 0 and row["adders"] == 12 and row["latency_cycles"] > 1


def test_hard_swish_counts_the_gate_product():
    row = _rows("hard_swish", alpha=1 / 6, beta=0.5)
    assert row["mult_general"] == 12 + 12  # x * alpha and x * gate, per element
