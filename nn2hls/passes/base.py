"""The pass framework: the pass protocol, its result, the context every pass receives, and helpers.

Contract: a pass is an object with a `name` (its registry key) and `run(graph, ctx) -> PassResult`.
It rewrites `graph` in place (the pipeline hands it a private copy) and returns whether it changed
anything plus readable notes (what it folded, and why it refused a match, in the spirit of onnx_ir's
PassResult and onnxscript's fuse-batchnorm `check`). Passes that simplify repeatedly iterate with a
step limit (`MAX_SWEEPS` rewrites of one match each), never "until nothing changes" unbounded.

`PassContext` carries the resolved `Config`, the optional calibration batch (shape (N, *input_shape),
source layout; a list of such arrays in input order for a model with several inputs), the warnings
and a cache (e.g. the float activations of the calibration data, keyed
by a graph fingerprint so a rewritten graph is executed again).
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from nn2hls.config import Config
from nn2hls.ir.graph import Graph, Node

MAX_SWEEPS = 20
"""Step limit of the simplifying passes: at most this many rewrites (one match each) per run."""

log = logging.getLogger("nn2hls.passes")


@dataclass
class PassResult:
    """What a pass did: `changed` tells whether the graph changed; `notes` say what and why not."""

    changed: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class PassContext:
    """Inputs shared by all passes of one pipeline run."""

    config: Config
    calibration: np.ndarray | list[np.ndarray] | None = None
    warnings: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        """Record a warning (kept in graph.meta['pass_warnings'] and logged)."""
        if message not in self.warnings:
            self.warnings.append(message)
            log.warning(message)


class Pass(Protocol):
    """Structural type of a pass."""

    name: str

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:  # pragma: no cover - protocol
        ...


# ---- helpers shared by passes ---------------------------------------------------------------------
def rewrite_repeatedly(graph: Graph, one_rewrite: Callable[[Graph], str | None]) -> PassResult:
    """Apply `one_rewrite` (which rewrites one match and returns a note, or None when nothing matches)
    until nothing matches or MAX_SWEEPS rewrites were made; the notes become the PassResult's."""
    notes: list[str] = []
    for _ in range(MAX_SWEEPS):
        note = one_rewrite(graph)
        if note is None:
            return PassResult(bool(notes), notes)
        notes.append(note)
    notes.append(f"step limit of {MAX_SWEEPS} rewrites reached; run the pass again for more")
    return PassResult(True, notes)


def sole_reader(graph: Graph, name: str) -> Node | None:
    """The only node reading `name`, or None when it has several readers or is a graph output."""
    if name in graph.outputs:
        return None
    readers = graph.consumers(name)
    if len(readers) != 1:
        return None
    return graph.nodes[readers[0]]


def reader_problem(graph: Graph, name: str) -> str:
    """Why `name` has no sole reader (for refusal notes)."""
    if name in graph.outputs:
        return f"'{name}' is a graph output"
    readers = graph.consumers(name)
    return f"'{name}' is read by {len(readers)} nodes ({', '.join(readers)})"


def per_last_axis(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """`value` broadcast to `shape` as one vector along the last axis, or None if it varies elsewhere."""
    full = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    rows = full.reshape(-1, shape[-1]) if shape else full.reshape(1, 1)
    if not np.all(rows == rows[0]):
        return None
    return np.array(rows[0], dtype=np.float64)


def float_activations(graph: Graph, ctx: PassContext) -> dict[str, np.ndarray] | None:
    """Float outputs of every node on the calibration data (None without data), cached per graph."""
    if ctx.calibration is None:
        return None
    from nn2hls.ir.execute import execute

    key = "float_activations:" + graph_fingerprint(graph)
    if key not in ctx.cache:
        ctx.cache[key] = execute(graph, ctx.calibration, return_all=True)
    return ctx.cache[key]


def graph_fingerprint(graph: Graph) -> str:
    """A cheap key that changes when structure or weights change (for caching float executions)."""
    digest = hashlib.sha1()
    for node in graph.topological():
        digest.update(f"{node.name}={node.op.describe()}({','.join(node.inputs)})".encode())
        for key, value in sorted(node.weights.items()):
            arr = np.ascontiguousarray(value, dtype=np.float64)
            digest.update(f"{key}{arr.shape}".encode())
            digest.update(arr.tobytes())
    digest.update(("->" + ",".join(graph.outputs)).encode())
    return digest.hexdigest()


def layer_key(config: Config, node: Node, table: dict[str, Any]) -> str | None:
    """The key under which `node` appears in a per-layer config table (safe name, else source name)."""
    if node.name in table:
        return node.name
    if node.source_name and node.source_name in table:
        return node.source_name
    return None


def precision_spec(config: Config, node: Node):
    """`config.precision_for` looked up by the node's safe name, or its source name when that is used."""
    key = layer_key(config, node, config.precision_layers) or node.name
    return config.precision_for(key, node.op.kind)
