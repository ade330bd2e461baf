"""Dense, Conv and ScaleShift on raw integers (docs/semantics.md).

Dense: ``acc = cast(bias + sum_i x_i * w_i, accum)``, ``y = cast(acc, result)``. The sum is computed
exactly as one integer matrix product of the raw inputs and raw weights at the product's fractional
bits ``fx + fw`` (aligned with the bias at ``P = max(fx + fw, fb)``). The accumulator type must have
``frac >= P`` and AP_WRAP (docs/semantics.md), so the exact sum taken modulo 2**W(accum) equals any
summation order of the C++ and one exact sum is enough. The product's dtype follows a proven bound
``B = max_j sum_i |w_ij| * max|x| * 2**(P-fx-fw) + |b_j| * 2**(P-fb)`` (every partial sum of every
order is below it): float64 BLAS when ``B < 2**52``, int64 ``np.matmul`` when ``B < 2**62``, Python
ints (object arrays) beyond.

Conv: zero padding then im2col (`numpy.lib.stride_tricks.sliding_window_view`, dilation and stride by
slicing) and the same product; padding taps multiply zero, so they add no term. A grouped Conv uses
its kernel written with zeros across groups (`nn2hls.ir.conv_groups.expand_groups`): a zero weight
adds an exact 0, so the sum (and the proven bound) is that of the group's own taps; the product itself
runs group by group (one matmul per group over its own channels, zeros skipped).

ScaleShift: ``y = cast(cast(x * scale + shift, accum), result)`` element-wise, broadcasting as numpy.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from nn2hls.errors import GraphError
from nn2hls.emulate.arith import (Tally, abs_max, abs_sum, as_dtype, cast, exact_weight, max_abs,
                                  scale_pow2, work_dtype)
from nn2hls.ir.ap_modes import Overflow, Rounding
from nn2hls.ir import fixed, ops
from nn2hls.ir.conv_groups import expand_groups
from nn2hls.ir.graph import Node
from nn2hls.ir.roles import role_types
from nn2hls.ir.types import FixedType

Kernel = Callable[[list, Tally], np.ndarray]


class _Product:
    """The exact affine map x -> x @ W * 2**k + b of one Dense/Conv node, at fractional bits P."""

    def __init__(self, node: Node, tx: FixedType, kernel2d: np.ndarray) -> None:
        tw, ta, tr = role_types(node, "weight", "accum", "result")
        has_bias = "bias" in node.weights and np.any(node.weights["bias"] != 0)
        tb = role_types(node, "bias")[0] if has_bias else None
        fp = tx.frac + tw.frac
        fb = tb.frac if tb is not None else fp
        self.frac = max(fp, fb)
        if ta.frac < self.frac:
            raise GraphError(f"node {node.label()}: accumulator {ta} has {ta.frac} fractional bits, fewer "
                             f"than the products/bias need ({self.frac}): widen accum or use 'auto'")
        if ta.overflow != Overflow.AP_WRAP:
            raise GraphError(f"node {node.label()}: accumulator {ta} must use AP_WRAP (its sum must not "
                             "depend on the summation order): drop the overflow mode of accum")
        w = exact_weight(kernel2d, tw, f"node {node.label()} weight 'kernel'")
        self.k = self.frac - fp
        b = (as_dtype(exact_weight(node.weights["bias"], tb, f"node {node.label()} weight 'bias'"), object)
             * (1 << (self.frac - fb)) if has_bias else None)
        xmax = max_abs(tx)
        col = abs_sum(w, 0) or [0]
        babs = [abs(int(v)) for v in b.tolist()] if b is not None else [0] * len(col)
        self.bound = max(c * xmax * (1 << self.k) + bb for c, bb in zip(col, babs))
        self.dtype = work_dtype(max(self.bound, max(col) * xmax))
        self.accum, self.result = ta, tr
        # Fast path: when the accum cast provably changes nothing and the result rounds AP_RND,
        # floor(acc / 2**s + 1/2) = floor((acc + 2**(s-1)) / 2**s): fold the half into the bias and
        # truncate (one pass fewer). Exact while acc + half stays below 2**52.
        s_res = self.frac - tr.frac
        acc_exact = ta.frac >= self.frac and (-self.bound << (ta.frac - self.frac)) >= ta.min_raw \
            and (self.bound << (ta.frac - self.frac)) <= ta.max_raw
        self.fused = (acc_exact and s_res > 0 and self.dtype is np.float64
                      and fixed.effective_rounding(tr) == Rounding.AP_RND and self.bound + (1 << s_res) < (1 << 51))
        if self.fused:
            half = 1 << (s_res - 1)
            b = (b if b is not None else np.zeros(len(col), dtype=object)) + half
            self.trunc = dataclasses.replace(tr, rounding=Rounding.AP_TRN)
            self.lo, self.hi = -self.bound + half, self.bound + half
        self.w = as_dtype(w, self.dtype)
        self.b = as_dtype(b, self.dtype) if b is not None else None
        self.groups = 1

    def use_groups(self, groups: int, taps: int) -> None:
        """Multiply group by group: rows of w are (tap, channel), channels in `groups` blocks, and
        filter block g only has nonzero weights in channel block g (`conv_groups.expand_groups`), so
        the product is one (taps * C/G, F/G) matmul per group, the same sums without the zeros."""
        rows, filters = self.w.shape
        per_group, per_filter = rows // (taps * groups), filters // groups
        blocks = self.w.reshape(taps, groups, per_group, groups, per_filter)
        self.wg = np.stack([blocks[:, g, :, g, :].reshape(taps * per_group, per_filter) for g in range(groups)])
        self.groups, self.taps = groups, taps

    def _matmul(self, x2d: np.ndarray) -> np.ndarray:
        if self.groups == 1:
            return x2d @ self.w
        m = x2d.shape[0]
        xg = x2d.reshape(m, self.taps, self.groups, -1).transpose(2, 0, 1, 3).reshape(self.groups, m, -1)
        return np.matmul(xg, self.wg).transpose(1, 0, 2).reshape(m, -1)

    def __call__(self, x2d: np.ndarray, tally: Tally) -> np.ndarray:
        x2d = as_dtype(x2d, self.dtype)
        acc = self._matmul(x2d)
        if self.k:
            acc = scale_pow2(acc, self.k)
        if self.b is not None:
            acc += self.b
        if self.fused:
            return cast(acc, self.frac, self.lo, self.hi, self.trunc, tally)
        acc = cast(acc, self.frac, -self.bound, self.bound, self.accum, tally)
        ta = self.accum
        return cast(acc, ta.frac, ta.min_raw, ta.max_raw, self.result, tally)


def build_dense(node: Node, in_types: list[FixedType]) -> Kernel:
    product = _Product(node, in_types[0], node.weights["kernel"])
    units = node.weights["kernel"].shape[1]

    def run(args: list, tally: Tally) -> np.ndarray:
        (x,) = args
        y = product(x.reshape(-1, x.shape[-1]), tally)
        return y.reshape(x.shape[:-1] + (units,))
    return run


def window_slices(x: np.ndarray, kernel_size, strides, dilations, pads, fill, out_spatial) -> list:
    """For each kernel offset k (row-major), the view x_pad[:, p * stride + k * dilation, :] over all
    output positions p: a list of prod(kernel_size) arrays of shape (N, *out_spatial, C)."""
    if any(p for pair in pads for p in pair):
        width = [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)]
        x = np.pad(x, width, mode="constant", constant_values=fill)
    views = []
    for k in np.ndindex(*kernel_size):
        sl = tuple(slice(kk * d, kk * d + (n - 1) * s + 1, s)
                   for kk, d, s, n in zip(k, dilations, strides, out_spatial))
        views.append(x[(slice(None),) + sl])
    return views


def im2col(x: np.ndarray, kernel_size, strides, dilations, pads, fill, out_spatial) -> np.ndarray:
    """(N, *spatial, C) -> (N, *out_spatial, prod(kernel_size) * C), taps ordered (*kernel, C)."""
    views = window_slices(x, kernel_size, strides, dilations, pads, fill, out_spatial)
    return views[0] if len(views) == 1 else np.concatenate(views, axis=-1)


def build_conv(node: Node, in_types: list[FixedType]) -> Kernel:
    op: ops.Conv = node.op
    kernel = expand_groups(node.weights["kernel"], op.groups)
    product = _Product(node, in_types[0], kernel.reshape(-1, kernel.shape[-1]))
    out_shape = tuple(node.shape)
    taps = int(np.prod(kernel.shape[:-1]))
    if op.groups > 1:
        product.use_groups(op.groups, int(np.prod(op.kernel_size)))

    def run(args: list, tally: Tally) -> np.ndarray:
        (x,) = args
        fill = 0 if x.dtype == object else x.dtype.type(0)
        cols = im2col(x, op.kernel_size, op.strides, op.dilations, op.pads, fill, out_shape[:-1])
        n = x.shape[0]
        y = product(cols.reshape(n * math.prod(out_shape[:-1]), taps), tally)
        return y.reshape((n,) + out_shape)
    return run


def build_scaleshift(node: Node, in_types: list[FixedType]) -> Kernel:
    tx = in_types[0]
    tw, tb, ta, tr = role_types(node, "weight", "bias", "accum", "result")
    fp = tx.frac + tw.frac
    frac = max(fp, tb.frac)
    # np.asarray keeps 0-d (scalar) constants arrays: an object array times an int is a Python int.
    scale = np.asarray(exact_weight(node.weights["scale"], tw, f"node {node.label()} weight 'scale'"))
    shift = np.asarray(as_dtype(exact_weight(node.weights["shift"], tb, f"node {node.label()} weight 'shift'"),
                                object) * (1 << (frac - tb.frac)), dtype=object)
    k = frac - fp
    smax, bmax = abs_max(scale), abs_max(shift)
    bound = max_abs(tx) * smax * (1 << k) + bmax
    dtype = work_dtype(bound)
    scale_d, shift_d = as_dtype(scale, dtype), as_dtype(shift, dtype)

    def run(args: list, tally: Tally) -> np.ndarray:
        (x,) = args
        y = scale_pow2(as_dtype(x, dtype) * scale_d, k) + shift_d
        y = cast(y, frac, -bound, bound, ta, tally)
        return cast(y, ta.frac, ta.min_raw, ta.max_raw, tr, tally)
    return run
