"""Lookup tables of the nonlinear functions: their index function, entries and default sizes/types.

Both the emulator and the generated C++ read these tables; the entries are computed here once, in
float64, and quantized to the entry type with `nn2hls.ir.fixed.quantize` (nothing recomputes them).

Index function (docs/semantics.md). A table has ``size = 2**n`` entries; the entry read for an input
of exact value ``v = raw * 2**-frac`` is

    index(v) = clamp(floor(v * 2**shift) - offset, 0, size - 1)

computed exactly on the raw integer: ``floor(raw * 2**(shift - frac))`` is ``raw << (shift - frac)``
or the arithmetic shift ``raw >> (frac - shift)``. Bucket ``i`` therefore holds the inputs in
``[lo_i, lo_i + step)`` with ``lo_i = (i + offset) * step``, ``step = 2**-shift``; the first and last
buckets also take everything below/above the table (clamping).

Sample point (`table_values`). Each entry is the function at the centre of the *representable*
inputs that index it: with the input's fractional bits ``input_frac`` known, those of bucket i are
``lo_i, lo_i + lsb, ..., lo_i + step - lsb`` and the centre is ``lo_i + (step - lsb) / 2`` (just
``lo_i`` when a bucket holds a single input, so such tables are exact up to the entry rounding);
without ``input_frac`` the centre of the real interval, ``lo_i + step / 2``. Edges of the range
(the spec's ``low``/``high``): the first and last buckets also hold every input that clamps into them,
down to ``low`` and up to ``high`` (the input type's range), so a saturated input reads the function's
limit (sigmoid(+big) = 1, exp(-big) ~ 0), and only inputs inside ``[low, high]`` count. For ``exp``,
``elu`` and ``celu`` (domain ``v <= 0``) ``high`` is 0, so the bucket holding 0 samples at 0 and
``exp(0) == 1`` exactly. For ``inv`` (the reciprocal of a softmax sum s in ``[1, n]``) the entry is
``1 / centre``, which splits the relative error evenly between both ends of the bucket, except at the
edges: the bucket holding s = 1 (one class, or one saturated logit) samples at exactly 1 and the one
holding s = n (all inputs equal; alone in its bucket when the step is <= 1) at exactly n, so both
edges give exact outputs (1 and 1/n up to the entry rounding).

Tables chosen by the helpers (size = the requested size or the smallest power of two that covers the
range at the chosen step, whichever is smaller; the step is a power of two never finer than the
input's LSB). The requested size is ``precision.table_size``, or with ``auto`` (the default)
`auto_table_size`: the smallest power of two whose error (sampling ``L * (step - lsb_in) / 2``, L =
`max_slope`, plus the entry rounding) is within ``max(result LSB, L * lsb_in)``, at most
``MAX_AUTO_TABLE_SIZE`` = 4096 (4 BRAM18 at 18 bits). Column "step" below is at size 1024:

| function | covers | index of 0 | step (size 1024, fine input) | max error of the entry |
|---|---|---|---|---|
| sigmoid | [-8, 8) ∩ input range | size/2 | 1/64 | step/8 + tail sigmoid(-8) (3.4e-4) |
| tanh    | [-4, 4) ∩ input range | size/2 | 1/128 | step/2 + tail 1 - tanh(4) (6.7e-4) |
| elu     | [-8, 0] ∩ input range | size-1 | 1/128 | alpha * (step/2 + exp(-8)) |
| exp     | [-R, 0], R = min(12, data range, input span) | size-1 | 1/64 | relative step/2 |
| inv     | [1, n] (n = softmax axis length) | 0 | 2**-floor(log2((size-1)/(n-1))) | relative step/2 (bucket of 1: step) |
| celu    | [-8 alpha, 0] ∩ input range | size-1 | 1/128 (alpha 1) | alpha * (step/2 + exp(-8)) |
| softsign | the input type's range | size/2 | span/size | step/2 |
| softplus, swish, mish | [-12, 12) ∩ input range (residual) | size/2 | 1/32 | step/2 + tail <= 7.4e-5 |
| gelu, gelu_tanh | [-6, 6) ∩ input range (residual) | size/2 | 1/64 | step/2 + tail < 1e-7 |

Residual tables: softplus, swish (x * sigmoid(x)), mish (x * tanh(softplus(x))), gelu (x * Phi(x))
and gelu_tanh (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))) grow like max(x, 0), so their table
holds the bounded residual ``g(v) = f(v) - max(v, 0)`` (|g| < 0.7, -> 0 at both ends) and the layer
computes ``y = cast(max(x, 0) + g[index(x)], result)``, exact apart from the one entry.

(plus half an LSB of the entry type, which rounds). Softmax needs no more: the maximum input
always indexes ``exp(0) == 1`` alone in its bucket, so the argmax survives, and the outputs sum to
``s * inv(s)``, i.e. to 1 within the inverse table's relative error (< 0.8% for n <= 10).

`default_table_types` gives the entry types (AP_RND, AP_SAT) for a configured table width W:
sigmoid ``ap_ufixed<W,0>`` (1.0 saturates to 1 - 2**-W), tanh, softsign and the residual tables
``ap_fixed<W,1>``, elu and celu ``ap_fixed<W,1+ceil(log2|alpha|)>``, softmax exp ``ap_ufixed<W,1>`` (holds 1.0 exactly), sum
``ap_ufixed<W-1+b,b>`` with ``b = bit_length(n)`` (an exact sum of n exp entries), inv
``ap_ufixed<W,1>``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nn2hls.errors import ConfigError, GraphError
from nn2hls.ir.types import FixedType

FUNCTIONS = ("sigmoid", "tanh", "elu", "exp", "inv", "celu", "softsign", "softplus", "swish", "mish", "gelu",
             "gelu_tanh")
# Functions tabulated as the residual f(v) - max(v, 0) (bounded, -> 0 at both ends): y = relu(x) + entry.
RESIDUAL = ("softplus", "swish", "mish", "gelu", "gelu_tanh")
# Functions whose table serves only inputs v <= 0 (the positive branch is computed exactly).
NONPOSITIVE = ("exp", "elu", "celu")

SIGMOID_RANGE = 8.0   # sigmoid(-8) = 3.4e-4
TANH_RANGE = 4.0      # 1 - tanh(4) = 6.7e-4
ELU_RANGE = 8.0       # exp(-8) = 3.4e-4
EXP_RANGE = 12.0      # exp(-12) = 6.1e-6 < 2**-17, below the LSB of an 18-bit exp entry
RESIDUAL_RANGE = {"softplus": 12.0,   # log1p(exp(-12)) = 6.1e-6
                  "swish": 12.0,      # 12 * sigmoid(-12) = 7.4e-5
                  "mish": 12.0,       # |-12 * tanh(softplus(-12))| = 7.4e-5
                  "gelu": 6.0,        # 6 * Phi(-6) = 5.9e-9
                  "gelu_tanh": 6.0}   # 6 * sigmoid(-2 k(6)) = 4.5e-8


@dataclass(frozen=True)
class TableSpec:
    """One lookup table: ``index = clamp(floor(v * 2**shift) - offset, 0, size - 1)``.

    ``input_frac`` is the fractional bit count of the indexed input's type (sets the sample point,
    see the module docstring); ``alpha`` is ELU's/CELU's alpha (unused by the other functions).
    ``low``/``high`` bound the values that can reach the table (the input type's range, or the
    function's domain: exp and elu v <= 0, inv s in [1, n]); the first and last buckets also take
    every value clamped into them, so their sample points come from these bounds (None: unknown).
    """

    function: str
    size: int
    shift: int
    offset: int
    input_frac: int | None = None
    alpha: float = 1.0
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise GraphError(f"unknown table function {self.function!r}; known: {', '.join(FUNCTIONS)}")
        if not _is_power_of_two(self.size) or self.size < 2:
            raise ConfigError(f"table size {self.size} must be a power of two >= 2: fix "
                              "precision.table_size")
        for name in ("shift", "offset"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise GraphError(f"table {name} must be an integer, got {value!r}")

    @property
    def step(self) -> float:
        """Width of one bucket, 2**-shift."""
        return math.ldexp(1.0, -self.shift)


def _is_power_of_two(n: int) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n > 0 and n & (n - 1) == 0


# -------------------------------------------------------------------------------------------------
# index function
# -------------------------------------------------------------------------------------------------
def index(raw, frac: int, spec: TableSpec) -> np.ndarray:
    """Table indices (int64) of the exact values ``raw * 2**-frac``.

    ``raw`` holds integers: an int64 or object (Python int) array, or a float64 array of
    integer values (exact below 2**53). ``floor(v * 2**shift)`` is computed exactly.
    """
    arr = np.asarray(raw)
    k = spec.shift - frac
    lo, hi = spec.offset, spec.offset + spec.size - 1  # floor values that map inside the table
    if arr.dtype.kind == "f":
        with np.errstate(over="ignore"):
            v = np.floor(arr * math.ldexp(1.0, k)) if k != 0 else arr
        return (np.clip(v, lo, hi) - lo).astype(np.int64)
    if arr.dtype == object:
        def one(r: int) -> int:
            r = int(r)
            v = r << k if k >= 0 else r >> -k
            return min(max(v, lo), hi) - lo
        flat = [one(r) for r in arr.reshape(-1).tolist()]
        return np.array(flat, dtype=np.int64).reshape(arr.shape)
    arr = arr.astype(np.int64, copy=False)
    if k >= 62:
        return index(arr.astype(object), frac, spec)
    if k >= 0:
        # clip first so the left shift cannot overflow: values beyond these bounds clamp anyway
        r_lo, r_hi = (lo >> k) - 1, -((-hi) >> k) + 1
        bound = (1 << (62 - k)) - 1
        v = np.clip(arr, max(r_lo, -bound), min(r_hi, bound)) << k
    else:
        v = arr >> min(-k, 63)
    return (np.clip(v, lo, hi) - lo).astype(np.int64)


# -------------------------------------------------------------------------------------------------
# entries
# -------------------------------------------------------------------------------------------------
def sample_points(spec: TableSpec) -> np.ndarray:
    """The input value (float64) at which each entry is evaluated (see the module docstring)."""
    i = np.arange(spec.size, dtype=np.float64)
    step = spec.step
    lo = (i + spec.offset) * step
    # width of the span of representable inputs in a bucket (0: a single input, lo itself)
    if spec.input_frac is None:
        width = step
    else:
        width = max(step - math.ldexp(1.0, -spec.input_frac), 0.0)
    a, b = lo.copy(), lo + width
    low, high = spec.low, spec.high
    if spec.function in NONPOSITIVE:
        high = 0.0 if high is None else min(high, 0.0)
    if spec.function == "inv":
        low = 1.0 if low is None else max(low, 1.0)
    # the end buckets also hold every input clamped into them
    if low is not None:
        a[0] = min(a[0], low)
    if high is not None:
        b[-1] = max(b[-1], high)
    # only inputs inside [low, high] reach the table
    if low is not None:
        a, b = np.maximum(a, low), np.maximum(b, low)
    if high is not None:
        a, b = np.minimum(a, high), np.minimum(b, high)
    centre = (a + b) / 2
    if spec.function == "inv":
        # the buckets holding s = 1 (one class, saturated logits) and s = n (equal inputs) are exact there
        if high is not None:
            centre = np.where(lo + step > high, high, centre)
        centre = np.where(a <= 1.0, 1.0, centre)
    return centre


def _phi_tail(u: np.ndarray) -> np.ndarray:
    """Phi(-u) = erfc(u / sqrt 2) / 2 for u >= 0 (the Gaussian tail), accurate for large u."""
    return 0.5 * np.array([math.erfc(float(x) / math.sqrt(2.0)) for x in np.ravel(u)]).reshape(np.shape(u))


def residual_values(function: str, v: np.ndarray) -> np.ndarray:
    """f(v) - max(v, 0) of the relu-plus-table functions (bounded; -> 0 as |v| -> inf)."""
    u = np.abs(v)
    if function == "softplus":
        return np.log1p(np.exp(-u))
    if function == "swish":
        return -u * 0.5 * (1.0 - np.tanh(0.5 * u))            # -|v| * sigmoid(-|v|)
    if function == "gelu":
        return -u * _phi_tail(u)                                # -|v| * Phi(-|v|)
    if function == "gelu_tanh":
        k = math.sqrt(2.0 / math.pi) * (u + 0.044715 * u ** 3)
        return -u * 0.5 * (1.0 - np.tanh(k))                   # -|v| * sigmoid(-2 k(|v|))
    if function == "mish":
        # v * tanh(softplus(v)) - max(v, 0); tanh(softplus(v)) = 1 - 2 / ((1 + e^v)^2 + 1)
        with np.errstate(over="ignore"):
            q = (1.0 + np.exp(np.minimum(v, 350.0))) ** 2
        return np.where(v > 0, -2.0 * v / (q + 1.0), v * (q - 1.0) / (q + 1.0))
    raise GraphError(f"no residual form for {function!r}")  # pragma: no cover


def table_values(spec: TableSpec) -> np.ndarray:
    """The float64 entries of the table (quantize them to the entry type with `fixed.quantize`)."""
    v = sample_points(spec)
    f = spec.function
    if f == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * v))  # = 1 / (1 + exp(-v)) without overflow warnings
    if f == "tanh":
        return np.tanh(v)
    if f == "exp":
        return np.exp(np.minimum(v, 0.0))
    if f == "elu":
        return spec.alpha * np.expm1(np.minimum(v, 0.0))
    if f == "inv":
        return 1.0 / np.maximum(v, 1.0)  # a softmax sum is >= 1 (its maximum contributes exp(0) = 1)
    if f == "celu":
        return spec.alpha * np.expm1(np.minimum(v, 0.0) / spec.alpha)
    if f == "softsign":
        return v / (1.0 + np.abs(v))
    if f in RESIDUAL:
        return residual_values(f, v)
    raise GraphError(f"unknown table function {f!r}")  # pragma: no cover - TableSpec validates


# -------------------------------------------------------------------------------------------------
# choosing specs
# -------------------------------------------------------------------------------------------------
def _shift_for(span: float, buckets: int, input_frac: int) -> int:
    """Largest shift (finest step 2**-shift) with span * 2**shift <= buckets, never finer than the LSB."""
    if span <= 0:
        return input_frac
    shift = math.floor(math.log2(buckets / span))
    # guard the float log against off-by-one at exact powers of two
    while span * math.ldexp(1.0, shift) > buckets:
        shift -= 1
    while span * math.ldexp(1.0, shift + 1) <= buckets:
        shift += 1
    return min(shift, input_frac)


def _fit_size(buckets_needed: float, size: int) -> int:
    """The smallest power of two >= buckets_needed (at least 2), capped at size."""
    needed = max(2, int(math.ceil(buckets_needed)))
    return min(size, 1 << (needed - 1).bit_length())


def _check_size(size: int) -> None:
    if not _is_power_of_two(size) or size < 2:
        raise ConfigError(f"table size {size} must be a power of two >= 2: fix precision.table_size")


def _symmetric_spec(function: str, input_type: FixedType, size: int, limit: float) -> TableSpec:
    """A table over [-R, R) (signed input) or [0, R) (unsigned), R = min(limit, the type's range)."""
    _check_size(size)
    lsb = input_type.lsb
    hi = min(limit, input_type.max_value + lsb)
    if input_type.signed:
        lo = max(-limit, input_type.min_value)
        r = max(-lo, hi)
        shift = _shift_for(2 * r, size, input_type.frac)
        step = math.ldexp(1.0, -shift)
        # buckets needed on each side of 0, table centred on 0
        half = max(math.ceil(r / step), 1)
        n = _fit_size(2 * half, size)
        return TableSpec(function, n, shift, -(n // 2), input_type.frac,
                         low=input_type.min_value, high=input_type.max_value)
    shift = _shift_for(hi, size, input_type.frac)
    step = math.ldexp(1.0, -shift)
    n = _fit_size(hi / step, size)
    return TableSpec(function, n, shift, 0, input_type.frac, low=input_type.min_value, high=input_type.max_value)


def sigmoid_spec(input_type: FixedType, size: int) -> TableSpec:
    """Sigmoid table over [-8, 8) intersected with the input type's range, 0 at index size/2."""
    return _symmetric_spec("sigmoid", input_type, size, SIGMOID_RANGE)


def tanh_spec(input_type: FixedType, size: int) -> TableSpec:
    """Tanh table over [-4, 4) intersected with the input type's range, 0 at index size/2."""
    return _symmetric_spec("tanh", input_type, size, TANH_RANGE)


def _nonpositive_spec(function: str, frac: int, span: float, size: int, alpha: float = 1.0,
                      low: float | None = None) -> TableSpec:
    """A table over [-span, 0] with 0 alone in the last bucket (offset = -(size - 1)); `low` is the
    smallest value that can reach it (the clamped first bucket samples down to it)."""
    _check_size(size)
    shift = _shift_for(span, size - 1, frac)
    step = math.ldexp(1.0, -shift)
    n = _fit_size(span / step + 1, size)
    return TableSpec(function, n, shift, -(n - 1), frac, float(alpha), low=low, high=0.0)


def elu_spec(input_type: FixedType, size: int, alpha: float = 1.0) -> TableSpec:
    """ELU table of alpha*(exp(v)-1) over [-8, 0] intersected with the input's negative range.

    SELU uses it too, with alpha = scale * alpha (its table is scale * alpha * (exp(v) - 1))."""
    span = min(ELU_RANGE, -input_type.min_value) if input_type.signed else 0.0
    return _nonpositive_spec("elu", input_type.frac, span, size, alpha, low=min(input_type.min_value, 0.0))


def celu_spec(input_type: FixedType, size: int, alpha: float = 1.0) -> TableSpec:
    """CELU table of alpha*(exp(v/alpha)-1) over [-8 alpha, 0] intersected with the input's negative range."""
    span = min(ELU_RANGE * abs(alpha), -input_type.min_value) if input_type.signed else 0.0
    return _nonpositive_spec("celu", input_type.frac, span, size, alpha, low=min(input_type.min_value, 0.0))


def softsign_spec(input_type: FixedType, size: int) -> TableSpec:
    """Softsign table over the input type's whole range (its tail 1/(1+|v|) decays too slowly to cut)."""
    return _symmetric_spec("softsign", input_type, size, math.inf)


def residual_spec(function: str, input_type: FixedType, size: int) -> TableSpec:
    """Table of f(v) - max(v, 0) over [-R, R) intersected with the input's range (R in RESIDUAL_RANGE)."""
    if function not in RESIDUAL:
        raise GraphError(f"no residual table for {function!r}")
    return _symmetric_spec(function, input_type, size, RESIDUAL_RANGE[function])


def softmax_specs(input_type: FixedType, axis_length: int, size: int,
                  data_range: float | None = None, *, sum_frac: int | None = None
                  ) -> tuple[TableSpec, TableSpec]:
    """(exp table, reciprocal table) of a softmax over `axis_length` values of `input_type`.

    The exp table covers d = x - max in [-R, 0] with R = min(12, data_range, the input type's span)
    (R = 0 for a one-element axis: d is always 0, the table holds exp(0) = 1);
    `data_range` is the largest max(x) - x observed on calibration data. The reciprocal table covers
    the sum s in [1, axis_length] (the maximum contributes exp(0) = 1 exactly); `sum_frac` is the
    sum type's fractional bit count when known (sets the sample point only).
    """
    _check_size(size)
    if axis_length < 1:
        raise GraphError(f"softmax over an empty axis (length {axis_length})")
    span = input_type.max_value - input_type.min_value
    r = min(EXP_RANGE, span) if axis_length > 1 else 0.0  # one value per group: d = x - max is 0
    if data_range is not None and np.isfinite(data_range) and data_range > 0:
        r = min(r, float(data_range))
    exp_spec = _nonpositive_spec("exp", input_type.frac, r, size, low=-span)
    if axis_length == 1:
        inv_spec = TableSpec("inv", 2, 0, 1, sum_frac, low=1.0, high=1.0)
    else:
        frac = sum_frac if sum_frac is not None else 10 ** 6
        shift = _shift_for(axis_length - 1, size - 1, frac)
        step = math.ldexp(1.0, -shift)
        n = _fit_size((axis_length - 1) / step + 1, size)
        inv_spec = TableSpec("inv", n, shift, 1 << shift if shift >= 0 else 0, sum_frac, low=1.0,
                             high=float(axis_length))
    return exp_spec, inv_spec


# -------------------------------------------------------------------------------------------------
# automatic table size
# -------------------------------------------------------------------------------------------------
MAX_AUTO_TABLE_SIZE = 4096  # 4096 x 18-bit entries = 72 Kbit = 4 BRAM18 (18 Kbit each) per table copy

# Upper bounds of |f'| over the whole domain the table serves (residual tables: of g = f - max(v, 0)).
# sigmoid'(0) = 1/4; tanh'(0) = 1; (alpha (e^v - 1))' = alpha e^v <= |alpha| for v <= 0; CELU
# e^(v/alpha) <= 1; softsign 1/(1+|v|)^2 <= 1; exp on v <= 0: e^v <= 1; 1/s on s >= 1: 1/s^2 <= 1;
# residuals: softplus e^-|v|/(1+e^-|v|) <= 1/2, swish and both GELUs 1/2 (at 0), mish tanh(ln 2) = 0.6.
MAX_SLOPE = {"sigmoid": 0.25, "tanh": 1.0, "celu": 1.0, "softsign": 1.0, "exp": 1.0, "inv": 1.0,
             "softplus": 0.5, "swish": 0.5, "mish": 0.6, "gelu": 0.5, "gelu_tanh": 0.5}


def max_slope(function: str, alpha: float = 1.0) -> float:
    """An upper bound of |f'| over the inputs a `function` table serves (elu: |alpha|)."""
    if function == "elu":
        return abs(float(alpha))
    if function not in MAX_SLOPE:
        raise GraphError(f"no slope bound for table function {function!r}")
    return MAX_SLOPE[function]


def table_error_bound(spec: TableSpec, entry_type: FixedType) -> float:
    """Worst |entry - f(v)| over the representable inputs v of the interior buckets (not the two
    clamping edge buckets, whose extra error is the function's tail beyond the covered range).

    Sampling: a bucket's representable inputs span ``w = max(step - lsb_in, 0)`` and its entry is
    taken at their centre, so ``|f(v) - f(centre)| <= L w / 2`` (``L`` = `max_slope`; the reciprocal
    table's bucket of s = 1 samples at its end: ``L w``). Entry: the cast to ``entry_type`` adds half
    its LSB when it rounds (AP_RND...), a whole LSB when it truncates.
    """
    lsb_in = math.ldexp(1.0, -spec.input_frac) if spec.input_frac is not None else 0.0
    w = max(spec.step - lsb_in, 0.0)
    sampling = max_slope(spec.function, spec.alpha) * w * (1.0 if spec.function == "inv" else 0.5)
    rounds = entry_type.rounding not in ("AP_TRN", "AP_TRN_ZERO")
    return sampling + entry_type.lsb * (0.5 if rounds else 1.0)


def auto_table_size(build: Callable[[int], TableSpec], entry_type: FixedType, result_lsb: float,
                    cap: int = MAX_AUTO_TABLE_SIZE) -> int:
    """The default table size of one node (`precision.table_size: auto`).

    ``build(size)`` makes the node's table for a given size (the helpers above: a size only sets the
    step over the fixed covered range). The tolerance is one LSB of the node's result, or what the
    input type can resolve when that is coarser:

        tol = max(result_lsb, L * lsb_in)        (L = max |f'|, lsb_in = the indexed input's LSB)

    and the size is the smallest power of two ``2 <= size <= cap`` whose table meets
    ``table_error_bound(spec) <= tol`` (sampling ``L w / 2`` plus entry rounding), or whose table is
    already complete (fewer buckets than asked: every bucket holds a single input, exact up to the
    entry rounding). When no size up to `cap` meets it (wide results: 16-bit sigmoid results need
    2**16 entries) the size is `cap`. The error beyond the covered range (the tails in the table of the
    module docstring) is not part of this rule.
    """
    size = 2
    while True:
        spec = build(size)
        if spec.size < size or size >= cap:
            return spec.size
        lsb_in = math.ldexp(1.0, -spec.input_frac) if spec.input_frac is not None else 0.0
        tol = max(float(result_lsb), max_slope(spec.function, spec.alpha) * lsb_in)
        if table_error_bound(spec, entry_type) <= tol:
            return spec.size
        size *= 2


def default_table_types(function: str, table_width: int, *, axis_length: int = 1,
                        alpha: float = 1.0) -> dict[str, FixedType]:
    """Suggested entry types (role -> FixedType) of a sigmoid/tanh/elu/softmax node's tables."""
    w = int(table_width)
    if w < 2:
        raise ConfigError(f"table width {w} too small: set precision.table_width >= 2")

    def ufixed(width: int, integer: int) -> FixedType:
        return FixedType.fixed(width, integer, False, "AP_RND", "AP_SAT")

    if function == "sigmoid":
        return {"table": ufixed(w, 0)}
    if function == "tanh":
        return {"table": FixedType.fixed(w, 1, True, "AP_RND", "AP_SAT")}
    if function in ("elu", "celu"):
        a = abs(float(alpha))
        integer = 1 + (max(0, math.ceil(math.log2(a))) if a > 0 else 0)
        return {"table": FixedType.fixed(w, integer, True, "AP_RND", "AP_SAT")}
    if function == "softsign" or function in RESIDUAL:
        return {"table": FixedType.fixed(w, 1, True, "AP_RND", "AP_SAT")}
    if function == "softmax":
        b = max(1, int(axis_length)).bit_length()
        return {"exp": ufixed(w, 1), "sum": ufixed(w - 1 + b, b), "inv": ufixed(w, 1)}
    raise GraphError(f"no lookup table for function {function!r}")


__all__ = ["TableSpec", "MAX_AUTO_TABLE_SIZE", "max_slope", "table_error_bound", "auto_table_size", "FUNCTIONS", "RESIDUAL", "index", "sample_points", "table_values", "sigmoid_spec",
           "tanh_spec", "elu_spec", "celu_spec", "softsign_spec", "residual_spec", "softmax_specs",
           "default_table_types"]
