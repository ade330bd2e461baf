"""search_precision on a real dataset: sklearn digits, a small MLP, built into the IR by hand."""
import warnings

import numpy as np
import pytest

from nn2hls.config import Config, SearchSpec
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import pipeline_for, run_passes

emulate_mod = pytest.importorskip("nn2hls.emulate")
if not hasattr(emulate_mod, "emulate"):  # pragma: no cover - before the emulator lands
    pytest.skip("emulator not available", allow_module_level=True)
sklearn_datasets = pytest.importorskip("sklearn.datasets")
neural_network = pytest.importorskip("sklearn.neural_network")


@pytest.fixture(scope="module")
def digits_mlp():
    x, y = sklearn_datasets.load_digits(return_X_y=True)
    x = x / 16.0
    clf = neural_network.MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: accuracy is ~93% already
        clf.fit(x[:1200], y[:1200])
    g = Graph("digits")
    inp = g.add(ops.Input(shape=(64,)), name="x")
    d1 = g.add(ops.Dense(), [inp.name], name="fc1", weights={"kernel": clf.coefs_[0], "bias": clf.intercepts_[0]})
    r = g.add(ops.Activation(function="relu"), [d1.name], name="relu")
    d2 = g.add(ops.Dense(), [r.name], name="fc2", weights={"kernel": clf.coefs_[1], "bias": clf.intercepts_[1]})
    sm = g.add(ops.Softmax(), [d2.name], name="softmax")
    g.outputs = [sm.name]
    return g, x[1200:], y[1200:], clf


def run_float(graph, x):
    from nn2hls.ir.execute import execute
    return execute(graph, x)[0]


def _agreement(graph, x, reference):
    out = emulate_mod.emulate(graph, x).outputs[0]
    return float(np.mean(np.argmax(out, 1) == np.argmax(reference, 1)))


@pytest.mark.slow
def test_search_lowers_bits_within_tolerance(digits_mlp):
    g, x, y, clf = digits_mlp
    tol = 0.01
    cfg = Config(search=SearchSpec(enabled=True, metric="argmax", tolerance=tol, min_width=2))
    assert pipeline_for(cfg)[9:12] == ["assign_precision", "search_precision", "quantize_weights"]
    base = run_passes(g, Config(), x)
    searched = run_passes(g, cfg, x)

    def bits(graph):
        return sum(n.precision["result"].width + (n.precision["weight"].width if "weight" in n.precision else 0)
                   for n in graph.topological())

    info = searched.meta["precision_search"]
    assert bits(searched) < bits(base)
    assert info["bits_saved"] == bits(base) - bits(searched) > 0
    notes = dict((name, n) for name, _, n in searched.meta["pass_log"])["search_precision"]
    assert notes[-1].startswith(f"saved {info['bits_saved']} bits in total over ")
    # measured independently: emulator on the searched graph vs the float model (sklearn itself)
    reference = clf.predict_proba(x)
    measured = _agreement(searched, x, reference)
    assert measured >= 1 - tol
    assert measured == pytest.approx(info["final_score"])
    # the search stopped at its limit: one more bit off any searched width misses the tolerance
    widths = searched.meta["precision_widths"]
    assert set(widths) == {"x", "fc1", "relu", "fc2", "softmax"}
    for name, keys in widths.items():
        for key, width in keys.items():
            if width <= cfg.search.min_width:
                continue
            tighter = {k: dict(v) for k, v in widths.items()}
            tighter[name][key] = width - 1
            trial_graph = g.copy()
            trial_graph.meta["precision_widths"] = tighter
            trial = run_passes(trial_graph, Config(), x, passes=["assign_precision", "quantize_weights"])
            assert _agreement(trial, x, run_float(g, x)) < 1 - tol, (name, key)
    print(f"digits MLP: {bits(base)} -> {bits(searched)} bits, agreement {measured:.4f}")


def test_search_without_data_is_skipped_with_warning(digits_mlp):
    g, *_ = digits_mlp
    out = run_passes(g, Config(search=SearchSpec(enabled=True)))
    assert "precision search needs calibration data; skipped (give --calibration)" in out.meta["pass_warnings"]


def test_max_abs_search_keeps_error_within_tolerance():
    rng = np.random.default_rng(3)
    g = Graph("small")
    x = g.add(ops.Input(shape=(4,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": rng.normal(size=(4, 3)), "bias": rng.normal(size=3)})
    t = g.add(ops.Activation(function="tanh"), [d.name], name="t")
    g.outputs = [t.name]
    calib = rng.normal(size=(300, 4))
    tol = 0.05
    out = run_passes(g, Config(search=SearchSpec(enabled=True, metric="max_abs", tolerance=tol)), calib)
    info = out.meta["precision_search"]
    assert info["bits_saved"] > 0
    assert out["d"].precision["result"].width < 16 and out["d"].precision["weight"].width < 16
    err = float(np.max(np.abs(emulate_mod.emulate(out, calib).outputs[0] - run_float(g, calib))))
    assert err == pytest.approx(info["final_score"]) and err <= tol
