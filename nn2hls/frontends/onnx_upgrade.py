"""Old ONNX opsets: upgrade a model with onnx's own version converter before it is imported.

Rule: the frontend's converters implement the operator definitions of opsets `MIN_OPSET` to
`MAX_OPSET` of the default domain (`MAX_OPSET` is the newest opset the installed onnx package
knows). A model stamped with an older opset (1 to `MIN_OPSET - 1`, e.g. opset 6 from PyTorch 0.3 or
opset 8 from CNTK) is rewritten to `MIN_OPSET` by `onnx.version_converter.convert_version`, which
applies the per-operator adapters of the ONNX specification (e.g. BatchNormalization drops
`is_test`/`spatial`, Gemm drops `broadcast`), and the import says so in one note. When the converter
refuses, each node is converted alone to name the first one it cannot upgrade, so the message says
which node and op to re-export. The same upgraded model is what a float reference (onnxruntime) runs
when it does not implement the old opset itself (`reference_model`).
"""
from __future__ import annotations


import onnx
from onnx import helper

from nn2hls.errors import UnsupportedOpError

MIN_OPSET = 9
MAX_OPSET = int(onnx.defs.onnx_opset_version())


def default_opset(model: onnx.ModelProto) -> int:
    """The opset version of the default ONNX domain the model imports (1 when it names none)."""
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    return int(versions[0]) if versions else 1


def _convert(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
    from onnx import version_converter

    return version_converter.convert_version(model, target)


def _initializers_as_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """IR versions < 4 list every initializer as a graph input too (the converter relies on it); a
    copy with the missing ones added, as the weights they are."""
    listed = {i.name for i in model.graph.input}
    missing = [t for t in model.graph.initializer if t.name not in listed]
    if not missing:
        return model
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    copy.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in missing)
    return copy


def _batch_dims(model: onnx.ModelProto) -> list:
    """Axis 0 of every run-time graph input and output (initializers excluded)."""
    weights = {t.name for t in model.graph.initializer}
    values = [v for v in model.graph.input if v.name not in weights] + list(model.graph.output)
    return [v.type.tensor_type.shape.dim[0] for v in values
            if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape")
            and len(v.type.tensor_type.shape.dim) > 0]


def _convert_any_batch(model: onnx.ModelProto) -> onnx.ModelProto:
    """Convert to MIN_OPSET; some adapters (Gemm 6->7's broadcast check) need integer dimensions, so a
    symbolic batch is set to 1 for the conversion and restored afterwards (the upgraded graph's
    intermediate shapes, which would then say 1, are dropped: they are optional)."""
    try:
        return _convert(model, MIN_OPSET)
    except Exception:  # noqa: BLE001
        symbolic = [d.dim_param for d in _batch_dims(model) if not d.HasField("dim_value")]
        if not symbolic:
            raise
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    params = []
    for dim in _batch_dims(fixed):
        params.append(None if dim.HasField("dim_value") else dim.dim_param)
        if not dim.HasField("dim_value"):
            dim.dim_value = 1
    upgraded = _convert(fixed, MIN_OPSET)
    for dim, param in zip(_batch_dims(upgraded), params):
        if param is not None:
            dim.dim_param = param or "N"
    del upgraded.graph.value_info[:]
    return upgraded


def _first_failing_node(model: onnx.ModelProto, target: int) -> onnx.NodeProto | None:
    """The first node that the version converter cannot upgrade when given alone."""
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - shapes only sharpen the probes
        pass
    graph = model.graph
    known = {v.name: v for v in list(graph.input) + list(graph.value_info) + list(graph.output)}
    inits = {t.name: t for t in graph.initializer}
    for node in graph.node:
        inputs = [known[n] if n in known else helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                  for n in node.input if n and n not in inits]
        outputs = [known[n] if n in known else helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                   for n in node.output if n]
        single = helper.make_graph([node], "one_node", inputs, outputs,
                                   [inits[n] for n in node.input if n in inits])
        probe = helper.make_model(single, opset_imports=list(model.opset_import), ir_version=model.ir_version)
        try:
            _convert(probe, target)
        except Exception:  # noqa: BLE001 - the converter raises C++ errors of several types
            return node
    return None


def upgrade(model: onnx.ModelProto, where: str) -> tuple[onnx.ModelProto, str | None]:
    """(model at an opset the frontend reads, a one-line note when it was upgraded, else None)."""
    opset = default_opset(model)
    if opset > MAX_OPSET:
        raise UnsupportedOpError(f"ONNX model '{where}' uses opset {opset}, newer than the installed onnx "
                                 f"package knows ({MAX_OPSET}); upgrade onnx (pip install -U onnx) or "
                                 f"re-export with opset_version <= {MAX_OPSET}")
    if opset >= MIN_OPSET:
        return model, None
    model = _initializers_as_inputs(model)
    try:
        upgraded = _convert_any_batch(model)
    except Exception as exc:  # noqa: BLE001
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        node = _first_failing_node(model, MIN_OPSET)
        at = (f" at node '{node.name or (node.output[0] if node.output else node.op_type)}' (op {node.op_type})"
              if node is not None else "")
        raise UnsupportedOpError(f"ONNX model '{where}' uses opset {opset}; onnx's version converter cannot "
                                 f"upgrade it to opset {MIN_OPSET}{at} ({reason[:160]}); re-export the model "
                                 f"with opset_version >= {MIN_OPSET}") from None
    return upgraded, (f"ONNX model '{where}' uses opset {opset}; upgraded to opset {MIN_OPSET} with onnx's "
                      f"version converter before import")


def reference_model(model: "onnx.ModelProto | str") -> onnx.ModelProto:
    """The model a float reference should run: the file as written, upgraded only when its opset is
    older than `MIN_OPSET` (onnxruntime guarantees opsets >= 7 only and lacks some old kernels, e.g.
    Gemm-6). Raises UnsupportedOpError when the upgrade fails."""
    if not isinstance(model, onnx.ModelProto):
        where = str(model)
        model = onnx.load(where)
    else:
        where = model.graph.name or "model"
    return upgrade(model, where)[0]
