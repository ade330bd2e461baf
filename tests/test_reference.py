"""The float reference (nn2hls.reference) on every batch convention an ONNX file can carry.

Models are built with onnx.helper: a Gemm y = x @ W.T + b with small integer weights, so every expected
output below is written down by hand (exact in float32). The batch axis of the file is fixed to 1, fixed
to 3 (7 samples: two full chunks and one padded), or symbolic; an opset-6 file is upgraded first; a
custom-domain (QONNX) file has no onnxruntime reference; an onnxruntime failure keeps its message.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nn2hls.errors import FloatReferenceError
from nn2hls.reference import float_reference, run_onnxruntime

pytest.importorskip("onnxruntime")

# y0 = 2*x0 + 0.5, y1 = x0 - x1 - 1
W = [[2.0, 0.0], [1.0, -1.0]]
B = [0.5, -1.0]
X = np.array([[1, 2], [3, 4], [0, 0], [-1, 5], [2, 2], [7, -3], [4, 1]], dtype=np.float64)
Y = np.array([[2.5, -2.0], [6.5, -2.0], [0.5, -1.0], [-1.5, -7.0], [4.5, -1.0], [14.5, 9.0], [8.5, 2.0]])


def gemm(batch, opset: int = 13, domain_node: str | None = None) -> onnx.ModelProto:
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)]
    if opset < 7:  # Gemm-6 still has the `broadcast` attribute
        nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, broadcast=1)]
    if domain_node:
        nodes = [helper.make_node(domain_node, ["x"], ["xq"], domain="qonnx.custom_op.general"),
                 helper.make_node("Gemm", ["xq", "w", "b"], ["y"], transB=1)]
    graph = helper.make_graph(
        nodes, "gemm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 2])],
        [numpy_helper.from_array(np.array(W, np.float32), "w"), numpy_helper.from_array(np.array(B, np.float32), "b")])
    if opset < 7:  # IR version 3: initializers are listed among the graph inputs too
        graph.input.extend([helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 2]),
                            helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])])
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid("qonnx.custom_op.general", 1)]
                                                 if domain_node else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 3 if opset < 7 else 8
    return model


@pytest.mark.parametrize("batch, chunks", [(1, "7 chunks of the file's fixed batch 1"),
                                           (3, "3 chunks of the file's fixed batch 3"),
                                           ("N", None), (None, None)])
def test_every_batch_convention(tmp_path, batch, chunks):
    path = tmp_path / "m.onnx"
    onnx.save(gemm(batch), path)
    ref = run_onnxruntime(path, [X])
    assert len(ref.outputs) == 1
    np.testing.assert_array_equal(ref.outputs[0], Y)
    assert ref.name == ("onnxruntime" if chunks is None else f"onnxruntime, {chunks}")


def test_fixed_batch_equal_to_the_sample_count_is_one_chunk(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(gemm(7), path)
    ref = run_onnxruntime(path, [X])
    np.testing.assert_array_equal(ref.outputs[0], Y)
    assert ref.name == "onnxruntime"


def test_in_memory_model_and_one_sample():
    ref = run_onnxruntime(gemm(1), [X[:1]])
    np.testing.assert_array_equal(ref.outputs[0], Y[:1])


def test_old_opset_is_upgraded_for_onnxruntime(tmp_path):
    path = tmp_path / "old.onnx"
    onnx.save(gemm(1, opset=6), path)
    notes = []
    ref = run_onnxruntime(path, [X], note=notes.append)
    np.testing.assert_array_equal(ref.outputs[0], Y)
    assert ref.name == "onnxruntime, 7 chunks of the file's fixed batch 1"
    assert notes == [f"onnxruntime cannot run '{path}' at its old opset; the float reference runs the model "
                     "upgraded to opset 9"]


def test_custom_domain_uses_the_ir_executor_and_says_so():
    notes = []
    sentinel = [np.full((7, 2), 42.0)]
    ref = float_reference(gemm("N", domain_node="Quant"), [X], lambda: sentinel, notes.append)
    assert ref.name == "nn2hls IR float executor" and ref.outputs[0][0, 0] == 42.0
    assert len(notes) == 1 and "onnxruntime cannot run" in notes[0]
    assert "qonnx.custom_op.general:Quant" in notes[0]


def test_onnxruntime_failure_is_a_user_error_with_its_explanation(tmp_path):
    model = gemm("N")
    model.ir_version = 99
    path = tmp_path / "future.onnx"
    onnx.save(model, path)
    with pytest.raises(FloatReferenceError) as info:
        run_onnxruntime(path, [X])
    message = str(info.value)
    assert message.startswith(f"onnxruntime cannot load '{path}' as the float reference: ")
    assert "IR version" in message and "\n" not in message
