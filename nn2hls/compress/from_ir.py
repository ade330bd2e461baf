"""A trainable PyTorch module built from an nn2hls IR graph, so that any model nn2hls reads (ONNX, Keras,
QONNX-free float models) goes through the compression toolkit and comes back as ONNX.

Rule: `IRModule(graph)` computes exactly what `nn2hls.ir.execute` computes (same layouts: the input in
the source model's layout, channels-last inside, the same ops in the same order), with Dense and Conv as
`nn.Linear` / `nn.Conv1d` / `nn.Conv2d` submodules (so `masks`, `penalties`, `qat` and `sharing` see them)
and BatchNorm as `nn.BatchNorm1d/2d` over the channel (last) axis. Weight layouts (nn2hls.ir.ops):
  Dense  kernel (in, units)               -> Linear.weight (units, in) = kernel.T
  Conv   kernel (*k, in / groups, filters) -> ConvNd.weight (filters, in / groups, *k)
Conv and pooling permute channels-last to torch's channels-first around the torch call; asymmetric pads
are explicit `F.pad`s. Supported ops: Input, Dense, Conv (1-D, 2-D), BatchNorm, ScaleShift, Activation
(linear, relu, clip, leaky_relu, elu, sigmoid, tanh, hard_sigmoid, selu, softplus, softsign, swish,
gelu, gelu_tanh, celu, thresholded_relu, hard_swish, mish; prelu with trainable slopes), Softmax, Pool
(max/avg), GlobalPool, Reduce, Elementwise, Concat, Reshape, Transpose, and the data movement ops Pad,
Slice (positive steps), Upsample, DepthToSpace, SpaceToDepth (as `nn2hls.ir.rearrange` states them);
anything else (an already-quantized `Quant`, for example) raises ConfigError naming the node.
"""
from __future__ import annotations

import math
import re
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nn2hls.errors import ConfigError
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.rearrange import block_rearrangement

_ACTIVATIONS: dict[str, Callable[[ops.Activation, torch.Tensor], torch.Tensor]] = {
    "linear": lambda op, x: x,
    "relu": lambda op, x: F.relu(x),
    "clip": lambda op, x: torch.clamp(x, None if math.isinf(op.low) else op.low, None if math.isinf(op.high) else op.high),
    "leaky_relu": lambda op, x: F.leaky_relu(x, op.alpha),
    "elu": lambda op, x: F.elu(x, op.alpha),
    "sigmoid": lambda op, x: torch.sigmoid(x),
    "tanh": lambda op, x: torch.tanh(x),
    "hard_sigmoid": lambda op, x: torch.clamp(op.alpha * x + op.beta, 0.0, 1.0),
    "softplus": lambda op, x: F.softplus(x),
    "softsign": lambda op, x: F.softsign(x),
    "swish": lambda op, x: x * torch.sigmoid(x),
    "gelu": lambda op, x: F.gelu(x),
    "gelu_tanh": lambda op, x: F.gelu(x, approximate="tanh"),
    # forms the ONNX exporter writes as single ops nn2hls reads back (Elu, Celu, Threshold, HardSwish, Mish)
    "selu": lambda op, x: op.beta * F.elu(x, op.alpha),
    "celu": lambda op, x: F.celu(x, op.alpha),
    "thresholded_relu": lambda op, x: F.threshold(x, op.alpha, op.beta),
    "hard_swish": lambda op, x: (F.hardswish(x) if (op.alpha, op.beta) == (1.0 / 6.0, 0.5)
                                 else x * torch.clamp(op.alpha * x + op.beta, 0.0, 1.0)),
    "mish": lambda op, x: F.mish(x),
}
_ELEMENTWISE = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "max": torch.maximum, "min": torch.minimum}


def _key(name: str, used: set[str]) -> str:
    key = re.sub(r"\W", "_", name) or "layer"
    key = "_" + key if key[0].isdigit() else key
    base, k = key, 1
    while key in used:
        k += 1
        key = f"{base}_{k}"
    used.add(key)
    return key


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float32))


def _flat_pads(pads: tuple[tuple[int, int], ...]) -> list[int]:
    # F.pad takes the last axis first: (last_begin, last_end, previous_begin, ...)
    out: list[int] = []
    for begin, end in reversed(pads):
        out += [int(begin), int(end)]
    return out


def _pad(x: torch.Tensor, pads: tuple[tuple[int, int], ...], value: float = 0.0) -> torch.Tensor:
    # no Pad node at all when nothing is padded (keeps the exported ONNX as small as the source)
    return F.pad(x, _flat_pads(pads), value=value) if any(p for pair in pads for p in pair) else x


def _channels_first(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, *range(2, x.ndim), 1)


