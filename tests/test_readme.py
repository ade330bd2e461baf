"""The README's set-up command and Python example run as written, so they cannot rot.

The first shell command's `nn2hls ...` part (the install is what the test environment already did)
runs through the real console script in a scratch folder that links to the example models; the
first Python block runs verbatim there. Both must produce a bit-exact project. The compression block
needs the user's data and minutes of training: its calls are checked against the real signatures.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "example_models").symlink_to(REPO / "example_models")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _console_script() -> list[str]:
    script = shutil.which("nn2hls")
    return [script] if script else [sys.executable, "-m", "nn2hls"]


def test_readme_opens_with_install_and_test_commands() -> None:
    first = _blocks("bash")[0].strip().splitlines()
    assert len(first) == 2
    assert first[0].startswith("pip install . && nn2hls convert example_models/")
    assert first[1] == 'pip install ".[test]" && pytest -n 2'
    assert "pytest -n 2" in (REPO / ".ci" / "run").read_text()


@pytest.mark.csim
def test_readme_convert_command(scratch: Path) -> None:
    command = _blocks("bash")[0].strip().splitlines()[0].split("&&", 1)[1]
    args = shlex.split(command)
    assert args[0] == "nn2hls"
    done = subprocess.run(_console_script() + args[1:], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out_dir = scratch / args[args.index("-o") + 1]
    assert (out_dir / "build_prj.tcl").is_file()
    assert any((out_dir / "firmware").glob("*.cpp"))


@pytest.mark.csim
def test_readme_python_example(scratch: Path) -> None:
    code = _blocks("python")[0]
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    x = namespace["x"]
    assert np.array_equal(namespace["simulator"].predict(x), namespace["y"])
    assert (scratch / "jet_mlp_api_prj").is_dir()


@pytest.mark.csim
def test_readme_compress_example_runs_as_written(scratch: Path) -> None:
    """The compress section's Python block, then its command line, verbatim in a scratch folder: both
    end in a compiled model that the C simulation reproduces bit for bit."""
    torch = pytest.importorskip("torch")
    (code,) = [b for b in _blocks("python") if "compress(" in b]
    assert "nn2hls.compress.compress(" in code
    namespace: dict = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: more threads only contend on the shared CI cores
    try:
        exec(compile(code, str(README), "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    result = namespace["result"]
    assert result.check.mismatches == 0 and result.final["sparsity"] > 0.3
    assert (scratch / "prj" / "firmware").is_dir() and (scratch / "compressed" / "history.csv").is_file()
    (command,) = [b.strip() for b in _blocks("bash") if b.strip().startswith("nn2hls compress ")]
    args = shlex.split(command)
    done = subprocess.run(_console_script() + args[1:], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    assert (scratch / "compressed_cli" / "compressed.onnx").is_file()
