"""ONNX import errors: each is a one-line Nn2hlsError subclass whose text names the file/node/attribute."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from nn2hls.errors import ModelLoadError, Nn2hlsError, UnsupportedOpError
from nn2hls.frontends.onnx import SUPPORTED_OPS, load_onnx


def _model(nodes, in_shape=(4,), inits=None, *, opset=13, inputs=None):
    if inits is None:
        inits = [numpy_helper.from_array(np.ones((4, 3), np.float32), "W")]
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])]
    graph = helper.make_graph(nodes, "m", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _error(cls, source) -> str:
    with pytest.raises(cls) as info:
        load_onnx(source)
    message = str(info.value)
    assert "\n" not in message and isinstance(info.value, Nn2hlsError)
    return message


def test_unsupported_op_names_op_node_and_list():
    m = _model([helper.make_node("LSTM", ["x", "W"], ["y"], name="/lstm/LSTM")])
    message = _error(UnsupportedOpError, m)
    assert message == f"unsupported ONNX op 'LSTM' at node '/lstm/LSTM'; supported: {', '.join(SUPPORTED_OPS)}"
    assert message.startswith("unsupported ONNX op 'LSTM' at node '/lstm/LSTM'; supported: Add, AveragePool, ")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.onnx"
    assert _error(ModelLoadError, path) == f"ONNX model file '{path}' does not exist"


def test_truncated_file(tmp_path):
    good = _model([helper.make_node("MatMul", ["x", "W"], ["y"])])
    path = tmp_path / "cut.onnx"
    path.write_bytes(good.SerializeToString()[:-7])
    message = _error(ModelLoadError, path)
    assert message.startswith(f"cannot read ONNX model '{path}': the file is corrupt or truncated")


def test_garbage_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\xff\x00this is not protobuf at all\x01\x02" * 3)
    message = _error(ModelLoadError, path)
    assert message.startswith(f"cannot read ONNX model '{path}'")


def test_model_without_weights_imports():
    """A weightless model (activation stack) is a model like any other: Input -> relu."""
    m = _model([helper.make_node("Relu", ["x"], ["y"])], inits=[])
    graph = load_onnx(m)
    assert [(n.op.kind, n.inputs) for n in graph.topological()] == [("Input", ()), ("Activation", ("x",))]
    assert not any(n.weights for n in graph.nodes.values())


def test_several_inputs_import_in_file_order():
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 4]) for n in ("b", "a")]
    m = _model([helper.make_node("Sub", ["a", "b"], ["y"])], inputs=inputs)
    graph = load_onnx(m)
    assert [n.name for n in graph.inputs] == ["b", "a"]
    (sub,) = [n for n in graph.nodes.values() if n.op.kind == "Elementwise"]
    assert sub.inputs == ("a", "b")


def test_weights_exported_as_inputs_get_a_hint():
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
              helper.make_tensor_value_info("W", TensorProto.FLOAT, [4, 3])]
    m = _model([helper.make_node("MatMul", ["x", "W"], ["y"])], inputs=inputs, inits=[])
    assert _error(UnsupportedOpError, m) == (
        "ONNX MatMul node 'y': only products with one constant operand (x @ W or W @ x) are supported, not a "
        "product of two run-time tensors (the model has no weights and 2 inputs: if weights were exported as inputs, re-export "
        "with its parameters, torch.onnx.export(..., export_params=True))")


def test_several_inputs_each_checked():
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 4]),
              helper.make_tensor_value_info("b", TensorProto.BOOL, ["N", 4])]
    m = _model([helper.make_node("Add", ["a", "b"], ["y"])], inputs=inputs)
    assert _error(UnsupportedOpError, m) == ("ONNX model 'm': input 'b' must be a float tensor (or an integer "
                                             "tensor of Embedding indices)")


def test_dynamic_non_batch_dimension():
    m = _model([helper.make_node("MatMul", ["x", "W"], ["y"])], in_shape=("F",))
    assert _error(UnsupportedOpError, m) == ("ONNX model 'm': input 'x' has a dynamic dimension 'F' at axis 1; "
                                             "only the batch axis 0 may be dynamic (re-export with a fixed input "
                                             "shape)")


def test_conv_group_not_dividing_channels_refused():
    w = numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "W")
    m = _model([helper.make_node("Conv", ["x", "W"], ["y"], group=3, name="dw")], in_shape=(4, 6, 6), inits=[w])
    assert _error(UnsupportedOpError, m) == ("ONNX Conv node 'dw': attribute group=3 is not supported; supported: "
                                             "a divisor of the 4 input channels")


def test_conv_group_weight_mismatch_refused():
    w = numpy_helper.from_array(np.ones((4, 2, 3, 3), np.float32), "W")
    m = _model([helper.make_node("Conv", ["x", "W"], ["y"], group=4, name="dw")], in_shape=(4, 6, 6), inits=[w])
    assert _error(UnsupportedOpError, m).startswith("ONNX Conv node 'dw': weight of shape (4, 2, 3, 3) does not "
                                                    "match an input of shape (4, 6, 6) with group=4")


def test_left_matmul_of_a_vector_refused():
    w = numpy_helper.from_array(np.ones((3, 4), np.float32), "W")
    m = _model([helper.make_node("MatMul", ["W", "x"], ["y"], name="mm")], inits=[w])
    assert _error(UnsupportedOpError, m) == ("ONNX MatMul node 'mm': W @ x needs x of per-sample rank >= 2 "
                                             "(..., K, N); got per-sample shape (4,), whose matrix axis is the batch")


def test_bad_auto_pad():
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "W")
    m = _model([helper.make_node("Conv", ["x", "W"], ["y"], auto_pad="WEIRD", name="c")], in_shape=(1, 6, 6),
               inits=[w])
    assert _error(UnsupportedOpError, m) == ("ONNX Conv node 'c': attribute auto_pad='WEIRD' is not supported; "
                                             "supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER")


def test_flatten_axis_merging_batch():
    m = _model([helper.make_node("Flatten", ["x"], ["y"], axis=2, name="f")], in_shape=(2, 3))
    assert _error(UnsupportedOpError, m) == ("ONNX Flatten node 'f': axis=2 on an input of shape (N, 2, 3) mixes "
                                             "the samples of the batch (axis 0 of size N); nn2hls computes one "
                                             "sample at a time, so every op must keep the samples apart")


def test_reshape_changing_batch():
    shape = numpy_helper.from_array(np.array([-1], np.int64), "s")
    m = _model([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")], in_shape=(2, 3), inits=[shape])
    assert _error(UnsupportedOpError, m) == ("ONNX Reshape node 'r': target shape [-1] for an input of shape "
                                             "(N, 2, 3) mixes the samples of the batch (axis 0 of size N); nn2hls "
                                             "computes one sample at a time, so every op must keep the samples "
                                             "apart")


def test_constant_divided_by_tensor():
    c = numpy_helper.from_array(np.float32(2.0), "c")
    m = _model([helper.make_node("Div", ["c", "x"], ["y"], name="d")], inits=[c])
    assert _error(UnsupportedOpError, m) == "ONNX Div node 'd': constant / tensor is not supported (only tensor / constant)"


def test_matmul_of_two_tensors():
    m = _model([helper.make_node("MatMul", ["x", "x"], ["y"], name="mm")], in_shape=(4, 4))
    assert _error(UnsupportedOpError, m).startswith("ONNX MatMul node 'mm': only products with one constant operand")


def test_opset_newer_than_onnx_knows():
    from nn2hls.frontends.onnx_upgrade import MAX_OPSET
    m = _model([helper.make_node("MatMul", ["x", "W"], ["y"])], opset=MAX_OPSET + 1)
    assert _error(UnsupportedOpError, m) == (f"ONNX model 'm' uses opset {MAX_OPSET + 1}, newer than the installed "
                                             f"onnx package knows ({MAX_OPSET}); upgrade onnx (pip install -U "
                                             f"onnx) or re-export with opset_version <= {MAX_OPSET}")


def test_folding_only_op_on_tensor():
    idx = numpy_helper.from_array(np.array([0, 1], np.int64), "i")
    m = _model([helper.make_node("Gather", ["x", "i"], ["y"], axis=1, name="g")], inits=[idx])
    assert _error(UnsupportedOpError, m) == ("ONNX Gather node 'g': only a lookup in a constant table at run-time "
                                             "indices (an Embedding) is supported")


def test_every_unsupported_op_is_listed_at_once_source_ops_first():
    """An exported recurrent net: the error names LSTM (the source layer) before the other refused op
    that comes earlier in the file, and both at once, with their first nodes."""
    nodes = [helper.make_node("Erf", ["x"], ["e"], name="erf0"),
             helper.make_node("LSTM", ["e", "W"], ["y"], name="/lstm/LSTM"),
             helper.make_node("Erf", ["y"], ["z"], name="erf1")]
    message = _error(UnsupportedOpError, _model(nodes))
    assert message.startswith("unsupported ONNX ops (2) 'LSTM' at node '/lstm/LSTM', 'Erf' at node 'erf0'; "
                              "supported: ")


def test_external_weights_are_read_and_a_missing_data_file_is_named(tmp_path):
    """Weights saved as ONNX external data load from beside the model; moving the .onnx away from its
    .onnx.data gives an error naming the data file and the fix, not 'corrupt'."""
    import onnx

    kernel = np.arange(12, dtype=np.float32).reshape(4, 3)
    m = _model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
               inits=[numpy_helper.from_array(kernel, "W")])
    onnx.save(m, str(tmp_path / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="m.onnx.data", size_threshold=0)
    graph = load_onnx(tmp_path / "m.onnx")
    (node,) = [n for n in graph.nodes.values() if "kernel" in n.weights]
    assert np.array_equal(node.weights["kernel"], kernel)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (tmp_path / "m.onnx").rename(moved / "m.onnx")
    message = _error(ModelLoadError, moved / "m.onnx")
    assert "'m.onnx.data'" in message and "keep that file beside the .onnx" in message
