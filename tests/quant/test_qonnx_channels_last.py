"""QONNX channels-last graphs (qonnx's own ConvertToChannelsLastAndClean) read as the layout they declare.

Fixture: a small QONNX CNN (Quant input and weights, Conv, BatchNormalization, Relu, MaxPool, Flatten,
MatMul) built with onnx.helper in channels-first layout, converted by qonnx 1.0's own transformation,
with and without a channels-last graph input. References: qonnx's executor
(`qonnx.core.onnx_exec.execute_onnx`) on both layouts; the nn2hls IR float executor must match it,
and the fixed-point emulation of the channels-last file must equal, bit for bit, that of the
channels-first file it came from (the same quantized network read through another layout).
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir.execute import execute
from nn2hls.ir.ops import Transpose

qonnx = pytest.importorskip("qonnx")
from qonnx.core.modelwrapper import ModelWrapper  # noqa: E402
from qonnx.core.onnx_exec import execute_onnx  # noqa: E402
from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean  # noqa: E402
from qonnx.transformation.infer_shapes import InferShapes  # noqa: E402

QONNX = "qonnx.custom_op.general"
CHANNELS_LAST = "qonnx.custom_op.channels_last"


def _qonnx_cnn(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)

    def init(name, values):
        return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)

    inits = [init("W", rng.normal(size=(4, 3, 3, 3))), init("b", rng.normal(size=4)), init("s", [0.125]),
             init("z", [0.0]), init("bits", [4.0]), init("ws", [0.25]), init("g", rng.uniform(0.5, 1.5, 4)),
             init("beta", rng.normal(size=4)), init("mean", rng.normal(size=4)),
             init("var", rng.uniform(0.5, 2.0, 4)), init("W2", rng.normal(size=(4 * 3 * 3, 5)))]
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "bits"], ["xq"], domain=QONNX, signed=1, narrow=0,
                         rounding_mode="ROUND"),
        helper.make_node("Quant", ["W", "ws", "z", "bits"], ["Wq"], domain=QONNX, signed=1, narrow=0,
                         rounding_mode="ROUND"),
        helper.make_node("Conv", ["xq", "Wq", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["mp"], name="pool", kernel_shape=[2, 2], strides=[2, 2],
                         pads=[0, 0, 0, 0]),
        helper.make_node("Flatten", ["mp"], ["f"]),
        helper.make_node("MatMul", ["f", "W2"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "qcnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX, 1)])


def _qonnx_run(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    out = model.graph.output[0].name
    name = model.graph.input[0].name
    return np.concatenate([execute_onnx(model, {name: x[i:i + 1].astype(np.float32)})[out]
                           for i in range(len(x))]).astype(np.float64)


@pytest.fixture(scope="module")
def models():
    first = ModelWrapper(_qonnx_cnn()).transform(InferShapes())
    return {"first": first,
            "last_body": first.transform(ConvertToChannelsLastAndClean(make_input_channels_last=False)),
            "last_input": first.transform(ConvertToChannelsLastAndClean(make_input_channels_last=True))}


def _data(n: int = 24) -> np.ndarray:
    x = np.random.default_rng(3).normal(size=(n, 3, 6, 6))
    x[:4] = np.round(x[:4] * 16) / 16  # exact ties of the input quantizer (scale 2^-3)
    return x


@pytest.mark.parametrize("variant", ["last_body", "last_input"])
def test_fixture_is_channels_last(models, variant):
    """qonnx wrote its channels-last ops (the fixture is what the test claims)."""
    domains = {(n.domain, n.op_type) for n in models[variant].graph.node}
    assert {(CHANNELS_LAST, "Conv"), (CHANNELS_LAST, "MaxPool"), (CHANNELS_LAST, "BatchNormalization")} <= domains
    dims = [d.dim_value for d in models[variant].graph.input[0].type.tensor_type.shape.dim]
    assert dims == ([1, 6, 6, 3] if variant == "last_input" else [1, 3, 6, 6])


@pytest.mark.parametrize("variant", ["last_body", "last_input"])
def test_channels_last_matches_qonnx_and_channels_first(models, variant):
    from nn2hls import compile as compile_model

    x = _data()
    xv = x.transpose(0, 2, 3, 1) if variant == "last_input" else x
    ref_first = _qonnx_run(models["first"], x)
    ref_last = _qonnx_run(models[variant], xv)
    np.testing.assert_allclose(ref_last, ref_first, rtol=1e-5, atol=1e-4)  # qonnx: the two layouts agree
    g_first = load_onnx(models["first"].model)
    g_last = load_onnx(models[variant].model)
    assert g_last.input.shape == xv.shape[1:]
    np.testing.assert_allclose(execute(g_last, xv)[0], ref_last, rtol=1e-5, atol=1e-4)
    # the same quantized network: its fixed-point emulation is identical through either layout
    y_first = compile_model(g_first, calibration=x).emulate(x)
    y_last = compile_model(g_last, calibration=xv).emulate(xv)
    np.testing.assert_array_equal(y_last, y_first)
    assert np.abs(y_last - ref_last).max() < 0.05 * np.abs(ref_last).max()


def test_channels_last_input_costs_no_transpose(models):
    """With a channels-last input the declared layout is the IR's own: no Transpose node at all."""
    graph = load_onnx(models["last_input"].model)
    assert not [n for n in graph.topological() if isinstance(n.op, Transpose)]


def _single(op_type: str, shape: list[int], **attrs) -> onnx.ModelProto:
    node = helper.make_node(op_type, ["x"], ["y"], name="cl_node", domain=CHANNELS_LAST, **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.ones(1, np.float32), "unused")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_channels_last_max_pool_by_hand():
    """MaxPool over an NHWC value written down by hand: channels stay apart."""
    model = _single("MaxPool", [None, 2, 2, 2], kernel_shape=[2, 2])
    x = np.array([[[[1, -5], [2, 7]], [[-3, 4], [0, 6]]]], dtype=np.float64)  # (1, H, W, C)
    assert np.array_equal(execute(load_onnx(model), x)[0], [[[[2, 7]]]])


def test_unsupported_channels_last_op_is_named():
    with pytest.raises(UnsupportedOpError, match="channels-last op 'AveragePool' at node 'cl_node'"):
        load_onnx(_single("AveragePool", [None, 2, 2, 2], kernel_shape=[2, 2]))


def test_unknown_rank_is_a_clear_error():
    model = _single("BatchNormalization", [None, 2, 2, 2])
    del model.graph.input[0].type.tensor_type.shape.dim[:]
    model.graph.input[0].type.tensor_type.ClearField("shape")
    with pytest.raises(UnsupportedOpError, match="'cl_node'.*rank of its input 'x' is unknown"):
        load_onnx(model)
