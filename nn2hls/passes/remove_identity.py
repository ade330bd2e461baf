"""remove_identity: drop nodes that compute y = x, and collapse Reshape chains.

Rules (each exact, one rewrite per sweep, at most MAX_SWEEPS sweeps):
- Activation `linear` is removed (its readers read its input).
- A Reshape whose target shape equals its input's shape is removed.
- A Transpose whose perm is the identity is removed.
- A ScaleShift whose scale is all ones and shift all zeros is removed.
- Reshape -> Reshape: the outer Reshape reads the inner one's input directly (row-major reshapes
  compose); the inner one is removed once nothing reads it.
Identity and Dropout are dropped by the frontends already; they never reach the IR.
A removed node that was a graph output hands that role to its producer.
"""
from __future__ import annotations

import numpy as np

from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Activation, Reshape, ScaleShift, Transpose
from nn2hls.passes.base import PassContext, PassResult, rewrite_repeatedly


def _identity_reason(graph: Graph, node: Node) -> str | None:
    op = node.op
    if isinstance(op, Activation) and op.function == "linear":
        return "linear activation"
    if isinstance(op, Reshape) and tuple(graph.nodes[node.inputs[0]].shape) == tuple(op.shape):
        return "reshape to the same shape"
    if isinstance(op, Transpose) and tuple(op.perm) == tuple(range(len(op.perm))):
        return "identity transpose"
    if isinstance(op, ScaleShift) and np.all(node.weights["scale"] == 1) and np.all(node.weights["shift"] == 0):
        return "scale 1, shift 0"
    return None


def _one_rewrite(graph: Graph) -> str | None:
    for node in graph.topological():
        if not node.inputs:
            continue
        why = _identity_reason(graph, node)
        if why is not None:
            graph.bypass(node.name)
            return f"removed {node.label()}: {why}"
        if isinstance(node.op, Reshape):
            inner = graph.nodes[node.inputs[0]]
            if isinstance(inner.op, Reshape):
                node.inputs = (inner.inputs[0],)
                note = f"{node.label()} reads {inner.inputs[0]!r} directly (Reshape chain)"
                if not graph.consumers(inner.name) and inner.name not in graph.outputs:
                    graph.remove(inner.name)
                    note += f"; removed {inner.label()}"
                return note
    return None


class RemoveIdentity:
    name = "remove_identity"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        return rewrite_repeatedly(graph, _one_rewrite)
