"""Read a Keras model's configuration and weights without Keras or TensorFlow.

Two file formats, both read with `json` and `h5py` (an optional dependency):

- Keras 3 `.keras`: a zip archive holding `config.json` (the serialized model) and
  `model.weights.h5`, where layer weights live in `layers/<key>/vars/0, 1, ...` in creation order
  (Dense/Conv: kernel, bias; BatchNormalization: gamma if scale, beta if center, moving_mean,
  moving_variance); a nested model's layers sit in its own `layers/` group, a wrapper's (TimeDistributed)
  layer in its `layer/` group. The key is derived from the layer's class, not its name; the `vars` group carries
  the layer name in its `name` attribute, and when that attribute is missing the keys are matched in
  the Keras naming order (snake_case class name, then `_1`, `_2`, ... per class, in layer order).
- Legacy `.h5` (Keras 2 / tf.keras, and Keras 3's `model.save("m.h5")`): the root attribute
  `model_config` holds the JSON config; group `model_weights` has the attribute `layer_names`, one group
  per layer with the attribute `weight_names` listing its weights in order (tf.keras 2 spells them
  `dense/kernel:0`, Keras 3 `dense/kernel` or `sequential/dense/kernel`), each a dataset at that path
  inside the layer group. Long attributes may be split into `name0`, `name1`, ... chunks.

- Architecture `.json` + weights `.h5` (Keras 2 / tf.keras `model.to_json()` and
  `model.save_weights("x.h5")`, as hls4ml publishes its example models): the JSON text is the same
  model config as `model_config` above (its `keras_version` names the writer; absent means Keras 2),
  and the weights file has the legacy layout above at its root (`layer_names`, per-layer
  `weight_names`), or under `model_weights` when a whole-model `.h5` is given as the weights. The
  weights file is `--weights FILE` when given, else `<stem>_weights.h5` (or `.hdf5`) beside the JSON.

A live `keras.Model` gives the same two things: `keras.saving.serialize_keras_object(model)` and each
layer's `get_weights()`.

The result is a `KerasModelSource`: the config dict, per-layer lists of (weight name, float array) in
the layer's own order, the Keras major version (tf.keras 2 and Keras 3 differ in a few definitions, e.g.
hard_sigmoid) and a description of where it came from for messages.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nn2hls.errors import ModelLoadError

H5PY_HINT = "install h5py (pip install h5py, or pip install 'nn2hls[keras]')"


@dataclass
class KerasModelSource:
    """A Keras model's serialized config plus its weights, format-independent."""

    config: dict[str, Any]
    weights: dict[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    keras_major: int = 3
    origin: str = "keras model"
    # .keras archives key weights by a class-derived name; resolved lazily against the layer list.
    unnamed_weights: dict[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)


def _h5py(path: Path):
    try:
        import h5py
    except ImportError:
        raise ModelLoadError(f"reading '{path}' needs h5py, which is not installed: {H5PY_HINT}") from None
    return h5py


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _attr_list(group, name: str) -> list[str]:
    """An h5 string-list attribute, joining tf.keras's chunked `name0`, `name1`, ... form."""
    if name in group.attrs:
        values = group.attrs[name]
        return [_text(v) for v in np.atleast_1d(values) if not isinstance(v, (float, np.floating))]
    out: list[str] = []
    index = 0
    while f"{name}{index}" in group.attrs:
        out.extend(_text(v) for v in np.atleast_1d(group.attrs[f"{name}{index}"]))
        index += 1
    return out


def _json_attr(value: Any, path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(_text(value))
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"'{path}': the {what} is not valid JSON ({exc}); the file is corrupt") from None


def _major(version: str | None, default: int) -> int:
    match = re.match(r"\s*(\d+)", version or "")
    return int(match.group(1)) if match else default


def read_keras_archive(path: Path) -> KerasModelSource:
    """Read a Keras 3 `.keras` zip archive."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelLoadError(f"'{path}' is not a Keras 3 .keras archive (not a zip file: {exc})") from None
    with archive:
        names = set(archive.namelist())
        if "config.json" not in names:
            raise ModelLoadError(f"'{path}' is a zip file but not a Keras 3 .keras archive: no config.json")
        config = _json_attr(archive.read("config.json"), path, "config.json")
        version = None
        if "metadata.json" in names:
            try:
                version = json.loads(archive.read("metadata.json")).get("keras_version")
            except ValueError:
                version = None
        weights: dict[str, list[tuple[str, np.ndarray]]] = {}
        unnamed: dict[str, list[tuple[str, np.ndarray]]] = {}
        if "model.weights.h5" in names:
            h5py = _h5py(path)
            data = archive.read("model.weights.h5")
            try:
                h5 = h5py.File(io.BytesIO(data), "r")
            except OSError as exc:
                raise ModelLoadError(f"'{path}': model.weights.h5 is not a readable HDF5 file ({exc})") from None
            with h5:
                _collect_archive_weights(h5, weights, unnamed)
        elif "model.weights.npz" in names:
            raise ModelLoadError(f"'{path}': weights stored as model.weights.npz are not supported; "
                                 "re-save the model with Keras 3's default .keras format (HDF5 weights)")
    return KerasModelSource(config, weights, _major(version, 3), f"'{path}'", unnamed)


def _collect_archive_weights(h5, weights, unnamed) -> None:
    layers = h5.get("layers")
    if layers is None:
        return
    _collect_layers(layers, weights, unnamed)


def _collect_layers(layers, weights, unnamed) -> None:
    """Weights of every layer group under `layers`, descending into nested models (their own
    `layers/` group: inner layers keep their own names) and wrappers (a `layer/` group, e.g.
    TimeDistributed: the wrapped layer's weights are the wrapper's)."""
    for key in layers:
        group = layers[key]
        vars_group = group.get("vars")
        if vars_group is None:
            continue
        arrays = [(str(i), np.asarray(vars_group[str(i)][()], dtype=np.float64))
                  for i in range(len(vars_group)) if str(i) in vars_group]
        if "layers" in group:  # a nested model
            _collect_layers(group["layers"], weights, unnamed)
            continue
        inner = group.get("layer")
        if inner is not None and inner.get("vars") is not None:  # a wrapper: its layer's weights
            inner_vars = inner["vars"]
            arrays += [(str(i), np.asarray(inner_vars[str(i)][()], dtype=np.float64))
                       for i in range(len(inner_vars)) if str(i) in inner_vars]
        arrays += _hgq2_quantizer_arrays(group)
        if not arrays and not any(k != "vars" for k in group):
            continue
        name = vars_group.attrs.get("name")
        if name is not None:
            weights[_text(name)] = arrays
        else:
            unnamed[key] = arrays


def _hgq2_quantizer_arrays(group) -> list[tuple[str, np.ndarray]]:
    """HGQ2 layers keep their quantizers' bit widths in sub-layers: `<role>/quantizer/vars/<i>` (role iq,
    kq, bq, oq) or, for a standalone Quantizer layer, `quantizer/vars/<i>`. They are named
    `hgq2:<role>/<i>` (role empty for the standalone one), after the layer's own weights."""
    out = []
    for role in [k for k in group if k != "vars"]:
        inner = group[role]
        if role == "quantizer" and "vars" in inner:
            found, prefix = inner["vars"], ""
        elif hasattr(inner, "get") and inner.get("quantizer") is not None and "vars" in inner["quantizer"]:
            found, prefix = inner["quantizer"]["vars"], role
        else:
            continue
        out += [(f"hgq2:{prefix}/{i}", np.asarray(found[str(i)][()], dtype=np.float64))
                for i in range(len(found)) if str(i) in found]
    return out


