"""prune: global/per-layer thresholds, target sparsity, statistics and the accuracy note."""
import numpy as np
import pytest

from nn2hls.config import Config, PruningSpec
from nn2hls.errors import ConfigError
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes


def _graph():
    g = Graph("p")
    x = g.add(ops.Input(shape=(3,)), name="x")
    d1 = g.add(ops.Dense(), [x.name], name="d1",
               weights={"kernel": [[0.05, -0.5, 1.0], [-0.2, 0.01, 0.3], [0.0, 2.0, -0.04]], "bias": [0.01, 0, 0]})
    d2 = g.add(ops.Dense(), [d1.name], name="d2", weights={"kernel": [[0.1, -0.3], [0.2, 0.6], [-0.15, 0.05]]})
    g.outputs = [d2.name]
    return g


def test_global_threshold():
    out = run_passes(_graph(), Config(pruning=PruningSpec(threshold=0.1)), passes=["prune"])
    assert out["d1"].weights["kernel"].tolist() == [[0, -0.5, 1.0], [-0.2, 0, 0.3], [0, 2.0, 0]]
    assert out["d1"].weights["bias"].tolist() == [0.01, 0, 0]  # biases are never pruned
    assert out["d2"].weights["kernel"].tolist() == [[0.1, -0.3], [0.2, 0.6], [-0.15, 0]]
    assert out["d1"].annotations.pruning.as_dict() == {"weights": 9, "zeros": 4, "pruned": 3}
    assert out["d2"].annotations.pruning.as_dict() == {"weights": 6, "zeros": 1, "pruned": 1}
    assert "nnz=5" in str(out).splitlines()[2]


def test_per_layer_threshold_and_sparsity():
    cfg = Config(pruning=PruningSpec(threshold=0.1, layers={"d1": 0.35}, sparsity={"d2": 0.5}))
    out = run_passes(_graph(), cfg, passes=["prune"])
    assert out["d1"].weights["kernel"].tolist() == [[0, -0.5, 1.0], [0, 0, 0], [0, 2.0, 0]]
    # 3 smallest |w| of d2: 0.05, 0.1, 0.15
    assert out["d2"].weights["kernel"].tolist() == [[0, -0.3], [0.2, 0.6], [0, 0]]
    assert out["d2"].annotations.pruning.as_dict() == {"weights": 6, "zeros": 3, "pruned": 3}


def test_accuracy_note_and_unknown_layer_warning():
    rng = np.random.default_rng(0)
    cfg = Config(pruning=PruningSpec(threshold=0.1, layers={"nope": 1.0}))
    calib = rng.normal(size=(200, 3))
    g = _graph()
    out = run_passes(g, cfg, calib, passes=["prune"])
    notes = out.meta["pass_log"][0][2]
    acc = out.meta["pruning_accuracy"]
    before = calib @ g["d1"].weights["kernel"] + g["d1"].weights["bias"]
    before = before @ g["d2"].weights["kernel"]
    k1 = out["d1"].weights["kernel"]
    after = (calib @ k1 + out["d1"].weights["bias"]) @ out["d2"].weights["kernel"]
    assert acc["max_abs_diff"] == pytest.approx(np.max(np.abs(after - before)), rel=1e-12)
    assert acc["argmax_agreement"] == np.mean(np.argmax(after, 1) == np.argmax(before, 1))
    assert 0 < acc["argmax_agreement"] < 1
    assert notes[-1].startswith("float model after pruning vs before on 200 calibration samples: argmax agreement ")
    assert out.meta["pass_warnings"] == [
        "pruning.layers names 'nope', which is no Dense/Conv layer of the graph; ignored"]


def test_bad_sparsity_is_refused():
    with pytest.raises(ConfigError, match="pruning.sparsity for layer 'd1' is 1.5"):
        run_passes(_graph(), Config(pruning=PruningSpec(sparsity={"d1": 1.5})), passes=["prune"])
