"""QONNX quantizers in the ONNX frontend: IntQuant/Quant and BipolarQuant (nn2hls.ir.quant semantics).

Rules:
- Domains `qonnx.custom_op.general`, its Brevitas alias `onnx.brevitas` and the older
  `finn.custom_op.general`; op types `Quant`, `IntQuant`, `BipolarQuant`.
- A quantizer whose data input is a constant (a weight initializer, after folding) is evaluated at
  import time by its float definition, so the weight becomes its exact quantized float values
  (scale, zero point and bit width may be per tensor or per channel, any positive scale). The values
  are remembered; after the import `declare_weight_quantizers` annotates every Dense/Conv whose
  kernel holds exactly those values (in any order: layout permutations and transposes do not change
  the multiset) with `annotations.weight_quantizer` (the quantizer's scales); the exact_weight_types
  pass then forces exact weight/bias types or factors non-power-of-two scales out.
- A quantizer on a run-time tensor becomes an IR `Quant` node (y = cast(x, T), T from
  `nn2hls.ir.quant.fixed_type_for`) when its scale is one power of two 2^-k and its zero point is 0:
  then the cast is exactly the QONNX definition. Other scales/zero points become an integer tensor
  with a requantization (`requantize`/`dequantize`); per-channel activation scales of IntQuant are
  refused with a one-line UnsupportedOpError. BipolarQuant on activations: `bipolar_activation`.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import Nn2hlsError, UnsupportedOpError
from nn2hls.frontends.onnx_layout import Tensor
from nn2hls.ir import ops
from nn2hls.ir.annotations import Dequant, Requant, Role, WeightQuantizer
from nn2hls.ir.graph import Graph
from nn2hls.ir.quant import (bipolar_quant, exact_type, fixed_type_for, int_quant, int_range, pow2_exponent,
                             ratio, trunc_v1, trunc_v2)

QONNX_DOMAINS: tuple[str, ...] = ("qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general")
QONNX_OPS: tuple[str, ...] = ("Quant", "IntQuant", "BipolarQuant", "Trunc")


def _constant(ctx, node, inputs: list, index: int, what: str) -> np.ndarray:
    value = inputs[index] if index < len(inputs) else None
    if value is None or isinstance(value, Tensor):
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: {what} (input {index}) must be "
                                 f"a constant; a computed {what} is not supported")
    return np.asarray(value, dtype=np.float64)


def _int_attr(attrs: dict, name: str, default: int) -> bool:
    return bool(int(attrs.get(name, default)))


def remember(ctx, values: np.ndarray, scale: np.ndarray) -> None:
    """Keep a constant quantizer's output values and scales (`ctx.quantized_constants`) for
    `declare_weight_quantizers`."""
    sorted_values = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    scales = np.unique(np.asarray(scale, dtype=np.float64).reshape(-1))
    ctx.quantized_constants.append((sorted_values, scales))


def convert(ctx, node, attrs: dict, inputs: list) -> list:
    """Convert one QONNX quantizer node (any QONNX_DOMAINS domain)."""
    if node.op_type not in QONNX_OPS:
        raise UnsupportedOpError(f"unsupported QONNX op '{node.domain}.{node.op_type}' at node "
                                 f"'{ctx.name(node)}'; supported: {', '.join(QONNX_OPS)}")
    x = inputs[0] if inputs else None
    if x is None:
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)} has no data input")
    scale = _constant(ctx, node, inputs, 1, "scale")
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: scale must be positive and "
                                 f"finite")
    if node.op_type == "Trunc":
        return [_trunc(ctx, node, attrs, inputs, x, scale)]
    if node.op_type == "BipolarQuant":
        if isinstance(x, Tensor):
            return [bipolar_activation(ctx, node, x, scale)]
        values = bipolar_quant(x, scale)
        remember(ctx, values, scale)
        return [values]
    zero_point = _constant(ctx, node, inputs, 2, "zero point")
    bits = _constant(ctx, node, inputs, 3, "bit width")
    if bits.size != 1 or bits.reshape(-1)[0] != round(float(bits.reshape(-1)[0])) or bits.reshape(-1)[0] < 1:
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: bit width must be one positive "
                                 f"integer, got {bits.reshape(-1).tolist()}")
    bit_width = int(bits.reshape(-1)[0])
    signed = _int_attr(attrs, "signed", 1)
    narrow = _int_attr(attrs, "narrow", 0)
    mode = str(attrs.get("rounding_mode", "ROUND")).upper()
    if not isinstance(x, Tensor):
        try:
            values = int_quant(x, scale, zero_point, bit_width, signed, narrow, mode)
        except Nn2hlsError as exc:
            raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: {exc}") from None
        remember(ctx, values, scale if np.all(zero_point == 0) else np.ones(1))
        return [values]
    # run-time tensor: one power-of-two scale and zero point 0 -> a cast; else requantize
    flat_scale = scale.reshape(-1)
    if not np.all(flat_scale == flat_scale[0]) or not np.all(zero_point.reshape(-1) == zero_point.reshape(-1)[0]):
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: per-channel scales on "
                                 f"activations are not supported; use one scale per tensor")
    k = pow2_exponent(float(flat_scale[0]))
    z = float(zero_point.reshape(-1)[0])
    if z != round(z):
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: zero point {z!r} is not an "
                                 f"integer; export integer zero points")
    try:
        if k is None or z != 0:
            int_t = fixed_type_for(0, bit_width, signed, narrow, mode)
            q = requantize(ctx, node, x, float(flat_scale[0]), z, int_t, (signed, narrow, mode, bit_width))
            return [dequantize(ctx, node, q, float(flat_scale[0]), z)]
        dtype = fixed_type_for(k, bit_width, signed, narrow, mode)
    except UnsupportedOpError as exc:
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: {exc}") from None
    op = ops.Quant(dtype=str(dtype), scale=float(flat_scale[0]), zero_point=0.0, bit_width=bit_width,
                   signed=signed, narrow=narrow, rounding_mode=mode)
    return [x.with_node(ctx.add(op, [x.node], node))]


BIPOLAR_PLACEHOLDER_SCALE = 2.0 ** 60  # until the precision pass knows frac(x) (`quant_rules.bipolar_sign`)


def bipolar_activation(ctx, node, x: Tensor, scale: np.ndarray) -> Tensor:
    """BipolarQuant on a run-time tensor: y = s * (x >= 0 ? +1 : -1), exactly, in three nodes.

    sign: ScaleShift(2^(F+1), +1) with F = frac of x's type (set by the precision pass,
    `quant_rules.bipolar_sign`): x >= 0 gives >= 1; x < 0 means x <= -2^-F, so it gives <= -1.
    Quant to ap_fixed<2,2,AP_TRN,AP_SAT_SYM> (range [-1, 1]) turns those into exactly +1 / -1
    (its float definition: floor(clamp(v, -1, 1))). Then the dequantizing ScaleShift(s, 0), which the
    frontend carries into the next Dense/Conv like any dequantization (integer +-1 inputs).
    """
    c = _channels(ctx, x)
    name = ctx.name(node)
    flat = np.broadcast_to(scale.reshape(-1), (c,)) if scale.size in (1, c) else None
    if flat is None:
        raise UnsupportedOpError(f"QONNX BipolarQuant node {ctx.label(node)}: scale of {scale.size} values does "
                                 f"not match the {c} channels; use one scale per tensor or per channel")
    sign = ctx.graph.add(ops.ScaleShift(), [x.node], name=name + "_sign", source_name=name,
                         weights={"scale": np.full(c, BIPOLAR_PLACEHOLDER_SCALE), "shift": np.ones(c)})
    sign.annotations.keep_separate = "it computes the sign of a bipolar quantizer's input"
    sign.annotations.bipolar_sign = True
    sign.annotations.exact_result = True
    op = ops.Quant(dtype=str(fixed_type_for(0, 2, True, True, "FLOOR")), scale=1.0, zero_point=0.0, bit_width=2,
                   signed=True, narrow=True, rounding_mode="FLOOR")
    q = ctx.graph.add(op, [sign.name], name=name + "_int", source_name=name)
    ss = ctx.graph.add(ops.ScaleShift(), [q.name], name=name + "_dequant", source_name=name,
                       weights={"scale": np.array(flat, dtype=np.float64), "shift": np.zeros(c)})
    ss.annotations.keep_separate = "it dequantizes a bipolar tensor (carried into the next layer when possible)"
    ss.annotations.dequant = Dequant(float(flat[0]), 0.0)
    ss.annotations.exact_result = True
    _force_exact(ss)
    return x.with_node(ss.name)


def _domain_version(ctx, domain: str) -> int:
    for imp in ctx.model.opset_import:
        if imp.domain == domain:
            return int(imp.version)
    return 1


def _trunc(ctx, node, attrs: dict, inputs: list, x, scale: np.ndarray):
    """QONNX Trunc (version 1 below domain opset 2, version 2 from it; `ir.quant.trunc_v1/v2`).

    On a run-time tensor with one power-of-two scale 2^-k and zero point 0 it is two casts:
    round(x / s) to ap_fixed<B, B - k, AP_RND_CONV, AP_SAT> (B = input bit width + 1: never clamps a
    B-1 bit value), then the truncation to the 2^-(k - t) grid by the rounding mode (FLOOR -> AP_TRN)
    with version 2's output range (AP_SAT / AP_SAT_SYM) or, in version 1, a range that never clamps.
    """
    v2 = _domain_version(ctx, node.domain) >= 2
    zero_point = _constant(ctx, node, inputs, 2, "zero point")
    in_bits = int(_constant(ctx, node, inputs, 3, "input bit width").reshape(-1)[0])
    mode = str(attrs.get("rounding_mode", "FLOOR")).upper()
    signed, narrow = _int_attr(attrs, "signed", 1), _int_attr(attrs, "narrow", 0)
    if v2:
        out_scale = _constant(ctx, node, inputs, 4, "output scale")
        out_bits = int(_constant(ctx, node, inputs, 5, "output bit width").reshape(-1)[0])
    else:
        out_bits = int(_constant(ctx, node, inputs, 4, "output bit width").reshape(-1)[0])
        out_scale = scale * 2.0 ** (in_bits - out_bits)
    if not isinstance(x, Tensor):
        if v2:
            return trunc_v2(x, scale, zero_point, out_scale, out_bits, signed, narrow, mode)
        return trunc_v1(x, scale, zero_point, in_bits, out_bits, mode)
    flat, out_flat = scale.reshape(-1), np.asarray(out_scale, np.float64).reshape(-1)
    k = pow2_exponent(float(flat[0])) if np.all(flat == flat[0]) else None
    k_out = pow2_exponent(float(out_flat[0])) if np.all(out_flat == out_flat[0]) else None
    scalar = np.all(flat == flat[0]) and np.all(out_flat == out_flat[0])
    if not scalar or np.any(zero_point != 0):
        raise UnsupportedOpError(f"QONNX Trunc node {ctx.label(node)}: only one scale and output scale per "
                                 f"tensor with zero point 0 are supported")
    if k is None or k_out is None:
        return _trunc_float(ctx, node, x, float(flat[0]), float(out_flat[0]), in_bits, out_bits,
                            (signed, narrow, mode), v2)
    t = k - k_out
    name = ctx.name(node)
    wide = in_bits + 1
    try:
        first_t = fixed_type_for(k, wide, True, False, "ROUND")
        if v2:
            second_t = fixed_type_for(k_out, out_bits, signed, narrow, mode)
            second = ops.Quant(dtype=str(second_t), scale=float(out_flat[0]), zero_point=0.0, bit_width=out_bits,
                               signed=signed, narrow=narrow, rounding_mode=mode)
        else:
            second_t = fixed_type_for(k_out, max(wide - t, 2), True, False, mode)
            second = ops.Quant(dtype=str(second_t), scale=float(out_flat[0]), zero_point=0.0,
                               bit_width=max(wide - t, 2), signed=True, narrow=False, rounding_mode=mode)
    except UnsupportedOpError as exc:
        raise UnsupportedOpError(f"QONNX Trunc node {ctx.label(node)}: {exc}") from None
    first = ops.Quant(dtype=str(first_t), scale=float(flat[0]), zero_point=0.0, bit_width=wide, signed=True,
                      narrow=False, rounding_mode="ROUND")
    a = ctx.graph.add(first, [x.node], name=name + "_round", source_name=name)
    b = ctx.graph.add(second, [a.name], name=name, source_name=name)
    return x.with_node(b.name)


def _trunc_float(ctx, node, x: Tensor, scale: float, out_scale: float, in_bits: int, out_bits: int,
                 quant: tuple, v2: bool) -> Tensor:
    """Trunc with a non-power-of-two scale s (zero point 0), e.g. Brevitas' TruncAvgPool2d on float scales.

    q = round(x / s) is an integer tensor (`requantize`, B = input bit width + 1 bits: never clamps);
    the truncation is exact on it: t = 2^e (e = round(log2(output_scale / s)); version 1:
    e = input bits - output bits) and cast(q, fixed_type_for(-e, ...)) = t * mode(clamp(q / t, lo, hi))
    (version 1: a range that never clamps); the result is dequantized by output_scale / t (exact:
    t is a power of two). Only `requantize` approximates (docs/semantics.md, Requantization).
    """
    signed, narrow, mode = quant
    wide = in_bits + 1
    e = int(np.round(np.log2(out_scale / scale))) if v2 else in_bits - out_bits
    try:
        int_t = fixed_type_for(0, wide, True, False, "ROUND")
        if v2:
            second_t = fixed_type_for(-e, out_bits, signed, narrow, mode)
            bits, q_signed, q_narrow = out_bits, signed, narrow
        else:
            second_t = fixed_type_for(-e, max(wide - e, 2), True, False, mode)
            bits, q_signed, q_narrow = max(wide - e, 2), True, False
    except UnsupportedOpError as exc:
        raise UnsupportedOpError(f"QONNX Trunc node {ctx.label(node)}: {exc}") from None
    q = requantize(ctx, node, x, scale, 0.0, int_t, (True, False, "ROUND", wide))
    name = ctx.name(node)
    op = ops.Quant(dtype=str(second_t), scale=2.0 ** e, zero_point=0.0, bit_width=bits, signed=q_signed,
                   narrow=q_narrow, rounding_mode=mode)
    r = ctx.graph.add(op, [q.node], name=name + "_trunc", source_name=name)
    return dequantize(ctx, node, x.with_node(r.name), out_scale / 2.0 ** e, 0.0)


def _force_exact(ss) -> None:
    """Declare the exact types of a (de/re)quantizing ScaleShift's constants (the file's own values)."""
    for role, key in ((Role.WEIGHT, "scale"), (Role.BIAS, "shift")):
        ss.annotations.force(role, exact_type(ss.weights[key], signed=True))


def _channels(ctx, x: Tensor) -> int:
    shape = ctx.graph.nodes[x.node].shape
    return int(shape[-1]) if shape else 1


def requantize(ctx, node, x: Tensor, scale: float, zero_point: float, int_t, quant: tuple) -> Tensor:
    """x -> ScaleShift(1/scale, zero_point) -> Quant(int_t): the integer q of a non-power-of-two quantizer.

    q = cast(x * M + z, int_t) with M = 1/scale rounded to float64 (the precision pass may round it
    further, `quant_rules.requant_weight_type`): equal to round(x / scale) + z except near rounding ties
    (see docs/semantics.md, "Requantization"). `quant` = (signed, narrow, rounding mode, bit width).
    """
    signed, narrow, mode, bits = quant
    c = _channels(ctx, x)
    name = ctx.name(node)
    lo, hi = int_range(bits, signed, narrow)
    ss = ctx.graph.add(ops.ScaleShift(), [x.node], name=name + "_requant", source_name=name,
                       weights={"scale": np.full(c, ratio(1.0, scale)), "shift": np.full(c, zero_point)})
    ss.annotations.keep_separate = "it requantizes to an integer tensor (non-power-of-two scale)"
    ss.annotations.requant = Requant(scale, zero_point, lo, hi)
    _force_exact(ss)
    op = ops.Quant(dtype=str(int_t), scale=1.0, zero_point=0.0, bit_width=bits, signed=signed,
                   narrow=narrow, rounding_mode=mode)
    q = ctx.graph.add(op, [ss.name], name=name + "_int", source_name=name)
    return x.with_node(q.name)


def dequantize(ctx, node, q: Tensor, scale: float, zero_point: float) -> Tensor:
    """q -> ScaleShift(scale, -scale * zero_point): exact for float32 scales (kept exact, carried later)."""
    c = _channels(ctx, q)
    name = ctx.name(node)
    ss = ctx.graph.add(ops.ScaleShift(), [q.node], name=name + "_dequant", source_name=name,
                       weights={"scale": np.full(c, scale), "shift": np.full(c, -scale * zero_point)})
    ss.annotations.keep_separate = "it dequantizes an integer tensor (carried into the next layer when possible)"
    ss.annotations.dequant = Dequant(scale, zero_point)
    ss.annotations.exact_result = True
    _force_exact(ss)
    return q.with_node(ss.name)


def _matching_scales(values: np.ndarray, remembered: list) -> np.ndarray | None:
    flat = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    for r, scales in remembered:
        if r.shape == flat.shape and np.array_equal(r, flat):
            return scales
    return None


def declare_weight_quantizers(graph: Graph, remembered: list) -> None:
    """Annotate every Dense/Conv whose kernel holds exactly the values of a constant quantizer (in any
    order: layout permutations and transposes keep the multiset) with that quantizer's scales
    (`annotations.weight_quantizer`, acted on by the exact_weight_types pass)."""
    if not remembered:
        return
    for node in graph.nodes.values():
        if not isinstance(node.op, (ops.Dense, ops.Conv)):
            continue
        scales = _matching_scales(node.weights["kernel"], remembered)
        if scales is not None:
            node.annotations.weight_quantizer = WeightQuantizer("qonnx", tuple(float(a) for a in scales.tolist()))
