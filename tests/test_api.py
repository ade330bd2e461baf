"""The Python API: load, compile (config forms, calibration, validation), emulate, write/reload, report,
build and the pytest helper. Runs the README's example."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import nn2hls
from nn2hls.errors import ConfigError, InputDataError, ModelLoadError, OutputExistsError
from nn2hls.testing import assert_bit_exact, first_mismatch

EXAMPLES = Path(__file__).resolve().parents[1] / "example_models"
X = np.load(EXAMPLES / "jet_mlp_input.npy")


@pytest.fixture(scope="module")
def jet():
    return nn2hls.compile(EXAMPLES / "jet_mlp_pruned.onnx", calibration=X[:300])


def test_public_api_is_lazy_and_complete():
    import subprocess
    import sys

    code = "import sys, nn2hls; print('nn2hls.pipeline' in sys.modules, 'onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    for name in ("load", "compile", "Config", "CompiledModel", "load_config", "Nn2hlsError", "ConfigError"):
        assert hasattr(nn2hls, name), name


def test_emulate_matches_float_model(jet):
    y = jet.emulate(X)
    ref = jet.float_reference(X)
    assert y.shape == (len(X), 5) and y.dtype == np.float64
    assert np.mean(y.argmax(1) == ref.argmax(1)) >= 0.98
    assert np.abs(y - ref).max() < 0.05
    assert jet.graph.input.precision["result"].width == 16


def test_config_forms_are_equivalent(tmp_path):
    cfg_dict = {"precision": {"default": {"weight_width": 8}}}
    path = tmp_path / "c.yml"
    path.write_text("precision:\n  default:\n    weight_width: 8\n")
    a = nn2hls.compile(EXAMPLES / "jet_mlp.onnx", cfg_dict, X[:100])
    b = nn2hls.compile(nn2hls.load(EXAMPLES / "jet_mlp.onnx"), path, X[:100])
    c = nn2hls.compile(EXAMPLES / "jet_mlp.onnx", nn2hls.load_config(cfg_dict), str(EXAMPLES / "jet_mlp_input.npy"))
    assert str(a.graph) == str(b.graph)
    assert all(n.precision["weight"].width == 8 for n in a.graph.nodes.values() if "weight" in n.precision)
    np.testing.assert_array_equal(a.emulate(X[:50]), b.emulate(X[:50]))
    assert c.config.precision.weight_width == 8


def test_user_errors():
    with pytest.raises(ModelLoadError, match="does not exist"):
        nn2hls.load("no/such/model.onnx")
    with pytest.raises(ModelLoadError, match="unknown model file suffix ..npy.; supported: .onnx, .keras, .h5"):
        nn2hls.load(EXAMPLES / "jet_mlp_input.npy")
    with pytest.raises(ConfigError, match=r"config 'precision.layers' names layer 'fc9', which model 'jet_mlp' "
                                          r"does not have; layers: input_, n_0_0_0_Gemm"):
        nn2hls.compile(EXAMPLES / "jet_mlp.onnx", {"precision": {"layers": {"fc9": {"weight": "auto"}}}})
    with pytest.raises(InputDataError, match=r"calibration data has shape \(10, 15\); model 'jet_mlp' expects "
                                             r"\(N, 16\)"):
        nn2hls.compile(EXAMPLES / "jet_mlp.onnx", calibration=np.zeros((10, 15)))
    model = nn2hls.compile(EXAMPLES / "jet_mlp.onnx", calibration=X[:50])
    with pytest.raises(InputDataError, match=r"one sample\? add a batch axis"):
        model.emulate(X[0])


def test_write_reload_and_force(jet, tmp_path):
    out = jet.write(tmp_path / "prj", tb_input=X[:5])
    for name in ("nn2hls_config.yml", "nn2hls_graph.json", "nn2hls_weights.npz", "build_prj.tcl"):
        assert (out / name).is_file(), name
    again = nn2hls.CompiledModel.from_project(out)
    assert str(again.graph) == str(jet.graph)
    assert again.config == jet.config
    np.testing.assert_array_equal(again.emulate(X), jet.emulate(X))
    assert again.report() == jet.report()
    with pytest.raises(OutputExistsError, match=r"output folder '.*prj' already exists; use --force"):
        jet.write(out)
    (out / "stale.txt").write_text("old")
    jet.write(out, force=True)  # a previous project is replaced as a whole
    assert not (out / "stale.txt").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    jet.write(mine, force=True)  # not a project: only nn2hls's own files are written
    assert (mine / "notes.txt").read_text() == "keep me"


def test_from_project_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        nn2hls.CompiledModel.from_project(tmp_path / "nothing")
    with pytest.raises(ModelLoadError, match="is not an nn2hls project"):
        nn2hls.CompiledModel.from_project(tmp_path)


def test_first_mismatch_text():
    a = np.zeros((3, 2))
    b = a.copy()
    assert first_mismatch(a, b) is None
    b[1, 1] = 0.5
    assert first_mismatch(a, b) == ("sample 1, output 0, element 1: C-sim 0.5 != emulator 0.0 "
                                    "(1 of 3 samples differ)")


@pytest.mark.csim
def test_readme_example_and_bit_exact(tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler")
    # --- the README's Python example ---
    x = np.load(EXAMPLES / "jet_mlp_input.npy")
    model = nn2hls.compile(EXAMPLES / "jet_mlp_pruned.onnx", config=EXAMPLES / "jet_mlp.yml", calibration=x)
    y = model.emulate(x)
    project = model.write(tmp_path / "jet_mlp_prj")
    sim = model.build()
    assert np.array_equal(sim.predict(x), y)
    print(model.report()["totals"])
    # --- end of the example ---
    assert project == tmp_path / "jet_mlp_prj"
    assert_bit_exact(model, x)
    assert_bit_exact(project, x[:100])
