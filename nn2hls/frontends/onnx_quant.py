"""QONNX quantizers in the ONNX frontend: IntQuant/Quant and BipolarQuant (nn2hls.ir.quant semantics).

Rules:
- Domains `qonnx.custom_op.general`, its Brevitas alias `onnx.brevitas` and the older
  `finn.custom_op.general`; op types `Quant`, `IntQuant`, `BipolarQuant`.
- A quantizer whose data input is a constant (a weight initializer, after folding) is evaluated at
  import time by its float definition, so the weight becomes its exact quantized float values
  (scale, zero point and bit width may be per tensor or per channel, any positive scale). The values
  are remembered; after the import `apply_weight_types` gives every Dense/Conv whose kernel holds
  exactly those values (in any order: layout permutations and transposes do not change the multiset)
  `node.meta['forced_precision'] = {'weight': T, 'bias': B}` where T is the narrowest type holding
  every kernel value exactly (`nn2hls.ir.quant.exact_type`) and B likewise for the bias, so the
  precision pass neither rounds the weights nor the bias.
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
from nn2hls.ir.graph import Graph
from nn2hls.ir.quant import (bipolar_quant, exact_type, fixed_type_for, int_quant, int_range, pow2_exponent,
                             ratio, trunc_v1, trunc_v2)

QONNX_DOMAINS: tuple[str, ...] = ("qonnx.custom_op.general", "onnx.brevitas", "finn.custom_op.general")
QONNX_OPS: tuple[str, ...] = ("Quant", "IntQuant", "BipolarQuant", "Trunc")
_META_KEY = "_quantized_constants"


def _constant(ctx, node, inputs: list, index: int, what: str) -> np.ndarray:
    value = inputs[index] if index < len(inputs) else None
    if value is None or isinstance(value, Tensor):
        raise UnsupportedOpError(f"QONNX {node.op_type} node {ctx.label(node)}: {what} (input {index}) must be "
                                 f"a constant; a computed {what} is not supported")
    return np.asarray(value, dtype=np.float64)


def _int_attr(attrs: dict, name: str, default: int) -> bool:
    return bool(int(attrs.get(name, default)))


def remember(ctx, values: np.ndarray, scale: np.ndarray) -> None:
    sorted_values = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    scales = np.unique(np.asarray(scale, dtype=np.float64).reshape(-1))
    ctx.graph.meta.setdefault(_META_KEY, []).append((sorted_values, scales))


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
    sign.meta["keep_separate"] = "it computes the sign of a bipolar quantizer's input"
    sign.meta["bipolar_sign"] = True
    sign.meta["exact_result"] = True
    op = ops.Quant(dtype=str(fixed_type_for(0, 2, True, True, "FLOOR")), scale=1.0, zero_point=0.0, bit_width=2,
                   signed=True, narrow=True, rounding_mode="FLOOR")
    q = ctx.graph.add(op, [sign.name], name=name + "_int", source_name=name)
    ss = ctx.graph.add(ops.ScaleShift(), [q.name], name=name + "_dequant", source_name=name,
                       weights={"scale": np.array(flat, dtype=np.float64), "shift": np.zeros(c)})
    ss.meta["keep_separate"] = "it dequantizes a bipolar tensor (carried into the next layer when possible)"
    ss.meta["dequant"] = {"scale": float(flat[0]), "zero_point": 0.0}
    ss.meta["exact_result"] = True
    ss.meta["forced_precision"] = {"weight": exact_type(ss.weights["scale"], signed=True),
                                   "bias": exact_type(ss.weights["shift"], signed=True)}
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
    ss.meta["keep_separate"] = "it requantizes to an integer tensor (non-power-of-two scale)"
    ss.meta["requant"] = {"scale": scale, "zero_point": zero_point, "lo": lo, "hi": hi}
    ss.meta["forced_precision"] = {"weight": exact_type(ss.weights["scale"], signed=True),
                                   "bias": exact_type(ss.weights["shift"], signed=True)}
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
    ss.meta["keep_separate"] = "it dequantizes an integer tensor (carried into the next layer when possible)"
    ss.meta["dequant"] = {"scale": scale, "zero_point": zero_point}
    ss.meta["exact_result"] = True
    ss.meta["forced_precision"] = {"weight": exact_type(ss.weights["scale"], signed=True),
                                   "bias": exact_type(ss.weights["shift"], signed=True)}
    return q.with_node(ss.name)


def _matching_scales(values: np.ndarray, remembered: list) -> np.ndarray | None:
    flat = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    for r, scales in remembered:
        if r.shape == flat.shape and np.array_equal(r, flat):
            return scales
    return None


def _output_scales(kernel: np.ndarray, scales: np.ndarray) -> np.ndarray | None:
    """Per output channel (last axis) a scale a_o with kernel[..., o] / a_o exact integers, or None."""
    columns = kernel.reshape(-1, kernel.shape[-1])
    out = np.ones(columns.shape[1])
    for o in range(columns.shape[1]):
        col = columns[:, o][columns[:, o] != 0]
        for a in scales.tolist():
            q = col / a
            if np.array_equal(q, np.round(q)) and np.array_equal(q * a, col):
                out[o] = a
                break
        else:
            if col.size:
                return None
    return out


def _factor_scale(graph: Graph, node, a: np.ndarray) -> None:
    """Dense/Conv(W, b) -> Dense/Conv(W / a) then ScaleShift(scale a, shift b), per output channel.

    (x @ (q * a)) + b == (x @ q) * a + b exactly: the integer (ternary, binary, low-bit) weights q
    need adders or narrow products only, and the scale costs one product per output.
    """
    kernel = node.weights["kernel"]
    bias = node.weights.pop("bias", np.zeros(kernel.shape[-1]))
    node.weights["kernel"] = kernel / a
    scale_node = graph.add(ops.ScaleShift(), [node.name], name=node.name + "_scale",
                           weights={"scale": a, "shift": bias}, source_name=node.source_name)
    graph.replace_uses(node.name, scale_node.name)
    scale_node.inputs = (node.name,)
    node.meta["forced_precision"] = {"weight": exact_type(node.weights["kernel"], signed=True)}
    forced = {"weight": exact_type(a, signed=True)}
    shift_t = exact_type(bias, signed=True)
    if shift_t is not None:
        forced["bias"] = shift_t
    scale_node.meta["forced_precision"] = forced
    scale_node.meta["keep_separate"] = "it applies a quantizer's per-output scale once (integer weights)"
    node.meta["factored_scale"] = scale_node.name
    node.meta["exact_result"] = scale_node.meta["exact_result"] = True  # no rounding between the two


def apply_weight_types(graph: Graph) -> None:
    """Force exact weight/bias types on Dense/Conv nodes whose kernel came from a QONNX quantizer.

    When the quantizer's scales are not powers of two, the scale is factored out per output
    (`_factor_scale`) so the layer keeps integer weights.
    """
    remembered = graph.meta.pop(_META_KEY, [])
    if remembered:
        _apply_weight_types(graph, remembered)
    from nn2hls.frontends.quant_carry import carry_scales
    carry_scales(graph)


def _apply_weight_types(graph: Graph, remembered: list) -> None:
    for node in list(graph.nodes.values()):
        if not isinstance(node.op, (ops.Dense, ops.Conv)):
            continue
        scales = _matching_scales(node.weights["kernel"], remembered)
        if scales is None:
            continue
        node.meta["quantized_weights"] = True
        if not all(pow2_exponent(a) is not None for a in scales.tolist()):
            a = _output_scales(node.weights["kernel"], scales)
            if a is not None and exact_type(a, signed=True) is not None:
                _factor_scale(graph, node, a)
                continue
        weight_t = exact_type(node.weights["kernel"], signed=True)
        if weight_t is None:
            continue
        forced = {"weight": weight_t}
        if "bias" in node.weights:
            bias_t = exact_type(node.weights["bias"], signed=True)
            if bias_t is not None:
                forced["bias"] = bias_t
        node.meta["forced_precision"] = forced
