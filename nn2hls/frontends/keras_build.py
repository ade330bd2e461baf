"""Graph-building state of the Keras frontend: Keras tensors, their two layouts, and layer weights.

Layout rule: a Keras tensor is held in the IR in up to two views.
- `keras`: the tensor in Keras's own layout (what Dense, Flatten, Reshape and the graph outputs see);
- `cl`: the tensor channels-last, for tensors a `channels_first` layer produced or reads: Keras
  (C, *spatial) becomes (*spatial, C) through Transpose(perm=(1, ..., r-1, 0)), and back through
  Transpose(perm=(r-1, 0, ..., r-2)).
A missing view is created on demand (one Transpose, cached), so a chain of channels_first layers
stays channels-last inside the IR and pays for one transpose at each end. For channels_last models
the two views coincide and no Transpose is ever added. The Input node keeps the Keras layout.

Axis rule: a Keras axis counts the batch (axis 1 is the first non-batch axis, -1 the last); the IR
axis is the same axis without the batch. In the `cl` view Keras's axis 0 (channels) moves to the end
and spatial axis k to k-1.

Weights rule: a layer's stored weights are matched to the names the converter asks for (e.g.
kernel, bias) by their last name component (`dense/kernel:0` -> kernel); when the file has no names
(the `.keras` archive numbers them 0, 1, ...) they are taken in Keras's creation order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nn2hls.errors import ModelLoadError, UnsupportedOpError
from nn2hls.frontends.keras_config import LayerCall
from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import Op, Transpose


@dataclass
class KTensor:
    """One Keras tensor: its Keras shape (no batch) and the IR nodes holding its views."""

    shape: tuple[int, ...]
    keras: str | None = None
    cl: str | None = None

    @property
    def rank(self) -> int:
        return len(self.shape)


def to_cl_perm(rank: int) -> tuple[int, ...]:
    return tuple(range(1, rank)) + (0,)


def from_cl_perm(rank: int) -> tuple[int, ...]:
    return (rank - 1,) + tuple(range(rank - 1))


def cl_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(shape[1:]) + (shape[0],)


def keras_axis(axis: int, rank: int, layer: LayerCall, what: str = "axis") -> int:
    """A Keras axis (batch counted) as a non-negative IR axis of a rank-`rank` tensor."""
    full = rank + 1
    if not -full <= axis < full or axis % full == 0:
        raise UnsupportedOpError(f"layer '{layer.name}' ({layer.class_name}): {what} {axis} is the batch "
                                 f"axis or out of range for a rank-{rank} input; only non-batch axes are "
                                 "supported")
    return axis % full - 1


def cl_axis(axis: int, rank: int) -> int:
    """A non-negative IR axis of the Keras layout as the axis of the channels-last view."""
    return rank - 1 if axis == 0 else axis - 1


class Builder:
    """The IR graph under construction plus the Keras tensors and weights it is built from."""

    def __init__(self, graph: Graph, weights: dict[str, list[tuple[str, np.ndarray]]], keras_major: int,
                 origin: str) -> None:
        self.graph = graph
        self.weights = weights
        self.keras_major = keras_major
        self.origin = origin
        self.hgq_quantizers = False  # an HGQ FixedPointQuantizer was converted (hgq.declare_hgq_weights)

    # ---- nodes ----------------------------------------------------------------------------------
    def add(self, op: Op, inputs: list[str], layer: LayerCall, *, suffix: str = "",
            weights: dict[str, np.ndarray] | None = None) -> str:
        name = layer.name + (f"_call{layer.call}" if layer.call else "") + (f"_{suffix}" if suffix else "")
        node = self.graph.add(op, inputs, name=name, weights=weights, source_name=layer.name)
        return node.name

    def keras_view(self, t: KTensor, layer: LayerCall) -> str:
        if t.keras is None:
            t.keras = self.add(Transpose(perm=from_cl_perm(t.rank)), [t.cl], layer, suffix="from_cl")
        return t.keras

    def cl_view(self, t: KTensor, layer: LayerCall) -> str:
        if t.cl is None:
            if t.rank < 2:
                t.cl = t.keras
            else:
                t.cl = self.add(Transpose(perm=to_cl_perm(t.rank)), [t.keras], layer, suffix="to_cl")
        return t.cl

    def common_view(self, tensors: list[KTensor]) -> str:
        """'keras' unless every tensor already has only a channels-last view."""
        if tensors and all(t.keras is None and t.cl is not None for t in tensors):
            return "cl"
        return "keras"

    def view(self, t: KTensor, which: str, layer: LayerCall) -> str:
        return self.cl_view(t, layer) if which == "cl" else self.keras_view(t, layer)

    def tensor(self, which: str, node: str, keras_shape: tuple[int, ...]) -> KTensor:
        """A new Keras tensor held by `node` in the given view."""
        if which == "cl" and len(keras_shape) >= 2:
            return KTensor(tuple(keras_shape), cl=node)
        return KTensor(tuple(keras_shape), keras=node)

    def shape_of(self, node: str) -> tuple[int, ...]:
        return self.graph.nodes[node].shape

    # ---- weights --------------------------------------------------------------------------------
    def layer_weights(self, layer: LayerCall, names: list[str]) -> dict[str, np.ndarray]:
        """The layer's stored weights, keyed by the requested names (in Keras creation order)."""
        stored = self.weights.get(layer.name, [])
        if len(stored) != len(names):
            found = ", ".join(n for n, _ in stored) or "none"
            raise ModelLoadError(f"{self.origin}: layer '{layer.name}' ({layer.class_name}) has "
                                 f"{len(stored)} stored weights ({found}); expected {', '.join(names) or 'none'}")
        short = [n.split("/")[-1].split(":")[0] for n, _ in stored]
        if sorted(short) == sorted(names):
            by_name = dict(zip(short, (a for _, a in stored)))
            return {n: by_name[n] for n in names}
        return {n: a for n, (_, a) in zip(names, stored)}


# ---- helpers of the layer converters (keras_layers, keras_structure, keras_qlayers) ----
def refuse(layer: LayerCall, what: str) -> UnsupportedOpError:
    """The error refusing a layer: names the layer and its class, then what is not supported."""
    return UnsupportedOpError(f"layer '{layer.name}' ({layer.class_name}): {what}")


def int_tuple(value: Any, n: int) -> tuple[int, ...]:
    """A Keras int-or-sequence argument (kernel_size, strides, ...) as n ints (one value repeated)."""
    if isinstance(value, (list, tuple)):
        values = tuple(int(v) for v in value)
        return values * n if len(values) == 1 else values
    return (int(value),) * n


def channels_first(layer: LayerCall) -> bool:
    """True for data_format channels_first, False for channels_last (the default); others refused."""
    fmt = layer.config.get("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise refuse(layer, f"data_format {fmt!r} is not supported; use channels_last or channels_first")
    return fmt == "channels_first"
