"""Second-round layers (issue 15) against the frameworks, in float: MatMul with a constant left operand
and pooling with ceil_mode (torch, both ONNX exporters). The IR float executor within 1e-5 of torch and
of onnxruntime (ORT_DISABLE_ALL), the 32-bit emulator within 1e-3 of torch."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

import onnx  # noqa: E402

import nn2hls  # noqa: E402
from nn2hls.frontends.onnx import load_onnx  # noqa: E402
from nn2hls.frontends.torch import export_onnx_bytes  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402

_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "make_layers2_fixtures.py"
_spec = importlib.util.spec_from_file_location("make_layers2_fixtures", _SCRIPT)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]
WIDE = {"precision": {"default": {"weight_width": 32, "result_width": 32}}}


def ort_run(data: bytes, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    dtype = np.int64 if "int64" in feed.type else np.float32
    return session.run(None, {feed.name: x.astype(dtype)})[0]


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", ["left_matmul", "ceil_pools", "ceil_pool1d"])
def test_torch_layers_match(name, dynamo):
    module, _, _ = fixtures.torch_model(name)
    x = fixtures.torch_input(name, 40)
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    # the dynamo exporter fixes the batch: export with the whole batch so onnxruntime can run it
    data = export_onnx_bytes(module, torch.from_numpy(x if dynamo else x[:1]), dynamo=dynamo)
    np.testing.assert_allclose(ort_run(data, x), ref, rtol=1e-5, atol=1e-5)
    model = onnx.load_from_string(data)
    graph = load_onnx(model)
    (y,) = execute(graph, x)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    emulated = nn2hls.compile(model, WIDE, calibration=x).emulate(x)
    assert float(np.max(np.abs(emulated - ref))) <= 1e-3


def test_left_matmul_is_one_dense_over_swapped_axes():
    module, _, _ = fixtures.torch_model("left_matmul")
    graph = load_onnx(onnx.load_from_string(export_onnx_bytes(module, torch.zeros(1, 4, 3))))
    kinds = [n.op.kind for n in graph.topological()]
    assert kinds == ["Input", "Transpose", "Dense", "Activation", "Transpose"]
    (dense,) = [n for n in graph.nodes.values() if isinstance(n.op, ops.Dense)]
    np.testing.assert_array_equal(dense.weights["kernel"], module.w.detach().double().numpy().T)
    np.testing.assert_allclose(dense.weights["bias"], module.b.detach().double().numpy()[:, 0])


def test_ceil_mode_count_include_pad_is_an_explicit_pad():
    """The divisor of a partial window counts the declared pads but not the ceil_mode extension: a
    2-wide input, kernel 3, stride 2, pads 1: windows [-1, 1] and [1, 3]; the second holds x1 and one
    declared pad (position 2), so torch divides by 2 (x1 / 2), not by 3 and not by 1."""
    module = torch.nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=True).eval()
    x = np.array([[[4.0, 6.0]]], dtype=np.float32)
    ref = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ref, [[[10.0 / 3, 3.0]]], rtol=1e-6)
    graph = load_onnx(onnx.load_from_string(export_onnx_bytes(module, torch.from_numpy(x))))
    kinds = [n.op.kind for n in graph.topological()]
    assert "Pad" in kinds
    (pool,) = [n for n in graph.nodes.values() if isinstance(n.op, ops.Pool)]
    assert pool.op.count_include_pad is False and pool.op.pads == ((0, 1),)
    (y,) = execute(graph, x)
    np.testing.assert_allclose(y, [[[10.0 / 3, 3.0]]], rtol=1e-12)
