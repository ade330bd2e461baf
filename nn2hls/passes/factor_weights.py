"""factor_weights: ternary and binary float weights become +-1 integer weights and one scale per output.

Rule, per Dense/Conv and per output channel o (last kernel axis): when the nonzero weights of the
column take exactly two values -a_o and +a_o (or one of them), compared by exact float equality, then

    sum_i x_i * w_io + b_o  ==  (sum_i x_i * q_io) * a_o + b_o        q_io = w_io / a_o in {-1, 0, +1}

exactly. The layer is rewritten (`weight_scales.factor_scale`, the same rewrite as the
float-scale QONNX path of exact_weight_types) to Dense/Conv(q) followed by a ScaleShift(a, b) kept separate: the weights
need adds and subtracts only, and each output pays one product. A column without nonzero weights gets
a_o = 1. The layer is left alone when any column has more than one magnitude, or when every a_o is
already a power of two (then the weights are shifts and factoring saves nothing).

Types: the integer kernel is forced to its exact type and the layer's accumulator result is kept exact
(`annotations.exact_result`), so the only rounding is the ScaleShift's own, as the original layer's. When
the layer's result feeds quantizers only (a quantized model whose weights were rescaled, e.g. binary
weights with a batch norm folded in), the scale keeps its exact type too, so nothing rounds before the
quantizer (a scale or shift array needing more than 53 bits, e.g. products of doubles from a folded
batch norm, is rounded once onto a common grid of 52 significant bits, `ir.quant.ratios`: error at
most max|value| * 2^-52); otherwise the precision pass chooses
the scale's type like any weight's.

Placed after the folding passes (batch norms and scale-shifts already in the weights) and pruning,
before assign_precision. Layers already factored (`annotations.factored_scale`) are skipped.
"""
from __future__ import annotations

import numpy as np

from nn2hls.ir.annotations import Role
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Conv, Dense
from nn2hls.ir.quant import CONSTANT_BITS, exact_type, pow2_exponent, ratios
from nn2hls.passes import quant_rules
from nn2hls.passes.base import PassContext, PassResult
from nn2hls.passes.weight_scales import factor_scale


def column_scales(kernel: np.ndarray) -> np.ndarray | None:
    """Per output channel (last axis) the magnitude a_o of a {-a_o, 0, +a_o} column, or None."""
    columns = np.asarray(kernel, dtype=np.float64).reshape(-1, kernel.shape[-1])
    out = np.ones(columns.shape[1])
    for o in range(columns.shape[1]):
        mags = np.unique(np.abs(columns[:, o][columns[:, o] != 0]))
        if mags.size > 1 or not np.all(np.isfinite(mags)):
            return None
        if mags.size == 1:
            out[o] = mags[0]
    return out


def _check(node: Node) -> tuple[np.ndarray | None, str]:
    if node.annotations.factored_scale:
        return None, "its scale is already factored out"
    a = column_scales(node.weights["kernel"])
    if a is None:
        return None, "some output has more than one nonzero weight magnitude"
    if all(pow2_exponent(v) is not None for v in a.tolist()):
        return None, "its weights are already 0 or signed powers of two (shifts)"
    return a, ""


def factor_layer(graph: Graph, node: Node, a: np.ndarray) -> str:
    """Rewrite `node` as integer weights and a per-output ScaleShift(a, bias); returns its name."""
    scale_node = factor_scale(graph, node, a,
                              "it applies the common magnitude of ternary/binary weights once per output")
    if not quant_rules.feeds_quant(graph, scale_node.name):
        scale_node.annotations.forced_precision = {}
        scale_node.annotations.exact_result = False
    else:
        for role, key in ((Role.WEIGHT, "scale"), (Role.BIAS, "shift")):
            t = exact_type(scale_node.weights[key], signed=True)
            if t is None or t.width > CONSTANT_BITS + 1:
                # doubles of different magnitudes (a folded batch norm) may need more bits than a C++
                # literal holds: round once onto a common grid of 52 significant bits
                scale_node.weights[key] = ratios(scale_node.weights[key], 1.0)
                scale_node.annotations.force(role, exact_type(scale_node.weights[key], signed=True))
    node.annotations.multiplier_free = True
    return scale_node.name


class FactorWeights:
    name = "factor_weights"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes: list[str] = []
        changed = False
        for node in list(graph.topological()):
            if not isinstance(node.op, (Dense, Conv)):
                continue
            a, reason = _check(node)
            if a is None:
                notes.append(f"{node.name}: kept ({reason})")
                continue
            name = factor_layer(graph, node, a)
            nonzero = int(np.count_nonzero(node.weights["kernel"]))
            notes.append(f"{node.name}: {nonzero} weights are now +-1; one scale per output in {name}")
            changed = True
        return PassResult(changed, notes)
