"""Vivado fixed-point modes: their names, the raw-integer bounds and the rounding and overflow rules.

The one definition of these rules. The exact paths (`nn2hls.ir.fixed` on int64 arrays and on numpy
object arrays of Python ints) and the fast float64 paths (`nn2hls.ir.fixed.quantize`,
`nn2hls.emulate.arith`) call the kernels below; the passes read the bounds from here. Rules as in
UG1399 ("Arbitrary Precision Data Types", quantization and overflow modes); where it and the vendor
ap_types headers differ, the headers win because the C simulation must match them.

Names: `Rounding` (the quantization mode Q) and `Overflow` (the overflow mode O) are string enums whose
values are the Vivado spellings, so config files, JSON and the generated C++ keep those spellings;
`parse_rounding` / `parse_overflow` accept any case and an omitted ``AP_`` prefix.

Bounds of a W-bit raw integer: ``[-2^(W-1), 2^(W-1) - 1]`` signed, ``[0, 2^W - 1]`` unsigned.
`min_raw(W, signed, O)` and `max_raw(W, signed, O)` are the range an assignment with overflow mode O
keeps unchanged: the same, except that AP_SAT_SYM on a signed type of W >= 2 bits keeps
``[-max_raw, max_raw]``: ``-2^(W-1)`` itself overflows even when the value is exactly representable
(vendor headers: ``ap_fixed<8,4,AP_TRN,AP_SAT_SYM>(-8.0) == -7.9375``), and the overflow mask marks
it; a 1-bit signed type (max_raw = 0) keeps -1, as the vendor does.

Quantization of ``q = value * 2^F`` (F fractional bits) to an integer: AP_TRN floor; AP_TRN_ZERO toward
zero; the nearest modes take the nearest integer and differ only at a tie ``q = k + 1/2`` (k = floor q):
AP_RND picks k + 1 (toward +inf), AP_RND_MIN_INF k, AP_RND_ZERO toward zero, AP_RND_INF away from zero,
AP_RND_CONV the even one (`tie_rounds_up`). Kernels: `round_shift` for integers (q = raw / 2^s),
`round_float` for doubles.

Overflow of the rounded integer n outside ``[min_raw, max_raw]`` (`overflow_masks`): AP_WRAP keeps
n mod 2^W (two's complement when signed); AP_SAT and AP_SAT_SYM clamp to the kept range; AP_SAT_ZERO
gives 0 (`apply_overflow`). The vendor's N (saturation bits of the wrap modes) is not modelled.
"""
from __future__ import annotations

import enum
from typing import Any, Callable

import numpy as np


class Rounding(enum.StrEnum):
    """Quantization mode Q of ap_fixed<W,I,Q,O,N>."""

    AP_TRN = "AP_TRN"
    AP_TRN_ZERO = "AP_TRN_ZERO"
    AP_RND = "AP_RND"
    AP_RND_ZERO = "AP_RND_ZERO"
    AP_RND_INF = "AP_RND_INF"
    AP_RND_MIN_INF = "AP_RND_MIN_INF"
    AP_RND_CONV = "AP_RND_CONV"


class Overflow(enum.StrEnum):
    """Overflow mode O of ap_fixed<W,I,Q,O,N>."""

    AP_WRAP = "AP_WRAP"
    AP_SAT = "AP_SAT"
    AP_SAT_ZERO = "AP_SAT_ZERO"
    AP_SAT_SYM = "AP_SAT_SYM"


QUANT_MODES: tuple[str, ...] = tuple(m.value for m in Rounding)
OVERFLOW_MODES: tuple[str, ...] = tuple(m.value for m in Overflow)
SATURATING: tuple[Overflow, ...] = (Overflow.AP_SAT, Overflow.AP_SAT_SYM)


def _parse(text: Any, enum_type):
    if not isinstance(text, str):
        return None
    name = text.strip().upper()
    if not name.startswith("AP_"):
        name = "AP_" + name
    return enum_type(name) if name in enum_type.__members__ else None


def parse_rounding(text: Any) -> Rounding | None:
    """The quantization mode spelled ``text`` (any case, ``AP_`` optional), or None."""
    return _parse(text, Rounding)


