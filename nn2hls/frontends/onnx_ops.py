"""Per-op converters from ONNX nodes (with run-time inputs) to IR nodes.

Each converter receives the import context, the ONNX node, its attributes and its input values (a
numpy array for a constant, an `onnx_layout.Tensor` for a run-time value, None for an omitted optional
input) and returns the values of the node's outputs. ONNX axes are mapped to IR axes through each
Tensor's layout (see `onnx_layout`); the batch axis (ONNX axis 0) never moves. Rules by op:
- Gemm: Y = alpha * A' @ B' + beta * C with constant B, C -> Dense(kernel = alpha * B', bias = beta * C).
  MatMul with a constant right operand -> Dense; a following Add of a constant is fused as its bias.
  MatMul with a constant left operand W (M, K): W @ x is a Dense with kernel W^T over x's axis -2,
  read through a swap of x's last two axes (wiring only).
  A Dense reading a flattened feature map permutes its kernel rows to the IR order instead of moving
  data.
- Spatial ops (Conv, pooling, BatchNormalization) are in `onnx_ops_spatial`; wiring ops (Flatten,
  Reshape, Squeeze, Unsqueeze, Transpose, Identity, Dropout, Concat) in `onnx_ops_wiring`, which only
  relabel the layout (no node) except Concat.
- Relu, LeakyRelu, Elu, Sigmoid, HardSigmoid, Tanh, Clip -> Activation; Softmax -> Softmax (before opset 13 over the flattened trailing axes).
- PRelu (constant slope broadcast against x, unidirectionally: scalar or per channel) -> prelu with the
  slopes in the IR layout; Selu (alpha, gamma) -> selu(alpha, beta=gamma); Celu; Softplus; Softsign;
  ThresholdedRelu (alpha; `value` from `onnx_patterns` for torch's Threshold); HardSwish (alpha 1/6,
  beta 1/2); Mish; Gelu (approximate none -> gelu, tanh -> gelu_tanh). Exporters' decompositions of
  GELU, softsign, mish and Threshold are fused back first (`onnx_patterns`).
- Add/Sub/Mul/Div with a constant -> ScaleShift (y = x * scale + shift, constant reduced to a scalar or
  per-channel vector when it is one; a feature map with a per-channel constant is taken channels-last);
  Add/Sub/Mul of two tensors -> Elementwise, also when their shapes broadcast (equal ranks, every axis
  equal or 1; Div of two tensors is refused). Max/Min/Sum/Mean of several inputs -> a chain of
  Elementwise max/min/add (scalar constants: a clip bound or a shift; Mean then times 1/n). Neg is a
  ScaleShift by -1.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_layout import Tensor, identity, map_constant, plain_tensor
from nn2hls.ir import ops

Converter = Callable[[Any, Any, dict, list], list]
CONVERTERS: dict[str, Converter] = {}
PER_ELEMENT: set[str] = set()
"""ONNX ops whose converters only read input 0 and keep its layout (element-wise activations,
Identity): they may read a batch-displaced value (`onnx_batch.displaced_node`)."""


def converter(*names: str, per_element: bool = False):
    """Register the decorated function as the converter of the ONNX op types `names`."""
    def register(fn: Converter) -> Converter:
        for name in names:
            CONVERTERS[name] = fn
            if per_element:
                PER_ELEMENT.add(name)
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


def onnx_axis(ctx, node, axis: int, rank: int, what: str = "axis") -> int:
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
    if isinstance(inputs[1], Tensor) and not isinstance(inputs[0], Tensor):
        return [_left_matmul(ctx, node, constant_input(ctx, node, inputs, 0, "A"), inputs[1])]
    raise UnsupportedOpError(f"ONNX MatMul node {ctx.label(node)}: only products with one constant operand "
                             f"(x @ W or W @ x) are supported, not a product of two run-time tensors")


def _left_matmul(ctx, node, w: np.ndarray, t: Tensor) -> Tensor:
    """W @ x with a constant W of shape (M, K) and x of per-sample shape (..., K, N): y[..., m, n] =
    sum_k W[m, k] x[..., k, n], a Dense with kernel W^T over x's axis -2. The IR holds x with its last
    two axes swapped ((..., N, K), a renaming of wires), the Dense gives (..., N, M), and the result is
    the ONNX (..., M, N) in that swapped layout: no data moves."""
    while w.ndim > 2 and w.shape[0] == 1:  # leading broadcast axes of size 1 add nothing
        w = w[0]
    if w.ndim != 2:
        raise UnsupportedOpError(f"ONNX MatMul node {ctx.label(node)}: the constant left operand must be 2-D "
                                 f"(M, K), got shape {w.shape} (a different matrix per leading axis is not supported)")
    if t.rank < 2:
        raise UnsupportedOpError(f"ONNX MatMul node {ctx.label(node)}: W @ x needs x of per-sample rank >= 2 "
                                 f"(..., K, N); got per-sample shape {t.shape}, whose matrix axis is the batch")
    if t.shape[-2] != w.shape[1]:
        raise UnsupportedOpError(f"ONNX MatMul node {ctx.label(node)}: W of shape {w.shape} does not match "
                                 f"x of per-sample shape {t.shape} (W's {w.shape[1]} columns vs x's axis -2)")
    swap = identity(t.rank - 2) + (t.rank - 1, t.rank - 2)
    t = ctx.layouts.emit(t, t.shape, swap, hint=ctx.name(node) + "_in")
    name = ctx.add(ops.Dense(), [t.node], node, {"kernel": w.T.copy()})
    return plain_tensor(name, t.shape[:-2] + (int(w.shape[0]), t.shape[-1]), swap)


def _try_fuse_bias(ctx, node, t: Tensor, c: np.ndarray, sign: float) -> Tensor | None:
    """Add a constant to the bias of the Dense that produced t, when nothing else reads it and the
    constant, seen in t's IR layout, is one value per unit (the Dense's last IR axis)."""
    producer = ctx.graph.nodes.get(t.node)
    if producer is None or not isinstance(producer.op, ops.Dense) or not t.plain:
        return None
    if ctx.consumers(node.input[0]) != 1 or ctx.graph.consumers(t.node):
        return None
    units = producer.weights["kernel"].shape[1]
    if c.ndim > t.rank + 1 or (c.ndim == t.rank + 1 and c.shape[0] != 1):
        return None
    try:
        full = np.broadcast_to(c.reshape(c.shape[1:]) if c.ndim == t.rank + 1 else c, t.shape)
    except ValueError:
        return None
    rows = map_constant(t, full).reshape(-1, units)
    if not np.all(rows == rows[:1]):
        return None
    producer.weights["bias"] = producer.weights.get("bias", np.zeros(units)) + sign * rows[0]
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


def _per_channel(value: np.ndarray) -> bool:
    """True when a constant of a feature map's ONNX shape (C, ...) varies along the channels only."""
    if value.ndim < 2:
        return False
    flat = value.reshape(value.shape[0], -1)
    return bool(np.all(flat == flat[:, :1]))


