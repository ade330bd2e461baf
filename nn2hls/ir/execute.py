"""Float reference executor of the IR: runs a Graph in float64 numpy on a batch.

Each op is computed exactly as its docstring in `nn2hls.ir.ops` states, vectorized over the batch
(axis 0), channels-last inside the graph:
- Dense: x @ kernel + bias over the last axis.
- Conv: zero-pad the spatial axes by `pads`, then for every kernel offset k add
  x_pad[:, p * stride + k * dilation, :] @ kernel[k] (an im2col done one kernel offset at a time, each
  a BLAS matmul), plus the bias. Grouped Conv: the same per group, each group's input channels
  times its own filters (`nn2hls.ir.conv_groups.group_slices`).
- Pool: max over the window with padding ignored (padded with -inf); avg sums with zero padding and
  divides by the window size (count_include_pad) or by the number of real inputs in the window.
- GlobalPool: max/mean over all spatial axes. BatchNorm: gamma * (x - mean) / sqrt(var + eps) + beta.
- ScaleShift: x * scale + shift (numpy broadcasting against the per-sample shape).
- Activation: relu, clip(low, high), leaky_relu(alpha), elu(alpha), sigmoid, tanh,
  hard_sigmoid = clip(alpha * x + beta, 0, 1), linear, and prelu, thresholded_relu, hard_swish, selu,
  celu, softsign, softplus, swish, mish, gelu, gelu_tanh as `ops.Activation` states them.
- Quant: the source quantizer's float definition (QONNX IntQuant, `nn2hls.ir.quant.int_quant`), or
  with rounding_mode "DTYPE" the cast to its dtype itself (HGQ's ap_fixed-defined quantizers).
- Softmax along the IR axis (max-subtracted). Elementwise add/sub/mul/max/min (numpy broadcasting of equal
  ranks). Reduce: mean/max/min/sum over its IR axes. Concat, Reshape, Transpose along IR axes (shifted by
  one for the batch).
- Pad, Slice, Upsample, DepthToSpace, SpaceToDepth: numpy data movement (`nn2hls.ir.rearrange.apply`).
- Embedding: row floor(x) of the table, a row of zeros for an index outside [0, rows).
The input batch x has shape (N, *input_shape) in the source model's layout, as the Input node does.

Dispatch: `OP_TABLE` (op class -> function), `ACTIVATION_TABLE` (activation function name) and
`ELEMENTWISE_TABLE` (Elementwise operation) are this stage's tables (`nn2hls.op_coverage`).
"""
from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from nn2hls.errors import GraphError
from nn2hls.inputs import validate_feed
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir import feeds
from nn2hls.ir.conv_groups import group_slices
from nn2hls.ir import ops, rearrange


def _dense(node: Node, x: np.ndarray) -> np.ndarray:
    y = x @ node.weights["kernel"]
    if "bias" in node.weights:
        y = y + node.weights["bias"]
    return y


def _pad_spatial(x: np.ndarray, pads, value: float) -> np.ndarray:
    if not any(p for pair in pads for p in pair):
        return x
    width = [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)]
    return np.pad(x, width, mode="constant", constant_values=value)


def _window_slices(out_shape, strides, offsets):
    """Slices picking, for every output position, the input at p * stride + offset."""
    return tuple(slice(o, o + (n - 1) * s + 1, s) for n, s, o in zip(out_shape, strides, offsets))


def _conv(node: Node, x: np.ndarray) -> np.ndarray:
    op: ops.Conv = node.op
    kernel = node.weights["kernel"]
    xp = _pad_spatial(x, op.pads, 0.0)
    out_spatial = node.shape[:-1]
    y = np.zeros((x.shape[0],) + tuple(node.shape), dtype=np.float64)
    for k in itertools.product(*(range(s) for s in op.kernel_size)):
        offsets = [ki * d for ki, d in zip(k, op.dilations)]
        window = xp[(slice(None),) + _window_slices(out_spatial, op.strides, offsets)]
        if op.groups == 1:
            y += window @ kernel[k]
            continue
        for cs, fs in group_slices(op.groups, x.shape[-1], kernel.shape[-1]):
            y[..., fs] += window[..., cs] @ kernel[k][:, fs]
    if "bias" in node.weights:
        y += node.weights["bias"]
    return y


