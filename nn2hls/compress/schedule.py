"""Iterative train -> prune -> retrain-with-masks schedule, and a ready `fit` for classification.

Schedule (the seed's recipe):
  0. The reference accuracy is `evaluate(model)` on the model exactly as passed in (the trained float
     model the user wants to compress); `evaluate` must return a fraction in [0, 1].
  1. `train(model, 0)`: the user's training (typically with an L1 or L_p penalty), recorded as
     iteration 0.
  2. iteration i = 1, 2, ...: prune (a fraction of the remaining weights, or every |w| below a threshold
     read from the weight distribution), then `train(model, i)` again: the masks keep pruned weights
     at exactly zero while the penalty keeps pushing new weights towards zero; `evaluate(model)`.
  3. stop when the sparsity reaches `target_sparsity` ("target"), when the accuracy fell more than
     `tolerance` below the reference ("tolerance": the model is rolled back to the last accepted
     iteration), when pruning removed nothing more ("stalled") or after `max_iterations` ("max_iterations").
Statistical resolution: on n validation samples one flipped sample moves the accuracy by 1/n, so a
tolerance below 1/n stops at the first flip (warned). A step that breaks the tolerance is retrained
once more (`train(model, i)` again, its masks unchanged) and judged on that second evaluation
(`confirm=True`): a single noisy evaluation no longer ends the schedule on a flat accuracy curve.
Margin (`margin`, e.g. `paired_margin`): a step is accepted only when the accuracy drop plus the margin
stays within the tolerance. `paired_margin` is z standard errors of the paired accuracy difference on
the validation samples, from the samples on which the model and the reference disagree (McNemar 1947;
Agresti, "Categorical Data Analysis", paired proportions): with n10 samples only the reference gets right,
n01 only the model, d = (n10 - n01) / n and SE = sqrt((n10 + n01) / n - d^2) / n^0.5. It is the
statistical resolution of the validation set for this comparison: a drop within the tolerance by less
than z SE could be the sample's luck (z = 1: about 84% one-sided confidence that the true drop is within
the tolerance, for one look; many looks select for luck all the same, bench/RESULTS.md).
The prune fraction may change per iteration (`fraction` a function of (iteration, sparsity), e.g.
`taper(0.3, 0.15, at=0.8)`: smaller steps near the end, where each removed weight costs more), and with
`clip_to_target` the last step removes only what reaches the target: with s the current sparsity and
T the target, at most 1 - (1 - T)/(1 - s) of the remaining weights (+ half a percent of them, so the
integer counts of whole weights still reach T). Without `max_iterations`, a constant fraction f gets
enough iterations to reach the target: ceil(log(1 - T) / log(1 - f)).
Backtracking (`step`, e.g. `criteria.LayerSteps`): a rule object that prunes the model itself
(`step.prune(model)`) and, when the tolerance rejects its step, is told so (`step.rejected(model)`, after
the model was rolled back) and answers whether it has a smaller step to try; the schedule then goes on
from the last accepted state instead of stopping ("tolerance" only when the rule has nothing left).
Every rejected attempt is one more look at the validation data: its history row says so (accepted=False).
The training step is the user's callback, so any loss, optimizer or data pipeline works; `fit` and
`make_callbacks` give one for plain classification data (cross-entropy, Adam, optional penalty).
"""
from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable, Protocol

import numpy as np
import torch
from torch import nn

from nn2hls import progress
from nn2hls.compress import masks
from nn2hls.errors import ConfigError

TrainFn = Callable[[nn.Module, int], None]
EvalFn = Callable[[nn.Module], float]
ThresholdFn = Callable[[nn.Module], "float | dict[str, float]"]
FractionFn = Callable[[int, float], float]

MAX_DERIVED_ITERATIONS = 50


class PruneStep(Protocol):
    """A pruning rule that applies its own step and can back off when the tolerance rejects it."""

    def prune(self, model: nn.Module) -> None: ...

    def rejected(self, model: nn.Module) -> bool: ...


@dataclass
class IterationRecord:
    iteration: int
    sparsity: float
    accuracy: float
    layer_sparsity: dict[str, float]
    accepted: bool = True
    seconds: float = 0.0
    margin: float = 0.0


