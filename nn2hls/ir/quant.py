"""QONNX quantizer semantics in float64, and their exact fixed-point equivalents.

QONNX `IntQuant` (alias `Quant`; domains `qonnx.custom_op.general`, `onnx.brevitas`) defines

    y = s * (round(clamp(x / s + z, lo, hi)) - z)

with lo/hi from (bit width b, signed, narrow): signed lo = -2^(b-1) (+1 when narrow), hi = 2^(b-1)-1;
unsigned lo = 0, hi = 2^b - 1 (- 1 when narrow). Clamping before or after rounding is the same
because lo and hi are integers and every rounding mode is monotone. Rounding modes (case-insensitive):
ROUND = half to even, CEIL, FLOOR, UP (away from zero), DOWN and ROUND_TO_ZERO (toward zero),
HALF_UP (ties away from zero), HALF_DOWN (ties toward zero).

`BipolarQuant`: y = s * (x >= 0 ? +1 : -1).

With a power-of-two scale s = 2^-k and z = 0 the quantizer is exactly the assignment to a Vivado type
(`fixed_type_for`): ap_fixed<b, b-k, Q, O> (ap_ufixed when unsigned) where Q is ROUND -> AP_RND_CONV,
FLOOR -> AP_TRN, DOWN/ROUND_TO_ZERO -> AP_TRN_ZERO, HALF_UP -> AP_RND_INF, HALF_DOWN -> AP_RND_ZERO,
and O is AP_SAT, or AP_SAT_SYM for signed narrow (which clamps to [-hi, hi]). CEIL and UP have no
Vivado mode and unsigned narrow has no Vivado range: `fixed_type_for` refuses them with a reason.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.ir.ap_modes import Overflow, Rounding
from nn2hls.ir.types import FixedType

ROUNDING_MODES = ("ROUND", "CEIL", "FLOOR", "UP", "DOWN", "ROUND_TO_ZERO", "HALF_UP", "HALF_DOWN")

_VIVADO_ROUNDING = {"ROUND": Rounding.AP_RND_CONV, "FLOOR": Rounding.AP_TRN, "DOWN": Rounding.AP_TRN_ZERO,
                    "ROUND_TO_ZERO": Rounding.AP_TRN_ZERO, "HALF_UP": Rounding.AP_RND_INF,
                    "HALF_DOWN": Rounding.AP_RND_ZERO}


def int_range(bit_width: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """(lo, hi) integer range of a QONNX quantizer."""
    if signed:
        return -(1 << (bit_width - 1)) + (1 if narrow else 0), (1 << (bit_width - 1)) - 1
    return 0, (1 << bit_width) - 1 - (1 if narrow else 0)


def round_mode(v: np.ndarray, mode: str) -> np.ndarray:
    """QONNX rounding of float64 values to integers (as float64)."""
    mode = mode.upper()
    if mode == "ROUND":
        return np.round(v)  # half to even
    if mode == "CEIL":
        return np.ceil(v)
    if mode == "FLOOR":
        return np.floor(v)
    if mode == "UP":
        return np.sign(v) * np.ceil(np.abs(v))
    if mode in ("DOWN", "ROUND_TO_ZERO"):
        return np.trunc(v)
    if mode == "HALF_UP":
        return np.sign(v) * np.floor(np.abs(v) + 0.5)
    if mode == "HALF_DOWN":
        return np.sign(v) * np.ceil(np.abs(v) - 0.5)
    raise UnsupportedOpError(f"unknown QONNX rounding_mode {mode!r}; known: {', '.join(ROUNDING_MODES)}")


def int_quant(x, scale, zero_point, bit_width: int, signed: bool, narrow: bool, rounding_mode: str) -> np.ndarray:
    """The QONNX IntQuant float definition (see the module docstring), float64, broadcasting."""
    x = np.asarray(x, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    zero_point = np.asarray(zero_point, dtype=np.float64)
    lo, hi = int_range(bit_width, signed, narrow)
    q = round_mode(np.clip(x / scale + zero_point, lo, hi), rounding_mode)
    return (q - zero_point) * scale


def bipolar_quant(x, scale) -> np.ndarray:
    """The QONNX BipolarQuant float definition: s * (+1 if x >= 0 else -1)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, 1.0, -1.0) * np.asarray(scale, dtype=np.float64)


