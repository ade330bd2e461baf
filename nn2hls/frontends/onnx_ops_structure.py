"""ONNX converters of structural ops: Pad, Slice, Resize / Upsample (nearest), DepthToSpace, SpaceToDepth.

Pad, Slice and Resize act on each axis separately, so they run in whatever layout the tensor already
has: for a plain tensor (IR data = ONNX data transposed by `perm`) IR axis i is ONNX axis perm[i] and
each per-axis parameter is permuted the same way; other tensors are first brought to the source
layout. DepthToSpace / SpaceToDepth need the channels-last (H, W, C) layout. The batch axis (ONNX
axis 0) must be left alone by all of them. Rules (ONNX operator spec):

- Pad (mode constant; `pads` [x1_begin, x2_begin, ..., x1_end, ...] over `axes`, opset 18, or all axes;
  `constant_value` default 0; before opset 11 the attributes pads/value/mode): negative pads crop,
  done as a Slice before the Pad. Modes reflect, edge and wrap are refused.
- Slice (starts/ends/axes/steps constant; attributes before opset 10): per axis, negative starts/ends
  add the length, then starts/ends are clamped to [0, n] (step > 0) or [0, n - 1] / [-1, n - 1]
  (step < 0); the output has ceil((end - start) / step) elements. An empty result is refused.
- Resize (mode nearest) and Upsample (opset 9, mode nearest): each axis's factor out / in (from
  `scales`, or from `sizes` in opset 11+) must be an integer k, and the spec's coordinate transformation
  followed by its nearest rounding must pick input index o // k for every output index o: this holds
  for asymmetric + floor (Upsample, Resize-10, torch nn.Upsample), half_pixel / pytorch_half_pixel /
  half_pixel_symmetric + round_prefer_floor or round_prefer_ceil, tf_half_pixel_for_nn + floor, and for
  k = 2 also asymmetric + round_prefer_floor. It is checked index by index; other combinations (and
  modes linear / cubic, tf_crop_and_resize, fractional scales) are refused with the reason.
- DepthToSpace (mode DCR or CRD) and SpaceToDepth on (C, H, W) -> IR ops of the same names.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_fold import BATCH
from nn2hls.frontends.onnx_layout import Tensor, channels_last, plain_tensor
from nn2hls.frontends.onnx_ops import attribute_error, constant_input, converter, tensor_input
from nn2hls.ir import ops

INT64_MAX = 2 ** 63 - 1


def _plain(ctx, node, t: Tensor) -> Tensor:
    """t in a layout where IR axis i holds ONNX axis t.perm[i] (its own when plain, else the source one)."""
    return t if t.plain else ctx.layouts.source(t, hint=ctx.name(node) + "_in")


def _to_ir(t: Tensor, per_onnx_axis: list) -> tuple:
    """Per-sample ONNX-axis parameters in the order of t's IR axes."""
    return tuple(per_onnx_axis[p] for p in t.perm)


def _axes(ctx, node, axes, rank: int, what: str = "axes") -> list[int]:
    """ONNX axes (batch included, negatives allowed) as axes of the rank+1 tensor, distinct."""
    full = rank + 1
    out = []
    for a in axes:
        a = int(a)
        if not -full <= a < full:
            raise attribute_error(ctx, node, what, [int(v) for v in axes], f"axes in [{-full}, {full - 1}]")
        out.append(a % full)
    if len(set(out)) != len(out):
        raise attribute_error(ctx, node, what, [int(v) for v in axes], "distinct axes")
    return out


def _ints(ctx, node, inputs, index: int, what: str, required: bool = True) -> list[int] | None:
    value = constant_input(ctx, node, inputs, index, what, required=required)
    if value is None:
        return None
    return [int(v) for v in np.asarray(value).reshape(-1)]


def _slice(ctx, node, t: Tensor, starts, steps, sizes) -> Tensor:
    """An IR Slice of plain t (per-sample ONNX-axis parameters), or t itself when it keeps everything."""
    if all(st == 0 and sp == 1 and sz == n for st, sp, sz, n in zip(starts, steps, sizes, t.shape)):
        return t
    op = ops.Slice(starts=_to_ir(t, starts), steps=_to_ir(t, steps), sizes=_to_ir(t, sizes))
    name = ctx.add(op, [t.node], node)
    return plain_tensor(name, tuple(sizes), t.perm)


