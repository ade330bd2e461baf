"""`nn2hls.explore.compress_scan.explore_compress(...)` / `nn2hls explore-compress`: compression schedules as trials.

Rule (docs/explore.md, "Compression scans"): the space (`compress_space`) gives the trials, each a set of
`compress()` arguments; trials DIR already records (status ok, or stopped early) are skipped, the others
run on the chosen engine, each ending in a compressed, exported, compiled and (with check) C-simulated
model under DIR/trials/<id>/ (`compress_trial`). Engines:
  - `tune` (Ray Tune): one Tune trial per scan trial (a grid over the trial ids, so Tune runs exactly
    the trials the space gave), `cpus_per_trial` CPUs each, reporting `val_acc` and `sparsity` after
    every pruning iteration; with `early_stop`, an ASHA scheduler (metric val_acc, mode max,
    time = the iterations reported, `grace_period`, `reduction_factor`) stops trials that fall
    behind: their row has status "stopped", the last reported val_acc and sparsity, and no model;
  - `serial`: the trials one after the other in this process, no early stopping.
Ray is local unless `address` / RAY_ADDRESS names a cluster (as `nn2hls explore`; a cluster's nodes
must see DIR at the same path, since each trial writes its model there). Each finished trial is
saved at once as DIR/points/<id>.json. At the end: results.csv / .json (/ .parquet), the Pareto front
of accuracy (test_acc when test data are given, else val_acc; max) vs dsp (min) among ok trials,
pareto.png, and the best trial (`pareto.best_point`: fewest DSPs within `tolerance` of the model's own
accuracy) with its compress() arguments in best_trial.yml.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from nn2hls.errors import ConfigError
from nn2hls.explore import pareto, table
from nn2hls.explore.compress_space import Trial, load_compress_space
from nn2hls.explore.compress_trial import ROW_KEYS, TRIALS, TrialData, failed_row, run_trial
from nn2hls.explore.run import ScanResult, prepare_dir

ENGINES = ("tune", "serial")
Log = Callable[[str, str], None]
OnResult = Callable[[dict[str, Any]], None]
RESULT_FILES = ("results.csv", "results.json", "results.parquet", "pareto.png", "best_trial.yml")
DONE = ("ok", "stopped")


@dataclass
class CompressScanResult(ScanResult):
    """ScanResult's fields (rows in trial order, the front and best trial ids), counts and files."""

    ID_KEY: ClassVar[str] = "trial_id"
    evaluated: int
    resumed: int
    failed: int
    stopped: int
    engine: str
    elapsed_s: float
    space_keys: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


def run_serial(trials: Sequence[Trial], data: TrialData, on_result: OnResult) -> None:
    for trial in trials:
        on_result(run_trial(trial.trial_id, trial.args, data))


def _import_tune() -> Any:
    try:
        from ray import tune
    except ImportError:
        raise ConfigError("the tune engine needs Ray Tune: pip install 'nn2hls[explore]' (or use --engine serial)"
                          ) from None
    return tune


def _stopped_row(trial: Trial, last: dict[str, Any]) -> dict[str, Any]:
    n = int(last.get("training_iteration") or 0)
    row = failed_row(trial.trial_id, trial.args, f"stopped early by ASHA after {n} pruning iteration"
                     f"{'s' if n != 1 else ''} (val_acc {last.get('val_acc')})", status="stopped")
    row.update(val_acc=last.get("val_acc"), sparsity=last.get("sparsity"), iterations=n)
    return row


