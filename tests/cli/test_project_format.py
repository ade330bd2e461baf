"""Project format version 2 (table sampling and default sizes changed): a version-1 project is refused
with one line telling the user to re-convert, not emulated with tables it was not built with."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper

from nn2hls.project_io import FORMAT_VERSION

SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]


def _run(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, NN2HLS_QUIET="")
    return subprocess.run([*BASE, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


def _sigmoid_onnx(path) -> None:
    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 3], [1.0, 0.5, -0.25, 0.0, 2.0, 1.0, -1.0, 0.75, 0.5])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
             helper.make_node("Sigmoid", ["h"], ["y"], name="sig")]
    graph = helper.make_graph(nodes, "sig", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))


def test_version_1_project_must_be_reconverted(tmp_path):
    assert FORMAT_VERSION == 2
    model, x_path, prj = tmp_path / "sig.onnx", tmp_path / "x.npy", tmp_path / "prj"
    _sigmoid_onnx(model)
    np.save(x_path, np.linspace(-6, 6, 30, dtype=np.float32).reshape(10, 3))
    proc = _run("convert", model, "-o", prj, "--calibration", x_path)
    assert proc.returncode == 0, proc.stderr
    graph_file = prj / "nn2hls_graph.json"
    doc = json.loads(graph_file.read_text())
    assert doc["version"] == 2
    # the written config keeps table_size auto (so it re-derives the same sizes), and the sizes are saved
    config = yaml.safe_load((prj / "nn2hls_config.yml").read_text())
    assert config["precision"]["default"]["table_size"] == "auto"
    ok = _run("emulate", prj, "--input", x_path, "--output", tmp_path / "y.npy")
    assert ok.returncode == 0, ok.stderr

    doc["version"] = 1
    graph_file.write_text(json.dumps(doc))
    proc = _run("emulate", prj, "--input", x_path, "--output", tmp_path / "y1.npy")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    last = proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr
    assert last.startswith("error: ") and "format version 1" in last and "re-convert the model" in last, last
    assert not (tmp_path / "y1.npy").exists()
