"""Which weights to prune first: importance scores, and per-layer sparsity targets from sensitivity.

Scores (one tensor shaped like each prunable layer's weight; lowest pruned first, `prune_by_score`):
  magnitude  |w|.
  obd        Optimal Brain Damage saliency 0.5 * h_ii * w_i^2 (LeCun, Denker, Solla 1990: the loss
             increase from deleting w_i under a diagonal quadratic model), with the diagonal Hessian h_ii
             approximated by the empirical Fisher information mean(g_i^2) over mini-batches of the
             training data (g: the per-batch gradient of the loss); exact for a model at a minimum of a
             log-likelihood loss in expectation, and cheap (one backward pass per batch).
  energy     |w| / e_i with e_i the energy the weight's products cost per inference:
             e_i = uses_i * E_mult(act_bits, weight_bits) (`masks.reuse_counts` uses; E_mult from
             `nn2hls.energy`): with one global threshold, weights whose products are expensive (conv taps
             reused at many positions) go first, the energy-aware pruning of Yang, Chen, Sze (CVPR 2017).
Per-layer steps by measured cost (`LayerSteps`, what `compress(sensitivity=True)` uses): at every
iteration, on the model as the last fine-tuning left it, each open layer's next step (a fraction of its
remaining weights, lowest scores first) is tried alone and its cost measured as the increase of the
training loss per multiply it removes (`masks.reuse_counts`: a conv tap counts once per output position
it is used at); the cheapest step is taken. The training data judge the cost, so the validation data
only accept or reject (the schedule's tolerance). A rejected step is rolled back and that layer's step
halved (finer steps near the limit); a layer is closed when its step would remove less than one weight
or less than `min_share` of the model's multiplies (steps too small to matter).
Sensitivity (Han et al. 2015, "Learning both weights and connections"): each layer alone is pruned to
increasing sparsities (no retraining) and the accuracy drop measured; a layer's target is the largest
sparsity whose drop stays within `max_drop`. `toward_targets` turns the targets into a threshold rule
for `schedule.iterative_prune` that moves each layer a step closer to its own target per iteration.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from nn2hls.compress import masks
from nn2hls.errors import ConfigError

Scores = dict[str, torch.Tensor]
CRITERIA = ("magnitude", "obd", "energy")


def magnitude(model: nn.Module) -> Scores:
    """|w| of every prunable layer (effective weights)."""
    return {name: masks.effective_weight(m).abs() for name, m in masks.prunable_layers(model)}


def obd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 256,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy) -> Scores:
    """OBD saliency 0.5 * Fisher_ii * w_i^2 per weight (module docstring), from (x, y) in batches."""
    layers = masks.prunable_layers(model)
    fisher = {name: torch.zeros_like(m.weight) for name, m in layers}
    was = model.training
    model.eval()
    n_batches = 0
    try:
        for start in range(0, len(x), batch_size):
            model.zero_grad()
            loss(model(x[start:start + batch_size]), y[start:start + batch_size]).backward()
            for name, m in layers:
                if m.weight.grad is not None:
                    fisher[name] += m.weight.grad.detach() ** 2
            n_batches += 1
    finally:
        model.zero_grad()
        model.train(was)
    if n_batches == 0:
        raise ConfigError("OBD saliency needs at least one training sample")
    return {name: 0.5 * fisher[name] / n_batches * masks.effective_weight(m) ** 2 for name, m in layers}


def energy(model: nn.Module, example_input: torch.Tensor, *, act_bits: int = 16, weight_bits: int = 8) -> Scores:
    """|w| per picojoule of the products the weight costs per inference (module docstring)."""
    from nn2hls.energy import multiply_pj

    per_product = multiply_pj(act_bits, weight_bits)
    reuse = masks.reuse_counts(model, example_input)
    return {name: masks.effective_weight(m).abs() / (reuse[name].clamp(min=1) * per_product)
            for name, m in masks.prunable_layers(model)}


def scores_for(criterion: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Scores:
    """The named criterion's scores (x, y: training data for OBD, an example input for energy)."""
    if criterion == "magnitude":
        return magnitude(model)
    if criterion == "obd":
        return obd(model, x, y)
    if criterion == "energy":
        return energy(model, x[:1])
    raise ConfigError(f"pruning criterion '{criterion}' is unknown; use one of {', '.join(CRITERIA)}")


