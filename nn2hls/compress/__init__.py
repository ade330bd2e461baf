"""Compression toolkit for PyTorch models (optional extra: torch, scikit-learn; Brevitas for QAT/QONNX).

`nn2hls.compress.compress` and `nn2hls.compress.fit` are `flow.compress` and `schedule.fit`, imported
on first use. Modules (import them directly; importing this package needs nothing beyond nn2hls):
  flow       `compress(model, train, val, ...)`: the whole recipe in one call, compiled and checked
  from_ir    a trainable torch module from any model nn2hls reads (ONNX, Keras), same numbers as the IR
  command    `nn2hls compress MODEL --data DATA.npz -o DIR`
  criteria   what to prune first: magnitude, OBD saliency, energy; per-layer targets from sensitivity
  masks      pruning masks (survive deepcopy/torch.save/state dicts), thresholds, sparsities
  penalties  L1 and smoothed L_p (0 < p < 1) penalties for the training loss
  schedule   iterative train -> prune -> retrain schedule; `fit`/`accuracy` for classification tensors
  qat        fixed-point / ternary / binary quantization-aware training (Brevitas or own STE)
  sharing    k-means weight sharing, codebook fine-tuning, Huffman-coded size (Deep Compression)
  export     ONNX (pruned/frozen float) and QONNX (Brevitas) export for `nn2hls convert`
"""

from typing import Any

_LAZY = {"compress": ("nn2hls.compress.flow", "compress"), "CompressResult": ("nn2hls.compress.flow", "CompressResult"),
         "fit": ("nn2hls.compress.schedule", "fit"), "accuracy": ("nn2hls.compress.schedule", "accuracy")}

_MODULES = ("flow", "from_ir", "command", "criteria", "masks", "penalties", "schedule", "qat", "sharing", "export")


def __getattr__(name: str) -> Any:
    """The one-call API without importing torch when the package itself is imported (PEP 562)."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _MODULES:
        import importlib

        return importlib.import_module(f"nn2hls.compress.{name}")
    raise AttributeError(f"module 'nn2hls.compress' has no attribute '{name}'")
