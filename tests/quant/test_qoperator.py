"""onnxruntime's QOperator format (QLinearConv, QLinearMatMul, QLinearAdd, QGemm, QLinearGlobalAveragePool).

Fixtures: small float models built here with onnx.helper, quantized by onnxruntime's own
`quantize_static(..., quant_format=QuantFormat.QOperator)`. References:

- onnxruntime on the quantized file as written (ORT_DISABLE_ALL). Its kernels requantize the exact
  int32 accumulator with a float32 multiplier, `round_half_even(float32(acc * float32(sx*sw/sy)))`;
  nn2hls implements the definition with the exact multiplier (docs/semantics.md, "QOperator"). The
  two agree bit for bit except when acc*sx*sw/sy lies within float32 rounding (~2^-17 quantum) of a
  half-integer, where they differ by one quantum (and that quantum can propagate to later layers).
- For one QLinearConv, an integer evaluation written in this test (numpy int64 accumulator, float64
  scaling, round half to even): nn2hls matches it on every output that is not within 1e-6 of a
  tie, and every difference from onnxruntime is such a near-tie.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir.execute import execute
from nn2hls.ir.ops import Conv, Dense
from nn2hls.passes.pipeline import run_passes

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")

QOPS = {"QLinearConv", "QLinearAdd", "QLinearGlobalAveragePool", "QGemm", "QLinearMatMul"}


def _init(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)


def _float_cnn(seed: int = 0, tail: str = "Relu", size: int = 8) -> onnx.ModelProto:
    """Conv-Relu-MaxPool-Conv-Add(residual)-GlobalAveragePool-Flatten-Gemm-<tail>-MatMul, NCHW 3 x size x size."""
    rng = np.random.default_rng(seed)
    inits = [_init("W1", rng.normal(0, 0.4, (4, 3, 3, 3))), _init("b1", rng.normal(0, 0.1, 4)),
             _init("W2", rng.normal(0, 0.3, (4, 4, 3, 3))), _init("b2", rng.normal(0, 0.1, 4)),
             _init("Wf", rng.normal(0, 0.5, (4, 5))), _init("bf", rng.normal(0, 0.1, 5)),
             _init("Wm", rng.normal(0, 0.5, (5, 3)))]
    nodes = [helper.make_node("Conv", ["x", "W1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "W2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c2", "p1"], ["a"], name="residual"),
             helper.make_node("GlobalAveragePool", ["a"], ["gp"], name="gap"),
             helper.make_node("Flatten", ["gp"], ["f"]),
             helper.make_node("Gemm", ["f", "Wf", "bf"], ["g"], name="fc"),
             helper.make_node(tail, ["g"], ["t"], name="tail"),
             helper.make_node("MatMul", ["t", "Wm"], ["y"], name="out")]
    graph = helper.make_graph(nodes, "fcnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _float_conv(seed: int = 1) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [_init("W", rng.normal(0, 0.4, (6, 3, 3, 3))), _init("b", rng.normal(0, 0.2, 6))]
    nodes = [helper.make_node("Conv", ["x", "W", "b"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    graph = helper.make_graph(nodes, "fconv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 6, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def _quantize(model: onnx.ModelProto, calibration: np.ndarray, out_dir, **options):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(calibration.astype(np.float32)[i:i + 1] for i in range(len(calibration)))

        def get_next(self):
            row = next(self.rows, None)
            return None if row is None else {"x": row}

    src, dst = out_dir / "float.onnx", out_dir / "qop.onnx"
    onnx.save(model, src)
    activation = getattr(QuantType, options.pop("activation_type", "QUInt8"))
    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QOperator, activation_type=activation,
                    weight_type=QuantType.QInt8, **options)
    return dst


def _ort(path, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)


def _constant(model: onnx.ModelProto, name: str) -> np.ndarray:
    return next(numpy_helper.to_array(t) for t in model.graph.initializer if t.name == name)


def _data(n: int, seed: int = 0, size: int = 8) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 3, size, size))
    x[:20] *= 6  # saturating inputs
    return x


# the average pool sums 4x4 = 16 values (1/16 exact) on 8x8 inputs, 3x3 = 9 values on 6x6 inputs
VARIANTS = {"uint8_per_tensor_8x8": dict(size=8),
            "int8_per_channel_6x6": dict(size=6, activation_type="QInt8", per_channel=True)}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def cnn(request, tmp_path_factory):
    options = dict(VARIANTS[request.param])
    size = options.pop("size")
    x = _data(2000, size=size)
    path = _quantize(_float_cnn(size=size), x[:64], tmp_path_factory.mktemp(request.param), **options)
    graph = load_onnx(path)
    typed = run_passes(graph, Config(), x[:300])
    return request.param, path, graph, typed, x


def test_fixture_is_qoperator(cnn):
    _, path, *_ = cnn
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert QOPS <= ops and not {"Conv", "Gemm", "Add"} & ops


def test_qoperator_matches_onnxruntime(cnn):
    """Output codes equal onnxruntime's except where its float32 multiplier rounds a near-tie the other way."""
    name, path, graph, typed, x = cnn
    ref = _ort(path, x)
    y_scale = float(_constant(onnx.load(path), "y_scale"))
    got = emulate(typed, x).outputs[0]
    codes = np.round(got / y_scale) - np.round(ref / y_scale)
    assert np.abs(got - ref).max() <= 2.01 * y_scale  # an inner near-tie moved later codes by <= 2 on these samples
    assert np.mean(codes == 0) >= 0.999, (name, np.mean(codes == 0))
    assert np.unique(ref).size > 50
    np.testing.assert_array_equal(execute(graph, x)[0], got)  # the float executor runs the same definition


