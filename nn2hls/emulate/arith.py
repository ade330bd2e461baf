"""Exact integer arithmetic on raw fixed-point values, in the cheapest numpy dtype that stays exact.

A tensor of type ``t`` is held as its raw integers (value = raw * 2**-t.frac) in its *storage* dtype:
float64 when ``t.width <= 52`` (every integer below 2**53 is an exact double, and float64 is where
numpy and BLAS are fast), int64 up to 63 bits, numpy object arrays of Python ints beyond. Intermediate
exact results (products, sums) pick their dtype from a proven magnitude bound the same way
(`work_dtype`).

`cast` assigns exact values ``raw * 2**-frac`` (raw within a known range ``[lo, hi]``) to a type with
its quantization and overflow modes, i.e. `nn2hls.ir.fixed.requantize`. In float64 it is computed
directly with the float kernels of `nn2hls.ir.ap_modes`, where the rules live (scaling by a power of
two is exact, and for |raw| < 2**52 so is ``y +- 0.5``); everything else calls `fixed.requantize` on
int64/object arrays. When the range ``[lo, hi]`` proves that no rounding
or overflow can happen the cast is a plain (exact) scaling. The number of values changed by the
overflow mode is added to a `Tally`.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.errors import InputDataError
from nn2hls.ir import ap_modes, fixed
from nn2hls.ir.types import FixedType

FLOAT_BITS = 52  # float64 holds exact integers below 2**53; keep one bit for +-0.5 rounding
INT_BITS = 62


class Tally:
    """Counts values changed by an overflow mode (one per node)."""

    __slots__ = ("count", "enabled")

    def __init__(self, enabled: bool = True) -> None:
        self.count = 0
        self.enabled = enabled

    def add(self, n: int) -> None:
        self.count += int(n)


def storage_dtype(t: FixedType):
    """float64 for widths <= 52, int64 up to 63 bits, object above."""
    if t.width <= FLOAT_BITS:
        return np.float64
    return np.int64 if t.width <= 63 else object


def work_dtype(bound: int):
    """The cheapest exact dtype for integers of magnitude <= bound."""
    bound = int(bound)
    if bound < (1 << FLOAT_BITS):
        return np.float64
    return np.int64 if bound < (1 << INT_BITS) else object


def max_abs(t: FixedType) -> int:
    """Largest |raw| of type t (`FixedType.max_abs_raw`)."""
    return t.max_abs_raw


def as_dtype(raw, dtype) -> np.ndarray:
    """Exact conversion of an integer array between float64 / int64 / object storage."""
    arr = np.asarray(raw)
    if dtype is object:
        if arr.dtype == object:
            return arr
        out = np.empty(arr.shape, dtype=object)
        out.reshape(-1)[:] = [int(v) for v in arr.reshape(-1).tolist()]
        return out
    if arr.dtype == dtype:
        return arr
    if arr.dtype == object:
        flat = [int(v) for v in arr.reshape(-1).tolist()]
        return np.array(flat, dtype=dtype).reshape(arr.shape) if flat else arr.astype(dtype)
    return arr.astype(dtype)


def scale_pow2(raw: np.ndarray, k: int) -> np.ndarray:
    """raw * 2**k for k >= 0, exact in raw's dtype (caller guarantees the result fits)."""
    if k == 0:
        return raw
    if raw.dtype == np.float64:
        return raw * math.ldexp(1.0, k)
    if raw.dtype == object:
        return raw * (1 << k)
    return raw << k


def to_int(raw: np.ndarray, t: FixedType) -> np.ndarray:
    """Storage -> the canonical raw array of `fixed` (int64 up to 63 bits, object beyond)."""
    return as_dtype(raw, fixed.raw_dtype(t))


def to_float(raw: np.ndarray, t: FixedType) -> np.ndarray:
    """Values raw * 2**-frac as float64 (exact for widths <= 53)."""
    if raw.dtype == object:
        return fixed.to_float(raw, t)
    return np.ldexp(raw.astype(np.float64, copy=False), -t.frac)


def _in_range(lo: int, hi: int, t: FixedType) -> bool:
    return ap_modes.fits(lo, hi, t.width, t.signed, t.overflow)


def _floor_shift(v: int, s: int) -> int:
    return v >> s


def _ceil_shift(v: int, s: int) -> int:
    return -((-v) >> s)


