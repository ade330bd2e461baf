"""ONNX converters of wiring ops: Identity, Dropout, Flatten, Reshape, Squeeze, Unsqueeze, Transpose,
Concat. Except Concat they emit no IR node: they change how the ONNX value maps onto the IR data
(`onnx_layout.Tensor`), and the consumer that needs a layout asks for it.

Reshape: 0 copies the input dimension (unless allowzero), -1 is inferred; the target's axis 0 must be
the batch (a folded symbolic batch, the fixed batch size, 0, -1 or 1 with the rest equal to the
per-sample size). Flatten must keep the batch on axis 0. Transpose must keep axis 0 first, except on
a batch of 1 (`onnx_batch`); perm t maps the layout's perm p to inv(t)[p].
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_batch import (batch_mix_error, flatten_keeps_batch, reshape_batch, squeeze_batch1,
                                         transpose_batch)
from nn2hls.frontends.onnx_fold import BATCH
from nn2hls.frontends.onnx_layout import Tensor, identity, plain_tensor, transpose_sample
from nn2hls.frontends.onnx_ops import attribute_error, converter, onnx_axis, relabel, tensor_input
from nn2hls.ir import ops

# ---- wiring -------------------------------------------------------------------------------------

@converter("Identity", "Dropout", per_element=True)
def identity_op(ctx, node, attrs, inputs):
    if node.op_type == "Dropout" and len(node.output) > 1 and node.output[1] and ctx.consumers(node.output[1]):
        raise UnsupportedOpError(f"ONNX Dropout node {ctx.label(node)}: its mask output is not supported")
    return [tensor_input(ctx, node, inputs, 0)]


@converter("Flatten")
def flatten(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    axis = int(attrs.get("axis", 1))
    if axis < 0:
        axis += t.rank + 1
    if not 0 <= axis <= t.rank + 1:
        raise attribute_error(ctx, node, "axis", attrs.get("axis", 1), f"an axis in [{-t.rank - 1}, {t.rank + 1}]")
    if not flatten_keeps_batch(ctx.batch, t.shape, axis):
        raise batch_mix_error(ctx, node, f"axis={attrs.get('axis', 1)} on an input of shape "
                                         f"({', '.join(map(str, (ctx.batch,) + t.shape))})".replace(
                                             str(BATCH), "N"))
    return [relabel(t, (math.prod(t.shape),))]


@converter("Reshape")
def reshape(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    if ctx.opset < 5 or len(inputs) < 2:
        raise UnsupportedOpError(f"ONNX Reshape node {ctx.label(node)}: missing the shape input")
    if isinstance(inputs[1], Tensor):
        raise UnsupportedOpError(f"ONNX Reshape node {ctx.label(node)}: the target shape is computed at run "
                                 f"time; only shapes known at import are supported")
    target = [int(s) for s in np.asarray(inputs[1]).ravel()]
    full = (ctx.batch,) + t.shape
    if not attrs.get("allowzero", 0):
        target = [full[i] if s == 0 and i < len(full) else s for i, s in enumerate(target)]
    size = math.prod(t.shape)
    rest = target[1:]
    known_rest = math.prod(rest) if rest.count(-1) == 0 else None
    ok = bool(target) and (reshape_batch(ctx.batch, target[0], known_rest, size) or target[0] == -1)
    if ok and rest.count(-1) + (target[0] == -1) > 1:
        ok = False
    if ok and target[0] == -1:
        ok = -1 not in rest and math.prod(rest) == size
    elif ok and -1 in rest:
        known = math.prod(s for s in rest if s != -1)
        ok = known > 0 and size % known == 0
        rest = [size // known if s == -1 else s for s in rest]
    if not ok or math.prod(rest) != size or any(s <= 0 for s in rest):
        shown = ["N" if s == BATCH else s for s in np.asarray(inputs[1]).ravel().tolist()]
        raise batch_mix_error(ctx, node, f"target shape {shown} for an input of shape "
                                         f"({', '.join(map(str, (ctx.batch,) + t.shape))})".replace(
                                             str(BATCH), "N"))
    return [relabel(t, rest)]


@converter("Squeeze", "Unsqueeze")
def squeeze(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    if ctx.opset >= 13:
        axes = None if len(inputs) < 2 or inputs[1] is None else [int(a) for a in np.asarray(inputs[1]).ravel()]
    else:
        axes = attrs.get("axes")
    shape = list(t.shape)
    out_rank = t.rank + 1 + (len(axes or []) if node.op_type == "Unsqueeze" else 0)
    if ctx.batch == 1 and axes is not None and any(int(a) % out_rank == 0 for a in axes):
        moved = squeeze_batch1(ctx, node, t, [int(a) for a in axes])
        if moved is None:
            raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: axes={list(axes)} on an input "
                                     f"of shape (1, {', '.join(map(str, t.shape))}) removes the batch axis 0; "
                                     f"nn2hls computes one sample at a time with the batch on axis 0")
        return [moved]
    if node.op_type == "Squeeze":
        if axes is None:
            axes = [i + 1 for i, s in enumerate(shape) if s == 1]
        drop = {onnx_axis(ctx, node, a, t.rank, "axes") for a in axes}
        if any(shape[a] != 1 for a in drop):
            raise attribute_error(ctx, node, "axes", list(axes), "axes of size 1")
        return [relabel(t, [s for i, s in enumerate(shape) if i not in drop])]
    if axes is None:
        raise UnsupportedOpError(f"ONNX Unsqueeze node {ctx.label(node)}: missing axes")
    rank = t.rank + len(axes)
    for a in sorted(onnx_axis(ctx, node, a, rank, "axes") for a in axes):
        shape.insert(a, 1)
    return [relabel(t, shape)]


@converter("Transpose")
def transpose(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    perm = [int(p) for p in attrs.get("perm", list(range(t.rank, -1, -1)))]
    if sorted(perm) != list(range(t.rank + 1)):
        raise attribute_error(ctx, node, "perm", perm, f"a permutation of 0..{t.rank}")
    if perm[0] != 0:
        moved = transpose_batch(ctx, node, t, perm)
        if moved is None:
            raise batch_mix_error(ctx, node, f"perm={perm}, which moves the batch axis 0,")
        return [moved]
    return [transpose_sample(ctx, node, t, perm)]


@converter("Concat")
def concat(ctx, node, attrs, inputs):
    values = [v for v in inputs if v is not None]
    if not all(isinstance(v, Tensor) for v in values):
        raise UnsupportedOpError(f"ONNX Concat node {ctx.label(node)}: concatenating a constant with run-time "
                                 f"tensors is not supported")
    first = values[0]
    axis = onnx_axis(ctx, node, int(attrs["axis"]), first.rank)
    perm = first.perm if first.plain else identity(first.rank)
    parts = [ctx.layouts.emit(v, v.shape, perm, hint=ctx.name(node) + f"_in{i}") for i, v in enumerate(values)]
    name = ctx.add(ops.Concat(axis=perm.index(axis)), [p.node for p in parts], node)
    shape = list(first.shape)
    shape[axis] = sum(v.shape[axis] for v in values)
    return [plain_tensor(name, tuple(shape), perm)]
