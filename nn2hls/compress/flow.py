"""One call from a trained PyTorch classifier to compressed, exported, compiled and checked firmware.

`compress(model, train, val, ...)` runs the seed's recipe as stages, each on the previous one's result:
  reference  accuracy of the model as passed in (validation, and test data when given);
  prune      `schedule.iterative_prune` with an L1 or L_p penalty in every (re)training, masks kept;
             weights ranked by magnitude, OBD saliency or energy (`criteria`), optionally towards
             per-layer targets measured by sensitivity;
  qat        (with `bits`) quantization-aware training of the pruned model (`qat.quantize_model`: the
             masks are carried onto the quantized layers, so pruned weights stay zero);
  share      (with `share_bits`) k-means weight sharing of the nonzero weights plus codebook fine-tuning;
  export     plain ONNX (`export.export_onnx`) and, for a Brevitas QAT model, QONNX;
  compile    `nn2hls.compile` of the exported ONNX with the validation inputs as calibration data, and
             (`check=True`) `nn2hls.check`: C simulation == emulator bit for bit, agreement vs float.
Every row of `CompressResult.history` is one measurement: stage, iteration, sparsity (zero weights /
weights), multiply_sparsity (zeros weighted by the multiplies they save, `masks.multiply_sparsity`),
effective_sparsity (weights that are zero once quantized to the compiler's automatic weight type,
`masks.effective_sparsity`), val_acc and test_acc as fractions, accepted, seconds.
Checkpoints: with `out_dir`, each finished stage saves the model and the history so far under
`out_dir/checkpoints/`; a rerun with `resume=True` (the default) loads the last finished stage and goes
on from there. Plots (matplotlib): accuracy vs sparsity and per-layer sparsity, as PNG in `out_dir`.
Progress: one line per iteration and stage on stderr when it is a terminal (`nn2hls.progress`).
Selection: the tolerance is checked on the validation data at every pruning step, so the state the
schedule ends in is the one that passed many looks at the same samples; its accuracy on unseen data is
often lower than the validation says (the digits CNN with 360 validation samples: bench/RESULTS.md).
With `test` data, a final model more than `tolerance` below the model passed in on the test data (while
within it on validation) is warned (a Python UserWarning: `warnings.catch_warnings` records it), with
the test drop's own paired standard error and the number of looks.
"""
from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from nn2hls import progress
from nn2hls.compress import masks
from nn2hls.compress.penalties import L1Penalty, LpPenalty
from nn2hls.compress.schedule import accuracy, fit, iterative_prune, paired_margin, taper, to_tensors
from nn2hls.errors import ConfigError

RECIPES = ("l1", "lp", "none")
STAGES = ("prune", "qat", "share")
HISTORY_KEYS = ("stage", "iteration", "sparsity", "multiply_sparsity", "effective_sparsity", "val_acc",
                "test_acc", "accepted", "seconds")


@dataclass
class CompressResult:
    """What `compress` returns. `model`: the compressed torch model (masks and QAT layers kept);
    `onnx_path` / `qonnx_path`: the exports (None without `out_dir`, or no Brevitas QAT for QONNX);
    `compiled`: the nn2hls CompiledModel of the export; `check`: its CheckResult (None when not run);
    `report`: the compiled model's resource report; `history`: one dict per measurement (HISTORY_KEYS
    plus `sparsity/<layer>`); `stop_reason`: why pruning stopped; `plots`: name -> PNG path;
    `validation_looks`: how many times the pruning schedule evaluated the validation data (the reference,
    every step and every confirming retrain): every look selects the accepted state a little more for
    validation luck (module docstring, "Selection")."""

    model: nn.Module
    reference_accuracy: float
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str = ""
    onnx_path: Path | None = None
    qonnx_path: Path | None = None
    compiled: Any = None
    check: Any = None
    report: dict[str, Any] | None = None
    plots: dict[str, Path] = field(default_factory=dict)
    validation_looks: int = 0

    @property
    def final(self) -> dict[str, Any]:
        """The last accepted measurement (the state `model` is in)."""
        return [row for row in self.history if row["accepted"]][-1]

    def to_csv(self, path: str | Path) -> Path:
        """Write the history as CSV, one row per measurement; returns the path."""
        import csv

        keys = list(HISTORY_KEYS) + sorted({k for row in self.history for k in row if k not in HISTORY_KEYS})
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)
        return Path(path)


