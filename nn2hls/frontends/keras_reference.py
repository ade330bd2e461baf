"""Keras itself as the float reference for a Keras model, when Keras can be imported.

Rule: `keras_reference(source, x)` loads the model with Keras (`keras.saving.load_model`, compile off)
or uses the live model, runs `predict` on `x` (N, *input_shape) and returns the outputs as float64
arrays plus a one-line description (e.g. "keras 3.15.1 (torch backend)"). When Keras is missing or
cannot start (no backend installed), or cannot load the file, it returns None and the reason, so
callers fall back to the IR float executor and say which reference they used. Keras needs a backend:
when KERAS_BACKEND is unset and TensorFlow is absent but torch (or jax) is installed, that backend is
chosen for this process before the first import of Keras.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np


def _choose_backend() -> None:
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return
    if importlib.util.find_spec("tensorflow") is not None:
        return
    for backend in ("torch", "jax"):
        if importlib.util.find_spec(backend) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return


def import_keras() -> tuple[Any | None, str]:
    """The keras module, or None and why it is unavailable."""
    _choose_backend()
    try:
        import keras
    except Exception as exc:  # noqa: BLE001 - a missing backend raises various errors
        return None, f"Keras is not usable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    return keras, f"keras {keras.__version__} ({keras.backend.backend()} backend)"


def keras_reference(source: "str | Path | Any", x: np.ndarray) -> tuple[list[np.ndarray] | None, str]:
    """(Keras predict outputs, description), or (None, reason) when Keras cannot provide them."""
    keras, description = import_keras()
    if keras is None:
        return None, description
    model = source
    if isinstance(source, (str, Path)):
        try:
            model = keras.saving.load_model(str(source), compile=False)
        except Exception as exc:  # noqa: BLE001 - report, then fall back
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, f"Keras could not load '{source}' ({first})"
    outputs = model.predict(np.asarray(x, dtype=np.float32), verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o, dtype=np.float64) for o in outputs], description
