"""ONNX converters of spatial ops: Conv, MaxPool, AveragePool, GlobalAveragePool/GlobalMaxPool,
BatchNormalization. All work on channels-last IR data (the input is brought to that layout first).

- Conv (1D/2D, any `group` dividing C and M): kernel (M, C/group, *k) -> (*k, C/group, M), the IR's
  grouped layout (filter m in group m // (M/group); depthwise is group = C, M = k * C); pads from
  `pads` or `auto_pad`:
  SAME_* pads a total of max((ceil(L / s) - 1) * s + (k - 1) * d + 1 - L, 0) per axis, the odd unit at
  the end for SAME_UPPER and at the beginning for SAME_LOWER; VALID pads nothing.
- MaxPool / AveragePool -> Pool (count_include_pad kept). ceil_mode=1 extends the end padding so the
  last, partial window exists (`_ceil_extra`); that extension is never counted, so an average with
  count_include_pad=1 and declared pads becomes Pad(zeros, the declared pads) then a Pool that counts
  only its inputs (the padded zeros among them): exact by construction.
- GlobalAveragePool / GlobalMaxPool -> GlobalPool, whose ONNX (C, 1, ..., 1) is IR (C,).
- BatchNormalization (inference) -> BatchNorm over ONNX axis 1 = the IR's last axis.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_layout import Tensor, channels_last, plain_tensor
from nn2hls.frontends.onnx_ops import attribute_error, constant_input, converter, tensor_input
from nn2hls.ir import ops

# ---- convolution and pooling --------------------------------------------------------------------

def _pads(ctx, node, attrs, spatial, kernel, strides, dilations) -> tuple[tuple[int, int], ...]:
    nd = len(spatial)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad == "NOTSET":
        pads = list(attrs.get("pads", [0] * (2 * nd)))
        if len(pads) != 2 * nd:
            raise attribute_error(ctx, node, "pads", pads, f"{2 * nd} values (begin and end per axis)")
        return tuple((int(pads[a]), int(pads[a + nd])) for a in range(nd))
    if auto_pad == "VALID":
        return tuple((0, 0) for _ in range(nd))
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small = total // 2
            out.append((small, total - small) if auto_pad == "SAME_UPPER" else (total - small, small))
        return tuple(out)
    raise attribute_error(ctx, node, "auto_pad", auto_pad, "NOTSET, VALID, SAME_UPPER, SAME_LOWER")


def _spatial_attr(ctx, node, attrs, key: str, nd: int, default: int = 1) -> tuple[int, ...]:
    value = tuple(int(v) for v in attrs.get(key, [default] * nd))
    if len(value) != nd:
        raise attribute_error(ctx, node, key, list(value), f"{nd} values")
    return value


def _feature_map(ctx, node, inputs, what: str) -> Tensor:
    t = tensor_input(ctx, node, inputs, 0)
    if t.rank not in (2, 3):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: {what} of a per-sample shape "
                                 f"{t.shape} is not supported; supported: 1D (C, L) and 2D (C, H, W)")
    return ctx.layouts.channels_last(t, hint=ctx.name(node) + "_in")


@converter("Conv")
def conv(ctx, node, attrs, inputs):
    t = _feature_map(ctx, node, inputs, "convolution")
    nd = t.rank - 1
    group = int(attrs.get("group", 1))
    channels = t.shape[0]
    if group < 1 or channels % group:
        raise attribute_error(ctx, node, "group", group, f"a divisor of the {channels} input channels")
    w = constant_input(ctx, node, inputs, 1, "weight")
    if w.ndim != nd + 2 or w.shape[1] * group != channels or w.shape[0] % group:
        raise UnsupportedOpError(f"ONNX Conv node {ctx.label(node)}: weight of shape {w.shape} does not match "
                                 f"an input of shape {t.shape} with group={group} (expected (M, {channels // group}, "
                                 f"*kernel) with M a multiple of {group})")
    kernel = tuple(int(k) for k in w.shape[2:])
    if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != kernel:
        raise attribute_error(ctx, node, "kernel_shape", list(attrs["kernel_shape"]),
                              f"the weight's own kernel shape {list(kernel)}")
    strides = _spatial_attr(ctx, node, attrs, "strides", nd)
    dilations = _spatial_attr(ctx, node, attrs, "dilations", nd)
    pads = _pads(ctx, node, attrs, t.shape[1:], kernel, strides, dilations)
    weights = {"kernel": np.transpose(w, tuple(range(2, nd + 2)) + (1, 0))}
    bias = constant_input(ctx, node, inputs, 2, "bias", required=False)
    if bias is not None:
        weights["bias"] = bias
    op = ops.Conv(ndim=nd, kernel_size=kernel, strides=strides, dilations=dilations, pads=pads, groups=group)
    name = ctx.add(op, [t.node], node, weights)
    ir_shape = ctx.graph.nodes[name].shape
    return [plain_tensor(name, (ir_shape[-1],) + tuple(ir_shape[:-1]), channels_last(t.rank))]


@converter("MaxPool", "AveragePool")
def pool(ctx, node, attrs, inputs):
    if len(node.output) > 1 and node.output[1] and ctx.consumers(node.output[1]):
        raise UnsupportedOpError(f"ONNX MaxPool node {ctx.label(node)}: the Indices output is not supported")
    t = _feature_map(ctx, node, inputs, "pooling")
    nd = t.rank - 1
    if "kernel_shape" not in attrs:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: missing kernel_shape")
    kernel = _spatial_attr(ctx, node, attrs, "kernel_shape", nd)
    strides = _spatial_attr(ctx, node, attrs, "strides", nd)
    dilations = _spatial_attr(ctx, node, attrs, "dilations", nd)
    if any(d != 1 for d in dilations):
        raise attribute_error(ctx, node, "dilations", list(dilations), "all 1")
    pads = _pads(ctx, node, attrs, t.shape[1:], kernel, strides, dilations)
    mode = "max" if node.op_type == "MaxPool" else "avg"
    include_pad = bool(attrs.get("count_include_pad", 0)) if mode == "avg" else False
    source = t.node
    if attrs.get("ceil_mode", 0):
        extra = _ceil_extra(t.shape[1:], kernel, strides, pads)
        if any(extra):
            if include_pad and any(p for pair in pads for p in pair):
                # the declared pads count in the divisor, the ceil_mode extension does not: pad with
                # zeros explicitly (they become counted inputs), then pool without counting padding
                pad = ops.Pad(pads=tuple(pads) + ((0, 0),))
                source = ctx.graph.add(pad, [t.node], name=ctx.name(node) + "_pad",
                                       source_name=ctx.name(node)).name
                pads = tuple((0, 0) for _ in pads)
            include_pad = False
            pads = tuple((b, e + x) for (b, e), x in zip(pads, extra))
    op = ops.Pool(mode=mode, ndim=nd, pool_size=kernel, strides=strides, pads=pads,
                  count_include_pad=include_pad)
    name = ctx.add(op, [source], node)
    ir_shape = ctx.graph.nodes[name].shape
    return [plain_tensor(name, (ir_shape[-1],) + tuple(ir_shape[:-1]), channels_last(t.rank))]


def _ceil_extra(spatial, kernel, strides, pads) -> tuple[int, ...]:
    """ceil_mode=1 (ONNX MaxPool/AveragePool, torch ceil_mode=True): per axis, the number of positions
    past the end padding that the last (partial) window reaches. The output size is
    ceil((n + pb + pe - k) / s) + 1, less one when that last window would start in the end padding;
    the extension holds no input and is never counted in an average's divisor (with count_include_pad
    the declared pads are counted, the extension is not: torch's and onnxruntime's rule)."""
    extra = []
    for n, k, s, (pb, pe) in zip(spatial, kernel, strides, pads):
        out = -(-(n + pb + pe - k) // s) + 1
        if (out - 1) * s >= n + pb:
            out -= 1
        extra.append(max(0, (out - 1) * s + k - (n + pb + pe)))
    return tuple(extra)


@converter("GlobalAveragePool", "GlobalMaxPool")
def global_pool(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    if t.rank < 2:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: needs a feature map, got "
                                 f"per-sample shape {t.shape}")
    t = ctx.layouts.channels_last(t, hint=ctx.name(node) + "_in")
    mode = "avg" if node.op_type == "GlobalAveragePool" else "max"
    name = ctx.add(ops.GlobalPool(mode=mode), [t.node], node)
    shape = (t.shape[0],) + (1,) * (t.rank - 1)
    return [Tensor(name, shape, shape, channels_last(t.rank), (t.shape[0],))]


@converter("BatchNormalization")
def batchnorm(ctx, node, attrs, inputs):
    if attrs.get("training_mode", 0):
        raise attribute_error(ctx, node, "training_mode", attrs["training_mode"], "0 (inference)")
    t = tensor_input(ctx, node, inputs, 0)
    t = ctx.layouts.channels_last(t, hint=ctx.name(node) + "_in")
    weights = {key: constant_input(ctx, node, inputs, i, key)
               for i, key in enumerate(("gamma", "beta", "mean", "var"), start=1)}
    op = ops.BatchNorm(epsilon=float(attrs.get("epsilon", 1e-5)))
    return [t.with_node(ctx.add(op, [t.node], node, weights))]