def _pair(data: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ConfigError(f"{what} must be a pair (inputs, labels) of arrays or tensors")
    x, y = data
    if len(x) != len(y):
        raise ConfigError(f"{what}: {len(x)} inputs but {len(y)} labels")
    if len(x) == 0:
        raise ConfigError(f"{what} is empty")
    return to_tensors(x.numpy() if isinstance(x, torch.Tensor) else x, y.numpy() if isinstance(y, torch.Tensor) else y)


def _penalty(recipe: str, strength: float | None, p: float):
    if recipe not in RECIPES:
        raise ConfigError(f"recipe '{recipe}' is unknown; use one of {', '.join(RECIPES)}")
    if recipe == "l1":
        return L1Penalty(1e-4 if strength is None else strength)
    if recipe == "lp":
        return LpPenalty(1e-3 if strength is None else strength, p=p)
    return None


class _Measure:
    """Measures a model state into a history row (accuracies, the three sparsities, per-layer sparsity)."""

    def __init__(self, val, test, reuse, weight_width: int) -> None:
        self.val, self.test, self.reuse, self.weight_width = val, test, reuse, weight_width

    def __call__(self, model: nn.Module, stage: str, iteration: int, seconds: float,
                 accepted: bool = True, val_acc: float | None = None) -> dict[str, Any]:
        row = {"stage": stage, "iteration": iteration, "sparsity": masks.sparsity(model),
               "multiply_sparsity": masks.multiply_sparsity(model, self.reuse),
               "effective_sparsity": masks.effective_sparsity(model, self.weight_width),
               "val_acc": accuracy(model, *self.val) if val_acc is None else val_acc,
               "test_acc": accuracy(model, *self.test) if self.test is not None else None,
               "accepted": accepted, "seconds": round(seconds, 3)}
        row.update({f"sparsity/{k}": v for k, v in masks.layer_sparsity(model).items()})
        return row


def _say(row: dict[str, Any], reference: float) -> None:
    if progress.enabled():
        import sys

        margin = f" + margin {100 * row['margin']:.2f} pt" if row.get("margin") else ""
        test = f", test acc {100 * row['test_acc']:.2f}%" if row.get("test_acc") is not None else ""
        sys.stderr.write(f"{row['stage']} {row['iteration']}: sparsity {100 * row['sparsity']:.1f}% "
                         f"(effective {100 * row['effective_sparsity']:.1f}%), val acc {100 * row['val_acc']:.2f}% "
                         f"(reference {100 * reference:.2f}%{margin}){test}{'' if row['accepted'] else ' rejected'}\n")


def _checkpoint_dir(out_dir: Path | None) -> Path | None:
    return out_dir / "checkpoints" if out_dir is not None else None


OUTPUT_FILES = ("compressed.onnx", "compressed.qonnx.onnx", "history.csv", "accuracy_vs_sparsity.png",
                "layer_sparsity.png")


def _save_stage(ckpt: Path | None, stage: str, model: nn.Module, result: CompressResult,
                arguments: dict[str, Any]) -> None:
    # a state dict, not the pickled module: Brevitas layers do not pickle; `_rebuild` recreates the
    # structure (masks are re-derived from the saved zeros, masks.py)
    if ckpt is None:
        return
    ckpt.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), ckpt / f"{stage}.pt")
    state = {"stage": stage, "history": result.history, "stop_reason": result.stop_reason,
             "reference_accuracy": result.reference_accuracy, "validation_looks": result.validation_looks,
             "arguments": arguments}
    (ckpt / "state.json").write_text(json.dumps(state, indent=1))


def _start_over(out: Path | None) -> None:
    """Remove a previous run's checkpoints and outputs (this flow's own files only) before a new run."""
    if out is None:
        return
    import shutil

    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)


def _run_arguments(values: dict[str, Any], data: Sequence[torch.Tensor]) -> dict[str, Any]:
    """What decides a run's result: the schedule's arguments and a digest of the data."""
    import hashlib

    digest = hashlib.sha256()
    for t in data:
        digest.update(t.numpy().tobytes())
    return {**{k: repr(v) for k, v in values.items()}, "data_sha256": digest.hexdigest()}


