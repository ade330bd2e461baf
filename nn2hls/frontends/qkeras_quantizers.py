"""QKeras quantizers read from a serialized config, and their inference arithmetic (no TensorFlow).

A quantizer is serialized as `{"class_name": "quantized_bits", "config": {...}}` or as a string
(`"quantized_relu(6, 0)"`, QKeras's `__str__` form); `parse_quantizer` gives a `QuantizerSpec` with every
parameter named. Rules implemented (QKeras `quantizers.py`, inference path, no stochastic rounding:
`stochastic_*` quantizers round deterministically at inference):

- quantized_bits(bits, integer, symmetric, keep_negative, alpha): with u = bits - keep_negative,
  m = 2^u, step = 2^integer / m: q = step * clip(round(x / step), keep_negative * (-m + symmetric),
  m - 1), round = half to even (tf.round); u = 0 gives sign(x) with 0 -> +1 (0/1 when not
  keep_negative). A numeric alpha multiplies q (x itself is not divided). alpha "auto" / "auto_po2"
  (forced symmetric) derive a per-channel scale from the tensor (the last axis): x' = x / 2^integer,
  levels = 2 * (2^(bits-1) - 1), s = 2 * max|x'| / levels (auto_po2: s = 2^round(log2(s + eps)),
  then five least-squares refinements s = 2^round(log2(mean(x' z) / (mean(z z) + eps) + eps)) with
  z = sign(x') * min(floor(|x'| / s + 0.5), levels / 2)); the result is 2^integer * s * z.
- quantized_relu(bits, integer, use_sigmoid=0, negative_slope): u = bits - (slope != 0), m = 2^u,
  step = 2^integer / m; q = step * clip(round(x / step), 0, m - 1) for x >= 0 and
  step * clip(round(slope * x / step), -slope * m, 0) for x < 0; relu_upper_bound clips the result
  when is_quantized_clip is false.
- binary(use_01, alpha): sign(x) with 0 -> +1 (use_01: (sign + 1) / 2), times alpha (1 for None);
  "auto"/"auto_po2": per-channel least-squares scale mean(x q) / (mean(q q) + eps) (po2: rounded).
- ternary(alpha, threshold): q = sign(x) * (|x| >= threshold), threshold 0.33 by default, times
  alpha (1 for None). "auto"/"auto_po2" iterate the least-squares scale as QKeras does.
- quantized_po2(bits, max_value) / quantized_relu_po2(bits, max_value, negative_slope):
  sign(x) * 2^clip(round(log2 |x|), min_exp, max_exp) with |x| < eps -> 2^min_exp,
  e = bits - 1 - (max_value is None or max_value > 1), min_exp = -2^e, max_exp = 2^e - 1; the
  relu form is 2^... of relu(x) (negative_slope: -2^... of slope * relu(-x)) and has no sign bit:
  e = bits - (max_value is None or max_value > 1); log2_rounding "floor" floors log2 instead.
  quadratic_approximation: max_exp = 2 * (max_exp // 2) and the exponent is 2 * clip(round(log2 sqrt|x|), min_exp, max_exp).
- Kernel quantizers of QDense/QConv/QDepthwiseConv2D/QSeparableConv (kernel, depthwise, pointwise)
  with alpha None become alpha "auto_po2" (quantized_bits also symmetric), as QKeras's layers set
  them (`_set_trainable_parameter`) before use: `trainable_alpha`.
Weights are quantized here in float32, the precision QKeras computes in, so the values equal the
framework's. Activations become IR nodes (`keras_qlayers`): only the quantizers whose result is one
power-of-two grid (quantized_bits with alpha 1/None, quantized_relu) are exact casts.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nn2hls.errors import UnsupportedOpError

EPSILON = np.float32(1e-7)  # keras.backend.epsilon()

_POSITIONAL: dict[str, tuple[str, ...]] = {
    "quantized_bits": ("bits", "integer", "symmetric", "keep_negative", "alpha", "use_stochastic_rounding"),
    "quantized_relu": ("bits", "integer", "use_sigmoid", "negative_slope", "use_stochastic_rounding",
                       "relu_upper_bound"),
    "binary": ("use_01", "alpha", "use_stochastic_rounding"),
    "stochastic_binary": ("alpha", "temperature", "use_real_sigmoid"),
    "ternary": ("alpha", "threshold", "use_stochastic_rounding", "number_of_unrolls"),
    "stochastic_ternary": ("alpha", "threshold", "temperature", "use_real_sigmoid", "number_of_unrolls"),
    "quantized_po2": ("bits", "max_value", "use_stochastic_rounding", "quadratic_approximation"),
    "quantized_relu_po2": ("bits", "max_value", "negative_slope", "use_stochastic_rounding",
                           "quadratic_approximation"),
    "quantized_tanh": ("bits", "use_stochastic_rounding", "symmetric", "use_real_tanh"),
    "quantized_sigmoid": ("bits", "symmetric", "use_real_sigmoid", "use_stochastic_rounding"),
}
QUANTIZERS: tuple[str, ...] = tuple(_POSITIONAL)

_DEFAULTS: dict[str, dict[str, Any]] = {
    "quantized_bits": {"bits": 8, "integer": 0, "symmetric": 0, "keep_negative": True, "alpha": None},
    "quantized_relu": {"bits": 8, "integer": 0, "use_sigmoid": 0, "negative_slope": 0.0,
                       "relu_upper_bound": None, "is_quantized_clip": True},
    "binary": {"use_01": False, "alpha": None},
    "stochastic_binary": {"alpha": None},
    "ternary": {"alpha": None, "threshold": None, "number_of_unrolls": 5},
    "stochastic_ternary": {"alpha": None, "threshold": None, "number_of_unrolls": 5},
    "quantized_po2": {"bits": 8, "max_value": None, "quadratic_approximation": False, "log2_rounding": "rnd"},
    "quantized_relu_po2": {"bits": 8, "max_value": None, "negative_slope": 0, "quadratic_approximation": False,
                           "log2_rounding": "rnd"},
    "quantized_tanh": {"bits": 8, "symmetric": False},
    "quantized_sigmoid": {"bits": 8, "symmetric": False},
}


@dataclass
class QuantizerSpec:
    """One QKeras quantizer: its class name and every parameter by name (defaults filled in)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if k in _POSITIONAL.get(self.name, ()))
        return f"{self.name}({shown})"


