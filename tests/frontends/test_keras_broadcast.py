"""Keras merges (Add, Subtract, Multiply, Maximum, Minimum, Average; Dot of vectors) of broadcast shapes
and global pooling with keepdims=True,
from `.keras`, legacy `.h5` and live models: the IR float executor matches Keras `predict`, the
emulator with 32-bit types is within 1e-3 of it, and the C simulation equals the emulator bit for bit."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import nn2hls  # noqa: E402
from nn2hls.frontends.keras import load_keras  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402
from nn2hls.ir.ops import Elementwise, GlobalPool  # noqa: E402

L = keras.layers
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
WIDE = {"precision": {"default": {"weight_width": 32, "result_width": 32, "table_size": 65536,
                                  "table_width": 32}}}


def _conv_plus_gap():
    """conv output + its own global average (keepdims): (4, 5, 3) + (1, 1, 3)."""
    inp = keras.Input((4, 5, 2))
    c = L.Conv2D(3, 3, padding="same")(inp)
    g = L.GlobalAveragePooling2D(keepdims=True)(c)
    return keras.Model(inp, L.Add()([c, g]))


def _max_minus_conv():
    """global max (keepdims) minus the conv output, the smaller operand first."""
    inp = keras.Input((6, 3))
    c = L.Conv1D(4, 2)(inp)
    g = L.GlobalMaxPooling1D(keepdims=True)(c)
    return keras.Model(inp, L.Subtract()([g, c]))


def _squeeze_excitation():
    """x * sigmoid(Dense(GAP(x))) over channels: a broadcast Multiply."""
    inp = keras.Input((4, 4, 3))
    g = L.GlobalAveragePooling2D(keepdims=True)(inp)
    s = L.Dense(3, activation="sigmoid")(g)
    return keras.Model(inp, L.Multiply()([inp, s]))


def _channels_first():
    inp = keras.Input((2, 4, 5))
    c = L.Conv2D(3, 3, padding="same", data_format="channels_first")(inp)
    g = L.GlobalAveragePooling2D(keepdims=True, data_format="channels_first")(c)
    return keras.Model(inp, L.Add()([c, g]))


def _maximum_minimum_average():
    """Maximum of the conv output and its global average (broadcast), Minimum with the global max,
    Average of three."""
    inp = keras.Input((5, 4, 2))
    c = L.Conv2D(3, 2, padding="same")(inp)
    g = L.GlobalAveragePooling2D(keepdims=True)(c)
    m = L.GlobalMaxPooling2D(keepdims=True)(c)
    hi = L.Maximum()([c, g])
    lo = L.Minimum()([c, m])
    return keras.Model(inp, L.Average()([hi, lo, c]))


def _dot():
    """Dot of two Dense outputs (a similarity score), then a Dense on it."""
    inp = keras.Input((6,))
    a = L.Dense(5)(inp)
    c = L.Dense(5, activation="tanh")(inp)
    d = L.Dot(axes=1)([a, c])
    g = L.GlobalAveragePooling1D(keepdims=True)(L.Reshape((5, 1))(a))  # (1, 1)
    return keras.Model(inp, L.Add()([L.Reshape((1, 1))(d), g]))


CASES = {"dot": _dot, "conv_plus_gap": _conv_plus_gap, "max_minus_conv": _max_minus_conv,
         "squeeze_excitation": _squeeze_excitation, "channels_first": _channels_first,
         "maximum_minimum_average": _maximum_minimum_average}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = {}
    folder = tmp_path_factory.mktemp("keras_broadcast")
    for name, make in CASES.items():
        keras.utils.set_random_seed(3)
        model = make()
        x = np.random.default_rng(5).normal(size=(64, *model.input_shape[1:])).astype(np.float32)
        model.save(folder / f"{name}.keras")
        model.save(folder / f"{name}.h5")
        ref = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
        out[name] = (x.astype(np.float64), ref, {"keras": folder / f"{name}.keras", "h5": folder / f"{name}.h5",
                                                 "live": model})
    return out


@pytest.mark.parametrize("source", ["keras", "h5", "live"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_float_executor_matches_keras(built, name, source):
    x, ref, sources = built[name]
    graph = load_keras(sources[source])
    assert any(isinstance(n.op, Elementwise) for n in graph.nodes.values())
    assert any(isinstance(n.op, GlobalPool) for n in graph.nodes.values())
    (y,) = execute(graph, x)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(ref).max())))


@pytest.mark.parametrize("name", sorted(CASES))
def test_emulator_32bit_matches_keras(built, name):
    x, ref, sources = built[name]
    y = nn2hls.compile(sources["keras"], config=WIDE, calibration=x).emulate(x)
    assert float(np.max(np.abs(y - ref))) < 1e-3


@pytest.mark.csim
@pytest.mark.parametrize("name", sorted(CASES))
def test_csim_bit_exact(built, name):
    x, _, sources = built[name]
    x = np.concatenate([x, 2.0 * x, 4.0 * x])
    compiled = nn2hls.compile(sources["keras"], calibration=x[:64])
    expected = compiled.emulate(x)
    assert np.array_equal(compiled.build().predict(x), expected)
    assert np.unique(expected).size > 3


def test_merge_of_a_lower_rank_input_expands_after_the_batch():
    """Keras expands (3,) to (1, 3) (axis 1, after the batch), not numpy's right alignment."""
    inp = keras.Input((4, 3))
    g = L.GlobalAveragePooling1D()(inp)  # (3,)
    model = keras.Model(inp, L.Subtract(name="merge")([inp, L.Dense(3)(g)]))
    x = np.random.default_rng(2).normal(size=(8, 4, 3))
    (y,) = execute(load_keras(model), x)
    ref = np.asarray(model.predict(x.astype(np.float32), verbose=0), dtype=np.float64)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_dot_of_matrices_is_refused():
    from nn2hls.errors import UnsupportedOpError
    inp = keras.Input((3, 4))
    model = keras.Model(inp, L.Dot(axes=2, name="bmm")([inp, inp]))
    with pytest.raises(UnsupportedOpError, match="'bmm' \\(Dot\\): only the dot product of two vectors"):
        load_keras(model)
