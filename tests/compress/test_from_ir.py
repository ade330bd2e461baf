"""IRModule (a trainable torch module built from the nn2hls IR) computes what the IR float executor
computes, exports to ONNX that nn2hls reads back to the same numbers, and refuses quantized nodes by name.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nn2hls.compress.export import export_onnx  # noqa: E402
from nn2hls.compress.from_ir import to_torch  # noqa: E402
from nn2hls.errors import ConfigError  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402
from nn2hls.pipeline import load  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODELS = ["onnx/cnn_ts.onnx", "onnx/conv1d_dynamo.onnx", "onnx/mlp_bn_ts.onnx", "keras/cnn2d.keras",
          "keras/cnn1d.h5", "keras/activations.keras"]


@pytest.mark.parametrize("name", MODELS)
def test_irmodule_equals_the_float_executor_and_round_trips(tmp_path, name):
    graph = load(str(FIXTURES / name))
    module = to_torch(graph)
    x = np.random.default_rng(1).normal(size=(16, *graph.inputs[0].shape)).astype(np.float32)
    (expect,) = execute(graph, x)
    with torch.no_grad():
        got = module(torch.as_tensor(x)).double().numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-5)
    assert any(p.requires_grad for p in module.parameters())
    path = export_onnx(module, x[:1], tmp_path / "back.onnx")
    (again,) = execute(load(str(path)), x)
    np.testing.assert_allclose(again, expect, rtol=1e-5, atol=1e-5)


def test_quantized_nodes_are_refused_by_name():
    import onnx
    from onnx import TensorProto, helper

    q = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="in_quant")
    d = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="in_dequant")
    graph = helper.make_graph([q, d], "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor("s", TensorProto.FLOAT, [], [0.5]),
                               helper.make_tensor("z", TensorProto.INT8, [], [0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(ConfigError, match="node 'in_quant.*op Quant cannot be made trainable"):
        to_torch(onnx.load_from_string(model.SerializeToString()))
