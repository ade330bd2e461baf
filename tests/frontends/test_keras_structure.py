"""Keras structural layers (UpSampling, ZeroPadding, Cropping 1D/2D/3D, Permute), built live with Keras 3 and
loaded from `.keras`, `.h5` and the live model: IR float executor within 1e-5 and the 32-bit emulator
within 1e-3 of Keras `predict`, channels_last and channels_first."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

import nn2hls  # noqa: E402
from nn2hls.errors import UnsupportedOpError  # noqa: E402
from nn2hls.frontends.keras import load_keras  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
L = keras.layers
WIDE = {"precision": {"default": {"weight_width": 32, "result_width": 32}}}


def net_2d():
    inp = keras.Input((6, 5, 3))
    h = L.ZeroPadding2D(((1, 2), (0, 3)))(inp)
    h = L.Conv2D(4, 3)(h)
    h = L.UpSampling2D((2, 3))(h)
    h = L.Cropping2D(((1, 0), (2, 1)))(h)
    h = L.Permute((3, 1, 2))(h)
    return keras.Model(inp, h, name="net_2d"), (6, 5, 3)


def net_2d_channels_first():
    inp = keras.Input((3, 6, 5))
    h = L.Conv2D(4, 3, data_format="channels_first", padding="same")(inp)
    h = L.ZeroPadding2D(((1, 2), (0, 3)), data_format="channels_first")(h)
    h = L.UpSampling2D((2, 1), data_format="channels_first")(h)
    h = L.Cropping2D(((1, 0), (2, 1)), data_format="channels_first")(h)
    h = L.Conv2D(2, 1, data_format="channels_first")(h)
    return keras.Model(inp, h, name="net_2d_cf"), (3, 6, 5)


def net_1d():
    inp = keras.Input((7, 3))
    h = L.ZeroPadding1D((2, 1))(inp)
    h = L.Conv1D(4, 3)(h)
    h = L.UpSampling1D(3)(h)
    h = L.Cropping1D((1, 4))(h)
    h = L.ZeroPadding1D(2)(h)
    h = L.Permute((2, 1))(h)
    return keras.Model(inp, h, name="net_1d"), (7, 3)


def net_permute_4d():
    inp = keras.Input((2, 3, 4))
    h = L.Dense(5)(inp)
    h = L.Reshape((2, 3, 5, 1))(h)
    h = L.Permute((3, 1, 4, 2))(h)
    h = L.Reshape((5, 2, 3))(h)
    h = L.Permute((2, 3, 1))(h)
    return keras.Model(inp, h, name="net_permute"), (2, 3, 4)


def net_3d():
    inp = keras.Input((3, 4, 2, 2))
    h = L.Dense(3)(inp)
    h = L.ZeroPadding3D((1, 0, 2))(h)
    h = L.UpSampling3D((1, 2, 1))(h)
    h = L.Cropping3D(((0, 1), (1, 1), (0, 2)))(h)
    return keras.Model(inp, h, name="net_3d"), (3, 4, 2, 2)


NETS = [net_2d, net_2d_channels_first, net_1d, net_permute_4d, net_3d]


@pytest.fixture(scope="module", params=NETS, ids=[f.__name__ for f in NETS])
def built(request, tmp_path_factory):
    keras.utils.set_random_seed(5)
    model, shape = request.param()
    x = np.random.default_rng(1).normal(size=(8, *shape)).astype(np.float32)
    folder = tmp_path_factory.mktemp(model.name)
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    return model, x, np.asarray(model.predict(x, verbose=0)), folder


@pytest.mark.parametrize("source", ["keras", "h5", "live"])
def test_structure_layers_match_keras(built, source):
    model, x, ref, folder = built
    loadable = {"keras": folder / "m.keras", "h5": folder / "m.h5", "live": model}[source]
    graph = load_keras(loadable)
    (y,) = execute(graph, x)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    if source == "keras":
        emulated = nn2hls.compile(loadable, WIDE, calibration=x).emulate(x)
        np.testing.assert_allclose(emulated, ref, atol=1e-3)


def test_channels_last_structure_has_no_layout_transposes():
    model, _ = net_2d()
    kinds = [n.op.kind for n in load_keras(model).topological()]
    assert kinds == ["Input", "Pad", "Conv", "Upsample", "Slice", "Transpose"]  # the Transpose is Permute


def test_channels_first_structure_stays_channels_last_inside():
    model, _ = net_2d_channels_first()
    kinds = [n.op.kind for n in load_keras(model).topological()]
    assert kinds.count("Transpose") == 2  # at the two ends only


def test_bilinear_upsampling_refused():
    inp = keras.Input((4, 4, 2))
    model = keras.Model(inp, L.UpSampling2D(2, interpolation="bilinear")(L.Dense(2)(inp)))
    with pytest.raises(UnsupportedOpError, match="interpolation 'bilinear' is not supported"):
        load_keras(model)


def test_ops_are_structural():
    model, _ = net_1d()
    graph = load_keras(model)
    assert {type(n.op) for n in graph.nodes.values()} >= {ops.Pad, ops.Upsample, ops.Slice, ops.Transpose}
