"""quantize_weights: replace every weight by its exactly representable quantized value.

Rule (docs/semantics.md, "Weights"): kernel -> to_float(quantize(kernel, weight)), bias ->
to_float(quantize(bias, bias)) for Dense/Conv; ScaleShift scale in `weight`, shift in `bias`; PReLU
slopes (Activation weight 'alpha') and Embedding tables in `weight`. The
values stay float64 arrays; their raw integers are value * 2**frac exactly. A kernel weight whose
quantized value is 0 is a pruned weight: node.annotations.pruning gets `quantized_zero` (weights that
were nonzero before and 0 now) and 'zeros' is updated. Requires a typed graph (run assign_precision
first). Idempotent: quantizing an already quantized weight changes nothing.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import GraphError
from nn2hls.ir import fixed
from nn2hls.ir.annotations import PruningStats
from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import Activation, Conv, Dense, Embedding, ScaleShift
from nn2hls.passes.base import PassContext, PassResult

_ROLES = {Dense: (("kernel", "weight"), ("bias", "bias")),
          Conv: (("kernel", "weight"), ("bias", "bias")),
          ScaleShift: (("scale", "weight"), ("shift", "bias")),
          Activation: (("alpha", "weight"),),
          Embedding: (("table", "weight"),)}


def quantize_graph_weights(graph: Graph) -> list[str]:
    """Quantize all weights in place; returns one note per layer whose weights changed."""
    notes = []
    for node in graph.topological():
        roles = _ROLES.get(type(node.op))
        if roles is None:
            continue
        changed = 0
        for key, role in roles:
            if key not in node.weights:
                continue
            if role not in node.precision:
                raise GraphError(f"node {node.label()} has no {role} type; run assign_precision first")
            t = node.precision[role]
            before = node.weights[key]
            after = np.asarray(fixed.to_float(fixed.quantize(before, t), t), dtype=np.float64)
            changed += int(np.count_nonzero(after != before))
            if key in ("kernel", "scale", "table"):
                new_zeros = int(np.count_nonzero((after == 0) & (before != 0)))
                if node.annotations.pruning is None:
                    node.annotations.pruning = PruningStats(int(before.size))
                stats = node.annotations.pruning
                stats.quantized_zero = (stats.quantized_zero or 0) + new_zeros
                stats.zeros = int(np.count_nonzero(after == 0))
            node.weights[key] = after
        if changed:
            zeros = node.annotations.pruning.zeros if node.annotations.pruning is not None else 0
            notes.append(f"{node.label()}: {changed} weights rounded; {zeros} kernel weights are 0")
    return notes


class QuantizeWeights:
    name = "quantize_weights"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes = quantize_graph_weights(graph)
        return PassResult(bool(notes), notes)
