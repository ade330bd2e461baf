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
