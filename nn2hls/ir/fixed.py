"""Bit-accurate, vectorized numpy arithmetic on the raw integers of Vivado fixed-point types.

A value of type ``t`` is stored as its raw integer ``r`` and means ``r * 2^-t.frac`` (``frac`` may
be negative). Raw arrays are ``numpy.int64`` when ``t.width <= 63`` and numpy object arrays of Python
ints otherwise (exact up to the 128-bit limit); `raw_dtype` tells which.

Assigning an exact value ``v`` (a double, or a raw integer at another ``frac``) to ``t`` is done in
two steps, exactly as the vendor ap_fixed headers do:

1. quantization to a multiple of ``q = 2^-t.frac`` with ``t.rounding``: AP_TRN floor; AP_TRN_ZERO
   toward zero; AP_RND ties toward +inf; AP_RND_ZERO ties toward zero; AP_RND_INF ties away from
   zero; AP_RND_MIN_INF ties toward -inf; AP_RND_CONV ties to even (non-ties go to the nearest);
2. overflow of the rounded integer ``n`` into ``W`` bits with ``t.overflow``: AP_WRAP keeps
   ``n mod 2^W`` (two's complement when signed); AP_SAT clamps to ``[min_raw, max_raw]``;
   AP_SAT_ZERO replaces an out-of-range ``n`` by 0; AP_SAT_SYM clamps to ``[-max_raw, max_raw]``
   when signed (as AP_SAT when unsigned).

Behaviour taken from the vendor headers (checked with probes compiled against them; where they
and UG1399 differ, the headers win because the C simulation must match them):

- AP_SAT_SYM maps ``min_raw`` itself to ``-max_raw`` even when the value is exactly representable
  (``ap_fixed<8,4,AP_TRN,AP_SAT_SYM>(-8.0) == -7.9375``); the overflow mask marks those elements.
  For a 1-bit signed type (max_raw = 0) the vendor keeps -1, and so do we.
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

from fractions import Fraction
import numpy as np

from nn2hls.errors import FixedTypeError, InputDataError
from nn2hls.ir.types import FixedType

RawArray = np.ndarray
_INT64_MAX_WIDTH = 63
# every finite double is an integer multiple of 2^-1074
_DOUBLE_FRAC = 1074


def raw_dtype(t: FixedType) -> type:
    """numpy dtype of raw arrays of type ``t``: int64 up to 63 bits, object (Python ints) above."""
    return np.int64 if t.width <= _INT64_MAX_WIDTH else object


def effective_rounding(t: FixedType) -> str:
    """The quantization mode the vendor applies when assigning to ``t`` (ap_int truncates to zero)."""
    return "AP_TRN_ZERO" if t.is_int else t.rounding


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
    if arr.dtype == object:
        return np.array(arr.tolist(), dtype=np.int64).reshape(arr.shape) if arr.size else arr.astype(np.int64)
    return arr.astype(np.int64, copy=False)


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
            return _wrap_int64(arr.astype(np.int64), t)
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


def _increment(mode: str, exact, tie, above, neg, odd):
    """Whether to add 1 to floor(v): exact/tie/above describe v - floor(v) (0, 1/2, > 1/2)."""
    if mode == "AP_TRN":
        return np.zeros(np.shape(exact), dtype=bool)
    if mode == "AP_TRN_ZERO":
        return ~exact & neg
    if mode == "AP_RND":
        return above | tie
    if mode == "AP_RND_ZERO":
        return above | (tie & neg)
    if mode == "AP_RND_INF":
        return above | (tie & ~neg)
    if mode == "AP_RND_MIN_INF":
        return above
    if mode == "AP_RND_CONV":
        return above | (tie & odd)
    raise FixedTypeError(f"unknown quantization mode {mode!r}")


def _overflow_flags(mode: str, t: FixedType, too_high, too_low, is_min):
    """Elements the overflow mode changes: out of range, plus min_raw itself for AP_SAT_SYM."""
    if mode == "AP_SAT_SYM" and t.signed and t.width > 1:
        return too_high, too_low | is_min
    return too_high, too_low


def _overflow_int64(n: np.ndarray, t: FixedType, too_high, too_low, wrapped):
    """Apply t.overflow; n holds the in-range values, wrapped the (n mod 2^W) values (int64)."""
    mode = t.overflow
    hi, lo = _overflow_flags(mode, t, too_high, too_low, n == t.min_raw)
    ovf = hi | lo
    if mode == "AP_WRAP":
        out = wrapped
    elif mode == "AP_SAT_ZERO":
        out = np.where(ovf, 0, n)
    else:
        low_value = -t.max_raw if (mode == "AP_SAT_SYM" and t.signed and t.width > 1) else t.min_raw
        out = np.where(hi, t.max_raw, np.where(lo, low_value, n))
    return out.astype(np.int64, copy=False), ovf


def _wrap_int64(m: np.ndarray, t: FixedType) -> np.ndarray:
    """m (int64, any value) -> m mod 2^W as a raw value of t (W <= 63)."""
    r = m & ((1 << t.width) - 1)
    if t.signed:
        half = 1 << (t.width - 1)
        r = (r ^ half) - half  # sign extension without leaving int64
    return r


def _finish(out, ovf, return_overflow: bool):
    if return_overflow:
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
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        bad = x[~np.isfinite(x)].reshape(-1)[0]
        raise InputDataError(f"cannot convert {bad} to {t}: input contains NaN or infinity; "
                             "clean the data before quantizing")
    if t.width > _INT64_MAX_WIDTH:
        raw0 = _map_object(_double_to_scaled_int, x)
        out, ovf = requantize(raw0, _DOUBLE_FRAC, t, return_overflow=True)
    else:
        out, ovf = _quantize_int64(x, t, True)
    if t.is_int:
        # vendor quirk: ap_int<W>(x) for -1/2 < x < 0 holds the bit pattern 1 (see module docstring)
        quirk = (x < 0) & (x > -0.5)
        if quirk.any():
            out = np.where(quirk, from_bits(np.ones(1, dtype=np.int64), t)[0], out)
            out = out.astype(raw_dtype(t), copy=False)
            ovf = ovf & ~quirk
    return _finish(out, ovf, return_overflow)


def _double_to_scaled_int(v: float) -> int:
    num, den = float(v).as_integer_ratio()
    return num << (_DOUBLE_FRAC - (den.bit_length() - 1))


def _round_to_integer(y: np.ndarray, x: np.ndarray, mode: str, frac: int) -> np.ndarray:
    """Exact rounding of the scaled doubles y = x * 2^frac to integer-valued doubles with ``mode``.

    floor/trunc/rint are exact, and so is ``d = y - rint(y)`` (|d| <= 1/2), which flags the ties.
    When y underflowed to 0 (frac < 0) only the floor-type modes need the sign of x.
    """
    if mode == "AP_TRN":
        v = np.floor(y)
        if frac < 0:
            tiny = (y == 0) & (x < 0)
            if tiny.any():
                v[tiny] = -1.0
        return v
    if mode == "AP_TRN_ZERO":
        return np.trunc(y)
    v = np.rint(y)  # ties to even: AP_RND_CONV
    if mode == "AP_RND_CONV":
        return v
    d = y - v
    if mode == "AP_RND":
        v += d == 0.5
    elif mode == "AP_RND_MIN_INF":
        v -= d == -0.5
    elif mode == "AP_RND_ZERO":
        v += (d == 0.5) & (y < 0)
        v -= (d == -0.5) & (y > 0)
    elif mode == "AP_RND_INF":
        v += (d == 0.5) & (y > 0)
        v -= (d == -0.5) & (y < 0)
    else:
        raise FixedTypeError(f"unknown quantization mode {mode!r}")
    return v


def _quantize_int64(x: np.ndarray, t: FixedType, return_overflow: bool):
    frac = t.frac
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # scaling by a power of two is exact unless it overflows to inf or underflows
        y = x * 2.0 ** frac if -1022 <= frac <= 1023 else np.ldexp(x, frac)
    if frac > 0 and not np.isfinite(y).all():
        # |x| * 2^frac >= 2^1024: an integer multiple of 2^971, so of 2^W; any huge stand-in works
        y = np.where(np.isinf(y), np.copysign(2.0 ** 1000, x), y)
    v = _round_to_integer(y, x, effective_rounding(t), frac)
    # v is integer-valued; the range ends -2^(W-1), 2^(W-1) (2^W unsigned) are exact doubles
    lo_f = -(2.0 ** (t.width - 1)) if t.signed else 0.0
    hi_f = 2.0 ** (t.width - 1) if t.signed else 2.0 ** t.width
    sym = t.overflow == "AP_SAT_SYM" and t.signed and t.width > 1
    if v.size == 0 or (lo_f < float(v.min()) if sym else lo_f <= float(v.min())) and float(v.max()) < hi_f:
        out = v.astype(np.int64)
        return _finish(out, np.zeros(out.shape, dtype=bool), return_overflow)
    too_high = v >= hi_f
    too_low = v <= lo_f if sym else v < lo_f
    if t.overflow in ("AP_SAT", "AP_SAT_SYM") and t.width <= 53:
        # min/max raw are exact doubles here
        low = -t.max_raw if sym else t.min_raw
        out = np.clip(v, float(low), float(t.max_raw)).astype(np.int64)
        return _finish(out, too_high | too_low, return_overflow)
    if t.overflow == "AP_WRAP":
        # fmod is exact; |result| < 2^W <= 2^63 fits int64
        wrapped = _wrap_int64(np.fmod(v, 2.0 ** t.width).astype(np.int64), t)
        n = wrapped
    else:
        wrapped = None
        n = np.where(too_high | too_low, 0.0, v).astype(np.int64)
    out, ovf = _overflow_int64(n, t, too_high, too_low, wrapped)
    return _finish(out, ovf, return_overflow)


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


def cast(raw, src: FixedType, dst: FixedType, *, return_overflow: bool = False):
    """Assign raw values of type ``src`` to type ``dst`` (= requantize(raw, src.frac, dst))."""
    return requantize(raw, src.frac, dst, return_overflow=return_overflow)


def _requantize_int64(raw: np.ndarray, frac: int, t: FixedType, return_overflow: bool):
    s = frac - t.frac  # bits to drop (>0) or to append (<0)
    if s > 0:
        if s >= 65:
            # |raw| * 2^-s < 1/4: only the sign matters for every mode
            raw, s = np.sign(raw), 3
        elif s >= 63:
            # pre-shift by 2 keeping a sticky bit: floor, tie and above stay the same
            raw, s = (raw >> 2) | ((raw & 3) != 0), s - 2
        fl = raw >> s
        rem = raw & ((1 << s) - 1)
        half = 1 << (s - 1)
        mode = effective_rounding(t)
        if mode == "AP_TRN":
            n = fl
        else:
            inc = _increment(mode, rem == 0, rem == half, rem > half, raw < 0, (fl & 1) == 1)
            n = fl + inc
        if t.signed:
            too_high, too_low = n > t.max_raw, n < t.min_raw
        else:
            too_high, too_low = n > t.max_raw, n < 0
        wrapped = _wrap_int64(n, t) if t.overflow == "AP_WRAP" else None
        out, ovf = _overflow_int64(n, t, too_high, too_low, wrapped)
        return _finish(out, ovf, return_overflow)
    shift = -s
    # value = raw * 2^shift; overflow checks on raw itself so nothing overflows int64
    hi_lim = t.max_raw >> shift
    lo_lim = -((-t.min_raw) >> shift)
    too_high, too_low = raw > hi_lim, raw < lo_lim
    n = np.where(too_high | too_low, 0, raw) << shift if shift < 64 else np.zeros_like(raw)
    wrapped = None
    if t.overflow == "AP_WRAP":
        shifted = (raw.view(np.uint64) << np.uint64(shift)).view(np.int64) if shift < 64 \
            else np.zeros_like(raw)
        wrapped = _wrap_int64(shifted, t)
    out, ovf = _overflow_int64(n, t, too_high, too_low, wrapped)
    return _finish(out, ovf, return_overflow)


def _requantize_object(raw: np.ndarray, frac: int, t: FixedType, return_overflow: bool):
    s = frac - t.frac
    mode = effective_rounding(t)
    sym = t.overflow == "AP_SAT_SYM" and t.signed and t.width > 1
    lo_sat = -t.max_raw if sym else t.min_raw
    mask = (1 << t.width) - 1
    half = 1 << (s - 1) if s > 0 else 0
    low_bits = (1 << s) - 1 if s > 0 else 0

    def one(r) -> tuple[int, bool]:
        r = int(r)
        if s > 0:
            fl = r >> s
            rem = r & low_bits
            if rem == 0 or mode == "AP_TRN":
                n = fl
            elif mode == "AP_TRN_ZERO":
                n = fl + (r < 0)
            elif rem != half:
                n = fl + (rem > half)
            else:  # exact tie
                n = fl + {"AP_RND": 1, "AP_RND_ZERO": int(r < 0), "AP_RND_INF": int(r >= 0),
                          "AP_RND_MIN_INF": 0, "AP_RND_CONV": fl & 1}[mode]
        else:
            n = r << -s
        if t.min_raw <= n <= t.max_raw and not (sym and n == t.min_raw):
            return n, False
        if t.overflow == "AP_WRAP":
            w = n & mask
            if t.signed and w >> (t.width - 1):
                w -= 1 << t.width
            return w, True
        if t.overflow == "AP_SAT_ZERO":
            return 0, True
        return (t.max_raw if n > t.max_raw else lo_sat), True

    flat = [one(r) for r in raw.reshape(-1).tolist()]
    out = np.empty(raw.shape, dtype=object)
    out.reshape(-1)[:] = [v for v, _ in flat]
    ovf = np.array([o for _, o in flat], dtype=bool).reshape(raw.shape)
    if t.width <= _INT64_MAX_WIDTH:
        out = out.astype(np.int64)
    return _finish(out, ovf, return_overflow)


# ---------------------------------------------------------------------------------------------------
# exact arithmetic
# ---------------------------------------------------------------------------------------------------
def _operand(raw, t: FixedType, wide: bool) -> np.ndarray:
    arr = _int_array(raw)
    if wide:
        return arr if arr.dtype == object else _to_object(arr)
    return arr.astype(np.int64, copy=False) if arr.dtype != object else as_raw(arr, FixedType.fixed(63, 0))


def mul(ra, ta: FixedType, rb, tb: FixedType) -> tuple[RawArray, FixedType]:
    """Exact product: (raw, product_type(ta, tb)); broadcasting like numpy."""
    rt = product_type(ta, tb)
    wide = raw_dtype(rt) is object
    return _operand(ra, ta, wide) * _operand(rb, tb, wide), rt


def _aligned(ra, ta: FixedType, rb, tb: FixedType, rt: FixedType):
    wide = raw_dtype(rt) is object
    a, b = _operand(ra, ta, wide), _operand(rb, tb, wide)
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
