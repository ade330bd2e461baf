"""`nn2hls check --io-type/--backend`: check verifies the design convert would write with the same
options (before, check had neither option and a stream design could only be checked through a config
file). The JSON says which interface and backend ran; the summary names io_stream."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "example_models"
SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]
pytestmark = [pytest.mark.csim,
              pytest.mark.skipif(shutil.which(os.environ.get("NN2HLS_CXX", os.environ.get("CXX", "g++"))) is None,
                                 reason="no C++ compiler")]


def _check(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*BASE, "check", *map(str, args)], capture_output=True, text=True, timeout=600)


def test_check_io_stream_option(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.load(EXAMPLES / "digits_input.npy")[:40])
    model = EXAMPLES / "digits_cnn.onnx"
    proc = _check(model, "--input", x, "--io-type", "io_stream", "--backend", "vitis", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["io_type"], result["backend"], result["bit_exact"]) == ("io_stream", "vitis", True)
    config = tmp_path / "c.yml"
    config.write_text("io_type: io_stream\n")
    proc = _check(model, "--input", x, "-c", config, "--io-type", "io_parallel", "--json")  # the option wins
    assert proc.returncode == 0 and json.loads(proc.stdout)["io_type"] == "io_parallel", proc.stderr
    proc = _check(model, "--input", x, "-c", config)
    assert proc.returncode == 0 and proc.stdout.splitlines()[0].endswith("40 samples (io_stream)"), proc.stdout
    proc = _check(model, "--input", x, "--io-type", "io_streams")
    assert proc.returncode == 2 and "invalid choice: 'io_streams'" in proc.stderr, proc.stderr
