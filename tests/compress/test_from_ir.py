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


@pytest.mark.parametrize("op_type, mode, in_shape", [("DepthToSpace", "DCR", [1, 8, 2, 3]),
                                                     ("DepthToSpace", "CRD", [1, 8, 2, 3]),
                                                     ("SpaceToDepth", None, [1, 3, 4, 6])])
def test_block_rearrangements_equal_onnxruntime(op_type, mode, in_shape):
    """DepthToSpace (both modes) and SpaceToDepth in the trainable module against onnxruntime's own
    operators (the index rule is shared with the float executor, nn2hls.ir.rearrange)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    attrs = {"blocksize": 2, **({"mode": mode} if mode else {})}
    out_shape = ([1, in_shape[1] // 4, in_shape[2] * 2, in_shape[3] * 2] if op_type == "DepthToSpace"
                 else [1, in_shape[1] * 4, in_shape[2] // 2, in_shape[3] // 2])
    node = helper.make_node(op_type, ["x"], ["y"], name="rearrange", **attrs)
    graph = helper.make_graph([node], "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    x = np.random.default_rng(2).normal(size=(5, *in_shape[1:])).astype(np.float32)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    expect = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    module = to_torch(onnx.load_from_string(model.SerializeToString()))
    with torch.no_grad():
        got = module(torch.as_tensor(x)).numpy()
    np.testing.assert_array_equal(got, expect)
