"""QKeras and HGQ models read without TensorFlow: emulator == the framework's own outputs, C-sim == emulator.

References:
- tests/fixtures/qkeras/<name>_expected.npy: QKeras 0.9.0 / HGQ 0.2.6 predict() on <name>_x.npy, written
  by tests/fixtures/make_qkeras_fixtures.py in a separate TensorFlow environment (its docstring says how
  to regenerate them); every fixture output is a quantizer's output, so equality is exact.
- quantizer values written down by hand from QKeras's documented formulas (below).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.keras import load_keras
from nn2hls.frontends.qkeras_quantizers import parse_quantizer, quantize_weights
from nn2hls.ir import ops
from nn2hls.passes.pipeline import run_passes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qkeras"
MODELS = ("qkeras_dense", "qkeras_conv2d", "qkeras_conv1d_auto", "qkeras_tanh_sigmoid", "qkeras_batchnorm",
          "qkeras_avgpool", "hgq_dense")
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")


def _fixture(name: str):
    return (np.load(FIXTURES / f"{name}_x.npy").astype(np.float64),
            np.load(FIXTURES / f"{name}_expected.npy").astype(np.float64))


def _typed(source: Path, x: np.ndarray):
    return run_passes(load_keras(source), Config(), x)


@pytest.mark.parametrize("suffix", [".json", ".h5"])
@pytest.mark.parametrize("name", MODELS)
def test_emulator_equals_framework_outputs(name, suffix):
    x, expected = _fixture(name)
    typed = _typed(FIXTURES / f"{name}{suffix}", x)
    got = emulate(typed, x).outputs[0].reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
    assert np.unique(expected).size > 10  # the outputs are not trivially constant


def _rows(name: str) -> dict:
    from nn2hls.report import build_report
    x, _ = _fixture(name)
    typed = _typed(FIXTURES / f"{name}.json", x)
    return {r["name"]: r for r in build_report(typed, Config())["layers"]}


@pytest.mark.parametrize("name,layers", [("qkeras_dense", ("fc3", "out")),
                                         ("qkeras_conv2d", ("conv1", "out")),
                                         ("qkeras_conv1d_auto", ("conv1",))])
def test_po2_ternary_binary_weights_cost_no_general_multiplier(name, layers):
    """ternary (auto_po2), binary(alpha=1), quantized_po2 and quantized_relu_po2 kernels."""
    rows = _rows(name)
    for layer in layers:
        assert rows[layer]["multiplies"] > 0, rows[layer]
        assert rows[layer]["mult_general"] == 0, rows[layer]


def test_hgq_per_channel_quantizer_is_grouped_and_zero_bits_cost_nothing():
    graph = load_keras(FIXTURES / "hgq_dense.json")
    config = json.loads((FIXTURES / "hgq_dense.json").read_text())
    names = [layer["config"]["name"] for layer in config["config"]["layers"]]
    quantizers = [n for n in names if n.endswith("quantizer") or n == "inp_q"]
    casts = [n for n in graph.nodes.values() if isinstance(n.op, ops.Quant)]
    assert len(casts) > len(quantizers)  # per-channel types became several casts
    assert any(n.name.endswith("_place") for n in graph.nodes.values())
    dense = graph.nodes["dense_1"]
    assert dense.meta["forced_precision"]["weight"].width <= 12  # HGQ's weight grid, exact


@pytest.mark.csim
@pytest.mark.parametrize("name", MODELS)
def test_csim_bit_exact(name, tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    x, expected = _fixture(name)
    typed = _typed(FIXTURES / f"{name}.json", x)
    sim = build(write_project(typed, Config(), tmp_path / name))
    got = sim.predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(np.asarray(got).reshape(expected.shape), expected)


@pytest.mark.csim
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
@pytest.mark.parametrize("name", ["qkeras_conv2d", "hgq_dense"])
def test_csim_vendor_headers_bit_exact(name, tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    x, expected = _fixture(name)
    typed = _typed(FIXTURES / f"{name}.json", x)
    sim = build(write_project(typed, Config(), tmp_path / name), ap_types=VENDOR)
    got = sim.predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(np.asarray(got).reshape(expected.shape), expected)


# ---- quantizer values by hand ------------------------------------------------------------------------
def _q(text: str, values) -> np.ndarray:
    return quantize_weights(parse_quantizer(text, "test"), np.asarray(values, dtype=np.float32), "test")


def test_quantized_bits_by_hand():
    # bits 4, integer 0, keep_negative: step 2^-3, integers -8..7, round half to even
    assert _q("quantized_bits(4,0)", [0.0625, 0.1875, -0.3, 0.95, -2.0]).tolist() == \
        [0.0, 0.25, -0.25, 0.875, -1.0]
    # symmetric: -7..7
    assert _q("quantized_bits(4,0,1)", [-2.0, 2.0]).tolist() == [-0.875, 0.875]
    # keep_negative False: 0..15 steps of 2^-4 (integer 0)
    assert _q("quantized_bits(4,0,keep_negative=False)", [-0.5, 0.5, 3.0]).tolist() == [0.0, 0.5, 0.9375]
    # integer 2: step 2^(2-3) = 0.5, range -4..3.5
    assert _q("quantized_bits(4,2)", [1.25, 1.75, 9.0]).tolist() == [1.0, 2.0, 3.5]
    # numeric alpha multiplies the quantized value
    assert _q("quantized_bits(4,0,alpha=0.5)", [0.3]).tolist() == [0.125]


def test_auto_po2_alpha_by_hand():
    # one channel [0.3, -0.7]: bits 4 symmetric, levels 14, s = 2 * 0.7 / 14 = 0.1 -> 2^round(log2 0.1) = 2^-3;
    # z = [2, -6] (floor(|x|/s + .5)); least squares mean(xz)/mean(zz) = (0.6 + 4.2)/40 = 0.12 -> 2^-3 again
    np.testing.assert_array_equal(_q("quantized_bits(4,0,1,alpha='auto_po2')", [[0.3], [-0.7]]),
                                  [[0.25], [-0.75]])


def test_relu_binary_ternary_po2_by_hand():
    # quantized_relu(4,2): step 2^(2-4) = 0.25, 0..15 steps
    assert _q("quantized_relu(4,2)", [-1.0, 0.375, 0.6, 9.0]).tolist() == [0.0, 0.5, 0.5, 3.75]
    # negative_slope 0.25: 3 non-sign bits, step 0.5; x < 0: 0.5 * clip(round(0.25 x / 0.5), -2, 0)
    assert _q("quantized_relu(4,2,negative_slope=0.25)", [-2.0, -100.0, 5.0]).tolist() == [-0.5, -1.0, 3.5]
    assert _q("binary(alpha=1)", [-0.2, 0.0, 3.0]).tolist() == [-1.0, 1.0, 1.0]
    assert _q("binary(use_01=True, alpha=1)", [-0.2, 0.3]).tolist() == [0.0, 1.0]
    assert _q("ternary(alpha=1)", [-0.5, 0.2, 0.33, 2.0]).tolist() == [-1.0, 0.0, 1.0, 1.0]
    # quantized_po2(4): exponents -4..3 (3 non-sign bits, exponent sign bit); 0 -> 2^-4
    assert _q("quantized_po2(4)", [0.3, -5.0, 100.0, 0.0]).tolist() == [0.25, -4.0, 8.0, 0.0625]
    # quantized_relu_po2(4): no sign bit, exponents -8..7
    # quadratic_approximation: even exponents 2 * clip(round(log2 sqrt x), -8, 2 * (7 // 2) = 6), so the
    # largest value is 2^12
    assert _q("quantized_relu_po2(4, quadratic_approximation=True)", [0.3, 20.0, 1000.0, 1e6]).tolist() == \
        [0.25, 16.0, 1024.0, 4096.0]
    assert _q("quantized_relu_po2(4)", [0.3, -1.0, 500.0]).tolist() == [0.25, 2.0 ** -8, 128.0]


def test_unsupported_activation_quantizer_is_one_line(tmp_path):
    config = json.loads((FIXTURES / "qkeras_dense.json").read_text())
    for layer in config["config"]["layers"]:
        if layer["config"]["name"] == "relu1":
            layer["config"]["activation"] = "quantized_po2(4)"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    with pytest.raises(UnsupportedOpError, match=r"layer 'relu1' \(QActivation\): activation quantizer quantized_po2"):
        load_keras(path, FIXTURES / "qkeras_dense_weights.h5")


def test_hgq_wrap_sm_is_refused(tmp_path):
    config = json.loads((FIXTURES / "hgq_dense.json").read_text())
    for layer in config["config"]["layers"]:
        if layer["class_name"].endswith("FixedPointQuantizer"):
            layer["config"]["SAT"] = "WRAP_SM"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    with pytest.raises(UnsupportedOpError, match="SAT=WRAP_SM is not supported"):
        load_keras(path, FIXTURES / "hgq_dense_weights.h5")
