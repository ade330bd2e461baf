"""Per-op converters from ONNX nodes (with run-time inputs) to IR nodes.

Each converter receives the import context, the ONNX node, its attributes and its input values (a
numpy array for a constant, an `onnx_layout.Tensor` for a run-time value, None for an omitted optional
input) and returns the values of the node's outputs. ONNX axes are mapped to IR axes through each
Tensor's layout (see `onnx_layout`); the batch axis (ONNX axis 0) never moves. Rules by op:
- Gemm: Y = alpha * A' @ B' + beta * C with constant B, C -> Dense(kernel = alpha * B', bias = beta * C).
  MatMul with a constant right operand -> Dense; a following Add of a constant is fused as its bias.
  A Dense reading a flattened feature map permutes its kernel rows to the IR order instead of moving
  data.
- Conv (1D/2D, group = 1): kernel (M, C, *k) -> (*k, C, M); pads from `pads` or `auto_pad`
  (SAME_UPPER puts the odd padding at the end, SAME_LOWER at the beginning).
- MaxPool / AveragePool -> Pool (ceil_mode only when it gives the floor-mode shape);
  GlobalAveragePool / GlobalMaxPool -> GlobalPool, whose ONNX (C, 1, 1) is IR (C,).
- BatchNormalization -> BatchNorm; Relu, LeakyRelu, Elu, Sigmoid, HardSigmoid, Tanh, Clip ->
  Activation; Softmax -> Softmax (before opset 13 over the flattened trailing axes).
- Add/Sub/Mul/Div with a constant -> ScaleShift (y = x * scale + shift, constant reduced to a scalar or
  per-channel vector when it is one); Add/Sub/Mul of two tensors -> Elementwise; Concat -> Concat.
- Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Identity, Dropout only relabel the layout: no node.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_fold import BATCH
from nn2hls.frontends.onnx_layout import Tensor, channels_last, identity, map_constant, plain_tensor
from nn2hls.ir import ops

Converter = Callable[[Any, Any, dict, list], list]
CONVERTERS: dict[str, Converter] = {}


def converter(*names: str):
    def register(fn: Converter) -> Converter:
        for name in names:
            CONVERTERS[name] = fn
        return fn
    return register


# ---- helpers ------------------------------------------------------------------------------------

def tensor_input(ctx, node, inputs: list, index: int = 0) -> Tensor:
    value = inputs[index] if index < len(inputs) else None
    if not isinstance(value, Tensor):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: input {index} must be a "
                                 f"run-time tensor here")
    return value


def constant_input(ctx, node, inputs: list, index: int, what: str, required: bool = True):
    value = inputs[index] if index < len(inputs) else None
    if value is None and not required:
        return None
    if value is None or isinstance(value, Tensor):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: {what} (input {index}) must "
                                 f"be a constant (an initializer); computed {what} is not supported")
    return np.asarray(value, dtype=np.float64)


def attribute_error(ctx, node, attr: str, value, supported: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: attribute {attr}={value!r} is "
                              f"not supported; supported: {supported}")


def _onnx_axis(ctx, node, axis: int, rank: int, what: str = "axis") -> int:
    """An ONNX axis (batch included, may be negative) as an axis of the per-sample shape."""
    full = rank + 1
    if not -full <= axis < full:
        raise attribute_error(ctx, node, what, axis, f"an axis in [{-full}, {full - 1}]")
    axis %= full
    if axis == 0:
        raise attribute_error(ctx, node, what, axis, "axes other than the batch axis 0")
    return axis - 1


def relabel(t: Tensor, shape) -> Tensor:
    """The same data seen with another ONNX shape of the same size (Reshape-like ops)."""
    return Tensor(t.node, tuple(int(s) for s in shape), t.base, t.perm, t.ir_shape)


# ---- Dense --------------------------------------------------------------------------------------

def _dense(ctx, node, t: Tensor, kernel: np.ndarray, bias: np.ndarray | None) -> Tensor:
    units = kernel.shape[1]
    if t.shape[-1] != kernel.shape[0]:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: weight of shape "
                                 f"{kernel.shape} does not match an input of {t.shape[-1]} features")
    weights = {"kernel": kernel}
    if bias is not None:
        weights["bias"] = bias
    if t.rank == 1:
        src, order = ctx.layouts.flat(t, ctx.name(node) + "_in")
        if order is not None:
            weights["kernel"] = kernel[order]
        name = ctx.add(ops.Dense(), [src], node, weights)
        return plain_tensor(name, (units,))
    if not (t.plain and t.perm[-1] == t.rank - 1):
        t = ctx.layouts.emit(t, t.shape, identity(t.rank), hint=ctx.name(node) + "_in")
    name = ctx.add(ops.Dense(), [t.node], node, weights)
    shape = t.shape[:-1] + (units,)
    return plain_tensor(name, shape, t.perm)


@converter("Gemm")
def gemm(ctx, node, attrs, inputs):
    a = tensor_input(ctx, node, inputs, 0)
    if attrs.get("transA", 0):
        raise attribute_error(ctx, node, "transA", attrs["transA"], "transA=0 (the batch must stay axis 0)")
    if a.rank != 1:
        raise UnsupportedOpError(f"ONNX Gemm node {ctx.label(node)}: input A must be 2-D (batch, features), "
                                 f"got per-sample shape {a.shape}")
    b = constant_input(ctx, node, inputs, 1, "B")
    if b.ndim != 2:
        raise UnsupportedOpError(f"ONNX Gemm node {ctx.label(node)}: B must be 2-D, got shape {b.shape}")
    if attrs.get("transB", 0):
        b = b.T
    kernel = float(attrs.get("alpha", 1.0)) * b
    c = constant_input(ctx, node, inputs, 2, "C", required=False)
    bias = None
    if c is not None:
        units = kernel.shape[1]
        try:
            c = np.broadcast_to(c, (1, units))
        except ValueError:
            raise UnsupportedOpError(f"ONNX Gemm node {ctx.label(node)}: C of shape {c.shape} must broadcast "
                                     f"to (1, {units}); a per-sample C is not supported") from None
        bias = float(attrs.get("beta", 1.0)) * c[0]
    return [_dense(ctx, node, a, kernel, bias)]


@converter("MatMul")
def matmul(ctx, node, attrs, inputs):
    if isinstance(inputs[0], Tensor) and not isinstance(inputs[1], Tensor):
        w = constant_input(ctx, node, inputs, 1, "B")
        if w.ndim != 2:
            raise UnsupportedOpError(f"ONNX MatMul node {ctx.label(node)}: the constant operand must be 2-D "
                                     f"(in_features, units), got shape {w.shape}")
        return [_dense(ctx, node, inputs[0], w, None)]
    raise UnsupportedOpError(f"ONNX MatMul node {ctx.label(node)}: only x @ W with a constant W is supported "
                             f"(a product of two run-time tensors or W @ x is not)")


def _try_fuse_bias(ctx, node, t: Tensor, c: np.ndarray, sign: float) -> Tensor | None:
    """Add a constant to the bias of the Dense that produced t, when nothing else reads it."""
    producer = ctx.graph.nodes.get(t.node)
    if producer is None or not isinstance(producer.op, ops.Dense) or not t.plain:
        return None
    if ctx.consumers(node.input[0]) != 1 or ctx.graph.consumers(t.node) or t.perm[-1] != t.rank - 1:
        return None
    units = producer.weights["kernel"].shape[1]
    if c.ndim > t.rank + 1 or any(d != 1 for d in c.shape[:-1]) or (c.ndim and c.shape[-1] not in (1, units)):
        return None
    vector = np.broadcast_to(c.reshape(-1) if c.ndim else c, (units,))
    producer.weights["bias"] = producer.weights.get("bias", np.zeros(units)) + sign * vector
    return t


# ---- arithmetic ---------------------------------------------------------------------------------

def _reduce_constant(value: np.ndarray) -> np.ndarray:
    """A scalar or per-last-axis vector when the constant is one, else the full array."""
    if value.size and np.all(value == value.reshape(-1)[0]):
        return np.asarray(value.reshape(-1)[0])
    if value.ndim >= 2:
        flat = value.reshape(-1, value.shape[-1])
        if np.all(flat == flat[0]):
            return flat[0].copy()
    return value


def _scaleshift(ctx, node, t: Tensor, c: np.ndarray, kind: str, constant_first: bool) -> Tensor:
    full = (1,) + t.shape
    try:
        if np.broadcast_shapes(full, c.shape) != full:
            raise ValueError
    except ValueError:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: constant of shape {c.shape} "
                                 f"would broadcast the tensor of shape {('N',) + t.shape}; only constants "
                                 f"that broadcast to the tensor are supported") from None
    value = map_constant(t, np.broadcast_to(c, full)[0])
    one, zero = np.asarray(1.0), np.asarray(0.0)
    if kind == "Add":
        scale, shift = one, value
    elif kind == "Sub":
        scale, shift = (-one, value) if constant_first else (one, -value)
    elif kind == "Mul":
        scale, shift = value, zero
    else:  # Div
        if constant_first:
            raise UnsupportedOpError(f"ONNX Div node {ctx.label(node)}: constant / tensor is not supported "
                                     f"(only tensor / constant)")
        if np.any(value == 0):
            raise UnsupportedOpError(f"ONNX Div node {ctx.label(node)}: division by a constant containing 0")
        scale, shift = 1.0 / value, zero
    weights = {"scale": _reduce_constant(np.asarray(scale)), "shift": _reduce_constant(np.asarray(shift))}
    return t.with_node(ctx.add(ops.ScaleShift(), [t.node], node, weights))


@converter("Add", "Sub", "Mul", "Div")
def arithmetic(ctx, node, attrs, inputs):
    a, b = inputs[0], inputs[1]
    kind = node.op_type
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if kind == "Div":
            raise UnsupportedOpError(f"ONNX Div node {ctx.label(node)}: division of two run-time tensors is "
                                     f"not supported")
        if a.shape != b.shape:
            raise UnsupportedOpError(f"ONNX {kind} node {ctx.label(node)}: tensors of shapes {a.shape} and "
                                     f"{b.shape}; broadcasting between two run-time tensors is not supported")
        b = ctx.layouts.emit(b, a.base, a.perm, a.ir_shape, hint=ctx.name(node) + "_b")
        op = ops.Elementwise(operation=kind.lower())
        return [a.with_node(ctx.add(op, [a.node, b.node], node))]
    constant_first = not isinstance(a, Tensor)
    t, c = (b, np.asarray(a, dtype=np.float64)) if constant_first else (a, np.asarray(b, dtype=np.float64))
    if kind in ("Add", "Sub") and not constant_first:
        fused = _try_fuse_bias(ctx, node, t, c, 1.0 if kind == "Add" else -1.0)
        if fused is not None:
            return [fused]
    return [_scaleshift(ctx, node, t, c, kind, constant_first)]


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
    if group != 1:
        raise attribute_error(ctx, node, "group", group, "group=1 (grouped and depthwise convolutions are "
                                                         "not supported yet)")
    w = constant_input(ctx, node, inputs, 1, "weight")
    if w.ndim != nd + 2 or w.shape[1] != t.shape[0]:
        raise UnsupportedOpError(f"ONNX Conv node {ctx.label(node)}: weight of shape {w.shape} does not match "
                                 f"an input of shape {t.shape}")
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
    op = ops.Conv(ndim=nd, kernel_size=kernel, strides=strides, dilations=dilations, pads=pads)
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
    if attrs.get("ceil_mode", 0):
        for size, k, s, (pb, pe) in zip(t.shape[1:], kernel, strides, pads):
            floor_out = (size + pb + pe - k) // s + 1
            ceil_out = -(-(size + pb + pe - k) // s) + 1
            if (ceil_out - 1) * s >= size + pb:
                ceil_out -= 1
            if ceil_out != floor_out:
                raise attribute_error(ctx, node, "ceil_mode", 1, "ceil_mode=0, or ceil_mode=1 where it gives "
                                      "the same output size (here it adds a partial window)")
    mode = "max" if node.op_type == "MaxPool" else "avg"
    op = ops.Pool(mode=mode, ndim=nd, pool_size=kernel, strides=strides, pads=pads,
                  count_include_pad=bool(attrs.get("count_include_pad", 0)) if mode == "avg" else False)
    name = ctx.add(op, [t.node], node)
    ir_shape = ctx.graph.nodes[name].shape
    return [plain_tensor(name, (ir_shape[-1],) + tuple(ir_shape[:-1]), channels_last(t.rank))]


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


# ---- element-wise functions ---------------------------------------------------------------------

def _unary(ctx, node, inputs, op: ops.Op) -> list:
    t = tensor_input(ctx, node, inputs, 0)
    return [t.with_node(ctx.add(op, [t.node], node))]


_SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}


@converter("Relu", "Sigmoid", "Tanh")
def simple_activation(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function=_SIMPLE[node.op_type]))


@converter("LeakyRelu")
def leaky_relu(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function="leaky_relu", alpha=float(attrs.get("alpha", 0.01))))


@converter("Elu")
def elu(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function="elu", alpha=float(attrs.get("alpha", 1.0))))


@converter("HardSigmoid")
def hard_sigmoid(ctx, node, attrs, inputs):
    op = ops.Activation(function="hard_sigmoid", alpha=float(attrs.get("alpha", 0.2)),
                        beta=float(attrs.get("beta", 0.5)))
    return _unary(ctx, node, inputs, op)


def _bound(value, default: float) -> float:
    if value is None:
        return default
    v = float(np.asarray(value).reshape(-1)[0])
    return math.copysign(math.inf, v) if abs(v) >= 3.4e38 else v


@converter("Clip")
def clip(ctx, node, attrs, inputs):
    if ctx.opset < 11:
        low, high = attrs.get("min"), attrs.get("max")
    else:
        low = constant_input(ctx, node, inputs, 1, "min", required=False)
        high = constant_input(ctx, node, inputs, 2, "max", required=False)
    op = ops.Activation(function="clip", low=_bound(low, -math.inf), high=_bound(high, math.inf))
    return _unary(ctx, node, inputs, op)


@converter("Softmax")
def softmax(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    default = -1 if ctx.opset >= 13 else 1
    axis = _onnx_axis(ctx, node, int(attrs.get("axis", default)), t.rank)
    if ctx.opset >= 13:
        if not t.plain:
            t = ctx.layouts.source(t, hint=ctx.name(node) + "_in")
        return [t.with_node(ctx.add(ops.Softmax(axis=t.perm.index(axis)), [t.node], node))]
    # Before opset 13: softmax over the trailing axes from `axis`, flattened into one.
    base = t.shape[:axis] + (math.prod(t.shape[axis:]),)
    flat = ctx.layouts.emit(t, base, identity(len(base)), base, hint=ctx.name(node) + "_in")
    return [flat.with_node(ctx.add(ops.Softmax(axis=-1), [flat.node], node))]


# ---- wiring -------------------------------------------------------------------------------------

@converter("Identity", "Dropout")
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
    if axis != 1:
        raise attribute_error(ctx, node, "axis", attrs.get("axis", 1), "axis=1 (other values merge the batch "
                                                                        "axis with the features)")
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
    ok = bool(target) and (target[0] in (ctx.batch, BATCH) or target[0] == -1)
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
        raise UnsupportedOpError(f"ONNX Reshape node {ctx.label(node)}: target shape {shown} for an input of "
                                 f"shape (N, {', '.join(map(str, t.shape))}) would change the batch axis; "
                                 f"only reshapes that keep axis 0 as the batch are supported")
    return [relabel(t, rest)]


@converter("Squeeze", "Unsqueeze")
def squeeze(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    if ctx.opset >= 13:
        axes = None if len(inputs) < 2 or inputs[1] is None else [int(a) for a in np.asarray(inputs[1]).ravel()]
    else:
        axes = attrs.get("axes")
    shape = list(t.shape)
    if node.op_type == "Squeeze":
        if axes is None:
            axes = [i + 1 for i, s in enumerate(shape) if s == 1]
        drop = {_onnx_axis(ctx, node, a, t.rank, "axes") for a in axes}
        if any(shape[a] != 1 for a in drop):
            raise attribute_error(ctx, node, "axes", list(axes), "axes of size 1")
        return [relabel(t, [s for i, s in enumerate(shape) if i not in drop])]
    if axes is None:
        raise UnsupportedOpError(f"ONNX Unsqueeze node {ctx.label(node)}: missing axes")
    rank = t.rank + len(axes)
    for a in sorted(_onnx_axis(ctx, node, a, rank, "axes") for a in axes):
        shape.insert(a, 1)
    return [relabel(t, shape)]


@converter("Transpose")
def transpose(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    perm = [int(p) for p in attrs.get("perm", list(range(t.rank, -1, -1)))]
    if sorted(perm) != list(range(t.rank + 1)) or perm[0] != 0:
        raise attribute_error(ctx, node, "perm", perm, "permutations that keep the batch axis 0 first")
    tp = [p - 1 for p in perm[1:]]
    if t.base != t.shape:
        t = ctx.layouts.source(t, hint=ctx.name(node) + "_in")
    inverse = [int(i) for i in np.argsort(tp)]
    shape = tuple(t.shape[p] for p in tp)
    return [Tensor(t.node, shape, shape, tuple(inverse[p] for p in t.perm), t.ir_shape)]


@converter("Concat")
def concat(ctx, node, attrs, inputs):
    values = [v for v in inputs if v is not None]
    if not all(isinstance(v, Tensor) for v in values):
        raise UnsupportedOpError(f"ONNX Concat node {ctx.label(node)}: concatenating a constant with run-time "
                                 f"tensors is not supported")
    first = values[0]
    axis = _onnx_axis(ctx, node, int(attrs["axis"]), first.rank)
    perm = first.perm if first.plain else identity(first.rank)
    parts = [ctx.layouts.emit(v, v.shape, perm, hint=ctx.name(node) + f"_in{i}") for i, v in enumerate(values)]
    name = ctx.add(ops.Concat(axis=perm.index(axis)), [p.node for p in parts], node)
    shape = list(first.shape)
    shape[axis] = sum(v.shape[axis] for v in values)
    return [plain_tensor(name, tuple(shape), perm)]