def run_tune(trials: Sequence[Trial], data: TrialData, on_result: OnResult, *, address: str | None = None,
             num_cpus: int | None = None, cpus_per_trial: float = 1.0, early_stop: bool = True,
             grace_period: int = 2, reduction_factor: float = 2.0) -> None:
    """Run the trials as Ray Tune trials (module rule); each row goes to `on_result` as its trial ends."""
    from nn2hls.explore.engine import import_ray, session

    import_ray()
    tune = _import_tune()
    from ray.tune.schedulers import ASHAScheduler

    by_id = {t.trial_id: t for t in trials}
    args_by_id = {t.trial_id: t.args for t in trials}
    saved: set[str] = set()

    def trainable(config: dict[str, Any], data: TrialData) -> None:
        last = {"val_acc": 0.0, "sparsity": 0.0}

        def report(metrics: dict[str, Any]) -> None:
            last.update(val_acc=metrics["val_acc"], sparsity=metrics["sparsity"])
            tune.report({**metrics, "final": False})

        row = run_trial(config["trial_id"], args_by_id[config["trial_id"]], data, report)
        # the last report carries the row; a failed trial repeats its last numbers (Tune needs val_acc)
        ok = row["status"] == "ok"
        tune.report({"final": True, "row_json": json.dumps(row), "val_acc": row["val_acc"] if ok else last["val_acc"],
                     "sparsity": row["sparsity"] if ok else last["sparsity"]})

    class Saver(tune.Callback):
        def _save(self, trial: Any, error: str | None = None) -> None:
            tid = trial.config["trial_id"]
            if tid in saved:
                return
            last = trial.last_result or {}
            if error is not None:
                row = failed_row(tid, by_id[tid].args, f"Tune trial failed: {error}")
            elif last.get("final"):
                row = json.loads(last["row_json"])
            else:
                row = _stopped_row(by_id[tid], last)
            saved.add(tid)
            on_result(row)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._save(trial)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            text = str(getattr(trial, "error_msg", "") or "the worker died").strip().splitlines()
            self._save(trial, text[-1] if text else "the worker died")

    if not trials:
        return
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    with session(address, num_cpus):
        scheduler = (ASHAScheduler(time_attr="training_iteration", max_t=10_000, grace_period=grace_period,
                                   reduction_factor=reduction_factor) if early_stop else None)
        runs = Path(data.out_dir).resolve() / "tune_runs"
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(trainable, data=data), {"cpu": cpus_per_trial}),
            param_space={"trial_id": tune.grid_search([t.trial_id for t in trials])},
            tune_config=tune.TuneConfig(metric="val_acc", mode="max", scheduler=scheduler, reuse_actors=False),
            run_config=tune.RunConfig(name=time.strftime("run-%Y%m%d-%H%M%S"), storage_path=str(runs), verbose=0,
                                      callbacks=[Saver()]),
        )
        tuner.fit()
        for trial in trials:  # a trial Tune never ended (should not happen): a row all the same
            if trial.trial_id not in saved:
                saved.add(trial.trial_id)
                on_result(failed_row(trial.trial_id, trial.args, "Tune did not report this trial"))


def _model(model: Any) -> tuple[Any, str]:
    """The trainable torch module and its fingerprint."""
    import torch

    if isinstance(model, torch.nn.Module):
        state = model.state_dict()
        return model, table.digest(*[state[k].detach().cpu().numpy() for k in sorted(state)], type(model).__name__)
    from nn2hls.compress.from_ir import to_torch

    digest = hashlib.sha256(Path(model).read_bytes()).hexdigest() if Path(str(model)).is_file() else repr(model)
    return to_torch(model), digest


def _data(data: Any) -> dict[str, np.ndarray]:
    from nn2hls.compress.command import REQUIRED_KEYS, load_data

    if isinstance(data, (str, Path)):
        return load_data(data)
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ConfigError(f"data lacks {', '.join(missing)}; give x_train, y_train, x_val, y_val (and optionally "
                          "x_test, y_test)")
    return {k: np.asarray(v) for k, v in data.items()}


def _prepare_dir(out: Path, fingerprint: dict[str, Any], force: bool) -> None:
    if force:
        for name in RESULT_FILES:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / TRIALS, ignore_errors=True)
        shutil.rmtree(out / "tune_runs", ignore_errors=True)
    prepare_dir(out, fingerprint, force)


