"""`nn2hls lint` without the vendor headers (no --ap-types, no NN2HLS_AP_TYPES): the synthesis view is
compiled against nn2hls's own hls_lib ap types, which need C++17 (lint.cxx_standard). A new user's
first `nn2hls lint` takes this path; it must lint, not fail in clang. A clean project passes and a
hand-written defect (a weight read at a data-dependent address) is still found on the project's line.
Needs clang++ (14+) only.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import backend_models  # noqa: E402
from nn2hls.backends.vivado import write_project
from nn2hls.backends.vivado.lint import CLANG_NAMES
from nn2hls.config import Config

HAVE_CLANG = bool(os.environ.get("NN2HLS_CLANG")) or any(shutil.which(n) for n in CLANG_NAMES)
pytestmark = pytest.mark.skipif(not HAVE_CLANG, reason="clang++ is not installed (apt-get install clang): the "
                                "synthesizability lint compiles the synthesis view to LLVM IR with it")


def _lint(project: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NN2HLS_AP_TYPES"}
    return subprocess.run([sys.executable, "-m", "nn2hls", "lint", str(project)], capture_output=True, text=True,
                          env=env)


def test_lint_with_own_headers(tmp_path):
    project = write_project(backend_models.tiny_mlp(), Config(), tmp_path / "tiny")
    run = _lint(project)
    assert run.returncode == 0 and "no recursion" in run.stdout, run.stdout + run.stderr

    layer = project / "firmware" / "layer_fc1.cpp"
    head, tail = layer.read_text().rsplit("}", 1)
    statement = "  y[1] = bias[x0[2].to_int() & 3];"
    layer.write_text(head + statement + "\n}" + tail)
    line = layer.read_text().splitlines().index(statement) + 1
    run = _lint(project)
    assert run.returncode == 1 and run.stdout.startswith(f"array: firmware/layer_fc1.cpp:{line}"), \
        run.stdout + run.stderr
