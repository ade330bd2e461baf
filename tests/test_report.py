"""Resource report: hand-counted products/adders/DSPs/latency on small typed graphs, padding-aware conv
counts against a brute-force loop, and the report of a real pruned example model."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nn2hls import report_rules as rules
from nn2hls.config import Config
from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import Activation, Conv, Dense, Input
from nn2hls.ir.types import FixedType
from nn2hls.report import build_report, format_report

T = FixedType.parse
EXAMPLES = Path(__file__).resolve().parents[1] / "example_models"


def _dense_graph() -> Graph:
    g = Graph("tiny")
    x = g.add(Input(shape=(4,)), name="x")
    x.precision = {"result": T("ap_fixed<16,6>")}
    kernel = np.array([[0.5, -1.0, 0.609375],
                       [0.75, 0.0, -0.890625],
                       [0.0, 0.0, 0.0],
                       [1.0, 0.0, 0.0]])
    d = g.add(Dense(), ["x"], name="fc", weights={"kernel": kernel, "bias": np.array([0.25, 0.0, 0.5])})
    d.precision = {"weight": T("ap_fixed<8,2>"), "bias": T("ap_fixed<8,2>"), "accum": T("ap_fixed<24,8>"),
                   "result": T("ap_fixed<16,6>")}
    r = g.add(Activation(function="relu"), ["fc"], name="act")
    r.precision = {"result": T("ap_ufixed<16,6>")}
    g.outputs = ["act"]
    return g


def test_dense_counts_by_hand():
    rep = build_report(_dense_graph(), Config())
    fc, act = rep["layers"]
    assert (fc["name"], fc["op"], fc["input_shapes"], fc["output_shape"]) == ("fc", "Dense", [[4]], [3])
    assert (fc["weights"], fc["nonzero_weights"]) == (12, 6)
    assert fc["sparsity"] == pytest.approx(0.5)
    # 0.75, 0.609375, -0.890625 general; +1, -1 pm_one; 0.5 power of two
    assert (fc["mult_general"], fc["mult_pm_one"], fc["mult_pow2"]) == (3, 2, 1)
    assert fc["multiplies"] == 6 and fc["pruned_multiplies"] == 6
    # 0.75 = 48/64 -> odd part 3 -> 3 signed bits <= 4: LUTs; 39/64 and -57/64 need 7 bits: one DSP each
    assert fc["lut_multiplies"] == 1 and fc["dsp"] == 2
    # terms per output: 3 products + bias, 1 product, 2 products + bias -> 3 + 0 + 2 adders
    assert fc["adders"] == 5
    # DSP stage 3 cycles + a depth-2 tree (2 ns < 5 ns: 1 cycle) + output register
    assert fc["latency_cycles"] == rules.DSP_LATENCY + 1 + 1
    assert (fc["weight_type"], fc["accum_type"], fc["result_type"]) == (
        "ap_fixed<8,2>", "ap_fixed<24,8>", "ap_fixed<16,6>")
    assert act["latency_cycles"] == 1 and act["multiplies"] == 0
    totals = rep["totals"]
    assert totals["latency_cycles"] == fc["latency_cycles"] + 1  # critical path fc -> act
    for key in ("weights", "nonzero_weights", "multiplies", "dsp", "adders"):
        assert totals[key] == fc[key] + act[key]
    json.dumps(rep)  # plain JSON types only


def test_faster_clock_needs_more_adder_cycles():
    slow = build_report(_dense_graph(), Config(clock_period_ns=5.0))["layers"][0]["latency_cycles"]
    fast = build_report(_dense_graph(), Config(clock_period_ns=1.0))["layers"][0]["latency_cycles"]
    assert fast == slow + 1  # depth 2 at 1 ns per level: 2 cycles instead of 1


def test_rules_dsp_tiling_and_thresholds():
    assert rules.dsp_per_product(4, 16) == 0 and rules.dsp_per_product(16, 4) == 0
    assert rules.dsp_per_product(5, 5) == 1
    assert rules.dsp_per_product(27, 18) == 1 and rules.dsp_per_product(18, 27) == 1
    assert rules.dsp_per_product(28, 18) == 2 and rules.dsp_per_product(32, 32) == 4
    assert list(rules.weight_kinds(np.array([0, 1, -1, 2, -0.25, 0.3]))) == [0, 2, 2, 3, 3, 1]
    bits = rules.significant_bits(np.array([0.0, 1.984375, 0.015625, -0.75]), T("ap_fixed<8,2>"))
    assert list(bits) == [0, 8, 2, 3]


def _brute_force_conv(kernel, in_hw, pads, strides):
    kh, kw, cin, cout = kernel.shape
    out_h = (in_hw[0] + pads[0][0] + pads[0][1] - kh) // strides[0] + 1
    out_w = (in_hw[1] + pads[1][0] + pads[1][1] - kw) // strides[1] + 1
    kept = removed = 0
    for oy in range(out_h):
        for ox in range(out_w):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * strides[0] - pads[0][0] + ky, ox * strides[1] - pads[1][0] + kx
                    if 0 <= iy < in_hw[0] and 0 <= ix < in_hw[1]:
                        nz = int(np.count_nonzero(kernel[ky, kx]))
                        kept += nz
                        removed += cin * cout - nz
    return kept, removed, out_h * out_w


@pytest.mark.parametrize("reuse", [1, 3])
def test_conv_counts_exclude_padding(reuse):
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 2, 4))
    kernel[rng.random(kernel.shape) < 0.5] = 0.0
    pads, strides = ((1, 1), (1, 0)), (1, 2)
    g = Graph("conv")
    x = g.add(Input(shape=(5, 6, 2)), name="x")
    x.precision = {"result": T("ap_fixed<12,4>")}
    c = g.add(Conv(ndim=2, kernel_size=(3, 3), strides=strides, dilations=(1, 1), pads=pads), ["x"], name="c",
              weights={"kernel": kernel, "bias": np.ones(4)})
    c.precision = {"weight": T("ap_fixed<10,3>"), "result": T("ap_fixed<16,6>")}
    g.outputs = ["c"]
    row = build_report(g, Config(reuse_factor=reuse))["layers"][0]
    kept, removed, positions = _brute_force_conv(kernel, (5, 6), pads, strides)
    assert row["multiplies"] == kept and row["pruned_multiplies"] == removed
    nnz = int(np.count_nonzero(kernel))
    bits = rules.significant_bits(kernel, T("ap_fixed<10,3>"))
    per_weight = np.vectorize(lambda b: rules.dsp_per_product(int(b), 12))(bits) * (kernel != 0)
    per_position_adders = int(sum(max(int(np.count_nonzero(kernel[..., o])) + 1 - 1, 0) for o in range(4)))
    assert row["nonzero_weights"] == nnz
    if reuse == 1:
        # RF 1 everywhere: pipelined top, every output position its own datapath (backends/vivado/
        # schedule.py); the taps that read the zero padding build nothing
        unrolled = 0
        for oy in range(5):  # output 5 x 3: (5 + 2 - 3) / 1 + 1, (6 + 1 - 3) // 2 + 1
            for ox in range(3):
                for ky in range(3):
                    for kx in range(3):
                        iy, ix = oy * strides[0] - pads[0][0] + ky, ox * strides[1] - pads[1][0] + kx
                        if 0 <= iy < 5 and 0 <= ix < 6:
                            unrolled += int(per_weight[ky, kx].sum())
        assert positions == 15
        assert row["dsp"] == unrolled
        assert row["adders"] == per_position_adders * positions
        assert row["latency_cycles"] >= 2
    else:
        assert row["dsp"] == math.ceil(int(per_weight.sum()) / reuse)
        assert row["adders"] == per_position_adders
        one_position = row["latency_cycles"] - (positions - 1) * reuse
        assert one_position >= 2


def test_pruned_example_model_report():
    from nn2hls.pipeline import compile

    x = np.load(EXAMPLES / "jet_mlp_input.npy")[:200]
    rep = compile(EXAMPLES / "jet_mlp_pruned.onnx", calibration=x).report()
    dense = [r for r in rep["layers"] if r["op"] == "Dense"]
    assert [r["weights"] for r in dense] == [16 * 64, 64 * 32, 32 * 32, 32 * 5]
    assert rep["totals"]["sparsity"] >= 0.7
    for r in dense:
        assert r["pruned_multiplies"] == r["weights"] - r["nonzero_weights"]
        assert r["multiplies"] == r["mult_general"] + r["mult_pm_one"] + r["mult_pow2"] == r["nonzero_weights"]
    text = format_report(rep)
    table = text.split("\n\n")[1].splitlines()
    assert table[0].startswith("layer") and table[-1].startswith("total")
    assert len({len(line) for line in table[:2]}) == 1  # header and rule have the same width
    assert f"removed by zero weights: {rep['totals']['pruned_multiplies']}" in text
