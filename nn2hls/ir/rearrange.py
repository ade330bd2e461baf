"""The structural ops (`ops.STRUCTURAL_OPS`: Pad, Slice, Upsample, DepthToSpace, SpaceToDepth) as data
movement, in two independent forms.

1. `apply(op, x, fill)`: the op on a batched numpy array (axis 0 = batch) with numpy's own
   primitives (np.pad, basic slicing, np.repeat, reshape + transpose), exactly as the op docstrings in
   `nn2hls.ir.ops` state. The float executor runs this.
2. `axis_maps(op, in_shape)`: the op as a gather. The output, in row-major order, is viewed as a
   "gather shape" G (same size, a refinement of the output shape) and every axis a of G has a table
   m_a of input offsets, so that

       y.flat[o] = x.flat[sum_a m_a[o_a]]   when every m_a[o_a] >= 0, else the fill value (Pad),

   with o_a the coordinates of o in G. Pad, Slice and Upsample act per output axis (G = output shape,
   m_a[i] = input index on axis a times the input stride); DepthToSpace and SpaceToDepth are a reshape,
   a transpose and a reshape, so G splits each blocked axis into (outer, block). The emulator and the
   HLS kernel (`nn2hls::gather_axes`) run this form; being built from index arithmetic rather than the
   numpy calls of (1), it is checked against the frameworks through the emulator.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.ir import ops

Shape = tuple[int, ...]


def _strides(shape: Shape) -> list[int]:
    """Row-major element strides of `shape`."""
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= n
    return out[::-1]


# ---- (1) numpy form --------------------------------------------------------------------------------
def apply(op: ops.Op, x: np.ndarray, fill=0) -> np.ndarray:
    """The structural op on the batch x (N, *in_shape); `fill` is Pad's value in x's units."""
    if isinstance(op, ops.Pad):
        return np.pad(x, [(0, 0)] + [tuple(p) for p in op.pads], mode="constant", constant_values=fill)
    if isinstance(op, ops.Slice):
        index = [slice(None)]
        for start, step, size in zip(op.starts, op.steps, op.sizes):
            stop = start + size * step
            index.append(slice(start, stop if stop >= 0 else None, step))
        return x[tuple(index)]
    if isinstance(op, ops.Upsample):
        for axis, scale in enumerate(op.scales, start=1):
            if scale != 1:
                x = np.repeat(x, scale, axis=axis)
        return x
    if isinstance(op, (ops.DepthToSpace, ops.SpaceToDepth)):
        split, perm, out = block_rearrangement(op, x.shape)
        return x.reshape(split).transpose(perm).reshape(out)
    raise TypeError(f"{op.kind} is not a structural op")


def block_rearrangement(op: ops.DepthToSpace | ops.SpaceToDepth, shape: Shape) -> tuple[Shape, Shape, Shape]:
    """DepthToSpace / SpaceToDepth on a batch of shape (N, H, W, C) as reshape -> transpose -> reshape:
    (split shape, axis permutation, output shape). One rule for every array library (numpy `transpose`,
    torch `permute`):
      DepthToSpace DCR: channel = (i * b + j) * C + c;  CRD: channel = c * b * b + i * b + j
      (i, j: the row and column inside the b x b block written at (h * b + i, w * b + j));
      SpaceToDepth: the inverse of DCR, channel = (i * b + j) * C + c."""
    b = op.block
    if isinstance(op, ops.DepthToSpace):
        n, h, w, depth = (int(s) for s in shape)
        c = depth // (b * b)
        if op.mode == "DCR":
            return (n, h, w, b, b, c), (0, 1, 3, 2, 4, 5), (n, h * b, w * b, c)
        return (n, h, w, c, b, b), (0, 1, 4, 2, 5, 3), (n, h * b, w * b, c)
    if isinstance(op, ops.SpaceToDepth):
        n, hb, wb, c = (int(s) for s in shape)
        return (n, hb // b, b, wb // b, b, c), (0, 1, 3, 2, 4, 5), (n, hb // b, wb // b, b * b * c)
    raise TypeError(f"{op.kind} is not DepthToSpace or SpaceToDepth")


# ---- (2) gather form -------------------------------------------------------------------------------
def axis_maps(op: ops.Op, in_shape: Shape) -> tuple[Shape, list[np.ndarray]]:
    """(gather shape G, one int64 offset table per axis of G; -1 marks Pad's fill)."""
    in_shape = tuple(int(s) for s in in_shape)
    stride = _strides(in_shape)
    if isinstance(op, ops.Pad):
        maps = []
        for n, (before, after), s in zip(in_shape, op.pads, stride):
            i = np.arange(n + before + after) - before
            maps.append(np.where((i >= 0) & (i < n), i * s, -1))
    elif isinstance(op, ops.Slice):
        maps = [(start + np.arange(size) * step) * s
                for start, step, size, s in zip(op.starts, op.steps, op.sizes, stride)]
    elif isinstance(op, ops.Upsample):
        maps = [(np.arange(n * k) // k) * s for n, k, s in zip(in_shape, op.scales, stride)]
    elif isinstance(op, ops.DepthToSpace):
        h, w, depth = in_shape
        b = op.block
        c = depth // (b * b)
        # G = (h, i, w, j, c): row-major order of (h * b + i, w * b + j, c)
        if op.mode == "DCR":
            channel = [np.arange(b) * b * c, np.arange(b) * c, np.arange(c)]
        else:
            channel = [np.arange(b) * b, np.arange(b), np.arange(c) * b * b]
        maps = [np.arange(h) * stride[0], channel[0], np.arange(w) * stride[1], channel[1], channel[2]]
    elif isinstance(op, ops.SpaceToDepth):
        hb, wb, c = in_shape
        b = op.block
        # G = (h, w, i, j, c): row-major order of (h, w, (i * b + j) * c + c)
        maps = [np.arange(hb // b) * b * stride[0], np.arange(wb // b) * b * stride[1],
                np.arange(b) * stride[0], np.arange(b) * stride[1], np.arange(c)]
    else:
        raise TypeError(f"{op.kind} is not a structural op")
    maps = [np.asarray(m, dtype=np.int64) for m in maps]
    return tuple(len(m) for m in maps), maps


def has_fill(maps: list[np.ndarray]) -> bool:
    return any(bool((m < 0).any()) for m in maps)


def source_index(maps: list[np.ndarray]) -> np.ndarray:
    """Flat input index of every output element in row-major order (-1: fill)."""
    total = np.zeros((), dtype=np.int64)
    outside = np.zeros((), dtype=bool)
    for m in maps:
        total = np.add.outer(total, m)
        outside = np.logical_or.outer(outside, m < 0)
    return np.where(outside, -1, total).reshape(-1)


def squeeze_maps(dims: Shape, maps: list[np.ndarray]) -> tuple[Shape, list[np.ndarray]]:
    """Drop the axes of length 1 whose table is (0,) (they add nothing), keeping at least one."""
    kept = [(d, m) for d, m in zip(dims, maps) if not (d == 1 and int(m[0]) == 0)]
    if not kept:
        kept = [(1, np.zeros(1, dtype=np.int64))]
    assert math.prod(d for d, _ in kept) == math.prod(dims)
    return tuple(d for d, _ in kept), [m for _, m in kept]
