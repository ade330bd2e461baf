"""Context builders: turn each typed IR node into the plain data its Jinja template renders.

Rule: Python decides every number (array contents as exact literals, template parameters, types);
the templates only spell C++. One builder per op kind; each returns a `LayerContext` whose fields
are strings, ints and lists. Tensors are flat arrays in the IR's channels-last row-major order, so
Reshape is a plain copy, Transpose an index remapping and Concat a scatter (pure wiring in HLS).
Conv1D and 1-D pooling are the 2-D kernels with height 1; global pooling is one window covering the map.
Every Conv (grouped or not) is built by `grouped_conv.build_grouped_conv` (a gathered window and the
Dense row blocks: every loop has a compile-time trip count), a Dense whose weights share values by
`shared.build_dense_shared`. The structural ops (Pad, Slice, Upsample, DepthToSpace,
SpaceToDepth) are per-axis gather tables. An Embedding is its table (V * D constants of its weight
type, row-major) read at each index.

Dispatch: `OP_TABLE` (op class -> builder), `ACTIVATION_TABLE` (function -> template kind, header and
constants) and `ELEMENTWISE_TABLE` (operation -> kernel name) are this stage's tables; the shared
pieces (`LayerContext`, `base_context`, ...) live in `layer_context` (`nn2hls.op_coverage`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nn2hls.backends.vivado.cpp import constant_values, exact_sum_type
from nn2hls.backends.vivado.grouped_conv import build_grouped_conv
from nn2hls.backends.vivado.layer_context import (LayerContext, add_row_blocks, add_table, base_context,
                                                  bias_values, flat_size, ints, pair, prec, spatial_2d,
                                                  type_name, weighted_types)
from nn2hls.backends.vivado.shared import build_dense_shared, use_shared
from nn2hls.backends.vivado.sparse import split_dense
from nn2hls.errors import UnsupportedOpError
from nn2hls.ir import rearrange, tables
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import (STRUCTURAL_OPS, Activation, BatchNorm, Concat, Conv, Dense, Elementwise, Embedding,
                           GlobalPool, Input, Op, Pool, Quant, Reduce, Reshape, ScaleShift, Softmax, Transpose)
from nn2hls.ir.types import FixedType


# ---- weighted layers -------------------------------------------------------------------------------
def build_dense(graph: Graph, node: Node) -> LayerContext:
    ctx = base_context(graph, node, "dense", "nn2hls_dense.h")
    weighted_types(ctx, node)
    kernel = node.weights["kernel"]
    lists = split_dense(kernel, full_rows=True)
    n_in, n_out = kernel.shape
    add_row_blocks(ctx, node, lists, ("mul", "p2", "add", "sub"))
    ctx.add_array("bias", type_name(node.name, "bias"), bias_values(node, n_out))
    ctx.params.update({"n_in": int(n_in), "n_out": int(n_out), "positions": flat_size(node.shape[:-1])})
    ctx.products = len(split_dense(kernel)["mul"])  # general products (+-1, 2^k fold in HLS)
    ctx.weight_entries = sum(len(v) for v in lists.values())
    return ctx


# ---- pooling ---------------------------------------------------------------------------------------
def build_pool(graph: Graph, node: Node, reuse_factor: int) -> LayerContext:
    op = node.op
    in_shape = graph[node.inputs[0]].shape
    if isinstance(op, GlobalPool):
        ih, iw = (1, in_shape[0]) if len(in_shape) == 2 else (in_shape[0], flat_size(in_shape[1:-1]))
        c = in_shape[-1]
        oh = ow = 1
        kh, kw, sh, sw, pt, pl = ih, iw, 1, 1, 0, 0
        count_pad = True
    else:
        if op.ndim not in (1, 2):
            raise UnsupportedOpError(f"node {node.label()}: Pool{op.ndim}D is not supported; use 1-D or 2-D")
        ih, iw, c = spatial_2d(in_shape, op.ndim)
        oh, ow, _ = spatial_2d(node.shape, op.ndim)
        kh, kw = pair(op.pool_size, op.ndim, 1)
        sh, sw = pair(op.strides, op.ndim, 1)
        pt, pl = pair(tuple(p[0] for p in op.pads), op.ndim, 0)
        count_pad = bool(op.count_include_pad)
    mode = op.mode
    ctx = base_context(graph, node, f"pool_{mode}", "nn2hls_pool.h")
    ctx.params.update(dict(ih=ih, iw=iw, c=c, oh=oh, ow=ow, kh=kh, kw=kw, sh=sh, sw=sw, pt=pt, pl=pl,
                           count_pad="true" if count_pad else "false", rf=max(1, int(reuse_factor))))
    if mode == "avg":
        x_type = prec(graph[node.inputs[0]], "result")
        ctx.add_type("wide", exact_sum_type(x_type, kh * kw))
        ctx.add_type("accum", prec(node, "accum"))
        recip_t = prec(node, "recip")
        ctx.add_type("recip", recip_t)
        recips = [0.0] + [1.0 / n for n in range(1, kh * kw + 1)]
        ctx.add_array("recip", type_name(node.name, "recip"),
                      constant_values(recips, recip_t, f"node {node.label()} reciprocals"))
    return ctx


# ---- element-wise ----------------------------------------------------------------------------------
def build_activation(graph: Graph, node: Node) -> LayerContext:
    """An Activation: the template kind, header and constants of its function (ACTIVATION_TABLE)."""
    code = ACTIVATION_TABLE.get(node.op.function)
    if code is None:
        raise UnsupportedOpError(f"node {node.label()}: activation {node.op.function!r} is not supported")
    ctx = base_context(graph, node, code.kind, code.header)
    code.setup(ctx, node)
    return ctx


def _no_constants(ctx: LayerContext, node: Node) -> None:
    return None


def _parameters(node: Node) -> tuple[FixedType, str]:
    return prec(node, "param"), f"node {node.label()} parameters"


def _clip_constants(ctx: LayerContext, node: Node) -> None:
    """Bounds lo, hi as `param` literals; an infinite bound is absent (has_lo/has_hi false, literal 0)."""
    op: Activation = node.op
    pt, what = _parameters(node)
    ctx.add_type("param", pt)
    ctx.params["has_lo"] = "true" if math.isfinite(op.low) else "false"
    ctx.params["has_hi"] = "true" if math.isfinite(op.high) else "false"
    lo = op.low if math.isfinite(op.low) else 0.0
    hi = op.high if math.isfinite(op.high) else 0.0
    ctx.params["lo"], ctx.params["hi"] = constant_values([lo, hi], pt, what)


def _alpha_constant(ctx: LayerContext, node: Node) -> None:
    pt, what = _parameters(node)
    ctx.add_type("param", pt)
    (ctx.params["alpha"],) = constant_values([node.op.alpha], pt, what)


def _alpha_beta_constants(ctx: LayerContext, node: Node) -> None:
    pt, what = _parameters(node)
    ctx.add_type("param", pt)
    ctx.params["alpha"], ctx.params["beta"] = constant_values([node.op.alpha, node.op.beta], pt, what)


def _lookup_table(ctx: LayerContext, node: Node) -> None:
    ctx.add_type("table", prec(node, "table"))
    add_table(ctx, node, "table", "table", "")


def _prelu_slopes(ctx: LayerContext, node: Node) -> None:
    """Per-element slopes array (weight 'alpha'), cycled with the channel period."""
    wt = prec(node, "weight")
    ctx.add_type("weight", wt)
    slopes, period = broadcast_period(np.asarray(node.weights["alpha"], dtype=np.float64), node.shape)
    ctx.add_array("alpha", type_name(node.name, "weight"), constant_values(slopes, wt, f"node {node.label()} parameters"))
    ctx.params["period"] = period


def _selu_constants(ctx: LayerContext, node: Node) -> None:
    """The scale constant (op.beta), then the elu table of scale * alpha * (exp(v) - 1)."""
    pt, what = _parameters(node)
    ctx.add_type("param", pt)
    (ctx.params["scale"],) = constant_values([node.op.beta], pt, what)
    _lookup_table(ctx, node)


def _steps_constants(ctx: LayerContext, node: Node) -> None:
    """Thresholds on the input's grid (`nn2hls.ir.steps`; precision `thr` is the input's type), levels in the
    result type."""
    from nn2hls.ir.steps import on_grid
    x_t = prec(node, "thr")
    raws, levels = on_grid(node.weights["thresholds"], node.weights["levels"], x_t)
    if not raws:  # one threshold that never changes the level: C++ has no empty arrays
        raws, levels = [x_t.max_raw], np.array([levels[0], levels[0]])
    what = f"node {node.label()} parameters"
    ctx.add_type("thr", x_t)
    ctx.add_array("thresholds", type_name(node.name, "thr"),
                  constant_values([math.ldexp(r, -x_t.frac) for r in raws], x_t, what))
    ctx.add_array("levels", type_name(node.name, "result"), constant_values(levels, prec(node, "result"), what))
    ctx.params["count"] = len(raws)


@dataclass(frozen=True)
class ActivationCode:
    """How one activation function is emitted: template kind, hls_lib header, constants/tables/types."""

    kind: str
    setup: Callable[[LayerContext, Node], None] = _no_constants
    header: str = "nn2hls_activation.h"


ACTIVATION_TABLE: dict[str, ActivationCode] = {
    "linear": ActivationCode("copy", header="nn2hls_common.h"),
    "relu": ActivationCode("relu"),
    "clip": ActivationCode("clip", _clip_constants),
    "leaky_relu": ActivationCode("leaky_relu", _alpha_constant),
    "hard_sigmoid": ActivationCode("hard_sigmoid", _alpha_beta_constants),
    "sigmoid": ActivationCode("table_activation", _lookup_table),
    "tanh": ActivationCode("table_activation", _lookup_table),
    "elu": ActivationCode("elu", _lookup_table),
    "prelu": ActivationCode("prelu", _prelu_slopes),
    "steps": ActivationCode("steps", _steps_constants),
    "thresholded_relu": ActivationCode("thresholded_relu", _alpha_beta_constants),
    "hard_swish": ActivationCode("hard_swish", _alpha_beta_constants),
    "selu": ActivationCode("selu", _selu_constants),
    "celu": ActivationCode("elu", _lookup_table),
    "softsign": ActivationCode("table_activation", _lookup_table),
    **{fn: ActivationCode("relu_plus_table", _lookup_table) for fn in tables.RESIDUAL},
}
"""Activation function (`ops.ACTIVATIONS`) -> its ActivationCode."""


def broadcast_period(values: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """values broadcast to shape, flattened; and the shortest prefix period (the channel count when the
    values are per channel, else the whole size)."""
    flat = np.broadcast_to(values, shape).reshape(-1)
    period = shape[-1] if shape else 1
    if period > 0 and flat.size % period == 0 and np.array_equal(
            flat.reshape(-1, period), np.tile(flat[:period], (flat.size // period, 1))):
        return flat[:period], int(period)
    return flat, int(flat.size)


def build_softmax(graph: Graph, node: Node) -> LayerContext:
    op: Softmax = node.op
    ctx = base_context(graph, node, "softmax", "nn2hls_softmax.h")
    shape = node.shape
    axis = op.axis % len(shape)
    n = shape[axis]
    ctx.params.update(outer=flat_size(shape[:axis]), n=n, inner=flat_size(shape[axis + 1:]))
    exp_t = prec(node, "exp")
    ctx.add_type("exp", exp_t)
    ctx.add_type("wide", exact_sum_type(exp_t, n))
    ctx.add_type("sum", prec(node, "sum"))
    ctx.add_type("inv", prec(node, "inv"))
    add_table(ctx, node, "exp", "exp", "exp_")
    add_table(ctx, node, "inv", "inv", "inv_")
    return ctx


def build_scale_shift(graph: Graph, node: Node) -> LayerContext:
    ctx = base_context(graph, node, "scale_shift", "nn2hls_elementwise.h")
    ctx.add_type("weight", prec(node, "weight"))
    ctx.add_type("bias", node.precision.get("bias") or prec(node, "accum"))
    ctx.add_type("accum", prec(node, "accum"))
    shape = node.shape
    scale = np.broadcast_to(node.weights["scale"], shape).reshape(-1)
    shift = np.broadcast_to(node.weights["shift"], shape).reshape(-1)
    period = shape[-1] if shape else 1
    tiled = period > 0 and all(np.array_equal(a.reshape(-1, period), np.tile(a[:period], (a.size // period, 1)))
                               for a in (scale, shift))
    if not tiled:
        period = scale.size
    what = f"node {node.label()}"
    ctx.add_array("scale", type_name(node.name, "weight"),
                  constant_values(scale[:period], prec(node, "weight"), what + " scale"))
    ctx.add_array("shift", type_name(node.name, "bias"),
                  constant_values(shift[:period], node.precision.get("bias") or prec(node, "accum"),
                                  what + " shift"))
    ctx.params["period"] = int(period)
    return ctx


def build_elementwise(graph: Graph, node: Node) -> LayerContext:
    shapes = [tuple(graph[i].shape) for i in node.inputs]
    if all(s == tuple(node.shape) for s in shapes):
        ctx = base_context(graph, node, "elementwise", "nn2hls_elementwise.h")
    else:  # broadcast: each operand read through the index numpy broadcasting pairs with each output
        ctx = base_context(graph, node, "elementwise_bcast", "nn2hls_elementwise.h")
        for key, shape in zip(("ia", "ib"), shapes):
            index = np.broadcast_to(np.arange(flat_size(shape)).reshape(shape), node.shape)
            ctx.add_array(key, "int", ints(index.reshape(-1)))
    ctx.params["operation"] = ELEMENTWISE_TABLE[node.op.operation]
    return ctx


ELEMENTWISE_TABLE: dict[str, str] = {"add": "add", "sub": "sub", "mul": "mul", "max": "maximum", "min": "minimum"}
"""Elementwise operation -> its kernel in nn2hls_elementwise.h (max/min spelled out: no clash with std::max)."""


def build_reduce(graph: Graph, node: Node) -> LayerContext:
    """Reduce: `src` lists, output by output, the K input indices it reduces (row-major)."""
    op: Reduce = node.op
    in_shape = tuple(graph[node.inputs[0]].shape)
    ctx = base_context(graph, node, f"reduce_{op.mode}", "nn2hls_reduce.h")
    kept = [a for a in range(len(in_shape)) if a not in op.axes]
    order = np.arange(flat_size(in_shape)).reshape(in_shape).transpose(kept + list(op.axes))
    k = flat_size(tuple(in_shape[a] for a in op.axes))
    ctx.add_array("src", "int", ints(order.reshape(-1)))
    ctx.params["k"] = k
    if op.mode not in ("max", "min"):
        x_type = prec(graph[node.inputs[0]], "result")
        ctx.add_type("wide", exact_sum_type(x_type, k))
        ctx.add_type("accum", prec(node, "accum"))
    if op.mode == "mean":
        recip_t = prec(node, "recip")
        ctx.add_type("recip", recip_t)
        ctx.add_array("recip", type_name(node.name, "recip"),
                      constant_values([1.0 / k], recip_t, f"node {node.label()} reciprocal"))
    return ctx


# ---- wiring ----------------------------------------------------------------------------------------
def build_reshape(graph: Graph, node: Node) -> LayerContext:
    return base_context(graph, node, "copy", "nn2hls_common.h")


def build_transpose(graph: Graph, node: Node) -> LayerContext:
    ctx = base_context(graph, node, "transpose", "nn2hls_common.h")
    in_shape = graph[node.inputs[0]].shape
    src = np.arange(flat_size(in_shape)).reshape(in_shape).transpose(node.op.perm).reshape(-1)
    ctx.add_array("src", "int", ints(src))
    return ctx


def build_concat(graph: Graph, node: Node) -> LayerContext:
    ctx = base_context(graph, node, "concat", "nn2hls_common.h")
    shapes = [graph[i].shape for i in node.inputs]
    axis = node.op.axis % len(node.shape)
    positions = np.arange(flat_size(node.shape)).reshape(node.shape)
    begin = 0
    for k, shape in enumerate(shapes):
        part = np.take(positions, np.arange(begin, begin + shape[axis]), axis=axis)
        ctx.add_array(f"dst{k}", "int", ints(part.reshape(-1)))
        begin += shape[axis]
    return ctx


GATHER_RANK = 6  # axes of nn2hls::gather_axes (hls_lib/nn2hls_structure.h)


def build_structural(graph: Graph, node: Node) -> LayerContext:
    """Pad, Slice, Upsample, DepthToSpace, SpaceToDepth: the gather tables of `rearrange.axis_maps`,
    length-1 axes dropped, then left-filled with length-1 axes to the kernel's fixed rank."""
    ctx = base_context(graph, node, "gather_axes", "nn2hls_structure.h")
    dims, maps = rearrange.squeeze_maps(*rearrange.axis_maps(node.op, graph[node.inputs[0]].shape))
    if len(dims) > GATHER_RANK:
        raise UnsupportedOpError(f"node {node.label()}: {node.op.kind} over {len(dims)} axes is not supported "
                                 f"(at most {GATHER_RANK}); merge axes with a Reshape first")
    pad = GATHER_RANK - len(dims)
    dims = (1,) * pad + tuple(dims)
    maps = [np.zeros(1, dtype=np.int64)] * pad + list(maps)
    for k, m in enumerate(maps):
        ctx.add_array(f"m{k}", "int", ints(m))
    fill = rearrange.has_fill(maps)
    value = float(getattr(node.op, "value", 0.0)) if fill else 0.0
    (literal,) = constant_values([value], prec(node, "result"), f"node {node.label()} pad value")
    ctx.params.update(dims=", ".join(str(d) for d in dims), has_fill="true" if fill else "false",
                      fill=literal)
    return ctx


