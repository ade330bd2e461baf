"""onnxruntime's QOperator format, read as the QDQ graph it defines (a rewrite before import).

`onnxruntime.quantization.quantize_static(..., quant_format=QuantFormat.QOperator)` writes integer
operators whose inputs and output are quantized tensors, each with its scale s and zero point z:

    QLinearConv(x, sx, zx, w, sw, zw, sy, zy, B)        (ONNX; B int32 with scale sx*sw, zero point 0)
    QLinearMatMul(a, sa, za, b, sb, zb, sy, zy)         (ONNX)
    QGemm(a, sa, za, b, sb, zb, C, sy, zy)              (com.microsoft; C int32 with scale sa*sb;
                                                         without sy the output is float)
    QLinearAdd(a, sa, za, b, sb, zb, sy, zy)            (com.microsoft)
    QLinearGlobalAveragePool(x, sx, zx, sy, zy)         (com.microsoft, channels_last = 0)

Each is by definition (onnxruntime's contrib-op docs, ONNX QLinearConv/QLinearMatMul spec)
`y = QuantizeLinear(Op(DequantizeLinear(inputs)), sy, zy)`: the integer accumulator
`sum (x - zx)(w - zw) + B` times sx*sw/sy, rounded half to even, plus zy, saturated. This module
rewrites each node into exactly that: DequantizeLinear on each quantized input (weights per output
channel: axis 0 of a Conv weight, the column axis of a MatMul/Gemm weight), the float op, and
QuantizeLinear of the result. The int32 bias becomes the float64 constant B*sx*sw (sx*sw is exact in
float64; the product with B is rounded once, 2^-53 relative, inside the requantization bound). The
average pool becomes a depthwise Conv whose weights are DequantizeLinear(1, 1/N) (N = window size,
1/N in float64), so the sum is an exact integer sum and 1/N joins the one requantizing multiply.
The ONNX frontend then lowers the QDQ graph with its usual exact integer rules (`onnx_qdq`,
the carry_scales pass: integer layers, one multiply K = sx*sw/sy per output; docs/semantics.md, "QOperator").
QuantizeLinear/DequantizeLinear in the com.microsoft domain are the standard ops. Other
com.microsoft ops are a one-line UnsupportedOpError, among them QLinearSigmoid and QLinearLeakyRelu:
onnxruntime computes those through float32 lookup tables that fixed-point activations do not
reproduce bit for bit (QDQ format: they are then nn2hls' own fixed-point activations). QGemm with
alpha != 1 is refused too.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from nn2hls.errors import UnsupportedOpError

MICROSOFT = "com.microsoft"
QOPERATOR_OPS: tuple[str, ...] = ("QLinearConv", "QLinearMatMul", "QGemm", "QLinearAdd", "QLinearGlobalAveragePool")
_PASS_THROUGH = ("QuantizeLinear", "DequantizeLinear")


def _label(node: onnx.NodeProto) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def has_qoperators(model: onnx.ModelProto) -> bool:
    return any(n.op_type in QOPERATOR_OPS or n.domain == MICROSOFT for n in model.graph.node)


class _Rewriter:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.graph = model.graph
        self.constants = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        for node in self.graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.attribute:
                value = helper.get_attribute_value(node.attribute[0])
                if isinstance(value, onnx.TensorProto):
                    self.constants[node.output[0]] = numpy_helper.to_array(value)
        self.nodes: list[onnx.NodeProto] = []
        self.new_inits: list[onnx.TensorProto] = []
        self.pools: list[int] = []  # indices in self.nodes of GlobalAveragePool nodes to lower

    def constant(self, node: onnx.NodeProto, index: int, what: str) -> np.ndarray:
        name = node.input[index] if index < len(node.input) else ""
        if name not in self.constants:
            raise UnsupportedOpError(f"onnxruntime {node.op_type} node '{_label(node)}': its {what} (input {index}) "
                                     f"must be a constant (an initializer)")
        return self.constants[name]

    def dequantize(self, node: onnx.NodeProto, first: int, tag: str, axis: int | None = None) -> str:
        """DequantizeLinear(input[first], input[first+1], input[first+2]) -> the float tensor's name."""
        out = f"{node.output[0]}__dequant_{tag}"
        inputs = [node.input[first], node.input[first + 1]]
        if first + 2 < len(node.input) and node.input[first + 2]:
            inputs.append(node.input[first + 2])
        attrs = {} if axis is None else {"axis": axis}
        self.nodes.append(helper.make_node("DequantizeLinear", inputs, [out], name=f"{_label(node)}_dequant_{tag}",
                                           **attrs))
        return out

    def quantize(self, node: onnx.NodeProto, value: str, scale_index: int) -> None:
        inputs = [value, node.input[scale_index]]
        if scale_index + 1 < len(node.input) and node.input[scale_index + 1]:
            inputs.append(node.input[scale_index + 1])
        self.nodes.append(helper.make_node("QuantizeLinear", inputs, [node.output[0]],
                                           name=f"{_label(node)}_quantize"))

    def float_op(self, node: onnx.NodeProto, op_type: str, inputs: list[str], **attrs) -> str:
        out = f"{node.output[0]}__float"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=_label(node), **attrs))
        return out

    def float_bias(self, node: onnx.NodeProto, index: int, scale_indices: tuple[int, int], channels: int) -> str:
        """The int32 bias input as float64 values B * s_x * s_w (per output channel)."""
        bias = np.asarray(self.constant(node, index, "bias"), dtype=np.float64).reshape(-1)
        s_x = np.asarray(self.constant(node, scale_indices[0], "input scale"), dtype=np.float64).reshape(-1)
        s_w = np.asarray(self.constant(node, scale_indices[1], "weight scale"), dtype=np.float64).reshape(-1)
        if s_x.size != 1 or bias.size != channels or s_w.size not in (1, channels):
            raise UnsupportedOpError(f"onnxruntime {node.op_type} node '{_label(node)}': bias of {bias.size} "
                                     f"values, input scale of {s_x.size} and weight scale of {s_w.size} do not "
                                     f"match its {channels} output channels")
        name = f"{node.output[0]}__float_bias"
        self.new_inits.append(numpy_helper.from_array(bias * (s_x[0] * s_w), name))
        return name

    # ---- one method per QOperator op ---------------------------------------------------------------
    def qlinearconv(self, node: onnx.NodeProto) -> None:
        x = self.dequantize(node, 0, "x")
        w_shape = self.constant(node, 3, "weight").shape
        w = self.dequantize(node, 3, "w", axis=0)
        inputs = [x, w]
        if len(node.input) > 8 and node.input[8]:
            inputs.append(self.float_bias(node, 8, (1, 4), int(w_shape[0])))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        self.quantize(node, self.float_op(node, "Conv", inputs, **attrs), 6)

    def _weight_axis(self, node: onnx.NodeProto, index: int, scale_index: int, transposed: bool) -> int | None:
        shape = np.shape(self.constant(node, index, "weight")) if node.input[index] in self.constants else None
        scale = np.asarray(self.constants.get(node.input[scale_index], np.ones(1))).reshape(-1)
        if shape is None or scale.size == 1:
            return None
        return 0 if transposed else len(shape) - 1

    def qlinearmatmul(self, node: onnx.NodeProto) -> None:
        a = self.dequantize(node, 0, "a")
        b = self.dequantize(node, 3, "b", axis=self._weight_axis(node, 3, 4, False))
        self.quantize(node, self.float_op(node, "MatMul", [a, b]), 6)

    def qgemm(self, node: onnx.NodeProto) -> None:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if float(attrs.get("alpha", 1.0)) != 1.0:
            raise UnsupportedOpError(f"onnxruntime QGemm node '{_label(node)}': alpha={attrs['alpha']} is not "
                                     f"supported; supported: alpha = 1 (fold alpha into the weights before "
                                     f"quantizing)")
        trans_b = bool(attrs.get("transB", 0))
        a = self.dequantize(node, 0, "a")
        b = self.dequantize(node, 3, "b", axis=self._weight_axis(node, 3, 4, trans_b))
        inputs = [a, b]
        if len(node.input) > 6 and node.input[6]:
            b_shape = self.constant(node, 3, "weight").shape
            inputs.append(self.float_bias(node, 6, (1, 4), int(b_shape[0] if trans_b else b_shape[1])))
        gemm_attrs = {k: int(v) for k, v in attrs.items() if k in ("transA", "transB")}
        if len(node.input) > 7 and node.input[7]:
            self.quantize(node, self.float_op(node, "Gemm", inputs, **gemm_attrs), 7)
        else:  # no output scale: the float result itself
            self.nodes.append(helper.make_node("Gemm", inputs, [node.output[0]], name=_label(node), **gemm_attrs))

    def qlinearadd(self, node: onnx.NodeProto) -> None:
        a = self.dequantize(node, 0, "a")
        b = self.dequantize(node, 3, "b")
        self.quantize(node, self.float_op(node, "Add", [a, b]), 6)

    def qlinearglobalaveragepool(self, node: onnx.NodeProto) -> None:
        if any(a.name == "channels_last" and helper.get_attribute_value(a) for a in node.attribute):
            raise UnsupportedOpError(f"onnxruntime QLinearGlobalAveragePool node '{_label(node)}': channels_last=1 "
                                     f"is not supported; quantize the channels-first (NCHW) model")
        x = self.dequantize(node, 0, "x")
        pool = self.float_op(node, "GlobalAveragePool", [x])
        self.pools.append(len(self.nodes) - 1)
        self.quantize(node, pool, 3)

    def sum_pools(self, model: onnx.ModelProto) -> None:
        """GlobalAveragePool(v) -> depthwise Conv of v with integer weights 1 and scale 1/N (module docstring)."""
        shapes = {}
        inferred = onnx.shape_inference.infer_shapes(model)
        for value in list(inferred.graph.value_info) + list(inferred.graph.input):
            dims = value.type.tensor_type.shape.dim
            shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        for index in reversed(self.pools):  # replacing one node by two moves the later ones
            pool = self.nodes[index]
            shape = shapes.get(pool.input[0])
            if shape is None or len(shape) < 3 or any(d is None for d in shape[1:]):
                raise UnsupportedOpError(f"onnxruntime QLinearGlobalAveragePool node '{pool.name}': the shape of its "
                                         f"input is unknown; declare the model input's shape")
            channels, window = int(shape[1]), [int(d) for d in shape[2:]]
            ones = f"{pool.output[0]}__ones"
            scale = f"{pool.output[0]}__inverse_count"
            weights = f"{pool.output[0]}__kernel"
            self.new_inits.append(numpy_helper.from_array(np.ones([channels, 1] + window, np.int8), ones))
            self.new_inits.append(numpy_helper.from_array(np.array(1.0 / np.prod(window), np.float64), scale))
            dq = helper.make_node("DequantizeLinear", [ones, scale], [weights], name=f"{pool.name}_kernel")
            conv = helper.make_node("Conv", [pool.input[0], weights], list(pool.output), name=pool.name,
                                    kernel_shape=window, group=channels)
            self.nodes[index:index + 1] = [dq, conv]

    def run(self) -> None:
        for node in self.graph.node:
            if node.op_type in QOPERATOR_OPS and node.domain in ("", "ai.onnx", MICROSOFT):
                getattr(self, node.op_type.lower())(node)
            elif node.domain == MICROSOFT and node.op_type in _PASS_THROUGH:
                standard = onnx.NodeProto()
                standard.CopyFrom(node)
                standard.domain = ""
                self.nodes.append(standard)
            elif node.domain == MICROSOFT:
                hint = ("or quantize with quant_format=QuantFormat.QDQ" if node.op_type.startswith("Q") else
                        "or save the model without onnxruntime's graph optimizations")
                raise UnsupportedOpError(f"unsupported onnxruntime op '{MICROSOFT}.{node.op_type}' at node "
                                         f"'{_label(node)}'; supported QOperator ops: {', '.join(QOPERATOR_OPS)} "
                                         f"({hint})")
            else:
                self.nodes.append(node)


def rewrite_qoperators(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` in which every QOperator node is DequantizeLinear -> float op -> QuantizeLinear."""
    if not has_qoperators(model):
        return model
    out = onnx.ModelProto()
    out.CopyFrom(model)
    rewriter = _Rewriter(out)
    rewriter.run()

    def write() -> None:
        del out.graph.node[:]
        out.graph.node.extend(rewriter.nodes)
        del out.graph.initializer[:]
        out.graph.initializer.extend(list(model.graph.initializer) + rewriter.new_inits)

    write()
    if rewriter.pools:  # shapes are known only once every op is a standard one
        rewriter.sum_pools(out)
        write()
    return out
