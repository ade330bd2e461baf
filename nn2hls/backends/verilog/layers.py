"""One Verilog datapath per IR op, the same arithmetic as the emulator (docs/semantics.md, docs/verilog.md).

Each builder takes the node's input elements (`Sig`s, row-major over the channels-last shape) and
returns its output elements at the node's `result` type:

- Dense (and ScaleShift, element by element): ``y = cast(cast(bias + sum_i x_i * w_i, accum),
  result)``. A zero weight adds nothing, a weight +-2**k is a shift of x (its sign folded into the
  adder tree as a subtraction), any other weight ``+-m * 2**k`` (m odd > 1) one constant product
  ``x * m`` (`layer_products` counts them as the report does; a product repeated for the same input,
``x_i * m`` in two outputs' rows, is written once: `layer_multipliers`, the DSPs of the layer). The
terms are summed exactly
  by a balanced adder tree whose every node is as wide as its proven range.
- Conv (1-D/2-D, grouped): the Dense rule per output position over the taps inside the input (a
  padding tap adds nothing); Pool / GlobalPool max (a comparator tree) and average (``cast(cast(sum,
  accum) * cast(1/count, recip), result)``, `nn2hls.emulate.pooling`).
- Activation relu/linear/clip, Quant, Reshape, Transpose, Concat, Elementwise: the emulator's rule
  (`nn2hls.emulate.activations`, `wiring`), with `Body.requant` doing each cast.
- sigmoid, tanh, softsign: the emulator's lookup table (`nn2hls.ir.tables`), cast to the result type
  at generation time, as a ROM (`case` function) indexed by ``clamp(floor(x * 2**shift), lo, hi) - lo``.
- Softmax (last axis): max tree, ``d = x - max``, exp ROM, exact sum cast to `sum`, inverse ROM,
  ``cast(e * r, result)`` (`nn2hls.emulate.softmax`).

Anything else raises UnsupportedOpError naming the node and its op.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from nn2hls.backends.verilog.netlist import Body, Sig, literal, signed_width
from nn2hls.emulate.activations import table_lookup
from nn2hls.emulate.arith import exact_weight
from nn2hls.errors import UnsupportedOpError
from nn2hls.ir import fixed, ops, tables
from nn2hls.ir.conv_groups import expand_groups
from nn2hls.ir.graph import Node
from nn2hls.ir.roles import role_types
from nn2hls.ir.types import FixedType

Builder = Callable[[Body, Node, list[list[Sig]], list[tuple[int, ...]]], list[Sig]]


def _ints(values) -> list[int]:
    return [int(v) for v in np.asarray(values, dtype=object).reshape(-1).tolist()]


def raw_kernel(node: Node) -> tuple[np.ndarray, FixedType]:
    """A Dense/Conv kernel as the integers of its weight type (value * 2^frac; a Conv's groups expanded to
    a dense (*k, C, F) kernel) and that type. Raises the emulator's error for a weight off its grid."""
    (tw,) = role_types(node, "weight")
    kernel = exact_weight(node.weights["kernel"], tw, f"node {node.label()} weight 'kernel'")
    if isinstance(node.op, ops.Conv):
        kernel = expand_groups(kernel, node.op.groups)
    return kernel, tw


def raw_bias(node: Node, n_out: int) -> tuple[list[int], int]:
    """(the bias as integers of its type, its fraction bits); all zeros and 0 when the layer has none."""
    if "bias" in node.weights and np.any(node.weights["bias"] != 0):
        (tb,) = role_types(node, "bias")
        return _ints(exact_weight(node.weights["bias"], tb, f"node {node.label()} weight 'bias'")), tb.frac
    return [0] * n_out, 0


def weighted_term(body: Body, x: Sig, w: int, w_frac: int) -> tuple[Sig, bool] | None:
    """x * w (w a raw weight at w_frac bits) as (signal, negated): None for 0, a relabelled x for
    +-2**k (no logic), one constant product x * m for w = +-m * 2**k with m odd > 1."""
    if w == 0:
        return None
    negated = w < 0
    m = abs(w)
    k = (m & -m).bit_length() - 1  # trailing zero bits
    m >>= k
    frac = x.frac + w_frac - k
    if m == 1:
        return Sig(x.name, x.width, frac, x.lo, x.hi), negated
    body.general_terms += 1
    return body.mul_const(x, m, frac), negated