def test_qoperator_layers_are_integer(cnn):
    """Every Conv/Dense has integer weights; those without padding read integers (exact accumulator, one
    multiply per output). A padded Conv reads its dequantized input when the zero point is not 0 (padding
    is real 0, not the zero point): still exact, only wider."""
    name, _, _, typed, _ = cnn
    layers = [n for n in typed.topological() if isinstance(n.op, (Conv, Dense))]
    assert len(layers) == 5  # conv1, conv2, the average pool as a depthwise sum, fc, out
    for layer in layers[1:]:
        padded = isinstance(layer.op, Conv) and any(p != (0, 0) for p in layer.op.pads)
        if not padded or name.startswith("uint8"):
            assert typed.nodes[layer.inputs[0]].precision["result"].frac == 0, layer.name
    for layer in layers:
        k = layer.weights["kernel"]
        if layer.name.startswith("gap") and name.endswith("8x8"):  # 1/16: a power of two is kept (a shift)
            assert np.all(k == 1 / 16)
        else:  # 1/9 is factored out as a per-output scale, merged into the requantization
            assert np.array_equal(k, np.round(k)) and np.abs(k).max() <= 127, layer.name


def _round_half_even(v: np.ndarray) -> np.ndarray:
    return np.round(v)  # numpy rounds half to even


def test_single_qlinearconv_by_integer_definition(tmp_path):
    """y = clamp(round_half_even((sum (x - zx) * w + B) * sx * sw / sy) + zy), computed here in int64."""
    x = _data(400, seed=5)
    path = _quantize(_float_conv(), x[:64], tmp_path, activation_type="QInt8", per_channel=True)
    model = onnx.load(path)
    (conv,) = [n for n in model.graph.node if n.op_type == "QLinearConv"]
    sx, zx, w, sw, zw, sy, zy, bias = (_constant(model, conv.input[i]) for i in (1, 2, 3, 4, 5, 6, 7, 8))
    assert not np.any(zw)
    q = np.clip(np.round(x / float(sx)) + int(zx), -128, 127).astype(np.int64) - int(zx)  # QuantizeLinear
    qp = np.pad(q, ((0, 0), (0, 0), (1, 1), (1, 1)))
    acc = np.zeros((len(x), 6, 8, 8), dtype=np.int64)
    for i in range(3):
        for j in range(3):
            acc += np.einsum("nchw,oc->nohw", qp[:, :, i:i + 8, j:j + 8], w[:, :, i, j].astype(np.int64))
    acc += bias.astype(np.int64)[None, :, None, None]
    v = acc * (float(sx) * sw.astype(np.float64))[None, :, None, None] / float(sy)
    expected = np.clip(_round_half_even(v) + int(zy), -128, 127) - int(zy)
    near_tie = np.abs(np.abs(v - np.floor(v)) - 0.5) < 1e-6

    got = emulate(run_passes(load_onnx(path), Config(), x[:100]), x).outputs[0] / float(sy)
    np.testing.assert_array_equal(np.round(got)[~near_tie], expected[~near_tie])
    assert np.array_equal(got, np.round(got))
    ort_codes = np.round(_ort(path, x) / float(sy))
    differs = ort_codes != np.round(got)
    assert np.all(np.abs(ort_codes - np.round(got)) <= 1)
    assert np.all(near_tie[differs])  # onnxruntime's float32 multiplier decided a near-tie
    assert np.mean(differs) < 1e-3


def test_unsupported_qoperator_is_named(tmp_path):
    x = _data(64)
    path = _quantize(_float_cnn(tail="Sigmoid"), x, tmp_path)
    with pytest.raises(UnsupportedOpError, match=r"'com\.microsoft\.QLinearSigmoid' at node '[^']+'.*QDQ"):
        load_onnx(path)


def test_qgemm_alpha_is_refused(tmp_path):
    x = _data(64)
    model = onnx.load(_quantize(_float_cnn(), x, tmp_path))
    (gemm,) = [n for n in model.graph.node if n.op_type == "QGemm"]
    gemm.attribute.append(helper.make_attribute("alpha", 2.0))
    with pytest.raises(UnsupportedOpError, match="QGemm node '[^']+': alpha=2.0"):
        load_onnx(model)


@pytest.mark.csim
def test_qoperator_csim_bit_exact(cnn, tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build

    name, _, _, typed, x = cnn
    expected = emulate(typed, x[:500]).outputs[0]
    got = build(write_project(typed, Config(), tmp_path / "prj")).predict(x[:500])
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(got, expected)
