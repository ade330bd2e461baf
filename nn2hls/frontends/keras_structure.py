"""Keras converters of structural layers: UpSampling1D/2D/3D, ZeroPadding1D/2D/3D, Cropping1D/2D/3D, Permute.

Rules (Keras docs):
- UpSamplingND(size): nearest-neighbour repetition of each spatial axis `size` times (UpSampling2D
  interpolation 'nearest' only) -> Upsample.
- ZeroPaddingND(padding): an int (same on every side), one int per spatial axis (symmetric), or one
  (before, after) pair per axis; ZeroPadding1D's pair is (left, right) of its one axis -> Pad with 0.
- CroppingND(cropping): the same spellings, elements removed from each side -> Slice.
- Permute(dims): dims is a permutation of 1..rank (the batch is not counted); output axis i is input
  axis dims[i] - 1 -> Transpose on the Keras layout.
Spatial axes are the non-channel axes of the layer's data_format (channels_last: all but the last;
channels_first: all but the first); the op runs on whichever view of the tensor exists (the
per-axis parameters are reordered for the channels-last view).
"""
from __future__ import annotations

from typing import Any

from nn2hls.frontends.keras_build import Builder, KTensor, channels_first, int_tuple, refuse
from nn2hls.frontends.keras_config import LayerCall
from nn2hls.ir import ops


def _ndim(layer: LayerCall) -> int:
    return int(layer.class_name[-2])  # ...1D / 2D / 3D


def _pairs(layer: LayerCall, value: Any, n: int, what: str) -> tuple[tuple[int, int], ...]:
    """The (before, after) pair of each of the n spatial axes from a Keras padding/cropping spec."""
    if isinstance(value, (int, float)):
        return ((int(value), int(value)),) * n
    items = list(value)
    if n == 1 and len(items) == 2 and all(isinstance(v, (int, float)) for v in items):
        return ((int(items[0]), int(items[1])),)
    if len(items) == n and all(isinstance(v, (int, float)) for v in items):
        return tuple((int(v), int(v)) for v in items)
    if len(items) == n and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in items):
        return tuple((int(v[0]), int(v[1])) for v in items)
    raise refuse(layer, f"{what} {value!r} is not a valid spelling for {n} spatial axes")


def _per_axis(layer: LayerCall, t: KTensor, spatial: tuple, neutral) -> list:
    """Keras-axis parameter list: `spatial` on the spatial axes, `neutral` on the channel axis."""
    n = len(spatial)
    if t.rank != n + 1:
        raise refuse(layer, f"expects a rank-{n + 1} input (batch excluded), got shape {t.shape}")
    return [neutral] + list(spatial) if channels_first(layer) else list(spatial) + [neutral]


def _emit(b: Builder, layer: LayerCall, t: KTensor, make, per_keras_axis: list, out_shape: tuple) -> KTensor:
    """Add make(per-IR-axis params) on the tensor's existing view; the result is a Keras tensor."""
    which = b.common_view([t])
    params = per_keras_axis if which == "keras" else per_keras_axis[1:] + per_keras_axis[:1]
    node = b.add(make(tuple(params)), [b.view(t, which, layer)], layer)
    return b.tensor(which, node, tuple(out_shape))


def upsampling(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    n = _ndim(layer)
    interpolation = layer.config.get("interpolation", "nearest")
    if interpolation != "nearest":
        raise refuse(layer, f"interpolation {interpolation!r} is not supported; only 'nearest'")
    size = int_tuple(layer.config.get("size", 2), n)
    if any(s < 1 for s in size):
        raise refuse(layer, f"size {size} must be positive")
    scales = _per_axis(layer, t, size, 1)
    if all(s == 1 for s in scales):
        return t
    out = tuple(d * s for d, s in zip(t.shape, scales))
    return _emit(b, layer, t, lambda p: ops.Upsample(scales=p), scales, out)


def zero_padding(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    n = _ndim(layer)
    pads = _per_axis(layer, t, _pairs(layer, layer.config.get("padding", 1), n, "padding"), (0, 0))
    if any(p < 0 for pair in pads for p in pair):
        raise refuse(layer, f"negative padding {pads}")
    if not any(p for pair in pads for p in pair):
        return t
    out = tuple(d + p0 + p1 for d, (p0, p1) in zip(t.shape, pads))
    return _emit(b, layer, t, lambda p: ops.Pad(pads=p, value=0.0), pads, out)


def cropping(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    n = _ndim(layer)
    crops = _per_axis(layer, t, _pairs(layer, layer.config.get("cropping", 1), n, "cropping"), (0, 0))
    sizes = tuple(d - c0 - c1 for d, (c0, c1) in zip(t.shape, crops))
    if any(c < 0 for pair in crops for c in pair) or any(s <= 0 for s in sizes):
        raise refuse(layer, f"cropping {crops} does not fit an input of shape {t.shape}")
    if not any(c for pair in crops for c in pair):
        return t
    starts = [c0 for c0, _ in crops]
    which = b.common_view([t])
    order = (lambda v: list(v)) if which == "keras" else (lambda v: list(v[1:]) + list(v[:1]))
    op = ops.Slice(starts=tuple(order(starts)), steps=(1,) * t.rank, sizes=tuple(order(sizes)))
    node = b.add(op, [b.view(t, which, layer)], layer)
    return b.tensor(which, node, sizes)


def permute(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    dims = [int(d) for d in layer.config.get("dims", ())]
    if sorted(dims) != list(range(1, t.rank + 1)):
        raise refuse(layer, f"dims {tuple(dims)} is not a permutation of 1..{t.rank}")
    perm = tuple(d - 1 for d in dims)
    if perm == tuple(range(t.rank)):
        return t
    node = b.add(ops.Transpose(perm=perm), [b.keras_view(t, layer)], layer)
    return KTensor(tuple(t.shape[p] for p in perm), keras=node)


STRUCTURE_CONVERTERS = {
    "UpSampling1D": upsampling, "UpSampling2D": upsampling, "UpSampling3D": upsampling,
    "ZeroPadding1D": zero_padding, "ZeroPadding2D": zero_padding, "ZeroPadding3D": zero_padding,
    "Cropping1D": cropping, "Cropping2D": cropping, "Cropping3D": cropping,
    "Permute": permute,
}
