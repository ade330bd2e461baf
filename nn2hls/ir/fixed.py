"""Bit-accurate, vectorized numpy arithmetic on the raw integers of Vivado fixed-point types.

A value of type ``t`` is stored as its raw integer ``r`` and means ``r * 2^-t.frac`` (``frac`` may
be negative). Raw arrays are ``numpy.int64`` when ``t.width <= 63`` and numpy object arrays of Python
ints otherwise (exact up to the 128-bit limit); `raw_dtype` tells which.

Assigning an exact value ``v`` (a double, or a raw integer at another ``frac``) to ``t`` is done in
two steps, exactly as the vendor ap_fixed headers do: quantization to a multiple of ``q = 2^-t.frac``
with ``t.rounding``, then overflow of the rounded integer into ``W`` bits with ``t.overflow``. The
rules of both steps, the mode names and the raw bounds are defined once in `nn2hls.ir.ap_modes`; this
module applies them to int64 arrays, object arrays of Python ints and doubles.

Behaviour taken from the vendor headers (checked with probes compiled against them; where they
and UG1399 differ, the headers win because the C simulation must match them):

- ``ap_int``/``ap_uint`` (``is_int``) round toward zero when assigned a fractional value (from a
  double or an ap_fixed): ``ap_int<8>(-1.5) == -1`` whereas ``ap_fixed<8,8>(-1.5) == -2``. Such
  types therefore use AP_TRN_ZERO here (`effective_rounding`). Overflow is AP_WRAP.
- Vendor bug reproduced by `quantize`: assigning a double ``-1/2 < x < 0`` to an ``ap_int<W>`` /
  ``ap_uint<W>`` gives the bit pattern ``1`` (``ap_int<8>(-0.3) == 1``, ``ap_int<1>(-0.3) == -1``)
  instead of 0; ``-1/2`` itself and ``(-1, -1/2)`` give 0. Assigning from an ap_fixed is not affected.
- The vendor headers assert ("Attempting to read bit beyond MSB") on some casts that drop more
  bits than the source has (e.g. ``ap_fixed<5,13,AP_TRN,AP_SAT_ZERO>`` from ``ap_ufixed<12,-7>``);
  built with ``-DNDEBUG`` they agree with the rules here.
- Doubles are converted exactly: AP_WRAP of a huge double keeps the low W bits of its exact
  integer value (``ap_fixed<16,6>(1e30) == 0``), subnormals round like any other value.
- ``a + b`` and ``a - b`` have ``F = max(Fa, Fb)``, ``I = max(Ia + (sb and not sa),
  Ib + (sa and not sb)) + 1``, ``W = I + F``; a sum is signed when either operand is, a difference
  is always signed (`sum_type`, `diff_type`). ``a * b`` has ``W = Wa + Wb``, ``I = Ia + Ib``, signed
  when either is (`product_type`). Result types carry the default AP_TRN/AP_WRAP modes; they are
  ``ap_int`` when both operands are.

NaN and infinities cannot be assigned (the vendor silently gives 0): `quantize` raises
`InputDataError` instead.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from nn2hls.errors import FixedTypeError, InputDataError
from nn2hls.ir import ap_modes
from nn2hls.ir.ap_modes import Overflow, Rounding
from nn2hls.ir.types import FixedType

RawArray = np.ndarray
_INT64_MAX_WIDTH = 63
# widths whose bounds and wrapped values stay exact doubles (see ap_modes.apply_overflow)
_FLOAT_EXACT_WIDTH = 52
# every finite double is an integer multiple of 2^-1074
_DOUBLE_FRAC = 1074


def raw_dtype(t: FixedType) -> type:
    """numpy dtype of raw arrays of type ``t``: int64 up to 63 bits, object (Python ints) above."""
    return np.int64 if t.width <= _INT64_MAX_WIDTH else object


def effective_rounding(t: FixedType) -> Rounding:
    """The quantization mode the vendor applies when assigning to ``t`` (ap_int truncates to zero)."""
    return Rounding.AP_TRN_ZERO if t.is_int else t.rounding


def _int_array(values) -> np.ndarray:
    """An integer ndarray of ``values``; Python ints beyond int64 stay exact (object array)."""
    if isinstance(values, np.ndarray):
        return values
    arr = np.array(values, dtype=object)
    flat = arr.reshape(-1).tolist()
    if all(-(1 << 63) <= int(v) < (1 << 63) for v in flat):
        return np.array([int(v) for v in flat], dtype=np.int64).reshape(arr.shape)
    return _to_object(arr)


def as_raw(values, t: FixedType) -> RawArray:
    """Convert integers (list, array, int) to the canonical raw array of ``t`` (no range check)."""
    arr = _int_array(values)
    if raw_dtype(t) is object:
        return _to_object(arr)
    return _to_int64(arr)


def to_bits(raw: RawArray, t: FixedType) -> RawArray:
    """Raw integers -> their W-bit unsigned patterns (what ``x.range()`` shows in C++)."""
    if t.width <= _INT64_MAX_WIDTH:
        return _int_array(raw).astype(np.int64) & ((1 << t.width) - 1)
    mask = (1 << t.width) - 1
    return _map_object(lambda r: int(r) & mask, raw)


def from_bits(bits, t: FixedType) -> RawArray:
    """W-bit unsigned patterns -> raw integers of ``t`` (sign-extended when signed)."""
    def one(b: int) -> int:
        b = int(b) & ((1 << t.width) - 1)
        if t.signed and b >> (t.width - 1):
            b -= 1 << t.width
        return b
    if t.width <= _INT64_MAX_WIDTH:
        arr = _int_array(bits)
        if arr.dtype != object:
            return ap_modes.wrap(arr.astype(np.int64), t.width, t.signed)
    return as_raw(_map_object(one, bits), t)


def to_float(raw: RawArray, t: FixedType) -> np.ndarray:
    """Raw integers of ``t`` -> float64 values (exact whenever the value fits a double)."""
    return _scaled_to_float(raw, t.frac)


# ---------------------------------------------------------------------------------------------------
# type rules
# ---------------------------------------------------------------------------------------------------
def _result_type(width: int, integer: int, signed: bool, both_int: bool, what: str,
                 a: FixedType, b: FixedType) -> FixedType:
    if width > 128:
        raise FixedTypeError(f"{what} of {a} and {b} needs {width} bits, more than the 128-bit limit: "
                             "use narrower operand types")
    if both_int:
        return FixedType.int_(width, signed)
    return FixedType.fixed(width, integer, signed)


def product_type(a: FixedType, b: FixedType) -> FixedType:
    """Exact type of ``a * b``: W = Wa + Wb, I = Ia + Ib, signed if either operand is."""
    return _result_type(a.width + b.width, a.integer + b.integer, a.signed or b.signed,
                        a.is_int and b.is_int, "product", a, b)


def _add_integer_bits(a: FixedType, b: FixedType) -> int:
    return max(a.integer + int(b.signed and not a.signed), b.integer + int(a.signed and not b.signed)) + 1


def sum_type(a: FixedType, b: FixedType) -> FixedType:
    """Exact type of ``a + b`` (Vivado rule, see the module docstring)."""
    integer = _add_integer_bits(a, b)
    return _result_type(integer + max(a.frac, b.frac), integer, a.signed or b.signed,
                        a.is_int and b.is_int, "sum", a, b)


def diff_type(a: FixedType, b: FixedType) -> FixedType:
    """Exact type of ``a - b``: as `sum_type` but always signed."""
    integer = _add_integer_bits(a, b)
    return _result_type(integer + max(a.frac, b.frac), integer, True, a.is_int and b.is_int,
                        "difference", a, b)


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------
def _to_int64(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == object:  # Python ints that fit (OverflowError otherwise)
        return np.array(arr.reshape(-1).tolist(), dtype=np.int64).reshape(arr.shape)
    return arr.astype(np.int64, copy=False)


def _to_object(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    flat[:] = [int(v) for v in arr.reshape(-1).tolist()]
    return out


def _map_object(fn, arr) -> np.ndarray:
    arr = arr if isinstance(arr, np.ndarray) else np.array(arr, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    out.reshape(-1)[:] = [fn(v) for v in arr.reshape(-1).tolist()]
    return out


def _scaled_to_float(raw: RawArray, frac: int) -> np.ndarray:
    raw = _int_array(raw)
    if raw.dtype != object:
        return np.ldexp(raw.astype(np.float64), -frac)

    def one(r: int) -> float:
        r = int(r)
        try:
            return r / (1 << frac) if frac >= 0 else float(r << -frac)
        except OverflowError:
            return float("inf") if r > 0 else float("-inf")
    return np.array([one(r) for r in raw.reshape(-1).tolist()], dtype=np.float64).reshape(raw.shape)


def _finish(out, ovf, return_overflow: bool):
    """``out`` or ``(out, mask)``; ovf None means no element overflowed."""
    if return_overflow:
        if ovf is None:
            return out, np.zeros(np.shape(out), dtype=bool)
        return out, np.asarray(ovf, dtype=bool)
    return out


# ---------------------------------------------------------------------------------------------------
# double -> raw
# ---------------------------------------------------------------------------------------------------
def quantize(x, t: FixedType, *, return_overflow: bool = False):
    """float64/float32 values -> raw integers of ``t``, rounding with t's Q then overflow with t's O.

    The double is taken at its exact binary value. With ``return_overflow=True`` returns
    ``(raw, mask)`` where mask marks elements changed by the overflow mode.
    """
    x = np.asarray(x)
    if x.ndim == 0:  # the in-place rounding needs an array: work on one element, return a 0-d result
        result = quantize(x.reshape(1), t, return_overflow=return_overflow)
        if return_overflow:
            return result[0].reshape(()), result[1].reshape(())
        return result.reshape(())
    if x.dtype not in (np.float64, np.float32):
        x = x.astype(np.float64)
    if t.width > _INT64_MAX_WIDTH:
        _check_finite(x, t)
        raw0 = _map_object(_double_to_scaled_int, x.astype(np.float64, copy=False))
        out, ovf = requantize(raw0, _DOUBLE_FRAC, t, return_overflow=True)
    else:
        out, ovf = _quantize_int64(x, t, return_overflow)
    if t.is_int:
        # vendor quirk: ap_int<W>(x) for -1/2 < x < 0 holds the bit pattern 1 (see module docstring)
        quirk = (x < 0) & (x > -0.5)
        if quirk.any():
            out = np.where(quirk, from_bits(np.ones(1, dtype=np.int64), t)[0], out)
            out = out.astype(raw_dtype(t), copy=False)
            ovf = None if ovf is None else ovf & ~quirk
    return _finish(out, ovf, return_overflow)


def _check_finite(x: np.ndarray, t: FixedType) -> None:
    finite = np.isfinite(x)
    if not finite.all():
        bad = x[~finite].reshape(-1)[0]
        raise InputDataError(f"cannot convert {bad} to {t}: input contains NaN or infinity; "
                             "clean the data before quantizing")


def _double_to_scaled_int(v: float) -> int:
    num, den = float(v).as_integer_ratio()
    return num << (_DOUBLE_FRAC - (den.bit_length() - 1))

def _scaled_rounded(x: np.ndarray, t: FixedType) -> np.ndarray:
    """x * 2^t.frac rounded with t's mode (`ap_modes.round_float`), as integer-valued float64 (no
    overflow handling yet). When the scaled value underflowed to 0 (frac < 0) only AP_TRN needs the
    sign of x: a tiny negative value floors to -1."""
    frac = t.frac
    mode = effective_rounding(t)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # scaling by a power of two is exact unless it overflows to inf or underflows
        if -1022 <= frac <= 1023:
            y = np.multiply(x, 2.0 ** frac, dtype=np.float64)
        else:
            y = np.ldexp(x.astype(np.float64), frac)
        v = ap_modes.round_float(y, mode)
    if mode == Rounding.AP_TRN and frac < 0:
        tiny = (v == 0) & (x < 0)
        if tiny.any():
            v[tiny] = -1.0
    return v


def _quantize_int64(x: np.ndarray, t: FixedType, need_mask: bool = True):
    """(raw int64, overflow mask or None) for t.width <= 63; None: no overflow or mask not needed."""
    v = _scaled_rounded(x, t)
    if v.size == 0:
        return v.astype(np.int64), None
    vmin, vmax = float(v.min()), float(v.max())
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        _check_finite(x, t)
        # finite x but |x| * 2^frac >= 2^1024: a multiple of 2^971, so of 2^W; any huge stand-in works
        v = np.where(np.isinf(v), np.copysign(2.0 ** 1000, x), v)
        vmin, vmax = float(v.min()), float(v.max())
    width, signed, overflow = t.width, t.signed, t.overflow
    if ap_modes.fits(vmin, vmax, width, signed, overflow):  # Python compares float and int exactly
        return v.astype(np.int64), None
    above, below = ap_modes.overflow_masks(v, width, signed, overflow)
    mask = (above | below) if need_mask else None
    if width <= _FLOAT_EXACT_WIDTH:  # the bounds and the wrapped values are exact doubles
        return ap_modes.apply_overflow(v, above, below, width, signed, overflow).astype(np.int64), mask
    if overflow == Overflow.AP_WRAP:
        n = np.fmod(v, 2.0 ** width)  # exact, keeps the residue mod 2^W; |n| < 2^W <= 2^63 fits int64
    else:
        n = np.where(above | below, 0.0, v)  # stand-ins where |v| may exceed int64
    return ap_modes.apply_overflow(n.astype(np.int64), above, below, width, signed, overflow,
                                   stand_ins=True), mask


# ---------------------------------------------------------------------------------------------------
# raw -> raw
# ---------------------------------------------------------------------------------------------------
def requantize(raw, frac: int, t: FixedType, *, return_overflow: bool = False):
    """Assign the exact values ``raw * 2^-frac`` to ``t`` (t's rounding, then t's overflow).

    ``raw`` is an int64 or object array (or anything numpy turns into integers). With
    ``return_overflow=True`` returns ``(raw_t, mask)``; mask marks elements whose rounded value did
    not fit ``t`` and were saturated, zeroed or wrapped (for AP_SAT_SYM also ``min_raw``).
    """
    arr = _int_array(raw)
    if arr.dtype.kind == "f":
        raise FixedTypeError("requantize takes raw integers, not floats: use quantize() for float values")
    if arr.dtype == object or t.width > _INT64_MAX_WIDTH or arr.dtype == np.uint64:
        return _requantize_object(arr, frac, t, return_overflow)
    return _requantize_int64(arr.astype(np.int64, copy=False), frac, t, return_overflow)


def cast(raw, src: FixedType, dst: FixedType, return_overflow: bool = False):
    """Assign raw values of type ``src`` to type ``dst`` (= requantize(raw, src.frac, dst))."""
    return requantize(raw, src.frac, dst, return_overflow=return_overflow)


def _requantize_int64(raw: np.ndarray, frac: int, t: FixedType, return_overflow: bool):
    if raw.size == 0:
        return _finish(raw.copy(), None, return_overflow)
    s = frac - t.frac  # bits to drop (>0) or to append (<0)
    width, signed, overflow = t.width, t.signed, t.overflow
    if s > 0:
        if s >= 65:
            # |raw| * 2^-s < 1/4: only the sign matters for every mode
            raw, s = np.sign(raw), 3
        elif s >= 63:
            # pre-shift by 2 keeping a sticky bit: floor, tie and above stay the same
            raw, s = (raw >> 2) | ((raw & 3) != 0), s - 2
        if not (-(1 << 62) <= int(raw.min()) and int(raw.max()) < (1 << 62)):
            return _requantize_object(raw, t.frac + s, t, return_overflow)
        n = ap_modes.round_shift(raw, s, effective_rounding(t))
        if ap_modes.fits(int(n.min()), int(n.max()), width, signed, overflow):
            return _finish(n, None, return_overflow)
        above, below = ap_modes.overflow_masks(n, width, signed, overflow)
        return _finish(ap_modes.apply_overflow(n, above, below, width, signed, overflow), above | below,
                       return_overflow)
    shift = -s
    # value = raw * 2^shift; compare raw itself with the bounds shifted down so nothing overflows int64
    hi_lim = ap_modes.max_raw(width, signed) >> shift
    lo_lim = -((-ap_modes.min_raw(width, signed, overflow)) >> shift)  # ceil(min_raw / 2^shift)
    if lo_lim <= int(raw.min()) and int(raw.max()) <= hi_lim:
        return _finish(raw << shift, None, return_overflow)
    above, below = raw > hi_lim, raw < lo_lim
    ovf = above | below
    if shift >= 64:  # only raw == 0 is in range
        inside = np.zeros_like(raw)
    elif overflow == Overflow.AP_WRAP:
        inside = (raw.view(np.uint64) << np.uint64(shift)).view(np.int64)  # the low 64 bits, enough for W
    else:
        inside = np.where(ovf, 0, raw) << shift
    out = ap_modes.apply_overflow(inside, above, below, width, signed, overflow, stand_ins=True)
    return _finish(out.astype(np.int64, copy=False), ovf, return_overflow)


def _requantize_object(raw: np.ndarray, frac: int, t: FixedType, return_overflow: bool):
    """`requantize` on Python ints (object arrays): the same kernels, exact at any width."""
    raw = raw if raw.dtype == object else _to_object(raw)
    s = frac - t.frac
    width, signed, overflow = t.width, t.signed, t.overflow
    n = ap_modes.round_shift(raw, s, effective_rounding(t)) if s > 0 else raw << -s
    above, below = ap_modes.overflow_masks(n, width, signed, overflow)
    ovf = np.asarray(above | below, dtype=bool)
    out = ap_modes.apply_overflow(n, above, below, width, signed, overflow) if ovf.any() else n
    out = _to_int64(out) if width <= _INT64_MAX_WIDTH else _to_object(out)
    return _finish(out, ovf, return_overflow)


# ---------------------------------------------------------------------------------------------------
# exact arithmetic
# ---------------------------------------------------------------------------------------------------
def _operand(raw, wide: bool) -> np.ndarray:
    arr = _int_array(raw)
    if wide:
        return arr if arr.dtype == object else _to_object(arr)
    return _to_int64(arr)


def mul(ra, ta: FixedType, rb, tb: FixedType) -> tuple[RawArray, FixedType]:
    """Exact product: (raw, product_type(ta, tb)); broadcasting like numpy."""
    rt = product_type(ta, tb)
    wide = raw_dtype(rt) is object
    return _operand(ra, wide) * _operand(rb, wide), rt


def _aligned(ra, ta: FixedType, rb, tb: FixedType, rt: FixedType):
    wide = raw_dtype(rt) is object
    a, b = _operand(ra, wide), _operand(rb, wide)
    return a << (rt.frac - ta.frac), b << (rt.frac - tb.frac)


def add(ra, ta: FixedType, rb, tb: FixedType) -> tuple[RawArray, FixedType]:
    """Exact sum: (raw, sum_type(ta, tb)); broadcasting like numpy."""
    rt = sum_type(ta, tb)
    a, b = _aligned(ra, ta, rb, tb, rt)
    return a + b, rt


def sub(ra, ta: FixedType, rb, tb: FixedType) -> tuple[RawArray, FixedType]:
    """Exact difference a - b: (raw, diff_type(ta, tb)); broadcasting like numpy."""
    rt = diff_type(ta, tb)
    a, b = _aligned(ra, ta, rb, tb, rt)
    return a - b, rt


def exact_value(raw: int, t: FixedType) -> Fraction:
    """The exact rational value of one raw integer of ``t``."""
    return int(raw) * t.lsb_exact


__all__ = ["raw_dtype", "effective_rounding", "as_raw", "to_bits", "from_bits", "to_float",
           "product_type", "sum_type", "diff_type", "quantize", "requantize", "cast", "mul", "add",
           "sub", "exact_value", "RawArray"]
