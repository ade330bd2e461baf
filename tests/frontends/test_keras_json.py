"""Keras 2 architecture JSON + weights HDF5 (the pair hls4ml publishes), written here with json and h5py
in tf.keras 2's layout (`model.to_json()`, `model.save_weights("x.h5")`), read without Keras.

The reference is Keras 3 itself: the same network built with the Keras API and given the same arrays
(`set_weights`), not loaded from our files. Errors are checked word for word.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import nn2hls  # noqa: E402
from nn2hls.errors import ModelLoadError  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402

RNG = np.random.default_rng(3)


def _dense(name: str, units: int, activation: str) -> dict:
    return {"class_name": "Dense", "name": name,
            "config": {"name": name, "trainable": True, "dtype": "float32", "units": units,
                       "activation": activation, "use_bias": True,
                       "kernel_initializer": {"class_name": "VarianceScaling",
                                              "config": {"scale": 1.0, "mode": "fan_in", "distribution": "uniform",
                                                         "seed": None}},
                       "bias_initializer": {"class_name": "Zeros", "config": {}},
                       "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                       "kernel_constraint": None, "bias_constraint": None}}


def _bn(name: str) -> dict:
    return {"class_name": "BatchNormalization", "name": name,
            "config": {"name": name, "trainable": True, "dtype": "float32", "axis": -1, "momentum": 0.99,
                       "epsilon": 0.001, "center": True, "scale": True,
                       "beta_initializer": {"class_name": "Zeros", "config": {}},
                       "gamma_initializer": {"class_name": "Ones", "config": {}},
                       "moving_mean_initializer": {"class_name": "Zeros", "config": {}},
                       "moving_variance_initializer": {"class_name": "Ones", "config": {}},
                       "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                       "gamma_constraint": None}}


def _functional_config() -> dict:
    """tf.keras 2's to_json() of Input(6) -> Dense(8, relu) -> BatchNormalization -> Dense(3, softmax)."""
    layers = [{"class_name": "InputLayer", "name": "input_1",
               "config": {"batch_input_shape": [None, 6], "dtype": "float32", "sparse": False, "name": "input_1"},
               "inbound_nodes": []},
              dict(_dense("fc1", 8, "relu"), inbound_nodes=[[["input_1", 0, 0, {}]]]),
              dict(_bn("bn1"), inbound_nodes=[[["fc1", 0, 0, {}]]]),
              dict(_dense("out", 3, "softmax"), inbound_nodes=[[["bn1", 0, 0, {}]]])]
    return {"class_name": "Model", "keras_version": "2.4.0", "backend": "tensorflow",
            "config": {"name": "model_1", "layers": layers, "input_layers": [["input_1", 0, 0]],
                       "output_layers": [["out", 0, 0]]}}


WEIGHTS = {"fc1": [("kernel", RNG.normal(size=(6, 8))), ("bias", RNG.normal(size=8) * 0.1)],
           "bn1": [("gamma", RNG.uniform(0.5, 1.5, 8)), ("beta", RNG.normal(size=8) * 0.1),
                   ("moving_mean", RNG.normal(size=8) * 0.2), ("moving_variance", RNG.uniform(0.5, 2.0, 8))],
           "out": [("kernel", RNG.normal(size=(8, 3))), ("bias", RNG.normal(size=3) * 0.1)]}


