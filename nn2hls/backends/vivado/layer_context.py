"""The data a layer's Jinja template renders (`LayerContext`) and the helpers every layer builder uses.

Rule: Python decides every number (array contents as exact literals, template parameters, types);
the templates only spell C++. A `LayerContext`'s fields are strings, ints and lists; tensors are
flat arrays in the IR's channels-last row-major order. `base_context` starts a layer's context (its
inputs, result type and comment), `add_table` adds a lookup table (`nn2hls.ir.tables`),
`weighted_types`/`bias_values`/`add_row_blocks` the pieces of the weighted layers (Dense, Conv,
grouped Conv, shared Dense), `spatial_2d`/`pair` view 1-D layers as 2-D ones of height 1.
The per-op builders are in `context` (dispatch table), `shared` and `grouped_conv`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nn2hls.backends.vivado.cpp import comment_text, constant_values, cpp_type, index_width
from nn2hls.backends.vivado.sparse import CHUNK, FULL_CHUNK, SparseList, block_rows
from nn2hls.errors import GraphError
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.types import FixedType


@dataclass
class LayerContext:
    """Everything one layer's template needs."""

    name: str
    kind: str                        # template name: dense, conv, pool_max, ...
    comment: str
    header: str                      # hls_lib kernel header to include
    inputs: list[dict[str, Any]]     # {"type", "size"} per input, in Node.inputs order
    out_type: str
    out_size: int
    params: dict[str, Any] = field(default_factory=dict)
    arrays: list[dict[str, Any]] = field(default_factory=list)
    typedefs: list[dict[str, str]] = field(default_factory=list)
    products: int = 0                # general products emitted (Dense/Conv)
    weight_entries: int = 0          # nonzero weights emitted

    def add_array(self, name: str, ctype: str, values: list[str]) -> None:
        size = len(values)
        values = values if values else ["0"]
        lines = [", ".join(values[i:i + 16]) for i in range(0, len(values), 16)]
        self.arrays.append({"name": name, "ctype": ctype, "size": max(size, 1), "lines": lines,
                            "count": size})

    def add_type(self, role: str, t: FixedType) -> str:
        name = type_name(self.name, role)
        self.typedefs.append({"name": name, "cpp": cpp_type(t)})
        return name


def type_name(node: str, role: str) -> str:
    return f"{node}_{role}_t"


def index_type(n: int) -> str:
    """The smallest unsigned C type holding the indices 0 .. n-1 (narrow arrays: less memory traffic)."""
    if n <= 1 << 8:
        return "uint8_t"
    if n <= 1 << 16:
        return "uint16_t"
    return "int"


def flat_size(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


def ints(values) -> list[str]:
    return [str(int(v)) for v in values]


def prec(node: Node, role: str) -> FixedType:
    t = node.precision.get(role)
    if t is None:
        raise GraphError(f"node {node.label()} has no '{role}' type; run the precision passes first")
    return t


def base_context(graph: Graph, node: Node, kind: str, header: str) -> LayerContext:
    inputs = [{"type": type_name(i, "result"), "size": flat_size(graph[i].shape)} for i in node.inputs]
    ctx = LayerContext(node.name, kind, comment_text(f"{node.op.describe()} <- {node.source_name}"),
                       header, inputs, type_name(node.name, "result"), flat_size(node.shape))
    return ctx


def add_table(ctx: LayerContext, node: Node, role: str, type_role: str, prefix: str) -> None:
    from nn2hls.ir.tables import table_values
    spec = node.tables.get(role)
    if spec is None:
        raise GraphError(f"node {node.label()} has no '{role}' table; run the precision passes first")
    entry_type = prec(node, type_role)
    tname = type_name(node.name, type_role)
    values = constant_values(table_values(spec), entry_type, f"node {node.label()} table '{role}'")
    ctx.add_array(f"{prefix}table", tname, values)
    ctx.params.update({f"{prefix}w1": index_width(spec.offset, spec.size), f"{prefix}shift": spec.shift,
                       f"{prefix}offset": spec.offset, f"{prefix}size": spec.size})


# ---- weighted layers -----------------------------------------------------------------------------------
def weighted_types(ctx: LayerContext, node: Node) -> None:
    ctx.add_type("weight", prec(node, "weight"))
    ctx.add_type("bias", node.precision.get("bias") or prec(node, "accum"))
    ctx.add_type("accum", prec(node, "accum"))


def bias_values(node: Node, units: int) -> list[str]:
    bias = node.weights.get("bias", np.zeros(units))
    t = node.precision.get("bias") or prec(node, "accum")
    return constant_values(bias, t, f"node {node.label()} bias")


def add_row_blocks(ctx: LayerContext, node: Node, lists: dict[str, SparseList], kinds: tuple[str, ...],
                   matrix_shape: tuple[int, int] | None = None, prefix: str = "", key: str = "blocks") -> None:
    """For each non-empty list: its arrays in block order (`sparse.block_rows`) and one kernel call per
    block in ctx.params['blocks'] (nn2hls_dense.h: mac_full_rows/mac_rows for the weighted mul and p2
    lists, add_full_rows/add_rows for add and sub).

    Arrays: {kind}_out (output of each row), {kind}_w (weights, every row), and for the sparse rows
    only (full rows need neither) {kind}_chunks and {kind}_idx; their names start with `prefix`, the
    calls go to ctx.params[key]."""
    n_in, n_out = matrix_shape or node.weights["kernel"].shape  # (in, out) of the Dense-form kernel
    wt = prec(node, "weight")
    calls = ctx.params.setdefault(key, [])
    for kind in kinds:
        if not len(lists[kind]):
            continue
        name = prefix + kind
        rows = block_rows(lists[kind], n_in)
        weighted = kind in ("mul", "p2")
        ctx.add_array(f"{name}_out", index_type(n_out), ints(rows.out))
        if weighted:
            ctx.add_array(f"{name}_w", type_name(node.name, "weight"),
                          constant_values(rows.columns["w"], wt, f"node {node.label()} kernel"))
        full_rows = sum(b.count for b in rows.blocks if b.full)
        if full_rows < len(rows.out):
            ctx.add_array(f"{name}_chunks", index_type(max(rows.chunks) + 1), ints(rows.chunks[full_rows:]))
            ctx.add_array(f"{name}_idx", index_type(n_in), ints(rows.columns["idx"][full_rows * n_in:]))
        sub = {"add": "false, ", "sub": "true, "}.get(kind, "")
        for b in rows.blocks:
            weights = f", {name}_w + {b.entry0}" if weighted else ""
            if b.full:
                function = "mac_full_rows" if weighted else "add_full_rows"
                args = f"{sub}{n_in}, {FULL_CHUNK}, {b.count}"
                arrays = f"{name}_out + {b.row0}{weights}"
            else:
                function = "mac_rows" if weighted else "add_rows"
                args = f"{sub}{CHUNK}, {b.rest}, {b.chunks_min}, {b.chunks_max}, {b.count}"
                arrays = (f"{name}_out + {b.row0}, {name}_chunks + {b.row0 - full_rows}, "
                          f"{name}_idx + {b.entry0 - full_rows * n_in}{weights}")
            calls.append({"function": function, "args": args, "arrays": arrays})


def spatial_2d(shape: tuple[int, ...], ndim: int) -> tuple[int, int, int]:
    if ndim == 1:
        return 1, shape[0], shape[1]
    return shape[0], shape[1], shape[2]


def pair(values: tuple, ndim: int, fill: Any) -> tuple:
    return (fill, values[0]) if ndim == 1 else (values[0], values[1])
