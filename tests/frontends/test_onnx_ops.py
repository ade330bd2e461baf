"""Per-op ONNX import: small random models built with onnx.helper, IR float execution vs onnxruntime."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir.execute import execute
from nn2hls.ir.ops import Dense, Reshape, ScaleShift, Transpose

RNG_SEED = 1234


def const(name: str, value) -> onnx.TensorProto:
    value = np.asarray(value)
    if value.dtype == np.float64:
        value = value.astype(np.float32)
    return numpy_helper.from_array(value, name)


def model(nodes, in_shape, inits=(), *, opset=13, outputs=("y",), batch="N") -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes), "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, *in_shape])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def compare(m: onnx.ModelProto, in_shape, *, n=4, positive=False):
    """Import m, run the IR and onnxruntime on the same random batch, assert they agree; return graph."""
    rng = np.random.default_rng(RNG_SEED)
    x = rng.normal(size=(n, *in_shape)).astype(np.float32)
    if positive:
        x = np.abs(x) + 0.1
    options = ort.SessionOptions()  # the graph as written: no fused kernels
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
    refs = sess.run(None, {"x": x})
    graph = load_onnx(m)
    ours = execute(graph, x)
    assert len(ours) == len(refs)
    for a, ref in zip(ours, refs):
        assert a.shape == ref.shape
        scale = max(float(np.max(np.abs(ref))), 1e-3)
        np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-5 * scale)
    return graph


def w(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def kinds(graph, op_type):
    return [n for n in graph.nodes.values() if isinstance(n.op, op_type)]


# ---- Dense ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("transB", [0, 1])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 2.0)])
@pytest.mark.parametrize("c_shape,opset", [(c, o) for c in (None, (5,), (1, 5), ()) for o in (9, 13, 21)
                                            if c is not None or o >= 11])  # C is optional from opset 11
def test_gemm(transB, alpha, beta, c_shape, opset):
    b = w(5, 6) if transB else w(6, 5)
    inits = [const("B", b)]
    ins = ["x", "B"]
    if c_shape is not None:
        inits.append(const("C", w(*c_shape, seed=1) if c_shape else np.float32(0.7)))
        ins.append("C")
    node = helper.make_node("Gemm", ins, ["y"], transB=transB, alpha=alpha, beta=beta, name="gemm")
    g = compare(model([node], [6], inits, opset=opset), [6])
    assert len(kinds(g, Dense)) == 1


def test_matmul_add_bias_is_fused_into_dense():
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])]
    g = compare(model(nodes, [6], [const("W", w(6, 4)), const("b", w(4, seed=2))]), [6])
    (dense,) = kinds(g, Dense)
    assert "bias" in dense.weights and not kinds(g, ScaleShift)


def test_matmul_rank3_input():
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["b", "h"], ["y"])]
    compare(model(nodes, [3, 6], [const("W", w(6, 4)), const("b", w(4, seed=2))]), [3, 6])


# ---- Conv -----------------------------------------------------------------------------------------

CONV2D_CASES = [
    dict(),
    dict(pads=[1, 1, 1, 1]),
    dict(pads=[0, 1, 2, 1], strides=[2, 1]),
    dict(dilations=[2, 1], pads=[1, 0, 1, 0]),
    dict(strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(strides=[2, 2], auto_pad="SAME_LOWER"),
    dict(auto_pad="SAME_UPPER"),
    dict(auto_pad="VALID", strides=[1, 2]),
    dict(auto_pad="NOTSET", pads=[2, 2, 2, 2]),
]


@pytest.mark.parametrize("attrs", CONV2D_CASES, ids=lambda a: str(a) or "default")
@pytest.mark.parametrize("with_kernel_shape", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(attrs, with_kernel_shape, bias):
    kw = dict(attrs)
    if with_kernel_shape:
        kw["kernel_shape"] = [3, 2]
    ins = ["x", "W"] + (["B"] if bias else [])
    inits = [const("W", w(4, 3, 3, 2)), const("B", w(4, seed=3))]
    node = helper.make_node("Conv", ins, ["y"], **kw)
    compare(model([node], [3, 7, 6], inits[: len(ins) - 1]), [3, 7, 6])


@pytest.mark.parametrize("attrs", [dict(), dict(pads=[1, 2]), dict(strides=[2]), dict(dilations=[2]),
                                   dict(auto_pad="SAME_UPPER", strides=[2]), dict(auto_pad="VALID")],
                         ids=str)
def test_conv1d(attrs):
    node = helper.make_node("Conv", ["x", "W", "B"], ["y"], **attrs)
    compare(model([node], [2, 9], [const("W", w(3, 2, 3)), const("B", w(3, seed=1))]), [2, 9])


@pytest.mark.parametrize("opset", [9, 11, 18, 21])
def test_conv_across_opsets(opset):
    node = helper.make_node("Conv", ["x", "W"], ["y"], pads=[1, 1, 1, 1])
    compare(model([node], [2, 5, 5], [const("W", w(3, 2, 3, 3))], opset=opset), [2, 5, 5])


# ---- pooling --------------------------------------------------------------------------------------

POOL_CASES = [
    dict(kernel_shape=[2, 2], strides=[2, 2]),
    dict(kernel_shape=[3, 3]),
    dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1]),
    dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER"),
    dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="VALID"),
    dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),  # same shape as floor mode on 6x6
]


@pytest.mark.parametrize("attrs", POOL_CASES, ids=str)
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool0", "AveragePool1"])
def test_pool2d(attrs, op):
    kw = dict(attrs)
    if op.startswith("AveragePool"):
        kw["count_include_pad"] = int(op[-1])
        op = "AveragePool"
    node = helper.make_node(op, ["x"], ["y"], **kw)
    compare(model([node], [3, 6, 6], [const("unused", [1.0])]), [3, 6, 6])


@pytest.mark.parametrize("attrs", [dict(kernel_shape=[2], strides=[2]), dict(kernel_shape=[3], pads=[1, 1]),
                                   dict(kernel_shape=[3], strides=[2], auto_pad="SAME_UPPER")], ids=str)
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool1d(attrs, op):
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    compare(model([node], [2, 9], [const("unused", [1.0])]), [2, 9])


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("follow", ["Flatten", "Reshape", "Squeeze", "none"])
def test_global_pool(op, follow):
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node(op, ["c"], ["g"])]
    inits = [const("W", w(4, 3, 3, 3)), const("G", w(4, 2)), const("shape", np.array([0, -1], np.int64)),
             const("axes", np.array([2, 3], np.int64))]
    if follow == "Flatten":
        nodes.append(helper.make_node("Flatten", ["g"], ["f"]))
    elif follow == "Reshape":
        nodes.append(helper.make_node("Reshape", ["g", "shape"], ["f"]))
    elif follow == "Squeeze":
        nodes.append(helper.make_node("Squeeze", ["g", "axes"], ["f"]))
    if follow == "none":
        nodes.append(helper.make_node("Identity", ["g"], ["y"]))
    else:
        nodes.append(helper.make_node("Gemm", ["f", "G"], ["y"]))
    g = compare(model(nodes, [3, 6, 5], inits), [3, 6, 5])
    if follow != "none":
        assert not [n for n in kinds(g, Transpose) if n.inputs[0] != g.input.name]


# ---- BatchNorm, activations, softmax --------------------------------------------------------------

@pytest.mark.parametrize("in_shape", [[4], [4, 5], [4, 3, 5]])
@pytest.mark.parametrize("opset", [9, 15])
def test_batchnorm(in_shape, opset):
    inits = [const("s", w(4)), const("b", w(4, seed=1)), const("m", w(4, seed=2)),
             const("v", np.abs(w(4, seed=3)) + 0.5)]
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)
    compare(model([node], in_shape, inits, opset=opset), in_shape)


ACTIVATIONS = [
    ("Relu", {}), ("Sigmoid", {}), ("Tanh", {}),
    ("LeakyRelu", {}), ("LeakyRelu", {"alpha": 0.3}),
    ("Elu", {}), ("Elu", {"alpha": 0.5}),
    ("HardSigmoid", {}), ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}),
]


@pytest.mark.parametrize("op,attrs", ACTIVATIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("in_shape", [[6], [2, 3, 4]])
def test_activation(op, attrs, in_shape):
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    compare(model([node], in_shape, [const("unused", [1.0])]), in_shape)


@pytest.mark.parametrize("bounds", [(0.0, 6.0), (-0.5, None), (None, 0.25), (None, None)], ids=str)
@pytest.mark.parametrize("opset", [9, 11, 13, 21])
def test_clip(bounds, opset):
    low, high = bounds
    inits = [const("unused", [1.0])]
    if opset < 11:
        attrs = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
        node = helper.make_node("Clip", ["x"], ["y"], **attrs)
    else:
        ins = ["x", "" if low is None else "lo", "" if high is None else "hi"]
        while ins[-1] == "":
            ins.pop()
        inits += [const("lo", np.float32(low or 0)), const("hi", np.float32(high or 0))]
        node = helper.make_node("Clip", ins, ["y"])
    compare(model([node], [7], inits, opset=opset), [7])


@pytest.mark.parametrize("opset,axis,in_shape", [
    (13, -1, [5]), (13, 1, [5]), (13, 1, [4, 3, 2]), (13, -1, [4, 3, 2]), (13, 2, [4, 3]),
    (11, 1, [5]), (11, 1, [4, 3]), (11, 2, [4, 3, 2]), (11, -1, [4, 3]), (9, 1, [6]), (21, 1, [3, 4])])
def test_softmax(opset, axis, in_shape):
    node = helper.make_node("Softmax", ["x"], ["y"], axis=axis)
    compare(model([node], in_shape, [const("unused", [1.0])], opset=opset), in_shape)


def test_softmax_over_channels_of_feature_map():
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node("Softmax", ["c"], ["y"], axis=1)]
    g = compare(model(nodes, [2, 4, 4], [const("W", w(3, 2, 1, 1))]), [2, 4, 4])
    assert [n.op.axis for n in g.nodes.values() if n.op.kind == "Softmax"] == [2]  # channels-last


# ---- wiring ---------------------------------------------------------------------------------------

def _cnn_head(tail_nodes, extra_inits=(), opset=13):
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"])] + tail_nodes
    return model(nodes, [2, 3, 4], [const("W", w(3, 2, 3, 3))] + list(extra_inits), opset=opset)


def test_flatten_into_gemm_permutes_kernel_rows_without_transpose():
    m = _cnn_head([helper.make_node("Flatten", ["r"], ["f"]), helper.make_node("Gemm", ["f", "G", "b"], ["y"])],
                  [const("G", w(36, 5)), const("b", w(5, seed=4))])
    g = compare(m, [2, 3, 4])
    transposes = kinds(g, Transpose)
    assert len(transposes) == 1 and transposes[0].inputs == (g.input.name,)  # only NCHW input -> NHWC
    assert len(kinds(g, Reshape)) == 1


def test_flatten_to_output_transposes_back():
    g = compare(_cnn_head([helper.make_node("Flatten", ["r"], ["y"])]), [2, 3, 4])
    assert len(kinds(g, Transpose)) == 2


def test_feature_map_output_in_source_layout():
    g = compare(_cnn_head([helper.make_node("Identity", ["r"], ["y"])]), [2, 3, 4])
    assert g.nodes[g.outputs[0]].shape == (3, 3, 4)


def test_pytorch_shape_subgraph_reshape():
    nodes = [helper.make_node("Shape", ["r"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["r", "shape"], ["f"]),
             helper.make_node("MatMul", ["f", "G"], ["y"])]
    inits = [const("zero", np.array(0, np.int64)), const("ax0", np.array([0], np.int64)),
             const("minus1", np.array([-1], np.int64)), const("G", w(36, 4))]
    g = compare(_cnn_head(nodes, inits), [2, 3, 4])
    assert {n.op.kind for n in g.nodes.values()} == {"Input", "Transpose", "Conv", "Activation", "Reshape", "Dense"}


@pytest.mark.parametrize("shape", [[0, -1], [-1, 36], [0, 3, -1], [0, 6, 6], [0, 36, 1]])
def test_reshape_constant_shape(shape):
    m = _cnn_head([helper.make_node("Reshape", ["r", "shape"], ["y"])],
                  [const("shape", np.array(shape, np.int64))])
    compare(m, [2, 3, 4])


def test_reshape_to_feature_map_then_conv():
    nodes = [helper.make_node("Gemm", ["x", "G"], ["h"]),
             helper.make_node("Reshape", ["h", "shape"], ["m"]),
             helper.make_node("Conv", ["m", "W"], ["y"])]
    inits = [const("G", w(5, 24)), const("shape", np.array([-1, 2, 3, 4], np.int64)), const("W", w(3, 2, 2, 2))]
    compare(model(nodes, [5], inits), [5])


@pytest.mark.parametrize("perm", [[0, 2, 3, 1], [0, 1, 3, 2], [0, 3, 1, 2]])
def test_transpose(perm):
    m = _cnn_head([helper.make_node("Transpose", ["r"], ["t"], perm=perm),
                   helper.make_node("Sigmoid", ["t"], ["y"])])
    compare(m, [2, 3, 4])


def test_transpose_then_matmul_last_axis():
    m = _cnn_head([helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 3, 1]),
                   helper.make_node("MatMul", ["t", "G"], ["y"])], [const("G", w(3, 5))])
    compare(m, [2, 3, 4])


@pytest.mark.parametrize("opset", [11, 13])
def test_squeeze_unsqueeze(opset):
    if opset >= 13:
        nodes = [helper.make_node("Unsqueeze", ["x", "a"], ["u"]), helper.make_node("Relu", ["u"], ["r"]),
                 helper.make_node("Squeeze", ["r", "a"], ["y"])]
        inits = [const("a", np.array([2], np.int64))]
    else:
        nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[2]), helper.make_node("Relu", ["u"], ["r"]),
                 helper.make_node("Squeeze", ["r"], ["y"], axes=[2])]
        inits = [const("unused", [1.0])]
    compare(model(nodes, [3, 4], inits, opset=opset), [3, 4])


@pytest.mark.parametrize("opset", [9, 12, 13])
def test_identity_and_dropout(opset):
    drop = helper.make_node("Dropout", ["i"], ["d"], **({"ratio": 0.5} if opset < 12 else {}))
    nodes = [helper.make_node("Identity", ["x"], ["i"]), drop, helper.make_node("Tanh", ["d"], ["y"])]
    compare(model(nodes, [5], [const("unused", [1.0])], opset=opset), [5])


def test_constant_node_weights():
    nodes = [helper.make_node("Constant", [], ["W"], value=const("v", w(4, 3))),
             helper.make_node("MatMul", ["x", "W"], ["y"])]
    compare(model(nodes, [4]), [4])


# ---- arithmetic -----------------------------------------------------------------------------------

CONSTANTS = {
    "scalar": np.float32(1.7),
    "per_channel": w(3, 1, 1, seed=5),
    "full": w(3, 2, 4, seed=6),
    "last_axis": w(4, seed=7),
    "batch1": w(1, 3, 1, 1, seed=8),
}


@pytest.mark.parametrize("op,constant_first", [(op, first) for op in ("Add", "Sub", "Mul", "Div")
                                                for first in (False, True)
                                                if not (op == "Div" and first)])  # c / x: test_onnx_errors
@pytest.mark.parametrize("which", sorted(CONSTANTS))
def test_arithmetic_with_constant(op, which, constant_first):
    c = CONSTANTS[which]
    if op == "Div":
        c = np.where(np.abs(c) < 0.1, 0.5, c).astype(np.float32)
    # After a 1x1 Conv the tensor is channels-last in the IR: per-channel constants become (C,).
    ins = ["c", "h"] if constant_first else ["h", "c"]
    nodes = [helper.make_node("Conv", ["x", "W"], ["h"]), helper.make_node(op, ins, ["y"])]
    g = compare(model(nodes, [3, 2, 4], [const("c", c), const("W", w(3, 3, 1, 1))]), [3, 2, 4])
    (ss,) = kinds(g, ScaleShift)
    expected = {"scalar": (), "per_channel": (3,), "batch1": (3,), "full": (2, 4, 3)}.get(which)
    if expected is not None and op in ("Mul", "Div"):
        assert ss.weights["scale"].shape == expected


def test_constant_on_source_layout_tensor():
    c = CONSTANTS["per_channel"]
    g = compare(model([helper.make_node("Mul", ["x", "c"], ["y"])], [3, 2, 4], [const("c", c)]), [3, 2, 4])
    (ss,) = kinds(g, ScaleShift)
    # per ONNX channel: applied on the channels-last data (a Transpose, wiring), one value per channel
    assert ss.weights["scale"].shape == (3,)
    assert isinstance(g.nodes[ss.inputs[0]].op, Transpose)


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul"])
def test_two_tensor_elementwise(op):
    nodes = [helper.make_node("Conv", ["x", "W1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "W2"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node(op, ["a", "b"], ["y"])]
    compare(model(nodes, [2, 4, 3], [const("W1", w(3, 2, 3, 3)), const("W2", w(3, 2, 3, 3, seed=9))]),
            [2, 4, 3])


def test_residual_add_mixed_layouts():
    # x (source layout) + conv(x) (channels-last): the input is brought to the conv's layout.
    nodes = [helper.make_node("Conv", ["x", "W"], ["a"], pads=[1, 1, 1, 1]), helper.make_node("Add", ["x", "a"], ["y"])]
    compare(model(nodes, [2, 4, 3], [const("W", w(2, 2, 3, 3))]), [2, 4, 3])


@pytest.mark.parametrize("axis", [1, -3, 2])
def test_concat_feature_maps(axis):
    nodes = [helper.make_node("Conv", ["x", "W1"], ["a"]), helper.make_node("Conv", ["x", "W2"], ["b"]),
             helper.make_node("Concat", ["a", "b"], ["y"], axis=axis)]
    compare(model(nodes, [2, 5, 5], [const("W1", w(3, 2, 3, 3)), const("W2", w(3, 2, 3, 3, seed=2))]), [2, 5, 5])


def test_concat_vectors_then_dense():
    nodes = [helper.make_node("Gemm", ["x", "A"], ["a"]), helper.make_node("Gemm", ["x", "B"], ["b"]),
             helper.make_node("Concat", ["a", "b"], ["c"], axis=1), helper.make_node("Gemm", ["c", "C"], ["y"])]
    compare(model(nodes, [4], [const("A", w(4, 3)), const("B", w(4, 2, seed=1)), const("C", w(5, 2, seed=2))]),
            [4])


def test_two_outputs_and_fixed_batch():
    nodes = [helper.make_node("Conv", ["x", "W"], ["y"]), helper.make_node("Flatten", ["y"], ["f"]),
             helper.make_node("Gemm", ["f", "G"], ["z"])]
    m = model(nodes, [2, 4, 4], [const("W", w(3, 2, 3, 3)), const("G", w(12, 2))], outputs=("y", "z"), batch=4)
    g = compare(m, [2, 4, 4], n=4)
    assert len(g.outputs) == 2


def test_awkward_names_are_made_safe():
    names = ['a"quote', "b*/c", "semi;colon", "new\nline"]
    nodes = [helper.make_node("Relu", ["x"], ["t0"], name=names[0]),
             helper.make_node("Sigmoid", ["t0"], ["t1"], name=names[1]),
             helper.make_node("Tanh", ["t1"], ["t2"], name=names[2]),
             helper.make_node("Relu", ["t2"], ["y"], name=names[3])]
    g = compare(model(nodes, [3], [const("unused", [1.0])]), [3])
    import re
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in g.nodes)
    assert sorted(n.source_name for n in g.nodes.values() if n.op.kind != "Input") == sorted(names)
