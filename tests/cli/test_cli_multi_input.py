"""The command line with a model of two inputs and two outputs (DESIGN.md, command-line section):
`--input` once per input in the model's input order or one .npz keyed by input name, several outputs
written as one .npz keyed by output name, and the exit-2 error for a wrong number of inputs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]
needs_cxx = pytest.mark.skipif(shutil.which(os.environ.get("NN2HLS_CXX", os.environ.get("CXX", "g++")))
                               is None, reason="no C++ compiler")


def run(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*BASE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def assert_user_error(proc, *fragments):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in last, (fragment, last)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """An ONNX file with inputs a (3,), b (2,) and outputs h = Relu(a @ W + b @ V), d = a @ U - b."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("multi")
    w = {"W": rng.normal(size=(3, 4)), "V": rng.normal(size=(2, 4)), "U": rng.normal(size=(3, 2))}
    nodes = [helper.make_node("MatMul", ["a", "W"], ["aw"]), helper.make_node("MatMul", ["b", "V"], ["bv"]),
             helper.make_node("Add", ["aw", "bv"], ["s"]), helper.make_node("Relu", ["s"], ["h"]),
             helper.make_node("MatMul", ["a", "U"], ["au"]), helper.make_node("Sub", ["au", "b"], ["d"])]
    graph = helper.make_graph(
        nodes, "two_io",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 2])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", 4]),
         helper.make_tensor_value_info("d", TensorProto.FLOAT, ["N", 2])],
        initializer=[numpy_helper.from_array(v.astype(np.float32), k) for k, v in w.items()])
    path = folder / "two_io.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    xa, xb = rng.normal(size=(300, 3)), rng.normal(size=(300, 2))
    np.save(folder / "xa.npy", xa)
    np.save(folder / "xb.npy", xb)
    np.savez(folder / "x.npz", b=xb, a=xa)
    # the float model written down with numpy (float32 weights, as stored)
    f = {k: v.astype(np.float32).astype(np.float64) for k, v in w.items()}
    ref = {"h": np.maximum(xa @ f["W"] + xb @ f["V"], 0), "d": xa @ f["U"] - xb}
    return folder, path, ref


@needs_cxx
def test_check_with_repeated_input(model):
    folder, path, _ = model
    proc = run("check", path, "--input", folder / "xa.npy", "--input", folder / "xb.npy", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["bit_exact"] and result["samples"] == 300
    assert result["float_reference"] == "onnxruntime"
    assert result["max_abs_err"] < 0.02


def test_emulate_npz_input_writes_npz_by_output_name(model, tmp_path):
    folder, path, ref = model
    out = tmp_path / "y.npz"
    proc = run("emulate", path, "--input", folder / "x.npz", "--output", out)
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as y:
        assert sorted(y.files) == ["d", "h"]
        for name in ("h", "d"):
            assert y[name].shape == ref[name].shape
            assert np.abs(y[name] - ref[name]).max() < 0.02
    # the same numbers from two .npy files given in input order; a .npy name becomes .npz, with a note
    proc = run("emulate", path, "--input", folder / "xa.npy", "--input", folder / "xb.npy",
               "--output", tmp_path / "z.npy")
    assert proc.returncode == 0, proc.stderr
    assert "writing them to" in proc.stderr and (tmp_path / "z.npz").is_file()
    with np.load(out) as y, np.load(tmp_path / "z.npz") as z:
        for name in ("h", "d"):
            np.testing.assert_array_equal(y[name], z[name])


def test_wrong_number_of_inputs_is_exit_2(model, tmp_path):
    folder, path, _ = model
    proc = run("emulate", path, "--input", folder / "xa.npy", "--output", tmp_path / "y.npz")
    assert_user_error(proc, "model 'two_io' has 2 inputs ('a' (N, 3), 'b' (N, 2)) but 1 input file was given",
                      "give --input once per input in this order, or one .npz keyed by input name")
    proc = run("check", path, *["--input", folder / "xa.npy"] * 3)
    assert_user_error(proc, "has 2 inputs ('a' (N, 3), 'b' (N, 2)) but 3 input files were given")
    # swapped order: the shapes say which input is wrong
    proc = run("emulate", path, "--input", folder / "xb.npy", "--input", folder / "xa.npy",
               "--output", tmp_path / "y.npz")
    assert_user_error(proc, f"input '{folder / 'xb.npy'}' (input 'a') has shape (300, 2); model 'two_io' "
                            "expects (N, 3)")
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.zeros((5, 3)), c=np.zeros((5, 2)))
    proc = run("emulate", path, "--input", bad, "--output", tmp_path / "y.npz")
    assert_user_error(proc, "has no array for input 'b'; the model's inputs are 'a' (N, 3), 'b' (N, 2)")
    assert not (tmp_path / "y.npz").exists()


@needs_cxx
def test_convert_two_calibrations_then_csim_npz(model, tmp_path):
    folder, path, _ = model
    project = tmp_path / "prj"
    proc = run("convert", path, "-o", project, "--calibration", folder / "xa.npy",
               "--calibration", folder / "xb.npy")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    assert manifest["input_names"] == ["a", "b"] and manifest["input_shapes"] == [[3], [2]]
    assert len((project / "tb_data" / "tb_input.dat").read_text().splitlines()[0].split()) == 5
    proc = run("csim", project, "--input", folder / "x.npz", "--output", tmp_path / "c.npz")
    assert proc.returncode == 0, proc.stderr
    proc = run("emulate", project, "--input", folder / "xa.npy", "--input", folder / "xb.npy",
               "--output", tmp_path / "e.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "c.npz") as c, np.load(tmp_path / "e.npz") as e:
        assert sorted(c.files) == ["d", "h"]
        for name in c.files:
            np.testing.assert_array_equal(c[name], e[name])
    proc = run("report", project, "--json")
    report = json.loads(proc.stdout)
    assert [i["name"] for i in report["inputs"]] == ["a", "b"]
    assert [i["shape"] for i in report["inputs"]] == [[3], [2]]
    text = run("report", project).stdout
    assert "inputs a 3 ap_fixed<" in text and ", b 2 ap_fixed<" in text


def test_single_input_npz_and_single_output_npy(tmp_path):
    """A one-input model also takes an .npz holding one array; its one output stays a plain .npy."""
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "example_models"
    x = np.load(examples / "jet_mlp_input.npy")[:50]
    np.savez(tmp_path / "x.npz", anything=x)
    np.save(tmp_path / "x.npy", x)
    for given, out in (("x.npz", "a.npy"), ("x.npy", "b.npy")):
        proc = run("emulate", examples / "jet_mlp.onnx", "--input", tmp_path / given, "--output", tmp_path / out)
        assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    assert np.load(tmp_path / "a.npy").shape == (50, 5)
