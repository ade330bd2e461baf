"""Second-round layers (issue 15) against the frameworks, in float: MatMul with a constant left operand,
pooling with ceil_mode and Embedding (torch, both ONNX exporters; Keras 3 .keras and .h5), Keras nested
models, TimeDistributed and EinsumDense. The IR float executor within 1e-5 of torch and of onnxruntime
(ORT_DISABLE_ALL) or Keras, the 32-bit emulator within 1e-3 of the framework; Embedding's out-of-range
rule and the integer input type; the refusals' messages."""
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
@pytest.mark.parametrize("name", ["left_matmul", "ceil_pools", "ceil_pool1d", "embedding"])
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


# ---- Embedding ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_embedding_matches(suffix, tmp_path):
    model = fixtures.keras_model("embedding")
    x = fixtures.keras_input("embedding", 40)
    ref = model.predict(x, verbose=0)
    path = tmp_path / f"embedding{suffix}"
    model.save(path)
    graph = nn2hls.load(path)
    (node,) = [n for n in graph.nodes.values() if isinstance(n.op, ops.Embedding)]
    assert graph.inputs[0].op.integer and node.weights["table"].shape == (12, 4)
    (y,) = execute(graph, x)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    emulated = nn2hls.compile(path, WIDE, calibration=x).emulate(x)
    assert float(np.max(np.abs(emulated - ref))) <= 1e-3


def _lookup_graph(table, n=6):
    from nn2hls.ir.graph import Graph
    g = Graph("lookup")
    g.add(ops.Input(shape=(n,), integer=True), name="idx")
    g.add(ops.Embedding(), ["idx"], name="emb", weights={"table": table})
    g.outputs = ["emb"]
    return g


def test_embedding_out_of_range_reads_zeros():
    """Indices -3, 12, 13, 1000, -1000 lie outside the 12 rows: zeros; index 5 reads row 5; 2.7 is
    floored to row 2 (the float executor and the emulator with its auto index type agree)."""
    table = np.arange(48, dtype=np.float64).reshape(12, 4) / 8 - 2.5
    x = np.array([[-3, 12, 13, 1000, -1000, 5], [0, 11, 2.7, 1, -1, 12]])
    expected = np.zeros((2, 6, 4))
    expected[0, 5] = table[5]
    expected[1, 0], expected[1, 1], expected[1, 2], expected[1, 3] = table[0], table[11], table[2], table[1]
    graph = _lookup_graph(table)
    (y,) = execute(graph, x)
    np.testing.assert_array_equal(y, expected)
    compiled = nn2hls.compile(graph)
    assert str(compiled.graph.inputs[0].precision["result"]) == "ap_fixed<5,5,AP_TRN,AP_SAT>"
    np.testing.assert_array_equal(compiled.emulate(x), expected)


def test_integer_input_type_from_the_config():
    table = np.ones((12, 4))
    compiled = nn2hls.compile(_lookup_graph(table), {"precision": {"integer_input": "ap_uint<4>",
                                                                   "input": "ap_fixed<8,3>"}})
    assert str(compiled.graph.inputs[0].precision["result"]) == "ap_uint<4>"


def test_fractional_index_type_refused():
    from nn2hls.errors import ConfigError
    with pytest.raises(ConfigError) as info:
        nn2hls.compile(_lookup_graph(np.ones((3, 2))), {"precision": {"integer_input": "ap_fixed<8,4>"}})
    assert str(info.value) == ("config: 'precision.integer_input': ap_fixed<8,4> has 4 fractional bits; an index "
                               "type has none (ap_int<W>, ap_uint<W>, ap_fixed<W,W>)")
    with pytest.raises(ConfigError) as info:
        nn2hls.compile(_lookup_graph(np.ones((3, 2))), {"precision": {"layers": {"idx": {"result": "ap_fixed<8,4>"}}}})
    assert str(info.value).startswith("layer 'emb': its index input 'idx' has type ap_fixed<8,4> has 4 fractional")


def test_integer_input_read_by_arithmetic_refused():
    from onnx import TensorProto, helper, numpy_helper
    from nn2hls.errors import UnsupportedOpError
    inputs = [helper.make_tensor_value_info("i", TensorProto.INT64, ["N", 4])]
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["i", "W"], ["y"], name="mm")], "m", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with pytest.raises(UnsupportedOpError) as info:
        load_onnx(model)
    assert str(info.value) == ("ONNX model 'm': input 'i' is an integer tensor read by Dense node 'mm'; integer "
                               "inputs are supported only as indices of an Embedding (Keras Embedding, a Gather "
                               "from a constant table)")


