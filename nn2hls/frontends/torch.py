"""PyTorch frontend: a live `torch.nn.Module` -> ONNX in memory -> the ONNX frontend -> IR Graph.

Rule: the module is exported with `torch.onnx.export` to an in-memory buffer (the TorchScript
exporter by default, `dynamo=True` for the torch.export-based one), in eval mode, with the example
input fixing every shape; the batch axis is declared dynamic so the IR input shape is the example's
shape without its first axis (an integer example, e.g. Embedding indices, is exported as int64, any
other as float32). The ONNX model is then imported by `nn2hls.frontends.onnx.load_onnx`,
so PyTorch support is exactly the ONNX frontend's op coverage; the IR keeps the module's own (NCHW)
input and output layout, channels-last inside.
"""
from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np

from nn2hls.errors import ModelLoadError, UnsupportedOpError
from nn2hls.ir.graph import Graph

TORCH_HINT = "install PyTorch (pip install 'nn2hls[torch]')"


def require_torch():
    try:
        import torch
    except ImportError:
        raise ModelLoadError(f"loading a PyTorch module needs torch, which is not installed: {TORCH_HINT}") from None
    return torch


def _example_tensor(torch: Any, example: Any) -> Any:
    x = example if isinstance(example, torch.Tensor) else torch.as_tensor(np.asarray(example))
    # integer examples (Embedding indices) stay integers, as int64; everything else is float32
    x = x.to(torch.float32) if x.is_floating_point() or x.dtype == torch.bool else x.to(torch.int64)
    if x.ndim < 2:
        raise ModelLoadError(f"the example input of shape {tuple(x.shape)} has no batch axis; give "
                             "(N, *input_shape)")
    return x


def _input_names(module: Any, count: int) -> list[str]:
    """The ONNX input names of a module with several inputs: its forward's parameter names when they
    match in number, else input0, input1, ..."""
    import inspect

    try:
        params = [p.name for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params if len(params) == count else [f"input{k}" for k in range(count)]


def export_onnx_bytes(module: Any, example_input: Any, *, dynamo: bool = False, opset: int = 17) -> bytes:
    """The ONNX serialization of `module` traced on `example_input` (a tensor or array, batch first; a
    tuple of them for a module with several inputs, named after its forward's parameters). Several
    outputs are named output0, output1, ... (the keys of `nn2hls emulate/csim`'s .npz)."""
    torch = require_torch()
    if not isinstance(module, torch.nn.Module):
        raise ModelLoadError(f"load_torch expects a torch.nn.Module, got {type(module).__name__}")
    if example_input is None:
        raise ModelLoadError("loading a PyTorch module needs an example input (a batch, e.g. "
                             "torch.zeros(1, *input_shape)) to fix the shapes")
    several = isinstance(example_input, tuple) or (
        isinstance(example_input, list) and example_input
        and all(isinstance(e, (torch.Tensor, np.ndarray)) for e in example_input))
    xs = [_example_tensor(torch, e) for e in (example_input if several else [example_input])]
    names = _input_names(module, len(xs)) if several else ["input"]
    was_training = module.training
    module.eval()
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            result = module(*xs)
            several_out = isinstance(result, (tuple, list)) and len(result) > 1
            out_names = [f"output{k}" for k in range(len(result))] if several_out else None
            if dynamo:
                program = torch.onnx.export(module, tuple(xs), dynamo=True, opset_version=max(opset, 18),
                                            input_names=names, output_names=out_names, verbose=False)
                program.save(buffer)
            else:
                torch.onnx.export(module, tuple(xs), buffer, dynamo=False, opset_version=opset,
                                  input_names=names, output_names=out_names,
                                  dynamic_axes={name: {0: "batch"} for name in names})
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; report one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsupportedOpError(f"torch.onnx.export failed for {type(module).__name__}: {first}") from exc
    finally:
        module.train(was_training)
    return buffer.getvalue()


def load_torch(module: Any, example_input: Any, *, dynamo: bool = False) -> Graph:
    """Export `module` to ONNX in memory with `example_input` and import it as an IR Graph."""
    import onnx

    from nn2hls.frontends.onnx import load_onnx

    data = export_onnx_bytes(module, example_input, dynamo=dynamo)
    graph = load_onnx(onnx.load_from_string(data))
    graph.meta["source"] = "torch"
    return graph
