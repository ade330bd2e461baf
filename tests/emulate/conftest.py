"""Hand-typing of small IR graphs for the emulator tests (until the precision pass exists).

`type_graph` gives every node the same result type (or per-node overrides), quantizes weights to
the weight/bias types (so they are exactly representable) and gives Dense/Conv an exact accumulator
(frac = fx + fw, enough integer bits for sum |w| * max|x| + |b|).
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.ir import fixed, ops, tables
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType


def F(text: str) -> FixedType:
    return FixedType.parse(text)


def exact_accum(tx: FixedType, tw: FixedType, w_raw_colsum_max: int, b_max: float, frac_b: int) -> FixedType:
    frac = max(tx.frac + tw.frac, frac_b)
    xmax = max(-tx.min_raw, tx.max_raw)
    bound = w_raw_colsum_max * xmax * (1 << (frac - tx.frac - tw.frac)) + int(abs(b_max) * 2 ** frac)
    width = max(bound.bit_length() + 1, 2)
    return FixedType.fixed(width, width - frac)


def quantized(values: np.ndarray, t: FixedType) -> np.ndarray:
    return fixed.to_float(fixed.quantize(values, t), t)


def type_graph(graph: Graph, result: FixedType, *, weight: FixedType | None = None,
               overrides: dict[str, dict[str, FixedType]] | None = None, table_size: int = 1024,
               table_width: int = 18) -> Graph:
    overrides = overrides or {}
    weight = weight or FixedType.fixed(16, 4, rounding="AP_RND", overflow="AP_SAT")
    for node in graph.topological():
        prec = {"result": result}
        prec.update(overrides.get(node.name, {}).get("pre", {}))
        node.precision = prec
        tx = graph.nodes[node.inputs[0]].precision["result"] if node.inputs else None
        op = node.op
        if isinstance(op, (ops.Dense, ops.Conv, ops.ScaleShift)):
            wkey, bkey = ("kernel", "bias") if not isinstance(op, ops.ScaleShift) else ("scale", "shift")
            tw = prec.get("weight", weight)
            tb = prec.get("bias", weight)
            node.weights[wkey] = quantized(node.weights[wkey], tw)
            if bkey in node.weights:
                node.weights[bkey] = quantized(node.weights[bkey], tb)
            w_raw = np.abs(fixed.quantize(node.weights[wkey], tw))
            colmax = int(w_raw.reshape(-1, w_raw.shape[-1]).sum(axis=0).max()) if not isinstance(
                op, ops.ScaleShift) else int(w_raw.max())
            bmax = float(np.abs(node.weights.get(bkey, np.zeros(1))).max())
            prec.setdefault("weight", tw)
            prec.setdefault("bias", tb)
            prec.setdefault("accum", exact_accum(tx, tw, colmax, bmax, tb.frac))
        elif isinstance(op, (ops.Pool, ops.GlobalPool)) and op.mode == "avg":
            taps = math.prod(op.pool_size) if isinstance(op, ops.Pool) else math.prod(
                graph.nodes[node.inputs[0]].shape[:-1])
            extra = max(taps - 1, 0).bit_length()
            prec.setdefault("accum", FixedType.fixed(tx.width + extra, tx.integer + extra))
            prec.setdefault("recip", FixedType.fixed(18, 1, False, "AP_RND", "AP_SAT"))
        elif isinstance(op, ops.Activation) and op.function in ("clip", "leaky_relu", "hard_sigmoid"):
            prec.setdefault("param", FixedType.fixed(16, 4, rounding="AP_RND", overflow="AP_SAT"))
        elif isinstance(op, ops.Activation) and op.function in ("sigmoid", "tanh", "elu"):
            types = tables.default_table_types(op.function, table_width, alpha=op.alpha or 1.0)
            for role, t in types.items():
                prec.setdefault(role, t)
            make = {"sigmoid": tables.sigmoid_spec, "tanh": tables.tanh_spec}.get(op.function)
            spec = make(tx, table_size) if make else tables.elu_spec(tx, table_size, op.alpha)
            node.tables = {"table": spec}
        elif isinstance(op, ops.Softmax):
            n = node.shape[op.axis]
            types = tables.default_table_types("softmax", table_width, axis_length=n)
            for role, t in types.items():
                prec.setdefault(role, t)
            e, i = tables.softmax_specs(tx, n, table_size, sum_frac=prec["sum"].frac)
            node.tables = {"exp": e, "inv": i}
        prec.update(overrides.get(node.name, {}).get("post", {}))
    return graph


# -------------------------------------------------------------------------------------------------
# an independent, slow reference of docs/semantics.md on Fractions (scalar loops, no nn2hls.fixed)
# -------------------------------------------------------------------------------------------------
from fractions import Fraction  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402


def ref_cast(v: Fraction, t: FixedType) -> tuple[Fraction, bool]:
    """Vivado assignment of the exact value v to t: (value, changed by the overflow mode)."""
    f = t.width - t.integer
    y = Fraction(v) * Fraction(2) ** f
    fl = math.floor(y)
    r = y - fl
    half = Fraction(1, 2)
    mode = "AP_TRN_ZERO" if t.is_int else t.rounding
    if r == 0 or mode == "AP_TRN":
        n = fl
    elif mode == "AP_TRN_ZERO":
        n = fl + (1 if y < 0 else 0)
    elif r != half:
        n = fl + (1 if r > half else 0)
    elif mode == "AP_RND":
        n = fl + 1
    elif mode == "AP_RND_ZERO":
        n = fl + (1 if y < 0 else 0)
    elif mode == "AP_RND_INF":
        n = fl + (1 if y > 0 else 0)
    elif mode == "AP_RND_MIN_INF":
        n = fl
    else:  # AP_RND_CONV
        n = fl + (fl % 2)
    if t.signed:
        lo, hi = -(2 ** (t.width - 1)), 2 ** (t.width - 1) - 1
    else:
        lo, hi = 0, 2 ** t.width - 1
    sym = t.overflow == "AP_SAT_SYM" and t.signed and t.width > 1
    over = n > hi or n < lo or (sym and n == lo)
    if over:
        if t.overflow == "AP_WRAP":
            n = (n - lo) % (2 ** t.width) + lo
        elif t.overflow == "AP_SAT_ZERO":
            n = 0
        elif sym:
            n = hi if n > hi else -hi
        else:
            n = hi if n > hi else lo
    return Fraction(n) / Fraction(2) ** f, over


def ref_values(raw: np.ndarray, t: FixedType) -> np.ndarray:
    out = np.empty(raw.shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(int(r)) / Fraction(2) ** t.frac for r in raw.reshape(-1).tolist()]
    return out


class Ref:
    """Runs a typed graph on Fractions, one scalar at a time, straight from docs/semantics.md."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.overflows: dict[str, int] = {}

    def cast(self, name: str, v, t: FixedType):
        arr = np.asarray(v, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, value in enumerate(arr.reshape(-1).tolist()):
            flat[i], over = ref_cast(value, t)
            self.overflows[name] = self.overflows.get(name, 0) + int(over)
        return out

    def table(self, node, role: str, entry: FixedType) -> list[Fraction]:
        spec = node.tables[role]
        return [ref_cast(Fraction(float(v)), entry)[0] for v in tables.table_values(spec)]

    @staticmethod
    def index(v: Fraction, spec) -> int:
        return min(max(math.floor(v * Fraction(2) ** spec.shift) - spec.offset, 0), spec.size - 1)

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        vals: dict[str, np.ndarray] = {}
        for node in self.graph.topological():
            args = [vals[i] for i in node.inputs]
            types = [self.graph.nodes[i].precision["result"] for i in node.inputs]
            vals[node.name] = self.node(node, args, types, x)
        return vals

    def node(self, node, args, types, x):
        p, op, name = node.precision, node.op, node.name
        frac = lambda v, t: Fraction(float(v))  # weights are exactly representable doubles
        if isinstance(op, ops.Input):
            xf = np.empty(x.shape, dtype=object)
            xf.reshape(-1)[:] = [Fraction(float(v)) for v in x.reshape(-1)]
            return self.cast(name, xf, p["result"])
        a = args[0] if args else None
        if isinstance(op, (ops.Dense, ops.Conv)):
            kernel = node.weights["kernel"]
            bias = node.weights.get("bias", np.zeros(kernel.shape[-1]))
            if isinstance(op, ops.Dense):
                windows = a.reshape(-1, kernel.shape[0])
                out_shape = a.shape[:-1] + (kernel.shape[1],)
                k2 = kernel
            else:
                n = a.shape[0]
                pad = [(0, 0)] + list(op.pads) + [(0, 0)]
                xp = np.pad(a, pad, constant_values=Fraction(0))
                out_sp = node.shape[:-1]
                rows = []
                for b in range(n):
                    for pos in np.ndindex(*out_sp):
                        taps = []
                        for k in np.ndindex(*op.kernel_size):
                            idx = tuple(pp * s + kk * d for pp, s, kk, d in
                                        zip(pos, op.strides, k, op.dilations))
                            for c in range(xp.shape[-1]):
                                taps.append(xp[(b,) + idx + (c,)])
                        rows.append(taps)
                windows = np.array(rows, dtype=object)
                out_shape = (n,) + tuple(node.shape)
                k2 = kernel.reshape(-1, kernel.shape[-1])
            acc = np.empty((windows.shape[0], k2.shape[1]), dtype=object)
            for r in range(windows.shape[0]):
                for o in range(k2.shape[1]):
                    s = Fraction(float(bias[o]))
                    for i in range(k2.shape[0]):
                        if k2[i, o] != 0:
                            s += windows[r, i] * Fraction(float(k2[i, o]))
                    acc[r, o] = s
            acc = self.cast(name, acc, p["accum"])
            return self.cast(name, acc, p["result"]).reshape(out_shape)
        if isinstance(op, ops.ScaleShift):
            sc = np.broadcast_to(node.weights["scale"], a.shape[1:])
            sh = np.broadcast_to(node.weights["shift"], a.shape[1:])
            y = np.empty(a.shape, dtype=object)
            for idx in np.ndindex(*a.shape):
                y[idx] = a[idx] * Fraction(float(sc[idx[1:]])) + Fraction(float(sh[idx[1:]]))
            return self.cast(name, self.cast(name, y, p["accum"]), p["result"])
        if isinstance(op, (ops.Pool, ops.GlobalPool)):
            if isinstance(op, ops.GlobalPool):
                size = a.shape[1:-1]
                strides, pads, include = size, tuple((0, 0) for _ in size), True
            else:
                size, strides, pads, include = op.pool_size, op.strides, op.pads, op.count_include_pad
            out_sp = tuple((a.shape[1 + i] + pads[i][0] + pads[i][1] - size[i]) // strides[i] + 1
                           for i in range(len(size)))
            y = np.empty((a.shape[0],) + out_sp + (a.shape[-1],), dtype=object)
            for b in range(a.shape[0]):
                for pos in np.ndindex(*out_sp):
                    for c in range(a.shape[-1]):
                        vals, count = [], 0
                        for k in np.ndindex(*size):
                            idx = tuple(pp * s + kk - pd[0] for pp, s, kk, pd in zip(pos, strides, k, pads))
                            inside = all(0 <= i < a.shape[1 + j] for j, i in enumerate(idx))
                            count += 1 if (inside or include) else 0
                            if inside:
                                vals.append(a[(b,) + idx + (c,)])
                        if op.mode == "max":
                            y[(b,) + pos + (c,)] = max(vals)
                        else:
                            s = self.cast(name, [sum(vals, Fraction(0))], p["accum"])[0]
                            r = ref_cast(Fraction(1.0 / count), p["recip"])[0]
                            y[(b,) + pos + (c,)] = s * r
            if isinstance(op, ops.GlobalPool):
                y = y.reshape(a.shape[0], a.shape[-1])
            return self.cast(name, y, p["result"])
        if isinstance(op, ops.Activation):
            f = op.function
            flat = a.reshape(-1).tolist()
            out = []
            if f in ("clip", "leaky_relu", "hard_sigmoid"):
                prm = lambda v: ref_cast(Fraction(float(v)), p["param"])[0]
            if f in ("sigmoid", "tanh", "elu"):
                tab = self.table(node, "table", p["table"])
                spec = node.tables["table"]
            for v in flat:
                if f == "relu":
                    out.append(max(v, Fraction(0)))
                elif f == "linear":
                    out.append(v)
                elif f == "clip":
                    if math.isfinite(op.low):
                        v = max(v, prm(op.low))
                    if math.isfinite(op.high):
                        v = min(v, prm(op.high))
                    out.append(v)
                elif f == "leaky_relu":
                    out.append(v if v >= 0 else v * prm(op.alpha))
                elif f == "hard_sigmoid":
                    out.append(min(max(v * prm(op.alpha) + prm(op.beta), Fraction(0)), Fraction(1)))
                elif f == "elu" and v > 0:
                    out.append(v)
                else:
                    out.append(tab[self.index(v, spec)])
            return self.cast(name, np.array(out, dtype=object).reshape(a.shape), p["result"])
        if isinstance(op, ops.Softmax):
            axis = op.axis % (a.ndim - 1) + 1
            moved = np.moveaxis(a, axis, -1)
            y = np.empty(moved.shape, dtype=object)
            et, it = self.table(node, "exp", p["exp"]), self.table(node, "inv", p["inv"])
            for idx in np.ndindex(*moved.shape[:-1]):
                row = list(moved[idx])
                m = max(row)
                e = [et[self.index(v - m, node.tables["exp"])] for v in row]
                s = self.cast(name, [sum(e, Fraction(0))], p["sum"])[0]
                r = it[self.index(s, node.tables["inv"])]
                y[idx] = np.array([ei * r for ei in e], dtype=object)
            return self.cast(name, np.moveaxis(y, -1, axis), p["result"])
        if isinstance(op, ops.Elementwise):
            b = args[1]
            fn = {"add": lambda u, v: u + v, "sub": lambda u, v: u - v, "mul": lambda u, v: u * v}[op.operation]
            y = np.array([fn(u, v) for u, v in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist())],
                         dtype=object).reshape(a.shape)
            return self.cast(name, y, p["result"])
        if isinstance(op, ops.Concat):
            axis = op.axis % (a.ndim - 1) + 1
            return np.concatenate([self.cast(name, v, p["result"]) for v in args], axis=axis)
        if isinstance(op, ops.Reshape):
            return self.cast(name, a.reshape((a.shape[0],) + tuple(op.shape)), p["result"])
        if isinstance(op, ops.Transpose):
            return self.cast(name, a.transpose((0,) + tuple(q + 1 for q in op.perm)), p["result"])
        raise NotImplementedError(op.kind)


@pytest.fixture
def emu():
    """The helpers above, for test modules (imported with --import-mode=importlib)."""
    return SimpleNamespace(F=F, type_graph=type_graph, quantized=quantized, Ref=Ref, ref_cast=ref_cast,
                           ref_values=ref_values)
