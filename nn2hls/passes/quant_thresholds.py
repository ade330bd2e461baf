"""Constants of a scale/shift folded into a quantizer, chosen so that no quantized value changes.

A quantizer reading `v = x * K + B` (per channel c; `fold_into_quantizer` composed K and B exactly, as
rationals, from every ScaleShift/BatchNorm/requantization between a layer and the quantizer) outputs
the integer level

    L(v) = clamp(round_mode(post(v) / scale), lo, hi)

(QONNX IntQuant with zero point 0 on the quantizer's own grid; `post` is the relu/clip between the
scale/shift and the quantizer, if any). x is the exact value of the input type `x_t`: x = r * 2^-F
for the integers r in [min_raw, max_raw]. As a function of r, L is a monotone step function (non-
decreasing when K_c > 0), so it is fixed by its integer thresholds T_j = min{r : L(v(r)) >= j}.

`threshold_constants` picks dyadic K', B' (one grid of p significant bits per array, the narrowest p
that works) such that the fixed-point value x * K' + B', computed exactly by the C++ and the emulator
and cast by the quantizer, has the same thresholds: it checks L(v'(T_j - 1)) < j <= L(v'(T_j)) for
every threshold inside the range, and L at both ends of the range. Both sides are monotone, so this
proves L(v') == L(v) for every reachable x: **no quantized value differs from the exact rational
definition**, ties included. The types of K', B' are the exact types of their values, so the
accumulator that follows is exact too. When no p is proved (or the quantizer has more than
MAX_LEVELS levels) but K and B are themselves doubles, they are used as they are: exact. When no p with x_t.width + width(K') <= 128 passes (the exact
value sits within 2^-100 or so of a rounding tie) the widest p is used and a warning says so.

A bipolar quantizer (QONNX BipolarQuant: L(v) = +1 if v >= 0 else -1) has one threshold per channel,
the zero crossing of x * K + B; `sign_constants` sets K' = sign(K) and B' = -T * 2^-F with the exact
integer threshold T, so x * K' + B' >= 0 exactly when x * K + B >= 0 (no search, no warning).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from nn2hls.ir.annotations import Role
from nn2hls.ir.graph import Node
from nn2hls.ir.quant import exact_type, int_range
from nn2hls.ir.types import MAX_WIDTH, FixedType

PRECISIONS = (4, 8, 12, 16, 20, 24, 32, 40, 48, 56, 64, 80, 96, 112)
MAX_LEVELS = 4096  # wider quantizers: constants exact when they are doubles, else the widest p + a warning
MAX_CHECKS = 2_000_000  # threshold evaluations per layer before giving up the proof (then: a warning)


def round_fraction(v: Fraction, mode: str) -> int:
    """QONNX rounding (`nn2hls.ir.quant.round_mode`) of an exact rational."""
    mode = mode.upper()
    if mode == "ROUND":
        return round(v)  # Fraction rounds half to even
    if mode == "FLOOR":
        return math.floor(v)
    if mode == "CEIL":
        return math.ceil(v)
    sign = 1 if v >= 0 else -1
    a = abs(v)
    if mode == "UP":
        return sign * math.ceil(a)
    if mode in ("DOWN", "ROUND_TO_ZERO"):
        return sign * math.floor(a)
    if mode == "HALF_UP":
        return sign * math.floor(a + Fraction(1, 2))
    if mode == "HALF_DOWN":
        return sign * math.ceil(a - Fraction(1, 2))
    raise ValueError(f"unknown rounding mode {mode!r}")


class Level:
    """L(v) of one quantizer (the module docstring); `post_low` = the clip/relu bound or None.
    A bipolar quantizer (`{"bipolar": True}`, QONNX BipolarQuant) has L(v) = +1 if v >= 0 else -1."""

    def __init__(self, quant: dict):
        self.bipolar = bool(quant.get("bipolar"))
        if self.bipolar:
            self.lo, self.hi = -1, 1
        else:
            self.scale = Fraction(quant["scale"])
            self.lo, self.hi = int_range(int(quant["bit_width"]), bool(quant["signed"]), bool(quant["narrow"]))
            self.mode = str(quant["rounding_mode"])
        low = quant.get("post_low")
        self.low = None if low is None else Fraction(low)

    def __call__(self, v: Fraction) -> int:
        if self.low is not None and v < self.low:
            v = self.low
        if self.bipolar:
            return 1 if v >= 0 else -1
        return min(max(round_fraction(v / self.scale, self.mode), self.lo), self.hi)


def _grid(values: list[Fraction], bits: int) -> list[Fraction]:
    """Each value rounded (half to even) to the multiple of 2^(e - bits + 1), 2^e <= max|value| < 2^(e+1)."""
    top = max((abs(v) for v in values), default=Fraction(0))
    if top == 0:
        return [Fraction(0)] * len(values)
    e = top.numerator.bit_length() - top.denominator.bit_length()
    if top < Fraction(2) ** e:
        e -= 1
    elif top >= Fraction(2) ** (e + 1):
        e += 1
    step = Fraction(2) ** (e - bits + 1)
    return [round(v / step) * step for v in values]


class _Channel:
    """One channel's exact step function of the raw input r and its thresholds (found once)."""

    def __init__(self, k: Fraction, b: Fraction, level: Level, x_t: FixedType):
        self.k, self.b, self.level = k, b, level
        self.unit = Fraction(1, 2 ** x_t.frac) if x_t.frac >= 0 else Fraction(2 ** -x_t.frac)
        self.d = -1 if k < 0 else 1
        lo, hi = x_t.min_raw, x_t.max_raw
        self.t_lo, self.t_hi = (lo, hi) if self.d > 0 else (-hi, -lo)
        self.evals = 0
        self.ends = (self.exact(self.t_lo), self.exact(self.t_hi))
        self.thresholds = [(j, self._first_at_least(j)) for j in range(self.ends[0] + 1, self.ends[1] + 1)]

    def value(self, t: int, k: Fraction, b: Fraction) -> Fraction:
        return (self.d * t) * self.unit * k + b

    def exact(self, t: int) -> int:
        self.evals += 1
        return self.level(self.value(t, self.k, self.b))

    def _first_at_least(self, j: int) -> int:
        lo, hi = self.t_lo, self.t_hi  # exact(hi) >= j > exact(lo)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.exact(mid) >= j:
                hi = mid
            else:
                lo = mid
        return hi

    def agrees(self, k: Fraction, b: Fraction) -> bool:
        g = lambda t: self.level(self.value(t, k, b))  # noqa: E731
        if g(self.t_lo) != self.ends[0] or g(self.t_hi) != self.ends[1]:
            return False
        return all(g(t - 1) < j <= g(t) for j, t in self.thresholds)