def _write_weights(path: Path, layers: dict) -> None:
    """model.save_weights('x.h5') of tf.keras 2: root attribute layer_names, per layer weight_names."""
    with h5py.File(path, "w") as h5:
        h5.attrs["layer_names"] = np.array([b"input_1"] + [n.encode() for n in layers])
        h5.attrs["backend"] = b"tensorflow"
        h5.attrs["keras_version"] = b"2.4.0"
        h5.create_group("input_1").attrs["weight_names"] = np.array([], dtype=np.float64)
        for name, arrays in layers.items():
            group = h5.create_group(name)
            group.attrs["weight_names"] = np.array([f"{name}/{w}:0".encode() for w, _ in arrays])
            for w, value in arrays:
                group.create_dataset(f"{name}/{w}:0", data=np.asarray(value, dtype=np.float32))


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    arch = tmp_path / "mlp.json"
    arch.write_text(json.dumps(_functional_config(), indent=4))
    weights = tmp_path / "mlp_weights.h5"
    _write_weights(weights, WEIGHTS)
    return arch, weights


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _keras_api_reference(x: np.ndarray) -> np.ndarray:
    keras = _keras()
    inputs = keras.Input(shape=(6,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    h = keras.layers.BatchNormalization(epsilon=0.001)(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inputs, out)
    model.set_weights([np.asarray(v, np.float32) for name in ("fc1", "bn1", "out") for _, v in WEIGHTS[name]])
    return np.asarray(model.predict(x.astype(np.float32), verbose=0), dtype=np.float64)


def test_json_with_weights_beside_matches_keras(pair):
    arch, _ = pair
    x = RNG.normal(size=(20, 6))
    ref = _keras_api_reference(x)
    graph = nn2hls.load(arch)
    assert graph.input.shape == (6,) and graph.meta["keras_major"] == 2
    np.testing.assert_allclose(execute(graph, x)[0], ref, rtol=1e-5, atol=1e-6)
    emulated = np.asarray(nn2hls.compile(arch, calibration=x).emulate(x))
    assert np.abs(emulated - ref).max() < 0.02


def test_weights_given_explicitly(pair, tmp_path):
    arch, weights = pair
    moved = tmp_path / "elsewhere.h5"
    weights.rename(moved)
    x = RNG.normal(size=(5, 6))
    graph = nn2hls.load(arch, weights=moved)
    np.testing.assert_allclose(execute(graph, x)[0], _keras_api_reference(x), rtol=1e-5, atol=1e-6)
    compiled = nn2hls.compile(arch, calibration=x, weights=moved)
    assert np.asarray(compiled.emulate(x)).shape == (5, 3)


def test_keras_reference_rebuilds_the_json_model(pair):
    from nn2hls.frontends.keras_reference import keras_reference

    arch, _ = pair
    x = RNG.normal(size=(7, 6))
    outputs, description = keras_reference(arch, x)
    assert outputs is not None, description
    assert description.endswith("Keras 2 JSON + weights via Keras 3's legacy loader")
    np.testing.assert_allclose(outputs[0], _keras_api_reference(x), rtol=1e-6, atol=1e-7)


def test_missing_weights_file(pair):
    arch, weights = pair
    weights.unlink()
    with pytest.raises(ModelLoadError) as info:
        nn2hls.load(arch)
    assert str(info.value) == (f"'{arch}' holds the architecture only and no weights file 'mlp_weights.h5' is "
                               "beside it; give the weights with --weights FILE (API: weights=...)")


def test_weights_with_a_model_that_has_its_own(tmp_path):
    with pytest.raises(ModelLoadError) as info:
        nn2hls.load(tmp_path / "m.onnx", weights=tmp_path / "w.h5")
    assert str(info.value) == (f"a weights file ('{tmp_path / 'w.h5'}') goes with a Keras architecture .json "
                               "model only; other models carry their own weights")


def test_keras3_weights_layout_refused(pair):
    arch, weights = pair
    weights.unlink()
    with h5py.File(weights, "w") as h5:
        h5.create_group("layers/dense/vars").create_dataset("0", data=np.zeros((6, 8)))
    with pytest.raises(ModelLoadError) as info:
        nn2hls.load(arch)
    assert str(info.value) == (f"weights file '{weights}' is in Keras 3's .weights.h5 layout; give a Keras 2 / "
                               "tf.keras weights file (save_weights('x.h5')) or a Keras 3 .keras model")


def test_json_that_is_not_a_keras_model(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('{"a": 1}')
    with pytest.raises(ModelLoadError) as info:
        nn2hls.load(path)
    assert str(info.value) == (f"'{path}' is JSON but not a Keras model architecture (no 'class_name' and "
                               "'config'); give the file written by model.to_json()")


def test_cli_emulate_and_refusal(pair, tmp_path):
    arch, weights = pair
    moved = tmp_path / "w.h5"
    weights.rename(moved)
    x = RNG.normal(size=(4, 6))
    np.save(tmp_path / "x.npy", x)
    run = [sys.executable, "-m", "nn2hls", "emulate", str(arch), "--input", str(tmp_path / "x.npy"), "--output",
           str(tmp_path / "y.npy"), "--weights", str(moved)]
    proc = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert np.abs(np.load(tmp_path / "y.npy") - _keras_api_reference(x)).max() < 0.02
    proc = subprocess.run(run[:-2] + ["--force"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: '{arch}' holds the architecture only and no weights file "
                                   "'mlp_weights.h5' is beside it; give the weights with --weights FILE (API: "
                                   "weights=...)")


def test_tf_keras2_whole_model_h5(tmp_path):
    """model.save('m.h5') of tf.keras 2: the config in `model_config`, the weights under `model_weights`."""
    path = tmp_path / "whole.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = json.dumps(_functional_config()).encode()
        h5.attrs["keras_version"] = b"2.4.0"
        h5.attrs["backend"] = b"tensorflow"
    staging = tmp_path / "staging.h5"
    _write_weights(staging, WEIGHTS)
    with h5py.File(staging, "r") as src, h5py.File(path, "a") as dst:
        group = dst.create_group("model_weights")
        for key, value in src.attrs.items():
            group.attrs[key] = value
        for name in src:
            src.copy(src[name], group, name)
    x = RNG.normal(size=(9, 6))
    ref = _keras_api_reference(x)
    np.testing.assert_allclose(execute(nn2hls.load(path), x)[0], ref, rtol=1e-5, atol=1e-6)
    from nn2hls.frontends.keras_reference import keras_reference

    outputs, description = keras_reference(path, x)
    assert outputs is not None, description
    np.testing.assert_allclose(outputs[0], ref, rtol=1e-6, atol=1e-7)
