"""The element-wise activations added for layer breadth, emulated with wide (32-bit) types, against the
frameworks' own float outputs: torch (both ONNX exporters), Keras 3 (.keras and .h5) and onnxruntime
(graph optimizations off, the graph evaluated as written). Every output within 1e-3."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

import nn2hls
from nn2hls.ir import ops

WIDE = {"precision": {"default": {"result_width": 32, "weight_width": 32, "table_size": 65536,
                                  "table_width": 32}}}
TOL = 1e-3


def _emulate(model, x, example_input=None) -> list[np.ndarray]:
    compiled = nn2hls.compile(model, config=WIDE, calibration=x, example_input=example_input)
    y = compiled.emulate(x)
    return y if isinstance(y, list) else [y]


def _functions(graph) -> set[str]:
    return {n.op.function for n in graph.nodes.values() if isinstance(n.op, ops.Activation)}


# ---- torch ----------------------------------------------------------------------------------------
def _torch_cases():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def prelu_channels():
        m = nn.Sequential(nn.Conv2d(2, 4, 3), nn.PReLU(4))
        with torch.no_grad():
            m[1].weight.copy_(torch.tensor([0.3, -0.2, 0.0, 1.7]))
        return m, (2, 6, 6), "prelu"

    def dense(act, fn):
        return lambda: (nn.Sequential(nn.Linear(6, 5), act), (6,), fn)

    return {
        "prelu_scalar": dense(nn.PReLU(init=0.3), "prelu"),
        "prelu_channels": prelu_channels,
        "selu": dense(nn.SELU(), "selu"), "celu": dense(nn.CELU(0.7), "celu"),
        "softplus": dense(nn.Softplus(), "softplus"), "softsign": dense(nn.Softsign(), "softsign"),
        "hardswish": dense(nn.Hardswish(), "hard_swish"), "mish": dense(nn.Mish(), "mish"),
        "gelu": dense(nn.GELU(), "gelu"), "gelu_tanh": dense(nn.GELU(approximate="tanh"), "gelu_tanh"),
        "threshold": dense(nn.Threshold(0.2, -1.0), "thresholded_relu"),
    }


TORCH_NAMES = ["prelu_scalar", "prelu_channels", "selu", "celu", "softplus", "softsign", "hardswish", "mish",
               "gelu", "gelu_tanh", "threshold"]


@pytest.mark.torch
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", TORCH_NAMES)
def test_torch_activation_emulated_matches_torch(name, dynamo):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    if name == "threshold" and not dynamo:
        pytest.skip("torch's TorchScript exporter refuses aten::threshold with a nonzero threshold")
    torch.manual_seed(1)
    module, shape, function = _torch_cases()[name]()
    module.eval()
    x = torch.randn((300,) + shape) * 2
    from nn2hls.frontends.torch import load_torch
    graph = load_torch(module, x[:2], dynamo=dynamo)
    assert function in _functions(graph), _functions(graph)
    with torch.no_grad():
        ref = module(x).numpy().astype(np.float64)
    (y,) = _emulate(graph, x.numpy().astype(np.float64))
    assert np.abs(y - ref).max() <= TOL


# ---- Keras ----------------------------------------------------------------------------------------
KERAS_ACTIVATIONS = {"selu": "selu", "celu": "celu", "softplus": "softplus", "softsign": "softsign",
                     "gelu": "gelu", "hard_swish": "hard_swish", "hard_silu": "hard_swish", "mish": "mish",
                     "swish": "swish", "silu": "swish"}


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    return keras


def _keras_models(keras):
    layers = keras.layers
    rng = np.random.default_rng(5)
    models = {}
    for name in KERAS_ACTIVATIONS:
        models[name] = keras.Sequential([keras.Input((6,)), layers.Dense(5, activation=name)])
    prelu = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, 3), layers.PReLU(shared_axes=[1, 2])])
    prelu.layers[-1].set_weights([rng.uniform(-0.5, 1.5, size=(1, 1, 3))])
    models["prelu_shared"] = prelu
    full = keras.Sequential([keras.Input((4,)), layers.Dense(5), layers.PReLU()])
    full.layers[-1].set_weights([rng.uniform(-0.5, 1.5, size=(5,))])
    models["prelu_full"] = full
    models["relu_threshold"] = keras.Sequential([keras.Input((6,)), layers.Dense(5), layers.ReLU(threshold=0.3)])
    models["relu_threshold_max"] = keras.Sequential([keras.Input((6,)), layers.Dense(5),
                                                     layers.ReLU(threshold=0.3, max_value=1.5)])
    return models


KERAS_NAMES = sorted(list(KERAS_ACTIVATIONS) + ["prelu_shared", "prelu_full", "relu_threshold",
                                               "relu_threshold_max"])


@pytest.fixture(scope="module")
def keras_models(tmp_path_factory):
    keras = _keras()
    keras.utils.set_random_seed(3)
    return _keras_models(keras), tmp_path_factory.mktemp("keras_acts")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", KERAS_NAMES)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_keras_activation_emulated_matches_keras(keras_models, name, suffix):
    models, folder = keras_models
    model = models[name]
    path = folder / f"{name}{suffix}"
    model.save(path)
    rng = np.random.default_rng(9)
    x = rng.normal(size=(300,) + tuple(model.input_shape[1:])) * 2
    ref = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
    graph = nn2hls.load(str(path))
    want = KERAS_ACTIVATIONS.get(name, "thresholded_relu" if "threshold" in name else "prelu")
    assert want in _functions(graph)
    (y,) = _emulate(graph, x)
    assert np.abs(y - ref).max() <= TOL


# ---- ONNX (onnxruntime, graph optimizations off) --------------------------------------------------
def _onnx_model(op_type: str, attrs: dict, opset: int, slope: np.ndarray | None = None):
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(2)
    w = numpy_helper.from_array(rng.normal(size=(4, 3 * 2 * 2)).astype(np.float32), "w")
    inits = [w]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Reshape", ["h", "shape"], ["r"])]
    inits.append(numpy_helper.from_array(np.array([-1, 3, 2, 2], dtype=np.int64), "shape"))
    inputs = ["r"]
    if slope is not None:
        inits.append(numpy_helper.from_array(slope.astype(np.float32), "slope"))
        inputs.append("slope")
    nodes.append(helper.make_node(op_type, inputs, ["y"], **attrs))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3, 2, 2])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


ONNX_CASES = {
    "prelu_channel": ("PRelu", {}, 17, np.array([0.3, -0.2, 1.4]).reshape(3, 1, 1), "prelu"),
    "prelu_scalar": ("PRelu", {}, 17, np.array([0.25]), "prelu"),
    "selu": ("Selu", {"alpha": 1.5, "gamma": 1.1}, 17, None, "selu"),
    "celu": ("Celu", {"alpha": 0.6}, 17, None, "celu"),
    "softplus": ("Softplus", {}, 17, None, "softplus"),
    "softsign": ("Softsign", {}, 17, None, "softsign"),
    "thresholded_relu": ("ThresholdedRelu", {"alpha": 0.4}, 17, None, "thresholded_relu"),
    "hard_swish": ("HardSwish", {}, 17, None, "hard_swish"),
    "mish": ("Mish", {}, 18, None, "mish"),
    "gelu": ("Gelu", {}, 20, None, "gelu"),
    "gelu_tanh": ("Gelu", {"approximate": "tanh"}, 20, None, "gelu_tanh"),
}


@pytest.mark.parametrize("name", sorted(ONNX_CASES))
def test_onnx_activation_emulated_matches_onnxruntime(name):
    ort = pytest.importorskip("onnxruntime")
    op_type, attrs, opset, slope, function = ONNX_CASES[name]
    model = _onnx_model(op_type, attrs, opset, slope)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(4).normal(size=(300, 4)) * 2
    ref = session.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)
    graph = nn2hls.load(model)
    assert function in _functions(graph)
    (y,) = _emulate(graph, x.astype(np.float32).astype(np.float64))
    assert np.abs(y - ref).max() <= TOL


def test_onnx_erf_gelu_subgraph_is_fused():
    """torch's opset-17 GELU: Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5 becomes one gelu node."""
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.eye(3, dtype=np.float32), "w")
    consts = [numpy_helper.from_array(np.array(v, dtype=np.float32), n)
              for n, v in (("sqrt2", math.sqrt(2)), ("one", 1.0), ("half", 0.5))]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Div", ["h", "sqrt2"], ["a"]),
             helper.make_node("Erf", ["a"], ["e"]), helper.make_node("Add", ["e", "one"], ["b"]),
             helper.make_node("Mul", ["h", "b"], ["m"]), helper.make_node("Mul", ["m", "half"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])], [w] + consts)
    g = nn2hls.load(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    kinds = [n.op.kind + (":" + n.op.function if isinstance(n.op, ops.Activation) else "") for n in g.topological()]
    assert kinds == ["Input", "Dense", "Activation:gelu"]


def test_onnx_prelu_slope_that_does_not_broadcast_is_refused():
    from nn2hls.errors import UnsupportedOpError
    model = _onnx_model("PRelu", {}, 17, np.array([0.1, 0.2]).reshape(2, 1, 1))  # 2 slopes, 3 channels
    with pytest.raises(UnsupportedOpError, match=r"PRelu node .*slope of shape \(2, 1, 1\) does not broadcast"):
        nn2hls.load(model)


def test_keras_relu_threshold_with_slope_is_refused(tmp_path):
    keras = _keras()
    from nn2hls.errors import UnsupportedOpError
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                              keras.layers.ReLU(threshold=0.5, negative_slope=0.1, name="thr")])
    with pytest.raises(UnsupportedOpError, match="layer 'thr' .*threshold=0.5 together with negative_slope"):
        nn2hls.load(model)


