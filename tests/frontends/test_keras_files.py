"""Keras files read without Keras: committed .keras / .h5 fixtures (saved by Keras 3) against the
Keras `predict` outputs stored next to them, IR structure, and the error messages."""
from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")

from nn2hls.errors import ModelLoadError, UnsupportedOpError  # noqa: E402
from nn2hls.frontends.keras import load_keras  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402
from nn2hls.ir.verify import verify  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
MODELS = ("mlp_bn", "cnn2d", "cnn2d_cf", "cnn1d", "residual_concat", "activations", "global_pools")


def reference(name: str) -> tuple[np.ndarray, list[np.ndarray]]:
    data = np.load(FIXTURES / f"{name}.npz")
    outputs = [data[f"y{i}"] for i in range(len(data.files) - 1)]
    return data["x"], outputs


def assert_matches(graph, x, expected) -> None:
    got = execute(graph, x)
    assert len(got) == len(expected)
    for y, ref in zip(got, expected):
        assert y.shape == ref.shape
        scale = float(np.max(np.abs(ref)))
        assert scale > 0
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", MODELS)
def test_fixture_matches_keras_predict(name, suffix):
    graph = load_keras(FIXTURES / f"{name}{suffix}")
    verify(graph)
    x, expected = reference(name)
    assert graph.input.shape == x.shape[1:]
    assert_matches(graph, x, expected)


@pytest.mark.parametrize("name", ["mlp_bn", "residual_concat"])
def test_tf_keras2_layout_matches(name):
    graph = load_keras(FIXTURES / f"tf2_{name}.h5")
    verify(graph)
    x, expected = reference(name)
    assert_matches(graph, x, expected)


def test_same_graph_from_both_formats():
    a = load_keras(FIXTURES / "cnn2d_cf.keras")
    b = load_keras(FIXTURES / "cnn2d_cf.h5")
    assert str(a) == str(b)
    for name, node in a.nodes.items():
        for key, value in node.weights.items():
            np.testing.assert_array_equal(value, b.nodes[name].weights[key])


def test_mlp_structure():
    graph = load_keras(FIXTURES / "mlp_bn.keras")
    kinds = [(n.op.kind, n.source_name) for n in graph.topological()]
    # Dense's activation is its own node; Dropout disappears; names are the Keras layer names.
    assert kinds == [("Input", graph.input.source_name), ("Dense", "fc1"), ("Activation", "fc1"),
                     ("BatchNorm", "bn1"), ("Dense", "fc2"), ("Activation", "fc2"),
                     ("BatchNorm", "bn2"), ("Dense", "out"), ("Softmax", "out")]
    bn2 = graph.nodes["bn2"]
    assert bn2.op.epsilon == pytest.approx(0.01)
    np.testing.assert_array_equal(bn2.weights["gamma"], np.ones(8))
    np.testing.assert_array_equal(bn2.weights["beta"], np.zeros(8))
    assert graph.nodes["fc1_relu"].op == ops.Activation("relu")
    assert graph.outputs == ["out_softmax"]


def test_channels_first_keeps_source_layout_with_two_transposes():
    graph = load_keras(FIXTURES / "cnn2d_cf.keras")
    assert graph.input.shape == (2, 7, 7)
    transposes = [n for n in graph.nodes.values() if isinstance(n.op, ops.Transpose)]
    # One into channels-last after the input, one back before Flatten (Keras flattens C, H, W).
    assert [t.op.perm for t in transposes] == [(1, 2, 0), (2, 0, 1)]
    conv = next(n for n in graph.nodes.values() if isinstance(n.op, ops.Conv))
    assert conv.shape == (4, 4, 4)
    assert conv.op.strides == (2, 2) and conv.op.pads == ((1, 1), (1, 1))


def test_same_padding_and_pool_attributes():
    graph = load_keras(FIXTURES / "cnn2d.keras")
    convs = [n for n in graph.topological() if isinstance(n.op, ops.Conv)]
    assert convs[1].op.kernel_size == (3, 2) and convs[1].op.dilations == (2, 1)
    # 'same' with effective kernel (5, 2) on 4x4: total (4, 1) -> (2, 2) and (0, 1).
    assert convs[1].op.pads == ((2, 2), (0, 1))
    avg = next(n for n in graph.nodes.values() if isinstance(n.op, ops.Pool) and n.op.mode == "avg")
    assert avg.op.count_include_pad is False and avg.op.pads == ((1, 1), (1, 1)) and avg.op.strides == (1, 1)


def _rewrite_archive(src: Path, dst: Path, edit) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(item, data)


def test_unsupported_layer_names_class_name_and_supported(tmp_path):
    def edit(config):
        config["config"]["layers"][1]["class_name"] = "LSTM"
    path = tmp_path / "bad.keras"
    _rewrite_archive(FIXTURES / "mlp_bn.keras", path, edit)
    with pytest.raises(UnsupportedOpError) as info:
        load_keras(path)
    message = str(info.value)
    assert message.startswith("layer 'fc1' of class LSTM is not supported; supported layers: InputLayer, Dense,")
    assert "Conv2D" in message and "Concatenate" in message and "\n" not in message


