"""Constant folding of ONNX nodes whose inputs are all known, in numpy.

Rule: a node whose inputs are all constants is evaluated at import time and its outputs become
constants, so the shape-computing subgraphs exporters emit (Shape -> Gather -> Unsqueeze -> Concat ->
Reshape, Cast, Slice, ConstantOfShape, ...) disappear. `Shape` of a run-time tensor is known
statically except for the batch: a symbolic batch becomes the sentinel `BATCH`, which Gather, Concat,
Unsqueeze, Slice and Cast carry through untouched and Reshape recognises. Ops without a numpy rule
here are evaluated by onnx's own numpy reference evaluator (`onnx.reference`).

Size bound: a folded constant has at most MAX_FOLD_ELEMENTS elements. ConstantOfShape, Expand and
Tile are checked before anything is allocated (a shape built from the symbolic batch or a sequence
length, e.g. an LSTM's initial state, would otherwise ask for tens of GiB); every other result after.
Beyond it: UnsupportedOpError naming the node and the shape.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import onnx
from onnx import helper, numpy_helper

from nn2hls.errors import UnsupportedOpError

BATCH = 1_000_000_007  # a symbolic batch size inside folded shape constants
MAX_FOLD_ELEMENTS = 1 << 24  # 16M elements (128 MiB of float64): far above any real weight tensor

FoldFn = Callable[[list, dict, int], list]


def attributes(node: onnx.NodeProto) -> dict:
    """The node's attributes as Python values (tensors as numpy arrays)."""
    out = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if isinstance(value, onnx.TensorProto):
            value = numpy_helper.to_array(value)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        out[attr.name] = value
    return out


def constant_value(attrs: dict) -> np.ndarray:
    """The value of a Constant node."""
    if "value" in attrs:
        return np.asarray(attrs["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in attrs:
            return np.asarray(attrs[key], dtype=dtype)
    raise KeyError(", ".join(sorted(attrs)) or "no value")


def _axes(inputs: list, attrs: dict, opset: int, index: int, since: int):
    if opset >= since:
        value = inputs[index] if len(inputs) > index else None
        return None if value is None else [int(a) for a in np.asarray(value).ravel()]
    return attrs.get("axes")


def _unsqueeze(inputs, attrs, opset):
    x = np.asarray(inputs[0])
    axes = _axes(inputs, attrs, opset, 1, 13)
    rank = x.ndim + len(axes)
    shape = list(x.shape)
    for a in sorted(a % rank for a in axes):
        shape.insert(a, 1)
    return [x.reshape(shape)]


def _squeeze(inputs, attrs, opset):
    x = np.asarray(inputs[0])
    axes = _axes(inputs, attrs, opset, 1, 13)
    if axes is None:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(a % x.ndim for a in axes))]


def _reshape(inputs, attrs, opset):
    x = np.asarray(inputs[0])
    shape = [int(s) for s in np.asarray(inputs[1]).ravel()] if opset >= 5 else list(attrs["shape"])
    if not attrs.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(shape)]


def _slice(inputs, attrs, opset):
    x = np.asarray(inputs[0])
    if opset >= 10:
        starts, ends = [np.asarray(inputs[i]).ravel().tolist() for i in (1, 2)]
        axes = np.asarray(inputs[3]).ravel().tolist() if len(inputs) > 3 and inputs[3] is not None \
            else list(range(len(starts)))
        steps = np.asarray(inputs[4]).ravel().tolist() if len(inputs) > 4 and inputs[4] is not None \
            else [1] * len(starts)
    else:
        starts, ends = attrs["starts"], attrs["ends"]
        axes = attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a) % x.ndim] = slice(int(s), int(e), int(st))
    return [x[tuple(index)]]


def _cast(inputs, attrs, opset):
    dtype = helper.tensor_dtype_to_np_dtype(attrs["to"])
    return [np.asarray(inputs[0]).astype(dtype)]


def _div(inputs, attrs, opset):
    a, b = (np.asarray(v) for v in inputs)
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return [(np.trunc(a / b)).astype(np.result_type(a, b))]
    return [a / b]


def _gather(inputs, attrs, opset):
    return [np.take(np.asarray(inputs[0]), np.asarray(inputs[1]), axis=attrs.get("axis", 0))]


def _concat(inputs, attrs, opset):
    return [np.concatenate([np.asarray(v) for v in inputs], axis=attrs["axis"])]


def _transpose(inputs, attrs, opset):
    return [np.transpose(np.asarray(inputs[0]), attrs.get("perm"))]


