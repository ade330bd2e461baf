"""exact_weight_types: Dense/Conv weights the source declared quantized keep their exact values.

A frontend marks a Dense/Conv whose weights come from a quantizer (`annotations.weight_quantizer`);
this pass, first in the pipeline, acts on it. Rules per source:

- 'qonnx' (a QONNX quantizer on a constant): the weight is its exact quantized float values. When
  every declared scale is a power of two, the kernel and the bias get forced types T (the narrowest
  type holding every value exactly, `ir.quant.exact_type`), so the precision pass rounds neither. Other
  scales are factored out per output (`weight_scales.factor_scale`, a_o one of the declared scales)
  so the layer keeps integer weights, when every column is such an a_o times integers.
- 'qkeras' (a QKeras kernel quantizer): the kernel's exact type when it has at most
  EXACT_WIDTH_LIMIT bits, else a non-power-of-two scale found by `weight_scales.small_integer_scales`
  is factored out; the bias's exact type only when the layer declares a bias quantizer.
- 'hgq' (an HGQ proxy model: weights stored on their quantized grid): kernel and bias exact types of
  at most EXACT_WIDTH_LIMIT bits.

Every annotated layer is marked `quantized_weights` (fold_batchnorm then keeps batch norms out of
it; HGQ: only when a type was forced). Nothing here changes a value: factoring is exact.
"""
from __future__ import annotations

import numpy as np

from nn2hls.ir import ops
from nn2hls.ir.annotations import Role
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.quant import exact_type, pow2_exponent
from nn2hls.passes.base import PassContext, PassResult
from nn2hls.passes.weight_scales import factor_scale, quantizer_output_scales, small_integer_scales

EXACT_WIDTH_LIMIT = 40
"""Widest exact kernel/bias type forced for a QKeras or HGQ layer: wider exact types mean the values are
not on one small grid (QKeras: a scale is factored out instead)."""
_WHY = "it applies a quantizer's per-output scale once (integer weights)"


def _qonnx(graph: Graph, node: Node, scales: np.ndarray) -> str:
    node.annotations.quantized_weights = True
    if not all(pow2_exponent(a) is not None for a in scales.tolist()):
        a = quantizer_output_scales(node.weights["kernel"], scales)
        if a is not None and exact_type(a, signed=True) is not None:
            scale = factor_scale(graph, node, a, _WHY)
            return f"{node.label()}: integer weights, the quantizer's scales in {scale.name}"
    weight_t = exact_type(node.weights["kernel"], signed=True)
    if weight_t is None:
        return f"{node.label()}: kept (its quantized weights have no exact fixed-point type)"
    forced = {Role.WEIGHT: weight_t}
    if "bias" in node.weights:
        bias_t = exact_type(node.weights["bias"], signed=True)
        if bias_t is not None:
            forced[Role.BIAS] = bias_t
    node.annotations.forced_precision = forced
    return f"{node.label()}: exact weight type {weight_t}"


def _qkeras(graph: Graph, node: Node, quantized_bias: bool) -> str:
    node.annotations.quantized_weights = True
    kernel = node.weights["kernel"]
    weight_t = exact_type(kernel, signed=True)
    if weight_t is None or weight_t.width > EXACT_WIDTH_LIMIT:
        a = small_integer_scales(kernel)
        if a is not None and exact_type(a, signed=True) is not None:
            scale = factor_scale(graph, node, a, _WHY)
            return f"{node.label()}: integer weights, the quantizer's scales in {scale.name}"
        return f"{node.label()}: kept (no exact type of at most {EXACT_WIDTH_LIMIT} bits, no integer factoring)"
    forced = {Role.WEIGHT: weight_t}
    if quantized_bias and "bias" in node.weights:
        bias_t = exact_type(node.weights["bias"], signed=True)
        if bias_t is not None and bias_t.width <= EXACT_WIDTH_LIMIT:
            forced[Role.BIAS] = bias_t
    node.annotations.forced_precision = forced
    return f"{node.label()}: exact weight type {weight_t}"


def _hgq(node: Node) -> str:
    forced = {}
    for role, key in ((Role.WEIGHT, "kernel"), (Role.BIAS, "bias")):
        if key in node.weights:
            t = exact_type(node.weights[key], signed=True)
            if t is not None and t.width <= EXACT_WIDTH_LIMIT:
                forced[role] = t
    if not forced:
        return f"{node.label()}: kept (no exact type of at most {EXACT_WIDTH_LIMIT} bits)"
    node.annotations.forced_precision = forced
    node.annotations.quantized_weights = True
    return f"{node.label()}: exact types " + ", ".join(f"{r}={t}" for r, t in forced.items())


class ExactWeightTypes:
    name = "exact_weight_types"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes: list[str] = []
        for node in list(graph.nodes.values()):
            declared = node.annotations.weight_quantizer
            if declared is None or not isinstance(node.op, (ops.Dense, ops.Conv)) or node.annotations.factored_scale:
                continue
            if declared.source == "qonnx":
                notes.append(_qonnx(graph, node, np.asarray(declared.scales, dtype=np.float64)))
            elif declared.source == "qkeras":
                notes.append(_qkeras(graph, node, declared.quantized_bias))
            else:
                notes.append(_hgq(node))
        return PassResult(bool(notes), notes)