def _scaleshift(ctx, node, t: Tensor, c: np.ndarray, kind: str, constant_first: bool) -> Tensor:
    full = (1,) + t.shape
    try:
        if np.broadcast_shapes(full, c.shape) != full:
            raise ValueError
    except ValueError:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: constant of shape {c.shape} "
                                 f"would broadcast the tensor of shape {('N',) + t.shape}; only constants "
                                 f"that broadcast to the tensor are supported") from None
    onnx_value = np.broadcast_to(c, full)[0]
    scalar = onnx_value.size == 0 or bool(np.all(onnx_value == onnx_value.reshape(-1)[0]))
    if t.rank >= 2 and not scalar and _per_channel(onnx_value):
        # a per-channel constant (mean/std of an input normalization) on the channels-last data is one
        # value per channel (and may fold into the Conv reading it); the transpose is wiring
        t = ctx.layouts.channels_last(t, hint=ctx.name(node) + "_in")
    value = map_constant(t, onnx_value)
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


def _broadcast(ctx, node, a: Tensor, b: Tensor, op: ops.Elementwise) -> Tensor:
    """a op b of two run-time tensors whose shapes broadcast (numpy rule, equal ranks): both are brought
    to one axis order (the perm of the input that already has the output's shape, when plain), so
    their IR shapes broadcast the same way; repeating an input along an axis is wiring."""
    if a.rank != b.rank or any(x != y and 1 not in (x, y) for x, y in zip(a.shape, b.shape)):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: tensors of shapes "
                                 f"(N, {', '.join(map(str, a.shape))}) and (N, {', '.join(map(str, b.shape))}) "
                                 f"do not broadcast with a common batch axis; supported: equal ranks with "
                                 f"every axis equal or 1 (unsqueeze the smaller tensor first)")
    out = tuple(max(x, y) for x, y in zip(a.shape, b.shape))
    plain = [t for t in (a, b) if t.plain and t.shape == out] + [t for t in (a, b) if t.plain]
    perm = plain[0].perm if plain else identity(a.rank)
    hint = ctx.name(node)
    a = ctx.layouts.emit(a, a.shape, perm, hint=hint + "_a")
    b = ctx.layouts.emit(b, b.shape, perm, hint=hint + "_b")
    return plain_tensor(ctx.add(op, [a.node, b.node], node), out, perm)