def pow2_exponent(scale: float) -> int | None:
    """k with scale == 2**-k exactly, or None when scale is not a positive power of two."""
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        return None
    mantissa, exponent = math.frexp(scale)
    return None if mantissa != 0.5 else 1 - exponent


def fixed_type_for(k: int, bit_width: int, signed: bool, narrow: bool, rounding_mode: str) -> FixedType:
    """The Vivado type whose assignment equals IntQuant with scale 2^-k and zero point 0.

    Raises UnsupportedOpError (message without the node; callers add it) for CEIL/UP rounding and
    unsigned narrow ranges.
    """
    mode = rounding_mode.upper()
    if mode not in _VIVADO_ROUNDING:
        raise UnsupportedOpError(f"rounding_mode {mode} has no exact Vivado quantization mode; use "
                                 f"ROUND, FLOOR, DOWN, ROUND_TO_ZERO, HALF_UP or HALF_DOWN")
    if narrow and not signed:
        raise UnsupportedOpError("unsigned narrow range [0, 2^b - 2] has no Vivado type; "
                                 "export with narrow_range=False for unsigned quantizers")
    overflow = Overflow.AP_SAT_SYM if (signed and narrow and bit_width > 1) else Overflow.AP_SAT
    return FixedType.fixed(bit_width, bit_width - k, signed, _VIVADO_ROUNDING[mode], overflow)


