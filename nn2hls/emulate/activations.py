"""Element-wise activations on raw integers (docs/semantics.md).

- relu: ``cast(max(x, 0), result)``; linear: ``cast(x, result)``.
- clip: ``lo = cast(low, param)``, ``hi = cast(high, param)`` (infinite bounds absent),
  ``cast(min(max(x, lo), hi), result)``, compared exactly at ``max(fx, fp)`` fractional bits.
- leaky_relu: ``a = cast(alpha, param)``, ``cast(x >= 0 ? x : x * a, result)`` at ``fx + fp``.
- hard_sigmoid: ``a, b = cast(alpha, param), cast(beta, param)``,
  ``cast(min(max(x * a + b, 0), 1), result)`` at ``fx + fp``.
- sigmoid, tanh: ``cast(table[index(x)], result)`` with the node's ``tables['table']`` spec and
  ``precision['table']`` entry type; elu: ``x > 0 ? cast(x, result) : cast(table[index(x)], result)``.
  The table is cast to the result type once; per-entry overflow flags count each lookup that
  saturated or wrapped.
- prelu: ``a = slopes (weight 'alpha', already quantized to `weight`)``, ``cast(x >= 0 ? x : x * a,
  result)`` at ``fx + fw``, the slopes broadcast per element.
- thresholded_relu: ``t, v = cast(alpha, param), cast(beta, param)``, ``cast(x > t ? x : v, result)``
  compared exactly at ``max(fx, fp)``.
- hard_swish: ``a, b = cast(alpha, param), cast(beta, param)``,
  ``cast(x * min(max(x * a + b, 0), 1), result)`` at ``2 fx + fp`` (exact product).
- selu: ``s = cast(beta, param)``, ``x > 0 ? cast(x * s, result) : cast(table[index(x)], result)``
  (table of s * alpha * (exp(v) - 1)); celu: as elu with its own table.
- steps: ``levels[#{t : raw(x) >= t}]`` with the thresholds on x's grid (`nn2hls.ir.steps.on_grid`),
  each reachable level cast to the result type once (as the C++ constants are).
- softsign: as sigmoid. softplus, swish, mish, gelu, gelu_tanh (residual tables, `nn2hls.ir.tables`):
  ``cast(max(x, 0) + table[index(x)], result)``, the sum exact at ``max(fx, frac(table))``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from nn2hls.errors import GraphError
from nn2hls.emulate.arith import Tally, as_dtype, cast, max_abs, scale_pow2, storage_dtype, work_dtype
from nn2hls.emulate.linear import Kernel
from nn2hls.ir.roles import role_types
from nn2hls.ir import fixed, ops, tables
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def _param(value: float, tp: FixedType) -> int:
    return int(fixed.quantize(np.array([value]), tp)[0])


def table_lookup(node: Node, role: str, entry_type: FixedType, result: FixedType):
    """(spec, entries as result-storage raw, per-entry overflow flags) of a node's table."""
    spec = node.tables.get(role)
    if not isinstance(spec, tables.TableSpec):
        raise GraphError(f"node {node.label()} has no '{role}' lookup table spec: run precision "
                         "assignment first")
    entries = fixed.quantize(tables.table_values(spec), entry_type)
    out, ovf = fixed.requantize(entries, entry_type.frac, result, return_overflow=True)
    return spec, as_dtype(out, storage_dtype(result)), ovf, entries


def _count(tally: Tally, flags: np.ndarray, idx: np.ndarray, where=None) -> None:
    if tally.enabled and flags.any():
        hit = flags[idx]
        tally.add(np.count_nonzero(hit if where is None else hit & where))


