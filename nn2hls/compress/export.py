"""Export compressed PyTorch models for the compiler.

- `export_onnx(model, example_input, path)`: plain ONNX (opset 17, TorchScript exporter, dynamic
  batch axis). Pruning masks are made permanent on a copy (zeros are real zeros in the initializers)
  and QAT layers are frozen to plain layers holding their quantized weights, which float32 carries
  exactly (power-of-two scales), so `nn2hls convert` reads precisely the trained values.
- `export_qonnx(model, example_input, path)`: QONNX (`Quant` nodes carrying scale, zero point and bit
  width) through Brevitas's exporter, for QAT models built with the Brevitas backend; the format FINN
  and other QONNX tools read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from nn2hls.errors import ConfigError


def _example(model: nn.Module, example_input: Any) -> torch.Tensor:
    x = example_input if isinstance(example_input, torch.Tensor) else torch.as_tensor(example_input)
    return x.to(torch.float32)


def plain_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy with masks made permanent and quantized layers frozen."""
    from nn2hls.compress.masks import copy_model, finalize
    from nn2hls.compress.qat import freeze

    return freeze(finalize(copy_model(model))).eval()


def export_onnx(model: nn.Module, example_input: Any, path: str | Path, *, opset: int = 17) -> Path:
    """Write `model` (pruned and/or QAT) as plain float ONNX to `path`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = plain_copy(model)
    x = _example(plain, example_input)
    torch.onnx.export(plain, (x,), str(path), dynamo=False, opset_version=opset, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return path


def export_qonnx(model: nn.Module, example_input: Any, path: str | Path) -> Path:
    """Write a Brevitas QAT model as QONNX to `path` (needs brevitas, onnx and onnxoptimizer)."""
    from nn2hls.compress.qat import has_brevitas

    if not has_brevitas():
        raise ConfigError("QONNX export needs Brevitas: pip install brevitas onnxoptimizer "
                          "(or use export_onnx, which bakes the quantized weights into plain ONNX)")
    from brevitas.export import export_qonnx as _export

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from nn2hls.compress.masks import copy_model, finalize

    m = finalize(copy_model(model)).eval()
    try:
        _export(m, _example(m, example_input), export_path=str(path))
    except ModuleNotFoundError as exc:
        raise ConfigError(f"QONNX export failed: {exc} (pip install onnxoptimizer)") from None
    _inline_external_data(path)
    return path


def _inline_external_data(path: Path) -> None:
    """The exporter may store the weights in a `<file>.data` beside the model; a compressed network is
    small, so keep one self-contained file (no stray files)."""
    import onnx

    data = path.with_name(path.name + ".data")
    if not data.is_file():
        return
    model = onnx.load(str(path))  # reads the external data from beside the file
    onnx.save(model, str(path), save_as_external_data=False)
    data.unlink()
