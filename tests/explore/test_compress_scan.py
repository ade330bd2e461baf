"""Compression scans (`explore_compress`, `nn2hls explore-compress`).

The Ray Tune scan of a tiny MLP on a tiny synthetic 3-class problem is compared trial for trial with
`compress()` called directly on each trial's arguments in this process: a finished trial must give
the same final accuracies, sparsities and report totals, a trial ASHA stopped must have reported the
direct run's validation accuracy and sparsity at the iteration it was stopped, and which trials ASHA
stops must be what ASHA's rule worked by hand on the direct runs' accuracies gives (one CPU: the
trials run in order, so the decisions are fixed). The scan's own check
(C simulation vs emulator) must find no mismatch. Failed trials, resuming and space errors are
checked on the serial engine (no Ray needed).
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from nn2hls.errors import ConfigError

torch = pytest.importorskip("torch", reason="compression needs PyTorch")
from torch import nn  # noqa: E402

from nn2hls.cli import main  # noqa: E402
from nn2hls.explore.compress_scan import explore_compress  # noqa: E402
from nn2hls.explore.compress_space import compress_space_from_dict  # noqa: E402

SPACE = {"strength": [1e-4, 1e-2], "target_sparsity": [0.5, 0.75], "epochs": 3, "retrain_epochs": 1,
         "lr": 0.01, "tolerance": 0.05}
FINAL = ("val_acc", "test_acc", "sparsity", "multiply_sparsity", "effective_sparsity")
TOTALS = ("dsp", "mult_general", "multiplies", "latency_cycles", "nonzero_weights")


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3))

    def make(n: int):
        x = rng.normal(size=(n, 8)).astype(np.float32)
        return x, (x @ w).argmax(axis=1).astype(np.int64)

    (xt, yt), (xv, yv), (xs, ys) = make(256), make(128), make(128)
    return {"x_train": xt, "y_train": yt, "x_val": xv, "y_val": yv, "x_test": xs, "y_test": ys}


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))


@pytest.fixture(scope="module")
def direct():
    """compress() on each trial's arguments in this process (one thread, as a trial), check off."""
    from nn2hls.compress.flow import compress

    data, model = _data(), _model()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = {}
        for trial in compress_space_from_dict(SPACE).trials():
            result = compress(model, (data["x_train"], data["y_train"]), (data["x_val"], data["y_val"]),
                              test=(data["x_test"], data["y_test"]), check=False, **trial.args)
            out[trial.trial_id] = result
        return out
    finally:
        torch.set_num_threads(threads)


def _asha(reports: list[list[float]], grace: int = 2, rf: int = 2) -> list[tuple[str, int]]:
    """ASHA by hand for trials run one after the other: rungs at grace * rf**k reports; a trial reaching
    a rung is stopped when its value is below the (1 - 1/rf) quantile of the values the trials before
    it recorded there. `reports`: per trial, the val_acc of each report (the pruning iterations, then
    the final one). Returns (status, reports made) per trial; stopping at the final report is too late."""
    rungs: dict[int, list[float]] = {}
    out = []
    for values in reports:
        status = "ok"
        for k, value in enumerate(values, start=1):
            if k not in [grace * rf ** i for i in range(16)]:  # reports come one by one: rung k at report k
                continue
            recorded = rungs.setdefault(k, [])
            stop = bool(recorded) and value < np.percentile(recorded, 100 * (1 - 1 / rf))
            recorded.append(value)
            if stop and k < len(values):
                status = "stopped"
                break
        out.append((status, k))
    return out