def test_keras_mask_zero_refused(tmp_path):
    import keras
    from nn2hls.errors import UnsupportedOpError
    inp = keras.Input((3,), dtype="int32")
    model = keras.Model(inp, keras.layers.Embedding(5, 2, mask_zero=True, name="masked")(inp))
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedOpError) as info:
        nn2hls.load(tmp_path / "m.keras")
    assert str(info.value).startswith("layer 'masked' (Embedding): mask_zero=True is not supported")


# ---- Keras nested models, TimeDistributed, EinsumDense ----------------------------------------------
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", ["nested", "td_conv", "td_conv1d"])
def test_keras_flattened_layers_match(name, suffix, tmp_path):
    model = fixtures.keras_model(name)
    x = fixtures.keras_input(name, 40)
    ref = model.predict(x, verbose=0)
    path = tmp_path / f"{name}{suffix}"
    model.save(path)
    graph = nn2hls.load(path)
    (y,) = execute(graph, x)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    emulated = nn2hls.compile(path, WIDE, calibration=x).emulate(x)
    assert float(np.max(np.abs(emulated - ref))) <= 1e-3
    if name == "nested":  # every layer of the two nested models is in the graph, under its own name
        dense = {n.source_name for n in graph.nodes.values() if isinstance(n.op, ops.Dense)}
        assert dense == {"td", "ein", "mid", "in_d1", "in_d2", "f_d"}
    if name == "td_conv":  # one Conv2D per time step
        assert sum(isinstance(n.op, ops.Conv) for n in graph.nodes.values()) == 3


def test_keras_live_nested_model():
    model = fixtures.keras_model("nested")
    x = fixtures.keras_input("nested", 10)
    (y,) = execute(nn2hls.load(model), x)
    np.testing.assert_allclose(y, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def _keras_error(model, tmp_path):
    from nn2hls.errors import UnsupportedOpError
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnsupportedOpError) as info:
        nn2hls.load(tmp_path / "m.keras")
    return str(info.value)


def test_einsum_dense_other_equation_refused(tmp_path):
    import keras
    inp = keras.Input((3, 4))
    out = keras.layers.EinsumDense("abc,cd->abd", output_shape=(3, 2), bias_axes="b", name="ein")(inp)
    assert _keras_error(keras.Model(inp, out), tmp_path) == (
        "layer 'ein' (EinsumDense): equation 'abc,cd->abd' with bias_axes 'b' is not supported; supported: the "
        "forms a Dense computes, '...c,cd->...d' (e.g. 'ab,bc->ac', 'abc,cd->abd'), with bias_axes empty or the "
        "output letter")
    inp = keras.Input((3, 4))
    out = keras.layers.EinsumDense("abc,cde->abde", output_shape=(3, 2, 5), name="ein2")(inp)
    assert _keras_error(keras.Model(inp, out), tmp_path).startswith(
        "layer 'ein2' (EinsumDense): equation 'abc,cde->abde' with bias_axes '' is not supported;")


def test_nested_model_called_twice_refused(tmp_path):
    import keras
    ii = keras.Input((4,))
    inner = keras.Model(ii, keras.layers.Dense(4, name="shared_d")(ii), name="twice")
    inp = keras.Input((4,))
    assert _keras_error(keras.Model(inp, inner(inner(inp))), tmp_path) == (
        f"'{tmp_path / 'm.keras'}': nested model 'twice' is called more than once; a nested model called once is "
        "supported (call a copy of it for each use)")


def test_keras_embedding_on_a_float_input(tmp_path):
    """A Sequential without an int Input: Keras casts the Embedding's input itself; nn2hls makes that
    input an integer input."""
    import keras
    model = keras.Sequential([keras.Input((5,)), keras.layers.Embedding(9, 3), keras.layers.Flatten(),
                              keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    x = np.random.default_rng(4).integers(0, 9, size=(20, 5))
    graph = nn2hls.load(tmp_path / "m.keras")
    assert graph.inputs[0].op.integer
    (y,) = execute(graph, x)
    np.testing.assert_allclose(y, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
