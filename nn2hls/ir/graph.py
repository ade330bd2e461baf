"""The IR graph: a mutable graph of nodes, each carrying a frozen op and its tensors.

Rule: every node produces one tensor, named by the node's (safe, unique) name; `Node.inputs` lists the
producers. Shapes exclude the batch and are channels-last inside the graph; the Input node and the
graph outputs keep the source model's own layout (transposes between the two are pure wiring).
Weights are float64 arrays until the quantization pass adds their quantized form; `Node.precision`
maps roles (`annotations.Role`: 'result', 'weight', 'bias', 'accum', ...) to fixed-point types once
precision is assigned; `Node.annotations` holds what frontends declared and passes decided (typed).
networkx provides the graph algorithms (topological order, reachability).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterator

import networkx as nx
import numpy as np

from nn2hls.errors import GraphError
from nn2hls.ir.annotations import NodeAnnotations
from nn2hls.ir.names import safe_identifier
from nn2hls.ir.ops import Input, Op
from nn2hls.ir.types import FixedType


@dataclass
class Node:
    """One operation in the graph."""

    name: str
    op: Op
    inputs: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    precision: dict[str, FixedType] = field(default_factory=dict)
    source_name: str = ""
    tables: dict[str, Any] = field(default_factory=dict)  # role -> nn2hls.ir.tables.TableSpec
    annotations: NodeAnnotations = field(default_factory=NodeAnnotations)  # typed facts (ir/annotations.py)

    def label(self) -> str:
        """How messages refer to this node: its source name, plus the safe name when they differ."""
        if self.source_name and self.source_name != self.name:
            return f"'{self.source_name}' ({self.name})"
        return f"'{self.name}'"


class Graph:
    """Nodes in insertion order, one or more Input nodes, and a list of output node names.

    The Input nodes' insertion order is the model's input order (ONNX graph inputs in file order, Keras
    `input_layers` order): ports, `--input` files and tuples of samples follow it.
    """

    def __init__(self, name: str = "model") -> None:
        self.name = safe_identifier(name, fallback="model")
        self.nodes: dict[str, Node] = {}
        self.outputs: list[str] = []
        self.meta: dict[str, Any] = {}

    # ---- construction -------------------------------------------------------------------------
    def unique_name(self, wanted: str, fallback: str = "node") -> str:
        """A safe identifier derived from `wanted` that no node uses yet."""
        return safe_identifier(wanted, set(self.nodes), fallback=fallback)

    def add(self, op: Op, inputs: tuple[str, ...] | list[str] = (), *, name: str = "",
            weights: dict[str, np.ndarray] | None = None, source_name: str = "",
            shape: tuple[int, ...] | None = None) -> Node:
        """Add a node (its name made safe and unique); the shape is inferred unless given."""
        for producer in inputs:
            if producer not in self.nodes:
                raise GraphError(f"node '{source_name or name}' reads '{producer}', which does not exist")
        safe = self.unique_name(name or op.kind.lower(), fallback=op.kind.lower())
        weights = {k: np.asarray(v, dtype=np.float64) for k, v in (weights or {}).items()}
        if shape is None:
            try:
                shape = op.output_shape([self.nodes[i].shape for i in inputs], weights)
            except GraphError as exc:
                raise GraphError(f"node '{source_name or name}': {exc}") from None
        node = Node(safe, op, tuple(inputs), tuple(int(s) for s in shape), weights, {},
                    source_name or name or safe)
        self.nodes[safe] = node
        return node

    def remove(self, name: str) -> None:
        """Remove a node that nothing reads any more."""
        readers = self.consumers(name)
        if readers or name in self.outputs:
            raise GraphError(f"cannot remove node '{name}': still read by {readers or 'the outputs'}")
        del self.nodes[name]

    def replace_uses(self, old: str, new: str) -> None:
        """Make every reader of `old` (and the outputs) read `new` instead."""
        for node in self.nodes.values():
            if old in node.inputs:
                node.inputs = tuple(new if i == old else i for i in node.inputs)
        self.outputs = [new if o == old else o for o in self.outputs]

    def bypass(self, name: str) -> None:
        """Remove a single-input node, connecting its readers to its producer."""
        node = self.nodes[name]
        if len(node.inputs) != 1:
            raise GraphError(f"cannot bypass node '{name}' with {len(node.inputs)} inputs")
        self.replace_uses(name, node.inputs[0])
        del self.nodes[name]

    # ---- queries ------------------------------------------------------------------------------
    @property
    def inputs(self) -> list[Node]:
        """The Input nodes in the model's input order (insertion order)."""
        return [n for n in self.nodes.values() if isinstance(n.op, Input)]

    @property
    def input(self) -> Node:
        """The Input node of a single-input graph (GraphError for several: use `inputs`)."""
        inputs = self.inputs
        if len(inputs) != 1:
            raise GraphError(f"graph '{self.name}' must have exactly one Input node, has {len(inputs)}")
        return inputs[0]

    def consumers(self, name: str) -> list[str]:
        return [n.name for n in self.nodes.values() if name in n.inputs]

    def to_networkx(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for node in self.nodes.values():
            for producer in node.inputs:
                g.add_edge(producer, node.name)
        return g

    def topological(self) -> list[Node]:
        """Nodes in a deterministic topological order (ties broken by insertion order)."""
        order = {name: i for i, name in enumerate(self.nodes)}
        try:
            names = list(nx.lexicographical_topological_sort(self.to_networkx(), key=order.__getitem__))
        except nx.NetworkXUnfeasible:
            raise GraphError(f"graph '{self.name}' has a cycle") from None
        return [self.nodes[n] for n in names]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.topological())

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def copy(self) -> "Graph":
        return copy.deepcopy(self)

    def __str__(self) -> str:
        from nn2hls.ir.printer import format_graph
        return format_graph(self)
