"""Wiring and element-wise ops on raw integers (docs/semantics.md).

- Reshape, Transpose: ``y = cast(x, result)`` after moving the raw values (axes exclude the batch);
  the passes give them their input's type, so the cast is normally a no-op.
- Concat: each input cast to ``result``, then concatenated along the IR axis (+1 for the batch).
- Elementwise add/sub/mul/max/min: ``y = cast(a op b, result)`` with the exact ``a op b``: add/sub/
  max/min at ``max(fa, fb)`` fractional bits (operands aligned by exact shifts), mul at ``fa + fb``;
  shapes broadcast as numpy (the batch axis is first in both).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from nn2hls.emulate.arith import Tally, as_dtype, cast, max_abs, scale_pow2, work_dtype
from nn2hls.emulate.linear import Kernel
from nn2hls.ir.roles import role_types
from nn2hls.ir import ops
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def _batch_axis(axis: int, rank: int) -> int:
    return (axis % rank) + 1


def build_reshape(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    tx = in_types[0]
    (tr,) = role_types(node, "result")
    shape = tuple(node.shape)

    def run(args: list, tally: Tally) -> np.ndarray:
        x = args[0]
        return cast(x.reshape((x.shape[0],) + shape), tx.frac, tx.min_raw, tx.max_raw, tr, tally)
    return run


def build_transpose(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    op: ops.Transpose = node.op
    tx = in_types[0]
    (tr,) = role_types(node, "result")
    perm = (0,) + tuple(p + 1 for p in op.perm)

    def run(args: list, tally: Tally) -> np.ndarray:
        return cast(np.ascontiguousarray(args[0].transpose(perm)), tx.frac, tx.min_raw, tx.max_raw,
                    tr, tally)
    return run


def build_concat(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    op: ops.Concat = node.op
    (tr,) = role_types(node, "result")
    axis = _batch_axis(op.axis, len(node.shape))

    def run(args: list, tally: Tally) -> np.ndarray:
        parts = [cast(x, t.frac, t.min_raw, t.max_raw, tr, tally) for x, t in zip(args, in_types)]
        return np.concatenate(parts, axis=axis)
    return run


def _aligned_sum(ta: FixedType, tb: FixedType) -> tuple[int, int, int, int]:
    """add, sub: operands aligned at max(fa, fb) fractional bits; |a op b| <= |a| + |b|."""
    frac = max(ta.frac, tb.frac)
    ka, kb = frac - ta.frac, frac - tb.frac
    return frac, ka, kb, (max_abs(ta) << ka) + (max_abs(tb) << kb)


def _aligned_select(ta: FixedType, tb: FixedType) -> tuple[int, int, int, int]:
    """max, min: operands aligned at max(fa, fb) fractional bits; the result is one of them."""
    frac = max(ta.frac, tb.frac)
    ka, kb = frac - ta.frac, frac - tb.frac
    return frac, ka, kb, max(max_abs(ta) << ka, max_abs(tb) << kb)


def _product(ta: FixedType, tb: FixedType) -> tuple[int, int, int, int]:
    """mul: fa + fb fractional bits, no alignment; |a * b| <= |a| * |b|."""
    return ta.frac + tb.frac, 0, 0, max_abs(ta) * max_abs(tb)


ELEMENTWISE_TABLE: dict[str, tuple[Callable[[FixedType, FixedType], tuple[int, int, int, int]], Callable]] = {
    "add": (_aligned_sum, np.add),
    "sub": (_aligned_sum, np.subtract),
    "mul": (_product, np.multiply),
    "max": (_aligned_select, np.maximum),
    "min": (_aligned_select, np.minimum),
}
"""Elementwise operation -> (rule giving (frac, shift of a, shift of b, bound), exact numpy operation)."""


def build_elementwise(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    op: ops.Elementwise = node.op
    ta, tb = in_types
    (tr,) = role_types(node, "result")
    rule, operation = ELEMENTWISE_TABLE[op.operation]
    frac, ka, kb, bound = rule(ta, tb)
    dtype = work_dtype(bound)

    def run(args: list, tally: Tally) -> np.ndarray:
        a = scale_pow2(as_dtype(args[0], dtype), ka)
        b = scale_pow2(as_dtype(args[1], dtype), kb)
        return cast(operation(a, b), frac, -bound, bound, tr, tally)
    return run
