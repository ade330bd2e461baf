"""PyTorch model files: torch.export `.pt2` and TorchScript `.pt`, converted through an in-memory ONNX export.

Rules:
- `.pt2` is an ExportedProgram (`torch.export.save`), read by `torch.export.load` (no pickled code). Its
  saved example inputs fix every shape; it is exported to ONNX in memory by `torch.onnx.export(program,
  dynamo=True)` and imported by the ONNX frontend (a batch size fixed by the example is no limit on
  the samples nn2hls computes).
- A `.pt`/`.pth` file is told apart by its zip content, never by unpickling it: TorchScript archives
  (`torch.jit.save`) hold a `code/` folder and are read by `torch.jit.load` (TorchScript's own
  restricted format, no arbitrary Python code); an ExportedProgram saved as `.pt` is read as `.pt2`.
  A TorchScript file records no input shape: it comes from `example_input` (the CLI passes one sample
  of `--input`, else of `--calibration`). The module is exported by the TorchScript ONNX exporter
  (`frontends.torch.export_onnx_bytes`, dynamic batch).
- Anything else (`torch.save(model)` or a state dict: pickles, which only unpickling arbitrary code
  could read) is a one-line ModelLoadError saying how to save one of the two supported files.
- `torch_reference` runs the file's own module on samples for `nn2hls check`'s float reference
  (an ExportedProgram in chunks of its example batch size, which its shape guards require).
"""
from __future__ import annotations

import io
import logging
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nn2hls.errors import ModelLoadError, UnsupportedOpError
from nn2hls.ir.graph import Graph

TORCH_SUFFIXES: tuple[str, ...] = (".pt2", ".pt", ".pth")
SAVE_HINT = ("save it as torch.export: torch.export.save(torch.export.export(model.eval(), (x,)), 'model.pt2'), "
             "or as TorchScript: torch.jit.save(torch.jit.trace(model.eval(), x), 'model.pt')")


def _torch():
    from nn2hls.frontends.torch import require_torch as require
    return require()


def file_kind(path: Path) -> str:
    """'exported' (torch.export), 'torchscript' or 'pickle', from the zip's member names only."""
    if not zipfile.is_zipfile(path):
        return "pickle"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(n.split("/", 1)[-1].startswith("models/") and n.endswith(".json") for n in names):
        return "exported"
    if any("/code/" in n or n.startswith("code/") for n in names):
        return "torchscript"
    return "pickle"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_program(path: Path) -> tuple[Any, str]:
    """The file's module: (ExportedProgram, 'exported') or (ScriptModule, 'torchscript')."""
    torch = _torch()
    kind = "exported" if path.suffix.lower() == ".pt2" else file_kind(path)
    if kind == "pickle":
        raise ModelLoadError(f"'{path}' is a pickled PyTorch object (torch.save of a module or a state dict), "
                             f"which nn2hls does not unpickle (that can run arbitrary code); {SAVE_HINT}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "exported":
                return torch.export.load(str(path)), kind
            return torch.jit.load(str(path), map_location="cpu"), kind
    except Exception as exc:  # noqa: BLE001 - corrupt archives raise many types
        what = "torch.export" if kind == "exported" else "TorchScript"
        raise ModelLoadError(f"cannot read {what} file '{path}' ({_first_line(exc)}); {SAVE_HINT}") from None


def _example_args(program: Any, path: Path) -> tuple:
    example = getattr(program, "example_inputs", None)
    args = example[0] if example else None
    if not args or len(args) != 1 or (example[1] if len(example) > 1 else None):
        raise UnsupportedOpError(f"torch.export file '{path}' must take exactly one tensor input (its saved "
                                 f"example inputs are {example!r:.80})")
    return tuple(args)


def _exported_onnx(program: Any, path: Path) -> bytes:
    torch = _torch()
    buffer = io.BytesIO()
    logger = logging.getLogger("torch.onnx")  # the exporter logs skipped torchvision ops as warnings
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            onnx_program = torch.onnx.export(program, _example_args(program, path), dynamo=True, verbose=False)
            onnx_program.save(buffer)
    except (ModelLoadError, UnsupportedOpError):
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types; report one line
        raise UnsupportedOpError(f"torch.onnx.export failed for torch.export file '{path}': "
                                 f"{_first_line(exc)}") from None
    finally:
        logger.setLevel(level)
    return buffer.getvalue()


def _sample(example_input: Any, path: Path):
    if example_input is None:
        raise ModelLoadError(f"TorchScript file '{path}' does not record its input shape: give input data "
                             f"(CLI: --input or --calibration X.npy; API: example_input=) or {SAVE_HINT.split(', or')[0]}")
    x = np.asarray(example_input, dtype=np.float32)
    return x[:1] if x.ndim >= 2 else x


def load_torch_file(path: str | Path, example_input: Any = None) -> Graph:
    """Import a `.pt2` / TorchScript `.pt` file as an IR Graph (module docstring)."""
    import onnx

    from nn2hls.frontends.onnx import load_onnx
    from nn2hls.frontends.torch import export_onnx_bytes

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"PyTorch model file '{path}' does not exist")
    program, kind = load_program(path)
    if kind == "exported":
        data = _exported_onnx(program, path)
    else:
        data = export_onnx_bytes(program, _sample(example_input, path))
    graph = load_onnx(onnx.load_from_string(data))
    graph.name = path.stem
    graph.meta["source"] = "torch.export" if kind == "exported" else "torchscript"
    return graph


def torch_reference(path: str | Path, x: np.ndarray) -> list[np.ndarray]:
    """The file's own float32 outputs on the batch x (N, *input_shape)."""
    torch = _torch()
    program, kind = load_program(Path(path))
    xs = np.asarray(x, dtype=np.float32)
    if kind == "torchscript":
        program.eval()
        chunk, module = len(xs), program
    else:
        chunk, module = int(_example_args(program, Path(path))[0].shape[0]), program.module()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(xs), chunk):
            part = xs[start:start + chunk]
            padded = np.concatenate([part, np.repeat(part[-1:], chunk - len(part), axis=0)]) if len(part) < chunk else part
            y = module(torch.from_numpy(np.ascontiguousarray(padded)))
            outputs.append(np.asarray(y.detach().numpy(), dtype=np.float64)[:len(part)])
    return [np.concatenate(outputs)]
