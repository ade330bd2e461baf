"""Deterministic text form of an IR graph, used by tests (before/after a pass) and messages.

One line per node in topological order:
    %name = Kind(attr=value, ...) (%a, %b) -> (8, 8, 16)  {kernel: 3x3x1x16 nnz=120, bias: 16}  <result=ap_fixed<16,6>, ...>
then `return %out1, %out2`. Weight values are summarised (shape and nonzero count), never printed.
Non-default annotations (`NodeAnnotations.describe`) follow in brackets, e.g. `[exact_result, folded=[bn1]]`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # graph.py imports this module (Graph.__str__); the names are for annotations only
    from nn2hls.ir.graph import Graph, Node


def _weights(node: Node) -> str:
    parts = []
    for key in sorted(node.weights):
        value = np.asarray(node.weights[key])
        shape = "x".join(str(s) for s in value.shape) or "scalar"
        parts.append(f"{key}: {shape} nnz={int(np.count_nonzero(value))}")
    return "  {" + ", ".join(parts) + "}" if parts else ""


def _precision(node: Node) -> str:
    if not node.precision:
        return ""
    return "  <" + ", ".join(f"{k}={node.precision[k]}" for k in sorted(node.precision)) + ">"


def _annotations(node: Node) -> str:
    text = node.annotations.describe()
    return f"  [{text}]" if text else ""


def format_node(node: Node) -> str:
    args = ", ".join(f"%{i}" for i in node.inputs)
    shape = "(" + ", ".join(str(s) for s in node.shape) + ("," if len(node.shape) == 1 else "") + ")"
    return (f"%{node.name} = {node.op.describe()} ({args}) -> {shape}{_weights(node)}{_precision(node)}"
            f"{_annotations(node)}")


def format_graph(graph: Graph) -> str:
    lines = [f"graph {graph.name}"]
    lines += ["  " + format_node(node) for node in graph.topological()]
    lines.append("  return " + ", ".join(f"%{o}" for o in graph.outputs))
    return "\n".join(lines) + "\n"
