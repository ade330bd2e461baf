"""One trial of a compression scan: `compress()` with the trial's arguments, reported per pruning iteration.

Rule: a trial is `nn2hls.compress.flow.compress(model, train, val, test=test, out_dir=DIR/trials/<id>,
resume=False, check=..., **trial arguments)` on one CPU thread (`torch.set_num_threads(1)`: the same
arguments give the same numbers in any process, which is what lets the serial and the Ray Tune engine
agree trial for trial). After every pruning iteration, `report` receives {"iteration", "sparsity",
"val_acc", "accepted"} (the engine turns it into `tune.report`, where the early-stopping scheduler
reads `val_acc`). The trial ends in one row: the final accepted measurement (sparsity,
multiply_sparsity, effective_sparsity, val_acc, test_acc) and the model's own accuracies
(reference_val_acc, reference_test_acc), the compiled model's report totals
(multiplies, mult_general = general products, dsp, latency_cycles, hardware sparsity), the check's
mismatches and bit_exact, the stop reason and its files. Any exception becomes status "failed" with a
one-line error; it never leaves the trial.
The per-iteration hook: `compress` passes its own `on_iteration` to `schedule.iterative_prune`; while
a trial runs, `iteration_hook` wraps the `iterative_prune` name `flow` calls so that the trial's
callback runs after flow's own (flow.py unchanged; one trial at a time per process, which both
engines guarantee: serial runs trials in turn, Tune runs each trial in its own worker process).
"""
from __future__ import annotations

import contextlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from nn2hls.errors import Nn2hlsError

Report = Callable[[dict[str, Any]], None]
TOTALS = ("multiplies", "mult_general", "dsp", "lut_multiplies", "latency_cycles", "nonzero_weights")
FINAL_KEYS = ("sparsity", "multiply_sparsity", "effective_sparsity", "val_acc", "test_acc")
ROW_KEYS = (("reference_val_acc", "reference_test_acc") + FINAL_KEYS + TOTALS +
            ("hardware_sparsity", "mismatches", "bit_exact", "iterations", "stop_reason", "onnx", "trial_s"))
TRIALS = "trials"


@dataclass
class TrialData:
    """What every trial shares: the trainable model, the data pairs, the scan folder, whether to check."""

    model: Any
    train: tuple[Any, Any]
    val: tuple[Any, Any]
    test: tuple[Any, Any] | None
    out_dir: str
    check: bool = True
    check_samples: int = 1000


@contextlib.contextmanager
def iteration_hook(callback: Callable[[Any, Any], None]) -> Iterator[None]:
    """While open, every `iterative_prune` that `flow.compress` runs also calls `callback(model, record)`."""
    from nn2hls.compress import flow

    original = flow.iterative_prune

    def hooked(*args: Any, on_iteration: Any = None, **kwargs: Any) -> Any:
        def both(model: Any, record: Any) -> None:
            if on_iteration is not None:
                on_iteration(model, record)
            callback(model, record)

        return original(*args, on_iteration=both, **kwargs)

    flow.iterative_prune = hooked
    try:
        yield
    finally:
        flow.iterative_prune = original


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if isinstance(exc, Nn2hlsError) else f"{type(exc).__name__}: {text}".rstrip(": ")


def failed_row(trial_id: str, args: dict[str, Any], error: str, status: str = "failed") -> dict[str, Any]:
    row: dict[str, Any] = {"trial_id": trial_id, "status": status, "error": error}
    row.update({key: None for key in ROW_KEYS})
    row["args"] = dict(args)
    return row


def run_trial(trial_id: str, args: dict[str, Any], data: TrialData, report: Report | None = None) -> dict[str, Any]:
    """Run one trial (module rule) and return its row."""
    import torch

    from nn2hls.compress.flow import compress

    torch.set_num_threads(1)
    folder = Path(data.out_dir) / TRIALS / trial_id
    shutil.rmtree(folder, ignore_errors=True)  # a rerun starts over: compress would resume checkpoints
    start = time.perf_counter()
    count = [0]

    def on_iteration(model: Any, record: Any) -> None:
        count[0] += 1
        if report is not None:
            report({"iteration": int(record.iteration), "sparsity": float(record.sparsity),
                    "val_acc": float(record.accuracy), "accepted": bool(record.accepted)})

    kwargs = {"check_samples": data.check_samples, **args}
    try:
        with iteration_hook(on_iteration):
            result = compress(data.model, data.train, data.val, test=data.test, out_dir=folder, resume=False,
                              check=data.check, **kwargs)
    except Exception as exc:  # a failed trial is a row, never a failed scan
        row = failed_row(trial_id, args, _one_line(exc))
        row["iterations"] = count[0]
        row["trial_s"] = round(time.perf_counter() - start, 3)
        return row
    reference = result.history[0]  # the "reference" measurement of the model as passed in
    row = {"trial_id": trial_id, "status": "ok", "error": "", "reference_val_acc": reference.get("val_acc"),
           "reference_test_acc": reference.get("test_acc")}
    final = result.final
    row.update({key: final.get(key) for key in FINAL_KEYS})
    totals = (result.report or {}).get("totals", {})
    row.update({key: totals.get(key) for key in TOTALS})
    row["hardware_sparsity"] = totals.get("sparsity")
    row["mismatches"] = result.check.mismatches if result.check is not None else None
    row["bit_exact"] = (result.check.mismatches == 0) if result.check is not None else None
    row.update(iterations=count[0], stop_reason=result.stop_reason,
               onnx=str(Path(TRIALS) / trial_id / "compressed.onnx"),
               trial_s=round(time.perf_counter() - start, 3), args=dict(args))
    return row