def threshold_constants(node: Node, x_t: FixedType, warn) -> None:
    """Set node.weights scale/shift and forced types from node.annotations.quant_affine (module docstring)."""
    info = node.annotations.quant_affine
    ks = [Fraction(s) for s in info.scale]
    bs = [Fraction(s) for s in info.shift]
    level = Level(info.quant)
    if level.bipolar:
        return _set_constants(node, *sign_constants(ks, bs, level, x_t), bits=0)
    budget = MAX_CHECKS
    distinct: dict[tuple[Fraction, Fraction], _Channel] = {}
    for k, b in zip(ks, bs):
        if budget <= 0 or level.hi - level.lo > MAX_LEVELS:
            budget = 0
            break
        if (k, b) not in distinct:
            distinct[(k, b)] = ch = _Channel(k, b, level, x_t)
            budget -= ch.evals + 2 * len(ch.thresholds) * len(PRECISIONS)
    channels = [distinct.get((k, b)) for k, b in zip(ks, bs)]
    checkable = budget > 0
    chosen, proved = None, False
    for bits in PRECISIONS:
        k2, b2 = _grid(ks, bits), _grid(bs, bits)
        w_t = exact_type(np.array([float(v) for v in k2]), signed=True)
        b_t = exact_type(np.array([float(v) for v in b2]), signed=True)
        if w_t is None or b_t is None or any(float(v) != v for v in k2 + b2):
            break
        if (x_t.width + w_t.width > MAX_WIDTH
                or max(w_t.frac + x_t.frac, b_t.frac) + _int_bits(x_t, k2, b2) > MAX_WIDTH):
            break
        chosen = (bits, k2, b2, w_t, b_t)
        if checkable and all(ch.agrees(k, b) for ch, k, b in set(zip(channels, k2, b2))):
            proved = True
            break
    if not proved:
        exact = _exact_dyadic(ks, bs, x_t)
        if exact is not None:
            chosen, proved = exact, True
    if chosen is None:
        k2, b2 = _grid(ks, 52), _grid(bs, 52)
        chosen = (52, k2, b2, exact_type(np.array([float(v) for v in k2]), signed=True),
                  exact_type(np.array([float(v) for v in b2]), signed=True))
    bits, k2, b2, w_t, b_t = chosen
    if not proved:
        warn(f"layer {node.label()}: the scale/shift folded into its quantizer uses {bits}-bit constants; "
             f"it could not be proved that no quantized value differs from the exact definition (a value "
             f"within about 2^-{bits} of a rounding tie may round the other way)")
    _set_constants(node, k2, b2, w_t, b_t, bits=bits)