@dataclass
class PruneResult:
    reference_accuracy: float
    history: list[IterationRecord] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def baseline_accuracy(self) -> float:
        """Alias of `reference_accuracy` (the model as passed in)."""
        return self.reference_accuracy

    @property
    def final(self) -> IterationRecord:
        """The last accepted iteration (the state the model was left in)."""
        return [r for r in self.history if r.accepted][-1]

    def table(self) -> list[dict[str, object]]:
        """The history as rows (iteration, sparsity, accuracy, accepted, seconds, sparsity/<layer>...)."""
        rows = []
        for rec in self.history:
            row = {k: v for k, v in asdict(rec).items() if k != "layer_sparsity"}
            row.update({f"sparsity/{name}": v for name, v in rec.layer_sparsity.items()})
            rows.append(row)
        return rows

    def to_csv(self, path: str) -> None:
        """Write `table()` as CSV (one row per iteration)."""
        import csv

        rows = self.table()
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["iteration"])
            writer.writeheader()
            writer.writerows(rows)


def _checked_accuracy(evaluate: EvalFn, model: nn.Module) -> float:
    value = float(evaluate(model))
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ConfigError(f"evaluate(model) returned {value}; it must return an accuracy as a fraction in "
                          "[0, 1] (e.g. 0.93, not 93)")
    return value


def _derived_iterations(fraction: "float | FractionFn | None", threshold: object, target: float,
                        step: object = None) -> int:
    if step is not None:
        return MAX_DERIVED_ITERATIONS
    if threshold is not None or callable(fraction) or fraction is None or not 0.0 < fraction < 1.0:
        return 10
    if target >= 1.0:
        return MAX_DERIVED_ITERATIONS
    return min(MAX_DERIVED_ITERATIONS, max(1, math.ceil(math.log(1.0 - target) / math.log(1.0 - fraction))))


def _report(rec: IterationRecord, reference: float) -> None:
    if progress.enabled():
        mark = "" if rec.accepted else "  (rejected)"
        sys.stderr.write(f"prune iteration {rec.iteration}: sparsity {100 * rec.sparsity:.1f}%, accuracy "
                         f"{100 * rec.accuracy:.2f}% (reference {100 * reference:.2f}%), "
                         f"{rec.seconds:.1f} s{mark}\n")
        sys.stderr.flush()


