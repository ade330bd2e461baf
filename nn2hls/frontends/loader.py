"""Pick the frontend for a model: by file suffix for paths, by type for in-memory models.

Rule: `.onnx` -> ONNX frontend; `.keras`, `.h5`/`.hdf5` and an architecture `.json` (with its weights
file: `weights`, else `<stem>_weights.h5` beside it) -> Keras frontend; `.pt2` (torch.export) and
TorchScript `.pt`/`.pth` -> `torch_files` (a TorchScript file takes its input shape from `example_input`); an `onnx.ModelProto`
-> ONNX; a `keras.Model` -> Keras; a `torch.nn.Module` -> PyTorch (needs `example_input`). Types are
recognized without importing Keras or torch when the caller never imported them (an object of those
types cannot exist otherwise). Anything else is a ModelLoadError naming what was given and what is
supported.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nn2hls.errors import ModelLoadError
from nn2hls.ir.graph import Graph

SUFFIXES = {".onnx": "onnx", ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".json": "keras",
            ".pt2": "torch", ".pt": "torch", ".pth": "torch"}


def _is_instance(obj: Any, module: str, attr_path: str) -> bool:
    root = sys.modules.get(module)
    if root is None:
        return False
    cls: Any = root
    for part in attr_path.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            return False
    return isinstance(obj, cls)


def load_model(source: Any, example_input: Any = None, weights: "str | Path | None" = None) -> Graph:
    """Load `source` (a model file path or an in-memory ONNX / Keras / PyTorch model) as an IR Graph.

    `weights`: the weights file of a Keras architecture `.json` (refused for any other source)."""
    if weights is not None and not (isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".json"):
        raise ModelLoadError(f"a weights file ('{weights}') goes with a Keras architecture .json model only; "
                             "other models carry their own weights")
    if isinstance(source, (str, Path)):
        path = Path(source)
        kind = SUFFIXES.get(path.suffix.lower())
        if kind is None and path.is_dir():
            from nn2hls.project_io import is_project
            if is_project(path):
                raise ModelLoadError(f"'{path}' is an nn2hls project folder, not a model file: give the model "
                                     "(.onnx, .keras, ...) it was converted from; csim, emulate, report, lint and "
                                     "rtlsim read projects")
            raise ModelLoadError(f"'{path}' is a folder, not a model file; supported: {', '.join(SUFFIXES)}")
        if kind is None:
            raise ModelLoadError(f"'{path}': unknown model file suffix '{path.suffix}'; supported: "
                                 f"{', '.join(SUFFIXES)}")
        if not path.exists():
            raise ModelLoadError(f"model file '{path}' does not exist")
        if kind == "onnx":
            from nn2hls.frontends.onnx import load_onnx
            return load_onnx(path)
        if kind == "torch":
            from nn2hls.frontends.torch_files import load_torch_file
            return load_torch_file(path, example_input)
        from nn2hls.frontends.keras import load_keras
        return load_keras(path, weights)
    if _is_instance(source, "onnx", "ModelProto"):
        from nn2hls.frontends.onnx import load_onnx
        return load_onnx(source)
    if _is_instance(source, "keras", "Model"):
        from nn2hls.frontends.keras import load_keras
        return load_keras(source)
    if _is_instance(source, "torch", "nn.Module"):
        from nn2hls.frontends.torch import load_torch
        return load_torch(source, example_input)
    raise ModelLoadError(f"cannot load a model from a {type(source).__module__}.{type(source).__name__}; "
                         f"give a file path ({', '.join(SUFFIXES)}), an onnx.ModelProto, a keras.Model or "
                         "a torch.nn.Module with an example input")
