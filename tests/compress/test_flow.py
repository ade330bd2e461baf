"""`compress()`: one call from a trained classifier to a pruned, quantized, exported, compiled and checked
model. The compiler side is checked against torch's own weights (an independent path), the C
simulation against the emulator (nn2hls.check), and resume against a training function that must not run.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

from nn2hls.compress import flow, masks, qat  # noqa: E402
from nn2hls.compress.schedule import fit  # noqa: E402
from nn2hls.errors import ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def task():
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=700, n_features=8, n_informative=6, n_classes=3, class_sep=1.5,
                               random_state=0)
    x = x.astype(np.float32)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    fit(net, x[:400], y[:400], epochs=15, lr=1e-2)
    return net, (x[:400], y[:400]), (x[400:550], y[400:550]), (x[550:], y[550:])


@pytest.fixture(scope="module")
def compressed(task, tmp_path_factory):
    net, train, val, test = task
    out = tmp_path_factory.mktemp("compress")
    res = flow.compress(net, train, val, test=test, target_sparsity=0.6, tolerance=0.03, epochs=3,
                        retrain_epochs=3, bits="fixed6", qat_epochs=2, out_dir=out)
    return res, out


@pytest.mark.slow
@pytest.mark.csim
def test_one_call_prunes_quantizes_and_compiles_bit_exact(task, compressed):
    net, *_ = task
    res, out = compressed
    stages = [r["stage"] for r in res.history]
    assert stages[0] == "reference" and stages[-1] == "qat" and "prune" in stages
    assert res.reference_accuracy == res.history[0]["val_acc"]
    assert masks.sparsity(net) == 0.0  # the model passed in is untouched
    prune_final = [r for r in res.history if r["stage"] == "prune" and r["accepted"]][-1]
    qat_row = res.history[-1]
    if res.stop_reason == "target":
        assert prune_final["sparsity"] >= 0.6
    assert qat_row["sparsity"] == pytest.approx(prune_final["sparsity"])  # QAT kept the pruning
    # the reference and every recorded prune measurement looked once, a confirming retrain once more
    prune_rows = [r for r in res.history if r["stage"] == "prune"]
    assert len(prune_rows) + 1 <= res.validation_looks <= 2 * len(prune_rows)
    # the compiler's count of nonzero weights equals torch's count of nonzero quantized weights
    torch_nonzero = sum(int((qat.quantized_weight(m) != 0).sum()) for _, m in masks.prunable_layers(res.model))
    assert res.report["totals"]["nonzero_weights"] == torch_nonzero
    assert res.check.mismatches == 0 and res.check.passed
    assert res.onnx_path.is_file() and (out / "history.csv").is_file()
    assert all(p.is_file() and p.stat().st_size > 0 for p in res.plots.values())
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:len(flow.HISTORY_KEYS)] == list(flow.HISTORY_KEYS)


@pytest.mark.slow
@pytest.mark.csim
def test_resume_skips_finished_stages(task, compressed, monkeypatch):
    net, train, val, test = task
    res, out = compressed

    def no_training(*args, **kwargs):
        raise AssertionError("a finished stage was trained again")

    monkeypatch.setattr(flow, "fit", no_training)
    monkeypatch.setattr(flow, "iterative_prune", no_training)
    again = flow.compress(net, train, val, test=test, target_sparsity=0.6, tolerance=0.03, epochs=3,
                          retrain_epochs=3, bits="fixed6", qat_epochs=2, out_dir=out, check=False)
    assert again.history == res.history
    assert again.validation_looks == res.validation_looks
    for (_, a), (_, b) in zip(masks.prunable_layers(again.model), masks.prunable_layers(res.model)):
        assert torch.equal(qat.quantized_weight(a), qat.quantized_weight(b))


@pytest.mark.slow
@pytest.mark.csim
def test_other_arguments_do_not_resume_silently(task, compressed, monkeypatch):
    net, train, val, test = task
    res, out = compressed
    with pytest.raises(ConfigError, match="other arguments \\(differs in: tolerance\\).*resume=False"):
        flow.compress(net, train, val, test=test, target_sparsity=0.6, tolerance=0.05, epochs=3,
                      retrain_epochs=3, bits="fixed6", qat_epochs=2, out_dir=out, check=False)
    assert (out / "checkpoints" / "qat.pt").is_file()  # nothing of the previous run was touched


def test_bad_arguments_are_named(task):
    net, train, val, _ = task
    with pytest.raises(ConfigError, match="recipe 'l3' is unknown"):
        flow.compress(net, train, val, recipe="l3")
    with pytest.raises(ConfigError, match="val: 150 inputs but 3 labels"):
        flow.compress(net, train, (val[0], val[1][:3]))
    with pytest.raises(ConfigError, match="quantization spec"):
        flow.compress(net, train, val, bits="fixed99")
    for bad in (-1.0, float("inf"), "1"):
        with pytest.raises(ConfigError, match="confidence .* must be a finite number >= 0"):
            flow.compress(net, train, val, confidence=bad)


def _result(test_ref: float | None, test_final: float | None, val_final: float) -> flow.CompressResult:
    rows = [{"stage": "reference", "val_acc": 0.95, "test_acc": test_ref, "accepted": True},
            {"stage": "prune", "val_acc": val_final, "test_acc": test_final, "accepted": True}]
    return flow.CompressResult(model=nn.Identity(), reference_accuracy=0.95, history=rows, validation_looks=17)


def test_selection_warning_names_the_test_gap_and_the_looks():
    text = flow.selection_warning(_result(0.96, 0.93, 0.945), tolerance=0.01)
    assert "3.00 pt below the model passed in on the test data" in text
    assert "3.00 +- 1.07 pt below" in flow.selection_warning(_result(0.96, 0.93, 0.945), 0.01, test_se=0.0107)
    assert "0.50 pt on the validation data, which pruning evaluated 17 times" in text
    assert flow.selection_warning(_result(0.96, 0.955, 0.945), tolerance=0.01) is None  # test within
    assert flow.selection_warning(_result(None, None, 0.945), tolerance=0.01) is None  # no test data
    assert flow.selection_warning(_result(0.96, 0.90, 0.92), tolerance=0.01) is None  # validation shows it


def test_the_selection_warning_is_a_python_warning_with_the_test_error(task, monkeypatch):
    net, train, val, test = task
    seen = {}

    def fake(result, tolerance, test_se=None):
        seen["test_se"] = test_se
        return "validation and test disagree"

    monkeypatch.setattr(flow, "selection_warning", fake)
    with pytest.warns(UserWarning, match="validation and test disagree"):
        flow.compress(net, train, val, test=test, target_sparsity=0.3, epochs=1, retrain_epochs=1, check=False)
    assert 0.0 <= seen["test_se"] < 0.1  # one paired standard error on 150 test samples