def _literal(node: ast.AST, text: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise UnsupportedOpError(f"quantizer '{text}': argument {ast.unparse(node)!r} is not a literal") from None


def parse_quantizer(value: Any, where: str) -> QuantizerSpec | None:
    """The quantizer of a serialized config value (dict, string or None); `where` names it in errors."""
    if value is None:
        return None
    if isinstance(value, dict):
        name = str(value.get("class_name", ""))
        params = dict(value.get("config") or {})
    elif isinstance(value, str):
        try:
            tree = ast.parse(value.strip(), mode="eval").body
        except SyntaxError:
            raise UnsupportedOpError(f"{where}: quantizer {value!r} is not a quantizer expression") from None
        if isinstance(tree, ast.Name):
            name, args, kwargs = tree.id, [], {}
        elif isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name):
            name = tree.func.id
            args = [_literal(a, value) for a in tree.args]
            kwargs = {k.arg: _literal(k.value, value) for k in tree.keywords}
        else:
            raise UnsupportedOpError(f"{where}: quantizer {value!r} is not a quantizer expression")
        if name not in _POSITIONAL:
            raise UnsupportedOpError(f"{where}: quantizer {name!r} is not supported; supported: "
                                     f"{', '.join(QUANTIZERS)}")
        params = dict(zip(_POSITIONAL[name], args))
        params.update(kwargs)
    else:
        raise UnsupportedOpError(f"{where}: quantizer {value!r} is not a quantizer config")
    if name not in _POSITIONAL:
        raise UnsupportedOpError(f"{where}: quantizer {name!r} is not supported; supported: {', '.join(QUANTIZERS)}")
    full = dict(_DEFAULTS[name])
    full.update(params)
    return QuantizerSpec(name, full)


_TRAINABLE_ALPHA = ("quantized_bits", "binary", "stochastic_binary", "ternary", "stochastic_ternary", "bernoulli")


def trainable_alpha(spec: QuantizerSpec | None) -> QuantizerSpec | None:
    """A layer's kernel quantizer as the layer uses it: alpha None -> "auto_po2"."""
    if spec is None or spec.name not in _TRAINABLE_ALPHA or spec.params.get("alpha") is not None:
        return spec
    params = dict(spec.params, alpha="auto_po2")
    if spec.name == "quantized_bits":
        params["symmetric"] = True
    return QuantizerSpec(spec.name, params)


