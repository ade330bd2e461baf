"""`nn2hls profile`: per-layer sparsity and log-scale histograms from ONNX files, overlay, CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from nn2hls.errors import ModelLoadError  # noqa: E402
from nn2hls.profile import run_profile  # noqa: E402


def _mlp(path, w1, w2):
    inits = [numpy_helper.from_array(w1.astype(np.float32), "w1"),
             numpy_helper.from_array(np.zeros(w1.shape[1], np.float32), "b1"),
             numpy_helper.from_array(w2.astype(np.float32), "w2"),
             numpy_helper.from_array(np.zeros(w2.shape[1], np.float32), "b2")]
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], name="fc2")]
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", w1.shape[0]])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", w2.shape[1]])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.fixture
def models(tmp_path):
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(8, 6)), rng.normal(size=(6, 3))
    dense = _mlp(tmp_path / "dense.onnx", w1, w2)
    p1, p2 = w1.copy(), w2.copy()
    p1[np.abs(p1) < np.quantile(np.abs(p1), 0.75)] = 0   # 36 of 48 zero
    p2[0, :] = 0                                           # 3 of 18 zero
    pruned = _mlp(tmp_path / "pruned.onnx", p1, p2)
    return dense, pruned, (w1, w2, p1, p2)


def test_profile_counts_and_histograms(tmp_path, models):
    dense, pruned, (w1, w2, p1, p2) = models
    res = run_profile(pruned, tmp_path / "out", compare=dense)
    a, b = res["layers"]
    assert (a["stats"]["weights"], a["stats"]["zeros"]) == (48, 36)
    assert (b["stats"]["weights"], b["stats"]["zeros"]) == (18, 3)
    assert a["compare_stats"]["zeros"] == 0
    assert res["total"] == {"weights": 66, "zeros": 39, "sparsity": pytest.approx(39 / 66)}
    # histograms count every nonzero weight once, on shared log10 bins
    assert sum(a["hist"]) == 12 and sum(a["compare_hist"]) == 48
    assert a["edges"][0] == pytest.approx(np.log10(np.abs(w1).min()))
    assert a["edges"][-1] == pytest.approx(np.log10(np.abs(w1).max()))
    assert a["stats"]["max_abs"] == pytest.approx(np.abs(p1).max(), rel=1e-6)
    out = tmp_path / "out"
    saved = json.loads((out / "profile.json").read_text())
    assert saved["layers"][0]["hist"] == a["hist"]
    # no machine-dependent paths in the written files: model names and figures relative to out/
    assert (saved["model"], saved["compare"]) == (Path(pruned).name, Path(dense).name)
    assert str(tmp_path) not in (out / "profile.json").read_text() + (out / "summary.txt").read_text()
    text = (out / "summary.txt").read_text()
    assert "75.00%" in text and "16.67%" in text
    if res["figures"]:  # matplotlib installed
        assert (out / "overview.png").stat().st_size > 1000 and len(res["figures"]) == 3
        assert all((out / f).is_file() and "/" not in f for f in res["figures"])


def test_profile_refuses_different_networks(tmp_path, models):
    dense, _, _ = models
    rng = np.random.default_rng(1)
    other = _mlp(tmp_path / "other.onnx", rng.normal(size=(8, 6)), rng.normal(size=(6, 3)))
    run_profile(other, tmp_path / "ok", compare=dense)  # same shapes: fine
    single = tmp_path / "single.onnx"
    g = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")], "one",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])],
                          [numpy_helper.from_array(rng.normal(size=(8, 6)).astype(np.float32), "w")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(single))
    with pytest.raises(ModelLoadError, match=r"\(1 Dense/Conv layers\) with .*\(2\)"):
        run_profile(single, tmp_path / "x", compare=dense)


def test_profile_cli(tmp_path, models):
    dense, pruned, _ = models
    proc = subprocess.run([sys.executable, "-m", "nn2hls", "profile", str(pruned), "--compare", str(dense),
                           "-o", str(tmp_path / "cli")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "75.00%" in proc.stdout and (tmp_path / "cli" / "summary.txt").is_file()