def parse_overflow(text: Any) -> Overflow | None:
    """The overflow mode spelled ``text`` (any case, ``AP_`` optional), or None."""
    return _parse(text, Overflow)


# ---------------------------------------------------------------------------------------------------
# bounds
# ---------------------------------------------------------------------------------------------------
def is_symmetric(width: int, signed: bool, overflow: str) -> bool:
    """Whether the overflow mode keeps ``[-max_raw, max_raw]`` (AP_SAT_SYM, signed, W >= 2)."""
    return overflow == Overflow.AP_SAT_SYM and signed and width > 1


def max_raw(width: int, signed: bool, overflow: str = Overflow.AP_WRAP) -> int:
    """Largest raw integer of a W-bit type (no overflow mode lowers it)."""
    return (1 << (width - 1)) - 1 if signed else (1 << width) - 1


def min_raw(width: int, signed: bool, overflow: str = Overflow.AP_WRAP) -> int:
    """Smallest raw integer an assignment with ``overflow`` keeps: -max_raw under AP_SAT_SYM (signed,
    W >= 2), else the two's complement minimum (0 unsigned)."""
    if not signed:
        return 0
    if is_symmetric(width, signed, overflow):
        return 1 - (1 << (width - 1))
    return -(1 << (width - 1))


def max_abs_raw(width: int, signed: bool) -> int:
    """Largest magnitude of a W-bit raw integer: 2^(W-1) signed, 2^W - 1 unsigned."""
    return 1 << (width - 1) if signed else (1 << width) - 1


def fits(lo: int, hi: int, width: int, signed: bool, overflow: str) -> bool:
    """Whether every integer in [lo, hi] is kept unchanged by an assignment (no overflow possible)."""
    return min_raw(width, signed, overflow) <= lo and hi <= max_raw(width, signed)


# ---------------------------------------------------------------------------------------------------
# quantization
# ---------------------------------------------------------------------------------------------------
def tie_rounds_up(rounding: str, negative: Callable[[], Any], odd: Callable[[], Any]):
    """At a tie ``k + 1/2``, whether the nearest mode ``rounding`` picks k + 1.

    ``negative()``: whether the tied value is below 0 (k < 0); ``odd()``: whether k is odd; each is
    called only when the mode needs it (bools or numpy bool arrays). A constant answer is a Python
    bool (AP_RND True, AP_RND_MIN_INF False).
    """
    if rounding == Rounding.AP_RND:
        return True
    if rounding == Rounding.AP_RND_MIN_INF:
        return False
    if rounding == Rounding.AP_RND_ZERO:
        return negative()
    if rounding == Rounding.AP_RND_INF:
        return np.logical_not(negative())
    if rounding == Rounding.AP_RND_CONV:
        return odd()
    raise ValueError(f"{rounding!r} is not a nearest quantization mode")


def round_shift(raw, s: int, rounding: str):
    """``raw / 2^s`` rounded to an integer with ``rounding`` (s >= 1), exactly.

    ``raw``: an int64 array (the caller keeps |raw| + 2^s below 2^63) or an object array of Python
    ints. The quotient is a floor shift of ``raw + bias``: AP_TRN bias 0; AP_TRN_ZERO
    ``2^s - 1`` for negative raw; a nearest mode ``2^(s-1) - 1``, plus one when a tie rounds up, so
    a tie goes down or up and every other value to the nearest integer either way.
    """
    if rounding == Rounding.AP_TRN:
        return raw >> s
    if rounding == Rounding.AP_TRN_ZERO:
        return (raw + (raw < 0).astype(raw.dtype) * ((1 << s) - 1)) >> s
    up = tie_rounds_up(rounding, lambda: raw < 0, lambda: (raw >> s) & 1)
    return (raw + ((1 << (s - 1)) - 1) + up) >> s


