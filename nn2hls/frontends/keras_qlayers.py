"""QKeras layers in the Keras frontend: quantized weights at compile time, activations as IR casts.

Rules:
- QDense, QConv1D/2D, QDepthwiseConv2D, QSeparableConv1D/2D are their Keras layer with each stored
  weight replaced by its quantizer's values (`kernel_quantizer`, `bias_quantizer`,
  `depthwise_quantizer`, `pointwise_quantizer`; `qkeras_quantizers.quantize_weights`). The new
  Dense/Conv nodes get `forced_precision` = the narrowest types holding those values exactly, so
  po2 / ternary / binary weights cost no multiplier; a per-channel scale that is not a power of two
  (alpha "auto") is factored out into a ScaleShift after integer weights (as for QONNX weights): the
  frontend marks the layer (`annotations.weight_quantizer`), the exact_weight_types pass does it.
- The layer's `activation` and QActivation's `activation` are quantizers or Keras activation names.
  quantized_bits (alpha None or 1) and quantized_relu become one IR `Quant` (cast to
  ap_fixed<bits, integer + keep_negative, AP_RND_CONV, AP_SAT>, AP_SAT_SYM when symmetric, or
  ap_ufixed<bits, integer, AP_RND_CONV, AP_SAT> for quantized_relu): exactly
  step * clip(round_half_even(x / step), lo, hi). quantized_relu with a power-of-two
  negative_slope s is leaky_relu(s), the signed cast, then a clip at -s * m * step (m = 2^(bits-1)).
  quantized_tanh / quantized_sigmoid (QKeras's default hard sigmoid) are the same casts after the
  exact hard sigmoid (`_hard_activation`). quantized_po2, quantized_relu_po2, binary, ternary,
  stochastic_binary/ternary (inference), the real-tanh/sigmoid forms and quantized_relu(use_sigmoid)
  are step functions: an IR `steps` activation whose thresholds are where QKeras's float32 result
  changes (`qkeras_activations`), so no multiplier. Data-dependent alphas ("auto", "auto_po2") on
  activations scale by the batch itself and are refused with the reason.
- QBatchNormalization is BatchNormalization with its gamma, beta, moving mean and moving variance
  quantized by their quantizers (QKeras defaults: quantized_relu_po2(6, 2048), quantized_po2(5),
  quantized_po2(5), quantized_relu_po2(6, quadratic_approximation=True)); the scale it implies is a
  float, so it is folded and typed like any BatchNormalization (not exact by construction).
- QAveragePooling2D and QGlobalAveragePooling2D: the Keras average, or with `average_quantizer`
  QKeras's sum(window) * q(1 / area) as a depthwise Conv with that constant kernel
  (`qaverage_pooling`); then their `activation` quantizer.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends import hgq2
from nn2hls.frontends import keras_layers as kl
from nn2hls.frontends.keras_build import Builder, KTensor, channels_first, int_tuple
from nn2hls.frontends.keras_config import LayerCall
from nn2hls.frontends.qkeras_activations import STEP_QUANTIZERS, activation_function, staircase
from nn2hls.frontends.qkeras_quantizers import (QuantizerSpec, parse_quantizer, quantize_weights,
                                               trainable_alpha)
from nn2hls.ir import ops
from nn2hls.ir.annotations import Role, WeightQuantizer
from nn2hls.ir.quant import exact_type, fixed_type_for, pow2_exponent


def _refuse(layer: LayerCall, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"layer '{layer.name}' ({layer.class_name}): {what}")


# ---- activations ----------------------------------------------------------------------------------
def _is_quantizer(value) -> bool:
    if isinstance(value, dict):
        return "class_name" in value and value.get("class_name") not in ("function", "__function__")
    return isinstance(value, str) and ("(" in value or value in ("binary", "ternary", "stochastic_binary",
                                                                 "stochastic_ternary"))


def quantized_activation(b: Builder, layer: LayerCall, t: KTensor, value) -> KTensor:
    """Append the QKeras activation `value` (a quantizer or a Keras activation name) after `t`."""
    if not _is_quantizer(value):
        return kl.apply_activation(b, layer, t, kl.activation_name(value), suffix="act")
    spec = parse_quantizer(value, f"layer '{layer.name}' ({layer.class_name}) activation")
    if activation_function(spec) is not None:
        return _steps_activation(b, layer, t, spec)
    if spec.name == "quantized_bits":
        return _bits_activation(b, layer, t, spec)
    if spec.name == "quantized_relu":
        return _relu_activation(b, layer, t, spec)
    if spec.name in ("quantized_tanh", "quantized_sigmoid"):
        return _hard_activation(b, layer, t, spec)
    raise _refuse(layer, f"activation quantizer {spec} is not supported on activations; use quantized_bits "
                         "(alpha 1 or None), quantized_relu, quantized_tanh, quantized_sigmoid, "
                         + ", ".join(STEP_QUANTIZERS))


def _steps_activation(b: Builder, layer: LayerCall, t: KTensor, spec: QuantizerSpec) -> KTensor:
    """A step-function quantizer (`qkeras_activations`) as the IR `steps` activation."""
    where = f"layer '{layer.name}' ({layer.class_name}) activation quantizer {spec}"
    try:
        thresholds, levels = staircase(activation_function(spec), where)
    except UnsupportedOpError as exc:
        message = str(exc)
        raise UnsupportedOpError(message if message.startswith(where) else f"{where}: {message}") from None
    op = ops.Activation("steps")
    which = b.common_view([t])
    node = b.add(op, [b.view(t, which, layer)], layer, suffix="steps",
                 weights={"thresholds": thresholds, "levels": levels})
    return b.tensor(which, node, t.shape)


def _unary(b: Builder, layer: LayerCall, t: KTensor, op: ops.Op, suffix: str) -> KTensor:
    which = b.common_view([t])
    return b.tensor(which, b.add(op, [b.view(t, which, layer)], layer, suffix=suffix), t.shape)


def _quant(b: Builder, layer: LayerCall, t: KTensor, frac: int, bits: int, signed: bool, narrow: bool,
           suffix: str) -> KTensor:
    dtype = fixed_type_for(frac, bits, signed, narrow, "ROUND")
    op = ops.Quant(dtype=str(dtype), scale=2.0 ** -frac, zero_point=0.0, bit_width=bits, signed=signed,
                   narrow=narrow, rounding_mode="ROUND")
    return _unary(b, layer, t, op, suffix)


def _bits_activation(b: Builder, layer: LayerCall, t: KTensor, spec: QuantizerSpec) -> KTensor:
    p = spec.params
    alpha = p.get("alpha")
    if alpha is not None and (isinstance(alpha, str) or float(np.asarray(alpha).reshape(-1)[0]) != 1.0
                              or np.asarray(alpha).size != 1):
        raise _refuse(layer, f"activation quantizer {spec}: alpha {alpha!r} scales by the batch's own values; "
                             "only alpha=1 or None is supported on activations")
    bits, integer = int(p["bits"]), int(p["integer"])
    keep_negative = bool(p["keep_negative"])
    unsigned = bits - int(keep_negative)
    if unsigned <= 0:
        raise _refuse(layer, f"activation quantizer {spec}: 1-bit signed quantized_bits (a sign) is not supported "
                             "on activations")
    symmetric = bool(p.get("symmetric")) and keep_negative
    return _quant(b, layer, t, unsigned - integer, bits, keep_negative, symmetric, "quant")


def _relu_activation(b: Builder, layer: LayerCall, t: KTensor, spec: QuantizerSpec) -> KTensor:
    p = spec.params
    if p.get("use_sigmoid"):
        raise _refuse(layer, f"activation quantizer {spec}: use_sigmoid is not supported")
    bits, integer = int(p["bits"]), int(p["integer"])
    slope = float(p.get("negative_slope") or 0.0)
    bound = p.get("relu_upper_bound")
    if slope == 0.0:
        out = _quant(b, layer, t, bits - integer, bits, False, False, "quant")
    else:
        m = 2 ** (bits - 1)
        if pow2_exponent(slope) is None or slope * m != round(slope * m) or slope > 1:
            raise _refuse(layer, f"activation quantizer {spec}: negative_slope {slope} must be a power of two "
                                 f"<= 1 with negative_slope * 2^(bits-1) an integer for an exact cast")
        leaky = _unary(b, layer, t, ops.Activation("leaky_relu", alpha=slope), "leaky")
        out = _quant(b, layer, leaky, bits - 1 - integer, bits, True, False, "quant")
        if slope < 1:
            low = -slope * m * 2.0 ** (integer - bits + 1)
            out = _unary(b, layer, out, ops.Activation("clip", low=low, high=math.inf), "neg_clip")
    if bound and not p.get("is_quantized_clip", True):
        out = _unary(b, layer, out, ops.Activation("clip", low=-math.inf, high=float(bound)), "upper_bound")
    return out


def _hard_activation(b: Builder, layer: LayerCall, t: KTensor, spec: QuantizerSpec) -> KTensor:
    """quantized_tanh / quantized_sigmoid with QKeras's default hard sigmoid, clip(0.5 x + 0.5, 0, 1).

    tanh: clip(round(m * clip(x, -1, 1)) / m, -1 + symmetric / m, 1 - 1 / m), m = 2^(bits-1): the signed
    cast to ap_fixed<bits, 1> (AP_SAT_SYM when symmetric). sigmoid: m = 2^bits,
    clip(round(m * (0.5 x + 0.5)) / m, symmetric / m, 1 - 1 / m): an exact ScaleShift(0.5, 0.5), the
    unsigned cast to ap_ufixed<bits, 0>, and for symmetric a clip at 1 / m.
    """
    p = spec.params
    real = p.get("use_real_tanh") if spec.name == "quantized_tanh" else p.get("use_real_sigmoid")
    if real:
        raise _refuse(layer, f"activation quantizer {spec}: the real tanh/sigmoid is not exact in fixed point; "
                             "only QKeras's default hard form is supported")
    bits, symmetric = int(p["bits"]), bool(p.get("symmetric"))
    if spec.name == "quantized_tanh":
        return _quant(b, layer, t, bits - 1, bits, True, symmetric, "quant")
    which = b.common_view([t])
    source = b.view(t, which, layer)
    c = b.shape_of(source)[-1] if b.shape_of(source) else 1
    node = b.graph.add(ops.ScaleShift(), [source], name=layer.name + "_hard", source_name=layer.name,
                       weights={"scale": np.full(c, 0.5), "shift": np.full(c, 0.5)})
    node.annotations.forced_precision = {Role.WEIGHT: exact_type(np.array([0.5])),
                                         Role.BIAS: exact_type(np.array([0.5]))}
    node.annotations.exact_result = True
    node.annotations.keep_separate = "it is the hard sigmoid of a QKeras quantized_sigmoid (exact)"
    out = _quant(b, layer, b.tensor(which, node.name, t.shape), bits, bits, False, False, "quant")
    if symmetric:
        out = _unary(b, layer, out, ops.Activation("clip", low=2.0 ** -bits, high=math.inf), "sym_clip")
    return out


# ---- weights --------------------------------------------------------------------------------------
def declare_weight_quantizer(b: Builder, nodes: list[str], quantized_bias: bool) -> None:
    """Mark the new Dense/Conv nodes as holding quantized weights (`annotations.weight_quantizer`);
    the exact_weight_types pass gives them exact types or factors a non-power-of-two scale out."""
    for name in nodes:
        node = b.graph.nodes[name]
        if isinstance(node.op, (ops.Dense, ops.Conv)):
            node.annotations.weight_quantizer = WeightQuantizer("qkeras", quantized_bias=quantized_bias)


def _quantized_layer(base: kl.Converter, roles: tuple[tuple[str, str], ...]) -> kl.Converter:
    """A converter for a QKeras layer: `roles` pairs each weight name with its quantizer's config key."""
    def convert(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
        stored = b.weights.get(layer.name, [])
        names = [n.split("/")[-1].split(":")[0] for n, _ in stored]
        wanted = [w for w, _ in roles]
        by_position = not set(names) <= set(wanted)  # a .keras archive numbers its weights
        quantized = []
        for i, (name, array) in enumerate(stored):
            short = wanted[i] if by_position and i < len(wanted) else names[i]
            key = dict(roles).get(short)
            where = f"layer '{layer.name}' ({layer.class_name}) {key}"
            spec = parse_quantizer(layer.config.get(key), where) if key else None
            if key and key != "bias_quantizer":
                spec = trainable_alpha(spec)
            quantized.append((name, quantize_weights(spec, array, where)))
        b.weights[layer.name] = quantized
        plain = LayerCall(layer.class_name[1:], layer.name, {**layer.config, "activation": "linear"},
                          layer.inputs)
        before = set(b.graph.nodes)
        out = base(b, plain, inputs)
        bias_q = layer.config.get("bias_quantizer") is not None
        declare_weight_quantizer(b, [n for n in b.graph.nodes if n not in before], bias_q)
        return quantized_activation(b, layer, out, layer.config.get("activation"))
    return convert


def qactivation(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    return quantized_activation(b, layer, t, layer.config.get("activation"))


def qbatch_norm(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    """QBatchNormalization: the BatchNormalization of its quantized gamma, beta, moving mean and variance."""
    if layer.config.get("inverse_quantizer") is not None:
        raise _refuse(layer, "inverse_quantizer is not supported")
    roles = {"gamma": "gamma_quantizer", "beta": "beta_quantizer", "moving_mean": "mean_quantizer",
             "moving_variance": "variance_quantizer"}
    stored = b.weights.get(layer.name, [])
    names = [n.split("/")[-1].split(":")[0] for n, _ in stored]
    if not set(names) <= set(roles):  # a .keras archive numbers its weights: Keras's creation order
        names = ((["gamma"] if layer.config.get("scale", True) else []) + (["beta"] if layer.config.get("center", True)
                 else []) + ["moving_mean", "moving_variance"])[:len(stored)]
    quantized = []
    for short, (name, array) in zip(names, stored):
        key = roles.get(short)
        where = f"layer '{layer.name}' ({layer.class_name}) {key}"
        spec = parse_quantizer(layer.config.get(key), where) if key else None
        quantized.append((name, quantize_weights(spec, array, where)))
    b.weights[layer.name] = quantized
    return kl.batch_norm(b, LayerCall("BatchNormalization", layer.name, dict(layer.config), layer.inputs), inputs)


def qaverage_pooling(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    """QAveragePooling2D / QGlobalAveragePooling2D, then the layer's `activation` quantizer.

    Without `average_quantizer` the Keras average. With it QKeras computes sum(window) *
    q(1 / area) (q = the quantizer), which is the depthwise Conv whose kernel is q(1 / area)
    everywhere: exact, and free of multipliers for a power-of-two q. Only 'valid' padding then.
    """
    (t,) = inputs
    glob = layer.class_name == "QGlobalAveragePooling2D"
    base = kl.global_pool if glob else kl.pool
    plain = LayerCall(layer.class_name[1:], layer.name, {k: v for k, v in layer.config.items()
                                                          if k not in ("average_quantizer", "activation")},
                      layer.inputs)
    spec = parse_quantizer(layer.config.get("average_quantizer"), f"layer '{layer.name}' ({layer.class_name}) "
                                                                  "average_quantizer")
    if spec is None:
        out = base(b, plain, inputs)
    else:
        if channels_first(layer) or t.rank != 3:
            raise _refuse(layer, "average_quantizer is supported on channels_last rank-3 inputs only")
        h, w, c = t.shape
        if glob:
            pool, strides, keep = (h, w), (h, w), bool(layer.config.get("keepdims"))
        else:
            pool = int_tuple(layer.config.get("pool_size", 2), 2)
            strides = int_tuple(layer.config.get("strides") or pool, 2)
            if str(layer.config.get("padding", "valid")).lower() != "valid":
                raise _refuse(layer, "average_quantizer with padding other than 'valid' is not supported")
        area = int(np.prod(pool))
        q = float(quantize_weights(spec, np.array([1.0 / area]), "average_quantizer")[0])
        op = ops.Conv(ndim=2, kernel_size=pool, strides=strides, dilations=(1, 1), pads=((0, 0), (0, 0)), groups=c)
        node = b.add(op, [b.keras_view(t, layer)], layer, weights={"kernel": np.full(pool + (1, c), q)})
        declare_weight_quantizer(b, [node], False)
        out = KTensor(b.shape_of(node), keras=node)
        if glob:
            kept = (1, 1, c) if keep else (c,)
            out = KTensor(kept, keras=b.add(ops.Reshape(shape=kept), [node], layer, suffix="flat"))
    act = layer.config.get("activation")
    return out if act is None else quantized_activation(b, layer, out, act)


def _or_hgq2(qkeras: Callable, hgq2_converter: Callable | None) -> Callable:
    """HGQ2 reuses QKeras's class names (QDense, QConv2D, ...): its layers carry `iq_conf`/`kq_conf`."""
    def convert(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
        if not hgq2.is_hgq2_layer(layer):
            return qkeras(b, layer, inputs)
        if hgq2_converter is None:
            raise _refuse(layer, "this HGQ2 layer is not supported; supported HGQ2 layers: QDense, QConv1D, QConv2D, "
                                 "Quantizer")
        return hgq2_converter(b, layer, inputs)
    return convert


_CONV_ROLES = (("kernel", "kernel_quantizer"), ("bias", "bias_quantizer"))
_QKERAS: dict[str, Callable] = {
    "QDense": _quantized_layer(kl.dense, _CONV_ROLES),
    "QConv1D": _quantized_layer(kl.conv, _CONV_ROLES),
    "QConv2D": _quantized_layer(kl.conv, _CONV_ROLES),
    "QDepthwiseConv2D": _quantized_layer(kl.depthwise_conv, (("depthwise_kernel", "depthwise_quantizer"),
                                                             ("bias", "bias_quantizer"))),
    "QSeparableConv1D": _quantized_layer(kl.separable_conv, (("depthwise_kernel", "depthwise_quantizer"),
                                                             ("pointwise_kernel", "pointwise_quantizer"),
                                                             ("bias", "bias_quantizer"))),
    "QSeparableConv2D": _quantized_layer(kl.separable_conv, (("depthwise_kernel", "depthwise_quantizer"),
                                                             ("pointwise_kernel", "pointwise_quantizer"),
                                                             ("bias", "bias_quantizer"))),
    "QActivation": qactivation,
    "QBatchNormalization": qbatch_norm,
    "QAveragePooling2D": qaverage_pooling,
    "QGlobalAveragePooling2D": qaverage_pooling,
}
_HGQ2_LAYERS = {"QDense": hgq2.qdense, "QConv1D": hgq2.qconv, "QConv2D": hgq2.qconv}
QKERAS_CONVERTERS: dict[str, Callable] = {name: _or_hgq2(f, _HGQ2_LAYERS.get(name)) for name, f in _QKERAS.items()}
QKERAS_CONVERTERS["Quantizer"] = hgq2.quantizer_layer  # HGQ2's standalone quantizer layer
