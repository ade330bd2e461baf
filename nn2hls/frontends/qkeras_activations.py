"""QKeras quantizers on activations whose outputs are a few values reached through a monotone function.

Rule: quantized_po2, quantized_relu_po2, binary, stochastic_binary, ternary, stochastic_ternary (the
stochastic ones round deterministically at inference: QKeras calls the plain binary / ternary there),
quantized_tanh with use_real_tanh, quantized_sigmoid with use_real_sigmoid and quantized_relu with
use_sigmoid are, on an activation, piecewise-constant functions of x with few pieces. Each is written here as QKeras
computes it on float32 tensors (QKeras `quantizers.py`, `__call__`; the straight-through
`x + stop_gradient(-x + q)` returns q itself for inputs on a fixed-point grid):

- quantized_po2 / quantized_relu_po2: as on weights (`qkeras_quantizers`), exponents rounded with
  round-half-even of log2 (log2_rounding "rnd") or floor ("floor").
- binary(use_01, alpha): alpha * (sign(x) with 0 -> +1), (s + 1) / 2 with use_01; alpha None -> 1.
- ternary(alpha, threshold): alpha * sign(x) * (|x| >= threshold), threshold None -> 0.33, alpha None -> 1.
- quantized_tanh(bits, symmetric, use_real_tanh): m = 2^(bits-1),
  clip(round(m * tanh(x)) / m, -1 + symmetric / m, 1 - 1 / m).
- quantized_sigmoid(bits, symmetric, use_real_sigmoid): m = 2^bits,
  clip(round(m * sigmoid(x)) / m, symmetric / m, 1 - 1 / m).
- quantized_relu(bits, integer, use_sigmoid=1, negative_slope): m = 2^(bits - (slope != 0)),
  m_i = 2^integer, p = m * hard_sigmoid(x / m_i), q = m_i * clip(2 round(p) / m - 1, 0, 1 - 1 / m)
  (+ m_i * slope * clip(2 round(slope p) / (slope m) - 1, -1, 0) with a negative slope).
A data-dependent alpha ("auto", "auto_po2") scales by the batch's own values and is refused.

`staircase` finds the exact float32 points where such a function changes value (a scan, then
bisection over the ordered float32 numbers), so the IR `steps` activation (ops.Activation) with those thresholds and
levels gives, for every input value, the value QKeras computes in float32.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.qkeras_quantizers import (QuantizerSpec, quantized_po2_values, quantized_relu_po2_values,
                                                sign_one)

STEP_QUANTIZERS = ("quantized_po2", "quantized_relu_po2", "binary", "stochastic_binary", "ternary",
                   "stochastic_ternary")
_F32 = np.float32
_SPAN = 2.0 ** 64  # beyond any input type: the end levels hold outside


def _round(v: np.ndarray) -> np.ndarray:
    return np.round(v).astype(_F32)  # half to even, as tf.round


def _real_tanh(p: dict, x: np.ndarray) -> np.ndarray:
    m = _F32(2.0 ** (int(p["bits"]) - 1))
    t = np.tanh(x.astype(np.float64)).astype(_F32)
    return np.clip(_round(t * m) / m, _F32(-1) + _F32(bool(p.get("symmetric"))) / m, _F32(1) - _F32(1) / m)


def _real_sigmoid(p: dict, x: np.ndarray) -> np.ndarray:
    m = _F32(2.0 ** int(p["bits"]))
    with np.errstate(over="ignore"):
        s = (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(_F32)
    return np.clip(_round(s * m) / m, _F32(bool(p.get("symmetric"))) / m, _F32(1) - _F32(1) / m)


def _relu_sigmoid(p: dict, x: np.ndarray) -> np.ndarray:
    slope = _F32(p.get("negative_slope") or 0.0)
    m = _F32(2.0 ** (int(p["bits"]) - int(slope != 0)))
    m_i = _F32(2.0 ** int(p["integer"]))
    s = np.clip(_F32(0.5) * (x / m_i) + _F32(0.5), _F32(0), _F32(1))
    pm = s * m
    q = m_i * np.clip(_F32(2) * (_round(pm) / m) - _F32(1), _F32(0), _F32(1) - _F32(1) / m)
    if slope > 0:
        factor = _F32(1) / (slope * m)
        q = q + m_i * slope * np.clip(_F32(2) * (_round(pm * slope) * factor) - _F32(1), _F32(-1), _F32(0))
    return q.astype(_F32)


def _alpha(spec: QuantizerSpec) -> np.float32:
    alpha = spec.params.get("alpha")
    if isinstance(alpha, str):
        raise UnsupportedOpError(f"{spec}: alpha {alpha!r} scales by the batch's own values on an activation; "
                                 "use alpha=None or a number")
    return _F32(1.0) if alpha is None else _F32(np.asarray(alpha, dtype=np.float64).reshape(-1)[0])


def _binary(spec: QuantizerSpec) -> Callable[[np.ndarray], np.ndarray]:
    a, use_01 = _alpha(spec), bool(spec.params.get("use_01"))

    def f(x):
        q = sign_one(x)
        return a * ((q + _F32(1)) / _F32(2) if use_01 else q)
    return f


def _ternary(spec: QuantizerSpec) -> Callable[[np.ndarray], np.ndarray]:
    a = _alpha(spec)
    t = spec.params.get("threshold")
    if isinstance(t, str):
        raise UnsupportedOpError(f"{spec}: threshold {t!r} is not a number")
    t = _F32(0.33 if t is None else t)
    return lambda x: a * ((np.abs(x) >= t).astype(_F32) * np.sign(x).astype(_F32))


def activation_function(spec: QuantizerSpec) -> Callable[[np.ndarray], np.ndarray] | None:
    """QKeras's float32 function of the activation quantizer `spec`, or None when it is not a step one."""
    p = spec.params
    if spec.name == "quantized_po2":
        return lambda x: quantized_po2_values(p, x)
    if spec.name == "quantized_relu_po2":
        return lambda x: quantized_relu_po2_values(p, x)
    if spec.name in ("binary", "stochastic_binary"):
        return _binary(spec)
    if spec.name in ("ternary", "stochastic_ternary"):
        return _ternary(spec)
    if spec.name == "quantized_tanh" and p.get("use_real_tanh"):
        return lambda x: _real_tanh(p, x)
    if spec.name == "quantized_sigmoid" and p.get("use_real_sigmoid"):
        return lambda x: _real_sigmoid(p, x)
    if spec.name == "quantized_relu" and p.get("use_sigmoid"):
        return lambda x: _relu_sigmoid(p, x)
    return None


