"""Numeric rules of precision assignment: integer bits, exact accumulators, value intervals.

- `integer_bits(m, width, signed, rounding)`: the fewest integer bits I such that every value of
  magnitude <= m (signed: in [-m, m]; unsigned: in [0, m]) assigned to ap_[u]fixed<width, I> with that
  rounding does not overflow (checked with `nn2hls.ir.fixed.quantize`, so rounding up to the next
  power of two is accounted for). m = 0 gives I = 1 (signed) or 0 (unsigned).
- `bits_at_frac(values, frac, rounding)`: a signed type with `frac` fractional bits that holds every
  value exactly after rounding: W = bitlen(max |raw|) + 1.
- `exact_accum(...)`: the accumulator of `bias + sum_i x_i * w_i` that can neither round nor overflow:
  F = max(frac(x) + frac(w), frac(bias)); with raw integers at F,
      S = max_j (|b_j| + sum_i |w_ij| * max|x|)       (max|x| = max(-min, max) of x's type)
  and W = bitlen(S) + 1 (signed, AP_TRN, AP_WRAP). Sums are exact Python integers.
  `exact_accum_width` gives (W, F) without the 128-bit limit (for comparing an explicit accumulator).
- `check_product(...)`: x * w (Dense/Conv, with the C simulation's tree widening) and x * scale + shift
  (ScaleShift) must fit 128 bits, else ConfigError naming the layer.
- `check_accum(...)`: an explicit accumulator must keep frac(accum) >= frac(x) + frac(w),
  frac(accum) >= frac(bias) and overflow AP_WRAP (docs/semantics.md), else ConfigError.
- Intervals: `type_range(t)` = [min, max] of a type; `dense_interval` etc. give provable output bounds
  from the input ranges (used without calibration data, and as a cap with data).
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.errors import ConfigError
from nn2hls.ir.ap_modes import Overflow, Rounding
from nn2hls.ir import fixed
from nn2hls.ir.types import MAX_WIDTH, FixedType

Interval = tuple[float, float]


def integer_bits(m: float, width: int, signed: bool, rounding: Rounding = Rounding.AP_TRN) -> int:
    """Fewest integer bits so that magnitudes up to `m` fit ap_[u]fixed<width, I, rounding>."""
    m = float(abs(m))
    if m == 0.0 or not math.isfinite(m):
        if not math.isfinite(m):
            raise ConfigError(f"cannot size a type for the non-finite magnitude {m}")
        return 1 if signed else 0
    start = math.floor(math.log2(m)) + (1 if signed else 0)
    probe = np.array([m, -m] if signed else [m])
    for integer in range(start, start + 4):
        t = FixedType.fixed(width, integer, signed, rounding, Overflow.AP_SAT)
        _, ovf = fixed.quantize(probe, t, return_overflow=True)
        if not ovf.any():
            return integer
    raise AssertionError(f"no integer bit count found for magnitude {m}")  # unreachable


def raw_at_frac(values: np.ndarray, frac: int, rounding: Rounding = Rounding.AP_RND) -> list[int]:
    """Exact Python-int raw values of `values` rounded to `frac` fractional bits (no overflow)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        return []
    m = float(np.max(np.abs(values)))
    integer = (math.floor(math.log2(m)) + 3) if m > 0 else 1
    width = integer + frac
    if not 1 <= width <= MAX_WIDTH:
        raise ConfigError(f"values up to {m:g} with {frac} fractional bits need {width} bits, more "
                          f"than {MAX_WIDTH}: use fewer fractional bits")
    t = FixedType.fixed(width, integer, True, rounding, Overflow.AP_SAT)
    return [int(r) for r in np.asarray(fixed.quantize(values, t)).reshape(-1).tolist()]


def bits_at_frac(values: np.ndarray, frac: int, rounding: Rounding = Rounding.AP_RND, *, what: str = "") -> FixedType:
    """Signed type with `frac` fractional bits holding every value after rounding (W >= 1)."""
    raws = raw_at_frac(values, frac, rounding)
    biggest = max((abs(r) for r in raws), default=0)
    width = biggest.bit_length() + 1
    if width > MAX_WIDTH:
        raise ConfigError(f"{what}: needs {width} bits at {frac} fractional bits, more than {MAX_WIDTH}")
    return FixedType.fixed(width, width - frac, True, rounding, Overflow.AP_SAT)


def max_abs_raw(t: FixedType) -> int:
    """Largest |raw| of t (`FixedType.max_abs_raw`)."""
    return t.max_abs_raw


def type_range(t: FixedType) -> Interval:
    return (t.min_value, t.max_value)


def _column_abs_sums(raw2d: np.ndarray) -> list[int]:
    """Exact sum over axis 0 of |raw| as Python ints."""
    a = np.abs(np.asarray(raw2d))
    if a.dtype != object and a.size and int(a.max()) < (1 << 40) and a.shape[0] < (1 << 20):
        return [int(v) for v in a.sum(axis=0, dtype=np.int64).tolist()]
    return [sum(int(v) for v in col) for col in a.astype(object).T.tolist()]


