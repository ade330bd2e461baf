"""Pool, GlobalPool and Reduce on raw integers (docs/semantics.md).

Max: ``y = cast(max over the window, result)``; padding is ignored (padded with a value below the
input type's minimum, so it never wins). Average: ``s = cast(sum over the window, accum)`` (zero
padding adds nothing), ``r = cast(1/count, recip)`` where count is the window size with
``count_include_pad`` and otherwise the number of real inputs in the window, so ``r`` varies by
position; ``y = cast(s * r, result)``. ``1/count`` is assigned as a double (what the C++ constant
``(recip_t)(1.0 / count)`` does); no ``1/count`` lies within 2**-53 of a rounding boundary of a type
narrower than 50 fractional bits, so this equals the exact rational cast.
Reduce (mean/max/min/sum over any IR axes) follows the same rules with one window: all n reduced inputs.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.emulate.arith import Tally, as_dtype, cast, max_abs, work_dtype
import functools

from nn2hls.emulate.linear import Kernel, window_slices
from nn2hls.ir.roles import role_types
from nn2hls.ir import fixed, ops
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def _window_max(x: np.ndarray, tx: FixedType, size, strides, pads, out_spatial) -> np.ndarray:
    nd = len(size)
    fill = tx.min_raw - 1 if x.dtype != np.float64 else -np.inf
    if x.dtype == np.int64 and fill < np.iinfo(np.int64).min:  # pragma: no cover - width 64 signed
        x = as_dtype(x, object)
    views = window_slices(x, size, strides, (1,) * nd, pads, fill, out_spatial)
    return functools.reduce(np.maximum, views)


def _window_sum(x: np.ndarray, size, strides, pads, fill, out_spatial) -> np.ndarray:
    views = window_slices(x, size, strides, (1,) * len(size), pads, fill, out_spatial)
    return functools.reduce(np.add, views)


def _avg(node: Node, tx: FixedType, size, strides, pads, include_pad: bool, spatial) -> Kernel:
    ta, tq, tr = role_types(node, "accum", "recip", "result")
    taps = math.prod(size)
    out_spatial = tuple(node.shape[:-1]) if len(node.shape) > 1 else tuple(1 for _ in size)
    # per-position counts of real inputs (or the full window)
    if include_pad:
        counts = np.full(tuple(node.shape[:-1]), taps, dtype=np.int64)
    else:
        ones = np.ones((1,) + tuple(spatial) + (1,), dtype=np.float64)
        counts = _window_sum(ones, size, strides, pads, 0.0, out_spatial)[0, ..., 0].astype(np.int64)
    recip = fixed.quantize(1.0 / counts, tq)  # (*out,) raw
    recip_obj = as_dtype(recip, object)
    rmax = max([abs(int(v)) for v in recip_obj.reshape(-1).tolist()] or [0])
    sum_bound = max_abs(tx) * taps
    sum_dtype = work_dtype(sum_bound)
    prod_bound = max_abs(ta) * rmax
    prod_dtype = work_dtype(prod_bound)
    recip_d = as_dtype(recip_obj, prod_dtype)[..., None]  # broadcast over channels
    pfrac = ta.frac + tq.frac

    def run(args: list, tally: Tally) -> np.ndarray:
        (x,) = args
        x = as_dtype(x, sum_dtype)
        fill = 0 if x.dtype == object else x.dtype.type(0)
        s = _window_sum(x, size, strides, pads, fill, out_spatial)
        s = cast(s, tx.frac, -sum_bound, sum_bound, ta, tally)
        p = as_dtype(s, prod_dtype) * recip_d
        return cast(p, pfrac, -prod_bound, prod_bound, tr, tally)
    return run


def build_pool(node: Node, in_types: list[FixedType], in_shapes) -> Kernel:
    op: ops.Pool = node.op
    tx = in_types[0]
    if op.mode == "avg":
        return _avg(node, tx, op.pool_size, op.strides, op.pads, op.count_include_pad, in_shapes[0][:-1])
    (tr,) = role_types(node, "result")

    def run(args: list, tally: Tally) -> np.ndarray:
        m = _window_max(args[0], tx, op.pool_size, op.strides, op.pads, node.shape[:-1])
        return cast(m, tx.frac, tx.min_raw, tx.max_raw, tr, tally)
    return run


def build_global_pool(node: Node, in_types: list[FixedType], in_shapes) -> Kernel:
    op: ops.GlobalPool = node.op
    tx = in_types[0]
    spatial = tuple(in_shapes[0][:-1])
    if op.mode == "avg":
        inner = _avg(node, tx, spatial, spatial, tuple((0, 0) for _ in spatial), True, spatial)

        def run_avg(args: list, tally: Tally) -> np.ndarray:
            y = inner(args, tally)
            return y.reshape(y.shape[0], y.shape[-1])
        return run_avg
    (tr,) = role_types(node, "result")

    def run(args: list, tally: Tally) -> np.ndarray:
        x = args[0]
        m = x.reshape(x.shape[0], -1, x.shape[-1]).max(axis=1)
        return cast(m, tx.frac, tx.min_raw, tx.max_raw, tr, tally)
    return run


def build_reduce(node: Node, in_types: list[FixedType], in_shapes) -> Kernel:
    """Reduce over IR axes: max (min) as the max pool, sum as ``y = cast(cast(exact sum, accum), result)``,
    mean as the average pool with one window of n = prod(reduced sizes) inputs:
    ``y = cast(cast(exact sum, accum) * cast(1/n, recip), result)``."""
    op: ops.Reduce = node.op
    tx = in_types[0]
    axes = tuple(a + 1 for a in op.axes)
    n = math.prod(in_shapes[0][a] for a in op.axes)
    out_shape = tuple(node.shape)
    (tr,) = role_types(node, "result")

    def reshaped(y: np.ndarray) -> np.ndarray:
        return y.reshape((y.shape[0],) + out_shape)

    if op.mode in ("max", "min"):
        def run_max(args: list, tally: Tally) -> np.ndarray:
            x = args[0]
            m = reshaped(x.max(axis=axes, keepdims=True) if op.mode == "max" else x.min(axis=axes, keepdims=True))
            return cast(m, tx.frac, tx.min_raw, tx.max_raw, tr, tally)
        return run_max
    (ta,) = role_types(node, "accum")
    sum_bound = max_abs(tx) * n
    sum_dtype = work_dtype(sum_bound)
    if op.mode == "sum":
        def run_sum(args: list, tally: Tally) -> np.ndarray:
            s = reshaped(as_dtype(args[0], sum_dtype).sum(axis=axes, keepdims=True))
            s = cast(s, tx.frac, -sum_bound, sum_bound, ta, tally)
            return cast(s, ta.frac, ta.min_raw, ta.max_raw, tr, tally)
        return run_sum
    (tq,) = role_types(node, "recip")
    recip = int(np.asarray(fixed.quantize(np.asarray([1.0 / n]), tq)).reshape(-1)[0])
    prod_bound = max_abs(ta) * abs(recip)
    prod_dtype = work_dtype(prod_bound)
    recip_d = as_dtype(np.asarray([recip], dtype=object), prod_dtype)[0]
    pfrac = ta.frac + tq.frac

    def run_mean(args: list, tally: Tally) -> np.ndarray:
        s = reshaped(as_dtype(args[0], sum_dtype).sum(axis=axes, keepdims=True))
        s = cast(s, tx.frac, -sum_bound, sum_bound, ta, tally)
        p = as_dtype(s, prod_dtype) * recip_d
        return cast(p, pfrac, -prod_bound, prod_bound, tr, tally)
    return run_mean
