"""Keras as the float reference (used by `nn2hls check` for Keras models when Keras is installed)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nn2hls.frontends.keras_reference import keras_reference

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"


def test_keras_reference_reproduces_stored_predictions():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    data = np.load(FIXTURES / "residual_concat.npz")
    for suffix in (".keras", ".h5"):
        outputs, description = keras_reference(FIXTURES / f"residual_concat{suffix}", data["x"])
        assert description.startswith("keras 3.")
        assert len(outputs) == 2
        np.testing.assert_allclose(outputs[0], data["y0"], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(outputs[1], data["y1"], rtol=1e-6, atol=1e-6)


def test_unloadable_file_falls_back_with_reason(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    path = tmp_path / "broken.keras"
    path.write_text("not a model")
    outputs, reason = keras_reference(path, np.zeros((1, 3)))
    assert outputs is None and reason.startswith(f"Keras could not load '{path}'")