def iterative_prune(model: nn.Module, train: TrainFn, evaluate: EvalFn, *, target_sparsity: float = 0.9,
                    tolerance: float = 0.005, max_iterations: int | None = None,
                    fraction: "float | FractionFn | None" = 0.2, threshold: "float | ThresholdFn | None" = None,
                    scope: str = "layer", clip_to_target: bool = False, n_val: int | None = None,
                    confirm: bool = True, on_iteration: "Callable[[nn.Module, IterationRecord], None] | None" = None,
                    scores: "Callable[[nn.Module], dict[str, torch.Tensor]] | None" = None,
                    step: PruneStep | None = None,
                    margin: "Callable[[nn.Module], float] | None" = None, report: bool = True) -> PruneResult:
    """Run the schedule on `model` in place and return its history (see module docstring).

    Exactly one of `fraction` (prune this fraction of the remaining nonzero weights per iteration,
    smallest |w| first, per layer or `scope="global"`) and `threshold` (a float, or a function of
    the model returning a float or name -> float, e.g. read from the weight distribution) is used;
    `threshold` wins when given. `fraction` may be a function (iteration, current sparsity) -> fraction;
    `clip_to_target` shrinks the step that would overshoot `target_sparsity` (module docstring).
    `scores(model)` (e.g. from `nn2hls.compress.criteria`: OBD saliency, energy) ranks the weights for
    the fraction rule instead of |w|. `step` (a `PruneStep`) wins over both: it prunes, and backs off
    when rejected (module docstring). `margin(model)` (accuracy units, e.g. `paired_margin`) is added to
    every step's drop before it is compared with the tolerance. `tolerance` is in accuracy units (0.005 = 0.5 percentage points) below the reference accuracy of the
    model as passed in. `n_val`: the number of validation samples `evaluate` uses (read from
    `evaluate.n_samples` when the callback has it, as `make_callbacks`' does); a tolerance below one
    sample is warned. `on_iteration(model, record)` is called after each evaluation, with the model
    in the state that was evaluated (before a rejected step is rolled back). `report`: one progress line
    per iteration on stderr (when `nn2hls.progress` is enabled); False when `on_iteration` prints its
    own. Raises ConfigError for bad arguments or an `evaluate` that does not return a fraction in [0, 1].
    """
    if not 0.0 < target_sparsity <= 1.0:
        raise ConfigError(f"target_sparsity {target_sparsity} must be in (0, 1]")
    if threshold is None and fraction is None and step is None:
        raise ConfigError("iterative_prune needs a pruning rule: give fraction= or threshold=")
    if tolerance < 0:
        raise ConfigError(f"tolerance {tolerance} must be >= 0 (accuracy units: 0.005 = 0.5 points)")
    n_val = n_val if n_val is not None else getattr(evaluate, "n_samples", None)
    if n_val and tolerance * n_val < 1.0:
        warnings.warn(f"tolerance {tolerance} is below one validation sample (1/{n_val} = {1 / n_val:.4f}): "
                      "the first flipped sample stops the schedule; use more validation data or a larger "
                      "tolerance", stacklevel=2)
    if max_iterations is None:
        max_iterations = _derived_iterations(fraction, threshold, target_sparsity, step)
    masks.install_masks(model)
    result = PruneResult(reference_accuracy=_checked_accuracy(evaluate, model))
    start = time.perf_counter()
    train(model, 0)
    rec = IterationRecord(0, masks.sparsity(model), _checked_accuracy(evaluate, model),
                          masks.layer_sparsity(model), seconds=time.perf_counter() - start)
    result.history.append(rec)
    if report:
        _report(rec, result.reference_accuracy)
    if on_iteration is not None:
        on_iteration(model, rec)
    if masks.sparsity(model) >= target_sparsity:
        result.stop_reason = "target"
        return result
    for it in range(1, max_iterations + 1):
        start = time.perf_counter()
        accepted_state = copy.deepcopy(model.state_dict())
        before = masks.sparsity(model)
        if step is not None:
            step.prune(model)
        elif threshold is not None:
            thr = threshold(model) if callable(threshold) else threshold
            masks.prune_below(model, thr)
        else:
            share = fraction(it, before) if callable(fraction) else fraction
            if clip_to_target and before < 1.0:
                share = min(share, 1.0 - (1.0 - target_sparsity) / (1.0 - before) + 0.005)
            if scores is not None:
                from nn2hls.compress.criteria import prune_by_score

                prune_by_score(model, scores(model), share, scope)
            else:
                masks.prune_fraction(model, share, scope)
        if masks.sparsity(model) <= before:
            result.stop_reason = "stalled"
            return result
        train(model, it)
        acc = _checked_accuracy(evaluate, model)
        extra = margin(model) if margin is not None else 0.0
        if confirm and result.reference_accuracy - acc + extra > tolerance:
            train(model, it)
            acc = _checked_accuracy(evaluate, model)
            extra = margin(model) if margin is not None else 0.0
        rec = IterationRecord(it, masks.sparsity(model), acc, masks.layer_sparsity(model),
                              seconds=time.perf_counter() - start, margin=extra)
        result.history.append(rec)
        rec.accepted = result.reference_accuracy - acc + extra <= tolerance
        if report:
            _report(rec, result.reference_accuracy)
        if on_iteration is not None:
            on_iteration(model, rec)
        if not rec.accepted:
            model.load_state_dict(accepted_state)  # masks re-derived from the saved zeros (masks.py)
            if step is not None and step.rejected(model):
                continue  # a smaller step from the last accepted state
            result.stop_reason = "tolerance"
            return result
        if rec.sparsity >= target_sparsity:
            result.stop_reason = "target"
            return result
    result.stop_reason = "max_iterations"
    return result


def paired_margin(reference: nn.Module, x: "torch.Tensor | np.ndarray", y: "torch.Tensor | np.ndarray",
                  z: float = 1.0) -> Callable[[nn.Module], float]:
    """A `margin` for `iterative_prune`: z paired standard errors of the accuracy difference between
    `reference` (its predictions on (x, y) taken now) and a later model (module docstring, "Margin").
    `x`: inputs (N, ...), `y`: integer labels (N,). Raises ConfigError for z < 0 or no samples."""
    if z < 0:
        raise ConfigError(f"margin z {z} must be >= 0 (standard errors)")
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        x, y = to_tensors(x, y)
    if len(y) == 0:
        raise ConfigError("paired_margin needs at least one validation sample")
    ref_ok = _correct(reference, x, y)
    n = len(y)

    def margin(model: nn.Module) -> float:
        ok = _correct(model, x, y)
        n10, n01 = int((ref_ok & ~ok).sum()), int((~ref_ok & ok).sum())
        d = (n10 - n01) / n
        return z * math.sqrt(max((n10 + n01) / n - d * d, 0.0) / n)
    return margin