# ---- float32 arithmetic of QKeras, for weights -------------------------------------------------------
def _f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def sign_one(x: np.ndarray) -> np.ndarray:
    """sign(x) with 0 -> +1 (QKeras: s = sign(x); s += 1 - |s|)."""
    s = np.sign(x).astype(np.float32)
    return s + (np.float32(1) - np.abs(s))


def _channel_mean(v: np.ndarray) -> np.ndarray:
    """Mean over every axis but the last (QKeras's default scale axis for channels_last), kept dims."""
    if v.ndim <= 1:
        return v
    return np.mean(v, axis=tuple(range(v.ndim - 1)), keepdims=True, dtype=np.float32).astype(np.float32)


def _channel_max(v: np.ndarray) -> np.ndarray:
    if v.ndim <= 1:
        return np.max(v, keepdims=True)
    return np.max(v, axis=tuple(range(v.ndim - 1)), keepdims=True)


def _po2(scale: np.ndarray) -> np.ndarray:
    return np.power(np.float32(2), np.round(np.log(scale + EPSILON) / np.float32(np.log(2.0)))).astype(np.float32)


def _least_squares(alpha: str, x: np.ndarray, q: np.ndarray) -> np.ndarray:
    if x.ndim > 1:
        scale = _channel_mean(x * q) / (_channel_mean(q * q) + EPSILON)
    else:
        scale = (x * q) / (q * q + EPSILON)
    return _po2(scale) if alpha == "auto_po2" else scale.astype(np.float32)


def _quantized_bits(p: dict, x: np.ndarray) -> np.ndarray:
    bits, integer = int(p["bits"]), int(p["integer"])
    keep_negative = int(bool(p["keep_negative"]))
    alpha = p["alpha"]
    unsigned = bits - keep_negative
    m = np.float32(2.0 ** unsigned)
    m_i = np.float32(2.0 ** integer)
    if isinstance(alpha, str):
        if alpha not in ("auto", "auto_po2"):
            raise UnsupportedOpError(f"alpha {alpha!r} is not 'auto', 'auto_po2' or a number")
        xs = x / m_i
        levels = np.float32((2 ** (bits - 1) - 1) * 2)
        scale = (_channel_max(np.abs(xs)) * np.float32(2)) / levels

        def integers(s):
            v = np.floor(np.abs(xs) / s + np.float32(0.5))
            return np.sign(xs) * np.where(v < levels / 2, v, levels / 2).astype(np.float32)

        if alpha == "auto_po2":
            scale = _po2(scale)
            for _ in range(5):
                scale = _least_squares("auto_po2", xs, integers(scale))
        z = integers(scale)
        return (scale * m) * (m_i * z / m)
    scale = np.float32(1.0) if alpha is None else _f32(alpha)
    if unsigned > 0:
        lo = np.float32(keep_negative * (-m + int(bool(p["symmetric"]))))
        q = m_i * np.clip(np.round(x * m / m_i), lo, m - 1) / m
    else:
        q = sign_one(x)
        if not keep_negative:
            q = (q + np.float32(1)) / np.float32(2)
    return scale * q


def _binary(p: dict, x: np.ndarray) -> np.ndarray:
    q = sign_one(x)
    if p.get("use_01"):
        q = (q + np.float32(1)) / np.float32(2)
    alpha = p["alpha"]
    if isinstance(alpha, str):
        return _least_squares(alpha, x, q) * q
    return (np.float32(1.0) if alpha is None else _f32(alpha)) * q


def _ternary(p: dict, x: np.ndarray) -> np.ndarray:
    alpha = p["alpha"]
    if isinstance(alpha, str):
        scale = np.float32(2) * _channel_max(np.abs(x)) / np.float32(3)
        if alpha == "auto_po2":
            scale = _po2(scale)
        q = np.zeros_like(x)
        for _ in range(int(p.get("number_of_unrolls", 5))):
            v = scale * np.round(x / scale)
            q = (np.abs(v) >= scale / np.float32(2)).astype(np.float32) * np.sign(x)
            scale = _least_squares(alpha, x, q)
        return scale * q
    threshold = np.float32(0.33 if p["threshold"] is None else p["threshold"])
    q = (np.abs(x) >= threshold).astype(np.float32) * np.sign(x)
    return (np.float32(1.0) if alpha is None else _f32(alpha)) * q