def build_embedding(graph: Graph, node: Node) -> LayerContext:
    """Embedding: the table as one constant array, looked up at every index (nn2hls_embedding.h)."""
    from nn2hls.ir import lookup
    x_node = graph[node.inputs[0]]
    lookup.check_index_type(prec(x_node, "result"), f"node {node.label()}")
    ctx = base_context(graph, node, "embedding", "nn2hls_embedding.h")
    table = node.weights["table"]
    wt = prec(node, "weight")
    ctx.add_type("weight", wt)
    ctx.add_array("table", type_name(node.name, "weight"),
                  constant_values(table.reshape(-1), wt, f"node {node.label()} table"))
    ctx.params.update(n=flat_size(x_node.shape), v=int(table.shape[0]), d=int(table.shape[1]))
    ctx.weight_entries = int(np.count_nonzero(table))
    return ctx


def _build_dense(graph: Graph, node: Node, reuse_factor: int) -> LayerContext:
    """A Dense: grouped by weight value (`shared`) when that halves its products, else row blocks."""
    return build_dense_shared(graph, node) if use_shared(node) else build_dense(graph, node)


def _any_reuse(build: Callable[[Graph, Node], LayerContext]) -> Callable[[Graph, Node, int], LayerContext]:
    """A builder whose layer has no loop that the reuse factor would fold."""
    return lambda graph, node, reuse_factor: build(graph, node)


