"""Helpers for users' own pytest suites (`import nn2hls; nn2hls.testing.assert_check(...)`).

Both run `nn2hls.check` (C-sim, emulator and float reference on the samples x) and raise an
AssertionError naming what failed:
- `assert_bit_exact(model, x)`: the C simulation returns exactly the emulator's numbers (equality of
  the float64 outputs is equality of bits: both decode the same fixed-point raw integers exactly); the
  message names the first mismatching sample, output, flat index and the two values.
- `assert_check(model, x, min_agreement=..., max_error=...)`: bit-exact and every given gate holds
  (argmax agreement with the float reference >= min_agreement, max abs error <= max_error); returns
  the CheckResult for further assertions.
`model` is anything `nn2hls.check` accepts: a model file, an in-memory model, a Graph, a CompiledModel
or a project folder. For a model with several inputs, x is a tuple/list in input order or a dict keyed
by input name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nn2hls.compare import first_mismatch

__all__ = ["assert_bit_exact", "assert_check", "first_mismatch"]


def assert_check(model: Any, x: Any, *, min_agreement: float | None = None, max_error: float | None = None,
                 config: Any = None, calibration: Any = None, ap_types: str | Path | None = None):
    """Assert bit-exactness and the given gates; return the CheckResult."""
    from nn2hls.checker import check

    result = check(model, x, config=config, calibration=calibration, ap_types=ap_types,
                   min_agreement=min_agreement, max_error=max_error)
    problems = []
    if not result.bit_exact:
        problems.append(f"C simulation is not bit-exact with the emulator: {result.first_mismatch}")
    problems += result.failed_gates
    if problems:
        raise AssertionError(f"check of '{result.model}' failed: " + "; ".join(problems))
    return result


def assert_bit_exact(model: Any, x: Any, *, ap_types: str | Path | None = None) -> None:
    """Assert that the C simulation and the emulator agree on every bit for samples x."""
    from nn2hls.checker import check

    result = check(model, x, ap_types=ap_types)
    if not result.bit_exact:
        raise AssertionError(f"C simulation of '{result.model}' is not bit-exact with the emulator: "
                             f"{result.first_mismatch}")
