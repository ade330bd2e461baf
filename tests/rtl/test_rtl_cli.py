"""The command line of the Verilog flow: convert --backend verilog, rtlsim (== emulate PROJECT bit for bit),
synth --json, report (estimate next to synthesis), and the one-line errors."""
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

sys.path.insert(0, str(Path(__file__).parent))
import rtl_models  # noqa: E402
from rtl_models import needs_iverilog, needs_yosys  # noqa: E402

SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]


def run(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, NN2HLS_QUIET="")
    return subprocess.run([*BASE, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    m = rtl_models.onnx_model([onnx.helper.make_node("Gemm", ["x", "w", "b"], ["h"]),
                               onnx.helper.make_node("Relu", ["h"], ["y"])],
                              {"w": rng.normal(size=(6, 4)), "b": rng.normal(size=4)}, 6, 4, "small")
    onnx.save(m, folder / "small.onnx")
    np.save(folder / "x.npy", rng.normal(size=(25, 6)) * 2)
    return folder


@needs_iverilog
def test_convert_rtlsim_equals_emulate(model):
    out = model / "v"
    proc = run("convert", model / "small.onnx", "-o", out, "--backend", "verilog", "--calibration", model / "x.npy")
    assert proc.returncode == 0, proc.stderr
    # 'small' is a Verilog keyword (a charge strength): the top module becomes small_top
    assert (out / "rtl" / "small_top.v").is_file() and "verilog" in proc.stdout and "nn2hls rtlsim" in proc.stdout
    proc = run("rtlsim", out, "--input", model / "x.npy", "--output", model / "rtl.npy", "--simulator", "iverilog")
    assert proc.returncode == 0, proc.stderr
    assert run("emulate", out, "--input", model / "x.npy", "--output", model / "emu.npy").returncode == 0
    rtl, emu = np.load(model / "rtl.npy"), np.load(model / "emu.npy")
    assert rtl.shape == (25, 4) and np.array_equal(rtl, emu) and np.ptp(rtl) > 0


@needs_yosys
def test_synth_and_report_side_by_side(model):
    out = model / "s"
    assert run("convert", model / "small.onnx", "-o", out, "--backend", "verilog").returncode == 0
    proc = run("synth", out, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    products = json.loads((out / "nn2hls_project.json").read_text())["layer_multipliers"]["h"]
    assert result["layers"]["h"]["DSP"] == products > 0
    proc = run("report", out)
    assert proc.returncode == 0 and "estimate vs synthesis" in proc.stdout and "yosys DSP" in proc.stdout
    assert "synthesis" in json.loads(run("report", out, "--json").stdout)


def test_errors_are_one_line(model, tmp_path):
    x = model / "x.npy"
    proc = run("rtlsim", tmp_path, "--input", x, "--output", tmp_path / "y.npy")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: ")
    elu = rtl_models.onnx_model([onnx.helper.make_node("Gemm", ["x", "w"], ["h"]),
                                 onnx.helper.make_node("Elu", ["h"], ["y"])], {"w": np.ones((6, 4))}, 6, 4, "e")
    onnx.save(elu, tmp_path / "elu.onnx")
    proc = run("convert", tmp_path / "elu.onnx", "-o", tmp_path / "out", "--backend", "verilog")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == ("error: node 'y': activation 'elu' is not supported by the "
                                                    "Verilog backend yet; use the vivado backend")
