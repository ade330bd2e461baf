"""ONNX converters of the reductions ReduceMean, ReduceMax, ReduceMin and ReduceSum.

Rule (ONNX operator spec): reduce over `axes` (an attribute before opset 18 — before opset 13 for
ReduceSum — and an optional second input from then on); negative axes count from the end; `keepdims`
(default 1) keeps the reduced axes with size 1. Omitted or empty axes reduce every axis, the batch
included, unless `noop_with_empty_axes=1` (then the op is the identity): a reduction over the batch is
refused. The reduced axes must exclude the batch axis 0.

Mapping: mean or max over every axis but the channels (ONNX per-sample axis 0) of a feature map is
global pooling (`GlobalPool` on the channels-last data); every other case is a `Reduce` node over the
matching IR axes of the input's layout, which drops the reduced axes (keepdims only relabels the ONNX
value: inserting axes of size 1 moves no data).
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_layout import Tensor, channels_last
from nn2hls.frontends.onnx_ops import attribute_error, converter, onnx_axis, tensor_input
from nn2hls.ir import ops

_MODES = {"ReduceMean": "mean", "ReduceMax": "max", "ReduceMin": "min", "ReduceSum": "sum"}
_AXES_INPUT_FROM = {"ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18, "ReduceSum": 13}


def _axes(ctx, node, attrs, inputs) -> list[int] | None:
    if ctx.opset < _AXES_INPUT_FROM[node.op_type]:
        axes = attrs.get("axes")
        return None if axes is None else [int(a) for a in axes]
    value = inputs[1] if len(inputs) > 1 else None
    if isinstance(value, Tensor):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: the axes are computed at run "
                                 f"time; only axes known at import are supported")
    return None if value is None else [int(a) for a in np.asarray(value).ravel()]


@converter("ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum")
def reduce(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    mode = _MODES[node.op_type]
    axes = _axes(ctx, node, attrs, inputs)
    keepdims = bool(int(attrs.get("keepdims", 1)))
    if not axes:
        if int(attrs.get("noop_with_empty_axes", 0)):
            return [t]
        raise attribute_error(ctx, node, "axes", axes or [], "axes that exclude the batch axis 0 (empty axes "
                              "reduce the batch too; e.g. torch: x.mean(dim=(2, 3)), not x.mean())")
    reduced = sorted({onnx_axis(ctx, node, a, t.rank, "axes") for a in axes})
    out_shape = tuple(1 if a in reduced else s for a, s in enumerate(t.shape)) if keepdims else \
        tuple(s for a, s in enumerate(t.shape) if a not in reduced)
    kept_base = tuple(1 if a in reduced else s for a, s in enumerate(t.shape))
    hint = ctx.name(node) + "_in"
    if mode in ("mean", "max") and t.rank >= 2 and reduced == list(range(1, t.rank)):
        t = ctx.layouts.channels_last(t, hint=hint)
        name = ctx.add(ops.GlobalPool(mode="avg" if mode == "mean" else "max"), [t.node], node)
        return [Tensor(name, out_shape, kept_base, channels_last(t.rank), (t.shape[0],))]
    if not t.plain:
        t = ctx.layouts.source(t, hint=hint)
    ir_axes = tuple(sorted(t.perm.index(a) for a in reduced))
    name = ctx.add(ops.Reduce(mode=mode, axes=ir_axes, keepdims=False), [t.node], node)
    ir_shape = tuple(ctx.graph.nodes[name].shape)
    if not out_shape:  # every per-sample axis reduced without keepdims: the ONNX value is (N,)
        return [Tensor(name, (), (), (), ir_shape)]
    return [Tensor(name, out_shape, kept_base, t.perm, ir_shape)]
