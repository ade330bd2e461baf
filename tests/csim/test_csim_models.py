"""C simulation == numpy emulator, bit for bit, on >= 1,000 random samples per model.

Each model is converted (run_passes), written (write_project) and compiled once per module; the
models together cover every op the backend supports. The same checks run against the vendor ap_types
headers when NN2HLS_AP_TYPES is set (on the small models: the vendor headers compile slowly).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import csim_models  # noqa: E402
from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.csim import build
from nn2hls.emulate import emulate
from nn2hls.errors import BuildError, InputDataError
from nn2hls.ir.ops import Conv, GlobalPool, Pool
from nn2hls.passes.pipeline import run_passes
from nn2hls.resources import example_models_dir

pytestmark = pytest.mark.csim

N_SAMPLES = 1000
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")


def _random_input(rng, shape, n=N_SAMPLES):
    # wide enough to hit saturation of the input type and every table's clamped ends
    return rng.normal(size=(n, *shape)) * 2.0


def _convert(graph, x, tmp, name, config=None):
    config = config or Config()
    typed = run_passes(graph, config, x[:300])
    project = write_project(typed, config, tmp / name)
    return typed, project


def _check(typed, sim, x):
    expected = emulate(typed, x).outputs
    got = sim.predict(x)
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        mismatches = int(np.sum(g != e))
        assert mismatches == 0, f"{mismatches} values differ; first at {np.argwhere(g != e)[0]}"
        assert np.unique(g).size > 3  # not a constant output


def _synthetic(name):
    def make(tmp_path_factory):
        rng = np.random.default_rng(7)
        graph = getattr(csim_models, name)(rng)
        x = _random_input(rng, graph.input.shape)
        typed, project = _convert(graph, x, tmp_path_factory.mktemp(name), name)
        return typed, project, x
    return make


SYNTHETIC = ["bn_mlp", "cnn2d", "cnn1d", "wiring"]


@pytest.fixture(scope="module", params=SYNTHETIC)
def synthetic(request, tmp_path_factory):
    return _synthetic(request.param)(tmp_path_factory)


def test_synthetic_models_bit_exact(synthetic):
    typed, project, x = synthetic
    _check(typed, build(project), x)


def test_synthetic_models_cover_every_op(tmp_path_factory):
    kinds = set()
    for name in SYNTHETIC:
        rng = np.random.default_rng(7)
        graph = getattr(csim_models, name)(rng)
        typed = run_passes(graph, Config(), _random_input(rng, graph.input.shape, 300))
        for node in typed.nodes.values():
            op = node.op
            kinds.add(op.kind if op.kind != "Activation" else "act_" + op.function)
            if isinstance(op, (Pool, GlobalPool)):
                kinds.add(f"{op.kind}_{op.mode}")
    expected = {"Dense", "Conv", "Pool_max", "Pool_avg", "GlobalPool_avg", "GlobalPool_max", "Softmax",
                "Elementwise", "Concat", "Reshape", "Transpose", "ScaleShift", "act_relu", "act_sigmoid",
                "act_tanh", "act_leaky_relu", "act_elu", "act_clip", "act_hard_sigmoid"}
    assert expected <= kinds, f"not covered: {expected - kinds}"


@pytest.mark.vendor
@pytest.mark.slow
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
def test_synthetic_models_bit_exact_vendor_headers(synthetic):
    typed, project, x = synthetic
    sim = build(project, ap_types=VENDOR)
    from nn2hls.resources import hls_lib_dir
    own = build(project, ap_types=hls_lib_dir())
    assert own.library != sim.library and own.library.is_file() and sim.library.is_file()
    _check(typed, sim, x)


def _onnx_model(file, inputs, tmp_path_factory, x=None):
    from nn2hls.frontends.onnx import load_onnx
    d = example_models_dir()
    x = np.load(d / inputs) if x is None else x
    if x.shape[0] < N_SAMPLES:
        x = np.concatenate([x] * (N_SAMPLES // x.shape[0] + 1))[:N_SAMPLES]
    rng = np.random.default_rng(3)
    x = x + rng.normal(size=x.shape) * 0.05 * np.std(x)  # fresh samples, same distribution
    typed, project = _convert(load_onnx(d / file), x, tmp_path_factory.mktemp(file.replace(".", "_")),
                              file.split(".")[0])
    return typed, project, x


@pytest.fixture(scope="module")
def jet(tmp_path_factory):
    return _onnx_model("jet_mlp.onnx", "jet_mlp_input.npy", tmp_path_factory)


@pytest.fixture(scope="module")
def jet_pruned(tmp_path_factory):
    return _onnx_model("jet_mlp_pruned.onnx", "jet_mlp_input.npy", tmp_path_factory)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return _onnx_model("digits_cnn.onnx", "digits_input.npy", tmp_path_factory)


def test_jet_mlp_bit_exact_and_cached(jet):
    typed, project, x = jet
    sim = build(project)
    _check(typed, sim, x)
    again = build(project)
    assert again.cached and again.library == sim.library


def test_pruned_mlp_bit_exact_and_sparse(jet_pruned):
    typed, project, x = jet_pruned
    _check(typed, build(project), x)
    import json
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    dense = [n for n in typed.nodes.values() if n.op.kind == "Dense"]
    total = sum(np.count_nonzero(n.weights["kernel"]) for n in dense)
    assert sum(manifest["layer_weights"][n.name] for n in dense) == total
    assert total <= 0.3 * sum(n.weights["kernel"].size for n in dense)  # the model is ~75% pruned


def test_digits_cnn_bit_exact(digits):
    typed, project, x = digits
    assert any(isinstance(n.op, Conv) for n in typed.nodes.values())
    _check(typed, build(project), x)


def test_cache_key_changes_with_sources(jet, tmp_path):
    import shutil
    typed, project, x = jet
    build(project)  # this test may run first in its worker: make sure the original is built
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    first = build(copy)
    assert first.cached  # the copied build/ folder is reused: the key depends on contents only
    top = next((copy / "firmware").glob("layer_*.cpp"))
    top.write_text(top.read_text() + "\n// edited\n")
    second = build(copy)
    assert not second.cached and second.library != first.library
    assert len(list((copy / "build").glob("*.so"))) == 1  # the stale library was removed


def test_predict_checks_input(jet):
    typed, project, x = jet
    sim = build(project)
    with pytest.raises(InputDataError, match="shape"):
        sim.predict(x[:, :5])
    with pytest.raises(InputDataError, match="shape"):
        sim.predict(x[0])
    with pytest.raises(InputDataError, match="dtype"):
        sim.predict(x.astype(str))
    bad = x[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(InputDataError, match="NaN"):
        sim.predict(bad)
    # float32, Fortran order and integer inputs are converted
    np.testing.assert_array_equal(sim.predict(np.asfortranarray(x[:50].astype(np.float32))),
                                  sim.predict(x[:50].astype(np.float32).astype(np.float64)))
    assert sim.predict(x[:0]).shape == (0, 5)


def test_compiler_error_is_reported_with_lines(jet, tmp_path):
    import shutil
    typed, project, x = jet
    copy = tmp_path / "broken"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("build"))
    layer = sorted((copy / "firmware").glob("layer_*.cpp"))[0]
    layer.write_text(layer.read_text() + "\nthis is not C++;\n")
    with pytest.raises(BuildError, match=r"error: .*this"):
        build(copy)
    assert not list((copy / "build").glob("*.so"))


def test_missing_compiler_is_actionable(jet, monkeypatch):
    typed, project, x = jet
    monkeypatch.setenv("NN2HLS_CXX", "/nonexistent/g++")
    with pytest.raises(BuildError, match="NN2HLS_CXX"):
        build(project)


def test_bad_ap_types_folder(jet, tmp_path):
    typed, project, x = jet
    with pytest.raises(BuildError, match="ap_fixed.h"):
        build(project, ap_types=tmp_path)
