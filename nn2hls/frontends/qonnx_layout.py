"""QONNX channels-last ops, read as the layout they declare (a rewrite of the ONNX model before import).

qonnx's `ConvertToChannelsLastAndClean` (qonnx.transformation.channels_last) moves `Conv`, `MaxPool`
and `BatchNormalization` into the domain `qonnx.custom_op.channels_last`. Its definition (qonnx's
`ChannelsLastWrappedOp.execute_node`) is the standard ONNX op applied to channels-first copies:

    y = to_last(Op(to_first(x), to_first(W) if Conv, other inputs unchanged))

with, for a tensor of rank n, to_first = Transpose(perm=(0, n-1, 1, ..., n-2)) and
to_last = Transpose(perm=(0, 2, ..., n-1, 1)). So the channels-last Conv weight is stored
(O, kH, kW, I/group); bias, BatchNormalization's scale/B/mean/var and every attribute keep their
standard meaning. This module rewrites each such node into exactly that: a Transpose on the data
input (and on the Conv weight), the standard op in the default domain, a Transpose on the output.
The importer then tracks these transposes as layout renamings (`onnx_layout`): they cost nothing.

The rank n comes from `kernel_shape` (Conv, MaxPool: n = len + 2), else from the graph's declared
shapes (inputs, outputs, value_info) or from the producer when it keeps its input's rank; a
channels-last node of unknown rank is a one-line UnsupportedOpError.
"""
from __future__ import annotations

import onnx
from onnx import helper

from nn2hls.errors import UnsupportedOpError

CHANNELS_LAST_DOMAIN = "qonnx.custom_op.channels_last"
CHANNELS_LAST_OPS: tuple[str, ...] = ("Conv", "MaxPool", "BatchNormalization")
_RANK_KEEPING = {"Relu", "Quant", "IntQuant", "BipolarQuant", "Trunc", "Transpose", "Add", "Mul", "Sub", "Div",
                 "Sigmoid", "Tanh", "LeakyRelu", "Clip", "Identity", "BatchNormalization", "Conv", "MaxPool",
                 "AveragePool", "QuantizeLinear", "DequantizeLinear", "Elu", "HardSigmoid", "Selu"}


def to_first(rank: int) -> list[int]:
    """Transpose perm from channels-last (N, ..., C) to channels-first (N, C, ...)."""
    return [0, rank - 1] + list(range(1, rank - 1))


def to_last(rank: int) -> list[int]:
    """Transpose perm from channels-first (N, C, ...) to channels-last (N, ..., C)."""
    return [0] + list(range(2, rank)) + [1]


def _declared_ranks(graph: onnx.GraphProto) -> dict[str, int]:
    ranks: dict[str, int] = {}
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        tt = value.type.tensor_type
        if value.type.HasField("tensor_type") and tt.HasField("shape"):
            ranks[value.name] = len(tt.shape.dim)
    for tensor in graph.initializer:
        ranks[tensor.name] = len(tensor.dims)
    return ranks


def _rank(node: onnx.NodeProto, ranks: dict[str, int]) -> int | None:
    for attr in node.attribute:
        if attr.name == "kernel_shape":
            return len(attr.ints) + 2
    return ranks.get(node.input[0]) if node.input else None


def has_channels_last(model: onnx.ModelProto) -> bool:
    return any(n.domain == CHANNELS_LAST_DOMAIN for n in model.graph.node)


def rewrite_channels_last(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` whose channels-last nodes are Transpose -> standard op -> Transpose."""
    if not has_channels_last(model):
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    ranks = _declared_ranks(graph)
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.domain != CHANNELS_LAST_DOMAIN:
            if node.input and node.input[0] in ranks and node.op_type in _RANK_KEEPING:
                for name in node.output:
                    ranks.setdefault(name, ranks[node.input[0]])
            nodes.append(node)
            continue
        label = node.name or (node.output[0] if node.output else node.op_type)
        if node.op_type not in CHANNELS_LAST_OPS:
            raise UnsupportedOpError(f"unsupported QONNX channels-last op '{node.op_type}' at node '{label}'; "
                                     f"supported: {', '.join(CHANNELS_LAST_OPS)}")
        if len(node.output) != 1 or not node.input:
            raise UnsupportedOpError(f"QONNX channels-last {node.op_type} node '{label}' must have one data input "
                                     f"and exactly one output")
        rank = _rank(node, ranks)
        if rank is None or rank < 3:
            raise UnsupportedOpError(f"QONNX channels-last {node.op_type} node '{label}': the rank of its input "
                                     f"'{node.input[0]}' is unknown; run qonnx's InferShapes before saving the model")
        first = to_first(rank)
        inputs = list(node.input)
        transposed = [0, 1] if node.op_type == "Conv" else [0]
        for i in transposed:
            if i < len(inputs) and inputs[i]:
                name = f"{inputs[i]}__{label}_channels_first"
                nodes.append(helper.make_node("Transpose", [inputs[i]], [name], name=f"{label}_in{i}_to_first",
                                              perm=first))
                inputs[i] = name
        inner = f"{node.output[0]}__channels_first"
        standard = helper.make_node(node.op_type, inputs, [inner], name=label)
        standard.attribute.extend(node.attribute)
        nodes.append(standard)
        nodes.append(helper.make_node("Transpose", [inner], [node.output[0]], name=f"{label}_to_last",
                                      perm=to_last(rank)))
        ranks[node.output[0]] = rank
    del graph.node[:]
    graph.node.extend(nodes)
    return out
