"""Wiring and element-wise ops on raw integers (docs/semantics.md).

- Reshape, Transpose: ``y = cast(x, result)`` after moving the raw values (axes exclude the batch);
  the passes give them their input's type, so the cast is normally a no-op.
- Concat: each input cast to ``result``, then concatenated along the IR axis (+1 for the batch).
- Elementwise add/sub/mul/max/min: ``y = cast(a op b, result)`` with the exact ``a op b``: add/sub/
  max/min at ``max(fa, fb)`` fractional bits (operands aligned by exact shifts), mul at ``fa + fb``;
  shapes broadcast as numpy (the batch axis is first in both).
"""
from __future__ import annotations

import numpy as np

from nn2hls.emulate.arith import Tally, as_dtype, cast, max_abs, scale_pow2, work_dtype
from nn2hls.emulate.linear import Kernel, _types
from nn2hls.ir import ops
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def _batch_axis(axis: int, rank: int) -> int:
    return (axis % rank) + 1


def build_reshape(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    tx = in_types[0]
    (tr,) = _types(node, "result")
    shape = tuple(node.shape)

    def run(args: list, tally: Tally) -> np.ndarray:
        x = args[0]
        return cast(x.reshape((x.shape[0],) + shape), tx.frac, tx.min_raw, tx.max_raw, tr, tally)
    return run


def build_transpose(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    op: ops.Transpose = node.op
    tx = in_types[0]
    (tr,) = _types(node, "result")
    perm = (0,) + tuple(p + 1 for p in op.perm)

    def run(args: list, tally: Tally) -> np.ndarray:
        return cast(np.ascontiguousarray(args[0].transpose(perm)), tx.frac, tx.min_raw, tx.max_raw,
                    tr, tally)
    return run


def build_concat(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    op: ops.Concat = node.op
    (tr,) = _types(node, "result")
    axis = _batch_axis(op.axis, len(node.shape))

    def run(args: list, tally: Tally) -> np.ndarray:
        parts = [cast(x, t.frac, t.min_raw, t.max_raw, tr, tally) for x, t in zip(args, in_types)]
        return np.concatenate(parts, axis=axis)
    return run


def build_elementwise(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    op: ops.Elementwise = node.op
    ta, tb = in_types
    (tr,) = _types(node, "result")
    if op.operation == "mul":
        frac = ta.frac + tb.frac
        ka = kb = 0
        bound = max_abs(ta) * max_abs(tb)
    elif op.operation in ("max", "min"):
        frac = max(ta.frac, tb.frac)
        ka, kb = frac - ta.frac, frac - tb.frac
        bound = max(max_abs(ta) << ka, max_abs(tb) << kb)
    else:
        frac = max(ta.frac, tb.frac)
        ka, kb = frac - ta.frac, frac - tb.frac
        bound = (max_abs(ta) << ka) + (max_abs(tb) << kb)
    dtype = work_dtype(bound)

    def run(args: list, tally: Tally) -> np.ndarray:
        a = scale_pow2(as_dtype(args[0], dtype), ka)
        b = scale_pow2(as_dtype(args[1], dtype), kb)
        if op.operation == "add":
            y = a + b
        elif op.operation == "sub":
            y = a - b
        elif op.operation == "max":
            y = np.maximum(a, b)
        elif op.operation == "min":
            y = np.minimum(a, b)
        else:
            y = a * b
        return cast(y, frac, -bound, bound, tr, tally)
    return run
