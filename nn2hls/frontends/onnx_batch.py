"""The batch axis of an ONNX file is not a contract: ops that only name a known batch stay per-sample.

Rule: nn2hls computes one sample at a time, so a graph is accepted whenever every op treats the
samples independently; a batch size written into the file (1, or a literal N such as 789444) is not
a limit on how many samples the emulator and the C simulation take. Exporters that knew the batch
write it into ops (keras2onnx and CNTK for a batch of 1):

- Reshape: the target's axis 0 is the batch when it is the file's batch size, the symbolic batch, -1
  (the rest equal to the per-sample size) or 0; on a symbolic batch, a literal 1 with the rest equal
  to the per-sample size is the batch too (such a file only runs with a batch of 1). Any other target moves elements between
  samples and is refused with that reason (`batch_mix_error`).
- Flatten(axis) of an input (B, d1, ..., dr) gives (B*d1*...*d(axis-1), d(axis)*...*dr): per-sample
  when d1*...*d(axis-1) == 1 (axis >= 1), and for axis=0 when the batch is 1.
- Squeeze/Unsqueeze naming axis 0 on a batch of 1: the same data reshaped, when the result still
  starts with a size-1 axis (Unsqueeze axis 0 of (1, C) gives (1, 1, C)).
- Transpose on a batch of 1 that moves axis 0: when the non-1 axes keep their order it is a reshape;
  otherwise the value is `Displaced` (the per-sample data seen through a permutation that puts the
  batch elsewhere). A Displaced value may feed BatchNormalization (its channel axis 1 is then an axis
  of the sample, or the batch axis itself with one scalar set of parameters), elementwise
  activations, and a Transpose that brings the batch back to axis 0 (`displaced_node`); any other
  reader is refused, as is a Displaced graph output.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_fold import BATCH
from nn2hls.frontends.onnx_layout import Tensor, transpose_sample


@dataclass(frozen=True)
class Displaced:
    """ONNX value = transpose(sample as (1, *tensor.shape), perm), with perm[0] != 0 (batch of 1)."""

    tensor: Tensor
    perm: tuple[int, ...]
    by: str  # the Transpose node that moved the batch, for messages

    @property
    def full_shape(self) -> tuple[int, ...]:
        full = (1,) + self.tensor.shape
        return tuple(full[p] for p in self.perm)


def batch_label(batch: int) -> str:
    return "N" if batch == BATCH else str(batch)


def batch_mix_error(ctx, node, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: {what} mixes the samples of the batch "
                              f"(axis 0 of size {batch_label(ctx.batch)}); nn2hls computes one sample at a time, "
                              f"so every op must keep the samples apart")


def flatten_keeps_batch(batch: int, shape: tuple[int, ...], axis: int) -> bool:
    """True when Flatten(axis) of (batch, *shape) is (batch, prod(shape)) in row-major order."""
    if axis == 0:
        return batch == 1
    return math.prod(shape[:axis - 1]) == 1


def reshape_batch(batch: int, target0: int, rest_size: int | None, size: int) -> bool:
    """True when a Reshape target whose axis 0 is `target0` keeps axis 0 as the batch."""
    if target0 in (batch, BATCH):
        return True
    return target0 == 1 and batch == BATCH and rest_size == size  # a symbolic batch that can only be 1


def squeeze_batch1(ctx, node, t: Tensor, axes: list[int]) -> Tensor | None:
    """Squeeze/Unsqueeze naming axis 0 on a batch of 1: the same data with a new shape when the
    result still starts with a size-1 axis (that axis is then the batch), else None."""
    if ctx.batch != 1:
        return None
    full = [1, *t.shape]
    if node.op_type == "Squeeze":
        drop = {a % len(full) for a in axes}
        if any(full[a] != 1 for a in drop):
            return None
        out = [s for i, s in enumerate(full) if i not in drop]
    else:
        rank = len(full) + len(axes)
        out = list(full)
        for a in sorted(a % rank for a in axes):
            out.insert(a, 1)
    if not out or out[0] != 1:
        return None
    from nn2hls.frontends.onnx_ops import relabel
    return relabel(t, out[1:])


def _moves_only_ones(full: tuple[int, ...], perm: list[int]) -> bool:
    kept = [p for p in perm if full[p] != 1]
    return kept == sorted(kept)


def transpose_batch(ctx, node, t: Tensor, perm: list[int]) -> Tensor | Displaced | None:
    """A Transpose with perm[0] != 0: a reshape or a Displaced value on a batch of 1, else None."""
    if ctx.batch != 1:
        return None
    full = (1,) + t.shape
    out = tuple(full[p] for p in perm)
    if out[0] == 1 and _moves_only_ones(full, perm):
        from nn2hls.frontends.onnx_ops import relabel
        return relabel(t, out[1:])
    return Displaced(t, tuple(perm), ctx.name(node))


def _refuse(ctx, node, value: Displaced) -> UnsupportedOpError:
    return UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)} reads a tensor whose batch axis was "
                              f"moved by Transpose '{value.by}' (perm {list(value.perm)}); supported after such "
                              f"a Transpose: BatchNormalization, elementwise activations and a Transpose that "
                              f"puts the batch back on axis 0")


def _batchnorm(ctx, node, attrs, inputs, value: Displaced) -> Displaced:
    from nn2hls.frontends.onnx_ops import attribute_error, constant_input
    from nn2hls.ir import ops

    if attrs.get("training_mode", 0):
        raise attribute_error(ctx, node, "training_mode", attrs["training_mode"], "0 (inference)")
    t = value.tensor
    axis = value.perm[1] if len(value.perm) > 1 else 0  # BatchNormalization's channel axis 1, in the sample
    if axis == 0:
        t = ctx.layouts.channels_last(t, hint=ctx.name(node) + "_in")
    else:
        c = axis - 1
        perm = tuple(i for i in range(t.rank) if i != c) + (c,)
        t = ctx.layouts.emit(t, t.shape, perm, None, hint=ctx.name(node) + "_in")
    width = t.ir_shape[-1] if t.ir_shape else 1
    weights = {}
    for i, key in enumerate(("gamma", "beta", "mean", "var"), start=1):
        w = np.asarray(constant_input(ctx, node, inputs, i, key), dtype=np.float64).ravel()
        if axis == 0 and w.size == 1:
            w = np.full(width, w[0])  # the batch axis of size 1 is the channel: one scalar for every element
        weights[key] = w
    op = ops.BatchNorm(epsilon=float(attrs.get("epsilon", 1e-5)))
    return Displaced(t.with_node(ctx.add(op, [t.node], node, weights)), value.perm, value.by)


def displaced_node(ctx, node, attrs, inputs) -> list:
    """Convert an op reading a Displaced value (see the module docstring), or refuse it."""
    from nn2hls.frontends.onnx_ops import CONVERTERS, PER_ELEMENT

    value = inputs[0] if inputs and isinstance(inputs[0], Displaced) else None
    if value is None or any(isinstance(v, (Displaced, Tensor)) for v in inputs[1:]):
        shown = next(v for v in inputs if isinstance(v, Displaced))
        raise _refuse(ctx, node, shown)
    op = node.op_type
    if op == "Transpose":
        perm2 = [int(p) for p in attrs.get("perm", list(range(len(value.perm) - 1, -1, -1)))]
        composed = [value.perm[q] for q in perm2]
        if composed[0] == 0:
            return [transpose_sample(ctx, node, value.tensor, composed)]
        return [Displaced(value.tensor, tuple(composed), value.by)]
    if op == "BatchNormalization":
        return [_batchnorm(ctx, node, attrs, inputs, value)]
    if op in PER_ELEMENT and op in CONVERTERS:
        (result, *rest) = CONVERTERS[op](ctx, node, attrs, [value.tensor] + list(inputs[1:]))
        return [Displaced(result, value.perm, value.by)] + list(rest)
    raise _refuse(ctx, node, value)

