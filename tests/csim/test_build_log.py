"""A failed C-sim build names a log file that still exists when the project was temporary (`check`)."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import nn2hls
from nn2hls.csim import build
from nn2hls.errors import BuildError

pytestmark = pytest.mark.csim


def _model() -> onnx.ModelProto:
    w = onnx.numpy_helper.from_array(np.eye(3, dtype=np.float32), "w")
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")
    graph = helper.make_graph([node], "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_log_of_a_temporary_project_outlives_it():
    compiled = nn2hls.compile(_model(), calibration=np.zeros((2, 3)))
    with tempfile.TemporaryDirectory(prefix="nn2hls_check_") as tmp:
        project = compiled.write(Path(tmp) / "p")
        layer = sorted((project / "firmware").glob("layer_*.cpp"))[0]
        layer.write_text(layer.read_text() + "\nthis is not C++;\n")
        with pytest.raises(BuildError) as info:
            build(project)
    log = Path(re.search(r"full log: (\S+)\)", str(info.value)).group(1))
    assert not Path(tmp).exists() and log.is_file()
    assert "this is not C++" in log.read_text()
    log.unlink()