def explore_compress(model: Any, data: Any, space: Any, out_dir: str | Path, *, engine: str = "tune",
                     address: str | None = None, num_cpus: int | None = None, cpus_per_trial: float = 1.0,
                     samples: int = 1, seed: int = 0, early_stop: bool = True, grace_period: int = 2,
                     reduction_factor: float = 2.0, check: bool = True, check_samples: int = 1000,
                     tolerance: float = 0.01, force: bool = False, log: Log | None = None) -> CompressScanResult:
    """Scan compression schedules of `model` (module rule) and write the results into `out_dir`.

    `model`: a torch.nn.Module or a float model file (`from_ir.to_torch`); `data`: a DATA.npz path or a
    dict with x_train, y_train, x_val, y_val (optionally x_test, y_test); `space`: a space file path,
    mapping or CompressSpace (`compress_space`); `samples`/`seed`: repetitions of the grid with the
    random keys drawn again, and the seed of those draws; `engine`: "tune" or "serial"; `address`,
    `num_cpus`, `cpus_per_trial`: the Ray cluster and the CPUs per trial; `early_stop`,
    `grace_period`, `reduction_factor`: the ASHA scheduler (tune only); `check`/`check_samples`:
    C-simulate each trial's compiled model; `tolerance`: accuracy drop from the model's own the best
    trial may have; `force`: start over in a DIR holding another scan. Returns a CompressScanResult.
    """
    start = time.perf_counter()
    say = log or (lambda kind, message: None)
    if engine == "ray":
        engine = "tune"
    if engine not in ENGINES:
        raise ConfigError(f"engine '{engine}' is not known; use one of {', '.join(ENGINES)}")
    if not tolerance >= 0:
        raise ConfigError(f"tolerance is {tolerance}: give an accuracy drop >= 0, e.g. 0.01")
    if not cpus_per_trial > 0:
        raise ConfigError(f"cpus_per_trial is {cpus_per_trial}: give a number of CPUs > 0")
    if grace_period < 1 or not reduction_factor > 1:
        raise ConfigError(f"grace_period {grace_period} must be >= 1 and reduction_factor {reduction_factor} > 1")
    if engine == "tune":
        _import_tune()
    scan_space = load_compress_space(space)
    trials = scan_space.trials(samples, seed)
    arrays = _data(data)
    module, model_digest = _model(model)
    out = Path(out_dir)
    has_test = "x_test" in arrays
    fingerprint = {"kind": "compress", "model": model_digest,
                   "data": table.digest(*[arrays[k] for k in sorted(arrays)]), "check": bool(check)}
    _prepare_dir(out, fingerprint, force)
    space_doc = {a.key: {"kind": a.kind, "values": list(a.args)} for a in scan_space.axes}
    table.write_json(out / table.SCAN_FILE, {"fingerprint": fingerprint, "space": space_doc, "samples": samples,
                                             "seed": seed})
    trial_data = TrialData(module, (arrays["x_train"], arrays["y_train"]), (arrays["x_val"], arrays["y_val"]),
                           (arrays["x_test"], arrays["y_test"]) if has_test else None, str(out.resolve()),
                           bool(check), check_samples)

    recorded = {tid: row for tid, row in table.load_points(out, "trial_id").items() if row.get("status") in DONE}
    todo = [t for t in trials if t.trial_id not in recorded]
    if len(todo) < len(trials):
        say("note", f"resuming: {len(trials) - len(todo)} of {len(trials)} trials are already in '{out}'")

    def on_result(row: dict[str, Any]) -> None:
        table.write_json(out / table.POINTS / f"{row['trial_id']}.json", row)
        recorded[row["trial_id"]] = row
        if row["status"] == "failed":
            say("warning", f"trial {row['trial_id']} failed: {row['error']}")

    (out / table.POINTS).mkdir(parents=True, exist_ok=True)
    if engine == "serial":
        run_serial(todo, trial_data, on_result)
    else:
        run_tune(todo, trial_data, on_result, address=address, num_cpus=num_cpus, cpus_per_trial=cpus_per_trial,
                 early_stop=early_stop, grace_period=grace_period, reduction_factor=reduction_factor)

    varying = scan_space.varying
    rows = [_row(t, recorded[t.trial_id], varying) for t in trials]
    accuracy_key = "test_acc" if has_test else "val_acc"
    objectives = {accuracy_key: "max", "dsp": "min"}
    front = pareto.pareto_front(rows, objectives)
    reference = next((r[f"reference_{accuracy_key}"] for r in rows if r["status"] == "ok"), None)
    best = pareto.best_point(rows, front, accuracy_key, reference if reference is not None else 1.0, tolerance)
    for i, row in enumerate(rows):
        row["pareto"] = i in set(front)
    result = CompressScanResult(out, rows, [rows[i]["trial_id"] for i in front],
                                rows[best]["trial_id"] if best is not None else None, accuracy_key, len(todo),
                                len(trials) - len(todo), sum(r["status"] == "failed" for r in rows),
                                sum(r["status"] == "stopped" for r in rows), engine, 0.0, varying)
    _write_results(result, front, best, say)
    result.elapsed_s = round(time.perf_counter() - start, 3)
    payload = {"model": str(model) if isinstance(model, (str, Path)) else type(model).__name__, "engine": engine,
               "space": space_doc, "samples": samples, "seed": seed, "early_stop": early_stop and engine == "tune",
               "accuracy_key": accuracy_key, "reference_accuracy": reference, "tolerance": tolerance,
               "evaluated": result.evaluated, "resumed": result.resumed, "failed": result.failed,
               "stopped": result.stopped, "pareto_front": result.pareto_front, "best": result.best, "trials": rows}
    result.files["json"] = str(table.write_json(out / "results.json", payload))
    return result