@pytest.mark.skipif(shutil.which("g++") is None, reason="the trials' check needs g++")
def test_tune_scan_matches_direct_compress(direct, tmp_path):
    pytest.importorskip("ray.tune", reason="Ray Tune is not installed (pip install 'nn2hls[explore]')")
    # one CPU: Tune runs the trials one after the other in trial order, so ASHA's decisions are fixed
    scan = explore_compress(_model(), _data(), SPACE, tmp_path / "scan", engine="tune", num_cpus=1)
    assert [r["trial_id"] for r in scan.rows] == list(direct)
    reports = [[h["val_acc"] for h in r.history if h["stage"] == "prune"] + [r.final["val_acc"]]
               for r in direct.values()]
    expected = _asha(reports)
    assert [(r["status"], r["iterations"]) if r["status"] == "stopped" else (r["status"], len(reports[i]))
            for i, r in enumerate(scan.rows)] == expected
    assert "stopped" in [status for status, _ in expected]  # the scan exercises early stopping
    finished = 0
    for row in scan.rows:
        result = direct[row["trial_id"]]
        prune = [h for h in result.history if h["stage"] == "prune"]
        assert row["status"] in ("ok", "stopped"), row["error"]
        if row["status"] == "stopped":
            # reported per iteration: the direct run's numbers at the iteration ASHA stopped it
            last = prune[row["iterations"] - 1]
            assert (row["val_acc"], row["sparsity"]) == (last["val_acc"], last["sparsity"])
            assert row["iterations"] >= 2  # the grace period
            continue
        finished += 1
        assert {k: row[k] for k in FINAL} == {k: result.final[k] for k in FINAL}
        assert {k: row[k] for k in TOTALS} == {k: result.report["totals"][k] for k in TOTALS}
        assert row["iterations"] == len(prune)
        assert row["mismatches"] == 0 and row["bit_exact"] is True
        assert (tmp_path / "scan" / row["onnx"]).is_file()
    assert finished >= 1 and scan.best is not None
    assert scan.row(scan.best)["status"] == "ok" and scan.best in scan.pareto_front
    best_args = yaml.safe_load((tmp_path / "scan" / "best_trial.yml").read_text())
    assert best_args == scan.row(scan.best)["args"]


def test_failed_trial_is_a_row_and_scan_resumes(tmp_path):
    space = {"recipe": ["l1", "bogus"], "target_sparsity": 0.5, "epochs": 2, "retrain_epochs": 1, "lr": 0.01,
             "tolerance": 0.05}
    first = explore_compress(_model(), _data(), space, tmp_path / "scan", engine="serial", check=False)
    ok, bad = first.rows
    assert (ok["recipe"], ok["status"], ok["error"]) == ("l1", "ok", "")
    assert bad["recipe"] == "bogus" and bad["status"] == "failed"
    assert bad["error"] == "recipe 'bogus' is unknown; use one of l1, lp, none"
    assert bad["val_acc"] is None and first.failed == 1 and first.best == ok["trial_id"]
    again = explore_compress(_model(), _data(), space, tmp_path / "scan", engine="serial", check=False)
    assert (again.resumed, again.evaluated) == (1, 1)  # the ok trial skipped, the failed one run again
    assert again.rows[0] == {**ok, "pareto": again.rows[0]["pareto"]}


def test_space_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(ConfigError, match="key 'strenght' is not a compress\\(\\) argument; use one of recipe"):
        compress_space_from_dict({"strenght": [1e-4]})
    with pytest.raises(ConfigError, match="key 'out_dir' is set by the scan itself"):
        compress_space_from_dict({"out_dir": ["x"]})
    with pytest.raises(ConfigError, match="loguniform needs low > 0"):
        compress_space_from_dict({"strength": {"loguniform": [0, 1]}})
    with pytest.raises(ConfigError, match="must be a value, a list of values or one of"):
        compress_space_from_dict({"strength": {"normal": [0, 1]}})
    np.savez(tmp_path / "d.npz", **_data())
    (tmp_path / "s.yml").write_text("strenght: [1.0e-4]\n")
    code = main(["explore-compress", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "d.npz"), "--space",
                 str(tmp_path / "s.yml"), "-o", str(tmp_path / "out"), "--engine", "serial"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: space file")


def test_sampled_trials_are_seeded_and_within_bounds():
    space = compress_space_from_dict({"recipe": ["l1", "lp"], "strength": {"loguniform": [1e-5, 1e-2]},
                                      "bits": {"choice": ["fixed6", "fixed8"]}, "epochs": 3})
    trials = space.trials(samples=3, seed=7)
    assert len(trials) == 6 and [t.args["recipe"] for t in trials] == ["l1", "lp"] * 3
    assert all(1e-5 <= t.args["strength"] <= 1e-2 and t.args["bits"] in ("fixed6", "fixed8") for t in trials)
    assert all(t.args["epochs"] == 3 for t in trials)
    assert [t.trial_id for t in space.trials(samples=3, seed=7)] == [t.trial_id for t in trials]
    assert [t.args["strength"] for t in space.trials(samples=3, seed=8)] != [t.args["strength"] for t in trials]
    assert space.varying == ["recipe", "strength", "bits"]
