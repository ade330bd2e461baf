"""QONNX Trunc on a non-power-of-two scale (what Brevitas' TruncAvgPool2d exports with float scales):
integer requantization, then the exact truncation cast, then the output scale. Oracle: the float64
Trunc formula of quant_models.numpy_trunc (independent of nn2hls)."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import numpy_helper

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.passes.pipeline import run_passes

from quant_models import numpy_trunc, qonnx_trunc_model


def _float_scales(model, scale: float, out_scale: float | None):
    for init in model.graph.initializer:
        if init.name == "t_scale":
            init.CopyFrom(numpy_helper.from_array(np.asarray(scale, np.float32), "t_scale"))
        if init.name == "t_outscale" and out_scale is not None:
            init.CopyFrom(numpy_helper.from_array(np.asarray(out_scale, np.float32), "t_outscale"))
    return model


CASES = {
    "v1_floor": (1, dict(rounding="FLOOR"), 0.0123, None),
    "v2_round": (2, dict(out_bits=5, rounding="ROUND"), 0.0123, 0.0123 * 8 * 1.07),
    "v2_floor_clamps": (2, dict(out_bits=4, rounding="FLOOR"), 0.0311, 0.0311 * 4),
    "v2_unsigned": (2, dict(out_bits=5, signed=0), 0.0123, 0.0123 * 16),
}


def _model(name):
    version, kw, s, out = CASES[name]
    return _float_scales(qonnx_trunc_model(version, **kw), s, out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float_scale_trunc_matches_definition(name):
    model = _model(name)
    x = np.random.default_rng(3).normal(0, 2.0, size=(5000, 12))
    ref = numpy_trunc(model, x)
    graph = load_onnx(model)
    assert any(isinstance(n.op, ops.Quant) and n.name.endswith("_trunc") for n in graph.nodes.values())
    typed = run_passes(graph, Config(), x[:500])
    got = emulate(typed, x).outputs[0]
    exact = np.all(got == ref, axis=1)
    assert np.mean(exact) >= 0.999, f"{np.sum(~exact)} samples differ"
    assert np.unique(ref).size > 10
    np.testing.assert_allclose(execute(graph, x)[0], ref, rtol=0, atol=1e-12)


@pytest.mark.csim
def test_float_scale_trunc_csim_bit_exact(tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    model = _model("v2_round")
    x = np.random.default_rng(4).normal(0, 2.0, size=(1000, 12))
    typed = run_passes(load_onnx(model), Config(), x[:300])
    got = build(write_project(typed, Config(), tmp_path / "trunc")).predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])
