"""How an ONNX tensor maps onto IR data, and the wiring nodes that change that mapping.

Rule: an ONNX value computed at run time is a `Tensor`: its ONNX shape `shape` (batch excluded) and
the IR node holding its data, related by

    ir_data = onnx_data.reshape(base).transpose(perm).reshape(ir_shape)

So a channels-last feature map of an ONNX (C, H, W) value has base (C, H, W), perm (1, 2, 0) and
ir_shape (H, W, C); a Flatten of it only changes `shape` to (C*H*W,) and emits nothing; a
GlobalAveragePool gives shape (C, 1, 1) with ir_shape (C,). Consumers ask for the layout they need
(`Layouts.emit`): Conv wants channels-last, outputs want the source layout, a Dense reading a flat
vector takes any order and permutes its kernel rows instead (`Layouts.flat`). Only the wiring that is
really needed is emitted: a Reshape when the row-major order already matches, otherwise Transpose
nodes through the ONNX order. Emitted wiring is cached per (node, target layout).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import Reshape, Transpose

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Tensor:
    """A run-time ONNX value (see the module docstring for the relation to its IR node)."""

    node: str
    shape: Shape
    base: Shape
    perm: Shape
    ir_shape: Shape

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def plain(self) -> bool:
        """True when the IR data is exactly onnx_data.transpose(perm)."""
        return self.base == self.shape and self.ir_shape == tuple(self.base[p] for p in self.perm)

    def with_node(self, node: str) -> "Tensor":
        return Tensor(node, self.shape, self.base, self.perm, self.ir_shape)


def identity(n: int) -> Shape:
    return tuple(range(n))


def channels_last(rank: int) -> Shape:
    """Permutation putting ONNX axis 0 (channels, batch excluded) last."""
    return tuple(range(1, rank)) + (0,) if rank >= 2 else identity(rank)


def plain_tensor(node: str, shape: Shape, perm: Shape | None = None) -> Tensor:
    perm = identity(len(shape)) if perm is None else tuple(perm)
    return Tensor(node, tuple(shape), tuple(shape), perm, tuple(shape[p] for p in perm))


def ir_order(t: Tensor) -> np.ndarray:
    """For every IR element in row-major order, the ONNX flat index it holds."""
    n = math.prod(t.shape)
    return np.arange(n).reshape(t.base).transpose(t.perm).ravel()


def map_constant(t: Tensor, value: np.ndarray) -> np.ndarray:
    """Bring a constant of t's full ONNX shape into t's IR layout."""
    return np.asarray(value).reshape(t.base).transpose(t.perm).reshape(t.ir_shape)


def _is_ordered(t: Tensor) -> bool:
    """True when the IR data in row-major order is the ONNX data in row-major order."""
    kept = [p for p in t.perm if t.base[p] != 1]
    return kept == sorted(kept)


class Layouts:
    """Emits (and caches) the wiring that puts a Tensor into a wanted IR layout."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._cache: dict[tuple, str] = {}

    def _add(self, op, src: str, hint: str) -> str:
        node = self.graph.add(op, [src], name=hint, source_name=hint)
        return node.name

    def _reshape(self, src: str, shape: Shape, hint: str) -> str:
        if tuple(self.graph.nodes[src].shape) == tuple(shape):
            return src
        key = (src, "reshape", tuple(shape))
        if key not in self._cache:
            self._cache[key] = self._add(Reshape(shape=tuple(shape)), src, hint + "_reshape")
        return self._cache[key]

    def _transpose(self, src: str, perm: Shape, hint: str) -> str:
        if tuple(perm) == identity(len(perm)):
            return src
        key = (src, "transpose", tuple(perm))
        if key not in self._cache:
            self._cache[key] = self._add(Transpose(perm=tuple(perm)), src, hint + "_transpose")
        return self._cache[key]

    def emit(self, t: Tensor, base: Shape, perm: Shape, ir_shape: Shape | None = None,
             hint: str = "") -> Tensor:
        """A Tensor with the same ONNX value as `t` in layout (base, perm, ir_shape)."""
        base, perm = tuple(base), tuple(perm)
        if ir_shape is None:
            ir_shape = tuple(base[p] for p in perm)
        target = Tensor(t.node, t.shape, base, perm, tuple(ir_shape))
        hint = hint or t.node
        if (t.base, t.perm, t.ir_shape) == (target.base, target.perm, target.ir_shape):
            return t
        if np.array_equal(ir_order(t), ir_order(target)):
            return target.with_node(self._reshape(t.node, target.ir_shape, hint))
        # Same base, both plain: one Transpose between the two permutations.
        if t.base == base and t.ir_shape == tuple(t.base[p] for p in t.perm):
            q = tuple(t.perm.index(p) for p in perm)
            node = self._reshape(self._transpose(t.node, q, hint), target.ir_shape, hint)
            return target.with_node(node)
        # General case: through the ONNX row-major order.
        node = t.node
        if not _is_ordered(t):
            node = self._reshape(node, tuple(t.base[p] for p in t.perm), hint)
            inverse = tuple(int(i) for i in np.argsort(t.perm))
            node = self._transpose(node, inverse, hint)
        if _is_ordered(target):
            return target.with_node(self._reshape(node, target.ir_shape, hint))
        node = self._reshape(node, base, hint)
        node = self._transpose(node, perm, hint)
        return target.with_node(self._reshape(node, target.ir_shape, hint))

    def source(self, t: Tensor, hint: str = "") -> Tensor:
        """t in the source model's layout (plain ONNX order)."""
        return self.emit(t, t.shape, identity(t.rank), t.shape, hint)

    def channels_last(self, t: Tensor, hint: str = "") -> Tensor:
        """t as a channels-last feature map (ONNX axis 0 last), plain."""
        return self.emit(t, t.shape, channels_last(t.rank), None, hint)

    def flat(self, t: Tensor, hint: str = "") -> tuple[str, np.ndarray | None]:
        """For a rank-1 t: an IR node holding its elements in some order, and that order.

        Returns (node, order) where IR element i is ONNX element order[i] (None when it is the
        identity), so a Dense can permute its kernel rows: kernel_ir = kernel_onnx[order].
        """
        (n,) = t.shape
        node = self._reshape(t.node, (n,), hint or t.node)
        order = ir_order(t)
        return node, (None if np.array_equal(order, np.arange(n)) else order)


def transpose_sample(ctx, node, t: Tensor, perm: list[int]) -> Tensor:
    """Transpose with perm[0] == 0 (the batch stays first): a new view of the same IR data."""
    tp = [p - 1 for p in perm[1:]]
    if t.base != t.shape:
        t = ctx.layouts.source(t, hint=ctx.name(node) + "_in")
    inverse = [int(i) for i in np.argsort(tp)]
    shape = tuple(t.shape[p] for p in tp)
    return Tensor(t.node, shape, shape, tuple(inverse[p] for p in t.perm), t.ir_shape)
