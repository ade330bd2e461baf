"""Softmax on raw integers (docs/semantics.md), along the node's axis.

``m = max_j x_j``; ``d_i = x_i - m`` (exact, <= 0, same fractional bits as x);
``e_i = exp_table[index_exp(d_i)]`` (entries of type ``exp``); ``s = cast(sum_i e_i, sum)`` (the sum
itself is exact); ``r = inv_table[index_inv(s)]`` (type ``inv``); ``y_i = cast(e_i * r, result)``
(the product is exact, at ``frac(exp) + frac(inv)``). Overflows of the ``sum`` and ``result`` casts
are counted.
"""
from __future__ import annotations

import numpy as np

from nn2hls.emulate.activations import table_lookup
from nn2hls.emulate.arith import Tally, as_dtype, cast, max_abs, work_dtype
from nn2hls.emulate.linear import Kernel
from nn2hls.ir.roles import role_types
from nn2hls.ir import ops, tables
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def build_softmax(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    op: ops.Softmax = node.op
    tx = in_types[0]
    te, ts, ti, tr = role_types(node, "exp", "sum", "inv", "result")
    rank = len(node.shape)
    axis = (op.axis % rank) + 1
    n = node.shape[axis - 1]
    exp_spec, exp_raw, _, exp_entries = table_lookup(node, "exp", te, te)
    inv_spec, inv_raw, _, inv_entries = table_lookup(node, "inv", ti, ti)
    emax = max([abs(int(v)) for v in exp_entries.tolist()] or [0])
    imax = max([abs(int(v)) for v in inv_entries.tolist()] or [0])
    sum_bound = emax * n
    sum_dtype = work_dtype(sum_bound)
    prod_bound = emax * imax
    prod_dtype = work_dtype(prod_bound)
    exp_s, inv_p = as_dtype(exp_entries, sum_dtype), as_dtype(inv_entries, prod_dtype)
    diff_dtype = work_dtype(2 * max_abs(tx))

    def run(args: list, tally: Tally) -> np.ndarray:
        x = as_dtype(args[0], diff_dtype)
        d = x - x.max(axis=axis, keepdims=True)
        idx = tables.index(d, tx.frac, exp_spec)
        e = exp_s[idx]
        s = e.sum(axis=axis, keepdims=True)
        s = cast(s, te.frac, -sum_bound, sum_bound, ts, tally)
        r = inv_p[tables.index(s, ts.frac, inv_spec)]
        p = as_dtype(e, prod_dtype) * r
        return cast(p, te.frac + ti.frac, -prod_bound, prod_bound, tr, tally)
    return run