def taper(start: float, end: float, at: float) -> FractionFn:
    """A fraction rule: prune `start` of the remaining weights per step while the sparsity is below `at`,
    `end` from then on (smaller steps near the end of the schedule)."""
    if not (0.0 < end < 1.0 and 0.0 < start < 1.0):
        raise ConfigError(f"taper fractions {start}, {end} must be in (0, 1)")

    def rule(iteration: int, sparsity: float) -> float:
        return start if sparsity < at else end
    return rule


def std_threshold(k: float) -> ThresholdFn:
    """A threshold rule read from each layer's weight distribution: k times the standard deviation
    of its nonzero weights (the seed prunes the bottom of the distribution)."""
    def rule(model: nn.Module) -> dict[str, float]:
        out = {}
        for name, module in masks.prunable_layers(model):
            w = masks.effective_weight(module).flatten()
            w = w[w != 0]
            out[name] = float(k * w.std()) if w.numel() > 1 else 0.0
        return out
    return rule


# ---- a ready training step for classification tensors ------------------------------------------------
def accuracy(model: nn.Module, x: "torch.Tensor | np.ndarray", y: "torch.Tensor | np.ndarray") -> float:
    """Top-1 accuracy of `model` on (x, y) as a fraction in [0, 1], in eval mode, without gradients."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        x, y = to_tensors(x, y)
    return float(_correct(model, x, y).float().mean())


def _correct(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    was = model.training
    model.eval()
    with torch.no_grad():
        ok = model(x).argmax(dim=1) == y
    model.train(was)
    return ok


def fit(model: nn.Module, x: "torch.Tensor | np.ndarray", y: "torch.Tensor | np.ndarray", *, epochs: int = 20, lr: float = 1e-3,
        batch_size: int = 64, penalty: Callable[[nn.Module], torch.Tensor] | None = None,
        weight_decay: float = 0.0, seed: int = 0, lr_decay: str | None = None) -> list[float]:
    """Train a classifier with cross-entropy (+ penalty(model)) and Adam; returns the loss per epoch.

    `lr_decay`: None keeps `lr` constant; "cosine" anneals it from `lr` towards 0 over the epochs
    (cosine schedule, one step per epoch), so a fine-tuning after a pruning step ends in small steps.

    Batches are shuffled by a generator seeded with `seed`, so a run is deterministic on CPU.
    Pruning masks, if installed, are respected (pruned weights stay zero). `x`, `y` may be numpy
    arrays (converted as `to_tensors` does: float32 inputs, int64 labels).
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        x, y = to_tensors(x, y)
    gen = torch.Generator().manual_seed(seed)
    if lr_decay not in (None, "cosine"):
        raise ConfigError(f"lr_decay '{lr_decay}' is unknown; use None or 'cosine'")
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay)
    anneal = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs)) if lr_decay == "cosine" else None
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    losses = []
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            if penalty is not None:
                loss = loss + penalty(model)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / n)
        if anneal is not None:
            anneal.step()
    model.eval()
    return losses


def make_callbacks(x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor, *,
                   epochs: int = 20, retrain_epochs: int | None = None, lr: float = 1e-3, batch_size: int = 64,
                   penalty: Callable[[nn.Module], torch.Tensor] | None = None,
                   seed: int = 0) -> tuple[TrainFn, EvalFn]:
    """(train, evaluate) callbacks for `iterative_prune` built on `fit` and `accuracy`."""
    def train(model: nn.Module, iteration: int) -> None:
        n = epochs if iteration == 0 or retrain_epochs is None else retrain_epochs
        fit(model, x_train, y_train, epochs=n, lr=lr, batch_size=batch_size, penalty=penalty,
            seed=seed + 1000 * iteration)

    def evaluate(model: nn.Module) -> float:
        return accuracy(model, x_val, y_val)

    evaluate.n_samples = len(y_val)  # type: ignore[attr-defined]  # read by iterative_prune
    return train, evaluate


def to_tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 inputs and int64 labels."""
    return torch.as_tensor(np.asarray(x), dtype=torch.float32), torch.as_tensor(np.asarray(y), dtype=torch.int64)
