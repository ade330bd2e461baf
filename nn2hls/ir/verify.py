"""Check an IR graph's consistency; every failure names the offending node.

Rules: at least one Input node; every input of a node exists; no cycles; the op's arity and attributes
are valid and the stored shape equals the shape the op infers from its inputs and weights; weights are
finite; at least one output, each an existing node; every node contributes to an output (no dangling
values); with `typed=True`, every node has a 'result' type, every Dense/Conv 'weight' and 'accum'
types, every Embedding a 'weight' type.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import GraphError
from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import Conv, Dense, Embedding


def verify(graph: Graph, *, typed: bool = False) -> None:
    """Raise GraphError naming the first inconsistent node; return None when the graph is sound."""
    if not graph.inputs:
        raise GraphError(f"graph '{graph.name}' has no Input node")
    if not graph.outputs:
        raise GraphError(f"graph '{graph.name}' has no outputs")
    for out in graph.outputs:
        if out not in graph.nodes:
            raise GraphError(f"graph output '{out}' is not a node")
    order = graph.topological()
    for node in order:
        arity = node.op.n_inputs
        if arity is not None and len(node.inputs) != arity:
            raise GraphError(f"node {node.label()}: {node.op.kind} takes {arity} inputs, has {len(node.inputs)}")
        if arity is None and not node.inputs:
            raise GraphError(f"node {node.label()}: {node.op.kind} needs at least one input")
        for producer in node.inputs:
            if producer not in graph.nodes:
                raise GraphError(f"node {node.label()} reads missing value '{producer}'")
        for key, value in node.weights.items():
            if not np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
                raise GraphError(f"node {node.label()}: weight '{key}' has NaN or infinite values")
        try:
            expected = node.op.output_shape([graph.nodes[i].shape for i in node.inputs], node.weights)
        except GraphError as exc:
            raise GraphError(f"node {node.label()}: {exc}") from None
        if tuple(expected) != tuple(node.shape):
            raise GraphError(f"node {node.label()}: stored shape {node.shape} but {node.op.kind} gives {expected}")
    reaching = set(graph.outputs)
    nxg = graph.to_networkx()
    import networkx as nx
    for out in graph.outputs:
        reaching |= nx.ancestors(nxg, out)
    for node in order:
        if node.name not in reaching:
            raise GraphError(f"node {node.label()} is dangling: no output depends on it")
    if typed:
        for node in order:
            if "result" not in node.precision:
                raise GraphError(f"node {node.label()} has no result type; run precision assignment")
            if isinstance(node.op, Embedding) and "weight" not in node.precision:
                raise GraphError(f"node {node.label()} has no weight type; run precision assignment")
            if isinstance(node.op, (Dense, Conv)):
                for role in ("weight", "accum"):
                    if role not in node.precision:
                        raise GraphError(f"node {node.label()} has no {role} type; run precision assignment")
