"""carry_scales: carry dequantization scales into the next layer and merge them into the next requantization.

A quantized tensor reaches the IR as an integer tensor q followed by a dequantizing
ScaleShift(s, -s*z) (`annotations.dequant`, made by `frontends.onnx_quant.dequantize`); a quantizer on a non-power-of-two scale is a
requantizing ScaleShift(1/s1, z1) then an integer cast (`annotations.requant`). Two rewrites make the
layers integer-only with one requantization multiply per output:

1. carry (exact): a dequant ScaleShift whose sole reader is a Dense, or a Conv without padding (or with
   zero point 0), possibly through Reshape/Transpose wiring (its scale and shift are one scalar each),
   moves after the layer:

       W @ (s*(q - z)) + b  ==  s * (W @ q - z * colsum(W)) + b

   so the layer reads q, gets the integer bias -z*colsum(W), and the layer's per-output ScaleShift
   (the factored weight scale a, `weight_scales.factor_scale`, by exact_weight_types) becomes (s*a, b) - the product of two
   float32 values, exact in float64; without one, a new ScaleShift(s, b) is added. Everything stays
   exact: the emulator values do not change at all.
2. merge (requantization): ScaleShift(K0, b) -> [Relu] -> requant ScaleShift(1/s1, z1) becomes

       ScaleShift(K0 / s1, b / s1 + z1) -> [clip(z1, inf)]

   (relu(v) / s1 + z1 == max(v / s1 + z1, z1) because s1 > 0). K0/s1 and b/s1 + z1 are rounded once
   from their exact values to a 53-bit signed grid per array (`ir.quant.ratios`: error at most
   max|K|*2^-52 per constant), so the merged value differs from the exact y/s1 + z1 by at most
   |acc|*max|K|*2^-52 + max|B|*2^-52; the integer cast that follows rounds as the float definition
   except when y/s1 lies that close to a rounding tie (docs/semantics.md, Requantization).

Runs right after exact_weight_types, before every other pass (the folding passes see integer layers).
"""
from __future__ import annotations

import numpy as np

from fractions import Fraction

from nn2hls.ir import ops
from nn2hls.ir.annotations import ExactAffine, Role
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.quant import exact_type, ratios
from nn2hls.passes.base import PassContext, PassResult, sole_reader


def _scalar(values: np.ndarray) -> float | None:
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return float(flat[0]) if flat.size and np.all(flat == flat[0]) else None


def _layer_after(graph: Graph, node: Node) -> Node | None:
    reader = sole_reader(graph, node.name)
    while reader is not None and isinstance(reader.op, (ops.Reshape, ops.Transpose)):
        reader = sole_reader(graph, reader.name)
    return reader if reader is not None and isinstance(reader.op, (ops.Dense, ops.Conv)) else None


def _force(node: Node, role: Role, values: np.ndarray) -> None:
    node.annotations.force(role, exact_type(values, signed=True))


def _carry(graph: Graph, dq: Node) -> bool:
    s, t = _scalar(dq.weights["scale"]), _scalar(dq.weights["shift"])
    layer = _layer_after(graph, dq)
    if s is None or t is None or layer is None:
        return False
    z = -t / s if s else 0.0
    if isinstance(layer.op, ops.Conv) and z != 0 and any(p != (0, 0) for p in layer.op.pads):
        return False  # padded taps see 0, not s*(z - z): the zero point cannot move
    kernel = layer.weights["kernel"]
    colsum = kernel.reshape(-1, kernel.shape[-1]).sum(axis=0)
    old_bias = layer.weights.pop("bias", np.zeros(kernel.shape[-1]))
    graph.bypass(dq.name)
    if z != 0:
        layer.weights["bias"] = -z * colsum
        _force(layer, Role.BIAS, layer.weights["bias"])
    else:
        layer.annotations.force(Role.BIAS, None)
    scale_name = layer.annotations.factored_scale
    if scale_name in graph.nodes:
        after = graph.nodes[scale_name]
        a = after.weights["scale"]
        # (W @ (s*(q - z)) + b_old) * a + shift == (W @ q - z*colsum) * (s*a) + (b_old*a + shift)
        after.weights["shift"] = after.weights["shift"] + old_bias * a
        after.weights["scale"] = a * s
    else:
        after = graph.add(ops.ScaleShift(), [layer.name], name=layer.name + "_scale",
                          weights={"scale": np.full(kernel.shape[-1], s), "shift": old_bias},
                          source_name=layer.source_name)
        graph.replace_uses(layer.name, after.name)
        after.inputs = (layer.name,)
        after.annotations.keep_separate = "it applies the input's dequantization scale once per output"
        layer.annotations.factored_scale = after.name
    _force(after, Role.WEIGHT, after.weights["scale"])
    _force(after, Role.BIAS, after.weights["shift"])
    layer.annotations.exact_result = after.annotations.exact_result = True
    layer.annotations.integer_input = True
    return True


def _merge(graph: Graph, first: Node) -> bool:
    reader = sole_reader(graph, first.name)
    relu = None
    if reader is not None and isinstance(reader.op, ops.Activation) and reader.op.function == "relu":
        relu, reader = reader, sole_reader(graph, reader.name)
    if reader is None or not isinstance(reader.op, ops.ScaleShift) or reader.annotations.requant is None:
        return False
    rq = reader.annotations.requant
    s1, z1 = rq.scale, rq.zero_point
    k0, b = first.weights["scale"], first.weights["shift"]
    exact_k = [Fraction(float(v)) / Fraction(s1) for v in np.broadcast_to(k0, b.shape).reshape(-1)]
    exact_b = [Fraction(float(v)) / Fraction(s1) + Fraction(z1) for v in np.broadcast_to(b, k0.shape).reshape(-1)]
    first.annotations.exact_affine = ExactAffine(tuple(str(v) for v in exact_k), tuple(str(v) for v in exact_b))
    first.weights["scale"] = ratios(np.broadcast_to(k0, b.shape), s1)
    first.weights["shift"] = ratios(np.broadcast_to(b, k0.shape), s1, z1)
    first.annotations.requant = rq
    first.annotations.exact_result = False
    first.annotations.keep_separate = "it requantizes the exact integer accumulator (one multiply per output)"
    _force(first, Role.WEIGHT, first.weights["scale"])
    _force(first, Role.BIAS, first.weights["shift"])
    graph.bypass(reader.name)
    if relu is not None and z1 != 0:
        relu.op = ops.Activation(function="clip", low=float(z1), high=float("inf"))
    return True


def carry_scales(graph: Graph) -> list[str]:
    """Apply carry then merge (module docstring) until nothing changes; one note per rewrite.

    Each sweep rewrites at least one node away or marks one (carry bypasses a dequant node, merge a
    requant node), so the loops end after at most as many sweeps as the graph has nodes."""
    notes: list[str] = []
    changed = True
    while changed:
        changed = False
        for node in list(graph.nodes.values()):
            if (node.name in graph.nodes and isinstance(node.op, ops.ScaleShift)
                    and node.annotations.dequant is not None):
                label = node.label()
                if _carry(graph, node):
                    changed = True
                    notes.append(f"carried dequantization {label} past the next layer")
    changed = True
    while changed:
        changed = False
        for node in list(graph.nodes.values()):
            if (node.name in graph.nodes and isinstance(node.op, ops.ScaleShift)
                    and node.annotations.exact_result and node.annotations.requant is None):
                if _merge(graph, node):
                    changed = True
                    notes.append(f"merged the next requantization into {node.label()}")
    return notes


class CarryScales:
    name = "carry_scales"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes = carry_scales(graph)
        return PassResult(bool(notes), notes)