def exact_type(values: np.ndarray, *, signed: bool | None = None, max_width: int = 128) -> FixedType | None:
    """The narrowest type holding every value exactly (AP_TRN, AP_WRAP), or None beyond max_width.

    Used for weights that a quantizer made exact: frac = the largest number of fractional bits any
    value needs; signed unless every value is >= 0 (or as forced by `signed`).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    values = values[values != 0]
    if values.size == 0:
        return FixedType.fixed(2, 1) if signed is not False else FixedType.fixed(1, 1, False)
    if not np.all(np.isfinite(values)):
        return None
    mantissas, exponents = np.frexp(np.abs(values))  # |v| = m * 2^e, m in [0.5, 1)
    frac = 0
    for m, e in zip(mantissas.tolist(), exponents.tolist()):
        # m * 2^53 is an integer; strip its trailing zero bits
        mi = int(m * (1 << 53))
        tz = (mi & -mi).bit_length() - 1
        frac = max(frac, 53 - tz - e)
    is_signed = bool(np.any(values < 0)) if signed is None else signed
    raws = [int(math.ldexp(v, frac)) for v in values.tolist()]  # exact integers
    pos = max((r for r in raws if r > 0), default=0)
    neg = max((-r for r in raws if r < 0), default=0)
    if is_signed:
        # r > 0 needs r <= 2^(W-1) - 1; -r needs r <= 2^(W-1)
        width = max(pos.bit_length() + 1, (neg - 1).bit_length() + 1 if neg else 0, 2)
    else:
        if neg:
            return None
        width = max(pos.bit_length(), 1)
    if width > max_width:
        return None
    return FixedType.fixed(width, width - frac, is_signed)


def quantize_linear(x, scale, zero_point, lo: int, hi: int) -> np.ndarray:
    """ONNX QuantizeLinear in float64: clamp(round_half_even(x / scale) + zero_point, lo, hi)."""
    x = np.asarray(x, dtype=np.float64)
    return np.clip(np.round(x / np.asarray(scale, np.float64)) + np.asarray(zero_point, np.float64), lo, hi)


def dequantize_linear(q, scale, zero_point) -> np.ndarray:
    """ONNX DequantizeLinear in float64: (q - zero_point) * scale (exact for float32 scales, |q| < 2^29)."""
    return (np.asarray(q, np.float64) - np.asarray(zero_point, np.float64)) * np.asarray(scale, np.float64)


CONSTANT_BITS = 52  # significant bits of requantization constants: with the sign, a 53-bit C++ literal


def ratios(numerators, denominator: float, offset: float = 0.0, bits: int = CONSTANT_BITS) -> np.ndarray:
    """`ratio` for an array of numerators on one common grid: every value is rounded (half to even) to
    the multiple of 2^(e - bits + 1) where 2^e <= max |value| < 2^(e+1), so one signed type of bits + 1
    bits holds them all; the absolute error is at most 2^(e - bits) <= max|value| * 2^-bits."""
    from fractions import Fraction
    exact = [Fraction(float(n)) / Fraction(denominator) + Fraction(offset)
             for n in np.asarray(numerators, np.float64).reshape(-1)]
    top = max((abs(f) for f in exact), default=Fraction(0))
    if top == 0:
        return np.zeros(len(exact))
    e = top.numerator.bit_length() - top.denominator.bit_length()
    if top < Fraction(2) ** e:
        e -= 1
    elif top >= Fraction(2) ** (e + 1):
        e += 1
    shift = bits - 1 - e
    return np.array([math.ldexp(float(round(f * Fraction(2) ** shift)), -shift) for f in exact])


def ratio(numerator: float, denominator: float, offset: float = 0.0, bits: int = CONSTANT_BITS) -> float:
    """numerator / denominator + offset, computed exactly (Fraction), rounded once (half to even) to
    `bits` significant bits; the relative error is at most 2^-bits."""
    from fractions import Fraction
    f = Fraction(numerator) / Fraction(denominator) + Fraction(offset)
    if f == 0:
        return 0.0
    e = abs(f.numerator).bit_length() - f.denominator.bit_length()  # 2^(e-1) < |f| < 2^(e+1)
    shift = bits - 1 - e
    scaled = f * (Fraction(2) ** shift)
    q = round(scaled)  # Fraction.__round__ rounds half to even
    if abs(q) >= 1 << bits:  # e underestimated by one: one bit too many
        q = round(scaled / 2)
        shift -= 1
    return math.ldexp(float(q), -shift)


def trunc_v1(x, scale, zero_point, input_bit_width: int, output_bit_width: int, rounding_mode: str) -> np.ndarray:
    """QONNX Trunc, version 1 (5 inputs): q = round(x/s + z) (half to even);
    y = (mode(q / 2^t) * 2^t - z) * s with t = input_bit_width - output_bit_width (no clamp)."""
    x = np.asarray(x, dtype=np.float64)
    t = 2.0 ** (int(input_bit_width) - int(output_bit_width))
    q = np.round(x / np.asarray(scale, np.float64) + zero_point)
    return (round_mode(q / t, rounding_mode) * t - zero_point) * np.asarray(scale, np.float64)


def trunc_v2(x, scale, zero_point, output_scale, output_bit_width: int, signed: bool, narrow: bool,
             rounding_mode: str) -> np.ndarray:
    """QONNX Trunc, version 2 (6 inputs): q = round(x/s + z); t = 2^round(log2(output_scale / s));
    y = (mode(clamp(q / t, lo, hi)) - z / t) * output_scale, lo/hi from (output_bit_width, signed, narrow)."""
    x = np.asarray(x, dtype=np.float64)
    scale = np.asarray(scale, np.float64)
    t = 2.0 ** np.round(np.log2(np.asarray(output_scale, np.float64) / scale))
    lo, hi = int_range(int(output_bit_width), signed, narrow)
    q = np.round(x / scale + zero_point)
    return (round_mode(np.clip(q / t, lo, hi), rounding_mode) - zero_point / t) * np.asarray(output_scale, np.float64)
