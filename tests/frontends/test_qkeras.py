"""QKeras and HGQ models read without TensorFlow: emulator == the framework's own outputs, C-sim == emulator.

References:
- tests/fixtures/qkeras/<name>_expected.npy (or .npz, several outputs stacked): QKeras 0.9.0 / HGQ 0.2.6
  predict() on <name>_x.npy, written by tests/fixtures/make_qkeras_fixtures.py in a separate TensorFlow
  environment. Regenerate with (from the project root; the script's docstring sets up ../venv-tf):
      ../venv-tf/bin/python tests/fixtures/make_qkeras_fixtures.py [group ...]
  Every fixture output is a quantizer's output, so equality is exact, except where QKeras's own
  straight-through float32 sum `x + (-x + q)` moves q by one ulp (binary(use_01) on activations).
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
QKERAS_MODELS = ("qkeras_dense", "qkeras_conv2d", "qkeras_conv1d_auto", "qkeras_tanh_sigmoid", "qkeras_batchnorm",
                 "qkeras_avgpool")
MODELS = QKERAS_MODELS + ("hgq_dense",)
HGQ2 = [("hgq2_dense", ".h5"), ("hgq2_dense", ".keras"), ("hgq2_modes", ".keras"),
        ("hgq2_conv", ".keras")]  # make_hgq2_fixtures.py
STEP_ACTS = ["quantized_po2(4)", "quantized_po2(5, max_value=2)", "quantized_relu_po2(4)",
             "quantized_relu_po2(5, negative_slope=0.25)", "quantized_relu_po2(4, quadratic_approximation=True)",
             "quantized_po2(4, log2_rounding='floor')", "binary()", "binary(use_01=True)", "binary(alpha=0.5)",
             "ternary()", "ternary(threshold=0.6)", "ternary(alpha=2)", "stochastic_binary()",
             "stochastic_ternary()", "quantized_tanh(4, use_real_tanh=True)",
             "quantized_tanh(5, symmetric=True, use_real_tanh=True)", "quantized_sigmoid(4, use_real_sigmoid=True)",
             "quantized_sigmoid(5, symmetric=True, use_real_sigmoid=True)", "quantized_relu(4, 1, use_sigmoid=1)",
             "quantized_relu(4, 2, use_sigmoid=1, negative_slope=0.5)"]  # act0 ... act19 of qkeras_step_acts
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")


def _fixture(name: str):
    x = np.load(FIXTURES / f"{name}_x.npy").astype(np.float64)
    if (FIXTURES / f"{name}_expected.npz").exists():
        return x, np.load(FIXTURES / f"{name}_expected.npz")["expected"].astype(np.float64)
    return x, np.load(FIXTURES / f"{name}_expected.npy").astype(np.float64)


def _typed(source: Path, x: np.ndarray):
    return run_passes(load_keras(source), Config(), x)


@pytest.mark.parametrize("name,suffix", [(n, s) for n in MODELS for s in (".json", ".h5")]
                         + [(n, ".keras") for n in QKERAS_MODELS + ("qkeras_weights_more",)])
def test_emulator_equals_framework_outputs(name, suffix):
    x, expected = _fixture(name)
    typed = _typed(FIXTURES / f"{name}{suffix}", x)
    got = emulate(typed, x).outputs[0].reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
    assert np.unique(expected).size > 10  # the outputs are not trivially constant


@pytest.mark.parametrize("name,suffix", HGQ2)
def test_hgq2_emulator_equals_framework_outputs(name, suffix):
    """HGQ2 0.2.0 (Keras 3, JAX) QDense / QConv1D / QConv2D / Quantizer models, from the legacy .h5 and the
    .keras archive (hgq2_conv: per-element input types varying across positions)."""
    x, expected = _fixture(name)
    got = emulate(_typed(FIXTURES / f"{name}{suffix}", x), x).outputs[0].reshape(expected.shape)
    np.testing.assert_array_equal(got, expected)
    assert np.unique(expected).size > 50


def test_hgq2_zero_bit_weights_cost_nothing_and_types_are_declared():
    import h5py
    x, _ = _fixture("hgq2_dense")
    graph = load_keras(FIXTURES / "hgq2_dense.h5")
    from nn2hls.report import build_report
    rows = {r["name"]: r for r in build_report(run_passes(graph, Config(), x), Config())["layers"]}
    with h5py.File(FIXTURES / "hgq2_dense.h5", "r") as h5:
        for name in ("d1", "d2", "d3"):
            group = h5["model_weights"][name][f"{name}/{name}_kq"]
            bits = np.round(group[next(iter(group))]["b"][()])
            kernel = graph.nodes[name].weights["kernel"]
            assert (bits == 0).sum() > 0 and np.all(kernel[bits == 0] == 0)  # SAT_SYM with no bits: 0
            assert rows[name]["multiplies"] == np.count_nonzero(kernel)
    # hgq2_modes: in_q is KBI k=1 b=6 i=2 TRN SAT -> ap_fixed<1 + 6, 1 + 2, AP_TRN, AP_SAT>; d2's output
    # quantizer KIF k=1 i=3 f=5 RND SAT_SYM -> ap_fixed<9, 4, AP_RND, AP_SAT_SYM>
    modes = load_keras(FIXTURES / "hgq2_modes.keras")
    assert modes.nodes["in_q"].op.dtype == "ap_fixed<7,3,AP_TRN,AP_SAT>"
    assert modes.nodes["d2_oq"].op.dtype == "ap_fixed<9,4,AP_RND,AP_SAT_SYM>"


@pytest.mark.parametrize("suffix", [".json", ".keras"])
def test_step_activation_quantizers_equal_qkeras(suffix):
    """quantized_po2 / relu_po2 / binary / ternary / stochastic_* / real tanh and sigmoid / relu(use_sigmoid)
    on every multiple of 2^-6 in [-8, 8) and points 2^-8 beside them."""
    x, expected = _fixture("qkeras_step_acts")
    outs = emulate(_typed(FIXTURES / f"qkeras_step_acts{suffix}", x), x).outputs
    assert len(outs) == len(STEP_ACTS) == expected.shape[0]
    for text, got, want in zip(STEP_ACTS, outs, expected):
        got = got.reshape(want.shape)
        assert np.unique(want).size >= 2, text
        if text == "binary(use_01=True)":  # QKeras: tanh(x) + (1 - tanh(x)) in float32, 1 ulp below 1
            assert set(np.unique(got)) <= {0.0, 1.0}
            ulps = np.abs(got - want) / np.spacing(np.abs(want).astype(np.float32))
            assert ulps.max() <= 1.0, text
        else:
            np.testing.assert_array_equal(got, want, err_msg=text)


def test_step_activation_thresholds_by_hand():
    from nn2hls.frontends.qkeras_activations import activation_function, staircase
    # quantized_po2(4): +-2^e, e in -4..3, changing where log2|x| rounds up: |x| = 2^(e + 1/2)
    t, levels = staircase(activation_function(parse_quantizer("quantized_po2(4)", "t")), "t")
    e = np.arange(-4, 3)
    np.testing.assert_allclose(t, np.concatenate([-(2.0 ** (e[::-1] + 0.5)), [0.0], 2.0 ** (e + 0.5)]), rtol=1e-6)
    np.testing.assert_array_equal(levels, np.concatenate([-(2.0 ** np.arange(3, -5, -1)), 2.0 ** np.arange(-4, 4)]))
    # ternary(): sign(x) * (|x| >= 0.33) -> steps at -0.33 (just above it in float32) and 0.33
    t, levels = staircase(activation_function(parse_quantizer("ternary()", "t")), "t")
    assert t.tolist() == [float(np.nextafter(np.float32(-0.33), np.float32(0))), float(np.float32(0.33))]
    assert levels.tolist() == [-1.0, 0.0, 1.0]
    # quantized_sigmoid(2, use_real_sigmoid): round(4 sigmoid(x)) / 4 clipped to [0, 3/4]: steps where
    # sigmoid(x) = 1/8, 3/8, 5/8, i.e. x = log(p / (1 - p))
    t, levels = staircase(activation_function(parse_quantizer("quantized_sigmoid(2, use_real_sigmoid=True)", "t")),
                          "t")
    np.testing.assert_allclose(t, [np.log(1 / 7), np.log(3 / 5), np.log(5 / 3)], rtol=1e-6)
    assert levels.tolist() == [0.0, 0.25, 0.5, 0.75]


def test_step_activations_cost_no_multiplier():
    rows = _rows("qkeras_step_acts")
    acts = [r for name, r in rows.items() if name.startswith("act")]
    assert len(acts) == len(STEP_ACTS)
    for row in acts:
        assert row["multiplies"] == 0 and row["mult_general"] == 0, row


def _rows(name: str) -> dict:
    from nn2hls.report import build_report
    x, _ = _fixture(name)
    path = FIXTURES / f"{name}.json"
    typed = _typed(path if path.exists() else FIXTURES / f"{name}.keras", x)
    return {r["name"]: r for r in build_report(typed, Config())["layers"]}


@pytest.mark.parametrize("name,layers", [("qkeras_dense", ("fc3", "out")),
                                         ("qkeras_conv2d", ("conv1", "out")),
                                         ("qkeras_conv1d_auto", ("conv1",)),
                                         ("qkeras_weights_more", ("fc0", "fc1", "fc2", "fc4"))])
def test_po2_ternary_binary_weights_cost_no_general_multiplier(name, layers):
    """ternary (auto_po2 and a number), binary (alpha 1 and None), stochastic_binary, quantized_po2 (with
    max_value) and quantized_relu_po2 kernels."""
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
    assert graph.nodes["dense_1"].annotations.weight_quantizer.source == "hgq"  # the frontend only declares
    from nn2hls.passes.pipeline import run_passes
    dense = run_passes(graph, passes=["exact_weight_types"]).nodes["dense_1"]
    assert dense.annotations.forced_precision["weight"].width <= 12  # HGQ's weight grid, exact


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
@pytest.mark.parametrize("name,headers", [("hgq2_dense", "own"), ("hgq2_modes", "own"), ("hgq2_modes", "vendor"),
                                          ("hgq2_conv", "own")])
def test_csim_hgq2_bit_exact(name, headers, tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    if headers == "vendor" and not VENDOR:
        pytest.skip("NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
    x, expected = _fixture(name)
    project = write_project(_typed(FIXTURES / f"{name}.keras", x), Config(), tmp_path / name)
    got = (build(project, ap_types=VENDOR) if headers == "vendor" else build(project)).predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(np.asarray(got).reshape(expected.shape), expected)


@pytest.mark.csim
@pytest.mark.parametrize("headers", ["own", "vendor"])
def test_csim_step_activations_bit_exact(headers, tmp_path):
    """The `steps` activations in C++ (thresholds on the input grid) == the emulator, with both headers."""
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    if headers == "vendor" and not VENDOR:
        pytest.skip("NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
    x, _ = _fixture("qkeras_step_acts")
    typed = _typed(FIXTURES / "qkeras_step_acts.json", x)
    project = write_project(typed, Config(), tmp_path / "steps")
    sim = build(project, ap_types=VENDOR) if headers == "vendor" else build(project)
    got = sim.predict(x)
    for g, want in zip(got, emulate(typed, x).outputs):
        np.testing.assert_array_equal(np.asarray(g).reshape(want.shape), want)


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
            layer["config"]["activation"] = "quantized_bits(4, 0, alpha='auto')"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    with pytest.raises(UnsupportedOpError, match=r"layer 'relu1' \(QActivation\): activation quantizer "
                                                 r"quantized_bits.*alpha 'auto' scales by the batch"):
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


def test_steps_too_wide_for_an_exact_type_warn(tmp_path):
    """quantized_po2(9): levels 2^-128 .. 2^127 cannot be held exactly; the typing says so."""
    config = json.loads((FIXTURES / "qkeras_step_acts.json").read_text())
    config["config"]["layers"] = [layer for layer in config["config"]["layers"]
                                  if layer["class_name"] == "InputLayer" or layer["config"]["name"] == "act0"]
    for layer in config["config"]["layers"]:
        if layer["config"]["name"] == "act0":
            layer["config"]["activation"] = "quantized_po2(9)"
    config["config"]["output_layers"] = [["act0", 0, 0]]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    x, _ = _fixture("qkeras_step_acts")
    typed = run_passes(load_keras(path, FIXTURES / "qkeras_step_acts_weights.h5"), Config(), x)
    assert any("need more than 64 bits" in w for w in typed.meta["pass_warnings"])
