"""`nn2hls report ... | head`: when the reader of stdout leaves, the command stops quietly with 141 (128 +
SIGPIPE, what a shell reports for such a tool) instead of printing `error: cannot access: Broken pipe`."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "example_models"
SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]


def test_closed_stdout_is_quiet():
    proc = subprocess.Popen([*BASE, "report", str(EXAMPLES / "jet_mlp.onnx"), "--json", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command has written anything: its first write fails
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141 and "error" not in stderr and "Traceback" not in stderr, stderr
