"""ONNX QuantizeLinear / DequantizeLinear (QDQ) in the ONNX frontend.

Definitions (ONNX, int8/uint8/int16/uint16; per tensor or per axis):

    QuantizeLinear:   q = saturate(round_half_even(x / s) + z)
    DequantizeLinear: y = (q - z) * s

- On constants (weights and int32 biases, as `onnxruntime.quantization.quantize_static` and PyTorch
  write them) both are evaluated here in float64 (exact: a float32 scale times an integer), never by
  the float32 constant folder; a dequantized weight is remembered so `onnx_quant.declare_weight_quantizers`
  marks its layer, which the exact_weight_types pass turns into integer weights plus one per-output
  scale.
- On a run-time tensor QuantizeLinear becomes the integer tensor q (`onnx_quant.requantize`: a
  requantizing ScaleShift and an integer cast) and DequantizeLinear a dequantizing ScaleShift
  (`onnx_quant.dequantize`), later carried into the next layer (the carry_scales pass). Activations must use
  one scale and zero point per tensor; other element types (int32, float8, int4) are refused.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_layout import Tensor
from nn2hls.frontends.onnx_ops import converter
from nn2hls.frontends.onnx_quant import dequantize, remember, requantize
from nn2hls.ir.quant import dequantize_linear, fixed_type_for, quantize_linear

QDQ_OPS: tuple[str, ...] = ("QuantizeLinear", "DequantizeLinear")
_INT_TYPES = {np.dtype(np.int8): (8, True), np.dtype(np.uint8): (8, False),
              np.dtype(np.int16): (16, True), np.dtype(np.uint16): (16, False)}
_ONNX_TYPES = {3: np.int8, 2: np.uint8, 5: np.int16, 4: np.uint16}


def _constant(ctx, node, inputs: list, index: int, what: str):
    value = inputs[index] if index < len(inputs) else None
    if isinstance(value, Tensor):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: a computed {what} is not "
                                 f"supported; it must be a constant")
    return value


def _broadcast(ctx, node, value: np.ndarray, ref_shape: tuple, axis: int) -> np.ndarray:
    """A per-axis scale/zero point reshaped to broadcast against a tensor of shape ref_shape."""
    value = np.asarray(value)
    if value.ndim == 0 or value.size == 1:
        return value.reshape(())
    if value.ndim != 1:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: blocked quantization "
                                 f"(scale of rank {value.ndim}) is not supported")
    axis = axis % len(ref_shape)
    shape = [1] * len(ref_shape)
    shape[axis] = value.size
    return value.reshape(shape)


def _int_type(ctx, node, zero_point, attrs: dict) -> tuple[int, bool, np.dtype]:
    if zero_point is not None:
        dtype = np.asarray(zero_point).dtype
    elif "output_dtype" in attrs and int(attrs["output_dtype"]) in _ONNX_TYPES:
        dtype = np.dtype(_ONNX_TYPES[int(attrs["output_dtype"])])
    elif "output_dtype" in attrs and int(attrs["output_dtype"]) != 0:
        dtype = np.dtype("O")
    else:
        dtype = np.dtype(np.uint8)  # the ONNX default without a zero point
    if dtype not in _INT_TYPES:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: element type {dtype} is not "
                                 f"supported; use int8, uint8, int16 or uint16")
    bits, signed = _INT_TYPES[dtype]
    return bits, signed, dtype


def _scalar(ctx, node, value, what: str) -> float:
    flat = np.asarray(value, dtype=np.float64).reshape(-1)
    if flat.size == 0 or not np.all(flat == flat[0]):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: per-axis {what} on activations "
                                 f"is not supported; use one {what} per tensor")
    return float(flat[0])


@converter(*QDQ_OPS)
def convert(ctx, node, attrs: dict, inputs: list) -> list:
    """Convert one QuantizeLinear/DequantizeLinear node (constant or run-time input)."""
    x = inputs[0] if inputs else None
    if x is None:
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)} has no data input")
    scale = np.asarray(_constant(ctx, node, inputs, 1, "scale"), dtype=np.float64)
    zero_point = _constant(ctx, node, inputs, 2, "zero point")
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
        raise UnsupportedOpError(f"ONNX {node.op_type} node {ctx.label(node)}: scale must be positive and finite")
    axis = int(attrs.get("axis", 1))
    quantize = node.op_type == "QuantizeLinear"
    if quantize:
        bits, signed, dtype = _int_type(ctx, node, zero_point, attrs)
    z = np.zeros(()) if zero_point is None else np.asarray(zero_point, dtype=np.float64)
    if not isinstance(x, Tensor):
        x = np.asarray(x)
        s_b = _broadcast(ctx, node, scale, x.shape, axis)
        z_b = _broadcast(ctx, node, z, x.shape, axis)
        if quantize:
            info = np.iinfo(dtype)
            return [quantize_linear(x, s_b, z_b, int(info.min), int(info.max)).astype(dtype)]
        values = dequantize_linear(x, s_b, z_b)
        remember(ctx, values, scale if np.all(z == 0) else np.ones(1))
        return [values]
    s = _scalar(ctx, node, scale, "scale")
    zf = _scalar(ctx, node, z, "zero point")
    if quantize:
        int_t = fixed_type_for(0, bits, signed, False, "ROUND")
        return [requantize(ctx, node, x, s, zf, int_t, (signed, False, "ROUND", bits))]
    return [dequantize(ctx, node, x, s, zf)]