@converter("Add", "Sub", "Mul", "Div")
def arithmetic(ctx, node, attrs, inputs):
    a, b = inputs[0], inputs[1]
    kind = node.op_type
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if kind == "Div":
            raise UnsupportedOpError(f"ONNX Div node {ctx.label(node)}: division of two run-time tensors is "
                                     f"not supported")
        op = ops.Elementwise(operation=kind.lower())
        if a.shape != b.shape:
            return [_broadcast(ctx, node, a, b, op)]
        b = ctx.layouts.emit(b, a.base, a.perm, a.ir_shape, hint=ctx.name(node) + "_b")
        return [a.with_node(ctx.add(op, [a.node, b.node], node))]
    constant_first = not isinstance(a, Tensor)
    t, c = (b, np.asarray(a, dtype=np.float64)) if constant_first else (a, np.asarray(b, dtype=np.float64))
    if kind in ("Add", "Sub") and not constant_first:
        fused = _try_fuse_bias(ctx, node, t, c, 1.0 if kind == "Add" else -1.0)
        if fused is not None:
            return [fused]
    return [_scaleshift(ctx, node, t, c, kind, constant_first)]


# ---- element-wise functions ---------------------------------------------------------------------

def _unary(ctx, node, inputs, op: ops.Op) -> list:
    t = tensor_input(ctx, node, inputs, 0)
    return [t.with_node(ctx.add(op, [t.node], node))]


_SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}


@converter("Relu", "Sigmoid", "Tanh", per_element=True)
def simple_activation(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function=_SIMPLE[node.op_type]))


@converter("LeakyRelu", per_element=True)
def leaky_relu(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function="leaky_relu", alpha=float(attrs.get("alpha", 0.01))))


@converter("Elu", per_element=True)
def elu(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function="elu", alpha=float(attrs.get("alpha", 1.0))))


@converter("HardSigmoid", per_element=True)
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
    axis = onnx_axis(ctx, node, int(attrs.get("axis", default)), t.rank)
    if ctx.opset >= 13:
        if not t.plain:
            t = ctx.layouts.source(t, hint=ctx.name(node) + "_in")
        return [t.with_node(ctx.add(ops.Softmax(axis=t.perm.index(axis)), [t.node], node))]
    # Before opset 13: softmax over the trailing axes from `axis`, flattened into one.
    base = t.shape[:axis] + (math.prod(t.shape[axis:]),)
    flat = ctx.layouts.emit(t, base, identity(len(base)), base, hint=ctx.name(node) + "_in")
    return [flat.with_node(ctx.add(ops.Softmax(axis=-1), [flat.node], node))]


# ---- newer element-wise activations ---------------------------------------------------------------

@converter("PRelu")
def prelu(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    slope = constant_input(ctx, node, inputs, 1, "slope")
    full = (1,) + t.shape
    try:
        ok = np.broadcast_shapes(full, slope.shape) == full
    except ValueError:
        ok = False
    if not ok:
        raise UnsupportedOpError(f"ONNX PRelu node {ctx.label(node)}: slope of shape {slope.shape} does not "
                                 f"broadcast to the input of shape {('N',) + t.shape}")
    alpha = _reduce_constant(map_constant(t, np.broadcast_to(slope, full)[0]))
    return [t.with_node(ctx.add(ops.Activation(function="prelu"), [t.node], node,
                                {"alpha": np.asarray(alpha, dtype=np.float64)}))]


@converter("Selu", per_element=True)
def selu(ctx, node, attrs, inputs):
    op = ops.Activation(function="selu", alpha=float(attrs.get("alpha", 1.67326319217681884765625)),
                        beta=float(attrs.get("gamma", 1.05070102214813232421875)))
    return _unary(ctx, node, inputs, op)


@converter("Celu", per_element=True)
def celu(ctx, node, attrs, inputs):
    alpha = float(attrs.get("alpha", 1.0))
    if alpha == 0:
        raise attribute_error(ctx, node, "alpha", alpha, "alpha != 0")
    return _unary(ctx, node, inputs, ops.Activation(function="celu", alpha=alpha))


_PLAIN = {"Softplus": "softplus", "Softsign": "softsign", "Mish": "mish"}


@converter("Softplus", "Softsign", "Mish", per_element=True)
def plain_activation(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function=_PLAIN[node.op_type]))


