"""Exporters' decompositions of one activation, fused back into that activation's ONNX op.

Rule: before import, each chain below whose intermediate values feed nothing else (and are no graph
output) is replaced by the single op it computes, with the same input x and output y; the float
result is the same function (the constants must match to float32 precision, 1e-6 relative):
- GELU, erf form (torch's TorchScript export below opset 20): `a = x / sqrt(2)` (or `x * (1/sqrt 2)`),
  `e = Erf(a)`, `b = e + 1`, then `y = (x * b) * 0.5` or `y = (x * 0.5) * b` -> `Gelu(x)` (ONNX Gelu,
  opset 20, approximate="none": y = x / 2 * (1 + erf(x / sqrt 2))).
- Softsign (torch exports it as `x / (1 + Abs(x))`): `a = Abs(x)`, `b = a + 1`, `y = x / b` -> `Softsign(x)`.
- GELU, tanh form (torch's exports below opset 20): `c = x ** 3` (Pow, or two Muls),
  `k = (x + 0.044715 c) * sqrt(2 / pi)`, `b = Tanh(k) + 1`, then x * b * 0.5 in any order ->
  `Gelu(x, approximate="tanh")`.
- Mish (below opset 18): `y = x * Tanh(Softplus(x))` -> `Mish(x)`.
- torch's Softplus guard (dynamo): `Where(Greater(x, t), x, Softplus(x))` with t >= 15 -> `Softplus(x)`.
- torch.nn.Threshold(t, v) (dynamo export): `y = Where(LessOrEqual(x, t), v, x)` or
  `Where(Greater(x, t), x, v)` -> `ThresholdedRelu(x, alpha=t)` with the below-threshold value v kept
  in the attribute `value` (nn2hls's own extension of ThresholdedRelu, whose value is 0).
Fused nodes keep the name of the chain's last node.
"""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper

from nn2hls.frontends.onnx_fold import attributes, constant_value

_RTOL = 1e-6


class _Index:
    def __init__(self, nodes: list[onnx.NodeProto], graph: onnx.GraphProto) -> None:
        self.producer: dict[str, onnx.NodeProto] = {}
        self.readers: dict[str, list[onnx.NodeProto]] = {}
        self.constants: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        for node in nodes:
            for out in node.output:
                self.producer[out] = node
            for name in node.input:
                self.readers.setdefault(name, []).append(node)
            if node.op_type == "Constant" and node.output:
                try:
                    self.constants[node.output[0]] = np.asarray(constant_value(attributes(node)))
                except Exception:  # unsupported Constant forms are reported by the importer
                    pass
        self.outputs = {o.name for o in graph.output}

    def scalar(self, name: str) -> float | None:
        value = self.constants.get(name)
        if value is None or value.size != 1:
            return None
        return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])

    def is_const(self, name: str, want: float) -> bool:
        v = self.scalar(name)
        return v is not None and math.isclose(v, want, rel_tol=_RTOL)

    def only_reader(self, value: str, op_type: str) -> onnx.NodeProto | None:
        readers = self.readers.get(value, [])
        if value in self.outputs or len(readers) != 1 or readers[0].op_type != op_type:
            return None
        return readers[0]

    def private(self, value: str) -> bool:
        return value not in self.outputs and len(self.readers.get(value, [])) == 1


def _other(node: onnx.NodeProto, name: str) -> str | None:
    """The other input of a two-input node, when `name` is one of them."""
    if len(node.input) != 2 or name not in node.input:
        return None
    return node.input[1] if node.input[0] == name else node.input[0]


def _half_x_tail(ix: _Index, b: onnx.NodeProto, x: str):
    """The nodes computing y = x * b * 0.5 from b's output, in any of the exporters' orders:
    (x * b) * 0.5, (0.5 * b) * x, (x * 0.5) * b. Returns (nodes, last node) or None."""
    value = b.output[0]
    mul = ix.only_reader(value, "Mul")
    if mul is None:
        return None
    other = _other(mul, value)
    if other is None:
        return None
    if other == x:  # (x * b) * 0.5
        half = ix.only_reader(mul.output[0], "Mul")
        if half is not None and ix.is_const(_other(half, mul.output[0]) or "", 0.5):
            return [mul, half], half
        return None
    if ix.is_const(other, 0.5):  # (0.5 * b) * x
        last = ix.only_reader(mul.output[0], "Mul")
        if last is not None and _other(last, mul.output[0]) == x:
            return [mul, last], last
        return None
    pre = ix.producer.get(other)
    if pre is not None and pre.op_type == "Mul" and ix.private(other) and x in pre.input \
            and ix.is_const(_other(pre, x) or "", 0.5):  # (x * 0.5) * b
        return [pre, mul], mul
    return None


def _plus_one(ix: _Index, node: onnx.NodeProto) -> onnx.NodeProto | None:
    add = ix.only_reader(node.output[0], "Add")
    if add is None or not ix.is_const(_other(add, node.output[0]) or "", 1.0):
        return None
    return add


def _gelu(ix: _Index, erf: onnx.NodeProto):
    scaled = ix.producer.get(erf.input[0])
    if scaled is None or not ix.private(erf.input[0]):
        return None
    x = None
    if scaled.op_type == "Div" and ix.is_const(scaled.input[1], math.sqrt(2.0)):
        x = scaled.input[0]
    elif scaled.op_type == "Mul":
        for a, b in (scaled.input, reversed(scaled.input)):
            if ix.is_const(b, 1 / math.sqrt(2.0)):
                x = a
    if x is None:
        return None
    add = _plus_one(ix, erf)
    tail = _half_x_tail(ix, add, x) if add is not None else None
    if tail is None:
        return None
    return [scaled, erf, add] + tail[0], x, tail[1]


