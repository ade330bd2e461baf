"""Embedding on raw integers (docs/semantics.md, "Embedding").

The index x has an integer type (`nn2hls.ir.lookup`: no fractional bits, so its raw value is the
index). ``y[..., d] = cast(table[x, d], result)`` with the table quantized to `weight` (exact: the
quantize_weights pass stored representable values) when 0 <= x < rows, else ``cast(0, result)`` = 0.
"""
from __future__ import annotations

import numpy as np

from nn2hls.emulate.arith import Tally, as_dtype, cast, exact_weight
from nn2hls.emulate.linear import Kernel
from nn2hls.ir.roles import role_types
from nn2hls.ir import lookup
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def build_embedding(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    tx = in_types[0]
    lookup.check_index_type(tx, f"node {node.label()}")
    tw, tr = role_types(node, "weight", "result")
    table = exact_weight(node.weights["table"], tw, f"node {node.label()} table")
    rows = table.shape[0]
    # row `rows` is the zero row every out-of-range index reads
    padded = np.concatenate([as_dtype(table, object), np.zeros((1, table.shape[1]), dtype=object)])
    lo = min(0, int(min(padded.reshape(-1).tolist())))
    hi = max(0, int(max(padded.reshape(-1).tolist())))
    padded = as_dtype(padded, np.int64) if max(-lo, hi) < (1 << 62) else padded

    def run(args: list, tally: Tally) -> np.ndarray:
        index = as_dtype(args[0], np.int64)
        index = np.where((index >= 0) & (index < rows), index, rows)
        return cast(padded[index], tw.frac, lo, hi, tr, tally)
    return run
