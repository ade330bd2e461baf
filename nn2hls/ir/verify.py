"""Check an IR graph's consistency; every failure names the offending node.

Rules: at least one Input node; every input of a node exists; no cycles; the op's arity and attributes
are valid and the stored shape equals the shape the op infers from its inputs and weights; weights are
finite; at least one output, each an existing node; every node contributes to an output (no dangling
values); every precision role is a `Role` holding a FixedType; annotations are consistent with the
op (`check_annotations`); with `typed=True`, every node has a 'result' type, every Dense/Conv
'weight' and 'accum' types, every Embedding a 'weight' type.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import GraphError
from nn2hls.ir.annotations import ROLES, Role, WeightQuantizer
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Conv, Dense, Embedding, ScaleShift
from nn2hls.ir.types import FixedType

_LAYER_ONLY = ("weight_quantizer", "quantized_weights", "integer_input", "factored_scale", "multiplier_free")
"""Annotations that only a Dense/Conv may carry."""
_SCALESHIFT_ONLY = ("bipolar_sign", "dequant", "requant", "exact_affine", "quant_affine", "quant_affine_bits")
"""Annotations that only a ScaleShift may carry."""


def check_annotations(graph: Graph, node: Node) -> None:
    """GraphError naming `node` when a precision role or an annotation is ill-typed, out of range or
    does not fit the node's op."""
    def fail(what: str) -> GraphError:
        return GraphError(f"node {node.label()}: {what}")

    for role, t in node.precision.items():
        if role not in ROLES:
            raise fail(f"unknown precision role {role!r}; roles: {', '.join(sorted(ROLES))}")
        if not isinstance(t, FixedType):
            raise fail(f"precision role {role!r} holds {type(t).__name__}, not a fixed-point type")
    ann = node.annotations
    for role, t in ann.forced_precision.items():
        if not isinstance(role, Role) or not isinstance(t, FixedType):
            raise fail(f"forced precision {role!r}: {t!r} is not a Role and a fixed-point type")
    layer, scale_shift = isinstance(node.op, (Dense, Conv)), isinstance(node.op, ScaleShift)
    for name in ann.set_fields():
        if name in _LAYER_ONLY and not layer:
            raise fail(f"annotation '{name}' is for a Dense/Conv, not a {node.op.kind}")
        if name in _SCALESHIFT_ONLY and not scale_shift:
            raise fail(f"annotation '{name}' is for a ScaleShift, not a {node.op.kind}")
    if ann.factored_scale in graph.nodes and not isinstance(graph.nodes[ann.factored_scale].op, ScaleShift):
        raise fail(f"factored scale '{ann.factored_scale}' is not a ScaleShift")
    for name, q in (("dequant", ann.dequant), ("requant", ann.requant)):
        if q is not None and not (np.isfinite(q.scale) and q.scale > 0 and np.isfinite(q.zero_point)):
            raise fail(f"{name} scale {q.scale!r} must be positive and finite, zero point finite")
    if ann.requant is not None and ann.requant.lo > ann.requant.hi:
        raise fail(f"requant range [{ann.requant.lo}, {ann.requant.hi}] is empty")
    for name, affine in (("exact_affine", ann.exact_affine), ("quant_affine", ann.quant_affine)):
        if affine is not None and len(affine.scale) != len(affine.shift):
            raise fail(f"{name} has {len(affine.scale)} scales but {len(affine.shift)} shifts")
    if ann.quant_affine_bits is not None and not 0 <= ann.quant_affine_bits <= 64:
        raise fail(f"quant_affine_bits {ann.quant_affine_bits} is outside 0..64")
    wq = ann.weight_quantizer
    if wq is not None and (wq.source not in WeightQuantizer.SOURCES or any(not s > 0 for s in wq.scales)):
        raise fail(f"weight quantizer {wq} needs a source among {', '.join(WeightQuantizer.SOURCES)} and "
                   "positive scales")
    p = ann.pruning
    if p is not None and not (0 <= p.zeros <= p.weights and p.pruned >= 0 and (p.quantized_zero or 0) >= 0):
        raise fail(f"pruning statistics {p.as_dict()} are inconsistent")


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
        check_annotations(graph, node)
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
