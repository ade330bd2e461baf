"""Context builders: turn each typed IR node into the plain data its Jinja template renders.

Rule: Python decides every number (array contents as exact literals, template parameters, types);
the templates only spell C++. One builder per op kind; each returns a `LayerContext` whose fields
are strings, ints and lists. Tensors are flat arrays in the IR's channels-last row-major order, so
Reshape is a plain copy, Transpose an index remapping and Concat a scatter (pure wiring in HLS).
Conv1D and 1-D pooling are the 2-D kernels with height 1; global pooling is one window covering the map.
A grouped Conv (groups > 1) is built by `grouped_conv.build_grouped_conv`.
The structural ops (Pad, Slice, Upsample, DepthToSpace, SpaceToDepth) are per-axis gather tables.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nn2hls.backends.vivado.cpp import (comment_text, constant_values, cpp_type, exact_sum_type,
                                        index_width)
from nn2hls.backends.vivado.sparse import CHUNK, FULL_CHUNK, SparseList, block_rows, split_conv, split_dense
from nn2hls.errors import GraphError, UnsupportedOpError
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Quant, Reduce
from nn2hls.ir.ops import STRUCTURAL_OPS
from nn2hls.ir.ops import (Activation, BatchNorm, Concat, Conv, Dense, Elementwise, GlobalPool, Input,
                           Pool, Reshape, ScaleShift, Softmax, Transpose)
from nn2hls.ir.types import FixedType


@dataclass
class LayerContext:
    """Everything one layer's template needs."""

    name: str
    kind: str                        # template name: dense, conv, pool_max, ...
    comment: str
    header: str                      # hls_lib kernel header to include
    inputs: list[dict[str, Any]]     # {"type", "size"} per input, in Node.inputs order
    out_type: str
    out_size: int
    params: dict[str, Any] = field(default_factory=dict)
    arrays: list[dict[str, Any]] = field(default_factory=list)
    typedefs: list[dict[str, str]] = field(default_factory=list)
    products: int = 0                # general products emitted (Dense/Conv)
    weight_entries: int = 0          # nonzero weights emitted

    def add_array(self, name: str, ctype: str, values: list[str]) -> None:
        size = len(values)
        values = values if values else ["0"]
        lines = [", ".join(values[i:i + 16]) for i in range(0, len(values), 16)]
        self.arrays.append({"name": name, "ctype": ctype, "size": max(size, 1), "lines": lines,
                            "count": size})

    def add_type(self, role: str, t: FixedType) -> str:
        name = type_name(self.name, role)
        self.typedefs.append({"name": name, "cpp": cpp_type(t)})
        return name


def type_name(node: str, role: str) -> str:
    return f"{node}_{role}_t"


def index_type(n: int) -> str:
    """The smallest unsigned C type holding the indices 0 .. n-1 (narrow arrays: less memory traffic)."""
    if n <= 1 << 8:
        return "uint8_t"
    if n <= 1 << 16:
        return "uint16_t"
    return "int"


