"""Brevitas QAT models exported as QONNX (committed fixtures, tests/fixtures/make_brevitas_fixtures.py).

Reference: each fixture's npz holds Brevitas' own outputs (float32, eval mode) on every scikit-learn digit.
- power-of-two scales: the emulator reproduces them exactly, sample for sample;
- float scales: within one float32 ulp on at least 99.9% of the samples (Brevitas computes in float32,
  nn2hls exactly: a sample may differ where float32 rounding moved a value across a rounding tie);
- argmax agreement at least 99.9% everywhere; the C-sim is bit-exact against the emulator; ternary and
  binary models need no general multiplies in their Dense layers (report).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import ops
from nn2hls.passes.pipeline import run_passes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "brevitas"
# power-of-two scales (binary_act also folds a float batch norm into +-1 weights and one scale per
# output: measured exact as well)
POW2 = ("mlp8_pow2", "mlp4_pow2", "mlp8_per_channel_pow2", "binary", "binary_act", "cnn4")
FLOAT = ("mlp8_float", "mlp4_float", "mlp4_per_channel", "ternary", "cnn4_float")
ALL = POW2 + FLOAT
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")


@lru_cache(maxsize=None)
def _inputs() -> np.ndarray:
    return np.load(FIXTURES / "digits.npz")["x"].astype(np.float64)


@lru_cache(maxsize=None)
def _compiled(name: str):
    graph = load_onnx(FIXTURES / f"{name}.onnx")
    x = _inputs().reshape((-1,) + tuple(graph.input.shape))
    typed = run_passes(graph, Config(), x)
    return typed, x


def _reference(name: str) -> np.ndarray:
    return np.load(FIXTURES / f"{name}.npz")["y"]


def test_fixtures_are_real_quantized_models():
    x = _inputs()
    assert x.shape == (1797, 64) and np.array_equal(x * 16, np.round(x * 16))
    for name in ALL:
        ref = _reference(name)
        assert ref.shape == (1797, 10)
        assert np.unique(ref).size > 50  # not a constant model
        assert np.mean(np.argmax(ref, axis=1) == _digit_labels()) > 0.8, name  # it learned the digits


@lru_cache(maxsize=None)
def _digit_labels() -> np.ndarray:
    sklearn = pytest.importorskip("sklearn.datasets")
    return sklearn.load_digits().target


@pytest.mark.parametrize("name", POW2)
def test_power_of_two_models_reproduced_exactly(name):
    typed, x = _compiled(name)
    got = emulate(typed, x).outputs[0]
    ref = _reference(name).astype(np.float64)
    assert int(np.sum(np.any(got != ref, axis=1))) == 0
    assert np.mean(np.argmax(got, 1) == np.argmax(ref, 1)) == 1.0


@pytest.mark.parametrize("name", FLOAT)
def test_float_scale_models_within_float32_rounding(name):
    """Against Brevitas' own float32 outputs and (MLPs) the QONNX definition in float64
    (tests/quant/quant_models.numpy_eval, independent of nn2hls): within one float32 ulp on >= 99.9%
    of samples. cnn4_float also covers a real Trunc (TruncAvgPool2d) on a float scale."""
    from quant_models import numpy_eval
    import onnx
    typed, x = _compiled(name)
    got = emulate(typed, x).outputs[0]
    refs = [(_reference(name).astype(np.float64), "Brevitas")]
    if not name.startswith("cnn"):  # numpy_eval knows Quant/Gemm/Relu only
        refs.append((numpy_eval(onnx.load(FIXTURES / f"{name}.onnx"), x), "QONNX definition"))
    for ref, what in refs:
        ulp = np.spacing(np.abs(ref.astype(np.float32))).astype(np.float64)
        close = np.all(np.abs(got - ref) <= ulp, axis=1)
        assert np.mean(close) >= 0.999, f"{name}: {np.sum(~close)} samples differ from {what} beyond one ulp"
        assert np.mean(np.argmax(got, 1) == np.argmax(ref, 1)) >= 0.999
    # the layers are integer: float scales sit in one ScaleShift per output, kernels are integers
    dense = [n for n in typed.nodes.values() if isinstance(n.op, (ops.Dense, ops.Conv))]
    for d in dense:
        assert np.array_equal(d.weights["kernel"], np.round(d.weights["kernel"])), d.name


def test_per_channel_fixtures_have_per_channel_scales():
    import onnx
    from onnx import numpy_helper
    for name in ("mlp4_per_channel", "mlp8_per_channel_pow2"):
        model = onnx.load(FIXTURES / f"{name}.onnx")
        inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        scales = [inits[n.input[1]] for n in model.graph.node if n.op_type == "Quant" and n.input[1] in inits]
        assert any(s.size == 32 and np.unique(s).size > 1 for s in scales), name


@pytest.mark.parametrize("name", ["ternary", "binary", "binary_act"])
def test_ternary_and_binary_have_no_general_multiplies_in_layers(name):
    from nn2hls.report import build_report
    typed, _ = _compiled(name)
    rows = build_report(typed, Config())["layers"]
    layers = [r for r in rows if r["op"] in ("Dense", "Conv")]
    assert len(layers) == 2
    for r in layers:
        assert r["mult_general"] == 0, r
        assert r["multiplies"] > 0
    # the float scale of the ternary model costs one product per output, not per weight
    general = sum(r["mult_general"] for r in rows)
    assert general <= (32 + 10 if name == "ternary" else 0) + (32 if name == "binary_act" else 0)


def _predict(sim, x):
    got = sim.predict(x)
    return got[0] if isinstance(got, list) else got


@pytest.mark.csim
@pytest.mark.parametrize("name", ALL)
def test_csim_bit_exact(name, tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    typed, x = _compiled(name)
    got = _predict(build(write_project(typed, Config(), tmp_path / name)), x)
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])


@pytest.mark.csim
@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
@pytest.mark.parametrize("name", ["mlp4_float", "cnn4", "ternary", "binary_act", "cnn4_float"])
def test_csim_bit_exact_vendor_headers(name, tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    typed, x = _compiled(name)
    got = _predict(build(write_project(typed, Config(), tmp_path / name), ap_types=VENDOR), x[:400])
    np.testing.assert_array_equal(got, emulate(typed, x[:400]).outputs[0])
