"""PyTorch files: torch.export `.pt2` and TorchScript `.pt`, through the API and the CLI.

Fixtures are saved in the test by torch itself (torch.export.save, torch.jit.save of a trace, torch.save
of a whole module and of a state dict). References: the module run by torch on the same samples; the
CLI `check` compares C-sim and emulator bit for bit and uses the file's own module as float reference.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")

import nn2hls  # noqa: E402
from nn2hls.errors import ModelLoadError  # noqa: E402
from nn2hls.frontends.torch_files import file_kind, torch_reference  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402

pytestmark = pytest.mark.torch
nn = torch.nn
SCRIPT = shutil.which("nn2hls")
BASE = [SCRIPT] if SCRIPT else [sys.executable, "-m", "nn2hls"]


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
    with torch.no_grad():  # non-trivial batch-norm statistics
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    return model.eval()


def _data(n: int = 40) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, 2, 6, 6))


def _torch_out(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(x, dtype=torch.float32)).numpy().astype(np.float64)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch_files")
    model = _cnn()
    example = torch.as_tensor(_data(2), dtype=torch.float32)  # a batch of 2 fixed in the .pt2 file
    torch.export.save(torch.export.export(model, (example,)), folder / "model.pt2")
    torch.jit.save(torch.jit.trace(model, example[:1]), folder / "traced.pt")
    torch.save(model, folder / "whole.pt")
    torch.save(model.state_dict(), folder / "state.pt")
    return model, folder


def test_file_kinds_from_zip_names(files):
    _, folder = files
    assert [file_kind(folder / n) for n in ("model.pt2", "traced.pt", "whole.pt", "state.pt")] == \
        ["exported", "torchscript", "pickle", "pickle"]


def test_pt2_matches_torch(files):
    model, folder = files
    x = _data()
    graph = nn2hls.load(folder / "model.pt2")
    assert graph.meta["source"] == "torch.export" and graph.input.shape == (2, 6, 6)
    ref = _torch_out(model, x)
    np.testing.assert_allclose(execute(graph, x)[0], ref, rtol=1e-5, atol=1e-5)
    # the float reference runs the program in chunks of its saved batch of 2 (41 samples: a padded last chunk)
    np.testing.assert_allclose(torch_reference(folder / "model.pt2", _data(41))[0], _torch_out(model, _data(41)),
                               rtol=1e-6, atol=1e-6)


def test_torchscript_matches_torch_with_example_input(files):
    model, folder = files
    x = _data()
    graph = nn2hls.load(folder / "traced.pt", example_input=x[:3])
    assert graph.meta["source"] == "torchscript" and graph.input.shape == (2, 6, 6)
    np.testing.assert_allclose(execute(graph, x)[0], _torch_out(model, x), rtol=1e-5, atol=1e-5)


def test_torchscript_without_input_shape_is_a_clear_error(files):
    _, folder = files
    with pytest.raises(ModelLoadError, match=r"TorchScript file '.*traced\.pt' does not record its input shape.*"
                                             r"--input or --calibration"):
        nn2hls.load(folder / "traced.pt")


@pytest.mark.parametrize("name", ["whole.pt", "state.pt"])
def test_pickled_files_are_refused_with_how_to_save(files, name):
    _, folder = files
    with pytest.raises(ModelLoadError) as info:
        nn2hls.load(folder / name)
    message = str(info.value)
    assert "\n" not in message and name in message and "pickled" in message
    assert "torch.export.save(" in message and "torch.jit.save(torch.jit.trace(" in message


def test_corrupt_pt2_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt2"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(ModelLoadError, match=r"cannot read torch.export file '.*bad\.pt2'"):
        nn2hls.load(bad)


def _cli(*args):
    env = dict(os.environ, NN2HLS_QUIET="")
    return subprocess.run([*BASE, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.csim
@pytest.mark.parametrize("name", ["model.pt2", "traced.pt"])
def test_cli_check_pytorch_files(files, tmp_path, name):
    _, folder = files
    x_path = tmp_path / "x.npy"
    np.save(x_path, _data(30))
    proc = _cli("check", folder / name, "--input", x_path, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["bit_exact"] and result["samples"] == 30 and result["float_reference"].startswith("torch")
    assert result["max_abs_err"] < 0.05 and "Traceback" not in proc.stderr


def test_cli_pickled_module_exits_2_with_one_line(files, tmp_path):
    _, folder = files
    x_path = tmp_path / "x.npy"
    np.save(x_path, _data(3))
    proc = _cli("check", folder / "whole.pt", "--input", x_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "torch.export.save(" in lines[0]