def _set_constants(node: Node, k2: list[Fraction], b2: list[Fraction], w_t: FixedType, b_t: FixedType,
                   bits: int) -> None:
    shape = np.shape(node.weights["scale"])
    node.weights["scale"] = np.broadcast_to(np.array([float(v) for v in k2]), shape).copy()
    node.weights["shift"] = np.broadcast_to(np.array([float(v) for v in b2]), shape).copy()
    node.annotations.forced_precision = {Role.WEIGHT: w_t, Role.BIAS: b_t}
    node.annotations.quant_affine_bits = bits


def _exact_dyadic(ks: list[Fraction], bs: list[Fraction], x_t: FixedType):
    """(bits, K, B, types) when K and B are doubles whose exact types fit the C simulation, else None:
    then x * K + B is the exact definition itself (no threshold needs checking)."""
    if any(float(v) != v for v in ks + bs):
        return None
    w_t = exact_type(np.array([float(v) for v in ks]), signed=True)
    b_t = exact_type(np.array([float(v) for v in bs]), signed=True)
    if w_t is None or b_t is None or x_t.width + w_t.width > MAX_WIDTH:
        return None
    if max(w_t.frac + x_t.frac, b_t.frac) + _int_bits(x_t, ks, bs) > MAX_WIDTH:
        return None
    return (w_t.width, ks, bs, w_t, b_t)


def _int_bits(x_t: FixedType, k2: list[Fraction], b2: list[Fraction]) -> int:
    """Integer bits (sign included) of the exact x * K' + B' over x's range."""
    xm = max(abs(Fraction(x_t.min_raw, 1)), Fraction(x_t.max_raw)) * Fraction(2) ** -x_t.frac
    m = max((abs(k) * xm + abs(b) for k, b in zip(k2, b2)), default=Fraction(0))
    return max(math.ceil(math.log2(m + 1)) + 1, 1) if m > 0 else 1


def sign_threshold(k: Fraction, b: Fraction, level: Level, x_t: FixedType) -> tuple[int, int]:
    """(d, T) of one channel of a bipolar quantizer reading x * k + b, x = r * 2^-F in x_t's range:
    with t = d * r (d = sign of k, +1 for k = 0), L = +1 exactly when t >= T (T = t_lo: always +1,
    T = t_hi + 1: always -1). T = ceil(-d * b / (k * 2^-F)) is the zero crossing on the raw grid."""
    unit = Fraction(1, 2 ** x_t.frac) if x_t.frac >= 0 else Fraction(2 ** -x_t.frac)
    d = -1 if k < 0 else 1
    t_lo, t_hi = (x_t.min_raw, x_t.max_raw) if d > 0 else (-x_t.max_raw, -x_t.min_raw)
    if level.low is not None and level.low >= 0:
        return d, t_lo  # sign(max(v, low)) with low >= 0: always +1
    if k == 0:
        return d, t_lo if b >= 0 else t_hi + 1
    t = math.ceil(-d * b / (k * unit))
    return d, min(max(t, t_lo), t_hi + 1)


def sign_constants(ks: list[Fraction], bs: list[Fraction], level: Level, x_t: FixedType):
    """Per channel K' = d, B' = -T * 2^-F (`sign_threshold`): x * K' + B' = (t - T) * 2^-F is >= 0
    exactly when t >= T, i.e. exactly when the exact x * K + B gives +1. A channel whose sign never
    changes over x_t's range gets K' = 0 and B' = 0 (+1) or -1 (-1). Returns (K', B', types)."""
    unit = Fraction(1, 2 ** x_t.frac) if x_t.frac >= 0 else Fraction(2 ** -x_t.frac)
    k2: list[Fraction] = []
    b2: list[Fraction] = []
    for k, b in zip(ks, bs):
        d, t = sign_threshold(k, b, level, x_t)
        t_lo, t_hi = (x_t.min_raw, x_t.max_raw) if d > 0 else (-x_t.max_raw, -x_t.min_raw)
        if t <= t_lo or t > t_hi:
            k2.append(Fraction(0))
            b2.append(Fraction(0) if t <= t_lo else Fraction(-1))
        else:
            k2.append(Fraction(d))
            b2.append(-t * unit)
    w_t = exact_type(np.array([float(v) for v in k2]), signed=True)
    b_t = exact_type(np.array([float(v) for v in b2]), signed=True)
    return k2, b2, w_t, b_t