def test_keras2_thresholded_relu_layer(tmp_path):
    """Keras 2's ThresholdedReLU(theta) (gone from Keras 3): a .keras archive whose ReLU layer is
    rewritten to it converts to x > theta ? x : 0."""
    import json
    import zipfile
    from pathlib import Path
    _keras()
    src = Path(__file__).resolve().parents[1] / "fixtures" / "keras" / "activations.keras"
    dst = tmp_path / "thr.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if layer["config"].get("name") == "relu_max":
                        layer["class_name"] = "ThresholdedReLU"
                        layer["config"] = {"name": "relu_max", "theta": 0.25, "trainable": True}
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    from nn2hls.frontends.keras import load_keras
    graph = load_keras(dst)
    (node,) = [n for n in graph.nodes.values() if n.source_name.startswith("relu_max")]
    assert node.op.function == "thresholded_relu" and node.op.alpha == 0.25 and node.op.beta == 0.0
    from nn2hls.ir.execute import execute
    values = execute(graph, np.random.default_rng(0).normal(size=(20,) + graph.input.shape), return_all=True)
    x_in, y = values[node.inputs[0]], values[node.name]
    np.testing.assert_array_equal(y, np.where(x_in > 0.25, x_in, 0.0))


def test_onnx_patterns_leave_shared_intermediates_alone():
    """A chain whose intermediate value is read elsewhere is not fused (it would lose that value)."""
    from onnx import TensorProto, helper, numpy_helper
    from nn2hls.frontends.onnx_patterns import fuse_activations
    one = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")
    nodes = [helper.make_node("Abs", ["x"], ["a"]), helper.make_node("Add", ["a", "one"], ["b"]),
             helper.make_node("Div", ["x", "b"], ["y"]), helper.make_node("Add", ["a", "b"], ["z"])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", 3]) for n in ("y", "z")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                              outputs, [one])
    assert [n.op_type for n in fuse_activations(graph)] == ["Abs", "Add", "Div", "Add"]
    graph.node.pop()  # without the second reader the softsign chain fuses
    del graph.output[1]
    assert [n.op_type for n in fuse_activations(graph)] == ["Softsign"]
