"""Per-layer converters of the Keras frontend: one function per Keras layer class, to IR ops.

Each converter reads the layer's config (Keras 2 and Keras 3 spellings) and its input tensors and
returns the output tensor. The maths they implement:
- Dense: y = x @ kernel + bias on the last axis, then its `activation` as a separate node.
- Conv1D/Conv2D: kernel (*k, C_in, C_out) is already the IR layout. Padding 'valid' is none; 'same'
  pads total = max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0) per axis, total // 2 at the
  beginning and the rest at the end; 'causal' (Conv1D) pads (k - 1) * d at the beginning. `groups`
  is the IR's grouped Conv (kernel (*k, C_in / groups, C_out), the same layout).
- DepthwiseConv1D/2D: kernel (*k, C, depth_multiplier) is the grouped Conv with groups = C and kernel
  (*k, 1, C * depth_multiplier) (output channel c * depth_multiplier + m).
- SeparableConv1D/2D: two IR Convs, the depthwise one (no bias, the layer's strides, padding and
  dilation) then a 1x1 pointwise one with the layer's bias, then the activation.
- Max/AveragePooling1D/2D: same padding rule (strides default to the pool size); Keras's average
  excludes padded positions (count_include_pad False).
- GlobalAverage/MaxPooling1D/2D: over the spatial axes; keepdims adds a Reshape to the kept shape.
- BatchNormalization: y = gamma * (x - mean) / sqrt(var + epsilon) + beta; gamma = 1 without
  `scale`, beta = 0 without `center`; on the channel axis only (last, or axis 1 for channels_first).
- Activation functions: relu, relu6 (clip 0..6), sigmoid, tanh, linear, elu (alpha 1), leaky_relu
  (Keras 3 default slope 0.2), hard_sigmoid (Keras 3: relu6(x + 3) / 6, i.e. clip(x / 6 + 0.5, 0, 1);
  Keras 2 / tf.keras: clip(0.2 x + 0.5, 0, 1)), softmax (last axis).
- More activation strings: selu, celu, softplus, softsign, gelu (erf form), hard_swish/hard_silu
  (x * clip(x / 6 + 0.5, 0, 1)), mish, swish/silu (x * sigmoid(x)).
- ReLU(max_value, negative_slope, threshold=0): relu, clip(0, max), leaky_relu(slope), or
  leaky_relu followed by clip(-inf, max); a nonzero threshold gives thresholded_relu (x > t ? x : 0),
  then clip(0, max) (refused together with a slope). ThresholdedReLU(theta) (Keras 2) likewise.
- PReLU(shared_axes): prelu with the stored `alpha` (input shape, shared axes of size 1) broadcast.
- LeakyReLU (negative_slope, Keras 2 `alpha`), ELU (alpha), Softmax (one axis).
- Flatten: row-major over Keras's layout (data_format channels_first first moves channels last);
  Reshape: target_shape (one -1 resolved); Dropout and the noise layers: identity at inference.
- Add/Subtract/Multiply/Maximum/Minimum: Elementwise (n inputs chain n - 1 ops; Average is their sum
  times 1/n, a ScaleShift; Dot of two vectors is their product then a Reduce sum), broadcasting axes
  of size 1
  (numpy rule); a lower-rank input first gets size-1 axes right after the batch, as Keras's merge
  layers do (a Reshape); Concatenate along its axis.
- UpSampling, ZeroPadding, Cropping (1D/2D/3D) and Permute: `keras_structure`.
- Embedding(input_dim, output_dim): the IR Embedding with table = `embeddings` (input_dim, output_dim)
  on the integer indices (the model's Input of an int dtype, or a float Input that only Embeddings read:
  Keras casts their input to int32); mask_zero=True is refused (the mask
  changes what later layers compute, e.g. a masked global average).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from nn2hls.frontends.keras_build import (Builder, KTensor, channels_first, cl_axis, int_tuple,
                                         keras_axis, refuse)
from nn2hls.frontends.keras_config import LayerCall
from nn2hls.ir import ops


def _pads(layer: LayerCall, padding: str, spatial: tuple[int, ...], kernel: tuple[int, ...],
          strides: tuple[int, ...], dilations: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    padding = str(padding).lower()
    if padding == "valid":
        return tuple((0, 0) for _ in spatial)
    if padding == "same":
        pads = []
        for n, k, s, d in zip(spatial, kernel, strides, dilations):
            effective = (k - 1) * d + 1
            total = max((math.ceil(n / s) - 1) * s + effective - n, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if padding == "causal" and len(spatial) == 1:
        return (((kernel[0] - 1) * dilations[0], 0),)
    raise refuse(layer, f"padding {padding!r} is not supported; use 'valid' or 'same'")


# ---- activations ---------------------------------------------------------------------------------
ACTIVATION_NAMES = ("linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "elu", "leaky_relu",
                    "hard_sigmoid", "selu", "celu", "softplus", "softsign", "gelu", "hard_swish", "hard_silu",
                    "mish", "swish", "silu")
# Keras activation name -> IR Activation (Keras 3 `keras.activations`; selu's constants are Keras's own,
# gelu is the exact erf form (approximate=False), hard_silu = x * relu6(x + 3) / 6, swish = silu = x * sigmoid(x))
_SIMPLE_ACTIVATIONS = {
    "selu": lambda: ops.Activation("selu", alpha=1.67326324, beta=1.05070098),
    "celu": lambda: ops.Activation("celu", alpha=1.0),
    "softplus": lambda: ops.Activation("softplus"), "softsign": lambda: ops.Activation("softsign"),
    "gelu": lambda: ops.Activation("gelu"), "mish": lambda: ops.Activation("mish"),
    "hard_swish": lambda: ops.Activation("hard_swish", alpha=1.0 / 6.0, beta=0.5),
    "hard_silu": lambda: ops.Activation("hard_swish", alpha=1.0 / 6.0, beta=0.5),
    "swish": lambda: ops.Activation("swish"), "silu": lambda: ops.Activation("swish"),
}


def activation_name(value: Any) -> str:
    """The name of a serialized activation (a string, or Keras 3's {'class_name': 'function', ...})."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, str):
            return config
        if isinstance(config, dict) and "name" in config:
            return str(config["name"])
        return str(value.get("class_name", value))
    return str(value)


def apply_activation(b: Builder, layer: LayerCall, t: KTensor, name: str, *, suffix: str | None = None
                     ) -> KTensor:
    """Append the activation `name` after tensor `t` (nothing for linear)."""
    if name in ("linear", "None"):
        return t
    suffix = name if suffix is None else suffix
    which = b.common_view([t])
    source = b.view(t, which, layer)
    if name == "softmax":
        axis = t.rank - 1 if which == "keras" else cl_axis(t.rank - 1, t.rank)
        op: ops.Op = ops.Softmax(axis=axis)
    elif name == "relu":
        op = ops.Activation("relu")
    elif name == "relu6":
        op = ops.Activation("clip", low=0.0, high=6.0)
    elif name in ("sigmoid", "tanh"):
        op = ops.Activation(name)
    elif name == "elu":
        op = ops.Activation("elu", alpha=1.0)
    elif name == "leaky_relu":
        op = ops.Activation("leaky_relu", alpha=0.2)
    elif name == "hard_sigmoid":
        alpha = 1.0 / 6.0 if b.keras_major >= 3 else 0.2
        op = ops.Activation("hard_sigmoid", alpha=alpha, beta=0.5)
    elif name in _SIMPLE_ACTIVATIONS:
        op = _SIMPLE_ACTIVATIONS[name]()
    else:
        raise refuse(layer, f"activation {name!r} is not supported; supported: {', '.join(ACTIVATION_NAMES)}")
    return b.tensor(which, b.add(op, [source], layer, suffix=suffix), t.shape)


def _unary(b: Builder, layer: LayerCall, t: KTensor, op: ops.Op, suffix: str = "") -> KTensor:
    which = b.common_view([t])
    return b.tensor(which, b.add(op, [b.view(t, which, layer)], layer, suffix=suffix), t.shape)


# ---- layers --------------------------------------------------------------------------------------
def dense(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    names = ["kernel", "bias"] if layer.config.get("use_bias", True) else ["kernel"]
    weights = b.layer_weights(layer, names)
    node = b.add(ops.Dense(), [b.keras_view(t, layer)], layer, weights=weights)
    out = KTensor(b.shape_of(node), keras=node)
    return apply_activation(b, layer, out, activation_name(layer.config.get("activation")))


def _conv_input(b: Builder, layer: LayerCall, t: KTensor, ndim: int):
    """(channels_first, source node, kernel_size, strides, dilations, pads) of a Keras convolution."""
    first = channels_first(layer)
    if t.rank != ndim + 1:
        raise refuse(layer, f"expects a rank-{ndim + 1} input, got shape {t.shape}")
    source = b.cl_view(t, layer) if first else b.keras_view(t, layer)
    spatial = b.shape_of(source)[:-1]
    kernel_size = int_tuple(layer.config.get("kernel_size", 1), ndim)
    strides = int_tuple(layer.config.get("strides", 1), ndim)
    dilations = int_tuple(layer.config.get("dilation_rate", 1), ndim)
    if any(s > 1 for s in strides) and any(d > 1 for d in dilations):
        raise refuse(layer, "strides > 1 together with dilation_rate > 1 is not supported by Keras")
    pads = _pads(layer, layer.config.get("padding", "valid"), spatial, kernel_size, strides, dilations)
    return first, source, kernel_size, strides, dilations, pads


def _conv_output(b: Builder, layer: LayerCall, node: str, first: bool) -> KTensor:
    shape = b.shape_of(node)
    out = b.tensor("cl" if first else "keras", node, (shape[-1],) + shape[:-1] if first else shape)
    return apply_activation(b, layer, out, activation_name(layer.config.get("activation")))


def conv(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    ndim = 1 if layer.class_name.startswith("Conv1D") else 2
    groups = int(layer.config.get("groups", 1) or 1)
    first, source, kernel_size, strides, dilations, pads = _conv_input(b, layer, t, ndim)
    names = ["kernel", "bias"] if layer.config.get("use_bias", True) else ["kernel"]
    weights = b.layer_weights(layer, names)
    op = ops.Conv(ndim=ndim, kernel_size=kernel_size, strides=strides, dilations=dilations, pads=pads,
                  groups=groups)
    return _conv_output(b, layer, b.add(op, [source], layer, weights=weights), first)


def _depthwise(b: Builder, layer: LayerCall, t: KTensor, ndim: int, kernel: np.ndarray,
               bias: np.ndarray | None, suffix: str = "") -> tuple[bool, str]:
    """The depthwise Conv node of a DepthwiseConv/SeparableConv layer: kernel (*k, C, multiplier) is
    the grouped kernel (*k, 1, C * multiplier) with groups = C (output channel c * multiplier + m)."""
    first, source, kernel_size, strides, dilations, pads = _conv_input(b, layer, t, ndim)
    channels = b.shape_of(source)[-1]
    if kernel.shape[:-1] != tuple(kernel_size) + (channels,):
        raise refuse(layer, f"depthwise kernel of shape {kernel.shape} does not match kernel_size "
                             f"{kernel_size} and {channels} input channels")
    weights = {"kernel": kernel.reshape(tuple(kernel_size) + (1, channels * kernel.shape[-1]))}
    if bias is not None:
        weights["bias"] = bias
    op = ops.Conv(ndim=ndim, kernel_size=kernel_size, strides=strides, dilations=dilations, pads=pads,
                  groups=channels)
    return first, b.add(op, [source], layer, weights=weights, suffix=suffix)


def depthwise_conv(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    ndim = 1 if "1D" in layer.class_name else 2
    names = ["depthwise_kernel", "bias"] if layer.config.get("use_bias", True) else ["depthwise_kernel"]
    weights = b.layer_weights(layer, names)
    first, node = _depthwise(b, layer, t, ndim, weights["depthwise_kernel"], weights.get("bias"))
    return _conv_output(b, layer, node, first)


def separable_conv(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    ndim = 1 if "1D" in layer.class_name else 2
    names = ["depthwise_kernel", "pointwise_kernel"] + (["bias"] if layer.config.get("use_bias", True) else [])
    weights = b.layer_weights(layer, names)
    first, depthwise = _depthwise(b, layer, t, ndim, weights["depthwise_kernel"], None, suffix="depthwise")
    pointwise = {"kernel": weights["pointwise_kernel"]}
    if "bias" in weights:
        pointwise["bias"] = weights["bias"]
    op = ops.Conv(ndim=ndim, kernel_size=(1,) * ndim, strides=(1,) * ndim, dilations=(1,) * ndim,
                  pads=((0, 0),) * ndim)
    return _conv_output(b, layer, b.add(op, [depthwise], layer, weights=pointwise), first)


def pool(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    ndim = 1 if "1D" in layer.class_name else 2
    mode = "max" if layer.class_name.startswith("Max") else "avg"
    first = channels_first(layer)
    if t.rank != ndim + 1:
        raise refuse(layer, f"expects a rank-{ndim + 1} input, got shape {t.shape}")
    source = b.cl_view(t, layer) if first else b.keras_view(t, layer)
    spatial = b.shape_of(source)[:-1]
    size_key = "pool_size" if "pool_size" in layer.config else "pool_length"
    pool_size = int_tuple(layer.config.get(size_key, 2), ndim)
    strides = layer.config.get("strides") or layer.config.get("stride")
    strides = int_tuple(strides, ndim) if strides is not None else pool_size
    pads = _pads(layer, layer.config.get("padding", "valid"), spatial, pool_size, strides, (1,) * ndim)
    op = ops.Pool(mode=mode, ndim=ndim, pool_size=pool_size, strides=strides, pads=pads,
                  count_include_pad=False)
    node = b.add(op, [source], layer)
    shape = b.shape_of(node)
    return b.tensor("cl" if first else "keras", node, (shape[-1],) + shape[:-1] if first else shape)


def global_pool(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    mode = "max" if "Max" in layer.class_name else "avg"
    first = channels_first(layer)
    source = b.cl_view(t, layer) if first else b.keras_view(t, layer)
    node = b.add(ops.GlobalPool(mode=mode), [source], layer)
    channels = b.shape_of(node)[0]
    if layer.config.get("keepdims"):
        ones = (1,) * (t.rank - 1)
        kept = (channels,) + ones if first else ones + (channels,)
        node = b.add(ops.Reshape(shape=kept), [node], layer, suffix="keepdims")
        return KTensor(kept, keras=node)
    return KTensor((channels,), keras=node)


def _single_axis(layer: LayerCall, what: str) -> int:
    """The layer's `axis` config (default -1), which Keras may spell as a one-element list."""
    axis = layer.config.get("axis", -1)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise refuse(layer, f"{what} over several axes {list(axis)} is not supported")
        axis = axis[0]
    return int(axis)


def batch_norm(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    axis = _single_axis(layer, "normalization")
    k = keras_axis(axis, t.rank, layer)
    if k == t.rank - 1:
        which = "keras"
    elif k == 0:
        which = "cl"
    else:
        raise refuse(layer, f"axis {axis} is not supported; normalize the channel axis (first or last)")
    names = (["gamma"] if layer.config.get("scale", True) else []) + \
            (["beta"] if layer.config.get("center", True) else []) + ["moving_mean", "moving_variance"]
    stored = b.layer_weights(layer, names)
    channels = t.shape[k]
    weights = {
        "gamma": stored.get("gamma", np.ones(channels)),
        "beta": stored.get("beta", np.zeros(channels)),
        "mean": stored["moving_mean"],
        "var": stored["moving_variance"],
    }
    op = ops.BatchNorm(epsilon=float(layer.config.get("epsilon", 1e-3)))
    node = b.add(op, [b.view(t, which, layer)], layer, weights=weights)
    return b.tensor(which, node, t.shape)


def activation(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    return apply_activation(b, layer, t, activation_name(layer.config.get("activation")), suffix="")


def relu(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    cfg = layer.config
    threshold = float(cfg.get("threshold", 0.0) or 0.0)
    slope = float(cfg.get("negative_slope", 0.0) or 0.0)
    max_value = cfg.get("max_value")
    high = math.inf if max_value is None else float(max_value)
    if threshold != 0.0:
        # Keras: x > threshold ? x : 0, then clip(., 0, max_value) when max_value is given
        if slope != 0.0:
            raise refuse(layer, f"threshold={threshold} together with negative_slope={slope} is not supported; "
                                 "use one of them")
        out = _unary(b, layer, t, ops.Activation("thresholded_relu", alpha=threshold, beta=0.0))
        if high == math.inf:
            return out
        return _unary(b, layer, out, ops.Activation("clip", low=0.0, high=high), suffix="max")
    if slope == 0.0:
        op = ops.Activation("relu") if high == math.inf else ops.Activation("clip", low=0.0, high=high)
        return _unary(b, layer, t, op)
    out = _unary(b, layer, t, ops.Activation("leaky_relu", alpha=slope))
    if high == math.inf:
        return out
    return _unary(b, layer, out, ops.Activation("clip", low=-math.inf, high=high), suffix="max")


def leaky_relu(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    slope = layer.config.get("negative_slope", layer.config.get("alpha", 0.3))
    return _unary(b, layer, t, ops.Activation("leaky_relu", alpha=float(slope)))


def elu(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    return _unary(b, layer, t, ops.Activation("elu", alpha=float(layer.config.get("alpha", 1.0))))


def thresholded_relu(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    """Keras 2 ThresholdedReLU(theta): x if x > theta else 0."""
    (t,) = inputs
    theta = float(layer.config.get("theta", 1.0))
    return _unary(b, layer, t, ops.Activation("thresholded_relu", alpha=theta, beta=0.0))


def prelu(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    """PReLU: x if x >= 0 else alpha * x; `alpha` has the input's shape with `shared_axes` of size 1."""
    (t,) = inputs
    alpha = np.asarray(b.layer_weights(layer, ["alpha"])["alpha"], dtype=np.float64)
    if alpha.shape != t.shape:
        try:
            alpha = alpha.reshape(t.shape) if alpha.size == math.prod(t.shape) else alpha
            np.broadcast_shapes(alpha.shape, t.shape)
        except ValueError:
            raise refuse(layer, f"alpha of shape {alpha.shape} does not broadcast to the input {t.shape}") from None
    node = b.add(ops.Activation("prelu"), [b.keras_view(t, layer)], layer, weights={"alpha": alpha})
    return KTensor(t.shape, keras=node)


def softmax(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    axis = _single_axis(layer, "softmax")
    k = keras_axis(axis, t.rank, layer)
    which = b.common_view([t])
    ir_axis = k if which == "keras" else cl_axis(k, t.rank)
    node = b.add(ops.Softmax(axis=ir_axis), [b.view(t, which, layer)], layer)
    return b.tensor(which, node, t.shape)


def flatten(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    size = math.prod(t.shape)
    if t.rank == 1:
        return t
    source = b.cl_view(t, layer) if channels_first(layer) else b.keras_view(t, layer)
    return KTensor((size,), keras=b.add(ops.Reshape(shape=(size,)), [source], layer))


def reshape(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    target = [int(v) for v in layer.config.get("target_shape", ())]
    size = math.prod(t.shape)
    if target.count(-1) > 1:
        raise refuse(layer, f"target_shape {tuple(target)} has more than one -1")
    if -1 in target:
        known = math.prod(v for v in target if v != -1)
        target[target.index(-1)] = size // known if known else 0
    if math.prod(target) != size:
        raise refuse(layer, f"cannot reshape {t.shape} to {tuple(target)}")
    shape = tuple(target)
    return KTensor(shape, keras=b.add(ops.Reshape(shape=shape), [b.keras_view(t, layer)], layer))


def embedding(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    if layer.config.get("mask_zero"):
        raise refuse(layer, "mask_zero=True is not supported (the mask changes later layers' results); "
                             "use mask_zero=False")
    table = b.layer_weights(layer, ["embeddings"])["embeddings"]
    source = b.keras_view(t, layer)
    _mark_indices(b, source)
    node = b.add(ops.Embedding(), [source], layer, weights={"table": table})
    return KTensor(b.shape_of(node), keras=node)


def _mark_indices(b: Builder, node: str) -> None:
    """A float model Input that reaches an Embedding through wiring only becomes an integer Input (Keras
    casts Embedding inputs to int32 itself, so a Sequential without an int Input still holds indices)."""
    while isinstance(b.graph.nodes[node].op, (ops.Reshape, ops.Transpose)):
        node = b.graph.nodes[node].inputs[0]
    producer = b.graph.nodes[node]
    if isinstance(producer.op, ops.Input) and not producer.op.integer:
        producer.op = ops.Input(shape=producer.op.shape, integer=True)


def identity(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    return t


def _merge_view(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> tuple[str, list[str]]:
    if len(inputs) < 2:
        raise refuse(layer, f"needs at least two inputs, got {len(inputs)}")
    which = b.common_view(inputs)
    return which, [b.view(t, which, layer) for t in inputs]


def elementwise(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    operation = {"Add": "add", "Subtract": "sub", "Multiply": "mul", "Maximum": "max", "Minimum": "min",
                 "Average": "add"}[layer.class_name]
    which, sources = _merge_view(b, layer, inputs)
    if operation == "sub" and len(sources) != 2:
        raise refuse(layer, f"Subtract needs exactly two inputs, got {len(sources)}")
    shapes = [t.shape for t in inputs]
    rank = max(len(s) for s in shapes)
    if any(len(s) < rank for s in shapes):  # Keras expands a lower-rank input at axis 1 (after the batch)
        which, sources = "keras", [b.keras_view(t, layer) for t in inputs]
        for i, shape in enumerate(shapes):
            if len(shape) < rank:
                shapes[i] = (1,) * (rank - len(shape)) + tuple(shape)
                sources[i] = b.add(ops.Reshape(shape=shapes[i]), [sources[i]], layer, suffix=f"expand{i}")
    if any(len({d for d in axis if d != 1}) > 1 for axis in zip(*shapes)):
        raise refuse(layer, f"input shapes {', '.join(map(str, shapes))} do not broadcast; supported: every "
                             f"axis equal or 1")
    node = sources[0]
    for i, other in enumerate(sources[1:]):
        last = i == len(sources) - 2
        node = b.add(ops.Elementwise(operation=operation), [node, other], layer,
                     suffix="" if last and layer.class_name != "Average" else f"part{i}")
    if layer.class_name == "Average":  # the sum times 1/n
        node = b.add(ops.ScaleShift(), [node], layer, weights={"scale": np.asarray(1.0 / len(sources)),
                                                               "shift": np.asarray(0.0)})
    return b.tensor(which, node, tuple(max(axis) for axis in zip(*shapes)))


def dot(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    """Dot of two feature vectors (N, F) . (N, F) -> (N, 1): sum_i a_i * b_i, an element-wise product
    then a Reduce sum; higher ranks (a batched matrix product) and normalize=True are refused."""
    if len(inputs) != 2 or any(t.rank != 1 for t in inputs) or inputs[0].shape != inputs[1].shape:
        raise refuse(layer, f"only the dot product of two vectors of equal length is supported, got "
                             f"{', '.join(str(t.shape) for t in inputs)}")
    if layer.config.get("normalize"):
        raise refuse(layer, "normalize=True (cosine similarity) is not supported")
    sources = [b.keras_view(t, layer) for t in inputs]
    product = b.add(ops.Elementwise(operation="mul"), sources, layer, suffix="product")
    node = b.add(ops.Reduce(mode="sum", axes=(0,), keepdims=True), [product], layer)
    return KTensor((1,), keras=node)


def concatenate(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    which, sources = _merge_view(b, layer, inputs)
    rank = inputs[0].rank
    k = keras_axis(int(layer.config.get("axis", -1)), rank, layer)
    node = b.add(ops.Concat(axis=k if which == "keras" else cl_axis(k, rank)), sources, layer)
    shape = b.shape_of(node)
    keras_shape = (shape[-1],) + shape[:-1] if which == "cl" and rank >= 2 else shape
    return b.tensor(which, node, keras_shape)


Converter = Callable[[Builder, LayerCall, list[KTensor]], KTensor]

CONVERTERS: dict[str, Converter] = {
    "Dense": dense,
    "Conv1D": conv, "Conv2D": conv, "Convolution1D": conv, "Convolution2D": conv,
    "DepthwiseConv1D": depthwise_conv, "DepthwiseConv2D": depthwise_conv,
    "SeparableConv1D": separable_conv, "SeparableConv2D": separable_conv,
    "SeparableConvolution1D": separable_conv, "SeparableConvolution2D": separable_conv,
    "MaxPooling1D": pool, "MaxPooling2D": pool, "AveragePooling1D": pool, "AveragePooling2D": pool,
    "MaxPool1D": pool, "MaxPool2D": pool, "AvgPool1D": pool, "AvgPool2D": pool,
    "GlobalAveragePooling1D": global_pool, "GlobalAveragePooling2D": global_pool,
    "GlobalMaxPooling1D": global_pool, "GlobalMaxPooling2D": global_pool,
    "GlobalAvgPool1D": global_pool, "GlobalAvgPool2D": global_pool,
    "GlobalMaxPool1D": global_pool, "GlobalMaxPool2D": global_pool,
    "BatchNormalization": batch_norm,
    "Activation": activation,
    "ReLU": relu, "LeakyReLU": leaky_relu, "ELU": elu, "Softmax": softmax,
    "PReLU": prelu, "ThresholdedReLU": thresholded_relu,
    "Flatten": flatten, "Reshape": reshape,
    "Dropout": identity, "SpatialDropout1D": identity, "SpatialDropout2D": identity,
    "GaussianNoise": identity, "GaussianDropout": identity, "AlphaDropout": identity,
    "Add": elementwise, "Subtract": elementwise, "Multiply": elementwise,
    "Maximum": elementwise, "Minimum": elementwise, "Average": elementwise, "Dot": dot,
    "Concatenate": concatenate,
    "Embedding": embedding,
}

from nn2hls.frontends.keras_structure import STRUCTURE_CONVERTERS  # noqa: E402  (UpSampling, ZeroPadding, ...)

CONVERTERS.update(STRUCTURE_CONVERTERS)