def _size(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


def _ints(values) -> list[str]:
    return [str(int(v)) for v in values]


def _prec(node: Node, role: str) -> FixedType:
    t = node.precision.get(role)
    if t is None:
        raise GraphError(f"node {node.label()} has no '{role}' type; run the precision passes first")
    return t


def _base(graph: Graph, node: Node, kind: str, header: str) -> LayerContext:
    inputs = [{"type": type_name(i, "result"), "size": _size(graph[i].shape)} for i in node.inputs]
    ctx = LayerContext(node.name, kind, comment_text(f"{node.op.describe()} <- {node.source_name}"),
                       header, inputs, type_name(node.name, "result"), _size(node.shape))
    return ctx


def _table(ctx: LayerContext, node: Node, role: str, type_role: str, prefix: str) -> None:
    from nn2hls.ir.tables import table_values
    spec = node.tables.get(role)
    if spec is None:
        raise GraphError(f"node {node.label()} has no '{role}' table; run the precision passes first")
    entry_type = _prec(node, type_role)
    tname = type_name(node.name, type_role)
    values = constant_values(table_values(spec), entry_type, f"node {node.label()} table '{role}'")
    ctx.add_array(f"{prefix}table", tname, values)
    ctx.params.update({f"{prefix}w1": index_width(spec.offset, spec.size), f"{prefix}shift": spec.shift,
                       f"{prefix}offset": spec.offset, f"{prefix}size": spec.size})


# ---- weighted layers -------------------------------------------------------------------------------
def _weighted_types(ctx: LayerContext, node: Node) -> None:
    ctx.add_type("weight", _prec(node, "weight"))
    ctx.add_type("bias", node.precision.get("bias") or _prec(node, "accum"))
    ctx.add_type("accum", _prec(node, "accum"))


def _bias_values(node: Node, units: int) -> list[str]:
    bias = node.weights.get("bias", np.zeros(units))
    t = node.precision.get("bias") or _prec(node, "accum")
    return constant_values(bias, t, f"node {node.label()} bias")


def add_row_blocks(ctx: LayerContext, node: Node, lists: dict[str, SparseList], kinds: tuple[str, ...],
                   matrix_shape: tuple[int, int] | None = None) -> None:
    """For each non-empty list: its arrays in block order (`sparse.block_rows`) and one kernel call per
    block in ctx.params['blocks'] (nn2hls_dense.h: mac_full_rows/mac_rows for the weighted mul and p2
    lists, add_full_rows/add_rows for add and sub).

    Arrays: {kind}_out (output of each row), {kind}_w (weights, every row), and for the sparse rows
    only (full rows need neither) {kind}_chunks and {kind}_idx."""
    n_in, n_out = matrix_shape or node.weights["kernel"].shape  # (in, out) of the Dense-form kernel
    wt = _prec(node, "weight")
    calls = ctx.params.setdefault("blocks", [])
    for kind in kinds:
        if not len(lists[kind]):
            continue
        rows = block_rows(lists[kind], n_in)
        weighted = kind in ("mul", "p2")
        ctx.add_array(f"{kind}_out", index_type(n_out), _ints(rows.out))
        if weighted:
            ctx.add_array(f"{kind}_w", type_name(node.name, "weight"),
                          constant_values(rows.columns["w"], wt, f"node {node.label()} kernel"))
        full_rows = sum(b.count for b in rows.blocks if b.full)
        if full_rows < len(rows.out):
            ctx.add_array(f"{kind}_chunks", index_type(max(rows.chunks) + 1), _ints(rows.chunks[full_rows:]))
            ctx.add_array(f"{kind}_idx", index_type(n_in), _ints(rows.columns["idx"][full_rows * n_in:]))
        sub = {"add": "false, ", "sub": "true, "}.get(kind, "")
        for b in rows.blocks:
            weights = f", {kind}_w + {b.entry0}" if weighted else ""
            if b.full:
                function = "mac_full_rows" if weighted else "add_full_rows"
                args = f"{sub}{n_in}, {FULL_CHUNK}, {b.count}"
                arrays = f"{kind}_out + {b.row0}{weights}"
            else:
                function = "mac_rows" if weighted else "add_rows"
                args = f"{sub}{CHUNK}, {b.rest}, {b.chunks_min}, {b.chunks_max}, {b.count}"
                arrays = (f"{kind}_out + {b.row0}, {kind}_chunks + {b.row0 - full_rows}, "
                          f"{kind}_idx + {b.entry0 - full_rows * n_in}{weights}")
            calls.append({"function": function, "args": args, "arrays": arrays})


def build_dense(graph: Graph, node: Node) -> LayerContext:
    ctx = _base(graph, node, "dense", "nn2hls_dense.h")
    _weighted_types(ctx, node)
    kernel = node.weights["kernel"]
    lists = split_dense(kernel, full_rows=True)
    n_in, n_out = kernel.shape
    add_row_blocks(ctx, node, lists, ("mul", "p2", "add", "sub"))
    ctx.add_array("bias", type_name(node.name, "bias"), _bias_values(node, n_out))
    ctx.params.update({"n_in": int(n_in), "n_out": int(n_out), "positions": _size(node.shape[:-1])})
    ctx.products = len(split_dense(kernel)["mul"])  # general products (+-1, 2^k fold in HLS)
    ctx.weight_entries = sum(len(v) for v in lists.values())
    return ctx


def _spatial_2d(shape: tuple[int, ...], ndim: int) -> tuple[int, int, int]:
    if ndim == 1:
        return 1, shape[0], shape[1]
    return shape[0], shape[1], shape[2]


def _pair(values: tuple, ndim: int, fill: Any) -> tuple:
    return (fill, values[0]) if ndim == 1 else (values[0], values[1])


def build_conv(graph: Graph, node: Node, reuse_factor: int) -> LayerContext:
    op: Conv = node.op
    if op.ndim not in (1, 2):
        raise UnsupportedOpError(f"node {node.label()}: Conv{op.ndim}D is not supported; use 1-D or 2-D")
    ctx = _base(graph, node, "conv", "nn2hls_conv.h")
    _weighted_types(ctx, node)
    ih, iw, c = _spatial_2d(graph[node.inputs[0]].shape, op.ndim)
    oh, ow, f = _spatial_2d(node.shape, op.ndim)
    kernel = np.asarray(node.weights["kernel"], dtype=np.float64)
    if op.ndim == 1:
        kernel = kernel[np.newaxis]
    sh, sw = _pair(op.strides, op.ndim, 1)
    dh, dw = _pair(op.dilations, op.ndim, 1)
    pt, pl = _pair(tuple(p[0] for p in op.pads), op.ndim, 0)
    lists = split_conv(kernel, (dh, dw), iw)
    wt = _prec(node, "weight")
    for kind, entries in lists.items():
        ctx.add_array(f"{kind}_start", "int", _ints(entries.start))
        for col in ("dy", "dx", "off"):
            ctx.add_array(f"{kind}_{col}", "int", _ints(entries.columns[col]))
        if kind == "mul":
            ctx.add_array("mul_w", type_name(node.name, "weight"),
                          constant_values(entries.columns["w"], wt, f"node {node.label()} kernel"))
    ctx.add_array("bias", type_name(node.name, "bias"), _bias_values(node, f))
    kh, kw = kernel.shape[:2]
    ctx.params.update(dict(ih=ih, iw=iw, c=c, oh=oh, ow=ow, f=f, sh=sh, sw=sw, pt=pt, pl=pl,
                           eh=(kh - 1) * dh + 1, ew=(kw - 1) * dw + 1, rf=max(1, int(reuse_factor)),
                           n_mul=len(lists["mul"]), n_add=len(lists["add"]), n_sub=len(lists["sub"])))
    ctx.products = len(lists["mul"])
    ctx.weight_entries = sum(len(v) for v in lists.values())
    return ctx


# ---- pooling ---------------------------------------------------------------------------------------
def build_pool(graph: Graph, node: Node, reuse_factor: int) -> LayerContext:
    op = node.op
    in_shape = graph[node.inputs[0]].shape
    if isinstance(op, GlobalPool):
        ih, iw = (1, in_shape[0]) if len(in_shape) == 2 else (in_shape[0], _size(in_shape[1:-1]))
        c = in_shape[-1]
        oh = ow = 1
        kh, kw, sh, sw, pt, pl = ih, iw, 1, 1, 0, 0
        count_pad = True
    else:
        if op.ndim not in (1, 2):
            raise UnsupportedOpError(f"node {node.label()}: Pool{op.ndim}D is not supported; use 1-D or 2-D")
        ih, iw, c = _spatial_2d(in_shape, op.ndim)
        oh, ow, _ = _spatial_2d(node.shape, op.ndim)
        kh, kw = _pair(op.pool_size, op.ndim, 1)
        sh, sw = _pair(op.strides, op.ndim, 1)
        pt, pl = _pair(tuple(p[0] for p in op.pads), op.ndim, 0)
        count_pad = bool(op.count_include_pad)
    mode = op.mode
    ctx = _base(graph, node, f"pool_{mode}", "nn2hls_pool.h")
    ctx.params.update(dict(ih=ih, iw=iw, c=c, oh=oh, ow=ow, kh=kh, kw=kw, sh=sh, sw=sw, pt=pt, pl=pl,
                           count_pad="true" if count_pad else "false", rf=max(1, int(reuse_factor))))
    if mode == "avg":
        x_type = _prec(graph[node.inputs[0]], "result")
        ctx.add_type("wide", exact_sum_type(x_type, kh * kw))
        ctx.add_type("accum", _prec(node, "accum"))
        recip_t = _prec(node, "recip")
        ctx.add_type("recip", recip_t)
        recips = [0.0] + [1.0 / n for n in range(1, kh * kw + 1)]
        ctx.add_array("recip", type_name(node.name, "recip"),
                      constant_values(recips, recip_t, f"node {node.label()} reciprocals"))
    return ctx


# ---- element-wise ----------------------------------------------------------------------------------
def build_activation(graph: Graph, node: Node) -> LayerContext:
    op: Activation = node.op
    fn = op.function
    kinds = {"linear": "copy", "relu": "relu", "clip": "clip", "leaky_relu": "leaky_relu",
             "hard_sigmoid": "hard_sigmoid", "sigmoid": "table_activation", "tanh": "table_activation",
             "elu": "elu"}
    if fn in EXTRA_ACTIVATION_KINDS:
        return build_extra_activation(graph, node)
    if fn not in kinds:
        raise UnsupportedOpError(f"node {node.label()}: activation {fn!r} is not supported")
    header = "nn2hls_common.h" if fn == "linear" else "nn2hls_activation.h"
    ctx = _base(graph, node, kinds[fn], header)
    if fn in ("clip", "leaky_relu", "hard_sigmoid"):
        pt = _prec(node, "param")
        ctx.add_type("param", pt)
        what = f"node {node.label()} parameters"
        if fn == "clip":
            ctx.params["has_lo"] = "true" if math.isfinite(op.low) else "false"
            ctx.params["has_hi"] = "true" if math.isfinite(op.high) else "false"
            lo = op.low if math.isfinite(op.low) else 0.0
            hi = op.high if math.isfinite(op.high) else 0.0
            ctx.params["lo"], ctx.params["hi"] = constant_values([lo, hi], pt, what)
        elif fn == "leaky_relu":
            (ctx.params["alpha"],) = constant_values([op.alpha], pt, what)
        else:
            ctx.params["alpha"], ctx.params["beta"] = constant_values([op.alpha, op.beta], pt, what)
    if fn in ("sigmoid", "tanh", "elu"):
        ctx.add_type("table", _prec(node, "table"))
        _table(ctx, node, "table", "table", "")
    return ctx


EXTRA_ACTIVATION_KINDS = {"prelu": "prelu", "thresholded_relu": "thresholded_relu", "hard_swish": "hard_swish",
                          "selu": "selu", "celu": "elu", "softsign": "table_activation",
                          "softplus": "relu_plus_table", "swish": "relu_plus_table", "mish": "relu_plus_table",
                          "gelu": "relu_plus_table", "gelu_tanh": "relu_plus_table"}


def _period(values: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """values broadcast to shape, flattened; and the shortest prefix period (the channel count when the
    values are per channel, else the whole size)."""
    flat = np.broadcast_to(values, shape).reshape(-1)
    period = shape[-1] if shape else 1
    if period > 0 and flat.size % period == 0 and np.array_equal(
            flat.reshape(-1, period), np.tile(flat[:period], (flat.size // period, 1))):
        return flat[:period], int(period)
    return flat, int(flat.size)


def build_extra_activation(graph: Graph, node: Node) -> LayerContext:
    """PReLU (per-element slopes array, cycled with the channel period), thresholded ReLU, hard swish,
    SELU (scale constant + elu table), CELU (elu kernel), softsign (plain table) and the residual tables."""
    op: Activation = node.op
    fn = op.function
    ctx = _base(graph, node, EXTRA_ACTIVATION_KINDS[fn], "nn2hls_activation.h")
    what = f"node {node.label()} parameters"
    if fn == "prelu":
        wt = _prec(node, "weight")
        ctx.add_type("weight", wt)
        slopes, period = _period(np.asarray(node.weights["alpha"], dtype=np.float64), node.shape)
        ctx.add_array("alpha", type_name(node.name, "weight"), constant_values(slopes, wt, what))
        ctx.params["period"] = period
    if fn in ("thresholded_relu", "hard_swish"):
        pt = _prec(node, "param")
        ctx.add_type("param", pt)
        ctx.params["alpha"], ctx.params["beta"] = constant_values([op.alpha, op.beta], pt, what)
    if fn == "selu":
        pt = _prec(node, "param")
        ctx.add_type("param", pt)
        (ctx.params["scale"],) = constant_values([op.beta], pt, what)
    if ctx.kind in ("selu", "elu", "table_activation", "relu_plus_table"):
        ctx.add_type("table", _prec(node, "table"))
        _table(ctx, node, "table", "table", "")
    return ctx


def build_softmax(graph: Graph, node: Node) -> LayerContext:
    op: Softmax = node.op
    ctx = _base(graph, node, "softmax", "nn2hls_softmax.h")
    shape = node.shape
    axis = op.axis % len(shape)
    n = shape[axis]
    ctx.params.update(outer=_size(shape[:axis]), n=n, inner=_size(shape[axis + 1:]))
    exp_t = _prec(node, "exp")
    ctx.add_type("exp", exp_t)
    ctx.add_type("wide", exact_sum_type(exp_t, n))
    ctx.add_type("sum", _prec(node, "sum"))
    ctx.add_type("inv", _prec(node, "inv"))
    _table(ctx, node, "exp", "exp", "exp_")
    _table(ctx, node, "inv", "inv", "inv_")
    return ctx


def build_scale_shift(graph: Graph, node: Node) -> LayerContext:
    ctx = _base(graph, node, "scale_shift", "nn2hls_elementwise.h")
    ctx.add_type("weight", _prec(node, "weight"))
    ctx.add_type("bias", node.precision.get("bias") or _prec(node, "accum"))
    ctx.add_type("accum", _prec(node, "accum"))
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
                  constant_values(scale[:period], _prec(node, "weight"), what + " scale"))
    ctx.add_array("shift", type_name(node.name, "bias"),
                  constant_values(shift[:period], node.precision.get("bias") or _prec(node, "accum"),
                                  what + " shift"))
    ctx.params["period"] = int(period)
    return ctx


def build_elementwise(graph: Graph, node: Node) -> LayerContext:
    shapes = [tuple(graph[i].shape) for i in node.inputs]
    if all(s == tuple(node.shape) for s in shapes):
        ctx = _base(graph, node, "elementwise", "nn2hls_elementwise.h")
    else:  # broadcast: each operand read through the index numpy broadcasting pairs with each output
        ctx = _base(graph, node, "elementwise_bcast", "nn2hls_elementwise.h")
        for key, shape in zip(("ia", "ib"), shapes):
            index = np.broadcast_to(np.arange(_size(shape)).reshape(shape), node.shape)
            ctx.add_array(key, "int", _ints(index.reshape(-1)))
    # the kernel's name in nn2hls_elementwise.h (max/min are spelled out: no clash with std::max)
    ctx.params["operation"] = {"max": "maximum", "min": "minimum"}.get(node.op.operation, node.op.operation)
    return ctx


def build_reduce(graph: Graph, node: Node) -> LayerContext:
    """Reduce: `src` lists, output by output, the K input indices it reduces (row-major)."""
    op: Reduce = node.op
    in_shape = tuple(graph[node.inputs[0]].shape)
    ctx = _base(graph, node, f"reduce_{op.mode}", "nn2hls_reduce.h")
    kept = [a for a in range(len(in_shape)) if a not in op.axes]
    order = np.arange(_size(in_shape)).reshape(in_shape).transpose(kept + list(op.axes))
    k = _size(tuple(in_shape[a] for a in op.axes))
    ctx.add_array("src", "int", _ints(order.reshape(-1)))
    ctx.params["k"] = k
    if op.mode not in ("max", "min"):
        x_type = _prec(graph[node.inputs[0]], "result")
        ctx.add_type("wide", exact_sum_type(x_type, k))
        ctx.add_type("accum", _prec(node, "accum"))
    if op.mode == "mean":
        recip_t = _prec(node, "recip")
        ctx.add_type("recip", recip_t)
        ctx.add_array("recip", type_name(node.name, "recip"),
                      constant_values([1.0 / k], recip_t, f"node {node.label()} reciprocal"))
    return ctx


# ---- wiring ----------------------------------------------------------------------------------------
def build_reshape(graph: Graph, node: Node) -> LayerContext:
    return _base(graph, node, "copy", "nn2hls_common.h")


def build_transpose(graph: Graph, node: Node) -> LayerContext:
    ctx = _base(graph, node, "transpose", "nn2hls_common.h")
    in_shape = graph[node.inputs[0]].shape
    src = np.arange(_size(in_shape)).reshape(in_shape).transpose(node.op.perm).reshape(-1)
    ctx.add_array("src", "int", _ints(src))
    return ctx


def build_concat(graph: Graph, node: Node) -> LayerContext:
    ctx = _base(graph, node, "concat", "nn2hls_common.h")
    shapes = [graph[i].shape for i in node.inputs]
    axis = node.op.axis % len(node.shape)
    positions = np.arange(_size(node.shape)).reshape(node.shape)
    begin = 0
    for k, shape in enumerate(shapes):
        part = np.take(positions, np.arange(begin, begin + shape[axis]), axis=axis)
        ctx.add_array(f"dst{k}", "int", _ints(part.reshape(-1)))
        begin += shape[axis]
    return ctx


GATHER_RANK = 6  # axes of nn2hls::gather_axes (hls_lib/nn2hls_structure.h)


def build_structural(graph: Graph, node: Node) -> LayerContext:
    """Pad, Slice, Upsample, DepthToSpace, SpaceToDepth: the gather tables of `rearrange.axis_maps`,
    length-1 axes dropped, then left-filled with length-1 axes to the kernel's fixed rank."""
    from nn2hls.ir import rearrange
    ctx = _base(graph, node, "gather_axes", "nn2hls_structure.h")
    dims, maps = rearrange.squeeze_maps(*rearrange.axis_maps(node.op, graph[node.inputs[0]].shape))
    if len(dims) > GATHER_RANK:
        raise UnsupportedOpError(f"node {node.label()}: {node.op.kind} over {len(dims)} axes is not supported "
                                 f"(at most {GATHER_RANK}); merge axes with a Reshape first")
    pad = GATHER_RANK - len(dims)
    dims = (1,) * pad + tuple(dims)
    maps = [np.zeros(1, dtype=np.int64)] * pad + list(maps)
    for k, m in enumerate(maps):
        ctx.add_array(f"m{k}", "int", _ints(m))
    fill = rearrange.has_fill(maps)
    value = float(getattr(node.op, "value", 0.0)) if fill else 0.0
    (literal,) = constant_values([value], _prec(node, "result"), f"node {node.label()} pad value")
    ctx.params.update(dims=", ".join(str(d) for d in dims), has_fill="true" if fill else "false",
                      fill=literal)
    return ctx


def build_layer(graph: Graph, node: Node, reuse_factor: int = 1) -> LayerContext:
    """The LayerContext of one non-Input node (raises UnsupportedOpError for unknown ops)."""
    op = node.op
    if isinstance(op, Dense):
        from nn2hls.backends.vivado.shared import build_dense_shared, use_shared
        return build_dense_shared(graph, node) if use_shared(node) else build_dense(graph, node)
    if isinstance(op, Conv):
        if op.groups > 1:
            from nn2hls.backends.vivado.grouped_conv import build_grouped_conv
            return build_grouped_conv(graph, node, reuse_factor)
        return build_conv(graph, node, reuse_factor)
    if isinstance(op, (Pool, GlobalPool)):
        return build_pool(graph, node, reuse_factor)
    if isinstance(op, Activation):
        return build_activation(graph, node)
    if isinstance(op, Softmax):
        return build_softmax(graph, node)
    if isinstance(op, ScaleShift):
        return build_scale_shift(graph, node)
    if isinstance(op, Elementwise):
        return build_elementwise(graph, node)
    if isinstance(op, Reduce):
        return build_reduce(graph, node)
    if isinstance(op, Quant):  # y = cast(x, dtype): the result type is the quantizer's type
        return _base(graph, node, "copy", "nn2hls_common.h")
    if isinstance(op, Reshape):
        return build_reshape(graph, node)
    if isinstance(op, Transpose):
        return build_transpose(graph, node)
    if isinstance(op, Concat):
        return build_concat(graph, node)
    if isinstance(op, STRUCTURAL_OPS):
        return build_structural(graph, node)
    if isinstance(op, BatchNorm):
        raise UnsupportedOpError(f"node {node.label()}: BatchNorm must be folded before code generation; "
                                 "run the pass pipeline (nn2hls.passes.pipeline.run_passes)")
    if isinstance(op, Input):
        raise GraphError(f"node {node.label()}: the Input node has no layer code")
    raise UnsupportedOpError(f"node {node.label()}: op {op.kind} has no HLS kernel")