def read_legacy_h5(path: Path) -> KerasModelSource:
    """Read a legacy Keras `.h5` model file (Keras 2 / tf.keras, or Keras 3's legacy writer)."""
    h5py = _h5py(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise ModelLoadError(f"'{path}' is not a Keras .h5 model (not an HDF5 file: {exc})") from None
    with h5:
        if "model_config" not in h5.attrs:
            if "layer_names" in h5.attrs or "layer_names0" in h5.attrs:
                raise ModelLoadError(f"'{path}' holds weights only (save_weights); nn2hls needs the whole "
                                     "model: save it with model.save(...)")
            raise ModelLoadError(f"'{path}' is an HDF5 file but not a Keras model: no 'model_config' "
                                 "attribute (save it with model.save(...))")
        config = _json_attr(h5.attrs["model_config"], path, "model_config attribute")
        version = _text(h5.attrs.get("keras_version", b""))
        weights = _legacy_weights(h5, path)
    return KerasModelSource(config, weights, _major(version, 2), f"'{path}'")


def _legacy_weights(h5, path: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Per-layer weights of the legacy HDF5 layout (at the root, or under `model_weights`)."""
    group = h5["model_weights"] if "model_weights" in h5 else h5
    weights: dict[str, list[tuple[str, np.ndarray]]] = {}
    for layer_name in _attr_list(group, "layer_names"):
        if layer_name not in group:
            continue
        layer_group = group[layer_name]
        arrays = []
        for weight_name in _attr_list(layer_group, "weight_names"):
            if weight_name not in layer_group:
                raise ModelLoadError(f"'{path}': weight '{weight_name}' of layer '{layer_name}' is "
                                     "listed but missing; the file is corrupt")
            arrays.append((weight_name, np.asarray(layer_group[weight_name][()], dtype=np.float64)))
        weights[layer_name] = arrays
    return weights


WEIGHTS_SUFFIXES = ("_weights.h5", "_weights.hdf5")


def weights_beside(json_path: Path) -> Path | None:
    """`<stem>_weights.h5` (or `.hdf5`) in the JSON file's folder, when it exists."""
    for suffix in WEIGHTS_SUFFIXES:
        candidate = json_path.with_name(json_path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_keras_json(path: str | Path, weights: str | Path | None = None) -> KerasModelSource:
    """Read an architecture `.json` (`model.to_json()`) plus its legacy-layout weights `.h5`."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"model file '{path}' does not exist" if not path.exists()
                             else f"model path '{path}' is not a file")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"'{path}' is not a Keras architecture JSON file ({exc})") from None
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ModelLoadError(f"'{path}' is JSON but not a Keras model architecture (no 'class_name' and "
                             "'config'); give the file written by model.to_json()")
    if weights is None:
        found = weights_beside(path)
        if found is None:
            raise ModelLoadError(f"'{path}' holds the architecture only and no weights file "
                                 f"'{path.stem}_weights.h5' is beside it; give the weights with --weights FILE "
                                 "(API: weights=...)")
        weights_path = found
    else:
        weights_path = Path(weights)
        if not weights_path.is_file():
            raise ModelLoadError(f"weights file '{weights_path}' does not exist" if not weights_path.exists()
                                 else f"weights path '{weights_path}' is not a file")
    h5py = _h5py(weights_path)
    try:
        h5 = h5py.File(weights_path, "r")
    except OSError as exc:
        raise ModelLoadError(f"weights file '{weights_path}' is not an HDF5 file ({exc}); give the file "
                             "written by model.save_weights('x.h5')") from None
    with h5:
        if "layers" in h5 and not ("layer_names" in h5.attrs or "model_weights" in h5):
            raise ModelLoadError(f"weights file '{weights_path}' is in Keras 3's .weights.h5 layout; give a "
                                 "Keras 2 / tf.keras weights file (save_weights('x.h5')) or a Keras 3 "
                                 ".keras model")
        group = h5["model_weights"] if "model_weights" in h5 else h5
        if "layer_names" not in group.attrs and "layer_names0" not in group.attrs:
            raise ModelLoadError(f"weights file '{weights_path}' is HDF5 but holds no Keras weights (no "
                                 "'layer_names' attribute); give the file written by model.save_weights")
        arrays = _legacy_weights(h5, weights_path)
        version = str(config.get("keras_version") or _text(h5.attrs.get("keras_version", b"")))
    return KerasModelSource(config, arrays, _major(version, 2), f"'{path}' (weights '{weights_path}')")


def read_live_model(model: Any) -> KerasModelSource:
    """Config and weights of a live `keras.Model` (Keras 3)."""
    import keras  # the caller checked that it is importable

    config = keras.saving.serialize_keras_object(model)
    config = json.loads(json.dumps(config, default=_json_default))
    weights: dict[str, list[tuple[str, np.ndarray]]] = {}

    def collect(layers) -> None:
        for layer in layers:
            if isinstance(layer, keras.Model):  # a nested model: its layers keep their own names
                collect(layer.layers)
                continue
            weights[layer.name] = [(getattr(v, "path", getattr(v, "name", str(i))),
                                    np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64))
                                   for i, v in enumerate(layer.weights)]
    collect(model.layers)
    version = getattr(keras, "__version__", "3")
    return KerasModelSource(config, weights, _major(version, 3), f"live model '{model.name}'")


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def sniff_format(path: Path) -> str:
    """'keras' for a zip archive, 'h5' for an HDF5 file, by content (the suffix may lie)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise ModelLoadError(f"model file '{path}' does not exist") from None
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file '{path}': {exc}") from None
    if head.startswith(b"PK"):
        return "keras"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "h5"
    raise ModelLoadError(f"'{path}' is neither a Keras 3 .keras archive (zip) nor a Keras .h5 model "
                         "(HDF5); save the model with model.save('model.keras')")


def read_keras_file(path: str | Path) -> KerasModelSource:
    """Read a `.keras` or `.h5` file, chosen by its content."""
    path = Path(path)
    kind = sniff_format(path)
    return read_keras_archive(path) if kind == "keras" else read_legacy_h5(path)
