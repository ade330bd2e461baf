"""Run a typed graph on a numpy batch, bit-accurately (the oracle the C simulation must match).

Each node's op is turned once into a kernel (`build_*` in the op-family modules: weights converted
to raw integers and checked exactly representable, dtypes chosen from proven bounds, tables built),
then the batch is pushed through the kernels in topological order, in chunks of samples small
enough to stay in cache (`CHUNK_ELEMENTS` values of the widest tensor per chunk). The input is
assigned to the Input node's `result` type as a double (`cast(x, result)`); the outputs are the raw
values times 2**-frac. Every node's overflow tally counts the values that its casts saturated,
zeroed or wrapped.

The per-chunk products are small, so BLAS runs single-threaded during `emulate` (via threadpoolctl
when installed): on a shared machine OpenBLAS's spinning worker threads made them 100x slower.

Dispatch: `OP_TABLE` (op class -> kernel builder) here, `activations.ACTIVATION_TABLE` and
`wiring.ELEMENTWISE_TABLE` one level down (`nn2hls.op_coverage`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from nn2hls.emulate import activations, linear, lookup, pooling, softmax, structure, wiring
from nn2hls.emulate.arith import Tally, quantize_input, to_float, to_int
from nn2hls.errors import GraphError
from nn2hls.inputs import validate_feed
from nn2hls.ir import feeds, ops
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.types import FixedType

CHUNK_ELEMENTS = 1 << 15
_BLAS = []  # lazily created threadpoolctl controller (or None when not installed)


def _single_threaded_blas():
    """A context manager limiting BLAS to one thread (a no-op without threadpoolctl)."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS.append(ThreadpoolController())
        except Exception:  # pragma: no cover - optional dependency
            _BLAS.append(None)
    if _BLAS[0] is None:  # pragma: no cover
        import contextlib
        return contextlib.nullcontext()
    return _BLAS[0].limit(limits=1, user_api="blas")

OP_TABLE: dict[type[ops.Op], Callable] = {
    ops.Dense: lambda node, types, shapes: linear.build_dense(node, types),
    ops.Conv: lambda node, types, shapes: linear.build_conv(node, types),
    ops.ScaleShift: lambda node, types, shapes: linear.build_scaleshift(node, types),
    ops.Pool: pooling.build_pool,
    ops.GlobalPool: pooling.build_global_pool,
    ops.Activation: activations.build_activation,
    ops.Softmax: softmax.build_softmax,
    ops.Reshape: wiring.build_reshape,
    ops.Quant: wiring.build_reshape,  # y = cast(x, result), result = the quantizer's dtype
    ops.Transpose: wiring.build_transpose,
    ops.Concat: wiring.build_concat,
    ops.Elementwise: wiring.build_elementwise,
    ops.Reduce: pooling.build_reduce,
    ops.Embedding: lookup.build_embedding,
    **{cls: structure.build_structural for cls in ops.STRUCTURAL_OPS},
}
"""Op class -> builder(node, input types, input shapes) of its kernel (`Kernel`: (args, tally) -> raw)."""

NOT_APPLICABLE: dict[type[ops.Op], str] = {
    ops.Input: "the input batch is cast to the Input node's result type by the runner (quantize_input)",
    ops.BatchNorm: "folded into the neighbouring layers by fold_batchnorm before emulation",
}


@dataclass
class EmulationResult:
    """Outputs (graph.outputs order, float64), raw values per node (return_all), overflow counts."""

    outputs: list[np.ndarray]
    raw: dict[str, tuple[np.ndarray, FixedType]] = field(default_factory=dict)
    overflows: dict[str, int] = field(default_factory=dict)

    @property
    def total_overflows(self) -> int:
        return sum(self.overflows.values())


def _work_per_sample(node: Node) -> int:
    size = math.prod(node.shape)
    if isinstance(node.op, ops.Conv):
        size = math.prod(node.shape[:-1]) * math.prod(node.weights["kernel"].shape[:-1]) * node.op.groups
    return max(size, 1)


def _build(node: Node, graph: Graph):
    if "result" not in node.precision:
        raise GraphError(f"node {node.label()} has no result type: run precision assignment before "
                         "emulating")
    if isinstance(node.op, ops.Input):
        return None
    builder = OP_TABLE.get(type(node.op))
    if builder is None:
        raise GraphError(f"node {node.label()}: the emulator does not support {node.op.kind}; fold or "
                         "lower it first (BatchNorm is folded by the passes)")
    types = [graph.nodes[i].precision["result"] for i in node.inputs]
    shapes = [graph.nodes[i].shape for i in node.inputs]
    return builder(node, types, shapes)


def emulate(graph: Graph, x, *, return_all: bool = False, count_overflows: bool = True,
            chunk_size: int | None = None) -> EmulationResult:
    """Run the typed `graph` on x of shape (N, *input_shape) per docs/semantics.md, bit-accurately.

    Several inputs: x is a tuple/list in input order or a dict keyed by input name (nn2hls.ir.feeds).
    """
    with _single_threaded_blas():
        return _emulate(graph, x, return_all, count_overflows, chunk_size)


def _emulate(graph: Graph, x, return_all: bool, count_overflows: bool,
             chunk_size: int | None) -> EmulationResult:
    order = graph.topological()
    kernels = {node.name: _build(node, graph) for node in order}
    specs = feeds.specs(graph)
    arrays = validate_feed(specs, x, what="input data", owner=[f"model input {inp.label()}" for inp in graph.inputs],
                           labels=["input data"] * len(specs), allow_empty=True)
    feed = {inp.name: data for inp, data in zip(graph.inputs, arrays)}
    n = next(iter(feed.values())).shape[0]
    if chunk_size is None:
        widest = max(_work_per_sample(node) for node in order)
        chunk_size = max(1, CHUNK_ELEMENTS // widest)
    chunk_size = max(1, min(int(chunk_size), max(n, 1)))
    tallies = {node.name: Tally(count_overflows) for node in order}
    # drop each value after its last reader
    last_use: dict[str, int] = {}
    for pos, node in enumerate(order):
        for producer in node.inputs:
            last_use[producer] = pos
    keep = set(graph.outputs)
    pieces: dict[str, list[np.ndarray]] = {name: [] for name in (
        [node.name for node in order] if return_all else list(dict.fromkeys(graph.outputs)))}
    for start in range(0, max(n, 1), chunk_size):
        values: dict[str, np.ndarray] = {}
        for pos, node in enumerate(order):
            tally = tallies[node.name]
            if kernels[node.name] is None:
                xs = feed[node.name][start:start + chunk_size]
                out = quantize_input(xs, node.precision["result"], tally)
            else:
                out = kernels[node.name]([values[i] for i in node.inputs], tally)
            values[node.name] = out
            if node.name in pieces:
                pieces[node.name].append(out)
            for producer in node.inputs:
                if last_use.get(producer) == pos and producer not in keep:
                    values.pop(producer, None)
        if n == 0:
            break

    def joined(name: str) -> np.ndarray:
        parts = pieces[name]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    outputs = [to_float(joined(name), graph.nodes[name].precision["result"]) for name in graph.outputs]
    raw = {}
    if return_all:
        for node in order:
            t = node.precision["result"]
            raw[node.name] = (to_int(joined(node.name), t), t)
    overflows = {name: tally.count for name, tally in tallies.items()} if count_overflows else {}
    return EmulationResult(outputs, raw, overflows)
