"""A folder given where a model file is expected (`nn2hls check PROJECT`, the slip of a user who just
converted): one line saying it is a project and which commands read projects, not "unknown suffix ''"."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "example_models"
SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*BASE, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_folder_as_model(tmp_path):
    prj = tmp_path / "prj"
    assert _run("convert", EXAMPLES / "jet_mlp.onnx", "-o", prj, "-q").returncode == 0
    proc = _run("check", prj, "--input", EXAMPLES / "jet_mlp_input.npy")
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and last.startswith(f"error: '{prj}' is an nn2hls project folder, not a model "
                                                    "file") and "emulate" in last, proc.stderr
    folder = tmp_path / "not_a_model"
    folder.mkdir()
    proc = _run("convert", folder, "-o", tmp_path / "o")
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and "is a folder, not a model file; supported: .onnx" in last, proc.stderr
