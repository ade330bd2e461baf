"""ONNX converter of table lookups: Gather from a constant table at run-time indices -> Embedding.

Rule (ONNX Gather, axis 0, data of rank 2): y[i..., d] = data[indices[i...], d], the IR Embedding
with table = data (torch nn.Embedding / F.embedding export to exactly this with int64 indices). A
negative index counts from the end in ONNX; nn2hls's Embedding reads zeros there instead (and for any
index outside [0, rows)): the frameworks reject such indices, so only invalid inputs differ
(docs/semantics.md, "Embedding"). Other Gathers (run-time data, axis != 0, tables of rank != 2) are
refused.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_layout import Tensor, plain_tensor
from nn2hls.frontends.onnx_ops import converter
from nn2hls.ir import ops


@converter("Gather")
def gather(ctx, node, attrs, inputs):
    data, indices = (inputs + [None, None])[:2]
    if isinstance(data, Tensor) or not isinstance(indices, Tensor):
        raise UnsupportedOpError(f"ONNX Gather node {ctx.label(node)}: only a lookup in a constant table at "
                                 "run-time indices (an Embedding) is supported")
    table = np.asarray(data, dtype=np.float64)
    axis = int(attrs.get("axis", 0))
    if table.ndim != 2 or axis not in (0, -2):
        raise UnsupportedOpError(f"ONNX Gather node {ctx.label(node)}: the table must be 2-D (rows, features) "
                                 f"and gathered on axis 0; got shape {table.shape}, axis {axis}")
    t = ctx.layouts.source(indices, hint=ctx.name(node) + "_in")
    name = ctx.add(ops.Embedding(), [t.node], node, {"table": table})
    return [plain_tensor(name, t.shape + (int(table.shape[1]),))]