def round_float(y: np.ndarray, rounding: str, *, half_exact: bool = False) -> np.ndarray:
    """float64 ``y`` rounded to integer-valued doubles with ``rounding``, exactly; may reuse y.

    Any finite or infinite double: ``v = rint(y)`` and ``d = y - v`` are exact (|d| <= 1/2), and
    ``d = +-1/2`` flags the ties, which rint sent to the even neighbour. With ``half_exact`` (the
    caller knows ``y +- 1/2`` is exact, e.g. ``y = raw * 2^-s`` with |raw| < 2^52) AP_RND is
    ``floor(y + 1/2)`` and AP_RND_MIN_INF ``ceil(y - 1/2)``, one pass fewer.
    """
    if rounding == Rounding.AP_TRN:
        return np.floor(y, out=y)
    if rounding == Rounding.AP_TRN_ZERO:
        return np.trunc(y, out=y)
    if rounding == Rounding.AP_RND_CONV:
        return np.rint(y, out=y)
    if half_exact and rounding == Rounding.AP_RND:
        return np.floor(np.add(y, 0.5, out=y), out=y)
    if half_exact and rounding == Rounding.AP_RND_MIN_INF:
        return np.ceil(np.subtract(y, 0.5, out=y), out=y)
    v = np.rint(y)
    d = np.subtract(y, v, out=y)
    # y = v + 1/2: the tie's floor is v; rint kept v, add 1 where the tie rounds up
    up = tie_rounds_up(rounding, lambda: v < 0, lambda: np.fmod(v, 2) != 0)
    if up is True:
        v += d == 0.5
    elif up is not False:
        v += (d == 0.5) & up
    # y = v - 1/2: the tie's floor is v - 1; rint kept v, subtract 1 where the tie rounds down
    # (those elements are not the ones changed above)
    up = tie_rounds_up(rounding, lambda: v <= 0, lambda: np.fmod(v, 2) == 0)
    if up is False:
        v -= d == -0.5
    elif up is not True:
        v -= (d == -0.5) & ~up
    return v


# ---------------------------------------------------------------------------------------------------
# overflow
# ---------------------------------------------------------------------------------------------------
def overflow_masks(n: np.ndarray, width: int, signed: bool, overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """(above, below): where the integer-valued n lies above max_raw / below min_raw(W, signed, O).

    Exact for int64 and object arrays, and for float64 arrays of any magnitude: against a double the
    comparisons use the power-of-two ends ``max_raw + 1`` and ``-2^(W-1)``, which are exact doubles.
    """
    top, low = max_raw(width, signed), min_raw(width, signed, overflow)
    if n.dtype.kind == "f":
        above = n >= float(top + 1)
        below = n <= float(low - 1) if is_symmetric(width, signed, overflow) else n < float(low)
        return above, below
    return n > top, n < low


def wrap(n: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """n mod 2^W as a raw integer (two's complement when signed); int64 (W <= 63) or object arrays."""
    r = n & ((1 << width) - 1)
    if signed:
        half = 1 << (width - 1)
        r = (r ^ half) - half  # sign extension without leaving int64
    return r


def apply_overflow(n: np.ndarray, above: np.ndarray, below: np.ndarray, width: int, signed: bool,
                   overflow: str, *, stand_ins: bool = False) -> np.ndarray:
    """The overflow mode applied to integer-valued n, given `overflow_masks`.

    int64 or object arrays (for AP_WRAP, int64 only when W <= 63); float64 arrays when W <= 52
    (AP_WRAP there is exact: fmod keeps the residue mod 2^W, and the shifted sum stays below 2^53).
    ``stand_ins``: n holds placeholders where it overflows (a value too wide for int64), so the
    saturating modes place their bounds by the masks instead of clipping n.
    """
    if overflow == Overflow.AP_WRAP:
        if n.dtype.kind != "f":
            return wrap(n, width, signed)
        span = float(1 << width)
        base = float(min_raw(width, signed))
        return np.mod(np.fmod(n, span) - base, span) + base
    if overflow == Overflow.AP_SAT_ZERO:
        return np.where(above | below, 0, n)
    top, low = max_raw(width, signed), min_raw(width, signed, overflow)
    if stand_ins:
        return np.where(above, top, np.where(below, low, n))
    return np.clip(n, low, top)


__all__ = ["Rounding", "Overflow", "QUANT_MODES", "OVERFLOW_MODES", "SATURATING", "parse_rounding",
           "parse_overflow", "is_symmetric", "max_raw", "min_raw", "max_abs_raw", "fits", "tie_rounds_up", "round_shift",
           "round_float", "overflow_masks", "wrap", "apply_overflow"]