def _pool(node: Node, x: np.ndarray) -> np.ndarray:
    op: ops.Pool = node.op
    out_spatial = node.shape[:-1]
    offsets_all = list(itertools.product(*(range(s) for s in op.pool_size)))
    if op.mode == "max":
        xp = _pad_spatial(x, op.pads, -np.inf)
        y = None
        for k in offsets_all:
            window = xp[(slice(None),) + _window_slices(out_spatial, op.strides, k)]
            y = window.copy() if y is None else np.maximum(y, window)
        return y
    xp = _pad_spatial(x, op.pads, 0.0)
    total = np.zeros((x.shape[0],) + tuple(node.shape), dtype=np.float64)
    for k in offsets_all:
        total += xp[(slice(None),) + _window_slices(out_spatial, op.strides, k)]
    if op.count_include_pad:
        return total / float(np.prod(op.pool_size))
    ones = _pad_spatial(np.ones((1,) + tuple(x.shape[1:-1]) + (1,)), op.pads, 0.0)
    count = np.zeros((1,) + tuple(out_spatial) + (1,))
    for k in offsets_all:
        count += ones[(slice(None),) + _window_slices(out_spatial, op.strides, k)]
    return total / count


def _global_pool(node: Node, x: np.ndarray) -> np.ndarray:
    axes = tuple(range(1, x.ndim - 1))
    return x.max(axis=axes) if node.op.mode == "max" else x.mean(axis=axes)


def _reduce(node: Node, x: np.ndarray) -> np.ndarray:
    op: ops.Reduce = node.op
    axes = tuple(a + 1 for a in op.axes)
    fn = {"mean": np.mean, "max": np.max, "min": np.min, "sum": np.sum}[op.mode]
    return fn(x, axis=axes, keepdims=True).reshape((x.shape[0],) + tuple(node.shape))


def _batchnorm(node: Node, x: np.ndarray) -> np.ndarray:
    w = node.weights
    scale = w["gamma"] / np.sqrt(w["var"] + node.op.epsilon)
    return (x - w["mean"]) * scale + w["beta"]


def _scaleshift(node: Node, x: np.ndarray) -> np.ndarray:
    return x * node.weights["scale"] + node.weights["shift"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Stable for large |x|: exp of a non-positive number only.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _erf(x: np.ndarray) -> np.ndarray:
    import math
    return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)


ACTIVATION_TABLE: dict[str, Callable[[Node, np.ndarray], np.ndarray]] = {
    "linear": lambda node, x: x.copy(),
    "relu": lambda node, x: np.maximum(x, 0.0),
    "clip": lambda node, x: np.minimum(np.maximum(x, node.op.low), node.op.high),
    "leaky_relu": lambda node, x: np.where(x >= 0, x, node.op.alpha * x),
    "elu": lambda node, x: np.where(x > 0, x, node.op.alpha * np.expm1(np.minimum(x, 0.0))),
    "sigmoid": lambda node, x: _sigmoid(x),
    "tanh": lambda node, x: np.tanh(x),
    "hard_sigmoid": lambda node, x: np.minimum(np.maximum(node.op.alpha * x + node.op.beta, 0.0), 1.0),
    "prelu": lambda node, x: np.where(x >= 0, x, x * node.weights["alpha"]),
    "steps": lambda node, x: np.asarray(node.weights["levels"], dtype=np.float64)[
        np.searchsorted(np.asarray(node.weights["thresholds"], dtype=np.float64), x, side="right")],
    "thresholded_relu": lambda node, x: np.where(x > node.op.alpha, x, node.op.beta),
    "hard_swish": lambda node, x: x * np.minimum(np.maximum(node.op.alpha * x + node.op.beta, 0.0), 1.0),
    "selu": lambda node, x: node.op.beta * np.where(x > 0, x, node.op.alpha * np.expm1(np.minimum(x, 0.0))),
    "celu": lambda node, x: np.where(x > 0, x, node.op.alpha * np.expm1(np.minimum(x, 0.0) / node.op.alpha)),
    "softsign": lambda node, x: x / (1.0 + np.abs(x)),
    "softplus": lambda node, x: _softplus(x),
    "swish": lambda node, x: x * _sigmoid(x),
    "mish": lambda node, x: x * np.tanh(_softplus(x)),
    "gelu": lambda node, x: 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0))),
    "gelu_tanh": lambda node, x: 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3))),
}
"""Activation function (`ops.ACTIVATIONS`) -> its float definition, as `ops.Activation` states it."""


def _activation(node: Node, x: np.ndarray) -> np.ndarray:
    fn = ACTIVATION_TABLE.get(node.op.function)
    if fn is None:
        raise GraphError(f"node {node.label()}: unknown activation {node.op.function!r}")
    return fn(node, x)


def _batch_axis(axis: int, rank: int) -> int:
    """An IR axis (batch excluded, may be negative) as an axis of the batched array."""
    return (axis % rank) + 1


