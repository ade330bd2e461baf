"""Operator attribute types of the IR: one frozen dataclass per op, plus each op's shape rule.

Rule: an op's attributes are immutable values (frozen dataclasses, hashable, printable); the mutable
part of the IR is the graph (`nn2hls.ir.graph`). Every op produces exactly one tensor. Shapes exclude
the batch dimension and are channels-last inside the graph: a 2D feature map is (H, W, C), a 1D one
(L, C), a vector (F,). Weights are stored on the node (`Node.weights`), never inside an op.

Weight layouts (channels-last, so the product is `y[..., o] = sum_i x[..., i] * kernel[i, o]`):
- Dense:  kernel (in_features, units), bias (units,)
- Conv:   kernel (*kernel_size, in_channels / groups, filters), bias (filters,); filter o belongs to
  group o // (filters / groups) and reads that group's input channels (`nn2hls.ir.conv_groups`)
- BatchNorm: gamma, beta, mean, var, each (channels,)
- ScaleShift: scale, shift, each broadcastable to the node's shape (per last axis or full shape)

`output_shape(input_shapes, weights)` returns the output shape or raises GraphError with a reason;
`nn2hls.ir.verify` adds the node name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar, Mapping, Sequence

import numpy as np

from nn2hls.errors import GraphError

Shape = tuple[int, ...]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, tuple):
        return "(" + ",".join(_fmt(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


@dataclass(frozen=True)
class Op:
    """Base class of all op attribute types."""

    kind: ClassVar[str] = "Op"
    n_inputs: ClassVar[int | None] = 1  # None: one or more

    def describe(self) -> str:
        """`Kind(attr=value, ...)`, deterministic, used by the printer and error messages."""
        parts = [f"{f.name}={_fmt(getattr(self, f.name))}" for f in fields(self)]
        return f"{self.kind}({', '.join(parts)})" if parts else self.kind

    def output_shape(self, inputs: Sequence[Shape], weights: Mapping[str, np.ndarray]) -> Shape:
        raise NotImplementedError


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise GraphError(message)


@dataclass(frozen=True)
class Input(Op):
    """The graph's input, in the source model's own layout (batch dimension excluded).

    integer: the source model declares integer values (ONNX int32/int64, a Keras Input of an int
    dtype): indices read by Embedding nodes; their type is an integer type (docs/config.md).
    """

    kind: ClassVar[str] = "Input"
    n_inputs: ClassVar[int | None] = 0
    shape: Shape = ()
    integer: bool = False

    def describe(self) -> str:
        """As Op.describe, leaving out integer=False (a float input prints as before)."""
        text = super().describe()
        return text.replace(", integer=False)", ")") if not self.integer else text

    def output_shape(self, inputs, weights):
        return tuple(self.shape)


@dataclass(frozen=True)
class Dense(Op):
    """y[..., o] = bias[o] + sum_i x[..., i] * kernel[i, o] over the last axis."""

    kind: ClassVar[str] = "Dense"

    def output_shape(self, inputs, weights):
        (x,) = inputs
        kernel = weights.get("kernel")
        _require(kernel is not None and kernel.ndim == 2, "Dense needs a 2-D 'kernel' weight")
        _require(len(x) >= 1 and x[-1] == kernel.shape[0],
                 f"Dense kernel expects {kernel.shape[0]} input features, got shape {x}")
        if "bias" in weights:
            _require(weights["bias"].shape == (kernel.shape[1],), "Dense bias must have shape (units,)")
        return tuple(x[:-1]) + (int(kernel.shape[1]),)


def _spatial_out(size: int, kernel: int, stride: int, dilation: int, pad: tuple[int, int]) -> int:
    effective = (kernel - 1) * dilation + 1
    return (size + pad[0] + pad[1] - effective) // stride + 1


@dataclass(frozen=True)
class Conv(Op):
    """N-D convolution (ndim 1 or 2), channels-last, grouped (ONNX Conv `group`, Keras `groups`).

    With G = groups, C input channels and F filters (both divisible by G), filter o belongs to group
    g = o // (F / G) and reads only the input channels g * C/G .. (g + 1) * C/G - 1:
    y[p, o] = bias[o] + sum_{k, c < C/G} xpad[p * stride + k * dilation, g * C/G + c] * kernel[k, c, o],
    where xpad is the input padded with zeros by `pads` ((begin, end) per spatial axis). groups = 1 is
    the ordinary convolution, groups = C the depthwise one (F = C * depth multiplier).
    """

    kind: ClassVar[str] = "Conv"
    ndim: int = 2
    kernel_size: Shape = (1, 1)
    strides: Shape = (1, 1)
    dilations: Shape = (1, 1)
    pads: tuple[tuple[int, int], ...] = ((0, 0), (0, 0))
    groups: int = 1

    def describe(self) -> str:
        """As Op.describe, leaving out groups=1 (the ordinary convolution prints as before)."""
        text = super().describe()
        return text.replace(", groups=1)", ")") if self.groups == 1 else text

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(len(x) == self.ndim + 1, f"Conv{self.ndim}D expects a rank-{self.ndim + 1} input, got {x}")
        kernel = weights.get("kernel")
        _require(kernel is not None and kernel.shape[:-2] == tuple(self.kernel_size),
                 "Conv 'kernel' must have shape (*kernel_size, in_channels / groups, filters)")
        _require(self.groups >= 1, f"Conv groups must be >= 1, got {self.groups}")
        _require(kernel.shape[-2] * self.groups == x[-1],
                 f"Conv kernel expects {kernel.shape[-2] * self.groups} channels "
                 f"({kernel.shape[-2]} per group x {self.groups} groups), got {x[-1]}")
        _require(kernel.shape[-1] % self.groups == 0,
                 f"Conv filters ({kernel.shape[-1]}) must be a multiple of groups ({self.groups})")
        if "bias" in weights:
            _require(weights["bias"].shape == (kernel.shape[-1],), "Conv bias must have shape (filters,)")
        spatial = tuple(
            _spatial_out(x[a], self.kernel_size[a], self.strides[a], self.dilations[a], self.pads[a])
            for a in range(self.ndim))
        _require(all(s >= 1 for s in spatial), f"Conv output would be empty for input {x}")
        return spatial + (int(kernel.shape[-1]),)


@dataclass(frozen=True)
class Pool(Op):
    """Max or average pooling over windows, channels-last, ndim 1 or 2.

    Max ignores padding; average divides by the window size (count_include_pad) or by the number of
    real (unpadded) inputs in the window.
    """

    kind: ClassVar[str] = "Pool"
    mode: str = "max"  # "max" | "avg"
    ndim: int = 2
    pool_size: Shape = (2, 2)
    strides: Shape = (2, 2)
    pads: tuple[tuple[int, int], ...] = ((0, 0), (0, 0))
    count_include_pad: bool = False

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(self.mode in ("max", "avg"), f"unknown pool mode {self.mode!r}")
        _require(len(x) == self.ndim + 1, f"Pool{self.ndim}D expects a rank-{self.ndim + 1} input, got {x}")
        spatial = tuple(_spatial_out(x[a], self.pool_size[a], self.strides[a], 1, self.pads[a])
                        for a in range(self.ndim))
        _require(all(s >= 1 for s in spatial), f"Pool output would be empty for input {x}")
        return spatial + (x[-1],)


@dataclass(frozen=True)
class GlobalPool(Op):
    """Max or average over all spatial positions: (..., C) -> (C,)."""

    kind: ClassVar[str] = "GlobalPool"
    mode: str = "avg"

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(len(x) >= 2, f"GlobalPool expects a feature map, got {x}")
        return (x[-1],)


@dataclass(frozen=True)
class BatchNorm(Op):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta, per channel (last axis)."""

    kind: ClassVar[str] = "BatchNorm"
    epsilon: float = 1e-5

    def output_shape(self, inputs, weights):
        (x,) = inputs
        for key in ("gamma", "beta", "mean", "var"):
            _require(key in weights and weights[key].shape == (x[-1],),
                     f"BatchNorm needs '{key}' of shape ({x[-1]},)")
        return tuple(x)


