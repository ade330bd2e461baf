"""Context of every Conv (groups = 1, grouped, depthwise = groups = channels) for hls_lib/nn2hls_conv_grouped.h.

An ordinary Conv is the case groups = 1 (no zeros added): before, it walked per-filter tap lists whose
loop bounds were read from a constant array (`mul_start[f] .. mul_start[f+1]`), synthesizable only if
the HLS tool folded those loads before unrolling (issue 18, item 3); the row blocks have compile-time
trip counts only.

Rule: the kernel (*k, C/G, F) written with zeros across groups (`nn2hls.ir.conv_groups.expand_groups`)
is a (KH * KW * C, F) matrix whose rows are ordered (ky, kx, c), the order of the window each output
position gathers. Its nonzero weights alone become entries, split and blocked exactly as a Dense
layer's (`sparse.split_dense`, `layer_context.add_row_blocks`): filter f's row holds only its own group's
nonzero taps, a zero or another group's weight costs no product and no constant-array entry, and every
kernel loop has a constant (or constant-bounded) trip count. Conv1D is the 2-D case with height 1.
"""
from __future__ import annotations

import numpy as np

from nn2hls.backends.vivado.layer_context import (LayerContext, add_row_blocks, base_context, bias_values,
                                                  pair, spatial_2d, type_name, weighted_types)
from nn2hls.backends.vivado.sparse import split_dense
from nn2hls.errors import UnsupportedOpError
from nn2hls.ir.conv_groups import expand_groups
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Conv


def build_grouped_conv(graph: Graph, node: Node, reuse_factor: int) -> LayerContext:
    """A grouped Conv (groups > 1) as row blocks over its gathered window (hls_lib/nn2hls_conv_grouped.h):
    the kernel written with zeros across groups is a (KH * KW * C, F) matrix whose nonzero weights
    alone become entries, so every filter's sum holds its own group's taps only."""
    op: Conv = node.op
    if op.ndim not in (1, 2):
        raise UnsupportedOpError(f"node {node.label()}: Conv{op.ndim}D is not supported; use 1-D or 2-D")
    ctx = base_context(graph, node, "conv_rows", "nn2hls_conv_grouped.h")
    weighted_types(ctx, node)
    ih, iw, c = spatial_2d(graph[node.inputs[0]].shape, op.ndim)
    oh, ow, f = spatial_2d(node.shape, op.ndim)
    kernel = expand_groups(np.asarray(node.weights["kernel"], dtype=np.float64), op.groups)
    if op.ndim == 1:
        kernel = kernel[np.newaxis]
    kh, kw = kernel.shape[:2]
    matrix = kernel.reshape(-1, f)  # rows ordered (ky, kx, c), the order of the gathered window
    lists = split_dense(matrix, full_rows=True)
    add_row_blocks(ctx, node, lists, ("mul", "p2", "add", "sub"), matrix_shape=matrix.shape)
    ctx.add_array("bias", type_name(node.name, "bias"), bias_values(node, f))
    sh, sw = pair(op.strides, op.ndim, 1)
    dh, dw = pair(op.dilations, op.ndim, 1)
    pt, pl = pair(tuple(p[0] for p in op.pads), op.ndim, 0)
    ctx.params.update(dict(ih=ih, iw=iw, c=c, oh=oh, ow=ow, kh=kh, kw=kw, dh=dh, dw=dw, sh=sh, sw=sw,
                           pt=pt, pl=pl, eh=(kh - 1) * dh + 1, ew=(kw - 1) * dw + 1,
                           rf=max(1, int(reuse_factor)), n_in=int(matrix.shape[0]), n_out=int(f)))
    ctx.products = len(split_dense(matrix)["mul"])
    ctx.weight_entries = sum(len(v) for v in lists.values())
    return ctx