def _resume(ckpt: Path | None, stages: Sequence[str], rebuild, arguments: dict[str, Any]
            ) -> tuple[str | None, nn.Module | None, dict | None]:
    if ckpt is None or not (ckpt / "state.json").is_file():
        return None, None, None
    state = json.loads((ckpt / "state.json").read_text())
    differ = sorted(k for k in set(arguments) | set(state.get("arguments", {}))
                    if arguments.get(k) != state.get("arguments", {}).get(k))
    if differ:
        raise ConfigError(f"'{ckpt.parent}' holds a compression run with other arguments (differs in: "
                          f"{', '.join(differ)}); start over with resume=False (command line: --force) or "
                          "choose another output folder")
    stage = state.get("stage")
    if stage not in stages or not (ckpt / f"{stage}.pt").is_file():
        return None, None, None
    model = rebuild(stage)
    try:
        model.load_state_dict(torch.load(ckpt / f"{stage}.pt", weights_only=True))
    except RuntimeError as exc:
        raise ConfigError(f"checkpoint '{ckpt / (stage + '.pt')}' does not fit this model ({str(exc).splitlines()[0]}); "
                          "delete the checkpoints folder or pass resume=False") from None
    return stage, model, state


def compress(model: nn.Module, train: Any, val: Any, *, test: Any = None, recipe: str = "l1",
             strength: float | None = None, p: float = 0.1, target_sparsity: float = 0.75,
             tolerance: float = 0.005, fraction: float | None = None, scope: str = "auto",
             criterion: str = "magnitude", sensitivity: "bool | str" = False, sensitivity_drop: float = 0.05,
             bits: str | None = None, qat_layers: str = "all", qat_edge: str | None = None,
             share_bits: int | None = None, epochs: int = 20, retrain_epochs: int = 10,
             qat_epochs: int = 10, share_epochs: int = 5, lr: float = 1e-3, batch_size: int = 64,
             seed: int = 0, lr_decay: str | None = "auto", weight_width: int = 16, confidence: float = 0.0,
             out_dir: str | Path | None = None, resume: bool = True,
             check: bool = True, check_samples: int = 1000) -> CompressResult:
    """Compress a trained classifier and compile it (module docstring for the stages). Returns a
    CompressResult; `model` itself is not modified (a copy is compressed). `model`: a torch.nn.Module, or
    anything `nn2hls.load` reads (file path, ONNX/Keras model), made trainable by `from_ir.to_torch`.

    `train`, `val`, `test`: (inputs (N, *input_shape), integer labels (N,)) as numpy arrays or tensors.
    `recipe`: "l1" (strength default 1e-4), "lp" (smoothed L_p, p default 0.1, strength default 1e-3)
    or "none" (magnitude pruning without a penalty). `target_sparsity`, `tolerance` (accuracy fraction
    below the model passed in, checked on `val`), `fraction` (of the remaining weights pruned per step;
    default a taper from 0.3 to 0.15 at 60% sparsity), `scope` ("auto", "layer", "global"): as in
    `schedule.iterative_prune` / `masks.auto_scope`. `criterion`: "magnitude", "obd" (Optimal Brain
    Damage saliency) or "energy" (|w| per picojoule of its products), `nn2hls.compress.criteria`.
    `confidence`: z >= 0; a step is accepted only when its validation drop plus z paired standard errors
    (`schedule.paired_margin`, against the model passed in) stays within `tolerance` (0: the drop alone;
    the margin of each judged step is the history's `margin`). With a few hundred validation samples one
    standard error is about 1 pt, so z = 1 with a 1 pt tolerance allows almost no net loss. The result's
    `validation_looks` counts how often pruning evaluated the validation data; with `test` data a final
    model within the tolerance on validation but not on test is warned (module docstring, "Selection").
    `sensitivity`: per-layer sparsity by measured sensitivity, for CNNs, whose layers differ. True (or
    "steps"): `criteria.LayerSteps`: at every iteration, on the fine-tuned model, each layer's next step
    is tried alone and the one costing the least training loss per removed multiply is taken (weights
    ranked by `criterion` inside the layer); a step the tolerance rejects is rolled back and that layer's
    step halved, until no layer can take one more weight. "targets": the earlier rule
    (`criteria.SensitivityTargets`: one-shot targets losing at most `sensitivity_drop`, re-measured when
    every layer reached its target; the first rejected step ends the schedule). `lr_decay`: the
    learning-rate schedule of every retraining (`schedule.fit`: None or "cosine"); "auto" = "cosine" with
    sensitivity steps, else None. `bits`: a QAT spec ("fixed8", "ternary", ...) or
    None to skip QAT; `qat_layers`/`qat_edge` as `qat.quantize_model`'s `layers`/`edge`. `share_bits`:
    k-means weight sharing with 2^bits values per layer, or None. `weight_width`: the width of the
    compiler's automatic weight type used for `effective_sparsity`. `out_dir`: where exports,
    checkpoints, the history CSV and the plots go (None: a temporary folder for the export only,
    nothing kept). `resume`: go on after the last finished stage of a previous run in `out_dir` with the
    same arguments and data (other arguments are a ConfigError); False starts over, removing the previous
    run's checkpoints and outputs. `check`: run `nn2hls.check` on up to `check_samples` validation inputs (needs g++).
    Raises ConfigError for bad arguments.
    """
    import tempfile

    from nn2hls.compress import qat, sharing
    from nn2hls.compress.export import export_onnx, export_qonnx

    if not isinstance(model, nn.Module):
        from nn2hls.compress.from_ir import to_torch

        model = to_torch(model)  # any model nn2hls reads, as a trainable module (from_ir)
    x_tr, y_tr = _pair(train, "train")
    val_t = _pair(val, "val")
    test_t = _pair(test, "test") if test is not None else None
    penalty = _penalty(recipe, strength, p)
    from nn2hls.compress.criteria import CRITERIA

    if criterion not in CRITERIA:
        raise ConfigError(f"pruning criterion '{criterion}' is unknown; use one of {', '.join(CRITERIA)}")
    out = Path(out_dir) if out_dir is not None else None
    ckpt = _checkpoint_dir(out)
    stages = ["prune"] + (["qat"] if bits is not None else []) + (["share"] if share_bits is not None else [])
    if bits is not None:
        qat.QuantSpec.parse(bits)  # fail early on a bad spec
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 <= confidence < math.inf:
        raise ConfigError(f"confidence {confidence!r} must be a finite number >= 0 (standard errors; 0 compares the "
                          "drop alone)")

    work = masks.copy_model(model).eval()
    reuse = masks.reuse_counts(work, x_tr[:1])
    measure = _Measure(val_t, test_t, reuse, weight_width)
    def rebuild(stage: str) -> nn.Module:
        fresh = masks.copy_model(model)
        masks.install_masks(fresh)
        if stage in ("qat", "share"):
            fresh = qat.quantize_model(fresh, bits, layers=qat_layers, edge=qat_edge)
        return fresh

    arguments = _run_arguments(
        dict(recipe=recipe, strength=strength, p=p, target_sparsity=target_sparsity, tolerance=tolerance,
             fraction=fraction, scope=scope, criterion=criterion, sensitivity=sensitivity,
             sensitivity_drop=sensitivity_drop, bits=bits, qat_layers=qat_layers, qat_edge=qat_edge,
             share_bits=share_bits, epochs=epochs, retrain_epochs=retrain_epochs, qat_epochs=qat_epochs,
             share_epochs=share_epochs, lr=lr, batch_size=batch_size, seed=seed, weight_width=weight_width,
             **({} if lr_decay == "auto" else {"lr_decay": lr_decay}),
             **({"confidence": confidence} if confidence else {})),
        [x_tr, y_tr, *val_t])
    if resume:
        done, resumed, state = _resume(ckpt, stages, rebuild, arguments)
    else:
        _start_over(out)
        done, resumed, state = None, None, None
    if done is not None:
        result = CompressResult(resumed, state["reference_accuracy"], state["history"], state["stop_reason"],
                                validation_looks=state.get("validation_looks", 0))
        work = resumed
    else:
        reference = measure(work, "reference", 0, 0.0)
        result = CompressResult(work, reference["val_acc"], [reference])
    todo = stages[stages.index(done) + 1:] if done is not None else stages

    if sensitivity not in (False, True, "steps", "targets"):
        raise ConfigError(f"sensitivity={sensitivity!r}: use False, True / 'steps' or 'targets'")
    steps_rule = sensitivity is True or sensitivity == "steps"
    decay = ("cosine" if steps_rule else None) if lr_decay == "auto" else lr_decay
    if decay not in (None, "cosine"):
        raise ConfigError(f"lr_decay '{lr_decay}' is unknown; use 'auto', None or 'cosine'")
    if "prune" in todo:
        use_scope = masks.auto_scope(reuse) if scope == "auto" else scope
        rule = fraction if fraction is not None else taper(0.3, 0.15, at=0.6)

        def train_step(m: nn.Module, iteration: int) -> None:
            fit(m, x_tr, y_tr, epochs=epochs if iteration == 0 else retrain_epochs, lr=lr,
                batch_size=batch_size, penalty=penalty, seed=seed + 1000 * iteration,
                lr_decay=None if iteration == 0 else decay)

        def evaluate(m: nn.Module) -> float:
            result.validation_looks += 1
            return accuracy(m, *val_t)

        def record(m: nn.Module, rec: Any) -> None:
            row = measure(m, "prune", rec.iteration, rec.seconds, rec.accepted, val_acc=rec.accuracy)
            row["margin"] = rec.margin if margin is not None and rec.iteration > 0 else None  # judged steps only
            result.history.append(row)
            _say(row, result.reference_accuracy)

        evaluate.n_samples = len(val_t[1])  # type: ignore[attr-defined]
        from nn2hls.compress import criteria

        threshold = step = None
        if steps_rule:
            step = criteria.LayerSteps(x_tr, y_tr, reuse, criterion=criterion)
        elif sensitivity == "targets":
            threshold = criteria.SensitivityTargets(evaluate, sensitivity_drop)
        scores = None if criterion == "magnitude" else (
            lambda m: criteria.scores_for(criterion, m, x_tr, y_tr))
        margin = paired_margin(work, *val_t, z=confidence) if confidence else None
        pruned = iterative_prune(work, train_step, evaluate, target_sparsity=target_sparsity,
                                 tolerance=tolerance, fraction=rule, threshold=threshold, scope=use_scope,
                                 clip_to_target=True, on_iteration=record, scores=scores, step=step,
                                 margin=margin)
        result.stop_reason = pruned.stop_reason
        _save_stage(ckpt, "prune", work, result, arguments)

    if "qat" in todo:
        start = time.perf_counter()
        work = qat.quantize_model(work, bits, layers=qat_layers, edge=qat_edge)
        fit(work, x_tr, y_tr, epochs=qat_epochs, lr=lr, batch_size=batch_size, seed=seed + 7)
        row = measure(work, "qat", 0, time.perf_counter() - start)
        row["accepted"] = True
        result.history.append(row)
        _say(row, result.reference_accuracy)
        _save_stage(ckpt, "qat", work, result, arguments)

    if "share" in todo:
        start = time.perf_counter()
        work = masks.copy_model(work)
        sharing.share_weights(work, share_bits, trainable=True, seed=seed)
        fit(work, x_tr, y_tr, epochs=share_epochs, lr=lr, batch_size=batch_size, seed=seed + 11)
        sharing.unshare(work)
        row = measure(work, "share", 0, time.perf_counter() - start)
        result.history.append(row)
        _say(row, result.reference_accuracy)
        _save_stage(ckpt, "share", work, result, arguments)

    result.model = work
    test_se = paired_margin(model, *test_t)(work) if test_t is not None else None
    warning = selection_warning(result, tolerance, test_se)
    if warning:
        warnings.warn(warning, UserWarning, stacklevel=2)
    tmp = None
    if out is None:
        tmp = tempfile.mkdtemp(prefix="nn2hls_compress_")
        folder = Path(tmp)
    else:
        folder = out
        folder.mkdir(parents=True, exist_ok=True)
    try:
        example = x_tr[:1]
        with _quiet_exporters():
            result.onnx_path = export_onnx(work, example, folder / "compressed.onnx")
            if bits is not None and qat.has_brevitas() and any(
                    hasattr(m, "quant_weight") for m in work.modules()):
                result.qonnx_path = export_qonnx(work, example, folder / "compressed.qonnx.onnx")
        _compile_and_check(result, val_t[0].numpy(), check, check_samples)
        if out is not None:
            result.to_csv(out / "history.csv")
            result.plots = plot_history(result, out)
    finally:
        if tmp is not None:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
            result.onnx_path = result.qonnx_path = None
    return result


