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


def test_readme_compress_example_matches_the_api() -> None:
    import ast
    import dataclasses
    import inspect

    pytest.importorskip("torch")
    from nn2hls.compress import flow

    (code,) = [b for b in _blocks("python") if "compress(" in b]
    tree = ast.parse(code)
    assert "from nn2hls.compress.flow import compress" in code
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "compress"]
    assert len(calls) == 1
    params = inspect.signature(flow.compress).parameters
    assert {k.arg for k in calls[0].keywords} <= set(params)
    fields = {f.name for f in dataclasses.fields(flow.CompressResult)} | {"final"}
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "result"}
    assert used and used <= fields