def exact_accum_width(kernel_raw: np.ndarray, w_type: FixedType, bias_raw: np.ndarray | None,
                      b_type: FixedType, x_type: FixedType) -> tuple[int, int]:
    """(W, F) of the exact accumulator of y_j = b_j + sum_i x_i * w_ij, W possibly above 128.

    kernel_raw (shaped (inputs, outputs)) / bias_raw are raw integers of w_type / b_type.
    """
    frac = max(x_type.frac + w_type.frac, b_type.frac)
    shift_w = frac - (x_type.frac + w_type.frac)
    shift_b = frac - b_type.frac
    col = _column_abs_sums(kernel_raw)
    xmax = max_abs_raw(x_type)
    outputs = kernel_raw.shape[1]
    braw = [0] * outputs if bias_raw is None else [abs(int(v)) for v in np.asarray(bias_raw).reshape(-1).tolist()]
    bound = max(((col[j] * xmax) << shift_w) + (braw[j] << shift_b) for j in range(outputs)) if outputs else 0
    return bound.bit_length() + 1, frac


def exact_accum(kernel_raw: np.ndarray, w_type: FixedType, bias_raw: np.ndarray | None, b_type: FixedType,
                x_type: FixedType, *, what: str) -> FixedType:
    """Exact accumulator type for y_j = b_j + sum_i x_i * w_ij (`exact_accum_width`).

    `what` names the layer in errors. Only called for an `auto` accumulator: an explicit one is
    honoured without computing this.
    """
    width, frac = exact_accum_width(kernel_raw, w_type, bias_raw, b_type, x_type)
    if width > MAX_WIDTH:
        raise ConfigError(f"layer {what}: the exact accumulator needs {width} bits (> {MAX_WIDTH}) for "
                          f"input {x_type} and weight {w_type}; use narrower input/weight types or set an "
                          f"explicit accum type for this layer")
    return FixedType.fixed(width, width - frac)


PRODUCT_HEADROOM = 6  # the C simulation widens a weight by up to 5 bits (adder trees) and ufixed by 1


def check_product(x_type: FixedType, w_type: FixedType, b_type: FixedType | None, *, what: str) -> None:
    """Refuse input x weight products the C simulation cannot form within 128 bits (ConfigError).

    Dense/Conv: W(x) + W(w) + PRODUCT_HEADROOM <= 128 (`nn2hls_dense.h` names the widened product
    type of every tree). ScaleShift (b_type given): the exact x * scale + shift type must fit 128 bits.
    """
    if b_type is None:
        width = x_type.width + w_type.width + PRODUCT_HEADROOM
    else:
        p_int, p_signed = x_type.integer + w_type.integer, x_type.signed or w_type.signed
        integer = max(p_int + int(b_type.signed and not p_signed), b_type.integer + int(p_signed and not b_type.signed)) + 1
        width = integer + max(x_type.frac + w_type.frac, b_type.frac)
    if width > MAX_WIDTH:
        raise ConfigError(f"layer {what}: input {x_type} times weight {w_type} needs {width} bits in the "
                          f"C simulation, more than {MAX_WIDTH}; narrow the input (result of the layer "
                          f"before) or the weight type")


def check_accum(accum: FixedType, x_type: FixedType, w_type: FixedType | None, b_type: FixedType | None,
                *, what: str) -> None:
    """Refuse an explicit accumulator that would round inside the sum or saturate."""
    need = x_type.frac + (w_type.frac if w_type is not None else 0)
    if accum.frac < need:
        raise ConfigError(f"layer {what}: accum type {accum} has {accum.frac} fractional bits, fewer than "
                          f"frac(input) + frac(weight) = {need}; use at least {need} (or 'auto')")
    if b_type is not None and accum.frac < b_type.frac:
        raise ConfigError(f"layer {what}: accum type {accum} has fewer fractional bits than the bias type "
                          f"{b_type}; use at least {b_type.frac} (or 'auto')")
    if accum.overflow != Overflow.AP_WRAP:
        raise ConfigError(f"layer {what}: accum type {accum} must use overflow mode AP_WRAP (sums are exact "
                          "modulo 2^W); drop the overflow mode or use 'auto'")


# ---- intervals ------------------------------------------------------------------------------------
def hull(intervals: list[Interval]) -> Interval:
    return (min(i[0] for i in intervals), max(i[1] for i in intervals))


def dense_interval(kernel2d: np.ndarray, bias: np.ndarray | None, x: Interval) -> Interval:
    """Bounds of b_j + sum_i x_i w_ij over j for x_i in [lo, hi] (0 included, as for zero padding)."""
    lo, hi = min(x[0], 0.0), max(x[1], 0.0)
    pos = np.clip(kernel2d, 0, None)
    neg = np.clip(kernel2d, None, 0)
    b = np.zeros(kernel2d.shape[1]) if bias is None else np.asarray(bias).reshape(-1)
    low = b + lo * pos.sum(axis=0) + hi * neg.sum(axis=0)
    high = b + hi * pos.sum(axis=0) + lo * neg.sum(axis=0)
    if low.size == 0:
        return (0.0, 0.0)
    return (float(low.min()), float(high.max()))


def scale_shift_interval(scale: np.ndarray, shift: np.ndarray, x: Interval) -> Interval:
    a, d = np.asarray(scale), np.asarray(shift)
    p, q = a * x[0] + d, a * x[1] + d
    return (float(np.minimum(p, q).min()), float(np.maximum(p, q).max()))


def monotone_interval(fn, x: Interval, extra: tuple[float, ...] = ()) -> Interval:
    """Hull of fn at the endpoints and at `extra` points inside (e.g. 0 for piecewise functions)."""
    points = [x[0], x[1]] + [e for e in extra if x[0] <= e <= x[1]]
    values = [float(fn(p)) for p in points]
    return (min(values), max(values))
