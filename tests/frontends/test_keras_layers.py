"""Every supported Keras layer variant, built live with Keras 3 (torch backend), loaded three ways
(.keras archive, legacy .h5, live model): IR float execution matches Keras `predict`."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

from nn2hls.frontends.keras import load_keras  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402
from nn2hls.ir.verify import verify  # noqa: E402

_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "make_keras_fixtures.py"
_spec = importlib.util.spec_from_file_location("make_keras_fixtures", _SCRIPT)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

SOURCES = ("keras", "h5", "live")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name -> (model, x, keras outputs, {source: loadable}) for every layer and whole-model variant."""
    out_dir = tmp_path_factory.mktemp("keras_layers")
    models = {}
    builders = {**fixtures.LAYER_MODELS, **{f"model_{k}": v for k, v in fixtures.FIXTURE_MODELS.items()}}
    for seed, (name, builder) in enumerate(sorted(builders.items())):
        model, x = fixtures.build(builder, seed + 100)
        model.save(out_dir / f"{name}.keras")
        model.save(out_dir / f"{name}.h5")
        models[name] = (model, x, fixtures.predict(model, x),
                        {"keras": out_dir / f"{name}.keras", "h5": out_dir / f"{name}.h5", "live": model})
    return models


def _check(graph, x, expected):
    verify(graph)
    got = execute(graph, x)
    assert len(got) == len(expected)
    for y, ref in zip(got, expected):
        assert y.shape == ref.shape
        scale = max(float(np.max(np.abs(ref))), 1e-3)
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * scale)


ALL = sorted(list(fixtures.LAYER_MODELS) + [f"model_{k}" for k in fixtures.FIXTURE_MODELS])


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", ALL)
def test_layer_matches_keras(built, name, source):
    model, x, expected, sources = built[name]
    graph = load_keras(sources[source])
    assert graph.input.shape == tuple(model.inputs[0].shape[1:])
    _check(graph, x, expected)


def test_channels_first_conv_chain_transposes_only_at_the_ends(built):
    graph = load_keras(built["model_cnn2d_cf"][0])
    order = [n.op.kind for n in graph.topological()]
    assert order.count("Transpose") == 2
    assert order[1] == "Transpose" and order[order.index("Reshape") - 1] == "Transpose"


def test_channels_last_models_have_no_transposes(built):
    for name in ("conv2d_same_stride", "model_cnn2d", "model_cnn1d", "maxpool2d_same"):
        graph = load_keras(built[name][0])
        assert not any(isinstance(n.op, ops.Transpose) for n in graph.nodes.values()), name


def test_keras3_hard_sigmoid_is_relu6_form(built):
    graph = load_keras(built["activation_hard_sigmoid"][0])
    node = next(n for n in graph.nodes.values() if isinstance(n.op, ops.Activation))
    assert node.op.function == "hard_sigmoid"
    assert node.op.alpha == pytest.approx(1 / 6) and node.op.beta == 0.5


def test_relu_with_slope_and_max_is_two_nodes(built):
    graph = load_keras(built["relu_slope_max"][0])
    acts = [n.op for n in graph.topological() if isinstance(n.op, ops.Activation)]
    assert acts == [ops.Activation("leaky_relu", alpha=0.3), ops.Activation("clip", high=1.0)]


def test_asymmetric_same_average_excludes_padding():
    """Keras's definition (TF/JAX backends): padded positions are not counted. (Keras's torch backend
    replicates edge values for asymmetric padding instead, so this is checked against numpy.)"""
    inp = keras.Input((5, 1))
    model = keras.Model(inp, keras.layers.AveragePooling1D(2, strides=2, padding="same")(inp))
    graph = load_keras(model)
    node = next(n for n in graph.nodes.values() if isinstance(n.op, ops.Pool))
    assert node.op.pads == ((0, 1),) and node.op.count_include_pad is False
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    np.testing.assert_allclose(execute(graph, x)[0][0, :, 0], [1.5, 3.5, 5.0])


def test_unsupported_activation_lists_supported():
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, activation="exponential", name="g")(inp))
    from nn2hls.errors import UnsupportedOpError
    with pytest.raises(UnsupportedOpError, match=r"layer 'g' \(Dense\): activation 'exponential' is not supported; "
                                                 r"supported: linear, relu, relu6, sigmoid"):
        load_keras(model)


def test_unsupported_layer_from_live_model():
    inp = keras.Input((4, 3))
    model = keras.Model(inp, keras.layers.LSTM(2, name="rnn")(inp))
    from nn2hls.errors import UnsupportedOpError
    with pytest.raises(UnsupportedOpError, match=r"^layer 'rnn' of class LSTM is not supported; supported "
                                                 r"layers: InputLayer, Dense, Conv1D, Conv2D"):
        load_keras(model)


def test_sequential_without_input_layer_uses_build_shape(tmp_path):
    model = keras.Sequential([keras.layers.Dense(3, activation="sigmoid")])
    model.build((None, 4))
    fixtures.set_weights(model, 7)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    for source in (model, tmp_path / "m.keras"):
        graph = load_keras(source)
        _check(graph, x, fixtures.predict(model, x))


def test_dynamic_input_shape_refused():
    inp = keras.Input((None, 3), name="seq")
    model = keras.Model(inp, keras.layers.GlobalMaxPooling1D()(inp))
    from nn2hls.errors import UnsupportedOpError
    with pytest.raises(UnsupportedOpError, match=r"input 'seq' has shape \(None, None, 3\) with unknown "
                                                 r"dimensions; give the model a fixed input shape"):
        load_keras(model)

