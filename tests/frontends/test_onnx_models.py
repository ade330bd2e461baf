"""Whole models exported by PyTorch's two exporters import unchanged and match onnxruntime.

The committed fixtures (tests/fixtures/onnx/, made by tests/fixtures/make_onnx_fixtures.py) are tested
without torch; the `torch` test regenerates them in tmp_path and checks those too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir.execute import execute

FIXTURES = Path(__file__).parents[1] / "fixtures" / "onnx"
SHAPES = {"mlp": (16,), "mlp_bn": (16,), "cnn": (2, 8, 8), "conv1d": (3, 16)}
# Op kinds each model must import to (besides Input); BatchNorm may be folded by the exporter.
KINDS = {
    "mlp": {"Dense", "Activation", "Softmax"},
    "mlp_bn": {"Dense", "Activation", "Softmax"},
    "cnn": {"Transpose", "Conv", "Activation", "Pool", "Reshape", "Dense"},
    "conv1d": {"Transpose", "Conv", "Activation", "Pool", "Reshape", "Dense"},
}


def _check(path: Path, n: int = 16):
    stem = path.stem
    model = next(k for k in sorted(SHAPES, key=len, reverse=True) if stem.startswith(k + "_"))
    options = ort.SessionOptions()  # the graph as written: no fused kernels
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    batch = sess.get_inputs()[0].shape[0]
    n = batch if isinstance(batch, int) else n  # the dynamo exports have a fixed batch
    x = np.random.default_rng(7).normal(size=(n, *SHAPES[model])).astype(np.float32)
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    graph = load_onnx(path)
    out = execute(graph, x)[0]
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(ref).max())))
    kinds = {node.op.kind for node in graph.nodes.values()} - {"Input"}
    assert KINDS[model] <= kinds <= KINDS[model] | {"BatchNorm"}, kinds
    # The only Transpose is the source-layout -> channels-last one right after the input.
    for node in graph.nodes.values():
        if node.op.kind == "Transpose":
            assert node.inputs == (graph.input.name,)
    assert graph.input.shape == SHAPES[model]
    return graph


FILES = sorted(FIXTURES.glob("*.onnx"))


def test_fixtures_present():
    names = {p.stem for p in FILES}
    for model in SHAPES:
        assert {f"{model}_ts", f"{model}_dynamo"} <= names
    assert "cnn_ts_nofold" in names
    assert all(p.stat().st_size < 16_000 for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_fixture_matches_onnxruntime(path):
    _check(path)


def test_batchnorm_kept_when_exporter_keeps_it():
    graph = load_onnx(FIXTURES / "mlp_bn_ts.onnx")
    (bn,) = [n for n in graph.nodes.values() if n.op.kind == "BatchNorm"]
    assert bn.shape == (12,) and set(bn.weights) == {"gamma", "beta", "mean", "var"}


def test_cnn_with_and_without_constant_folding_agree():
    folded = load_onnx(FIXTURES / "cnn_ts.onnx")  # the exporter folded BatchNorm into the Conv
    unfolded = load_onnx(FIXTURES / "cnn_ts_nofold.onnx")  # Shape/Gather/Concat subgraph, BatchNorm kept
    assert "BatchNorm" in {n.op.kind for n in unfolded} and "BatchNorm" not in {n.op.kind for n in folded}
    x = np.random.default_rng(3).normal(size=(32, 2, 8, 8))
    np.testing.assert_allclose(execute(folded, x)[0], execute(unfolded, x)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.torch
@pytest.mark.slow
def test_regenerated_exports_match(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_onnx_fixtures",
                                                  FIXTURES.parent / "make_onnx_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.export_all(tmp_path)
    assert len(written) == len(FILES)
    for path in written:
        _check(path)