@dataclass(frozen=True)
class ScaleShift(Op):
    """y = x * scale + shift with constant scale and shift broadcast against x (numpy rules)."""

    kind: ClassVar[str] = "ScaleShift"

    def output_shape(self, inputs, weights):
        (x,) = inputs
        for key in ("scale", "shift"):
            _require(key in weights, f"ScaleShift needs a '{key}' weight")
            try:
                shape = np.broadcast_shapes(tuple(x), weights[key].shape)
            except ValueError:
                raise GraphError(f"ScaleShift '{key}' of shape {weights[key].shape} does not broadcast "
                                 f"to {x}") from None
            _require(shape == tuple(x), f"ScaleShift '{key}' would change the shape {x}")
        return tuple(x)


ACTIVATIONS = ("linear", "relu", "clip", "leaky_relu", "elu", "sigmoid", "hard_sigmoid", "tanh",
               "prelu", "thresholded_relu", "hard_swish", "selu", "celu", "softsign", "softplus", "swish",
               "mish", "gelu", "gelu_tanh", "steps")


@dataclass(frozen=True)
class Activation(Op):
    """Element-wise function.

    relu: max(x, 0); clip: min(max(x, low), high) (ReLU6 is clip 0..6); leaky_relu: x if x >= 0 else
    alpha * x; elu: x if x > 0 else alpha * (exp(x) - 1); sigmoid; tanh; hard_sigmoid:
    clip(alpha * x + beta, 0, 1); linear: x.

    prelu: x if x >= 0 else slope * x, with the node weight 'alpha' (the slopes) broadcast against x
    (numpy rules: a scalar, one per channel (last axis) or any broadcastable shape);
    thresholded_relu: x if x > alpha else beta (ONNX ThresholdedRelu: beta = 0; torch Threshold: beta =
    its value); hard_swish: x * clip(alpha * x + beta, 0, 1) (ONNX: alpha = 1/6, beta = 0.5);
    selu: beta * (x if x > 0 else alpha * (exp(x) - 1)) (ONNX Selu's gamma is beta);
    celu: x if x > 0 else alpha * (exp(x / alpha) - 1); softsign: x / (1 + |x|);
    softplus: log(1 + exp(x)); swish: x * sigmoid(x); mish: x * tanh(softplus(x));
    gelu: x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)); gelu_tanh: x / 2 * (1 + tanh(sqrt(2 / pi) *
    (x + 0.044715 x^3))).

    steps: a piecewise-constant function with the node weights 'thresholds' (ascending, K values) and
    'levels' (K + 1 values): y = levels[k], k = the number of thresholds t with x >= t (exact
    comparisons, no multiplier). It is how the frontends express a quantizer whose output is a finite
    set of values reached through a monotone function (QKeras quantized_po2, binary, ternary,
    quantized_tanh with the real tanh ...).
    """

    kind: ClassVar[str] = "Activation"
    function: str = "relu"
    alpha: float = 0.0
    beta: float = 0.0
    low: float = -math.inf
    high: float = math.inf

    def output_shape(self, inputs, weights):
        _require(self.function in ACTIVATIONS,
                 f"unknown activation {self.function!r}; known: {', '.join(ACTIVATIONS)}")
        (x,) = inputs
        if self.function == "prelu":
            slope = weights.get("alpha")
            _require(slope is not None, "prelu needs an 'alpha' weight (the slopes)")
            try:
                shape = np.broadcast_shapes(tuple(x), slope.shape)
            except ValueError:
                shape = None
            _require(shape == tuple(x), f"prelu slopes of shape {slope.shape} do not broadcast to {x}")
        if self.function == "steps":
            t, v = weights.get("thresholds"), weights.get("levels")
            _require(t is not None and v is not None, "steps needs 'thresholds' and 'levels' weights")
            _require(t.ndim == 1 and v.shape == (t.size + 1,) and bool(np.all(np.diff(t) >= 0)),
                     f"steps needs ascending 1-D thresholds and one more level than thresholds; got "
                     f"{t.shape} thresholds and {v.shape} levels")
        return tuple(x)