# ---- Pad ----------------------------------------------------------------------------------------
@converter("Pad")
def pad(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    mode = attrs.get("mode", "constant")
    if mode != "constant":
        raise attribute_error(ctx, node, "mode", mode, "mode='constant' (reflect, edge and wrap padding are "
                                                       "not supported)")
    if ctx.opset < 11:
        pads = [int(v) for v in attrs.get("pads", [])]
        value = float(attrs.get("value", 0.0))
        axes = list(range(t.rank + 1))
    else:
        pads = _ints(ctx, node, inputs, 1, "pads")
        given = constant_input(ctx, node, inputs, 2, "constant_value", required=False)
        value = 0.0 if given is None or given.size == 0 else float(given.reshape(-1)[0])
        axes_in = _ints(ctx, node, inputs, 3, "axes", required=False)
        axes = _axes(ctx, node, axes_in, t.rank) if axes_in is not None else list(range(t.rank + 1))
    if len(pads) != 2 * len(axes):
        raise UnsupportedOpError(f"ONNX Pad node {ctx.label(node)}: {len(pads)} pads for {len(axes)} axes; "
                                 f"expected {2 * len(axes)} (all begins, then all ends)")
    if not math.isfinite(value):
        raise UnsupportedOpError(f"ONNX Pad node {ctx.label(node)}: constant_value {value} is not finite")
    before, after = [0] * (t.rank + 1), [0] * (t.rank + 1)
    for k, a in enumerate(axes):
        before[a], after[a] = pads[k], pads[k + len(axes)]
    if before[0] or after[0]:
        raise UnsupportedOpError(f"ONNX Pad node {ctx.label(node)}: pads {pads} pad the batch axis 0; only "
                                 f"the other axes may be padded")
    before, after = before[1:], after[1:]
    if any(t.shape[a] + min(before[a], 0) + min(after[a], 0) <= 0 for a in range(t.rank)):
        raise UnsupportedOpError(f"ONNX Pad node {ctx.label(node)}: negative pads {pads} crop a tensor of "
                                 f"shape {t.shape} to nothing")
    t = _plain(ctx, node, t)
    if any(p < 0 for p in before + after):  # cropping part
        starts = [-min(b, 0) for b in before]
        sizes = [n + min(b, 0) + min(e, 0) for n, b, e in zip(t.shape, before, after)]
        t = _slice(ctx, node, t, starts, [1] * t.rank, sizes)
    grow = [(max(b, 0), max(e, 0)) for b, e in zip(before, after)]
    if not any(b or e for b, e in grow):
        return [t]
    name = ctx.add(ops.Pad(pads=_to_ir(t, grow), value=value), [t.node], node)
    return [plain_tensor(name, tuple(n + b + e for n, (b, e) in zip(t.shape, grow)), t.perm)]


# ---- Slice --------------------------------------------------------------------------------------
def _normalize(start: int, end: int, step: int, n: int) -> tuple[int, int]:
    """(start, size) of one axis per the ONNX Slice clamping rules."""
    start = start + n if start < 0 else start
    end = end + n if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), n), min(max(end, 0), n)
    else:
        start, end = min(max(start, 0), n - 1), min(max(end, -1), n - 1)
    return start, max(0, -(-(end - start) // step))


@converter("Slice")
def slice_op(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    if ctx.opset < 10:
        starts, ends = [int(v) for v in attrs.get("starts", [])], [int(v) for v in attrs.get("ends", [])]
        axes_in, steps_in = attrs.get("axes"), None
    else:
        starts, ends = _ints(ctx, node, inputs, 1, "starts"), _ints(ctx, node, inputs, 2, "ends")
        axes_in = _ints(ctx, node, inputs, 3, "axes", required=False)
        steps_in = _ints(ctx, node, inputs, 4, "steps", required=False)
    axes = _axes(ctx, node, axes_in, t.rank) if axes_in is not None else list(range(len(starts)))
    steps = list(steps_in) if steps_in is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise UnsupportedOpError(f"ONNX Slice node {ctx.label(node)}: starts, ends, axes and steps must have "
                                 f"the same length")
    if any(a > t.rank for a in axes) or 0 in steps:
        raise UnsupportedOpError(f"ONNX Slice node {ctx.label(node)}: axes {axes} / steps {steps} invalid for "
                                 f"a rank-{t.rank + 1} input (steps must be nonzero)")
    begin, step_of, size_of = [0] * t.rank, [1] * t.rank, list(t.shape)
    for a, start, end, step in zip(axes, starts, ends, steps):
        if a == 0:
            whole = start == 0 and step == 1 and (end >= INT64_MAX // 2 or end == BATCH
                                                  or (ctx.batch != BATCH and end >= ctx.batch))
            if not whole:
                raise UnsupportedOpError(f"ONNX Slice node {ctx.label(node)}: slices the batch axis 0 "
                                         f"(start {start}, end {end}, step {step}); only the other axes may "
                                         f"be sliced")
            continue
        first, size = _normalize(start, end, step, t.shape[a - 1])
        if size == 0:
            raise UnsupportedOpError(f"ONNX Slice node {ctx.label(node)}: start {start}, end {end}, step "
                                     f"{step} select no element of axis {a} (length {t.shape[a - 1]})")
        begin[a - 1], step_of[a - 1], size_of[a - 1] = first, step, size
    t = _plain(ctx, node, t)
    return [_slice(ctx, node, t, begin, step_of, size_of)]


# ---- Resize / Upsample --------------------------------------------------------------------------
def _source_coordinate(mode: str, o: int, scale: float, n_in: int, n_out: int) -> float:
    """The ONNX Resize coordinate transformation of output index o along one axis."""
    if mode == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        adjustment = n_out / (scale * n_in)
        center = n_in / 2
        return center * (1 - adjustment) + (o + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if n_out > 1 else 0.0
    if mode == "align_corners":
        return o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if mode == "asymmetric":
        return o / scale
    if mode == "tf_half_pixel_for_nn":
        return (o + 0.5) / scale
    raise KeyError(mode)


def _nearest(x: float, mode: str) -> int:
    if mode == "floor":
        return math.floor(x)
    if mode == "ceil":
        return math.ceil(x)
    if x == math.floor(x) + 0.5:
        return math.floor(x) if mode == "round_prefer_floor" else math.ceil(x)
    return math.floor(x + 0.5)


COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                    "tf_half_pixel_for_nn")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _is_repeat(coordinate: str, nearest: str, scale: float, n_in: int, k: int) -> bool:
    """True when every output index o of this axis reads input index o // k."""
    for o in range(n_in * k):
        i = min(max(_nearest(_source_coordinate(coordinate, o, scale, n_in, n_in * k), nearest), 0), n_in - 1)
        if i != o // k:
            return False
    return True


def _upsample(ctx, node, t: Tensor, factors: list[float], given: list[float], coordinate: str,
              nearest: str) -> list:
    """An IR Upsample of t by per-sample-axis `factors` (out / in), checked against the spec's indices."""
    name_of = f"ONNX {node.op_type} node {ctx.label(node)}"
    scales = []
    for a, (f, s) in enumerate(zip(factors, given)):
        k = int(round(f))
        if abs(f - k) > 1e-6 or k < 1:
            raise UnsupportedOpError(f"{name_of}: scale {s:g} on axis {a + 1} is not supported; only "
                                     f"integer upsampling factors (nearest) are")
        if k > 1 and not _is_repeat(coordinate, nearest, s, t.shape[a], k):
            raise UnsupportedOpError(
                f"{name_of}: coordinate_transformation_mode={coordinate!r} with nearest_mode={nearest!r} "
                f"does not repeat each input {k} times on axis {a + 1}; supported: the combinations where "
                f"nearest upsampling is a plain repeat (asymmetric + floor, half_pixel + round_prefer_floor, ...)")
        scales.append(k)
    if all(k == 1 for k in scales):
        return [t]
    t = _plain(ctx, node, t)
    name = ctx.add(ops.Upsample(scales=_to_ir(t, scales)), [t.node], node)
    return [plain_tensor(name, tuple(n * k for n, k in zip(t.shape, scales)), t.perm)]


def _factors(ctx, node, t: Tensor, scales, sizes, axes) -> tuple[list[float], list[float]]:
    """(out / in, the scale the spec's formulas use) per per-sample axis, from scales or sizes."""
    full = [1.0] * (t.rank + 1)
    name_of = f"ONNX {node.op_type} node {ctx.label(node)}"
    if scales is not None and scales.size:
        values = [float(v) for v in scales.reshape(-1)]
        if len(values) != len(axes):
            raise UnsupportedOpError(f"{name_of}: {len(values)} scales for a rank-{len(axes)} resize")
        for a, v in zip(axes, values):
            full[a] = v
        given = list(full)
    elif sizes is not None and sizes.size:
        values = [int(v) for v in sizes.reshape(-1)]
        if len(values) != len(axes):
            raise UnsupportedOpError(f"{name_of}: {len(values)} sizes for a rank-{len(axes)} resize")
        dims = (ctx.batch,) + t.shape
        for a, v in zip(axes, values):
            full[a] = 1.0 if a == 0 and v in (ctx.batch, BATCH) else v / dims[a]
        given = list(full)
    else:
        raise UnsupportedOpError(f"{name_of}: needs constant scales or sizes")
    if full[0] != 1.0:
        raise UnsupportedOpError(f"{name_of}: resizes the batch axis 0 (scale {full[0]:g}); only the other "
                                 f"axes may be resized")
    return full[1:], given[1:]


@converter("Resize")
def resize(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    mode = attrs.get("mode", "nearest")
    if mode != "nearest":
        raise attribute_error(ctx, node, "mode", mode, "mode='nearest' with integer scales (linear and cubic "
                                                       "interpolation are not supported)")
    if ctx.opset < 11:
        scales = constant_input(ctx, node, inputs, 1, "scales")
        sizes, coordinate, nearest = None, "asymmetric", "floor"
    else:
        scales = constant_input(ctx, node, inputs, 2, "scales", required=False)
        sizes = constant_input(ctx, node, inputs, 3, "sizes", required=False)
        coordinate = attrs.get("coordinate_transformation_mode", "half_pixel")
        nearest = attrs.get("nearest_mode", "round_prefer_floor")
    if coordinate not in COORDINATE_MODES:
        raise attribute_error(ctx, node, "coordinate_transformation_mode", coordinate,
                              ", ".join(COORDINATE_MODES) + " (where nearest upsampling is a plain repeat)")
    if nearest not in NEAREST_MODES:
        raise attribute_error(ctx, node, "nearest_mode", nearest, ", ".join(NEAREST_MODES))
    policy = attrs.get("keep_aspect_ratio_policy", "stretch")
    if policy != "stretch" and sizes is not None and sizes.size:
        raise attribute_error(ctx, node, "keep_aspect_ratio_policy", policy, "stretch")
    axes = _axes(ctx, node, attrs["axes"], t.rank) if "axes" in attrs else list(range(t.rank + 1))
    factors, given = _factors(ctx, node, t, scales, sizes, axes)
    return _upsample(ctx, node, t, factors, given, coordinate, nearest)


@converter("Upsample")
def upsample(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    mode = attrs.get("mode", "nearest")
    if mode != "nearest":
        raise attribute_error(ctx, node, "mode", mode, "mode='nearest' with integer scales (linear "
                                                       "interpolation is not supported)")
    if "scales" in attrs:
        scales = np.asarray(attrs["scales"], dtype=np.float64)
    else:
        scales = constant_input(ctx, node, inputs, 1, "scales")
    factors, given = _factors(ctx, node, t, scales, None, list(range(t.rank + 1)))
    return _upsample(ctx, node, t, factors, given, "asymmetric", "floor")


# ---- DepthToSpace / SpaceToDepth ----------------------------------------------------------------
def _block(ctx, node, attrs, t: Tensor) -> int:
    if t.rank != 3:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: needs a (C, H, W) feature map, "
                                 f"got per-sample shape {t.shape}")
    if "blocksize" not in attrs or int(attrs["blocksize"]) < 1:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: missing or invalid blocksize")
    return int(attrs["blocksize"])


@converter("DepthToSpace")
def depth_to_space(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    b = _block(ctx, node, attrs, t)
    mode = attrs.get("mode", "DCR")
    if mode not in ("DCR", "CRD"):
        raise attribute_error(ctx, node, "mode", mode, "DCR, CRD")
    c, h, w = t.shape
    if c % (b * b):
        raise UnsupportedOpError(f"ONNX DepthToSpace node {ctx.label(node)}: {c} channels are not divisible "
                                 f"by blocksize^2 = {b * b}")
    t = ctx.layouts.channels_last(t, hint=ctx.name(node) + "_in")
    name = ctx.add(ops.DepthToSpace(block=b, mode=mode), [t.node], node)
    return [plain_tensor(name, (c // (b * b), h * b, w * b), channels_last(3))]


@converter("SpaceToDepth")
def space_to_depth(ctx, node, attrs, inputs):
    t = tensor_input(ctx, node, inputs, 0)
    b = _block(ctx, node, attrs, t)
    c, h, w = t.shape
    if h % b or w % b:
        raise UnsupportedOpError(f"ONNX SpaceToDepth node {ctx.label(node)}: height {h} and width {w} must be "
                                 f"divisible by blocksize {b}")
    t = ctx.layouts.channels_last(t, hint=ctx.name(node) + "_in")
    name = ctx.add(ops.SpaceToDepth(block=b), [t.node], node)
    return [plain_tensor(name, (c * b * b, h // b, w // b), channels_last(3))]
