"""fold_into_quantizer: a chain of scale/shifts feeding a quantizer becomes one, with exact thresholds.

Pattern (per channel = last axis; every node read only by the next):

    S_1 -> ... -> S_n -> [relu | clip(low, inf)] -> [requant ScaleShift(1/s1, z1)] -> Quant

where the S_i are ScaleShifts (a lowered BatchNorm, a quantizer's factored weight scale, a carried
dequantization scale, a requantization already merged by the frontend). Composition is exact in
rationals: S_n(...S_1(x)) = x * K + B with K = prod a_i, B folded likewise; the requantization
contributes its exact 1/s1 and z1 (not the rounded constant), a relu before it becomes clip(z1, inf)
after it (relu(v) / s1 + z1 == max(v / s1 + z1, z1), s1 > 0). The chain collapses into S_1, which
remembers K, B and the quantizer's definition in `annotations.quant_affine`; assign_precision, which knows
the input type, then picks constants K', B' that provably give every quantized value of the exact
definition (`quant_thresholds`). So a BatchNorm in front of a low-bit quantizer is folded into the
quantizer's integer thresholds: no value flips, and no intermediate scale/shift carries ever wider
exact types (a 3-bit layer asked for a 131-bit accumulator that way).

A bipolar (sign) quantizer is a quantizer too: `Quant <- sign ScaleShift (annotations.bipolar_sign) <- S_n
... S_1`; the chain is composed the same way and remembered with the definition `{"bipolar": True}`
(L(v) = +1 if v >= 0 else -1: one threshold per channel, the chain's zero crossing), while the sign
node stays (it turns the head's exact `x * K' + B'` into +-1, `quant_rules.bipolar_sign`).

A chain reading the model input is folded only into a bipolar quantizer: then the head is marked
`reads_input` and the input type is chosen so that its cast cannot move an input across a threshold
(`quant_rules.threshold_input_type`). An IntQuant requantizer reading the input keeps its documented
input type and error bound (a rounded input on a grid finer than the scale has exact ties,
docs/semantics.md). Not folded either: scales that vary along other axes than the channel.
A single scale/shift is folded too: its constants become the narrowest that provably keep every
quantized value (a requantization merged by the frontend had 53-bit constants and an error bound).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from nn2hls.ir import ops
from nn2hls.ir.annotations import QuantAffine
from nn2hls.ir.graph import Graph, Node
from nn2hls.passes.base import PassContext, PassResult, per_last_axis, sole_reader


def _per_channel(node: Node, key: str) -> np.ndarray | None:
    return per_last_axis(node.weights[key], node.shape)


def _foldable(graph: Graph, node: Node) -> bool:
    return (isinstance(node.op, ops.ScaleShift) and not node.annotations.bipolar_sign
            and node.annotations.quant_affine is None and sole_reader(graph, node.name) is not None
            and node.name not in graph.outputs and node.shape != ()
            and _per_channel(node, "scale") is not None and _per_channel(node, "shift") is not None)


def _exact_affine(node: Node) -> tuple[list[Fraction], list[Fraction]]:
    """(scale, shift) of one ScaleShift as exact rationals (a requantizer: its exact 1/s1 and z1)."""
    c = node.shape[-1]
    ann = node.annotations
    if ann.exact_affine is not None:
        k, b = ann.exact_affine.scale, ann.exact_affine.shift
        return [Fraction(v) for v in k[-c:]], [Fraction(v) for v in b[-c:]]
    if ann.requant is not None:
        rq = ann.requant
        return [1 / Fraction(rq.scale)] * c, [Fraction(rq.zero_point)] * c
    a, d = _per_channel(node, "scale"), _per_channel(node, "shift")
    return [Fraction(float(v)) for v in a], [Fraction(float(v)) for v in d]


def _bipolar_sign(graph: Graph, quant: Node) -> Node | None:
    """The sign node of a bipolar quantizer `quant` (frontends.onnx_quant.bipolar_activation), or None."""
    sign = graph.nodes[quant.inputs[0]]
    if sign.annotations.bipolar_sign and sole_reader(graph, sign.name) is not None:
        return sign
    return None


def _match(graph: Graph, quant: Node) -> tuple[list[Node], Node | None, Node | None] | None:
    """(chain S_1..S_n, relu/clip node or None, requant node or None) ending at `quant`, or None."""
    sign = _bipolar_sign(graph, quant)
    cur = graph.nodes[(sign or quant).inputs[0]]
    requant = post = None
    if _foldable(graph, cur) and cur.annotations.requant is not None:
        requant, cur = cur, graph.nodes[cur.inputs[0]]
    if (isinstance(cur.op, ops.Activation) and sole_reader(graph, cur.name) is not None
            and (cur.op.function == "relu" or (cur.op.function == "clip" and cur.op.high == float("inf")))):
        post, cur = cur, graph.nodes[cur.inputs[0]]
    chain: list[Node] = []
    while _foldable(graph, cur):
        chain.insert(0, cur)
        cur = graph.nodes[cur.inputs[0]]
    if isinstance(cur.op, ops.Input) and (sign is None or requant is not None):
        return None
    if post is None and requant is not None:
        chain.append(requant)
        requant = None
    if not chain:
        return None
    return chain, post, requant


class FoldIntoQuantizer:
    name = "fold_into_quantizer"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes: list[str] = []
        for quant in list(graph.topological()):
            if quant.name not in graph.nodes or not isinstance(quant.op, ops.Quant):
                continue
            found = _match(graph, quant)
            if found is None:
                continue
            chain, post, requant = found
            notes.append(self._fold(graph, quant, chain, post, requant))
        return PassResult(bool(notes), notes)

    def _fold(self, graph: Graph, quant: Node, chain: list[Node], post: Node | None, requant: Node | None) -> str:
        head = chain[0]
        c = head.shape[-1]
        k, b = [Fraction(1)] * c, [Fraction(0)] * c
        for node in chain:
            a, d = _exact_affine(node)
            k = [ki * ai for ki, ai in zip(k, a)]
            b = [bi * ai + di for bi, ai, di in zip(b, a, d)]
        post_low = None
        if post is not None:
            post_low = Fraction(0) if post.op.function == "relu" else Fraction(post.op.low)
        if requant is not None:
            m, z = _exact_affine(requant)
            k = [ki * mi for ki, mi in zip(k, m)]
            b = [bi * mi + zi for bi, mi, zi in zip(b, m, z)]
            post_low = post_low * m[0] + z[0]
            post.op = ops.Activation(function="clip", low=float(post_low), high=float("inf"))
        q = quant.op
        low = None if post_low is None else str(post_low)
        if _bipolar_sign(graph, quant) is not None:
            definition = {"bipolar": True, "post_low": low}
        else:
            definition = {"scale": q.scale, "bit_width": q.bit_width, "signed": q.signed, "narrow": q.narrow,
                          "rounding_mode": q.rounding_mode, "post_low": low}
        ann = head.annotations
        ann.quant_affine = QuantAffine(tuple(str(v) for v in k), tuple(str(v) for v in b), definition,
                                       isinstance(graph.nodes[head.inputs[0]].op, ops.Input))
        head.weights["scale"] = np.array([float(v) for v in k])
        head.weights["shift"] = np.array([float(v) for v in b])
        ann.exact_result, ann.dequant, ann.exact_affine = False, None, None
        ann.forced_precision = {}
        ann.keep_separate = "it applies the scale/shift folded into a quantizer's thresholds"
        last = requant or chain[-1]
        if last.annotations.requant is not None:
            ann.requant = last.annotations.requant
        folded = [n.label() for n in chain[1:]] + ([requant.label()] if requant is not None else [])
        for node in chain[1:] + ([requant] if requant is not None else []):
            graph.bypass(node.name)
        ann.folded = ann.folded + folded
        what = ", ".join([head.label()] + folded)
        return f"folded {what} into the thresholds of quantizer {quant.label()}"
