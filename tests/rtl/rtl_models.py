"""Small typed graphs and ONNX models for the RTL tests, and the simulator/yosys skip markers."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

HAS_IVERILOG = shutil.which("iverilog") is not None and shutil.which("vvp") is not None
HAS_VERILATOR = shutil.which("verilator") is not None
HAS_YOSYS = shutil.which("yosys") is not None
needs_iverilog = pytest.mark.skipif(not HAS_IVERILOG, reason="iverilog not installed (apt-get install iverilog)")
needs_verilator = pytest.mark.skipif(not HAS_VERILATOR, reason="Verilator not installed (apt-get install verilator)")
needs_yosys = pytest.mark.skipif(not HAS_YOSYS, reason="yosys not installed (apt-get install yosys)")


def onnx_model(nodes, initializers: dict[str, np.ndarray], n_in: int, n_out: int, name: str):
    """A one-input, one-output ONNX model (opset 13) from helper nodes and float32 initializers."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_in])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n_out])],
                              [numpy_helper.from_array(v.astype(np.float32), k) for k, v in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def residual_tables(rng: np.random.Generator):
    """x -> Gemm h -> {Sigmoid, Tanh, Relu} -> Concat with h -> Gemm -> Add(h2, Relu branch): table ROMs,
    Concat, an element-wise Add whose inputs arrive at different pipeline stages (a delay line)."""
    from onnx import helper

    w1, w2 = rng.normal(size=(6, 4)), rng.normal(size=(16, 4))
    nodes = [helper.make_node("Gemm", ["x", "w1"], ["h"]),
             helper.make_node("Sigmoid", ["h"], ["s"]), helper.make_node("Tanh", ["h"], ["t"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Concat", ["s", "t", "r", "h"], ["c"], axis=1),
             helper.make_node("Gemm", ["c", "w2"], ["h2"]), helper.make_node("Add", ["h2", "r"], ["y"])]
    return onnx_model(nodes, {"w1": w1, "w2": w2}, 6, 4, "residual")


def small_cnn(rng: np.random.Generator):
    """1x6x6 -> Conv 3x3 (3 filters, zero padding 1) -> Relu -> MaxPool 2x2 -> AveragePool 2x2 (stride 1,
    padding 1, count_include_pad 0) -> depthwise Conv 2x2 (group 3) -> GlobalAveragePool -> Flatten ->
    Gemm 3 -> 4."""
    from onnx import TensorProto, helper, numpy_helper

    inits = {"k1": rng.normal(size=(3, 1, 3, 3)), "b1": rng.normal(size=3) * 0.1,
             "k2": rng.normal(size=(3, 1, 2, 2)), "w": rng.normal(size=(3, 4))}
    nodes = [helper.make_node("Conv", ["x", "k1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("AveragePool", ["p1"], ["p2"], kernel_shape=[2, 2], strides=[1, 1], pads=[1, 1, 1, 1],
                              count_include_pad=0),
             helper.make_node("Conv", ["p2", "k2"], ["c2"], group=3),
             helper.make_node("GlobalAveragePool", ["c2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]), helper.make_node("Gemm", ["f", "w"], ["y"])]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
                              [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
