"""Precision rules for quantized models (QONNX): forced types and exact results before quantizers.

A model trained with quantizers computes, between two quantizers, exact float arithmetic on values
that are already on fixed-point grids. To reproduce it bit for bit:

- `forced_type(node, role)`: the type the frontend fixed for a role (`node.annotations.forced_precision`,
  e.g. the exact type of weights that a QONNX quantizer produced), used only while it still holds
  every value of that role exactly (a later pass that rescaled the weights voids it);
- `exact_result(graph, node)`: when every path from `node` reaches a `Quant` node through ops that
  only move or compare values (relu, linear, Reshape, Transpose, max pooling, the structural ops but a
  Pad of a nonzero value), the node's result must
  not round or saturate, or the quantizer would round twice. The exact result type is the
  accumulator for Dense/Conv/ScaleShift (which is exact by construction), the input type for relu and
  linear, and the full-width sum/difference/product type for Elementwise (max/min: the union of both
  input types);
- `input_type(graph)`: the Input node takes the common dtype of the quantizers reading it, so
  `cast(x, input)` is the quantizer itself;
- `threshold_input_type(graph, base)`: when every reader of the Input is a scale/shift chain folded into
  a bipolar quantizer (`fold_into_quantizer`, `annotations.quant_affine.reads_input`), each channel's
  decision is `x >= t_c` with the exact rational zero crossing t_c = -B_c/K_c (K_c > 0). If every t_c is
  dyadic, the input type becomes `base` with AP_TRN (round toward -inf) and at least the fractional
  bits and integer bits of every t_c: then t_c is on the input grid and floor(x) >= t_c <=> x >= t_c for
  every real x in range, so the input cast never moves an input across a threshold (exact). Otherwise
  (K_c < 0: a decision `x <= t_c`, which no rounding cast keeps for every real x; a non-dyadic t_c)
  `base` stays and the second element of the answer says why;
- `bipolar_sign(node, x_t)`: the sign ScaleShift of a bipolar activation (`annotations.bipolar_sign`,
  `frontends.onnx_quant.bipolar_activation`) gets scale 2^(F+1) and shift 1, F = frac(x_t): every
  x >= 0 maps to >= 1 and every x < 0 (so x <= -2^-F) to <= -1, exactly.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.ir import fixed
from nn2hls.ir.annotations import Requant, Role
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Activation, Elementwise, GlobalPool, Pool, Quant, Reduce, Reshape, Transpose
from nn2hls.ir.ops import STRUCTURAL_OPS, Pad
from nn2hls.ir.types import FixedType


def forced_type(node: Node, role: str, values: np.ndarray | None) -> FixedType | None:
    """The frontend-forced type of `role`, when it represents `values` exactly (else None)."""
    t = node.annotations.forced_precision.get(role)
    if t is None:
        return None
    if values is not None:
        v = np.asarray(values, dtype=np.float64)
        raw, ovf = fixed.quantize(v, t, return_overflow=True)
        if np.any(ovf) or not np.array_equal(fixed.to_float(raw, t), v):
            return None
    return t


def is_quantizer(node: Node) -> bool:
    """A Quant cast, or a requantizing ScaleShift (its result feeds an integer cast)."""
    return isinstance(node.op, Quant) or node.annotations.requant is not None


def _passes_exact(node: Node) -> bool:
    op = node.op
    if node.annotations.exact_result:
        return True
    if isinstance(op, Activation):
        return op.function in ("relu", "linear", "clip")
    if isinstance(op, (Pool, GlobalPool, Reduce)):
        return op.mode in ("max", "min")
    if isinstance(op, Pad):
        return op.value == 0.0
    return isinstance(op, (Reshape, Transpose) + STRUCTURAL_OPS)


def feeds_quant(graph: Graph, name: str, _seen: dict[str, bool] | None = None) -> bool:
    """True when every reader path of `name` reaches a Quant node through exact wiring ops."""
    seen = {} if _seen is None else _seen
    if name in seen:
        return seen[name]
    readers = graph.consumers(name)
    ok = bool(readers) and name not in graph.outputs
    for r in readers:
        if not ok:
            break
        node = graph.nodes[r]
        ok = is_quantizer(node) or (_passes_exact(node) and feeds_quant(graph, r, seen))
    seen[name] = ok
    return ok


def exact_result(graph: Graph, node: Node) -> FixedType | None:
    """The exact result type of `node` when it feeds quantizers only (see the module docstring).

    A node the frontend marked `annotations.exact_result` (dequantizing and factored scales, integer layers
    between them) always gets its exact accumulator.
    """
    op = node.op
    if node.annotations.exact_result and "accum" in node.precision:
        return node.precision["accum"]
    if not feeds_quant(graph, node.name):
        return None
    in_types = [graph.nodes[i].precision.get("result") for i in node.inputs]
    if any(t is None for t in in_types):
        return None
    if "accum" in node.precision and not isinstance(op, (Pool, GlobalPool)) \
            and not (isinstance(op, Reduce) and op.mode == "mean"):
        return node.precision["accum"]
    if isinstance(op, Activation) and op.function in ("relu", "linear", "clip"):
        return in_types[0]
    if isinstance(op, Elementwise):
        fn = {"add": fixed.sum_type, "sub": fixed.diff_type, "mul": fixed.product_type,
              "max": union_type, "min": union_type}[op.operation]
        return fn(in_types[0], in_types[1])
    return None


def union_type(a: FixedType, b: FixedType) -> FixedType:
    """The narrowest type holding every value of a and of b exactly (the result of max/min)."""
    signed = a.signed or b.signed
    integer = max(a.integer + int(signed and not a.signed), b.integer + int(signed and not b.signed))
    frac = max(a.frac, b.frac)
    return FixedType.fixed(integer + frac, integer, signed)


def input_type(graph: Graph, node: Node | None = None) -> FixedType | None:
    """The common dtype of the Quant nodes reading the Input `node` (the only one when None), when all
    its readers are Quant."""
    node = graph.input if node is None else node
    readers = [graph.nodes[r] for r in graph.consumers(node.name)]
    if readers and all(r.annotations.requant is not None for r in readers):
        return _requant_input_type([r.annotations.requant for r in readers])
    if not readers or not all(isinstance(r.op, Quant) for r in readers):
        return None
    types = {FixedType.parse(r.op.dtype) for r in readers}
    return types.pop() if len(types) == 1 else None


def threshold_input_type(graph: Graph, base: FixedType,
                         node: Node | None = None) -> tuple[FixedType | None, str | None]:
    """(type of the Input `node` (the only one when None), None) by the threshold rule above, (None,
    reason) when it cannot be exact, or (None, None) when the rule does not apply (some reader is not
    a folded bipolar chain)."""
    from fractions import Fraction
    node = graph.input if node is None else node
    readers = [graph.nodes[r] for r in graph.consumers(node.name)]
    infos = [r.annotations.quant_affine for r in readers]
    if not readers or not all(i and i.reads_input and i.quant.get("bipolar") for i in infos):
        return None, None
    frac, top = base.frac, Fraction(0)
    for info in infos:
        low = info.quant.get("post_low")
        if low is not None and Fraction(low) >= 0:
            continue  # always +1
        for k, b in zip(info.scale, info.shift):
            k, b = Fraction(k), Fraction(b)
            if k == 0:
                continue
            if k < 0:
                return None, "a negative scale makes a decision x <= t, which a rounded input cannot keep"
            t = -b / k
            den = t.denominator
            if den & (den - 1):
                return None, f"the threshold {float(t):g} is not a binary fraction"
            frac = max(frac, den.bit_length() - 1)
            top = max(top, abs(t))
    integer = max(base.integer, math.floor(math.log2(top)) + 2 if top > 0 else 1)
    width = integer + frac
    return FixedType.fixed(width, integer, True, "AP_TRN", base.overflow), None


REQUANT_INPUT_EXTRA_BITS = 24


def _requant_input_type(quants: list[Requant]) -> FixedType:
    """Input type for requantizers of scale s, zero point z, range [lo, hi]: it covers every input that
    does not saturate ((lo - z - 1)*s .. (hi - z + 1)*s) with AP_SAT and has REQUANT_INPUT_EXTRA_BITS more
    fractional bits than s, so rounding the input moves x/s by at most 2^-25 (AP_RND_CONV): the result
    differs from round(x/s) only for inputs that close to a rounding tie."""
    import math
    frac = max(REQUANT_INPUT_EXTRA_BITS - math.floor(math.log2(q.scale)) for q in quants)
    bound = max(max(abs(q.lo - q.zero_point - 1), abs(q.hi - q.zero_point + 1)) * q.scale
                for q in quants)
    integer = max(math.ceil(math.log2(bound)) + 1, 1) if bound > 0 else 1
    return FixedType.fixed(integer + frac, integer, True, "AP_RND_CONV", "AP_SAT")


def bipolar_sign(node: Node, x_t: FixedType) -> None:
    """Set the weights and forced types of a bipolar sign ScaleShift for input type `x_t` (see above)."""
    c = np.shape(node.weights["scale"])
    scale = np.full(c, 2.0 ** (x_t.frac + 1))
    node.weights["scale"] = scale
    node.weights["shift"] = np.ones(c)
    node.annotations.forced_precision = {Role.WEIGHT: FixedType.fixed(2, x_t.frac + 3, True),
                                         Role.BIAS: FixedType.fixed(2, 2, True)}