def po2_exponent_range(p: dict, sign_bit: bool) -> tuple[int, int]:
    max_value = p.get("max_value")
    need_sign = 1 if max_value is None or max_value > 1 else 0
    effect = int(p["bits"]) - int(sign_bit) - need_sign
    lo, hi = -2 ** effect, 2 ** effect - 1
    if p.get("quadratic_approximation"):
        hi = 2 * (hi // 2)
    return lo, hi


def _po2_exponents(p: dict, magnitude: np.ndarray, sign_bit: bool) -> np.ndarray:
    rounding = p.get("log2_rounding", "rnd")
    if rounding not in ("rnd", "floor"):
        raise UnsupportedOpError(f"log2_rounding {rounding!r} is not 'rnd' or 'floor'")
    rnd = np.round if rounding == "rnd" else np.floor
    lo, hi = po2_exponent_range(p, sign_bit)
    filtered = np.where(magnitude < EPSILON, EPSILON, magnitude)
    if p.get("max_value") is not None:
        filtered = np.where(filtered >= np.float32(p["max_value"]), np.float32(p["max_value"]), filtered)
    if p.get("quadratic_approximation"):  # even exponents: 2 * round(log2 sqrt|x|)
        e = np.float32(2) * np.clip(rnd(np.log(np.sqrt(filtered)) / np.float32(np.log(2.0))), lo, hi)
    else:
        e = np.clip(rnd(np.log(filtered) / np.float32(np.log(2.0))), lo, hi)
    return np.where(magnitude < EPSILON, np.float32(lo), e).astype(np.float32)


def quantized_po2_values(p: dict, x: np.ndarray) -> np.ndarray:
    """QKeras quantized_po2 of x (float32): sign times a power of two (config dict p)."""
    return sign_one(x) * np.power(np.float32(2), _po2_exponents(p, np.abs(x), True))


def quantized_relu_po2_values(p: dict, x: np.ndarray) -> np.ndarray:
    """QKeras quantized_relu_po2 of x (float32): a power of two, or 0, for x >= 0 (config dict p)."""
    slope = np.float32(p.get("negative_slope") or 0)
    pos = np.power(np.float32(2), _po2_exponents(p, np.maximum(x, 0), False))
    if slope == 0:
        return pos.astype(np.float32)
    neg = -np.power(np.float32(2), _po2_exponents(p, np.maximum(-x, 0) * slope, False))
    return np.where(x >= 0, pos, neg).astype(np.float32)


def _quantized_relu(p: dict, x: np.ndarray) -> np.ndarray:
    if p.get("use_sigmoid"):
        raise UnsupportedOpError("quantized_relu with use_sigmoid is not supported")
    slope = np.float32(p.get("negative_slope") or 0.0)
    bits, integer = int(p["bits"]), int(p["integer"])
    m = np.float32(2.0 ** (bits - (slope != 0)))
    m_i = np.float32(2.0 ** integer)
    xp = x * m / m_i
    q = m_i * np.clip(np.round(xp) / m, 0, 1 - 1 / m)
    if slope > 0:
        factor = np.float32(1) / (slope * m)
        q = q + m_i * slope * np.clip(np.round(xp * slope) * factor, -1, 0)
    bound = p.get("relu_upper_bound")
    if bound and not p.get("is_quantized_clip", True):
        q = np.minimum(q, np.float32(bound))
    return q.astype(np.float32)


_WEIGHT_FUNCTIONS = {
    "quantized_bits": _quantized_bits, "binary": _binary, "stochastic_binary": _binary,
    "ternary": _ternary, "stochastic_ternary": _ternary, "quantized_po2": quantized_po2_values,
    "quantized_relu_po2": quantized_relu_po2_values, "quantized_relu": _quantized_relu,
}


def quantize_weights(spec: QuantizerSpec | None, values: np.ndarray, where: str) -> np.ndarray:
    """QKeras's quantized values of a stored weight tensor (float32 arithmetic, returned as float64)."""
    if spec is None:
        return np.asarray(values, dtype=np.float64)
    function = _WEIGHT_FUNCTIONS.get(spec.name)
    if function is None:
        raise UnsupportedOpError(f"{where}: quantizer {spec.name} is not supported on weights; use one of "
                                 f"{', '.join(sorted(_WEIGHT_FUNCTIONS))}")
    try:
        return np.asarray(function(spec.params, _f32(values)), dtype=np.float64)
    except UnsupportedOpError as exc:
        raise UnsupportedOpError(f"{where}: {spec}: {exc}") from None