def prune_by_score(model: nn.Module, scores: Scores, fraction: float, scope: str = "layer") -> None:
    """Prune `fraction` of the still-nonzero weights with the lowest scores, per layer or over all layers
    ("global"); masks only shrink (`masks.apply_mask`)."""
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"pruning fraction {fraction} must be in [0, 1)")
    if scope not in ("layer", "global"):
        raise ConfigError(f"pruning scope '{scope}' is unknown; use 'layer' or 'global'")
    layers = masks.prunable_layers(model)
    alive = {name: masks.effective_weight(m) != 0 for name, m in layers}
    if scope == "global":
        pool = torch.cat([scores[n][alive[n]].flatten().double() for n, _ in layers])
        cut = float(torch.quantile(pool, fraction)) if pool.numel() and fraction > 0 else -1.0
        cuts = {n: cut for n, _ in layers}
    else:
        cuts = {}
        for n, _ in layers:
            s = scores[n][alive[n]].flatten().double()
            cuts[n] = float(torch.quantile(s, fraction)) if s.numel() and fraction > 0 else -1.0
    for name, m in layers:
        masks.apply_mask(m, (scores[name].double() > cuts[name]) & alive[name])


def layer_sensitivity(model: nn.Module, evaluate: Callable[[nn.Module], float],
                      levels: "Sequence[float] | dict[str, Sequence[float]]" = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
                      ) -> dict[str, dict[float, float]]:
    """Accuracy of the model with only one layer magnitude-pruned to each level (a fraction of all its
    weights, zeros included): layer -> {level: acc}. `levels` may differ per layer (a dict by layer name).
    The model is left unchanged."""
    out: dict[str, dict[float, float]] = {}
    for name, _ in masks.prunable_layers(model):
        out[name] = {}
        for level in (levels[name] if isinstance(levels, dict) else levels):
            trial = masks.copy_model(model)
            layer = trial.get_submodule(name) if name else trial
            w = masks.effective_weight(layer).abs().flatten()
            thr = float(torch.quantile(w.double(), level))
            masks.apply_mask(layer, masks.effective_weight(layer).abs() > thr)
            out[name][level] = float(evaluate(trial))
    return out


def sensitivity_targets(sensitivity: dict[str, dict[float, float]], reference: float, max_drop: float
                        ) -> dict[str, float]:
    """Per layer, the largest tested sparsity whose accuracy stays within `max_drop` of `reference`
    (0.0 when even the smallest level drops more)."""
    targets = {}
    for name, by_level in sensitivity.items():
        ok = [level for level, acc in sorted(by_level.items()) if reference - acc <= max_drop]
        targets[name] = max(ok) if ok else 0.0
    return targets


def toward_targets(targets: dict[str, float], steps: int = 4) -> Callable[[nn.Module], dict[str, float]]:
    """A threshold rule for `iterative_prune`: each call moves every layer's sparsity up to
    min(target, current + target / steps) (the |w| quantile of the layer at that sparsity)."""
    if steps < 1:
        raise ConfigError(f"toward_targets needs steps >= 1, got {steps}")

    def rule(model: nn.Module) -> dict[str, float]:
        current = masks.layer_sparsity(model)
        out = {}
        for name, m in masks.prunable_layers(model):
            goal = min(targets.get(name, 0.0), current[name] + targets.get(name, 0.0) / steps)
            w = masks.effective_weight(m).abs().flatten().double()
            out[name] = float(torch.quantile(w, goal)) if goal > current[name] else 0.0
        return out
    return rule


class SensitivityTargets:
    """A threshold rule for `iterative_prune` that prunes every layer as far as its own measured
    sensitivity allows, re-measuring as training recovers: when every layer has reached its target (and
    on the first call, after the first training), the sensitivity is measured again on the current
    model (`layer_sensitivity` at `fractions` of each layer's remaining weights, drop relative to the
    current accuracy, `max_drop`) and each layer's target becomes the largest level within it, never lower than where the layer already is; when no layer
    stays within `max_drop`, the least sensitive layer gets the smallest step (retraining usually recovers
    it; the schedule's tolerance judges). In between, `toward_targets` steps each layer closer. The
    schedule ends when the tolerance rejects a step, or "stalled" when every layer is fully pruned. `targets` holds the current per-layer targets."""

    def __init__(self, evaluate: Callable[[nn.Module], float], max_drop: float, *, steps: int = 2,
                 fractions: Sequence[float] = (0.1, 0.2, 0.35, 0.5, 0.7, 0.85)) -> None:
        self.evaluate, self.max_drop, self.steps, self.fractions = evaluate, max_drop, steps, tuple(fractions)
        self.targets: dict[str, float] | None = None

    def __call__(self, model: nn.Module) -> dict[str, float]:
        current = masks.layer_sparsity(model)
        # a layer within one weight of its target has reached it (sparsity moves in whole weights)
        slack = {n: 1.0 / m.weight.numel() for n, m in masks.prunable_layers(model)}
        if self.targets is None or all(current[n] >= self.targets[n] - slack[n] for n in current):
            # levels above where each layer is: that fraction of its remaining weights pruned as well
            levels = {n: [c + (1.0 - c) * f for f in self.fractions] for n, c in current.items()}
            sens = layer_sensitivity(model, self.evaluate, levels)
            accuracy = float(self.evaluate(model))
            found = sensitivity_targets(sens, accuracy, self.max_drop)
            self.targets = {n: max(found[n], current[n]) for n in current}
            if all(self.targets[n] <= current[n] + slack[n] for n in current):
                # no layer stays within max_drop without retraining: step the least sensitive one by the
                # smallest fraction and let retraining and the schedule's tolerance decide
                open_layers = [n for n in current if current[n] < 1.0 - 1e-6]
                if open_layers:
                    least = min(open_layers, key=lambda n: accuracy - sens[n][levels[n][0]])
                    self.targets[least] = levels[least][0]
        return toward_targets(self.targets, self.steps)(model)