def cast(raw: np.ndarray, frac: int, lo: int, hi: int, t: FixedType, tally: Tally | None) -> np.ndarray:
    """Assign raw * 2**-frac (every raw in [lo, hi]) to t; returns t's storage array."""
    s = frac - t.frac
    dst = storage_dtype(t)
    if s <= 0:
        nlo, nhi = lo << -s, hi << -s
        if _in_range(nlo, nhi, t):  # exact: a scaling, no rounding, no overflow
            bound = max(abs(nlo), abs(nhi))
            return as_dtype(scale_pow2(as_dtype(raw, work_dtype(bound) if dst is not object else object),
                                       -s), dst)
    else:
        nlo, nhi = _floor_shift(lo, s), _ceil_shift(hi, s)
    bound = max(abs(lo), abs(hi))
    if (raw.dtype == np.float64 and dst is np.float64 and bound < (1 << FLOAT_BITS) and s <= 900
            and max(abs(nlo), abs(nhi)) < (1 << FLOAT_BITS)):
        return _cast_float(raw, s, t, not _in_range(nlo, nhi, t), tally)
    src = np.int64 if (bound < (1 << 63) and raw.dtype != object) else object
    out, ovf = fixed.requantize(as_dtype(raw, src), frac, t, return_overflow=True)
    if tally is not None and tally.enabled:
        tally.add(np.count_nonzero(ovf))
    return as_dtype(out, dst)


def _overflow_float(y: np.ndarray, t: FixedType, tally: Tally | None) -> np.ndarray:
    """Apply t's overflow mode (`ap_modes`) to integer-valued float64 y (|y| < 2**52)."""
    if y.size == 0 or _in_range(float(y.min()), float(y.max()), t):
        return y
    above, below = ap_modes.overflow_masks(y, t.width, t.signed, t.overflow)
    if tally is not None and tally.enabled:
        tally.add(np.count_nonzero(above) + np.count_nonzero(below))
    return ap_modes.apply_overflow(y, above, below, t.width, t.signed, t.overflow)


def _cast_float(raw: np.ndarray, s: int, t: FixedType, may_overflow: bool, tally: Tally | None):
    if s > 0:
        y = raw * math.ldexp(1.0, -s)
        y = ap_modes.round_float(y, fixed.effective_rounding(t), half_exact=True)
    elif s < 0:
        y = raw * math.ldexp(1.0, -s)
    else:
        y = raw
    if may_overflow:
        y = _overflow_float(y, t, tally)
    return y


def quantize_input(x: np.ndarray, t: FixedType, tally: Tally | None) -> np.ndarray:
    """Doubles -> t's storage array (Vivado assignment of a double, `fixed.quantize`)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        fixed.quantize(x, t)  # raises InputDataError naming the value
        raise InputDataError("input contains NaN or infinity")  # pragma: no cover
    if storage_dtype(t) is np.float64 and t.frac >= 0 and x.size:
        y = np.ldexp(x, t.frac)
        if np.abs(y).max() < math.ldexp(1.0, 51):
            y = ap_modes.round_float(y, fixed.effective_rounding(t))
            return _overflow_float(y, t, tally)
    out, ovf = fixed.quantize(x, t, return_overflow=True)
    if tally is not None and tally.enabled:
        tally.add(np.count_nonzero(ovf))
    return as_dtype(out, storage_dtype(t))


def exact_weight(values: np.ndarray, t: FixedType, what: str) -> np.ndarray:
    """Raw integers of weights that must be exactly representable in t (int64, object beyond 62 bits)."""
    values = np.asarray(values, dtype=np.float64)
    raw = fixed.quantize(values, t)
    back = fixed.to_float(raw, t)
    if not np.array_equal(back, values):
        bad = values.reshape(-1)[np.flatnonzero(back.reshape(-1) != values.reshape(-1))[0]]
        raise _not_representable(what, t, bad)
    return raw if t.width <= INT_BITS else as_dtype(raw, object)


def abs_sum(raw: np.ndarray, axis: int) -> list[int]:
    """Exact sums of |raw| along axis, as Python ints."""
    if raw.dtype != object and raw.size and int(np.abs(raw).max()) * raw.shape[axis] < (1 << 62):
        return [int(v) for v in np.abs(raw).sum(axis=axis).reshape(-1).tolist()]
    return [int(v) for v in np.abs(as_dtype(raw, object)).sum(axis=axis).reshape(-1).tolist()]


def abs_max(raw: np.ndarray) -> int:
    """max |raw| as a Python int (0 for an empty array)."""
    if raw.size == 0:
        return 0
    if raw.dtype == object:
        return max(abs(int(v)) for v in raw.reshape(-1).tolist())
    return int(np.abs(raw).max())


def _not_representable(what: str, t: FixedType, value: float):
    from nn2hls.errors import GraphError
    return GraphError(f"{what} value {value!r} is not exactly representable in {t}: run the weight "
                      "quantization pass before emulating")


__all__ = ["Tally", "storage_dtype", "work_dtype", "max_abs", "as_dtype", "scale_pow2", "to_int",
           "to_float", "cast", "quantize_input", "exact_weight", "abs_sum", "abs_max"]
