"""`nn2hls check` (and `nn2hls.check`, `nn2hls.testing`) on tiny models whose numbers are known by hand.

- A batch-1 ONNX Gemm (torch.onnx.export's default convention) checked on 7 samples: exit 0, exact.
- "flip": y0 = 0.5, y1 = x with every type ap_fixed<4,2> (AP_TRN, lsb 0.25). For x = 0.6, 0.7, 0.3, 0.2
  the fixed-point y1 is 0.5, 0.5, 0.25, 0: the float argmax is 1, 1, 0, 0 and the fixed one (ties go to
  index 0) 0, 0, 0, 0, so the argmax agreement is 2/4 = 0.5; the errors of y1 are 0.1, 0.2, 0.05, 0.2,
  so max abs error 0.2 and mean 0.55 / 8 = 0.06875. x = 3.0 wraps in the input type (max 1.75): one
  unintended overflow.
- "qdq": x -> QuantizeLinear(s = 1/8, uint8) -> Dequantize -> Gemm(diag(1, -1), int8) -> QuantizeLinear
  (s = 1/4, uint8) -> Dequantize. For x = (-1, 0.5), (40, 10), (2, -3): the input quantizer clamps -1, 40
  and -3 (3 clamps; 40 also saturates the input type at 32, which is the quantizer's clamp done early:
  1 more), and the output quantizer clamps -0.5 and -10 to 0 (2 clamps): 6 quantizer clamps, 0
  overflows; the result equals onnxruntime's exactly.
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
import yaml
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]
FLIP_X = np.array([[0.6], [0.7], [0.3], [0.2]])
QDQ_X = np.array([[-1.0, 0.5], [40.0, 10.0], [2.0, -3.0]])
NARROW = {"precision": {"input": "ap_fixed<4,2>", "default": {"weight": "ap_fixed<4,2>", "bias": "ap_fixed<4,2>",
                                                              "result": "ap_fixed<4,2>"}}}

pytestmark = pytest.mark.csim


def run(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, NN2HLS_QUIET="")
    return subprocess.run([*BASE, *map(str, args)], capture_output=True, text=True, timeout=600, env=env)


def gemm(batch, w, b) -> onnx.ModelProto:
    w, b = np.asarray(w, np.float32), np.asarray(b, np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, w.shape[1]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, w.shape[0]])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def qdq() -> onnx.ModelProto:
    inits = [numpy_helper.from_array(np.array(0.125, np.float32), "sx"),
             numpy_helper.from_array(np.array(0, np.uint8), "zx"),
             numpy_helper.from_array(np.array([[1, 0], [0, -1]], np.int8), "wq"),
             numpy_helper.from_array(np.array(1.0, np.float32), "sw"),
             numpy_helper.from_array(np.array(0, np.int8), "zw"),
             numpy_helper.from_array(np.array(0.25, np.float32), "sy"),
             numpy_helper.from_array(np.array(0, np.uint8), "zy")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"]),
             helper.make_node("DequantizeLinear", ["wq", "sw", "zw"], ["w"]),
             helper.make_node("Gemm", ["xd", "w"], ["h"], transB=1),
             helper.make_node("QuantizeLinear", ["h", "sy", "zy"], ["hq"]),
             helper.make_node("DequantizeLinear", ["hq", "sy", "zy"], ["y"])]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.fixture
def flip(tmp_path: Path) -> dict[str, Path]:
    onnx.save(gemm(1, [[0.0], [1.0]], [0.5, 0.0]), tmp_path / "flip.onnx")
    np.save(tmp_path / "x.npy", FLIP_X)
    (tmp_path / "narrow.yml").write_text(yaml.safe_dump(NARROW))
    return {"model": tmp_path / "flip.onnx", "x": tmp_path / "x.npy", "config": tmp_path / "narrow.yml"}


def _json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_batch_1_model_from_the_default_torch_export_convention(tmp_path):
    # y0 = 2*x0 + 0.5, y1 = x0 - x1 - 1 on integer samples: exact in fixed point
    onnx.save(gemm(1, [[2.0, 0.0], [1.0, -1.0]], [0.5, -1.0]), tmp_path / "b1.onnx")
    x = np.array([[1, 2], [3, 4], [0, 0], [-1, 5], [2, 2], [7, -3], [4, 1]], dtype=np.float64)
    np.save(tmp_path / "x.npy", x)
    proc = run("check", tmp_path / "b1.onnx", "--input", tmp_path / "x.npy", "--json")
    assert proc.returncode == 0, proc.stderr
    result = _json(proc)
    assert result["float_reference"] == "onnxruntime, 7 chunks of the file's fixed batch 1"
    assert result["bit_exact"] is True and result["samples"] == 7
    assert result["max_abs_err"] == 0.0 and result["argmax_agreement"] == 1.0


def test_no_gates_warns_loudly_but_passes(flip):
    proc = run("check", flip["model"], "--input", flip["x"], "-c", flip["config"], "--json")
    assert proc.returncode == 0, proc.stderr
    result = _json(proc)
    assert result["argmax_agreement"] == 0.5
    assert result["max_abs_err"] == pytest.approx(0.2, abs=1e-7)
    assert result["mean_abs_err"] == pytest.approx(0.06875, abs=1e-7)
    assert result["gates"] == {} and result["failed_gates"] == [] and result["passed"] is True
    assert "warning: argmax agreement with the float reference is only 50.00% (< 99%)" in proc.stderr
    assert result["warnings"] and result["warnings"][-1].startswith("argmax agreement with the float reference")


def test_gates_pass_and_fail_with_exit_codes(flip):
    common = ["check", flip["model"], "--input", flip["x"], "-c", flip["config"], "--json"]
    ok = run(*common, "--min-agreement", "0.5", "--max-error", "0.25")
    assert ok.returncode == 0, ok.stderr
    result = _json(ok)
    assert result["gates"]["min_agreement"] == {"threshold": 0.5, "value": 0.5, "passed": True}
    assert result["gates"]["max_error"]["passed"] is True and result["failed_gates"] == []
    assert "warning: argmax" not in ok.stderr  # the gate replaces the warning

    missed = run(*common, "--min-agreement", "0.75", "--max-error", "0.1")
    assert missed.returncode == 1, missed.stderr
    result = _json(missed)
    assert result["bit_exact"] is True and result["passed"] is False
    assert result["gates"]["min_agreement"] == {"threshold": 0.75, "value": 0.5, "passed": False}
    assert result["failed_gates"] == ["argmax agreement 0.5000 < min_agreement 0.75",
                                      "max abs error 0.2 > max_error 0.1"]
    text = run(*common[:-1], "--max-error", "0.1")
    assert text.returncode == 1
    assert "FAILED: max abs error 0.2 > max_error 0.1" in text.stdout

    bad = run(*common, "--min-agreement", "1.5")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith(
        "error: min_agreement (--min-agreement) is 1.5: give a fraction in [0, 1]")


def test_unintended_overflow_is_counted_and_warned(flip):
    import nn2hls

    seen = []
    x = np.array([[0.5], [3.0]])  # 3.0 wraps in ap_fixed<4,2> (max 1.75)
    result = nn2hls.check(flip["model"], x, config=NARROW, log=lambda kind, text: seen.append((kind, text)))
    assert result.overflows == {"x": 1, "y": 0} and result.quantizer_clamps == {}
    assert ("warning", result.warnings[-1]) in seen
    assert result.warnings[-1].startswith("1 values saturated or wrapped where no quantizer asks for it (x: 1)")


def test_quantizer_clamps_are_not_overflows(tmp_path):
    onnx.save(qdq(), tmp_path / "qdq.onnx")
    np.save(tmp_path / "x.npy", QDQ_X)
    proc = run("check", tmp_path / "qdq.onnx", "--input", tmp_path / "x.npy", "--json")
    assert proc.returncode == 0, proc.stderr
    result = _json(proc)
    assert sum(result["overflows"].values()) == 0
    assert sum(result["quantizer_clamps"].values()) == 6
    assert sorted(result["quantizer_clamps"].values()) == [1, 2, 3]  # input type, input quantizer, output
    assert result["max_abs_err"] == 0.0 and result["float_reference"] == "onnxruntime"
    assert "warning" not in proc.stderr
    text = run("check", tmp_path / "qdq.onnx", "--input", tmp_path / "x.npy")
    assert "  overflows:           none (no value saturated or wrapped unintentionally)" in text.stdout
    assert "(clamped to the quantizer's range, as the model defines)" in text.stdout


def test_float_reference_failure_is_exit_2_with_onnxruntime_s_reason(tmp_path):
    model = gemm("n", [[1.0]], [0.0])
    model.ir_version = 99
    onnx.save(model, tmp_path / "future.onnx")
    np.save(tmp_path / "x.npy", FLIP_X)
    proc = run("check", tmp_path / "future.onnx", "--input", tmp_path / "x.npy")
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: onnxruntime cannot load") and "IR version: 99" in last
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_csv_input_names_the_file_and_formats(tmp_path, flip):
    (tmp_path / "x.csv").write_text("0.5\n0.25\n")
    proc = run("check", flip["model"], "--input", tmp_path / "x.csv")
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: input file '{tmp_path / 'x.csv'}' is a '.csv' file; nn2hls reads samples "
                           "from .npy (np.save) or .npz")


def test_testing_helpers_apply_the_same_gates(flip, tmp_path):
    from nn2hls.testing import assert_bit_exact, assert_check

    result = assert_check(flip["model"], FLIP_X, config=NARROW, min_agreement=0.5, max_error=0.25)
    assert result.argmax_agreement == 0.5
    with pytest.raises(AssertionError, match=r"argmax agreement 0.5000 < min_agreement 0.75"):
        assert_check(flip["model"], FLIP_X, config=NARROW, min_agreement=0.75)
    onnx.save(qdq(), tmp_path / "qdq.onnx")
    assert_bit_exact(tmp_path / "qdq.onnx", QDQ_X)


def test_testing_and_check_are_attributes_of_the_package():
    code = ("import sys, nn2hls; assert 'nn2hls.testing' not in sys.modules; "
            "f = nn2hls.testing.assert_check; import nn2hls.checker; "
            "print(nn2hls.check.__module__, nn2hls.CheckResult.__name__, f.__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["nn2hls.checker", "CheckResult", "assert_check"]


def _run_testbench(project: Path) -> str:
    from nn2hls.csim.toolchain import find_compiler
    from nn2hls.resources import hls_lib_dir

    exe = project / "tb_run"
    sources = sorted(str(p.relative_to(project)) for p in (project / "firmware").glob("*.cpp"))
    subprocess.run([*find_compiler(), "-O1", "-std=c++20", "-I", str(hls_lib_dir()), "-o", str(exe),
                    *map(str, (project / "tb").glob("*_test.cpp")), *sources],
                   cwd=project, check=True, capture_output=True)
    return subprocess.run([str(exe)], cwd=project, capture_output=True, text=True).stdout


def test_convert_testbench_always_has_samples(flip, tmp_path):
    drawn = tmp_path / "drawn"
    proc = run("convert", flip["model"], "-o", drawn)
    assert proc.returncode == 0, proc.stderr
    assert ("note: no calibration data: the testbench holds 100 samples drawn across the input type's range"
            in proc.stderr)
    rows = (drawn / "tb_data" / "tb_input.dat").read_text().splitlines()
    assert len(rows) == 100 and len((drawn / "tb_data" / "tb_output.dat").read_text().splitlines()) == 100
    readme = (drawn / "README.md").read_text()
    assert "`tb_input.dat` holds 100 samples: drawn uniformly at random (seed 0) across the input type" in readme
    assert "nn2hls testbench: 100 samples, 0 mismatching values" in _run_testbench(drawn)

    calibrated = tmp_path / "calibrated"
    proc = run("convert", flip["model"], "-o", calibrated, "--calibration", flip["x"])
    assert proc.returncode == 0, proc.stderr
    assert "no calibration data" not in proc.stderr
    rows = (calibrated / "tb_data" / "tb_input.dat").read_text().splitlines()
    assert [float(r) for r in rows] == [0.6, 0.7, 0.3, 0.2]
    assert ("`tb_input.dat` holds 4 samples: the first 4 of the 4 samples of the calibration data"
            in (calibrated / "README.md").read_text())


def test_vendor_headers_have_one_fetch_command():
    script = REPO / "scripts" / "fetch_ap_types.sh"
    assert os.access(script, os.X_OK)
    assert "scripts/fetch_ap_types.sh" in (REPO / ".ci" / "run").read_text()
    assert 'export NN2HLS_AP_TYPES="$(scripts/fetch_ap_types.sh)"' in (REPO / "README.md").read_text()


def test_library_check_of_a_torch_module_uses_torch_as_reference():
    torch = pytest.importorskip("torch")
    import nn2hls

    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    with torch.no_grad():  # relu(2*x0 + 0.5), relu(x0 - x1 - 1): exact in fixed point on integer samples
        module[0].weight[:] = torch.tensor([[2.0, 0.0], [1.0, -1.0]])
        module[0].bias[:] = torch.tensor([0.5, -1.0])
    x = np.array([[1, 2], [3, 4], [0, 0], [-1, 5], [2, 2], [7, -3], [4, 1]], dtype=np.float64)
    result = nn2hls.check(module, x)
    assert result.float_reference.startswith("torch ")
    assert result.bit_exact and result.max_abs_err == 0.0 and result.passed
    assert set(result.as_dict()) >= {"samples", "bit_exact", "mismatches", "max_abs_err", "mean_abs_err",
                                     "argmax_agreement", "overflows", "quantizer_clamps", "build_s",
                                     "csim_samples_per_s", "emulator_samples_per_s", "gates", "failed_gates"}