def _row(trial: Trial, recorded: dict[str, Any], varying: Sequence[str]) -> dict[str, Any]:
    row = {"trial_id": trial.trial_id, "status": recorded.get("status"), "error": recorded.get("error", "")}
    row.update({key: trial.args.get(key) for key in varying})
    row.update({key: recorded.get(key) for key in ROW_KEYS})
    row["args"] = dict(trial.args)
    return row


def _write_results(result: CompressScanResult, front: list[int], best: int | None, say: Log) -> None:
    import yaml

    out, rows = result.out_dir, result.rows
    table.write_tables(out, rows, result.files)
    if best is None:
        (out / "best_trial.yml").unlink(missing_ok=True)
        (out / "pareto.png").unlink(missing_ok=True)
        say("warning", "no trial finished successfully: no Pareto front and no best trial")
        return
    (out / "best_trial.yml").write_text(yaml.safe_dump(rows[best]["args"], sort_keys=False), encoding="utf-8")
    result.files["best_trial"] = str(out / "best_trial.yml")
    png = _plot(rows, front, best, result.accuracy_key, out / "pareto.png")
    if png is not None:
        result.files["pareto_png"] = str(png)


def _plot(rows: Sequence[dict[str, Any]], front: Sequence[int], best: int, key: str, path: Path) -> Path | None:
    """Accuracy vs DSP of the ok trials, the front in colour, the best trial a star (matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    ok = [i for i, r in enumerate(rows) if r["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.scatter([rows[i]["dsp"] for i in ok], [rows[i][key] for i in ok], s=14, c="0.7", label=f"trials ({len(ok)})")
    line = sorted(front, key=lambda i: rows[i]["dsp"])
    ax.plot([rows[i]["dsp"] for i in line], [rows[i][key] for i in line], "o-", color="tab:blue",
            label=f"Pareto front ({len(front)})")
    ax.scatter([rows[best]["dsp"]], [rows[best][key]], marker="*", s=180, color="tab:red", zorder=5,
               label="best (best_trial.yml)")
    ax.set_xlabel("DSP (estimate)")
    ax.set_ylabel(key.replace("_acc", " accuracy"))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
