"""Helpers for users' own pytest suites.

`assert_bit_exact(model, x)`: builds the C simulation of a compiled model (or of anything
`nn2hls.compile` accepts: a model file, an in-memory model, a Graph, a project folder) and asserts
that it returns exactly the emulator's numbers on the samples x. Equality of the float64 outputs is
equality of bits, since both sides decode the same fixed-point raw integers exactly. On failure the
AssertionError names the first mismatching sample, output, flat index and the two values.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _as_list(outputs: Any) -> list[np.ndarray]:
    return [np.asarray(o) for o in outputs] if isinstance(outputs, (list, tuple)) else [np.asarray(outputs)]


def first_mismatch(expected: Any, actual: Any) -> str | None:
    """Description of the first differing value between two output sets, or None when identical."""
    exp, act = _as_list(expected), _as_list(actual)
    if len(exp) != len(act):
        return f"{len(exp)} outputs expected, got {len(act)}"
    for k, (e, a) in enumerate(zip(exp, act)):
        if e.shape != a.shape:
            return f"output {k}: shape {a.shape} differs from the expected {e.shape}"
        diff = ~((e == a) | (np.isnan(e) & np.isnan(a)))
        if diff.any():
            flat = diff.reshape(diff.shape[0], -1)
            sample = int(np.argmax(flat.any(axis=1)))
            index = int(np.argmax(flat[sample]))
            n_bad = int(flat.any(axis=1).sum())
            return (f"sample {sample}, output {k}, element {index}: C-sim {float(a.reshape(a.shape[0], -1)[sample, index])!r}"
                    f" != emulator {float(e.reshape(e.shape[0], -1)[sample, index])!r} ({n_bad} of {e.shape[0]} samples differ)")
    return None


def assert_bit_exact(model: Any, x: Any, *, ap_types: str | Path | None = None) -> None:
    """Assert that the C simulation and the emulator agree on every bit for samples x."""
    from nn2hls.pipeline import CompiledModel, compile

    if isinstance(model, (str, Path)) and Path(model).is_dir():
        model = CompiledModel.from_project(model)
    elif not isinstance(model, CompiledModel):
        model = compile(model)
    expected = model.emulate(x)
    actual = model.build(ap_types=ap_types).predict(np.asarray(x, dtype=np.float64))
    problem = first_mismatch(expected, actual)
    if problem is not None:
        raise AssertionError(f"C simulation of '{model.name}' is not bit-exact with the emulator: {problem}")