def _softmax(node: Node, x: np.ndarray) -> np.ndarray:
    axis = _batch_axis(node.op.axis, x.ndim - 1)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _quant(node: Node, x: np.ndarray) -> np.ndarray:
    from nn2hls.ir.quant import int_quant
    op: ops.Quant = node.op
    if op.rounding_mode == "DTYPE":  # the dtype's own cast (HGQ fixed-point quantizers)
        from nn2hls.ir import fixed
        from nn2hls.ir.types import FixedType
        t = FixedType.parse(op.dtype)
        return fixed.to_float(fixed.quantize(x, t), t)
    return int_quant(x, op.scale, op.zero_point, op.bit_width, op.signed, op.narrow, op.rounding_mode)


ELEMENTWISE_TABLE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum, "min": np.minimum}
"""Elementwise operation (`ops.ELEMENTWISE_OPERATIONS`) -> its numpy function (numpy broadcasting)."""


def _unary(fn: Callable[[Node, np.ndarray], np.ndarray]) -> Callable[[Node, list[np.ndarray]], np.ndarray]:
    return lambda node, args: fn(node, args[0])


def _embedding(node: Node, x: np.ndarray) -> np.ndarray:
    table = node.weights["table"]
    rows = table.shape[0]
    index = np.clip(np.floor(x), -1, rows).astype(np.int64)
    valid = (index >= 0) & (index < rows)
    y = table[np.where(valid, index, 0)]
    y[~valid] = 0.0
    return y


def _structural(node: Node, x: np.ndarray) -> np.ndarray:
    return rearrange.apply(node.op, x, getattr(node.op, "value", 0.0))


OP_TABLE: dict[type[ops.Op], Callable[[Node, list[np.ndarray]], np.ndarray]] = {
    ops.Dense: _unary(_dense),
    ops.Conv: _unary(_conv),
    ops.Pool: _unary(_pool),
    ops.GlobalPool: _unary(_global_pool),
    ops.BatchNorm: _unary(_batchnorm),
    ops.ScaleShift: _unary(_scaleshift),
    ops.Activation: _unary(_activation),
    ops.Softmax: _unary(_softmax),
    ops.Quant: _unary(_quant),
    ops.Reshape: _unary(lambda node, x: x.reshape((x.shape[0],) + tuple(node.op.shape))),
    ops.Transpose: _unary(lambda node, x: x.transpose((0,) + tuple(p + 1 for p in node.op.perm))),
    ops.Reduce: _unary(_reduce),
    ops.Embedding: _unary(_embedding),
    ops.Elementwise: lambda node, args: ELEMENTWISE_TABLE[node.op.operation](args[0], args[1]),
    ops.Concat: lambda node, args: np.concatenate(args, axis=_batch_axis(node.op.axis, args[0].ndim - 1)),
    **{cls: _unary(_structural) for cls in ops.STRUCTURAL_OPS},
}
"""Op class -> fn(node, input values) giving the node's float64 output (batch first)."""

NOT_APPLICABLE: dict[type[ops.Op], str] = {
    ops.Input: "an Input node takes its value from the feed, it computes nothing",
}


def _run_node(node: Node, args: list[np.ndarray]) -> np.ndarray:
    fn = OP_TABLE.get(type(node.op))
    if fn is None:
        raise GraphError(f"node {node.label()}: the float executor does not know op {node.op.kind}")
    return fn(node, args)


def execute(graph: Graph, x, *, return_all: bool = False
            ) -> list[np.ndarray] | dict[str, np.ndarray]:
    """Run `graph` on the batch `x` (N, *input_shape) in float64.

    Several inputs: `x` is a tuple/list in input order or a dict keyed by input name (nn2hls.ir.feeds).
    Returns the outputs in `graph.outputs` order, or with `return_all=True` a dict mapping every node
    name to its float64 output (batch first).
    """
    inputs = feeds.specs(graph)
    arrays = validate_feed(inputs, x, owner=f"graph '{graph.name}'", allow_empty=True)
    feed = {node.name: data for node, data in zip(graph.inputs, arrays)}
    values: dict[str, np.ndarray] = {}
    order = graph.topological()
    # Free intermediate values once their last reader ran (large batches), unless all are wanted.
    last_use: dict[str, int] = {}
    for i, node in enumerate(order):
        for producer in node.inputs:
            last_use[producer] = i
    keep = set(graph.outputs)
    for i, node in enumerate(order):
        if isinstance(node.op, ops.Input):
            values[node.name] = feed[node.name]
        else:
            values[node.name] = _run_node(node, [values[p] for p in node.inputs])
        if not return_all:
            for producer in set(node.inputs):
                if last_use.get(producer) == i and producer not in keep:
                    del values[producer]
    if return_all:
        return values
    return [values[o] for o in graph.outputs]
