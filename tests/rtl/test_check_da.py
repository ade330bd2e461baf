"""`nn2hls check` and `CompiledModel.build()` of a Verilog model with `strategy: distributed_arithmetic`.

The C simulation of a Verilog design runs an HLS stand-in project, which the HLS writer refused for a
distributed_arithmetic layer: `check -c da.yml --backend verilog` stopped with exit 2 before this
(`CompiledModel.write_csim_stand_in`). Two independent paths are compared: the RTL simulation (adder
graphs) and the C simulation (products) against the emulator, plus onnxruntime's float outputs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import helper

sys.path.insert(0, str(Path(__file__).parent))
import rtl_models  # noqa: E402
from rtl_models import needs_iverilog  # noqa: E402

import nn2hls  # noqa: E402


def _mlp():
    rng = np.random.default_rng(3)
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu1"),
             helper.make_node("Gemm", ["r", "w2"], ["y"], name="fc2")]
    init = {"w1": rng.normal(size=(5, 4)), "b1": 0.1 * rng.normal(size=4), "w2": rng.normal(size=(4, 3))}
    return rtl_models.onnx_model(nodes, init, 5, 3, "da_mlp"), rng.normal(size=(40, 5)).astype(np.float32)


@needs_iverilog
@pytest.mark.parametrize("config", [{"strategy": "distributed_arithmetic"},
                                    {"layers": {"fc2": {"strategy": "distributed_arithmetic"}}}])
def test_check_verilog_da(monkeypatch, config):
    monkeypatch.setenv("NN2HLS_RTLSIM", "iverilog")
    model, x = _mlp()
    config = {**config, "backend": "verilog", "precision": {"default": {"weight_width": 6}}}
    result = nn2hls.check(model, x, config=config)
    assert result.bit_exact and result.rtl is not None and result.rtl["bit_exact"], result
    assert result.backend == "verilog" and result.max_abs_err is not None and result.max_abs_err < 0.5
    compiled = nn2hls.compile(model, config=config, calibration=x)
    assert np.array_equal(compiled.build().predict(x), compiled.emulate(x))
    assert compiled.config.layer_strategy("fc2") == "distributed_arithmetic"  # the stand-in left it alone