def _constant_of_shape(inputs, attrs, opset):
    value = np.asarray(attrs.get("value", np.zeros(1, dtype=np.float32))).ravel()
    return [np.full([int(s) for s in np.asarray(inputs[0]).ravel()], value[0], dtype=value.dtype)]


def _binary(fn):
    return lambda inputs, attrs, opset: [fn(np.asarray(inputs[0]), np.asarray(inputs[1]))]


def _unary(fn):
    return lambda inputs, attrs, opset: [fn(np.asarray(inputs[0]))]


NUMPY_RULES: dict[str, FoldFn] = {
    "Identity": lambda inputs, attrs, opset: [np.asarray(inputs[0])],
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Reshape": _reshape,
    "Slice": _slice,
    "Cast": _cast,
    "Gather": _gather,
    "Concat": _concat,
    "Transpose": _transpose,
    "ConstantOfShape": _constant_of_shape,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _div,
    "Equal": _binary(np.equal),
    "Neg": _unary(np.negative),
    "Sqrt": _unary(np.sqrt),
    "Reciprocal": _unary(np.reciprocal),
    "Floor": _unary(np.floor),
    "Ceil": _unary(np.ceil),
    "Where": lambda inputs, attrs, opset: [np.where(*[np.asarray(v) for v in inputs])],
    "Expand": lambda inputs, attrs, opset: [
        np.asarray(inputs[0]) * np.ones([int(s) for s in np.asarray(inputs[1]).ravel()],
                                        dtype=np.asarray(inputs[0]).dtype)],
}


def _reference(node: onnx.NodeProto, inputs: list, opset: int) -> list:
    from onnx.reference import ReferenceEvaluator

    names = [f"in{i}" if v is not None else "" for i, v in enumerate(inputs)]
    clone = helper.make_node(node.op_type, names, [f"out{i}" for i in range(len(node.output))],
                             domain=node.domain or "")
    clone.attribute.extend(node.attribute)
    feeds = {n: np.asarray(v) for n, v in zip(names, inputs) if n}
    graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(feeds[n].dtype), None)
                    for n in feeds]
    graph_outputs = [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in clone.output]
    model = helper.make_model(helper.make_graph([clone], "fold", graph_inputs, graph_outputs),
                              opset_imports=[helper.make_opsetid("", opset)])
    return list(ReferenceEvaluator(model).run(None, feeds))


def _check_size(node: onnx.NodeProto, shape) -> None:
    dims = [int(d) for d in shape]
    count = 1
    for d in dims:
        count *= max(d, 0)
    if count > MAX_FOLD_ELEMENTS:
        shown = ", ".join("batch" if d == BATCH else str(d) for d in dims)
        raise UnsupportedOpError(
            f"node '{node.name or node.op_type}' ({node.op_type}): folding it would create a constant of "
            f"{count:,} elements (shape ({shown})), more than {MAX_FOLD_ELEMENTS:,}; constants sized by the "
            f"batch or a sequence length (recurrent layers) are not supported")


def _planned_shape(node: onnx.NodeProto, inputs: list) -> list[int] | None:
    """Output shape of ConstantOfShape, Expand and Tile from their inputs, before evaluating them."""
    try:
        if node.op_type == "ConstantOfShape":
            return [int(s) for s in np.asarray(inputs[0]).ravel()]
        if node.op_type == "Expand":
            target = [int(s) for s in np.asarray(inputs[1]).ravel()]
            return list(np.broadcast_shapes(np.shape(inputs[0]), tuple(target)))
        if node.op_type == "Tile":
            return [a * int(r) for a, r in zip(np.shape(inputs[0]), np.asarray(inputs[1]).ravel())]
    except (ValueError, TypeError, IndexError):
        return None  # the evaluation itself reports the problem
    return None


def fold(node: onnx.NodeProto, inputs: list, opset: int) -> list[np.ndarray]:
    """Evaluate `node` on constant inputs (None for an omitted optional input); results are bounded by
    MAX_FOLD_ELEMENTS (UnsupportedOpError)."""
    planned = _planned_shape(node, inputs)
    if planned is not None:
        _check_size(node, planned)
    rule = NUMPY_RULES.get(node.op_type)
    if rule is not None:
        results = rule(inputs, attributes(node), opset)
    else:
        results = _reference(node, inputs, opset)
    results = [np.asarray(r) for r in results]
    for r in results:
        _check_size(node, r.shape)
    return results