@converter("ThresholdedRelu", per_element=True)
def thresholded_relu(ctx, node, attrs, inputs):
    op = ops.Activation(function="thresholded_relu", alpha=float(attrs.get("alpha", 1.0)),
                        beta=float(attrs.get("value", 0.0)))
    return _unary(ctx, node, inputs, op)


@converter("HardSwish", per_element=True)
def hard_swish(ctx, node, attrs, inputs):
    return _unary(ctx, node, inputs, ops.Activation(function="hard_swish", alpha=1.0 / 6.0, beta=0.5))


@converter("Gelu", per_element=True)
def gelu(ctx, node, attrs, inputs):
    approximate = attrs.get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise attribute_error(ctx, node, "approximate", approximate, "'none' or 'tanh'")
    return _unary(ctx, node, inputs, ops.Activation(function="gelu" if approximate == "none" else "gelu_tanh"))

@converter("Neg")
def neg(ctx, node, attrs, inputs):
    """-x: a ScaleShift with scale -1 (merged with neighbouring constants by fold_scale_shift)."""
    return [_scaleshift(ctx, node, tensor_input(ctx, node, inputs, 0), np.asarray(-1.0), "Mul", False)]


# ---- variadic element-wise ops ------------------------------------------------------------------

def _pair(ctx, node, a: Tensor, b: Tensor, operation: str) -> Tensor:
    """a (operation) b for two run-time tensors, equal or broadcast shapes (one Elementwise node)."""
    op = ops.Elementwise(operation=operation)
    if a.shape != b.shape:
        return _broadcast(ctx, node, a, b, op)
    b = ctx.layouts.emit(b, a.base, a.perm, a.ir_shape, hint=ctx.name(node) + "_b")
    return a.with_node(ctx.add(op, [a.node, b.node], node))


@converter("Max", "Min", "Sum", "Mean")
def variadic(ctx, node, attrs, inputs):
    """Max/Min/Sum/Mean of one or more inputs (numpy broadcasting): a chain of Elementwise max/min/add
    over the run-time tensors; constants join as a clip bound (Max/Min, scalars only) or a shift (Sum,
    Mean); Mean then multiplies by 1/n (a ScaleShift, merged with a shift by fold_scale_shift)."""
    values = [v for v in inputs if v is not None]
    tensors = [v for v in values if isinstance(v, Tensor)]
    constants = [np.asarray(v, dtype=np.float64) for v in values if not isinstance(v, Tensor)]
    if not tensors:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: no run-time input")
    kind = node.op_type
    operation = {"Max": "max", "Min": "min", "Sum": "add", "Mean": "add"}[kind]
    t = tensors[0]
    for other in tensors[1:]:
        t = _pair(ctx, node, t, other, operation)
    if constants and kind in ("Max", "Min"):
        c = constants[0]
        for more in constants[1:]:
            c = np.maximum(c, more) if kind == "Max" else np.minimum(c, more)
        if c.size == 0 or not np.all(c == c.reshape(-1)[0]):
            raise UnsupportedOpError(f"ONNX {kind} node {ctx.label(node)}: a constant operand that varies "
                                     f"by element is not supported (a scalar bound is: a clip)")
        bound = float(c.reshape(-1)[0])
        op = ops.Activation(function="clip", low=bound) if kind == "Max" else \
            ops.Activation(function="clip", high=bound)
        t = t.with_node(ctx.add(op, [t.node], node))
    elif constants:
        t = _scaleshift(ctx, node, t, sum(constants), "Add", False)
    if kind == "Mean":
        t = _scaleshift(ctx, node, t, np.asarray(1.0 / len(values)), "Mul", False)
    return [t]
