"""Grouped, depthwise and separable convolutions from torch (both ONNX exporters) and Keras 3 (.keras,
.h5, live): the IR's float execution matches onnxruntime (graph optimizations off) and Keras."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from nn2hls.frontends.keras import load_keras  # noqa: E402
from nn2hls.frontends.onnx import load_onnx  # noqa: E402
from nn2hls.frontends.torch import export_onnx_bytes  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402
from nn2hls.ir.verify import verify  # noqa: E402

_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "make_grouped_conv_fixtures.py"
_spec = importlib.util.spec_from_file_location("make_grouped_conv_fixtures", _SCRIPT)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def onnxruntime_run(data: bytes, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", sorted(fixtures.TORCH))
def test_torch_grouped_conv_matches_onnxruntime(name, dynamo):
    import onnx
    module, shape = fixtures.torch_model(name)
    x = np.random.default_rng(1).normal(size=(16,) + shape).astype(np.float32)
    data = export_onnx_bytes(module, x, dynamo=dynamo)
    graph = load_onnx(onnx.load_from_string(data))
    verify(graph)
    groups = sorted(n.op.groups for n in graph.nodes.values() if isinstance(n.op, ops.Conv))
    assert groups == ([2, 4, 6] if name == "dw2d" else [3, 6])
    expected = onnxruntime_run(data, x)
    with torch.no_grad():
        np.testing.assert_allclose(expected, module(torch.from_numpy(x)).numpy(), atol=1e-5)
    np.testing.assert_allclose(execute(graph, x)[0], expected, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def keras_models(tmp_path_factory):
    out = tmp_path_factory.mktemp("grouped_keras")
    models = {}
    for i, name in enumerate(sorted(fixtures.KERAS)):
        model = fixtures.keras_model(name, seed=i)
        x = np.random.default_rng(10 + i).normal(size=(12,) + tuple(model.inputs[0].shape[1:])).astype(np.float32)
        model.save(out / f"{name}.keras")
        model.save(out / f"{name}.h5")
        models[name] = (model, x, model.predict(x, verbose=0),
                        {"keras": out / f"{name}.keras", "h5": out / f"{name}.h5", "live": model})
    return models


@pytest.mark.parametrize("source", ["keras", "h5", "live"])
@pytest.mark.parametrize("name", sorted(fixtures.KERAS))
def test_keras_grouped_conv_matches_keras(keras_models, name, source):
    model, x, expected, sources = keras_models[name]
    graph = load_keras(sources[source])
    verify(graph)
    np.testing.assert_allclose(execute(graph, x)[0], expected, rtol=1e-5, atol=1e-5)


def test_keras_separable_conv_is_a_depthwise_then_a_pointwise_conv(keras_models):
    graph = load_keras(keras_models["k2d"][0])
    depthwise, pointwise = graph.nodes["sep_depthwise"], graph.nodes["sep"]
    assert pointwise.inputs == ("sep_depthwise",)
    assert (depthwise.op.groups, depthwise.op.strides, depthwise.weights["kernel"].shape) == (6, (2, 2), (3, 3, 1, 6))
    assert "bias" not in depthwise.weights
    assert (pointwise.op.groups, pointwise.op.kernel_size, pointwise.weights["kernel"].shape) == (1, (1, 1), (1, 1, 6, 4))
