"""ONNX QDQ test models: a float MLP built with onnx.helper and quantized by onnxruntime's quantize_static."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def float_mlp(sizes, seed: int = 0, relu_last: bool = False) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    h = "x"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        inits.append(numpy_helper.from_array(rng.normal(0, 1.2 / np.sqrt(a), (b, a)).astype(np.float32), f"w{i}"))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.2, (b,)).astype(np.float32), f"b{i}"))
        nodes.append(helper.make_node("Gemm", [h, f"w{i}", f"b{i}"], [f"g{i}"], name=f"fc{i}", transB=1))
        h = f"g{i}"
        if i < len(sizes) - 2 or relu_last:
            nodes.append(helper.make_node("Relu", [h], [f"r{i}"], name=f"relu{i}"))
            h = f"r{i}"
    graph = helper.make_graph(nodes, "fmlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, sizes[0]])],
                              [helper.make_tensor_value_info(h, TensorProto.FLOAT, [None, sizes[-1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def quantize_static_mlp(sizes, calibration: np.ndarray, out_dir: Path, *, seed: int = 0, per_channel: bool = False,
                        activation_type: str = "QUInt8", weight_type: str = "QInt8") -> Path:
    """Quantize `float_mlp(sizes)` with onnxruntime.quantization.quantize_static (QDQ format, min/max calibration)."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter(calibration.astype(np.float32)[i:i + 1] for i in range(len(calibration)))

        def get_next(self):
            row = next(self.rows, None)
            return None if row is None else {"x": row}

    src = Path(out_dir) / "float.onnx"
    dst = Path(out_dir) / "qdq.onnx"
    onnx.save(float_mlp(sizes, seed), src)
    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                    activation_type=getattr(QuantType, activation_type), weight_type=getattr(QuantType, weight_type))
    return dst


def ort_run(path, x: np.ndarray) -> np.ndarray:
    """onnxruntime on the graph as written (graph optimizations off: no fused integer kernels, whose
    results depend on the CPU's instruction set), float32 input, float64 output."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)