def selection_warning(result: CompressResult, tolerance: float, test_se: float | None = None) -> str | None:
    """The warning for a final model within `tolerance` of the reference on validation data but not on
    test data (module docstring, "Selection"), or None (no test data, or no such gap). Accuracies are the
    history's fractions; `test_se`: one paired standard error of the test drop (`schedule.paired_margin`
    with z = 1), shown when given; the message gives percentage points."""
    reference, final = result.history[0], result.final
    if reference.get("test_acc") is None or final.get("test_acc") is None:
        return None
    test_drop = reference["test_acc"] - final["test_acc"]
    val_drop = result.reference_accuracy - final["val_acc"]
    if test_drop <= tolerance or val_drop > tolerance:
        return None
    spread = f" +- {100 * test_se:.2f}" if test_se is not None else ""
    return (f"the compressed model is {100 * test_drop:.2f}{spread} pt below the model passed in on the test "
            f"data but {100 * val_drop:.2f} pt on the validation data, which pruning evaluated "
            f"{result.validation_looks} times (tolerance {100 * tolerance:.2f} pt): the steps it accepted are "
            "selected for validation luck, and the test data took no decision; consider confidence= "
            "(--confidence), more validation data or a larger tolerance")


@contextlib.contextmanager
def _quiet_exporters() -> Iterator[None]:
    """The torch/Brevitas exporters print progress and warnings of their own; keep the user's terminal for
    nn2hls's progress lines (errors still raise)."""
    import io
    import logging

    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _compile_and_check(result: CompressResult, x_val: np.ndarray, check: bool, n: int) -> None:
    import nn2hls

    with progress.step("compiling the compressed model"):
        result.compiled = nn2hls.compile(str(result.onnx_path), calibration=x_val)
    result.report = result.compiled.report()
    if check:
        with progress.step("checking C simulation == emulator"):
            result.check = nn2hls.check(result.compiled, x_val[:n])


