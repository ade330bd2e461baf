"""Keras itself as the float reference for a Keras model, when Keras can be imported.

Rule: `keras_reference(source, x)` loads the model with Keras (`keras.saving.load_model`, compile off)
or uses the live model, runs `predict` on `x` (N, *input_shape; a list of arrays in input order for
several inputs) and returns the outputs as float64
arrays plus a one-line description (e.g. "keras 3.15.1 (torch backend)"). When Keras is missing or
cannot start (no backend installed), or cannot load the file, it returns None and the reason, so
callers fall back to the IR float executor and say which reference they used. An architecture
`.json` with a Keras 2 weights `.h5` (which Keras 3's `model_from_json` refuses) is rebuilt by Keras 3's
own legacy loader for Keras 2 files (`keras.src.legacy.saving`: `model_from_config`, then
`load_weights_from_hdf5_group`), the same code `load_model` runs on a legacy whole-model `.h5`. Keras needs a backend:
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


def _load_json_model(keras: Any, path: Path, weights: "str | Path | None") -> Any:
    """A Keras 3 model rebuilt from a Keras 2 architecture JSON plus its legacy weights file."""
    import json

    import h5py
    from keras.src.legacy.saving import legacy_h5_format, saving_utils

    from nn2hls.frontends.keras_files import weights_beside

    weights_path = Path(weights) if weights is not None else weights_beside(path)
    if weights_path is None:
        raise FileNotFoundError(f"no weights file beside '{path}'")
    model = saving_utils.model_from_config(json.loads(path.read_text(encoding="utf-8")))
    with h5py.File(weights_path, "r") as h5:
        group = h5["model_weights"] if "model_weights" in h5 else h5
        legacy_h5_format.load_weights_from_hdf5_group(group, model)
    return model


def keras_reference(source: "str | Path | Any", x: np.ndarray, weights: "str | Path | None" = None
                    ) -> tuple[list[np.ndarray] | None, str]:
    """(Keras predict outputs, description), or (None, reason) when Keras cannot provide them.

    `weights`: the weights file of an architecture `.json` source (default: `<stem>_weights.h5`)."""
    keras, description = import_keras()
    if keras is None:
        return None, description
    model = source
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".json":
        try:
            model = _load_json_model(keras, Path(source), weights)
        except Exception as exc:  # noqa: BLE001 - report, then fall back
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, f"Keras could not rebuild '{source}' from its JSON and weights ({first[:160]})"
        description += ", Keras 2 JSON + weights via Keras 3's legacy loader"
    elif isinstance(source, (str, Path)):
        try:
            model = keras.saving.load_model(str(source), compile=False)
        except Exception as exc:  # noqa: BLE001 - report, then fall back
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, f"Keras could not load '{source}' ({first})"
    if isinstance(x, (list, tuple)):  # several inputs, in the model's input order
        data: Any = [np.asarray(a, dtype=np.float32) for a in x]
    else:
        data = np.asarray(x, dtype=np.float32)
    outputs = model.predict(data, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o, dtype=np.float64) for o in outputs], description