@dataclass(frozen=True)
class Softmax(Op):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (an IR axis, batch excluded; -1 = last)."""

    kind: ClassVar[str] = "Softmax"
    axis: int = -1

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(-len(x) <= self.axis < len(x), f"Softmax axis {self.axis} out of range for {x}")
        return tuple(x)


ELEMENTWISE_OPERATIONS = ("add", "sub", "mul", "max", "min")


@dataclass(frozen=True)
class Elementwise(Op):
    """y = a (op) b for two tensors; operation 'add', 'sub', 'mul', 'max' or 'min'.

    The shapes are equal or broadcast by numpy's rule restricted to equal ranks: along every axis the
    sizes are equal or one of them is 1 (that input is repeated along the axis; pure wiring).
    """

    kind: ClassVar[str] = "Elementwise"
    n_inputs: ClassVar[int | None] = 2
    operation: str = "add"

    def output_shape(self, inputs, weights):
        _require(self.operation in ELEMENTWISE_OPERATIONS, f"unknown element-wise op {self.operation!r}")
        a, b = inputs
        _require(len(a) == len(b) and all(x == y or 1 in (x, y) for x, y in zip(a, b)),
                 f"element-wise {self.operation} of shapes {a} and {b}: they neither match nor broadcast "
                 "(equal ranks, each axis equal or 1)")
        return tuple(max(x, y) for x, y in zip(a, b))


REDUCE_MODES = ("mean", "max", "min", "sum")


@dataclass(frozen=True)
class Reduce(Op):
    """Mean, max, min or sum over the IR axes `axes` (batch excluded); the other axes keep their order.

    keepdims: the reduced axes stay with size 1, else they are dropped (reducing every axis without
    keepdims gives shape (1,): a tensor always has at least one axis).
    """

    kind: ClassVar[str] = "Reduce"
    mode: str = "mean"
    axes: Shape = ()
    keepdims: bool = False

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(self.mode in REDUCE_MODES, f"unknown reduce mode {self.mode!r}; known: {', '.join(REDUCE_MODES)}")
        _require(len(self.axes) >= 1 and len(set(self.axes)) == len(self.axes)
                 and all(0 <= a < len(x) for a in self.axes),
                 f"Reduce axes {self.axes} invalid for shape {x} (distinct, 0 <= axis < rank)")
        if self.keepdims:
            return tuple(1 if a in self.axes else s for a, s in enumerate(x))
        kept = tuple(s for a, s in enumerate(x) if a not in self.axes)
        return kept or (1,)


@dataclass(frozen=True)
class Concat(Op):
    """Concatenation of one or more tensors along `axis` (an IR axis, batch excluded)."""

    kind: ClassVar[str] = "Concat"
    n_inputs: ClassVar[int | None] = None
    axis: int = -1

    def output_shape(self, inputs, weights):
        rank = len(inputs[0])
        axis = self.axis % rank if rank else 0
        for shape in inputs:
            _require(len(shape) == rank and all(shape[a] == inputs[0][a] for a in range(rank) if a != axis),
                     f"Concat inputs {list(inputs)} differ outside axis {self.axis}")
        out = list(inputs[0])
        out[axis] = sum(s[axis] for s in inputs)
        return tuple(out)


@dataclass(frozen=True)
class Reshape(Op):
    """Row-major reshape to `shape` (Flatten is a Reshape to one axis). Pure wiring."""

    kind: ClassVar[str] = "Reshape"
    shape: Shape = ()

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(math.prod(x) == math.prod(self.shape), f"cannot reshape {x} to {self.shape}")
        return tuple(self.shape)


@dataclass(frozen=True)
class Transpose(Op):
    """y = x.transpose(perm) (axes exclude the batch). Pure wiring."""

    kind: ClassVar[str] = "Transpose"
    perm: Shape = ()

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(sorted(self.perm) == list(range(len(x))), f"Transpose perm {self.perm} invalid for {x}")
        return tuple(x[p] for p in self.perm)


@dataclass(frozen=True)
class Quant(Op):
    """A quantizer: y = cast(x, dtype), and the result type of this node is forced to `dtype`.

    `dtype` is a Vivado type spelling (`FixedType.parse`). The remaining attributes keep the source
    quantizer's float definition (QONNX IntQuant: y = scale * (round(clamp(x / scale + zero_point,
    lo, hi)) - zero_point), see `nn2hls.ir.quant`), which the float executor runs; the frontend only
    creates a Quant when the two agree exactly (power-of-two scale, zero point 0).
    """

    kind: ClassVar[str] = "Quant"
    dtype: str = "ap_fixed<8,8,AP_RND_CONV,AP_SAT>"
    scale: float = 1.0
    zero_point: float = 0.0
    bit_width: int = 8
    signed: bool = True
    narrow: bool = False
    rounding_mode: str = "ROUND"

    def output_shape(self, inputs, weights):
        (x,) = inputs
        from nn2hls.errors import FixedTypeError
        from nn2hls.ir.types import FixedType
        try:
            FixedType.parse(self.dtype)
        except FixedTypeError as exc:
            raise GraphError(f"Quant dtype: {exc}") from None
        return tuple(x)


@dataclass(frozen=True)
class Embedding(Op):
    """Table lookup (Keras Embedding, torch nn.Embedding / ONNX Gather from a constant table on axis 0).

    With the node weight 'table' of shape (V, D): y[..., d] = table[x[...], d] for every index x of the
    input (any shape; integer values); an index outside [0, V) reads a row of zeros (the frameworks
    raise an error there; hardware cannot). Output shape: the input's shape plus (D,).
    """

    kind: ClassVar[str] = "Embedding"

    def output_shape(self, inputs, weights):
        (x,) = inputs
        table = weights.get("table")
        _require(table is not None and table.ndim == 2 and table.shape[0] >= 1,
                 "Embedding needs a 2-D 'table' weight (rows, features) with at least one row")
        return tuple(x) + (int(table.shape[1]),)


# ---- structural ops (pure wiring: each output element is one input element or a constant) ----------

@dataclass(frozen=True)
class Pad(Op):
    """Constant padding: `pads[a] = (before, after)` elements of `value` added on IR axis a (>= 0).

    y[i] = x[i - before] where 0 <= i_a - before_a < x_a on every axis, else `value` (ONNX Pad mode
    constant, Keras ZeroPaddingND).
    """

    kind: ClassVar[str] = "Pad"
    pads: tuple[tuple[int, int], ...] = ()
    value: float = 0.0

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(len(self.pads) == len(x), f"Pad pads {self.pads} need one (before, after) pair per axis of {x}")
        _require(all(b >= 0 and e >= 0 for b, e in self.pads), f"Pad pads {self.pads} must be >= 0")
        _require(math.isfinite(self.value), f"Pad value {self.value} must be finite")
        return tuple(n + b + e for n, (b, e) in zip(x, self.pads))


@dataclass(frozen=True)
class Slice(Op):
    """Strided selection per IR axis: y[i] = x[starts + i * steps] with `sizes` elements per axis.

    Steps may be negative (reversal); every selected index lies inside x (ONNX Slice after its
    clamping rules, Keras CroppingND).
    """

    kind: ClassVar[str] = "Slice"
    starts: Shape = ()
    steps: Shape = ()
    sizes: Shape = ()

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(len(self.starts) == len(self.steps) == len(self.sizes) == len(x),
                 f"Slice starts/steps/sizes need one entry per axis of {x}")
        for n, start, step, size in zip(x, self.starts, self.steps, self.sizes):
            last = start + (size - 1) * step
            _require(step != 0 and size >= 1 and 0 <= start < n and 0 <= last < n,
                     f"Slice starts={self.starts} steps={self.steps} sizes={self.sizes} leave {x}")
        return tuple(self.sizes)


@dataclass(frozen=True)
class Upsample(Op):
    """Nearest-neighbour upsampling by integer factors: y[i] = x[i // scales] on every IR axis."""

    kind: ClassVar[str] = "Upsample"
    scales: Shape = ()

    def output_shape(self, inputs, weights):
        (x,) = inputs
        _require(len(self.scales) == len(x) and all(s >= 1 for s in self.scales),
                 f"Upsample scales {self.scales} need one integer >= 1 per axis of {x}")
        return tuple(n * s for n, s in zip(x, self.scales))


@dataclass(frozen=True)
class DepthToSpace(Op):
    """(H, W, C * b * b) -> (H * b, W * b, C), channels-last, b = `block`.

    y[h * b + i, w * b + j, c] = x[h, w, (i * b + j) * C + c] in mode DCR and x[h, w, c * b * b + i * b + j]
    in mode CRD (ONNX DepthToSpace; torch PixelShuffle is CRD).
    """

    kind: ClassVar[str] = "DepthToSpace"
    block: int = 2
    mode: str = "DCR"

    def output_shape(self, inputs, weights):
        (x,) = inputs
        b = self.block
        _require(self.mode in ("DCR", "CRD"), f"DepthToSpace mode {self.mode!r} unknown; use DCR or CRD")
        _require(len(x) == 3 and b >= 1 and x[2] % (b * b) == 0,
                 f"DepthToSpace block {b} needs an (H, W, C) input with C divisible by {b * b}, got {x}")
        return (x[0] * b, x[1] * b, x[2] // (b * b))


@dataclass(frozen=True)
class SpaceToDepth(Op):
    """(H * b, W * b, C) -> (H, W, C * b * b), channels-last: y[h, w, (i * b + j) * C + c] = x[h * b + i, w * b + j, c]."""

    kind: ClassVar[str] = "SpaceToDepth"
    block: int = 2

    def output_shape(self, inputs, weights):
        (x,) = inputs
        b = self.block
        _require(len(x) == 3 and b >= 1 and x[0] % b == 0 and x[1] % b == 0,
                 f"SpaceToDepth block {b} needs an (H, W, C) input with H and W divisible by {b}, got {x}")
        return (x[0] // b, x[1] // b, x[2] * b * b)


STRUCTURAL_OPS: tuple[type[Op], ...] = (Pad, Slice, Upsample, DepthToSpace, SpaceToDepth)
"""Ops whose every output element is one input element (or Pad's constant): their result type is the
input's, and the HLS code is index wiring (`nn2hls.ir.rearrange`)."""


ALL_OPS: tuple[type[Op], ...] = (Input, Dense, Conv, Pool, GlobalPool, BatchNorm, ScaleShift, Activation,
                                 Softmax, Elementwise, Concat, Reshape, Transpose,
                                 Quant, Reduce, Embedding) + STRUCTURAL_OPS
