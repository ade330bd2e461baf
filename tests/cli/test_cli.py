"""The `nn2hls` console script, run as a real subprocess: every command, its output and every error exit.

Falls back to `python -m nn2hls` only when the console script is not on PATH (package not installed).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

EXAMPLES = Path(__file__).resolve().parents[2] / "example_models"
JET = EXAMPLES / "jet_mlp.onnx"
JET_X = EXAMPLES / "jet_mlp_input.npy"
SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]
needs_cxx = pytest.mark.skipif(shutil.which(os.environ.get("NN2HLS_CXX", os.environ.get("CXX", "g++")))
                               is None, reason="no C++ compiler")


def run(*args, cwd=None, ok=(0,)) -> subprocess.CompletedProcess:
    env = dict(os.environ, NN2HLS_QUIET="")
    proc = subprocess.run([*BASE, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    return proc


def assert_user_error(proc, *fragments):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[-1], (fragment, lines[-1])


@pytest.mark.parametrize("command", ["", "convert", "check", "csim", "emulate", "report", "rtlsim", "synth"])
def test_help(command):
    proc = run(*([command] if command else []), "--help")
    assert proc.returncode == 0
    assert "usage: nn2hls" in proc.stdout
    if command == "convert":
        for option in ("-o OUT", "-c CONFIG.yml", "--backend {vivado,vitis,verilog}", "--precision TYPE",
                       "--calibration X.npy", "--force"):
            assert option in proc.stdout, option


def test_python_dash_m_works():
    proc = subprocess.run([sys.executable, "-m", "nn2hls", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "convert" in proc.stdout


def test_no_command_and_profile():
    assert run().returncode == 2
    assert_user_error(run("profile", str(JET)), "needs a model and an output folder")


def test_convert_writes_project_and_summary(tmp_path):
    proc = run("convert", JET, "-o", tmp_path / "prj", "--calibration", JET_X, "--precision", "ap_fixed<18,8>",
               "--backend", "vitis")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "model jet_mlp -> project" in out and "(vitis," in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("layer"))
    assert set(lines[header + 1]) <= {"-", " "}
    table = lines[header:header + 2 + 9]
    assert table[-1].startswith("total") and "/4256" in table[-1]  # weights that round to 0 drop out
    # columns are aligned: every row's 'op' column starts where the header's does
    col = lines[header].index("op")
    assert all(row[col - 2:col] == "  " for row in table[2:-1])
    prj = tmp_path / "prj"
    for name in ("nn2hls_config.yml", "nn2hls_graph.json", "build_prj.tcl", "tb_data/tb_input.dat"):
        assert (prj / name).is_file(), name
    import yaml

    resolved = yaml.safe_load((prj / "nn2hls_config.yml").read_text())
    assert resolved["backend"] == "vitis"
    assert resolved["precision"]["default"]["weight"] == "ap_fixed<18,8>"
    assert resolved["precision"]["input"] == "ap_fixed<18,8>"
    graph = json.loads((prj / "nn2hls_graph.json").read_text())
    dense = [n for n in graph["nodes"] if n["op"] == "Dense"]
    assert all(n["precision"]["weight"] == "ap_fixed<18,8>" for n in dense)
    # the written config reproduces the same project
    proc2 = run("convert", JET, "-o", tmp_path / "prj2", "-c", prj / "nn2hls_config.yml", "--calibration", JET_X)
    assert proc2.returncode == 0, proc2.stderr
    assert (tmp_path / "prj2" / "nn2hls_graph.json").read_text() == (prj / "nn2hls_graph.json").read_text()


def test_convert_refuses_existing_folder_without_force(tmp_path):
    out = tmp_path / "prj"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    assert_user_error(run("convert", JET, "-o", out), f"output folder '{out}' already exists", "--force")
    assert (out / "mine.txt").read_text() == "user data"
    proc = run("convert", JET, "-o", out, "--force", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert (out / "mine.txt").read_text() == "user data"  # --force writes nn2hls's files, deletes nothing else
    assert "note:" not in proc.stderr  # --quiet


def test_convert_default_output_and_interval_note(tmp_path):
    proc = run("convert", JET, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "jet_mlp_hls" / "nn2hls_graph.json").is_file()
    assert "no calibration data" in proc.stderr
    assert "\r" not in proc.stderr  # no progress lines when stderr is not a terminal


def test_missing_and_corrupt_model(tmp_path):
    assert_user_error(run("convert", tmp_path / "nope.onnx", "-o", tmp_path / "o"), "nope.onnx", "does not exist")
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not protobuf" * 10)
    assert_user_error(run("convert", bad, "-o", tmp_path / "o"), "broken.onnx")
    assert not (tmp_path / "o").exists()
    assert_user_error(run("report", tmp_path), "not an nn2hls project")


def test_unsupported_op(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], np.eye(4, dtype=np.float32).ravel().tolist())
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
             helper.make_node("Cos", ["h"], ["y"], name="my_cos")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializer=[w]),
                              opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "cos.onnx"
    onnx.save(model, path)
    assert_user_error(run("convert", path, "-o", tmp_path / "o"), "Cos")


def test_bad_config_key_and_value(tmp_path):
    cfg = tmp_path / "c.yml"
    cfg.write_text("backend: vivado\nreuse_factr: 2\n")
    assert_user_error(run("convert", JET, "-o", tmp_path / "o", "-c", cfg), "unknown key 'reuse_factr'",
                      "valid keys: project_name, backend")
    cfg.write_text("precision:\n  default:\n    weight: ap_fixed<8\n")
    assert_user_error(run("convert", JET, "-o", tmp_path / "o", "-c", cfg), "'precision.default.weight'",
                      "invalid fixed-point type")
    assert_user_error(run("convert", JET, "-o", tmp_path / "o", "--precision", "fixed<"), "--precision",
                      "invalid fixed-point type")
    assert_user_error(run("convert", JET, "-o", tmp_path / "o", "-c", tmp_path / "none.yml"), "does not exist")


def test_wrong_input_shape_and_missing_input(tmp_path):
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((10, 15), dtype=np.float32))
    assert_user_error(run("check", JET, "--input", bad), "shape (10, 15)", "expects (N, 16)")
    assert_user_error(run("emulate", JET, "--input", bad, "--output", tmp_path / "y.npy"), "expects (N, 16)")
    assert_user_error(run("check", JET, "--input", tmp_path / "missing.npy"), "missing.npy", "does not exist")
    text = tmp_path / "t.npy"
    text.write_text("not numpy")
    assert_user_error(run("check", JET, "--input", text), "t.npy' is not a numpy file", ".npy (np.save) or .npz")


def test_report_and_emulate_on_project(tmp_path):
    prj = tmp_path / "prj"
    assert run("convert", EXAMPLES / "jet_mlp_pruned.onnx", "-o", prj, "--calibration", JET_X).returncode == 0
    proc = run("report", prj, "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    for key in ("name", "op", "weights", "nonzero_weights", "multiplies", "dsp", "adders", "latency_cycles"):
        assert all(key in layer for layer in rep["layers"]), key
    for key in ("weights", "nonzero_weights", "multiplies", "dsp", "adders", "latency_cycles"):
        assert key in rep["totals"]
    assert rep["totals"]["sparsity"] >= 0.7
    text = run("report", prj)
    assert text.returncode == 0 and "removed by zero weights" in text.stdout
    y_path = tmp_path / "y.npy"
    proc = run("emulate", prj, "--input", JET_X, "--output", y_path)
    assert proc.returncode == 0, proc.stderr
    from nn2hls.pipeline import CompiledModel

    np.testing.assert_array_equal(np.load(y_path), CompiledModel.from_project(prj).emulate(np.load(JET_X)))
    assert_user_error(run("emulate", prj, "--input", JET_X, "--output", y_path), "already exists", "--force")
    assert run("emulate", prj, "--input", JET_X, "--output", y_path, "--force").returncode == 0


def test_report_and_emulate_on_model(tmp_path):
    proc = run("report", EXAMPLES / "digits_cnn.onnx", "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert [layer["op"] for layer in rep["layers"] if layer["op"] in ("Conv", "Pool", "Dense")] == \
        ["Conv", "Pool", "Dense"]
    proc = run("emulate", EXAMPLES / "digits_cnn.onnx", "--input", EXAMPLES / "digits_input.npy",
               "--output", tmp_path / "d.npy")
    assert proc.returncode == 0, proc.stderr
    assert "using the 500 input samples as calibration data" in proc.stderr
    y = np.load(tmp_path / "d.npy")
    labels = np.load(EXAMPLES / "digits_labels.npy")
    assert y.shape == (500, 10) and np.mean(y.argmax(1) == labels) > 0.9


def test_debug_shows_traceback(tmp_path):
    proc = run("--debug", "convert", tmp_path / "nope.onnx")
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "error: " in proc.stderr


@pytest.mark.csim
@needs_cxx
@pytest.mark.parametrize("model, data", [("jet_mlp_pruned.onnx", "jet_mlp_input.npy"),
                                         ("digits_cnn.onnx", "digits_input.npy")])
def test_check_json(model, data):
    proc = run("check", EXAMPLES / model, "--input", EXAMPLES / data, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    for key in ("samples", "bit_exact", "mismatches", "max_abs_err", "mean_abs_err", "argmax_agreement",
                "overflows", "build_s", "csim_samples_per_s", "emulator_samples_per_s"):
        assert key in result, key
    assert result["bit_exact"] is True and result["mismatches"] == 0
    assert result["argmax_agreement"] > 0.95 and result["float_reference"] == "onnxruntime"
    assert "as calibration data" in proc.stderr


@pytest.mark.csim
@needs_cxx
def test_check_summary_and_csim_command(tmp_path):
    proc = run("check", JET, "--input", JET_X, "--calibration", JET_X)
    assert proc.returncode == 0, proc.stderr
    assert "C-sim vs emulator:   BIT-EXACT" in proc.stdout and "argmax agreement" in proc.stdout
    assert "as calibration data" not in proc.stderr
    prj = tmp_path / "prj"
    assert run("convert", JET, "-o", prj, "--calibration", JET_X).returncode == 0
    y_c, y_e = tmp_path / "c.npy", tmp_path / "e.npy"
    assert run("csim", prj, "--input", JET_X, "--output", y_c).returncode == 0
    assert run("emulate", prj, "--input", JET_X, "--output", y_e).returncode == 0
    np.testing.assert_array_equal(np.load(y_c), np.load(y_e))  # emulate PROJECT == its C-sim, bit for bit
    bad = tmp_path / "x.npy"
    np.save(bad, np.zeros((3, 4)))
    assert_user_error(run("csim", prj, "--input", bad, "--output", tmp_path / "z.npy"), "expects (N, 16)")
    assert_user_error(run("csim", tmp_path / "nothere", "--input", JET_X, "--output", tmp_path / "z.npy"),
                      "does not exist")
