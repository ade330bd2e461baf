"""nn2hls: compile trained neural networks into bit-exact, sparse HLS projects.

Public API (imported lazily, so `import nn2hls` stays cheap):
`load(path_or_model, example_input=None) -> Graph`, `compile(model, config=None, calibration=None)
-> CompiledModel`, `Config`, `CompiledModel`, `load_config`, `check(model, x, ...) -> CheckResult` (C-sim vs
emulator vs float reference, with gates), `explore(model, x, space, out_dir, ...) -> ExploreResult`
(design-space scan, serial or on Ray; docs/explore.md), the submodule `testing` (pytest helpers), and the
error classes of nn2hls.errors.
"""
from __future__ import annotations

from typing import Any

from nn2hls.errors import (BuildError, ConfigError, FixedTypeError, FloatReferenceError, GraphError,
                           InputDataError, ModelLoadError, Nn2hlsError, OutputExistsError, UnsupportedOpError)

__version__ = "0.1.0"

_LAZY = {
    "load": ("nn2hls.pipeline", "load"),
    "compile": ("nn2hls.pipeline", "compile"),
    "CompiledModel": ("nn2hls.pipeline", "CompiledModel"),
    "Config": ("nn2hls.config", "Config"),
    "load_config": ("nn2hls.config_file", "load_config"),
    "check": ("nn2hls.checker", "check"),
    "CheckResult": ("nn2hls.checker", "CheckResult"),
    "testing": ("nn2hls.testing", None),
    "explore": ("nn2hls.explore", None),  # a callable package: nn2hls.explore(model, x, space, out_dir, ...)
}

__all__ = ["load", "compile", "CompiledModel", "Config", "load_config", "check", "CheckResult", "testing", "explore",
           "Nn2hlsError", "FixedTypeError", "ModelLoadError", "UnsupportedOpError", "GraphError", "ConfigError",
           "InputDataError", "FloatReferenceError", "BuildError", "OutputExistsError", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        if attr is not None:
            value = getattr(value, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nn2hls' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