def _scaled_by(ix: _Index, value: str, constant: float) -> tuple[onnx.NodeProto, str] | None:
    """(node, other input) when `value` = other * constant and only one node reads it."""
    node = ix.producer.get(value)
    if node is None or node.op_type != "Mul" or not ix.private(value):
        return None
    for a, b in (node.input, reversed(node.input)):
        if ix.is_const(b, constant):
            return node, a
    return None


def _cube_of(ix: _Index, value: str) -> tuple[list[onnx.NodeProto], str] | None:
    """(nodes, x) when `value` = x ** 3: Pow(x, 3), (x * x) * x or x * (x * x)."""
    node = ix.producer.get(value)
    if node is None or not ix.private(value):
        return None
    if node.op_type == "Pow" and ix.is_const(node.input[1], 3.0):
        return [node], node.input[0]
    if node.op_type == "Mul" and len(node.input) == 2:
        for a, b in (node.input, reversed(node.input)):
            sq = ix.producer.get(b)
            if sq is not None and sq.op_type == "Mul" and ix.private(b) and list(sq.input) == [a, a]:
                return [sq, node], a
    return None


def _gelu_tanh(ix: _Index, tanh: onnx.NodeProto):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    k = _scaled_by(ix, tanh.input[0], math.sqrt(2.0 / math.pi))
    if k is None:
        return None
    inner = ix.producer.get(k[1])
    if inner is None or inner.op_type != "Add" or not ix.private(k[1]) or len(inner.input) != 2:
        return None
    for x, cubic in (inner.input, reversed(inner.input)):
        c = _scaled_by(ix, cubic, 0.044715)
        cube = _cube_of(ix, c[1]) if c is not None else None
        if cube is None or cube[1] != x:
            continue
        add = _plus_one(ix, tanh)
        tail = _half_x_tail(ix, add, x) if add is not None else None
        if tail is None:
            return None
        return cube[0] + [c[0], inner, k[0], tanh, add] + tail[0], x, tail[1]
    return None


def _softplus_guard(ix: _Index, compare: onnx.NodeProto):
    """torch's Softplus(threshold=t) for t >= 15: Where(Greater(x, t), x, Softplus(x)) (the guard
    changes the value by log1p(exp(-t)) < 3.1e-7)."""
    x, t = compare.input[0], ix.scalar(compare.input[1]) if len(compare.input) == 2 else None
    if t is None or t < 15:
        return None
    where = ix.only_reader(compare.output[0], "Where")
    if where is None or list(where.input[:2]) != [compare.output[0], x]:
        return None
    sp = ix.producer.get(where.input[2])
    if sp is None or sp.op_type != "Softplus" or sp.input[0] != x or not ix.private(where.input[2]):
        return None
    return [sp, compare, where], x, where


def _softsign(ix: _Index, absolute: onnx.NodeProto):
    x = absolute.input[0]
    add = ix.only_reader(absolute.output[0], "Add")
    if add is None or not ix.is_const(_other(add, absolute.output[0]) or "", 1.0):
        return None
    div = ix.only_reader(add.output[0], "Div")
    if div is None or list(div.input) != [x, add.output[0]]:
        return None
    return [absolute, add, div], x, div


def _mish(ix: _Index, softplus: onnx.NodeProto):
    x = softplus.input[0]
    tanh = ix.only_reader(softplus.output[0], "Tanh")
    if tanh is None:
        return None
    mul = ix.only_reader(tanh.output[0], "Mul")
    if mul is None or _other(mul, tanh.output[0]) != x:
        return None
    return [softplus, tanh, mul], x, mul


def _threshold(ix: _Index, compare: onnx.NodeProto):
    x, t = compare.input[0], ix.scalar(compare.input[1]) if len(compare.input) == 2 else None
    if t is None:
        return None
    where = ix.only_reader(compare.output[0], "Where")
    if where is None or where.input[0] != compare.output[0]:
        return None
    if compare.op_type == "LessOrEqual" and where.input[2] == x:
        value = ix.scalar(where.input[1])
    elif compare.op_type == "Greater" and where.input[1] == x:
        value = ix.scalar(where.input[2])
    else:
        return None
    if value is None:
        return None
    return [compare, where], x, where, {"alpha": t, "value": value}


_PATTERNS = {"Erf": [("Gelu", _gelu, {})], "Tanh": [("Gelu", _gelu_tanh, {"approximate": "tanh"})],
             "Abs": [("Softsign", _softsign, {})], "Softplus": [("Mish", _mish, {})],
             "LessOrEqual": [("ThresholdedRelu", _threshold, {})],
             "Greater": [("ThresholdedRelu", _threshold, {}), ("Softplus", _softplus_guard, {})]}


def fuse_activations(graph: onnx.GraphProto) -> list[onnx.NodeProto]:
    """The graph's nodes with every chain above replaced by its single op (the graph is not modified)."""
    nodes = list(graph.node)
    changed = True
    while changed:
        changed = False
        ix = _Index(nodes, graph)
        for node in nodes:
            if node.op_type not in _PATTERNS or node.domain not in ("", "ai.onnx"):
                continue
            for op_type, match, fixed_attrs in _PATTERNS[node.op_type]:
                found = match(ix, node)
                if found:
                    break
            if not found:
                continue
            chain, x, last = found[0], found[1], found[2]
            attrs = {**fixed_attrs, **(found[3] if len(found) > 3 else {})}
            fused = helper.make_node(op_type, [x], [last.output[0]], name=last.name or last.output[0], **attrs)
            drop = {id(n) for n in chain}
            at = max(i for i, n in enumerate(nodes) if id(n) in drop)
            nodes = [fused if i == at else n for i, n in enumerate(nodes) if id(n) not in drop or i == at]
            changed = True
            break
    return nodes