def build_activation(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    """The kernel of an Activation node: `ACTIVATION_TABLE[function](node, input type, result type)`."""
    (tr,) = role_types(node, "result")
    build = ACTIVATION_TABLE.get(node.op.function)
    if build is None:
        raise GraphError(f"node {node.label()}: activation {node.op.function!r} is not supported by the emulator")
    return build(node, in_types[0], tr)


def _linear(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    return lambda args, tally: cast(args[0], tx.frac, tx.min_raw, tx.max_raw, tr, tally)


def _relu(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    def relu(args, tally):
        return cast(np.maximum(args[0], 0), tx.frac, max(tx.min_raw, 0), max(tx.max_raw, 0), tr, tally)
    return relu


def _clip(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    op: ops.Activation = node.op
    (tp,) = role_types(node, "param")
    frac = max(tx.frac, tp.frac)
    kx, kp = frac - tx.frac, frac - tp.frac
    lo = _param(op.low, tp) << kp if math.isfinite(op.low) else None
    hi = _param(op.high, tp) << kp if math.isfinite(op.high) else None
    bound = max(max_abs(tx) << kx, abs(lo or 0), abs(hi or 0))
    dtype = work_dtype(bound)

    def clip(args, tally):
        y = scale_pow2(as_dtype(args[0], dtype), kx)
        if lo is not None:
            y = np.maximum(y, lo)
        if hi is not None:
            y = np.minimum(y, hi)
        return cast(y, frac, -bound, bound, tr, tally)
    return clip


def _slopes(tx: FixedType, tr: FixedType, raw: np.ndarray, slope_frac: int) -> Kernel:
    """x where x >= 0, else x * a, for raw slopes a with slope_frac fractional bits (one slope, or one per
    element): leaky ReLU and PReLU, exact at tx.frac + slope_frac fractional bits, then cast to tr."""
    frac = tx.frac + slope_frac
    amax = max((abs(int(v)) for v in raw.reshape(-1).tolist()), default=0)
    bound = max_abs(tx) * max(amax, 1 << slope_frac)
    dtype = work_dtype(bound)
    a = as_dtype(np.ascontiguousarray(raw), dtype)

    def slope(args, tally):
        x = as_dtype(args[0], dtype)
        y = np.where(x >= 0, scale_pow2(x, slope_frac), x * a)
        return cast(y, frac, -bound, bound, tr, tally)
    return slope


def _leaky_relu(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    (tp,) = role_types(node, "param")
    return _slopes(tx, tr, np.array(_param(node.op.alpha, tp)), tp.frac)


def _hard_sigmoid(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    (tp,) = role_types(node, "param")
    a = _param(node.op.alpha, tp)
    frac = tx.frac + tp.frac
    b = _param(node.op.beta, tp) << tx.frac
    one = 1 << frac
    bound = max(max_abs(tx) * abs(a) + abs(b), one)
    dtype = work_dtype(bound)

    def hard_sigmoid(args, tally):
        y = as_dtype(args[0], dtype) * a + b
        y = np.minimum(np.maximum(y, 0), one)
        return cast(y, frac, 0, one, tr, tally)
    return hard_sigmoid


def _table(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    """sigmoid, tanh, softsign: the table entry, cast to the result type."""
    (tt,) = role_types(node, "table")
    spec, entries, flags, _ = table_lookup(node, "table", tt, tr)

    def lookup(args, tally):
        idx = tables.index(args[0], tx.frac, spec)
        _count(tally, flags, idx)
        return entries[idx]
    return lookup


def _elu(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    """elu and celu: x where x > 0, else the table entry."""
    (tt,) = role_types(node, "table")
    spec, entries, flags, _ = table_lookup(node, "table", tt, tr)

    def elu(args, tally):
        x = args[0]
        pos = x > 0
        idx = tables.index(x, tx.frac, spec)
        _count(tally, flags, idx, ~pos)
        # cast the positive branch only (zeros elsewhere never overflow)
        direct = cast(np.where(pos, x, 0), tx.frac, min(tx.min_raw, 0), tx.max_raw, tr, tally)
        return np.where(pos, direct, entries[idx])
    return elu


def _prelu(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    (tw,) = role_types(node, "weight")
    slopes = np.broadcast_to(fixed.quantize(np.asarray(node.weights["alpha"], dtype=np.float64), tw), node.shape)
    return _slopes(tx, tr, slopes, tw.frac)


def _thresholded_relu(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    (tp,) = role_types(node, "param")
    frac = max(tx.frac, tp.frac)
    kx, kp = frac - tx.frac, frac - tp.frac
    t = _param(node.op.alpha, tp) << kp
    v = _param(node.op.beta, tp) << kp
    bound = max(max_abs(tx) << kx, abs(t), abs(v))
    dtype = work_dtype(bound)

    def thresholded(args, tally):
        x = scale_pow2(as_dtype(args[0], dtype), kx)
        return cast(np.where(x > t, x, v), frac, -bound, bound, tr, tally)
    return thresholded


def _hard_swish(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    (tp,) = role_types(node, "param")
    a = _param(node.op.alpha, tp)
    b = _param(node.op.beta, tp) << tx.frac
    gate_frac = tx.frac + tp.frac
    one = 1 << gate_frac
    bound = max_abs(tx) * one
    dtype = work_dtype(max(bound, max_abs(tx) * abs(a) + abs(b)))

    def hard_swish(args, tally):
        x = as_dtype(args[0], dtype)
        gate = np.minimum(np.maximum(x * a + b, 0), one)
        return cast(x * gate, tx.frac + gate_frac, -bound, bound, tr, tally)
    return hard_swish


def _selu(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    (tp, tt) = role_types(node, "param", "table")
    s = _param(node.op.beta, tp)
    spec, entries, flags, _ = table_lookup(node, "table", tt, tr)
    bound = max_abs(tx) * abs(s)
    dtype = work_dtype(bound)

    def selu(args, tally):
        x = args[0]
        pos = x > 0
        idx = tables.index(x, tx.frac, spec)
        _count(tally, flags, idx, ~pos)
        direct = cast(as_dtype(np.where(pos, x, 0), dtype) * s, tx.frac + tp.frac, -bound, bound, tr, tally)
        return np.where(pos, direct, entries[idx])
    return selu


def _relu_plus_table(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    (tt,) = role_types(node, "table")
    spec = node.tables.get("table")
    if not isinstance(spec, tables.TableSpec):
        raise GraphError(f"node {node.label()} has no 'table' lookup table spec: run precision assignment first")
    raw = fixed.quantize(tables.table_values(spec), tt)
    frac = max(tx.frac, tt.frac)
    kx, kt = frac - tx.frac, frac - tt.frac
    emax = max([abs(int(v)) for v in raw.tolist()] or [0]) << kt
    bound = (max(tx.max_raw, 0) << kx) + emax
    dtype = work_dtype(bound)
    entries = scale_pow2(as_dtype(raw, dtype), kt)

    def relu_plus_table(args, tally):
        x = args[0]
        idx = tables.index(x, tx.frac, spec)
        y = scale_pow2(as_dtype(np.maximum(x, 0), dtype), kx) + entries[idx]
        return cast(y, frac, -bound, bound, tr, tally)
    return relu_plus_table


def _steps(node: Node, tx: FixedType, tr: FixedType) -> Kernel:
    from nn2hls.ir.steps import on_grid
    raws, levels = on_grid(node.weights["thresholds"], node.weights["levels"], tx)
    out, flags = fixed.quantize(levels, tr, return_overflow=True)
    out = as_dtype(out, storage_dtype(tr))

    def steps(args, tally):
        x = args[0]
        thr = np.array(raws, dtype=object) if x.dtype == object else np.array(raws, dtype=x.dtype)
        idx = np.searchsorted(thr, x, side="right") if len(raws) else np.zeros(np.shape(x), dtype=np.int64)
        _count(tally, flags, idx)
        return out[idx]
    return steps


ACTIVATION_TABLE: dict[str, Callable[[Node, FixedType, FixedType], Kernel]] = {
    "linear": _linear, "relu": _relu, "clip": _clip, "leaky_relu": _leaky_relu, "hard_sigmoid": _hard_sigmoid,
    "sigmoid": _table, "tanh": _table, "elu": _elu, "prelu": _prelu, "steps": _steps, "thresholded_relu": _thresholded_relu,
    "hard_swish": _hard_swish, "selu": _selu, "celu": _elu, "softsign": _table,
    **{fn: _relu_plus_table for fn in tables.RESIDUAL},
}
"""Activation function (`ops.ACTIVATIONS`) -> builder(node, input type, result type) of its kernel."""
