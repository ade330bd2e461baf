"""Shared-weight Dense layers: each output's general products grouped by weight value.

Rule (issue 8, item 5; analysis in `nn2hls.report_sharing`): for output o, the general weights
(not 0, +-1 or +-2^k; `sparse.weight_kind == 'mul'`) are grouped by magnitude v:

    sum_{i : |w_io| = v} x_i * w_io  ==  v * (sum_{i : w_io = +v} x_i - sum_{i : w_io = -v} x_i)

The group sum s is exact in `group_t` (x's fractional bits, enough integer bits for the largest group,
signed), its product by v is exact, and the accumulator is exact modulo 2^W (docs/semantics.md), so
the result equals the plain sparse Dense bit for bit and the emulator does not change. Powers of two
and +-1 stay in their own lists (p2/add/sub, row blocks as in `nn2hls_dense.h`). A Dense layer uses
this kernel when grouping at least halves its general products (`use_shared`); each group costs one
product.

Arrays: grp_out[g] is group g's output and grp_w[g] its magnitude; the group sums are the row blocks
(`layer_context.add_row_blocks`, lists gadd/gsub) of the inputs x groups matrix holding +1 at the group's
+v inputs and -1 at its -v inputs, so every loop of the kernel has a compile-time trip count (before,
the loops ran from grp_start[o] and pos_start[g] to the next entry: bounds read from constant arrays).
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.backends.vivado.cpp import constant_values
from nn2hls.backends.vivado.layer_context import (LayerContext, add_row_blocks, base_context, bias_values,
                                                  flat_size, index_type, ints, prec, type_name, weighted_types)
from nn2hls.backends.vivado.sparse import SparseList, split_dense, weight_kind
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.types import FixedType


def group_dense(kernel: np.ndarray) -> dict[str, SparseList]:
    """Lists grp (columns w), pos/neg (columns idx, CSR over groups), and p2/add/sub of `split_dense`."""
    kernel = np.asarray(kernel, dtype=np.float64)
    lists = {k: v for k, v in split_dense(kernel).items() if k != "mul"}
    grp = SparseList([0], {"w": []})
    pos = SparseList([0], {"idx": []})
    neg = SparseList([0], {"idx": []})
    for o in range(kernel.shape[1]):
        column = kernel[:, o]
        general = [i for i in np.flatnonzero(column) if weight_kind(float(column[i])) == "mul"]
        for v in sorted({abs(float(column[i])) for i in general}):
            grp.columns["w"].append(v)
            pos.columns["idx"] += [int(i) for i in general if float(column[i]) == v]
            neg.columns["idx"] += [int(i) for i in general if float(column[i]) == -v]
            pos.start.append(len(pos.columns["idx"]))
            neg.start.append(len(neg.columns["idx"]))
        grp.start.append(len(grp.columns["w"]))
    lists.update(grp=grp, pos=pos, neg=neg)
    return lists


SHARED_MIN_FACTOR = 2


def use_shared(node: Node) -> bool:
    """True when grouping by value divides the layer's general products by SHARED_MIN_FACTOR or more.

    With only a few repeated values (e.g. 8-bit weights that happen to coincide) the plain sparse
    list is kept: the saving is small and the simpler code is easier on the HLS scheduler; weight
    sharing (k-means codebooks of a few values) saves far more than half."""
    kernel = np.asarray(node.weights["kernel"], dtype=np.float64)
    general = 0
    groups = 0
    for o in range(kernel.shape[1]):
        column = kernel[:, o]
        values = [abs(float(v)) for v in column[column != 0] if weight_kind(float(v)) == "mul"]
        general += len(values)
        groups += len(set(values))
    return groups > 0 and groups * SHARED_MIN_FACTOR <= general


def group_type(x_t: FixedType, largest_group: int) -> FixedType:
    """Signed type holding any +-sum of `largest_group` values of x_t exactly."""
    extra = max(1, math.ceil(math.log2(max(largest_group, 1) + 1)))
    sign = 0 if x_t.signed else 1
    return FixedType.fixed(x_t.width + extra + sign, x_t.integer + extra + sign, True)


def build_dense_shared(graph: Graph, node: Node) -> LayerContext:
    """The LayerContext of a grouped Dense (template kind `dense_shared`, kernel nn2hls_dense_shared.h)."""
    ctx = base_context(graph, node, "dense_shared", "nn2hls_dense_shared.h")
    weighted_types(ctx, node)
    kernel = node.weights["kernel"]
    wt = prec(node, "weight")
    lists = group_dense(kernel)
    n_in, n_out = kernel.shape
    grp, pos, neg = lists["grp"], lists["pos"], lists["neg"]
    n_grp = len(grp)
    # the group sums as a Dense over the +1/-1 matrix (inputs x groups): row blocks gadd / gsub
    signs = np.zeros((n_in, n_grp))
    for g in range(n_grp):
        signs[pos.columns["idx"][pos.start[g]:pos.start[g + 1]], g] = 1.0
        signs[neg.columns["idx"][neg.start[g]:neg.start[g + 1]], g] = -1.0
    add_row_blocks(ctx, node, split_dense(signs), ("add", "sub"), matrix_shape=signs.shape, prefix="g",
                   key="group_blocks")
    owner = np.repeat(np.arange(n_out), np.diff(grp.start)) if n_grp else np.zeros(0, dtype=int)
    ctx.add_array("grp_out", index_type(n_out), ints(owner))
    ctx.add_array("grp_w", type_name(node.name, "weight"),
                  constant_values(grp.columns["w"], wt, f"node {node.label()} kernel"))
    add_row_blocks(ctx, node, lists, ("p2", "add", "sub"))
    sizes = np.diff(pos.start) + np.diff(neg.start) if n_grp else np.zeros(1, dtype=int)
    x_t = prec(graph[node.inputs[0]], "result")
    ctx.add_type("group", group_type(x_t, int(sizes.max())))
    ctx.add_array("bias", type_name(node.name, "bias"), bias_values(node, n_out))
    ctx.params.update({"n_in": int(n_in), "n_out": int(n_out), "positions": flat_size(node.shape[:-1]),
                       "n_grp": int(n_grp)})
    ctx.params.setdefault("blocks", [])
    ctx.products = n_grp
    ctx.weight_entries = len(pos) + len(neg) + sum(len(lists[k]) for k in ("p2", "add", "sub"))
    return ctx
