"""C simulation of requantized models (ONNX QDQ, QONNX float activation scales): bit-exact vs the emulator.

The requantization multiplies use wide accumulators (up to ~90 bits), so this also exercises the wide
ap_fixed paths of the built-in headers (and of the vendor headers when NN2HLS_AP_TYPES is set).
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

from quant_models import qonnx_mlp

pytestmark = pytest.mark.csim
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")


def _predict(sim, x):
    got = sim.predict(x)
    return got[0] if isinstance(got, list) else got


def _typed(name, tmp_path, x):
    if name == "qdq_int8_per_channel":
        pytest.importorskip("onnxruntime.quantization")
        from qdq_models import quantize_static_mlp
        model = quantize_static_mlp([16, 24, 8, 5], x[:200], tmp_path, seed=5, per_channel=True,
                                    activation_type="QInt8")
    elif name == "qdq_uint8":
        pytest.importorskip("onnxruntime.quantization")
        from qdq_models import quantize_static_mlp
        model = quantize_static_mlp([16, 24, 8, 5], x[:200], tmp_path, seed=6)
    else:
        model = qonnx_mlp([16, 24, 16, 5], seed=8, a_scale=0.23, a_zero=3.0, a_bits=4, w_bits=2, narrow=1,
                          float_scale=True, out_scale=0.0171)
    return run_passes(load_onnx(model), Config(), x[:300])


@pytest.mark.parametrize("name", ["qdq_uint8", "qdq_int8_per_channel", "qonnx_float_activation"])
def test_requant_csim_bit_exact(name, tmp_path):
    x = np.random.default_rng(3).normal(0, 1.5, size=(1500, 16))
    typed = _typed(name, tmp_path, x)
    expected = emulate(typed, x).outputs[0]
    got = _predict(build(write_project(typed, Config(), tmp_path / "prj")), x)
    assert int(np.sum(got != expected)) == 0
    assert np.unique(expected).size > 20
    if VENDOR:
        vendor = _predict(build(write_project(typed, Config(), tmp_path / "prj_vendor"), ap_types=VENDOR), x)
        np.testing.assert_array_equal(vendor, expected)
