"""C simulation of imported QONNX models: bit-exact against the emulator (own and vendor ap_types).

The emulator itself equals the QONNX float definition (tests/quant/test_qonnx.py), so these close the
chain quantized model -> emulator -> C++.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.csim import build
from nn2hls.emulate import emulate
from nn2hls.frontends.onnx import load_onnx
from nn2hls.passes.pipeline import run_passes

from quant_models import numpy_eval, qonnx_mlp

pytestmark = pytest.mark.csim
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")

MODELS = {
    "int8": dict(w_bits=8, a_bits=8, w_scale_exp=6),
    "int4_per_channel": dict(w_bits=4, a_bits=4, a_exp=2, per_channel=True),
    "ternary": dict(w_bits=2, narrow=1, w_scale_exp=2),
    "bipolar": dict(bipolar=True),
    "ternary_float_scale": dict(w_bits=2, narrow=1, float_scale=True),
    "int4_float_per_channel": dict(w_bits=4, per_channel=True, float_scale=True),
}


def _project(name, tmp_path):
    model = qonnx_mlp([16, 24, 16, 5], seed=6, **MODELS[name])
    rng = np.random.default_rng(2)
    x = rng.normal(0, 2.0, size=(1000, 16))
    x[:100] = np.round(x[:100] * 32) / 32  # rounding ties of the input quantizer
    typed = run_passes(load_onnx(model), Config(), x[:300])
    return model, typed, write_project(typed, Config(), tmp_path / name), x


def _predict(sim, x):
    got = sim.predict(x)
    return got[0] if isinstance(got, list) else got


@pytest.mark.parametrize("name", sorted(MODELS))
def test_csim_bit_exact(name, tmp_path):
    model, typed, project, x = _project(name, tmp_path)
    expected = emulate(typed, x).outputs[0]
    got = _predict(build(project), x)
    assert int(np.sum(got != expected)) == 0
    np.testing.assert_array_equal(got, numpy_eval(model, x))  # and so equal to the QONNX definition
    assert np.unique(got).size > 20


@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
@pytest.mark.parametrize("name", ["int4_per_channel", "ternary_float_scale"])
def test_csim_bit_exact_vendor_headers(name, tmp_path):
    model, typed, project, x = _project(name, tmp_path)
    got = _predict(build(project, ap_types=VENDOR), x)
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])


@pytest.mark.parametrize("version", [1, 2])
def test_trunc_csim_bit_exact(version, tmp_path):
    from quant_models import numpy_trunc, qonnx_trunc_model
    model = qonnx_trunc_model(version, out_bits=5, rounding="FLOOR")
    x = np.random.default_rng(4).normal(0, 2.0, size=(800, 12))
    typed = run_passes(load_onnx(model), Config(), x[:300])
    got = _predict(build(write_project(typed, Config(), tmp_path / f"trunc{version}")), x)
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])
    np.testing.assert_array_equal(got, numpy_trunc(model, x))
