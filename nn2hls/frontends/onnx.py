"""ONNX frontend: read an ONNX model exactly as exported and build the IR Graph (float weights).

Rules:
- one or more graph inputs (initializers listed as inputs are weights, not inputs), each a float
  tensor with batch axis 0 symbolic or fixed (a fixed batch is no limit: ops that name it stay
  per-sample, `onnx_batch`) and every other dimension fixed; the Input nodes are added in the file's
  input order (the model's input order); a model without any weights (pooling or activation stacks)
  is imported like any other; opsets 9 up to the newest the installed onnx knows, older opsets (1 to
  8) upgraded first with onnx's version converter (`onnx_upgrade`, one note);
- nodes are visited in the file's (topological) order; a node whose inputs are all constants is
  folded in numpy (`onnx_fold`), so exporters' shape subgraphs vanish; other nodes go through the
  per-op converters of `onnx_ops`, `onnx_ops_spatial`, `onnx_ops_wiring` and `onnx_ops_structure` (QONNX quantizers:
  `onnx_quant`; QuantizeLinear/DequantizeLinear: `onnx_qdq`), which track each value's layout (`onnx_layout`) so the IR is
  channels-last while the Input node and the graph outputs keep the source model's own layout;
- IR node names are made safe by `Graph.add`; the ONNX node name (or its first output's name) is
  kept as `Node.source_name` for messages;
- every failure is a `ModelLoadError` (file) or `UnsupportedOpError` (content), one line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from nn2hls.errors import ModelLoadError, Nn2hlsError, UnsupportedOpError
from nn2hls.frontends.onnx_fold import BATCH, attributes, constant_value, fold
from nn2hls.frontends.onnx_layout import Layouts, Tensor, plain_tensor
from nn2hls.frontends import onnx_ops_spatial, onnx_ops_wiring  # noqa: F401  (register their converters)
from nn2hls.frontends import onnx_ops_reduce  # noqa: F401  (registers its converters)
from nn2hls.frontends import onnx_ops_structure  # noqa: F401  (Pad, Slice, Resize, DepthToSpace, ...)
from nn2hls.frontends import onnx_ops_lookup  # noqa: F401  (Gather from a constant table: Embedding)
from nn2hls.frontends import onnx_qdq, onnx_quant
from nn2hls.frontends.onnx_batch import Displaced, displaced_node
from nn2hls.frontends.onnx_upgrade import MAX_OPSET, MIN_OPSET, default_opset, upgrade
from nn2hls.frontends.onnx_qoperator import rewrite_qoperators
from nn2hls.frontends.qonnx_layout import rewrite_channels_last
from nn2hls.frontends.onnx_ops import CONVERTERS
from nn2hls.frontends.onnx_patterns import fuse_activations
from nn2hls.ir.graph import Graph
from nn2hls.ir.lookup import check_integer_inputs
from nn2hls.ir.ops import Input
from nn2hls.ir.verify import verify

SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(set(CONVERTERS) | {"Constant", "Shape"}))
# Ops that stand for a whole layer of the source framework (recurrent cells, normalizations, attention):
# named first when refused, before any op an exporter derived from them.
SOURCE_LEVEL_OPS = frozenset({"LSTM", "GRU", "RNN", "LayerNormalization", "GroupNormalization",
                              "InstanceNormalization", "Attention", "MultiHeadAttention", "Scan", "Loop", "If"})
"""Ops accepted on run-time tensors (plus any op whose inputs are all constants, which is folded)."""

_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
                onnx.TensorProto.BFLOAT16}
_INTEGER_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT16, onnx.TensorProto.INT8,
                  onnx.TensorProto.UINT64, onnx.TensorProto.UINT32, onnx.TensorProto.UINT16, onnx.TensorProto.UINT8}


def _read(source: str | Path | onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    if isinstance(source, onnx.ModelProto):
        return source, source.graph.name or "model"
    path = Path(source)
    if not path.exists():
        raise ModelLoadError(f"ONNX model file '{path}' does not exist")
    if not path.is_file():
        raise ModelLoadError(f"ONNX model path '{path}' is not a file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelLoadError(f"cannot read ONNX model '{path}': the file is corrupt or truncated "
                             f"({reason}); re-export it") from None
    _load_external_data(model, path)
    if not model.graph.node and not model.graph.input:
        raise ModelLoadError(f"cannot read ONNX model '{path}': the file holds no graph (corrupt, truncated "
                             f"or not an ONNX file); re-export it")
    return model, str(path)


def _load_external_data(model: onnx.ModelProto, path: Path) -> None:
    """Weights saved beside the model (ONNX external data, e.g. `model.onnx.data`, which torch's dynamo
    exporter writes for large models) are read from the files the model names, relative to its folder;
    a missing one is named, with the fix (keep it beside the .onnx), instead of a 'corrupt' verdict."""
    locations = sorted({entry.value for tensor in model.graph.initializer
                        if tensor.data_location == onnx.TensorProto.EXTERNAL
                        for entry in tensor.external_data if entry.key == "location"})
    if not locations:
        return
    missing = [name for name in locations if not (path.parent / name).is_file()]
    if missing:
        raise ModelLoadError(f"ONNX model '{path}' keeps its weights in {', '.join(repr(m) for m in missing)}, "
                             f"which is not in {str(path.parent)!r}: keep that file beside the .onnx "
                             f"(copy or move the two together)")
    try:
        onnx.load_external_data_for_model(model, str(path.parent))
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelLoadError(f"cannot read the external weights of ONNX model '{path}' ({reason}); "
                             f"re-export it") from None


def _check_newer_qdq(ctx: "_Importer", node: onnx.NodeProto, attrs: dict) -> None:
    """Opset 23 added QuantizeLinear `precision` and DequantizeLinear `output_dtype`; only the float32
    computation of the older definitions is implemented."""
    if int(attrs.get("precision", 0)) not in (0, onnx.TensorProto.FLOAT):
        raise UnsupportedOpError(f"ONNX QuantizeLinear node {ctx.label(node)}: attribute precision="
                                 f"{attrs['precision']} is not supported; supported: 0 or FLOAT (1)")
    if node.op_type == "DequantizeLinear" and int(attrs.get("output_dtype", 0)) not in (0, onnx.TensorProto.FLOAT):
        raise UnsupportedOpError(f"ONNX DequantizeLinear node {ctx.label(node)}: attribute output_dtype="
                                 f"{attrs['output_dtype']} is not supported; supported: 0 or FLOAT (1)")


class _Importer:
    """State of one import: values by ONNX name, the Graph being built, the layouts."""

    def __init__(self, model: onnx.ModelProto, where: str) -> None:
        self.model = model
        self.where = where
        stem = Path(where).stem if where.endswith(".onnx") else (model.graph.name or "model")
        self.graph = Graph(stem)
        self.layouts = Layouts(self.graph)
        self.values: dict[str, object] = {}
        self.opset = self._opset()
        self.batch = BATCH
        self.quantized_constants: list = []  # (sorted values, scales) of constant quantizers (onnx_quant)
        self.nodes = fuse_activations(model.graph)
        self._consumers: dict[str, int] = {}
        for node in self.nodes:
            for name in node.input:
                self._consumers[name] = self._consumers.get(name, 0) + 1
        for out in model.graph.output:
            self._consumers[out.name] = self._consumers.get(out.name, 0) + 1

    # ---- context API used by the converters ---------------------------------------------------
    def consumers(self, value: str) -> int:
        return self._consumers.get(value, 0)

    @staticmethod
    def name(node: onnx.NodeProto) -> str:
        return node.name or (node.output[0] if node.output else node.op_type)

    def label(self, node: onnx.NodeProto) -> str:
        return f"'{self.name(node)}'"

    def add(self, op, inputs, node: onnx.NodeProto, weights=None) -> str:
        name = self.name(node)
        return self.graph.add(op, list(inputs), name=name, weights=weights, source_name=name).name

    # ---- steps --------------------------------------------------------------------------------
    def _opset(self) -> int:
        opset = default_opset(self.model)
        if not MIN_OPSET <= opset <= MAX_OPSET:
            raise UnsupportedOpError(f"ONNX model '{self.where}' uses opset {opset}; supported: opsets "
                                     f"{MIN_OPSET} to {MAX_OPSET} (re-export with opset_version in that range)")
        return opset

    def _inputs(self) -> None:
        graph = self.model.graph
        weights = {t.name for t in graph.initializer}
        inputs = [i for i in graph.input if i.name not in weights]
        if not inputs:
            raise ModelLoadError(f"ONNX model '{self.where}' has no graph inputs; re-export it with its input")
        for value in inputs:
            self._input(value)
        if len(inputs) == 1:
            self.graph.meta["input_name"] = inputs[0].name

    def _no_params_hint(self) -> str:
        """A hint when weights may have become graph inputs (exported without its parameters)."""
        graph = self.model.graph
        if graph.initializer or any(n.op_type == "Constant" for n in graph.node) or len(self.graph.inputs) < 2:
            return ""
        return (f" (the model has no weights and {len(self.graph.inputs)} inputs: if weights were exported as "
                "inputs, re-export with its parameters, torch.onnx.export(..., export_params=True))")

    def _input(self, value: onnx.ValueInfoProto) -> None:
        ttype = value.type.tensor_type
        if not value.type.HasField("tensor_type") or ttype.elem_type not in _FLOAT_TYPES | _INTEGER_TYPES:
            raise UnsupportedOpError(f"ONNX model '{self.where}': input '{value.name}' must be a float tensor "
                                     "(or an integer tensor of Embedding indices)")
        if not ttype.HasField("shape") or len(ttype.shape.dim) < 2:
            raise UnsupportedOpError(f"ONNX model '{self.where}': input '{value.name}' must have a batch axis "
                                     f"and at least one feature axis with a known shape")
        dims = list(ttype.shape.dim)
        if dims[0].HasField("dim_value") and dims[0].dim_value > 0:
            self.batch = int(dims[0].dim_value)
        shape = []
        for axis, dim in enumerate(dims[1:], start=1):
            if not dim.HasField("dim_value") or dim.dim_value <= 0:
                label = dim.dim_param or "?"
                raise UnsupportedOpError(f"ONNX model '{self.where}': input '{value.name}' has a dynamic "
                                         f"dimension '{label}' at axis {axis}; only the batch axis 0 may be "
                                         f"dynamic (re-export with a fixed input shape)")
            shape.append(int(dim.dim_value))
        integer = ttype.elem_type in _INTEGER_TYPES
        node = self.graph.add(Input(shape=tuple(shape), integer=integer), name=value.name, source_name=value.name)
        self.values[value.name] = plain_tensor(node.name, tuple(shape))

    def _initializers(self) -> None:
        for tensor in self.model.graph.initializer:
            try:
                self.values[tensor.name] = numpy_helper.to_array(tensor)
            except Exception as exc:
                raise ModelLoadError(f"ONNX model '{self.where}': cannot read weight '{tensor.name}' "
                                     f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                                     f"keep external data files next to the model") from None

    def _inputs_of(self, node: onnx.NodeProto) -> list:
        out = []
        for name in node.input:
            if not name:
                out.append(None)
            elif name in self.values:
                out.append(self.values[name])
            else:
                raise ModelLoadError(f"ONNX model '{self.where}': node {self.label(node)} reads undefined "
                                     f"value '{name}' (corrupt or unsorted graph)")
        return out

    def _shape(self, node: onnx.NodeProto, inputs: list) -> list:
        value = inputs[0]
        full = np.array(((self.batch,) + value.shape) if isinstance(value, Tensor) else np.shape(value),
                        dtype=np.int64)
        attrs = attributes(node)
        start, end = attrs.get("start", 0), attrs.get("end", None)
        return [full[start:end]]

    def _node(self, node: onnx.NodeProto) -> None:
        op = node.op_type
        if node.domain not in ("", "ai.onnx") + onnx_quant.QONNX_DOMAINS:
            raise UnsupportedOpError(f"unsupported ONNX op '{node.domain}.{op}' at node '{self.name(node)}'; "
                                     f"supported: {', '.join(SUPPORTED_OPS)}")
        inputs = self._inputs_of(node)
        if any(isinstance(v, Displaced) for v in inputs):  # a batch of 1 moved off axis 0 (onnx_batch)
            results = displaced_node(self, node, attributes(node), inputs)
        elif node.domain in onnx_quant.QONNX_DOMAINS:
            results = onnx_quant.convert(self, node, attributes(node), inputs)
        elif op in onnx_qdq.QDQ_OPS:  # before constant folding: weights dequantize exactly in float64
            attrs = attributes(node)
            _check_newer_qdq(self, node, attrs)
            results = onnx_qdq.convert(self, node, attrs, inputs)
        elif op == "Constant":
            try:
                results = [constant_value(attributes(node))]
            except KeyError as exc:
                raise UnsupportedOpError(f"ONNX Constant node {self.label(node)}: unsupported value attribute "
                                         f"({exc.args[0]}); supported: value, value_float(s), value_int(s)") from None
        elif op == "Shape":
            results = self._shape(node, inputs)
        elif all(not isinstance(v, Tensor) for v in inputs) and any(v is not None for v in inputs):
            try:
                results = fold(node, inputs, self.opset)
            except Nn2hlsError:
                raise
            except Exception as exc:
                raise UnsupportedOpError(f"ONNX {op} node {self.label(node)}: cannot evaluate it on its constant "
                                         f"inputs ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
        elif op in CONVERTERS:
            results = CONVERTERS[op](self, node, attributes(node), inputs)
        else:
            raise UnsupportedOpError(f"unsupported ONNX op '{op}' at node '{self.name(node)}'; supported: "
                                     f"{', '.join(SUPPORTED_OPS)}")
        for name, value in zip(node.output, results):
            if name:
                self.values[name] = value

    def _outputs(self) -> None:
        outputs = []
        for out in self.model.graph.output:
            value = self.values.get(out.name)
            if value is None:
                raise ModelLoadError(f"ONNX model '{self.where}': output '{out.name}' is never computed")
            if isinstance(value, Displaced):
                raise UnsupportedOpError(f"ONNX model '{self.where}': output '{out.name}' has its batch axis "
                                         f"moved by Transpose '{value.by}'; nn2hls outputs keep the batch on "
                                         f"axis 0")
            if not isinstance(value, Tensor):
                raise UnsupportedOpError(f"ONNX model '{self.where}': output '{out.name}' is a constant that "
                                         f"does not depend on the input")
            if value.rank == 0:
                raise UnsupportedOpError(f"ONNX model '{self.where}': output '{out.name}' is a scalar per sample")
            outputs.append(self.layouts.source(value, hint=out.name).node)
        self.graph.outputs = outputs
        self.graph.meta["output_names"] = [o.name for o in self.model.graph.output]

    def _prune(self) -> None:
        """Drop nodes no output depends on (e.g. tensors only read by folded Shape nodes)."""
        import networkx as nx
        g = self.graph.to_networkx()
        keep = set(self.graph.outputs) | {node.name for node in self.graph.inputs}
        for out in self.graph.outputs:
            keep |= nx.ancestors(g, out)
        for node in reversed(self.graph.topological()):
            if node.name not in keep:
                del self.graph.nodes[node.name]

    def _unsupported_nodes(self) -> list[onnx.NodeProto]:
        """Nodes no converter handles, found before any is converted (so one error lists them all).

        A node is handled when its domain and op have a converter, or when it only reads constants
        (initializers, Constant/Shape results, other constant-only nodes: it is folded at import)."""
        constant = {t.name for t in self.model.graph.initializer} | {""}
        missing = []
        for node in self.nodes:
            op, domain = node.op_type, node.domain
            folded = op in ("Constant", "Shape") or (all(i in constant for i in node.input) and node.input)
            known = (domain in onnx_quant.QONNX_DOMAINS
                     or (domain in ("", "ai.onnx") and (op in CONVERTERS or op in onnx_qdq.QDQ_OPS)))
            if folded and domain in ("", "ai.onnx"):
                constant.update(node.output)
            elif not known:
                missing.append(node)
        return missing

    def _refuse_unsupported(self) -> None:
        """One UnsupportedOpError naming every unsupported op of the model, source ops such as LSTM or
        LayerNormalization first, each with its first node, instead of the first failure only."""
        missing = self._unsupported_nodes()
        if not missing:
            return
        first: dict[str, str] = {}
        for node in missing:
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            first.setdefault(key, self.name(node))
        ops = sorted(first, key=lambda k: (k not in SOURCE_LEVEL_OPS, list(first).index(k)))
        if len(ops) == 1:
            listed = f"op '{ops[0]}' at node '{first[ops[0]]}'"
        else:
            listed = f"ops ({len(ops)}) " + ", ".join(f"'{op}' at node '{first[op]}'" for op in ops)
        raise UnsupportedOpError(f"unsupported ONNX {listed}; supported: {', '.join(SUPPORTED_OPS)}"
                                 f"{self._no_params_hint()}")

    def run(self) -> Graph:
        self._inputs()
        self._initializers()
        self._refuse_unsupported()
        try:
            for node in self.nodes:
                self._node(node)
        except UnsupportedOpError as exc:
            raise UnsupportedOpError(f"{exc}{self._no_params_hint()}") from None
        self._outputs()
        self._prune()
        check_integer_inputs(self.graph, f"ONNX model '{self.where}'")
        onnx_quant.declare_weight_quantizers(self.graph, self.quantized_constants)
        self.graph.meta.update(source="onnx", opset=self.opset, producer=self.model.producer_name)
        verify(self.graph)
        return self.graph


def load_onnx(source: str | Path | onnx.ModelProto) -> Graph:
    """Import an ONNX model (path or ModelProto) as an IR Graph with float64 weights."""
    model, where = _read(source)
    model, upgraded = upgrade(model, where)
    model = rewrite_channels_last(model)  # QONNX channels-last ops -> Transpose, standard op, Transpose
    model = rewrite_qoperators(model)  # onnxruntime QOperator ops -> DequantizeLinear, float op, QuantizeLinear
    graph = _Importer(model, where).run()
    if upgraded:
        graph.meta.setdefault("load_notes", []).append(upgraded)
    return graph