def _training_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                   loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
    was = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            total += float(loss(model(xb), yb)) * len(xb)
    model.train(was)
    return total / len(x)


def prune_lowest(module: nn.Module, scores: torch.Tensor, count: int) -> int:
    """Prune the `count` still-nonzero weights of `module` with the lowest scores (ties: first position);
    returns how many were pruned."""
    alive = masks.effective_weight(module) != 0
    count = min(int(count), int(alive.sum()))
    if count <= 0:
        return 0
    s = scores.detach().double().flatten().clone()
    s[~alive.flatten()] = float("inf")
    keep = torch.ones(s.numel(), dtype=torch.bool)
    keep[torch.argsort(s, stable=True)[:count]] = False
    masks.apply_mask(module, keep.reshape(module.weight.shape))
    return count


class LayerSteps:
    """A `schedule.PruneStep`: per-layer steps chosen by measured cost per multiply, halved when rejected
    (module docstring). `x`, `y`: training data (the cost is the training-loss increase); `reuse`:
    `masks.reuse_counts` of the model; `criterion`: how weights are ranked inside a layer ("magnitude",
    "obd", "energy"); `step`: the first fraction of a layer's remaining weights per step; `min_share`:
    the smallest step, as a share of all the model's multiplies (0.005: a step removing fewer closes the
    layer). `steps` holds each layer's current fraction, `closed` the closed layers, `last` the layer of
    the latest step."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, reuse: dict[str, torch.Tensor], *,
                 criterion: str = "magnitude", step: float = 0.2, min_share: float = 0.005, batch_size: int = 1024,
                 loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy) -> None:
        if not 0.0 < step < 1.0:
            raise ConfigError(f"LayerSteps step {step} must be in (0, 1)")
        if criterion not in CRITERIA:
            raise ConfigError(f"pruning criterion '{criterion}' is unknown; use one of {', '.join(CRITERIA)}")
        self.x, self.y, self.reuse, self.criterion = x, y, reuse, criterion
        self.first_step, self.batch_size, self.loss = step, batch_size, loss
        self.min_multiplies = min_share * float(sum(float(r.sum()) for r in reuse.values()))
        self.steps: dict[str, float] = {}
        self.closed: set[str] = set()
        self.last: str | None = None

    def _count(self, module: nn.Module, name: str) -> int:
        alive = int((masks.effective_weight(module) != 0).sum())
        return int(round(self.steps[name] * alive))

    def _too_small(self, module: nn.Module, name: str) -> bool:
        count = self._count(module, name)
        per_weight = float(self.reuse[name].max()) if self.reuse[name].numel() else 0.0
        return count < 1 or count * per_weight < self.min_multiplies

    def prune(self, model: nn.Module) -> None:
        layers = masks.prunable_layers(model)
        for name, _ in layers:
            self.steps.setdefault(name, self.first_step)
        scores = scores_for(self.criterion, model, self.x, self.y)
        base = _training_loss(model, self.x, self.y, self.batch_size, self.loss)
        best: tuple[float, str] | None = None
        for name, module in layers:
            if name in self.closed or self._too_small(module, name):
                self.closed.add(name)
                continue
            trial = masks.copy_model(model)
            layer = trial.get_submodule(name) if name else trial
            before = masks.effective_weight(layer) != 0
            prune_lowest(layer, scores[name], self._count(module, name))
            removed = before & (masks.effective_weight(layer) == 0)
            saved = float((self.reuse[name] * removed).sum())
            cost = (_training_loss(trial, self.x, self.y, self.batch_size, self.loss) - base) / max(saved, 1e-12)
            if best is None or cost < best[0]:
                best = (cost, name)
        self.last = None
        if best is not None:
            self.last = best[1]
            module = model.get_submodule(best[1]) if best[1] else model
            prune_lowest(module, scores[best[1]], self._count(module, best[1]))

    def rejected(self, model: nn.Module) -> bool:
        """Halve the rejected layer's step (closing it below one weight); True while a layer is open."""
        if self.last is not None:
            self.steps[self.last] /= 2.0
            module = model.get_submodule(self.last) if self.last else model
            if self._too_small(module, self.last):
                self.closed.add(self.last)
        return any(name not in self.closed for name, _ in masks.prunable_layers(model))