# ---- ordered float32 keys: consecutive keys are consecutive float32 numbers (-0 == +0) --------------
def _keys(x: np.ndarray) -> np.ndarray:
    bits = np.asarray(x, dtype=_F32).view(np.int32).astype(np.int64)
    return np.where(bits >= 0, bits, -(bits & 0x7FFFFFFF))


def _floats(k: np.ndarray) -> np.ndarray:
    k = np.asarray(k, dtype=np.int64)
    bits = np.where(k >= 0, k, (-k) | 0x80000000).astype(np.uint32)
    return bits.view(_F32)


def staircase(f: Callable[[np.ndarray], np.ndarray], what: str, samples: int = 257,
              max_levels: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, levels) of a piecewise-constant float32 function: f(x) = levels[#{t <= x}].

    Every 2^16-th float32 in [-2^64, 2^64] is evaluated, then each interval whose ends differ is
    bisected to adjacent float32 numbers. A constant piece narrower than 2^16 float32 steps with equal
    values on both sides would be missed: none of the quantizers here has one (they are monotone but
    for quantized_relu_po2's quadratic approximation, whose exception is the piece x < 1e-7).
    """
    lo, hi = (int(k) for k in _keys(np.array([-_SPAN, _SPAN], dtype=_F32)))
    keys = np.unique(np.append(np.arange(lo, hi, 1 << 16, dtype=np.int64), hi))
    jumps: list[int] = []
    while keys.size:
        values = f(_floats(keys))
        changed = np.nonzero(values[1:] != values[:-1])[0]
        segments = []
        for i in changed.tolist():
            a, b = int(keys[i]), int(keys[i + 1])
            if b - a == 1:
                jumps.append(b)
            else:
                segments.append((a, b))
        if len(jumps) + len(segments) > max_levels:
            raise UnsupportedOpError(f"{what}: more than {max_levels} output levels")
        grid = np.linspace(0.0, 1.0, samples)
        keys = np.unique(np.concatenate([np.round(a + (b - a) * grid).astype(np.int64) for a, b in segments]
                                        or [np.zeros(0, dtype=np.int64)]))
    jumps.sort()
    thresholds = _floats(np.array(jumps, dtype=np.int64)).astype(np.float64)
    points = np.concatenate([[-_SPAN], thresholds]).astype(_F32)
    return thresholds, f(points).astype(np.float64)
