"""Model frontends (ONNX, Keras, PyTorch via ONNX); `load_model` picks one by suffix or type."""
from nn2hls.frontends.loader import load_model

__all__ = ["load_model"]