def plot_history(result: CompressResult, out_dir: str | Path) -> dict[str, Path]:
    """Accuracy vs sparsity (prune iterations, then QAT/sharing) and per-layer sparsity of the final
    model, as PNG files in out_dir; returns name -> path. Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    paths = {}
    fig, ax = plt.subplots(figsize=(5, 3.5))
    prune_rows = [r for r in result.history if r["stage"] == "prune"]
    ax.plot([100 * r["sparsity"] for r in prune_rows], [100 * r["val_acc"] for r in prune_rows], "o-",
            label="prune (val)")
    for r in prune_rows:
        if not r["accepted"]:
            ax.plot(100 * r["sparsity"], 100 * r["val_acc"], "rx")
    tested = [r for r in prune_rows if r["accepted"] and r.get("test_acc") is not None]
    if tested:  # the held-out curve: no decision was taken on it (module docstring, "Selection")
        ax.plot([100 * r["sparsity"] for r in tested], [100 * r["test_acc"] for r in tested], "^--", ms=3,
                label="prune (test, accepted steps)")
    for r in result.history:
        if r["stage"] in ("qat", "share"):
            ax.plot(100 * r["sparsity"], 100 * r["val_acc"], "s", label=f"{r['stage']} (val)")
    ax.axhline(100 * result.reference_accuracy, color="gray", ls="--", label="model passed in")
    ax.set_xlabel("weight sparsity (%)")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths["accuracy_vs_sparsity"] = out / "accuracy_vs_sparsity.png"
    fig.savefig(paths["accuracy_vs_sparsity"], dpi=120)
    plt.close(fig)
    final = result.final
    layers = [k.split("/", 1)[1] for k in final if k.startswith("sparsity/")]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(range(len(layers)), [100 * final[f"sparsity/{n}"] for n in layers])
    ax.set_xticks(range(len(layers)), [n or "model" for n in layers], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("sparsity (%)")
    ax.set_title(f"per-layer sparsity after {final['stage']}")
    fig.tight_layout()
    paths["layer_sparsity"] = out / "layer_sparsity.png"
    fig.savefig(paths["layer_sparsity"], dpi=120)
    plt.close(fig)
    return paths