class IRModule(nn.Module):
    """The graph as an nn.Module: forward(*inputs) takes (N, *input_shape) tensors in the model's own
    layout and returns the output (or a tuple of outputs in graph output order). `layer_names` maps each
    submodule key to its IR node name."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph_name = graph.name
        self.layers = nn.ModuleDict()
        self.layer_names: dict[str, str] = {}
        self._steps: list[tuple[str, Node, list[str], str | None]] = []
        self._inputs = [n.name for n in graph.inputs]
        self._outputs = list(graph.outputs)
        used: set[str] = set()
        for node in graph.topological():
            key = None
            module = self._module(node)
            if module is not None:
                key = _key(node.name, used)
                self.layers[key] = module
                self.layer_names[key] = node.name
            elif type(node.op) is ops.ScaleShift:  # constants: buffers, so .to(device/dtype) moves them
                key = _key(node.name, used)
                self.register_buffer(f"{key}_scale", _tensor(node.weights["scale"]))
                self.register_buffer(f"{key}_shift", _tensor(node.weights["shift"]))
            elif type(node.op) not in _STATELESS:
                raise ConfigError(f"node {node.label()}: op {node.op.kind} cannot be made trainable in PyTorch "
                                  "(compress works on float models; supported ops: nn2hls.compress.from_ir)")
            self._steps.append((node.name, node, list(node.inputs), key))

    @staticmethod
    def _module(node: Node) -> nn.Module | None:
        op, w = node.op, node.weights
        if isinstance(op, ops.Dense):
            kernel = w["kernel"]
            layer = nn.Linear(kernel.shape[0], kernel.shape[1], bias="bias" in w)
            with torch.no_grad():
                layer.weight.copy_(_tensor(kernel.T))
                if "bias" in w:
                    layer.bias.copy_(_tensor(w["bias"]))
            return layer
        if isinstance(op, ops.Conv):
            kernel = w["kernel"]
            if op.ndim not in (1, 2):
                raise ConfigError(f"node {node.label()}: {op.ndim}-D convolution cannot be made trainable")
            cls = nn.Conv1d if op.ndim == 1 else nn.Conv2d
            cin = kernel.shape[-2] * op.groups
            layer = cls(cin, kernel.shape[-1], tuple(op.kernel_size), stride=tuple(op.strides),
                        dilation=tuple(op.dilations), groups=op.groups, bias="bias" in w)
            order = (op.ndim + 1, op.ndim) + tuple(range(op.ndim))
            with torch.no_grad():
                layer.weight.copy_(_tensor(np.transpose(kernel, order)))
                if "bias" in w:
                    layer.bias.copy_(_tensor(w["bias"]))
            return layer
        if isinstance(op, ops.Slice) and any(step <= 0 for step in op.steps):
            raise ConfigError(f"node {node.label()}: a Slice with negative steps has no trainable PyTorch form here")
        if isinstance(op, ops.Activation) and op.function == "prelu":
            slopes = nn.Module()
            slopes.alpha = nn.Parameter(_tensor(w["alpha"]))
            return slopes
        if isinstance(op, ops.Activation) and op.function not in _ACTIVATIONS:
            raise ConfigError(f"node {node.label()}: activation {op.function} has no trainable PyTorch form")
        if isinstance(op, ops.BatchNorm):
            rank = len(node.shape)  # (C,) and (L, C): BatchNorm1d; (H, W, C): BatchNorm2d; on channels-first
            if rank > 3:
                raise ConfigError(f"node {node.label()}: BatchNorm over a rank-{rank} tensor has no trainable form")
            layer = (nn.BatchNorm2d if rank == 3 else nn.BatchNorm1d)(len(w["gamma"]), eps=op.epsilon)
            with torch.no_grad():
                layer.weight.copy_(_tensor(w["gamma"]))
                layer.bias.copy_(_tensor(w["beta"]))
                layer.running_mean.copy_(_tensor(w["mean"]))
                layer.running_var.copy_(_tensor(w["var"]))
            return layer
        return None

    def _run(self, node: Node, args: list[torch.Tensor], key: str | None) -> torch.Tensor:
        op = node.op
        x = args[0] if args else None
        if isinstance(op, ops.Dense):
            return self.layers[key](x)
        if isinstance(op, ops.Conv):
            return _channels_last(self.layers[key](_pad(_channels_first(x), op.pads)))
        if isinstance(op, ops.BatchNorm):
            if x.ndim == 2:
                return self.layers[key](x)
            return _channels_last(self.layers[key](_channels_first(x)))
        if isinstance(op, ops.ScaleShift):
            return x * getattr(self, f"{key}_scale") + getattr(self, f"{key}_shift")
        if isinstance(op, ops.Activation):
            if op.function == "prelu":
                return torch.where(x >= 0, x, x * self.layers[key].alpha)
            return _ACTIVATIONS[op.function](op, x)
        if isinstance(op, ops.Softmax):
            return F.softmax(x, dim=(op.axis % (x.ndim - 1)) + 1)
        if isinstance(op, ops.Pool):
            return self._pool(op, x)
        if isinstance(op, ops.GlobalPool):
            axes = tuple(range(1, x.ndim - 1))
            return x.amax(dim=axes) if op.mode == "max" else x.mean(dim=axes)
        if isinstance(op, ops.Reduce):
            axes = tuple(a + 1 for a in op.axes)
            fn = {"mean": torch.mean, "sum": torch.sum}.get(op.mode)
            y = fn(x, dim=axes, keepdim=True) if fn else (x.amax(dim=axes, keepdim=True) if op.mode == "max"
                                                           else x.amin(dim=axes, keepdim=True))
            return y.reshape((x.shape[0],) + tuple(node.shape))
        if isinstance(op, ops.Elementwise):
            if op.operation not in _ELEMENTWISE:
                raise ConfigError(f"node {node.label()}: element-wise {op.operation} has no PyTorch form here")
            return _ELEMENTWISE[op.operation](args[0], args[1])
        if isinstance(op, ops.Concat):
            return torch.cat(args, dim=(op.axis % (args[0].ndim - 1)) + 1)
        if isinstance(op, ops.Reshape):
            return x.reshape((x.shape[0],) + tuple(op.shape))
        if isinstance(op, ops.Transpose):
            return x.permute(0, *(p + 1 for p in op.perm))
        if isinstance(op, ops.Pad):
            return _pad(x, tuple(op.pads), float(op.value))
        if isinstance(op, ops.Slice):
            index = [slice(None)] + [slice(start, start + size * step, step)
                                     for start, step, size in zip(op.starts, op.steps, op.sizes)]
            return x[tuple(index)]
        if isinstance(op, ops.Upsample):
            for axis, scale in enumerate(op.scales, start=1):
                if scale != 1:
                    x = torch.repeat_interleave(x, int(scale), dim=axis)
            return x
        if isinstance(op, (ops.DepthToSpace, ops.SpaceToDepth)):
            split, perm, out = block_rearrangement(op, tuple(x.shape))  # the executor's rule (rearrange.py)
            return x.reshape(split).permute(perm).reshape(out)
        raise ConfigError(f"node {node.label()}: op {op.kind} cannot be made trainable in PyTorch")

    @staticmethod
    def _pool(op: ops.Pool, x: torch.Tensor) -> torch.Tensor:
        xc = _channels_first(x)
        if op.mode == "max":
            pool = F.max_pool1d if op.ndim == 1 else F.max_pool2d
            if all(b == e for b, e in op.pads) and all(2 * b <= k for (b, _), k in zip(op.pads, op.pool_size)):
                padding = tuple(b for b, _ in op.pads)  # torch pads max pooling with -inf itself
                return _channels_last(pool(xc, tuple(op.pool_size), tuple(op.strides), padding=padding))
            # asymmetric: a finite stand-in for -inf (exporters refuse an infinite Pad value)
            return _channels_last(pool(_pad(xc, op.pads, -3.0e38), tuple(op.pool_size), tuple(op.strides)))
        pool = F.avg_pool1d if op.ndim == 1 else F.avg_pool2d
        total = pool(_pad(xc, op.pads), tuple(op.pool_size), tuple(op.strides))
        if op.count_include_pad or not any(p for pair in op.pads for p in pair):
            return _channels_last(total)
        ones = _pad(torch.ones((1, 1) + tuple(xc.shape[2:]), dtype=xc.dtype), op.pads)
        share = pool(ones, tuple(op.pool_size), tuple(op.strides))  # fraction of each window inside
        return _channels_last(total / share)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if len(inputs) != len(self._inputs):
            raise ConfigError(f"model '{self.graph_name}' takes {len(self._inputs)} inputs, got {len(inputs)}")
        values = dict(zip(self._inputs, inputs))
        for name, node, producers, key in self._steps:
            if type(node.op) is ops.Input:
                continue
            values[name] = self._run(node, [values[p] for p in producers], key)
        outs = tuple(values[o] for o in self._outputs)
        return outs[0] if len(outs) == 1 else outs


_STATELESS = (ops.Input, ops.ScaleShift, ops.Activation, ops.Softmax, ops.Pool, ops.GlobalPool, ops.Reduce,
              ops.Elementwise, ops.Concat, ops.Reshape, ops.Transpose, ops.Pad, ops.Slice, ops.Upsample,
              ops.DepthToSpace, ops.SpaceToDepth)


def to_torch(model: object, example_input: object = None) -> IRModule:
    """A trainable IRModule of anything `nn2hls.load` reads (file path, ONNX/Keras model, Graph).
    Raises ModelLoadError/UnsupportedOpError from loading and ConfigError for an op without a trainable
    form (module docstring)."""
    from nn2hls.pipeline import load

    graph = model if isinstance(model, Graph) else load(model, example_input)
    return IRModule(graph).eval()
