"""`nn2hls check` picks the float reference the issue asks for and says which one it used.

Keras files: Keras itself when it can run (the torch backend is installed for the tests), compared
against the IR float executor's own answer; QONNX files, which onnxruntime cannot run: the IR float
executor (the QONNX definition), with a note saying so. Both through the real console script.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]

pytestmark = pytest.mark.csim


def _check(model: Path, x: np.ndarray, tmp_path: Path) -> tuple[dict, str]:
    inputs = tmp_path / "x.npy"
    np.save(inputs, x)
    proc = subprocess.run([*BASE, "check", str(model), "--input", str(inputs), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_keras_file_uses_keras_as_reference(tmp_path: Path) -> None:
    from nn2hls.frontends.keras_reference import import_keras

    keras, why = import_keras()
    if keras is None:
        pytest.skip(why)
    fixture = REPO / "tests" / "fixtures" / "keras" / "cnn2d.keras"
    x = np.load(fixture.with_suffix(".npz"))["x"]
    result, _ = _check(fixture, x, tmp_path)
    assert result["float_reference"].startswith("keras ")
    assert result["bit_exact"] is True
    assert result["max_abs_err"] < 0.05 and result["argmax_agreement"] == 1.0


def test_qonnx_file_falls_back_to_the_ir_executor(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "quant"))
    try:
        from quant_models import qonnx_mlp
    finally:
        sys.path.pop(0)
    model = qonnx_mlp([8, 16, 4])
    model = model[0] if isinstance(model, tuple) else model
    path = tmp_path / "q.onnx"
    onnx.save(model, path)
    x = np.random.default_rng(0).normal(size=(200, 8))
    result, stderr = _check(path, x, tmp_path)
    assert result["float_reference"] == "nn2hls IR float executor"
    assert "onnxruntime cannot run" in stderr
    assert result["bit_exact"] is True
    # power-of-two QONNX scales: the fixed-point model computes the QONNX definition exactly
    # (tests/quant checks the emulator against an independent numpy evaluation of the same graph)
    assert result["max_abs_err"] == 0.0
