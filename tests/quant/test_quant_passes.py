"""The quantized-model rewrites are passes: the ONNX frontend only declares what the file says.

A QONNX MLP with float (non-power-of-two) weight scales and a non-power-of-two activation scale:
right after load_onnx no layer is rewritten (each Dense holds its quantizer's float values and
`annotations.weight_quantizer` names the declared scales; dequantizing ScaleShifts still sit before
the layers). exact_weight_types then factors the scales out (integer kernels, per-output ScaleShift)
and carry_scales moves the dequantization past the layer; after each pass the float graph still
equals the QONNX definition evaluated by numpy (quant_models.numpy_eval), bit for bit.
"""
from __future__ import annotations

import numpy as np

from nn2hls.config import Config
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir.execute import execute
from nn2hls.ir.ops import Dense, ScaleShift
from nn2hls.passes.pipeline import DEFAULT_PIPELINE, run_passes

from quant_models import numpy_eval, qonnx_mlp


def _model():
    return qonnx_mlp([16, 12, 4], seed=3, w_bits=4, float_scale=True, a_scale=0.0371)


def _x(n: int = 400) -> np.ndarray:
    return np.random.default_rng(5).normal(0, 2.0, size=(n, 16))


def test_frontend_declares_and_passes_rewrite():
    model, x = _model(), _x()
    ref = numpy_eval(model, x)
    graph = load_onnx(model)
    dense = [n for n in graph.topological() if isinstance(n.op, Dense)]
    assert len(dense) == 2
    for d in dense:
        declared = d.annotations.weight_quantizer
        assert declared is not None and declared.source == "qonnx" and declared.scales
        assert not d.annotations.forced_precision and not d.annotations.factored_scale
        assert not np.array_equal(d.weights["kernel"], np.round(d.weights["kernel"]))  # float values as stored
    dequant = [n for n in graph.topological() if n.annotations.dequant is not None]
    assert dequant, "the frontend leaves the dequantizing ScaleShifts where the file has them"
    np.testing.assert_array_equal(execute(graph, x)[0], ref)

    assert DEFAULT_PIPELINE[:2] == ["exact_weight_types", "carry_scales"]
    factored = run_passes(graph, Config(), passes=["exact_weight_types"])
    for d in (n for n in factored.topological() if isinstance(n.op, Dense)):
        assert np.array_equal(d.weights["kernel"], np.round(d.weights["kernel"]))  # integer weights
        scale = factored.nodes[d.annotations.factored_scale]
        assert isinstance(scale.op, ScaleShift) and scale.annotations.keep_separate
        assert d.annotations.quantized_weights and d.annotations.exact_result
    np.testing.assert_array_equal(execute(factored, x)[0], ref)

    carried = run_passes(factored, Config(), passes=["carry_scales"])
    assert any(n.annotations.integer_input for n in carried.nodes.values())
    assert len([n for n in carried.nodes.values() if n.annotations.dequant is not None]) < len(dequant)
    np.testing.assert_allclose(execute(carried, x)[0], ref, rtol=1e-12, atol=1e-12)
    log = [(name, changed) for name, changed, _ in carried.meta["pass_log"]]
    assert log == [("exact_weight_types", True), ("carry_scales", True)]


def test_disabling_exact_weight_types_leaves_weights_unforced():
    graph = load_onnx(qonnx_mlp([16, 8, 3]))
    typed = run_passes(graph, Config(passes_disable=["exact_weight_types", "carry_scales"]))
    assert not any(n.annotations.forced_precision or n.annotations.quantized_weights
                   for n in typed.nodes.values() if isinstance(n.op, Dense))
    names = [name for name, _, _ in typed.meta["pass_log"]]
    assert "exact_weight_types" not in names and names[-1] == "quantize_weights"
