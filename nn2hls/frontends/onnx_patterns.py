"""Exporters' decompositions of one activation, fused back into that activation's ONNX op.

Rule: before import, each chain below whose intermediate values feed nothing else (and are no graph
output) is replaced by the single op it computes, with the same input x and output y; the float
result is the same function (the constants must match to float32 precision, 1e-6 relative):
- GELU, erf form (torch's TorchScript export below opset 20): `a = x / sqrt(2)` (or `x * (1/sqrt 2)`),
  `e = Erf(a)`, `b = e + 1`, then `y = (x * b) * 0.5` or `y = (x * 0.5) * b` -> `Gelu(x)` (ONNX Gelu,
  opset 20, approximate="none": y = x / 2 * (1 + erf(x / sqrt 2))).
- Softsign (torch exports it as `x / (1 + Abs(x))`): `a = Abs(x)`, `b = a + 1`, `y = x / b` -> `Softsign(x)`.
- Mish (below opset 18): `y = x * Tanh(Softplus(x))` -> `Mish(x)`.
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
    add = ix.only_reader(erf.output[0], "Add")
    if add is None or not ix.is_const(_other(add, erf.output[0]) or "", 1.0):
        return None
    mul = ix.only_reader(add.output[0], "Mul")
    if mul is None:
        return None
    other = _other(mul, add.output[0])
    if other == x:  # (x * b) * 0.5
        half = ix.only_reader(mul.output[0], "Mul")
        if half is None or not ix.is_const(_other(half, mul.output[0]) or "", 0.5):
            return None
        return [scaled, erf, add, mul, half], x, half
    pre = ix.producer.get(other or "")
    if pre is not None and pre.op_type == "Mul" and ix.private(other) and x in pre.input \
            and ix.is_const(_other(pre, x) or "", 0.5):  # (x * 0.5) * b
        return [scaled, erf, add, pre, mul], x, mul
    return None


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


_PATTERNS = {"Erf": ("Gelu", _gelu), "Abs": ("Softsign", _softsign), "Softplus": ("Mish", _mish),
             "LessOrEqual": ("ThresholdedRelu", _threshold), "Greater": ("ThresholdedRelu", _threshold)}


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
            op_type, match = _PATTERNS[node.op_type]
            found = match(ix, node)
            if not found:
                continue
            chain, x, last = found[0], found[1], found[2]
            attrs = found[3] if len(found) > 3 else {}
            fused = helper.make_node(op_type, [x], [last.output[0]], name=last.name or last.output[0], **attrs)
            drop = {id(n) for n in chain}
            at = max(i for i, n in enumerate(nodes) if id(n) in drop)
            nodes = [fused if i == at else n for i, n in enumerate(nodes) if id(n) not in drop or i == at]
            changed = True
            break
    return nodes
