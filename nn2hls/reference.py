"""The float reference of `check`: the source model run by its own framework, on the graph as written.

Rules (issue 13):
- ONNX (a file or an `onnx.ModelProto`): onnxruntime, CPU, with graph optimizations disabled
  (`ORT_DISABLE_ALL`: the graph is evaluated as written, no fused integer kernels whose numbers depend
  on the CPU), one thread, onnxruntime's logging at errors only.
  The batch axis of the file is not a contract: the samples are fed in chunks the file accepts. The
  first axis of each input declares the batch: a fixed size B (torch.onnx.export's default is B = 1)
  gets chunks of exactly B samples, the last one padded with copies of its last sample and the padded
  outputs dropped; a symbolic (or absent) size gets chunks of up to `SYMBOLIC_CHUNK` samples. Each
  output of a chunk of c samples must hold c equal parts (it is reshaped to (c, -1)).
  A file onnxruntime refuses whose opset is older than the frontend reads is run as the frontend
  imported it, upgraded by onnx's version converter (`frontends.onnx_upgrade.reference_model`). A model with operators of custom domains (QONNX, Brevitas) that onnxruntime
  cannot run has no onnxruntime reference: the caller uses the IR float executor, which implements the
  QONNX definitions, and says so. Any other failure of onnxruntime (loading or running) is a
  `FloatReferenceError` that keeps onnxruntime's own explanation.
- Keras (`.keras`/`.h5` files, an architecture `.json` with its weights, or a `keras.Model`): Keras
  itself when it can run (`keras_reference`).
- PyTorch (`torch.nn.Module`): the module itself, in eval mode, float32, without gradients; a `.pt2` or
  TorchScript `.pt` file: the module it holds (`frontends.torch_files.torch_reference`).
- Anything else (a Graph, a project): the IR float executor on the source graph.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nn2hls.errors import FloatReferenceError

SYMBOLIC_CHUNK = 8192
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
_NUMPY_OF_ORT = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
                 # integer inputs (Embedding indices): the samples' values floored, as the hardware does
                 "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16,
                 "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16,
                 "tensor(uint32)": np.uint32, "tensor(uint64)": np.uint64}


@dataclass
class Reference:
    """Float outputs (float64, one array per model output, batch first) and which tool made them."""

    outputs: list[np.ndarray]
    name: str


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---- ONNX -------------------------------------------------------------------------------------------
def _onnx_proto(model: "str | Path | Any"):
    import onnx

    if isinstance(model, (str, Path)):
        return onnx.load(str(model), load_external_data=False)
    return model


def custom_domains(proto) -> list[str]:
    """`domain:op` of every node whose domain onnxruntime's CPU provider does not implement."""
    found = {f"{n.domain}:{n.op_type}" for n in proto.graph.node if n.domain not in STANDARD_DOMAINS}
    return sorted(found)


def _default_opset(proto) -> int | None:
    for entry in proto.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return None


def _session(source: "str | bytes", label: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise FloatReferenceError(f"onnxruntime cannot load '{label}' as the float reference: "
                                  f"{_first_line(exc)}; make the file run in onnxruntime (re-export it, or check "
                                  "it with onnx.checker) and run check again") from None


def _open_onnx(model: "str | Path | Any", label: str, proto, note: Callable[[str], None]) -> tuple[Any, str]:
    """(session, description): the file as written; when onnxruntime refuses a file of an opset older
    than the frontend reads, the same upgraded model the frontend imported (`onnx_upgrade`)."""
    from nn2hls.frontends.onnx_upgrade import MIN_OPSET, default_opset, reference_model

    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    try:
        return _session(source, label), "onnxruntime"
    except FloatReferenceError:
        opset = default_opset(proto)
        if opset >= MIN_OPSET:
            raise
    upgraded = reference_model(str(model) if isinstance(model, (str, Path)) else model)
    note(f"onnxruntime cannot run '{label}' at its old opset; the float reference runs the model upgraded to "
         f"opset {MIN_OPSET}")
    return _session(upgraded.SerializeToString(), label), "onnxruntime"


def _batch_size(session, label: str) -> int | None:
    """The fixed batch size every input declares, or None when it is symbolic."""
    fixed = set()
    for inp in session.get_inputs():
        dim = inp.shape[0] if inp.shape else None
        if isinstance(dim, int) and dim > 0:
            fixed.add(dim)
    if len(fixed) > 1:
        raise FloatReferenceError(f"the inputs of '{label}' declare different fixed batch sizes "
                                  f"{sorted(fixed)}; export the model with one batch size (or a symbolic one)")
    return fixed.pop() if fixed else None


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def run_onnxruntime(model: "str | Path | Any", inputs: list[np.ndarray], *, label: str | None = None,
                    note: Callable[[str], None] | None = None) -> Reference:
    """Outputs of onnxruntime (graph as written) on `inputs` (one array per model input, in order)."""
    label = label or (str(model) if isinstance(model, (str, Path)) else "the ONNX model")
    proto = _onnx_proto(model)
    session, name = _open_onnx(model, label, proto, note or (lambda message: None))
    feeds = session.get_inputs()
    if len(feeds) != len(inputs):
        raise FloatReferenceError(f"'{label}' has {len(feeds)} inputs in onnxruntime but {len(inputs)} were given")
    dtypes = []
    for feed in feeds:
        dtype = _NUMPY_OF_ORT.get(feed.type)
        if dtype is None:
            raise FloatReferenceError(f"input '{feed.name}' of '{label}' has type {feed.type}; the float reference "
                                      "feeds float and integer tensors only")
        dtypes.append(dtype)
    n = len(inputs[0])
    fixed = _batch_size(session, label)
    size = fixed or max(1, min(n, SYMBOLIC_CHUNK))
    parts: list[list[np.ndarray]] = []
    for start, stop in _chunks(n, size):
        count = stop - start
        chunk = [np.asarray(x[start:stop]) for x in inputs]
        if fixed is not None and count < fixed:  # pad with copies of the last sample, dropped below
            chunk = [np.concatenate([c, np.repeat(c[-1:], fixed - count, axis=0)]) for c in chunk]
        feed = {f.name: (np.floor(c) if np.issubdtype(dtype, np.integer) else c).astype(dtype)
                for f, c, dtype in zip(feeds, chunk, dtypes)}
        try:
            outputs = session.run(None, feed)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            batch = f"declared batch {fixed}" if fixed is not None else "symbolic batch"
            raise FloatReferenceError(f"onnxruntime cannot run '{label}' ({batch}, chunk of {len(chunk[0])} "
                                      f"samples) as the float reference: {_first_line(exc)}") from None
        rows = len(chunk[0])
        shaped = []
        for meta, out in zip(session.get_outputs(), outputs):
            out = np.asarray(out)
            if out.size % rows:
                raise FloatReferenceError(f"output '{meta.name}' of '{label}' has shape {out.shape} for a batch "
                                          f"of {rows} samples: it has no batch axis, so nn2hls cannot split it "
                                          "per sample; export the model with the batch as the first axis")
            shaped.append(out.reshape(rows, -1)[:count].astype(np.float64))
        parts.append(shaped)
    outputs = [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))] if parts else []
    if fixed is not None and fixed != n:
        pieces = math.ceil(n / fixed)
        name += f", {pieces} chunk{'s' if pieces > 1 else ''} of the file's fixed batch {fixed}"
    return Reference(outputs, name)