def test_relu_threshold_with_slope_refused(tmp_path):
    def edit(config):
        for layer in config["config"]["layers"]:
            if layer["config"].get("name") == "relu_max":
                layer["config"]["threshold"] = 0.5
                layer["config"]["negative_slope"] = 0.1
    path = tmp_path / "thr.keras"
    _rewrite_archive(FIXTURES / "activations.keras", path, edit)
    with pytest.raises(UnsupportedOpError, match=r"layer 'relu_max' \(ReLU\): threshold=0.5 together with "
                                                 r"negative_slope=0.1 is not supported"):
        load_keras(path)


def test_file_of_neither_format(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("hello")
    with pytest.raises(ModelLoadError, match=r"is neither a Keras 3 \.keras archive \(zip\) nor a Keras \.h5 "
                                             r"model \(HDF5\)"):
        load_keras(path)


def test_zip_without_config(tmp_path):
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("other.txt", "x")
    with pytest.raises(ModelLoadError, match="is a zip file but not a Keras 3 .keras archive: no config.json"):
        load_keras(path)


def test_hdf5_without_model_config(tmp_path):
    import h5py
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
    with pytest.raises(ModelLoadError, match=r"holds weights only \(save_weights\)"):
        load_keras(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_keras(tmp_path / "nope.h5")


def test_missing_h5py_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ModelLoadError, match=r"needs h5py, which is not installed: install h5py \(pip install h5py"):
        load_keras(FIXTURES / "mlp_bn.h5")


def test_weight_count_mismatch_is_reported(tmp_path):
    def edit(config):
        config["config"]["layers"][1]["config"]["use_bias"] = False
    path = tmp_path / "nobias.keras"
    _rewrite_archive(FIXTURES / "mlp_bn.keras", path, edit)
    with pytest.raises(ModelLoadError, match=r"layer 'fc1' \(Dense\) has 2 stored weights .*expected kernel$"):
        load_keras(path)


def test_keras2_sequential_config_and_hard_sigmoid():
    """A tf.keras 2 Sequential config (input shape on the first layer, no InputLayer) and Keras 2's
    hard_sigmoid clip(0.2 x + 0.5, 0, 1), built from a config and weights without any file."""
    from nn2hls.frontends.keras import build_graph
    from nn2hls.frontends.keras_files import KerasModelSource

    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "hard_sigmoid",
                                           "use_bias": True, "batch_input_shape": [None, 3]}},
        {"class_name": "LeakyReLU", "config": {"name": "lk", "alpha": 0.3}},
    ]}}
    kernel = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]])
    bias = np.array([0.1, -0.2])
    source = KerasModelSource(config, {"d": [("d/bias:0", bias), ("d/kernel:0", kernel)]}, keras_major=2)
    graph = build_graph(source)
    assert graph.input.shape == (3,)
    x = np.random.default_rng(3).normal(size=(20, 3)) * 4
    expected = np.clip(0.2 * (x @ kernel + bias) + 0.5, 0, 1)  # names matched, not file order
    np.testing.assert_allclose(execute(graph, x)[0], expected, rtol=1e-12)
    assert graph.nodes["lk"].op == ops.Activation("leaky_relu", alpha=0.3)


def test_chunked_h5_attributes(tmp_path):
    """tf.keras splits long attributes into name0, name1, ...; they are joined."""
    import shutil

    import h5py
    path = tmp_path / "chunked.h5"
    shutil.copy(FIXTURES / "tf2_mlp_bn.h5", path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights"]
        names = list(group.attrs["layer_names"])
        del group.attrs["layer_names"]
        group.attrs["layer_names0"] = np.array(names[:2])
        group.attrs["layer_names1"] = np.array(names[2:])
    x, expected = reference("mlp_bn")
    assert_matches(load_keras(path), x, expected)


def _functional_config(layers, inputs, outputs):
    return {"class_name": "Functional", "config": {"name": "f", "layers": layers,
                                                    "input_layers": inputs, "output_layers": outputs}}


def test_multi_input_and_shared_layers():
    """Keras 2 config: two inputs become two Input nodes in input_layers order (not layer order), and a
    ReLU called on both inputs becomes one IR node per call; numbers against values worked by hand."""
    from nn2hls.frontends.keras import build_graph
    from nn2hls.frontends.keras_files import KerasModelSource

    inp = lambda n: {"class_name": "InputLayer", "config": {"name": n, "batch_input_shape": [None, 2]},  # noqa: E731
                     "inbound_nodes": []}
    shared = {"class_name": "ReLU", "config": {"name": "r"},
              "inbound_nodes": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]}
    sub = {"class_name": "Subtract", "config": {"name": "sub"},
           "inbound_nodes": [[["r", 1, 0, {}], ["r", 0, 0, {}]]]}
    config = _functional_config([inp("b"), inp("a"), shared, sub], [["a", 0, 0], ["b", 0, 0]], [["sub", 0, 0]])
    graph = build_graph(KerasModelSource(config, origin="'m.h5'"))
    assert [n.name for n in graph.inputs] == ["a", "b"]
    assert graph.nodes["r"].inputs == ("a",) and graph.nodes["r_call1"].inputs == ("b",)
    assert graph.nodes["r_call1"].source_name == "r"
    assert graph.nodes["sub"].inputs == ("r_call1", "r")
    a, b = np.array([[1.0, -2.0]]), np.array([[-3.0, 5.0]])
    # relu(b) - relu(a) = [0, 5] - [1, 0]
    np.testing.assert_array_equal(execute(graph, (a, b))[0], [[-1.0, 5.0]])
    np.testing.assert_array_equal(execute(graph, {"b": b, "a": a})[0], [[-1.0, 5.0]])
