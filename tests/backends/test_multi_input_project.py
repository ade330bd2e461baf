"""The project of a two-input, two-output graph: one port per input and output, in the model's input
order, the testbench and batch entry point reading the inputs side by side, and the manifest."""
from __future__ import annotations

import json

import numpy as np

from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType

T = FixedType.parse


def two_inputs() -> Graph:
    """b (3,) and a (2,), in this input order: y = Dense(b) + a, z = a * a."""
    g = Graph("duo")
    b = g.add(ops.Input(shape=(3,)), name="b")
    a = g.add(ops.Input(shape=(2,)), name="a")
    d = g.add(ops.Dense(), [b.name], name="fc", weights={"kernel": np.array([[1.0, 0.5], [0.0, -1.0], [0.25, 2.0]]),
                                                          "bias": np.zeros(2)})
    y = g.add(ops.Elementwise(operation="add"), [d.name, a.name], name="y")
    z = g.add(ops.Elementwise(operation="mul"), [a.name, a.name], name="z")
    g.outputs = [y.name, z.name]
    b.precision = {"result": T("ap_fixed<8,3,AP_RND,AP_SAT>")}
    a.precision = {"result": T("ap_fixed<6,2,AP_RND,AP_SAT>")}
    d.precision = {"weight": T("ap_fixed<8,3>"), "bias": T("ap_fixed<8,3>"), "accum": T("ap_fixed<20,8>"),
                   "result": T("ap_fixed<12,6,AP_RND,AP_SAT>")}
    y.precision = {"result": T("ap_fixed<14,7,AP_RND,AP_SAT>")}
    z.precision = {"result": T("ap_fixed<12,4,AP_RND,AP_SAT>")}
    return g


def test_two_input_ports_in_input_order(tmp_path):
    xb, xa = np.arange(6.0).reshape(2, 3) / 8, np.array([[0.5, -0.25], [1.0, 0.75]])
    outs = [np.zeros((2, 2)), np.ones((2, 2))]
    project = write_project(two_inputs(), Config(), tmp_path / "p", tb_input=[xb, xa], tb_output=outs)
    header = (project / "firmware" / "duo.h").read_text()
    assert ("void duo(const input0_t x_in0[3], const input1_t x_in1[2], result0_t y_out0[2], "
            "result1_t y_out1[2]);") in header
    assert "// Input 0 (b): 3 values" in header and "// Input 1 (a): 2 values" in header
    types = (project / "firmware" / "duo_types.h").read_text()
    assert "typedef b_result_t input0_t;" in types and "typedef a_result_t input1_t;" in types
    assert "#define DUO_N_INPUT0 3" in types and "#define DUO_N_INPUT1 2" in types
    top = (project / "firmware" / "duo.cpp").read_text()
    for port in ("x_in0", "x_in1", "y_out0", "y_out1"):
        assert f"#pragma HLS INTERFACE ap_vld port={port}" in top
        assert f"#pragma HLS ARRAY_RESHAPE variable={port} complete dim=0" in top
    assert "layer_fc(x_in0, v_fc);" in top and "layer_y(v_fc, x_in1, v_y);" in top
    assert "layer_z(x_in1, x_in1, v_z);" in top
    batch = (project / "csim" / "duo_batch.cpp").read_text()
    assert "x0[i] = in[(long)s * 5 + 0 + i];" in batch and "x1[i] = in[(long)s * 5 + 3 + i];" in batch
    assert "duo(x0, x1, y0, y1);" in batch
    assert "int duo_n_input() { return 5; }" in batch
    test = (project / "tb" / "duo_test.cpp").read_text()
    assert "in.size() != 5" in test and "x1[i] = in[3 + i];" in test
    # tb_input.dat: one line per sample, b's 3 values then a's 2
    lines = (project / "tb_data" / "tb_input.dat").read_text().splitlines()
    assert [list(map(float, line.split())) for line in lines] == np.concatenate([xb, xa], axis=1).tolist()
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    assert manifest["input_names"] == ["b", "a"] and manifest["input_shapes"] == [[3], [2]]
    assert manifest["input_shape"] == [3]


def test_two_input_vitis_pragmas(tmp_path):
    config = Config()
    config.backend = "vitis"
    project = write_project(two_inputs(), config, tmp_path / "p")
    top = (project / "firmware" / "duo.cpp").read_text()
    assert "#pragma HLS INTERFACE mode=ap_vld port=x_in0" in top
    assert "#pragma HLS INTERFACE mode=ap_vld port=x_in1" in top
    readme = (project / "README.md").read_text()
    assert "`duo(x_in0, x_in1, y_out0, ...)`" in readme and "x_in0: b, 3 values, x_in1: a, 2 values" in readme