def affine(body: Body, node: Node, terms: list[tuple[Sig, bool]], bias: int | None, bias_frac: int) -> Sig:
    ta, tr = role_types(node, "accum", "result")
    if bias:
        terms = terms + [(body.const(bias, bias_frac), False)]
    frac = max([s.frac for s, _ in terms] or [ta.frac])
    acc = body.requant(body.tree(terms, frac), ta)
    return body.requant(acc, tr)


def build_dense(body: Body, node: Node, ins: list[list[Sig]], shapes) -> list[Sig]:
    (x,) = ins
    kernel, tw = raw_kernel(node)
    n_in, n_out = kernel.shape
    bias, tb_frac = raw_bias(node, n_out)
    columns = [[(i, int(kernel[i, o])) for i in range(n_in) if int(kernel[i, o]) != 0] for o in range(n_out)]
    out = []
    for p in range(len(x) // n_in):
        row = x[p * n_in:(p + 1) * n_in]
        for o in range(n_out):
            terms = [t for t in (weighted_term(body, row[i], w, tw.frac) for i, w in columns[o]) if t]
            out.append(affine(body, node, terms, bias[o], tb_frac))
    return out


def build_scaleshift(body: Body, node: Node, ins, shapes) -> list[Sig]:
    (x,) = ins
    tw, tb = role_types(node, "weight", "bias")
    shape = tuple(node.shape)
    scale = np.broadcast_to(np.asarray(exact_weight(node.weights["scale"], tw, f"node {node.label()} weight "
                                                    "'scale'"), dtype=object), shape).reshape(-1)
    shift = np.broadcast_to(np.asarray(exact_weight(node.weights["shift"], tb, f"node {node.label()} weight "
                                                    "'shift'"), dtype=object), shape).reshape(-1)
    out = []
    for e, xe in enumerate(x):
        term = weighted_term(body, xe, int(scale[e]), tw.frac)
        out.append(affine(body, node, [term] if term else [], int(shift[e]), tb.frac))
    return out


def windows(in_shape, out_shape, kernel_size, strides, dilations, pads):
    """For each output position (row-major), the flat element index of channel 0 of the input pixel
    under each kernel tap (row-major), or None where the tap falls into the padding."""
    spatial, channels = tuple(in_shape[:-1]), in_shape[-1]
    out = []
    for pos in np.ndindex(*out_shape[:-1]):
        taps = []
        for k in np.ndindex(*kernel_size):
            at = [p * s + kk * d - pad[0] for p, s, kk, d, pad in zip(pos, strides, k, dilations, pads)]
            inside = all(0 <= a < n for a, n in zip(at, spatial))
            taps.append(int(np.ravel_multi_index(at, spatial)) * channels if inside else None)
        out.append(taps)
    return out


def build_conv(body: Body, node: Node, ins, shapes) -> list[Sig]:
    """Conv as one Dense per output position over the taps inside the input (padding adds nothing)."""
    (x,) = ins
    op: ops.Conv = node.op
    kernel, tw = raw_kernel(node)
    channels, filters = kernel.shape[-2:]
    kernel = kernel.reshape(-1, channels, filters)
    bias, tb_frac = raw_bias(node, filters)
    out = []
    for taps in windows(shapes[0], node.shape, op.kernel_size, op.strides, op.dilations, op.pads):
        for f in range(filters):
            terms = []
            for t, base in enumerate(taps):
                if base is None:
                    continue
                for c in np.flatnonzero(kernel[t, :, f]):
                    term = weighted_term(body, x[base + int(c)], int(kernel[t, c, f]), tw.frac)
                    if term:
                        terms.append(term)
            out.append(affine(body, node, terms, bias[f], tb_frac))
    return out


def _pool_windows(body: Body, node: Node, x: list[Sig], in_shape, size, strides, pads, include_pad: bool):
    (tr,) = role_types(node, "result")
    channels = in_shape[-1]
    out_shape = tuple(node.shape) if len(node.shape) == len(in_shape) else (1,) * (len(in_shape) - 1) + (channels,)
    out = []
    for taps in windows(in_shape, out_shape, size, strides, (1,) * len(size), pads):
        real = [b for b in taps if b is not None]
        for c in range(channels):
            elems = [x[b + c] for b in real]
            if node.op.mode == "max":
                level = elems
                while len(level) > 1:
                    level = [body.maximum(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)] + (
                        [level[-1]] if len(level) % 2 else [])
                out.append(body.requant(level[0], tr))
                continue
            ta, tq = role_types(node, "accum", "recip")
            count = len(taps) if include_pad else len(real)
            recip = int(np.asarray(fixed.quantize(np.asarray([1.0 / count]), tq)).reshape(-1)[0])
            s = body.requant(body.tree([(e, False) for e in elems], elems[0].frac), ta)
            term = weighted_term(body, s, recip, tq.frac)
            out.append(body.requant(term[0] if not term[1] else body.negate(term[0]), tr) if term
                       else body.requant(body.const(0, tr.frac), tr))
    return out


def build_pool(body: Body, node: Node, ins, shapes) -> list[Sig]:
    op: ops.Pool = node.op
    return _pool_windows(body, node, ins[0], shapes[0], op.pool_size, op.strides, op.pads, op.count_include_pad)


def build_global_pool(body: Body, node: Node, ins, shapes) -> list[Sig]:
    spatial = tuple(shapes[0][:-1])
    return _pool_windows(body, node, ins[0], shapes[0], spatial, spatial, tuple((0, 0) for _ in spatial), True)


def _param(value: float, t: FixedType) -> int:
    return int(fixed.quantize(np.array([value]), t)[0])


def _rom(body: Body, name: str, entries: list[int], frac: int) -> tuple[str, int, Sig]:
    """Declare a ROM function over `entries`; returns (function name, index width, a template Sig)."""
    iw = max(1, (len(entries) - 1).bit_length())
    lo, hi = min(entries), max(entries)
    w = signed_width(lo, hi)
    lines = [f"function signed [{w - 1}:0] {name};", f"  input [{iw - 1}:0] i;", "  begin",
             "    case (i)"]
    lines += [f"      {iw}'d{k}: {name} = {literal(v, w)};" for k, v in enumerate(entries)]
    lines += [f"      default: {name} = {literal(0, w)};", "    endcase", "  end", "endfunction"]
    body.functions.append("\n".join(lines))
    return name, iw, Sig(name, w, frac, lo, hi)


def table_index(body: Body, x: Sig, spec: tables.TableSpec, iw: int) -> str:
    """The unsigned index wire clamp(floor(x * 2**(shift - frac)), offset, offset + size - 1) - offset."""
    k = spec.shift - x.frac
    if k >= 0:
        v = body.align(x, x.frac + k)
    else:
        v = body.floor_shift(x, -k)
    lo, hi = spec.offset, spec.offset + spec.size - 1
    v = body.clamp(v, lo, hi)
    off = body.wire(f"{v} - {literal(lo, v.width + 1)}", v.frac, v.lo - lo, v.hi - lo, "o")
    name = body.name("i")
    body.lines.append(f"wire [{iw - 1}:0] {name} = {off}[{iw - 1}:0];")
    return name


def _lookup(body: Body, rom: tuple[str, int, Sig], x: Sig, spec: tables.TableSpec) -> Sig:
    fn, iw, proto = rom
    idx = table_index(body, x, spec, iw)
    return body.wire(f"{fn}({idx})", proto.frac, proto.lo, proto.hi, "l")


def build_activation(body: Body, node: Node, ins, shapes) -> list[Sig]:
    (x,) = ins
    (tr,) = role_types(node, "result")
    f = node.op.function
    if f == "linear":
        return [body.requant(e, tr) for e in x]
    if f == "relu":
        out = []
        for e in x:
            if e.lo < 0:
                e = body.wire(f"{e}[{e.width - 1}] ? {literal(0, e.width)} : {e}", e.frac, 0, max(e.hi, 0), "u")
            out.append(body.requant(e, tr))
        return out
    if f == "clip":
        (tp,) = role_types(node, "param")
        out = []
        for e in x:
            frac = max(e.frac, tp.frac)
            e = body.align(e, frac)
            lo = _param(node.op.low, tp) << (frac - tp.frac) if math.isfinite(node.op.low) else None
            hi = _param(node.op.high, tp) << (frac - tp.frac) if math.isfinite(node.op.high) else None
            out.append(body.requant(body.clamp(e, lo, hi), tr))
        return out
    if f in ("sigmoid", "tanh", "softsign"):
        (tt,) = role_types(node, "table")
        spec, entries, _, _ = table_lookup(node, "table", tt, tr)
        rom = _rom(body, "rom_table", _ints(entries), tr.frac)
        return [_lookup(body, rom, e, spec) for e in x]
    raise UnsupportedOpError(f"node {node.label()}: activation {f!r} is not supported by the Verilog backend "
                             "yet; use the vivado backend")


def build_cast(body: Body, node: Node, ins, shapes) -> list[Sig]:
    (tr,) = role_types(node, "result")
    return [body.requant(e, tr) for e in ins[0]]


def build_transpose(body: Body, node: Node, ins, shapes) -> list[Sig]:
    (tr,) = role_types(node, "result")
    order = np.arange(len(ins[0])).reshape(shapes[0]).transpose(node.op.perm).reshape(-1)
    return [body.requant(ins[0][int(i)], tr) for i in order]


def build_concat(body: Body, node: Node, ins, shapes) -> list[Sig]:
    (tr,) = role_types(node, "result")
    axis = node.op.axis % len(node.shape)
    flat = [e for x in ins for e in x]
    starts = np.cumsum([0] + [len(x) for x in ins])[:-1]
    index = np.concatenate([np.arange(len(x)).reshape(s) + s0 for x, s, s0 in zip(ins, shapes, starts)], axis=axis)
    return [body.requant(flat[int(i)], tr) for i in index.reshape(-1)]


def build_elementwise(body: Body, node: Node, ins, shapes) -> list[Sig]:
    (tr,) = role_types(node, "result")
    op = node.op.operation
    shape = tuple(node.shape)
    ia = np.broadcast_to(np.arange(len(ins[0])).reshape(shapes[0]), shape).reshape(-1)
    ib = np.broadcast_to(np.arange(len(ins[1])).reshape(shapes[1]), shape).reshape(-1)
    out = []
    for a_i, b_i in zip(ia, ib):
        a, b = ins[0][int(a_i)], ins[1][int(b_i)]
        if op == "mul":
            y = body.mul(a, b)
        elif op in ("max", "min"):
            y = body.maximum(a, b, minimum=op == "min")
        else:
            y = body.add(a, b, subtract=op == "sub")
        out.append(body.requant(y, tr))
    return out


def build_softmax(body: Body, node: Node, ins, shapes) -> list[Sig]:
    (x,) = ins
    te, ts, ti, tr = role_types(node, "exp", "sum", "inv", "result")
    rank = len(node.shape)
    if node.op.axis % rank != rank - 1:
        raise UnsupportedOpError(f"node {node.label()}: Softmax over axis {node.op.axis} is not supported by "
                                 "the Verilog backend (only the last axis); use the vivado backend")
    n = node.shape[-1]
    exp_spec, _, _, exp_entries = table_lookup(node, "exp", te, te)
    inv_spec, _, _, inv_entries = table_lookup(node, "inv", ti, ti)
    exp_rom = _rom(body, "rom_exp", _ints(exp_entries), te.frac)
    inv_rom = _rom(body, "rom_inv", _ints(inv_entries), ti.frac)
    out = []
    for p in range(len(x) // n):
        row = x[p * n:(p + 1) * n]
        level = list(row)
        while len(level) > 1:
            nxt = [body.maximum(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            level = nxt + ([level[-1]] if len(level) % 2 else [])
        m = level[0]
        es = []
        for e in row:
            d = body.add(e, m, subtract=True)
            d = Sig(d.name, d.width, d.frac, d.lo, min(d.hi, 0))  # x - max(x) <= 0
            es.append(_lookup(body, exp_rom, d, exp_spec))
        s = body.requant(body.tree([(e, False) for e in es], te.frac), ts)
        r = _lookup(body, inv_rom, s, inv_spec)
        out.extend(body.requant(body.mul(e, r), tr) for e in es)
    return out


BUILDERS: dict[type, Builder] = {
    ops.Dense: build_dense,
    ops.Conv: build_conv,
    ops.Pool: build_pool,
    ops.GlobalPool: build_global_pool,
    ops.ScaleShift: build_scaleshift,
    ops.Activation: build_activation,
    ops.Quant: build_cast,
    ops.Reshape: build_cast,
    ops.Transpose: build_transpose,
    ops.Concat: build_concat,
    ops.Elementwise: build_elementwise,
    ops.Softmax: build_softmax,
}
WIRING = (ops.Reshape, ops.Transpose)  # no logic of their own: never a pipeline stage


def builder_for(node: Node) -> Builder:
    builder = BUILDERS.get(type(node.op))
    if builder is None:
        raise UnsupportedOpError(f"node {node.label()}: op {node.op.kind} is not supported by the Verilog backend "
                                 f"(supported: {', '.join(sorted(c.kind for c in BUILDERS))}); use the vivado "
                                 "backend")
    return builder
