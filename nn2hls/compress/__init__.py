"""Compression toolkit for PyTorch models (optional extra: torch, scikit-learn; Brevitas for QAT/QONNX).

Modules (import them directly; importing this package needs nothing beyond nn2hls):
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