def _quant_copy(graph: Graph, node: Node) -> LayerContext:
    """y = cast(x, dtype): the result type is the quantizer's type, the code a copy."""
    return base_context(graph, node, "copy", "nn2hls_common.h")


@dataclass(frozen=True)
class LayerCode:
    """How one op is emitted: build(graph, node, reuse factor) -> LayerContext, and the template kinds
    (templates/vivado/layers/<kind>.cpp.j2) its contexts can have."""

    build: Callable[[Graph, Node, int], LayerContext]
    kinds: tuple[str, ...]


_ACTIVATION_KINDS = tuple(dict.fromkeys(code.kind for code in ACTIVATION_TABLE.values()))

OP_TABLE: dict[type[Op], LayerCode] = {
    Dense: LayerCode(_build_dense, ("dense", "dense_shared")),
    Conv: LayerCode(build_grouped_conv, ("conv_rows",)),  # every Conv: row blocks over the gathered window
    Pool: LayerCode(build_pool, ("pool_max", "pool_avg")),
    GlobalPool: LayerCode(build_pool, ("pool_max", "pool_avg")),
    Activation: LayerCode(_any_reuse(build_activation), _ACTIVATION_KINDS),
    Softmax: LayerCode(_any_reuse(build_softmax), ("softmax",)),
    ScaleShift: LayerCode(_any_reuse(build_scale_shift), ("scale_shift",)),
    Elementwise: LayerCode(_any_reuse(build_elementwise), ("elementwise", "elementwise_bcast")),
    Reduce: LayerCode(_any_reuse(build_reduce), ("reduce_mean", "reduce_max", "reduce_min", "reduce_sum")),
    Quant: LayerCode(_any_reuse(_quant_copy), ("copy",)),
    Reshape: LayerCode(_any_reuse(build_reshape), ("copy",)),
    Transpose: LayerCode(_any_reuse(build_transpose), ("transpose",)),
    Concat: LayerCode(_any_reuse(build_concat), ("concat",)),
    Embedding: LayerCode(_any_reuse(build_embedding), ("embedding",)),
    **{cls: LayerCode(_any_reuse(build_structural), ("gather_axes",)) for cls in STRUCTURAL_OPS},
}
"""Op class -> its LayerCode (builder and template kinds)."""

NOT_APPLICABLE: dict[type[Op], str] = {
    Input: "the Input node has no layer code",
    BatchNorm: "BatchNorm must be folded before code generation; run the pass pipeline "
               "(nn2hls.passes.pipeline.run_passes)",
}


def build_layer(graph: Graph, node: Node, reuse_factor: int = 1) -> LayerContext:
    """The LayerContext of one non-Input node (raises UnsupportedOpError for unknown ops)."""
    code = OP_TABLE.get(type(node.op))
    if code is None:
        reason = NOT_APPLICABLE.get(type(node.op), f"op {node.op.kind} has no HLS kernel")
        raise UnsupportedOpError(f"node {node.label()}: {reason}")
    ctx = code.build(graph, node, reuse_factor)
    assert ctx.kind in code.kinds, f"{node.op.kind} built template kind {ctx.kind!r}, not in OP_TABLE's {code.kinds}"
    return ctx