# ---- other frameworks -------------------------------------------------------------------------------
def run_torch(module: Any, inputs: list[np.ndarray]) -> Reference:
    """The PyTorch module itself (eval mode, float32, no gradients)."""
    import torch

    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(*[torch.as_tensor(np.asarray(x, dtype=np.int64 if np.asarray(x).dtype.kind in "iu"
                                                      else np.float32)) for x in inputs])
    except Exception as exc:  # noqa: BLE001 - a user module can raise anything
        raise FloatReferenceError(f"the PyTorch module {type(module).__name__} fails on the input as the float "
                                  f"reference: {_first_line(exc)}") from None
    finally:
        module.train(was_training)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return Reference([o.detach().cpu().numpy().astype(np.float64) for o in outs], f"torch {torch.__version__}")


def _is_instance(obj: Any, module: str, attr_path: str) -> bool:
    """isinstance against module.attr_path, without importing a module the caller never imported."""
    cls: Any = sys.modules.get(module)
    for part in attr_path.split("."):
        cls = getattr(cls, part, None) if cls is not None else None
    return cls is not None and isinstance(obj, cls)


def _kind(model: Any) -> str:
    if isinstance(model, (str, Path)):
        suffix = Path(model).suffix.lower()
        return {".onnx": "onnx", ".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".json": "keras",
                ".pt2": "torch_file", ".pt": "torch_file", ".pth": "torch_file"}.get(suffix, "ir")
    if _is_instance(model, "onnx", "ModelProto"):
        return "onnx"
    if _is_instance(model, "keras", "Model"):
        return "keras"
    if _is_instance(model, "torch", "nn.Module"):
        return "torch"
    return "ir"


def float_reference(model: Any, inputs: list[np.ndarray], ir_executor: Callable[[], list[np.ndarray]],
                    note: Callable[[str], None], *, weights: Any = None) -> Reference:
    """The float reference for `model` (what `nn2hls.load` accepts) on `inputs`, per the module rules.

    `ir_executor()` returns the IR float executor's outputs, used when the model's own framework cannot
    provide them; `note` receives a line saying so. `weights`: of a Keras architecture .json.
    """
    kind = _kind(model)
    if kind == "onnx":
        found = custom_domains(_onnx_proto(model))
        if not found:
            return run_onnxruntime(model, inputs, note=note)
        label = str(model) if isinstance(model, (str, Path)) else "the ONNX model"
        note(f"onnxruntime cannot run '{label}' (custom operators {', '.join(found[:3])}); using the nn2hls IR "
             "float executor (it implements the QONNX definitions) as the float reference")
    elif kind == "keras":
        from nn2hls.frontends.keras_reference import keras_reference

        outputs, description = keras_reference(model, inputs[0] if len(inputs) == 1 else inputs, weights)
        if outputs is not None:
            return Reference(outputs, description)
        note(f"{description}; using the nn2hls IR float executor as the float reference")
    elif kind == "torch":
        return run_torch(model, inputs)
    elif kind == "torch_file":
        import torch

        from nn2hls.frontends.torch_files import torch_reference

        return Reference(torch_reference(model, inputs[0]), f"torch {torch.__version__}")
    return Reference([np.asarray(o, dtype=np.float64) for o in ir_executor()], "nn2hls IR float executor")
