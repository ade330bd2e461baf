"""The iterative schedule stops at the target sparsity, at the tolerance (with rollback), or stalls."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nn2hls.compress import masks  # noqa: E402
from nn2hls.compress.schedule import (accuracy, fit, iterative_prune, paired_margin,  # noqa: E402
                                      std_threshold, taper, to_tensors)
from nn2hls.errors import ConfigError  # noqa: E402


def _net() -> nn.Module:
    net = nn.Linear(10, 10, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.arange(1, 101, dtype=torch.float32).reshape(10, 10))
    return net


def test_stops_at_target_sparsity():
    trained = []
    res = iterative_prune(_net(), lambda m, i: trained.append(i), lambda m: 0.9, target_sparsity=0.6,
                          tolerance=0.01, fraction=0.2, max_iterations=10)
    # 0.2 of the remaining weights each step, whole weights (|w| <= the quantile): 100 -> 80 -> 64 -> 51
    # (12.8 rounds up) -> 40 (10.2 rounds up): stops as soon as 60% >= the target
    assert res.stop_reason == "target"
    assert [round(r.sparsity, 4) for r in res.history] == [0.0, 0.2, 0.36, 0.49, 0.6]
    assert trained == [0, 1, 2, 3, 4]


def test_stops_at_tolerance_and_rolls_back():
    net = _net()
    # reference (model as passed in), it0, it1, it2 (within 0.01), it3 (too low), it3 retrained (still low)
    accs = iter([0.95, 0.95, 0.95, 0.945, 0.93, 0.935, 0.99])

    res = iterative_prune(net, lambda m, i: None, lambda m: next(accs), target_sparsity=0.99,
                          tolerance=0.01, fraction=0.5, max_iterations=10)
    assert res.stop_reason == "tolerance"
    assert [r.accepted for r in res.history] == [True, True, True, False]
    assert res.final.iteration == 2 and res.final.sparsity == pytest.approx(0.75)
    assert masks.sparsity(net) == pytest.approx(0.75)  # rolled back from 0.875


def test_max_iterations_and_threshold_rule():
    net = _net()
    res = iterative_prune(net, lambda m, i: None, lambda m: 1.0, target_sparsity=1.0, threshold=10.0,
                          max_iterations=3)
    assert res.stop_reason == "stalled"  # a fixed threshold prunes once, then nothing more
    assert masks.sparsity(net) == pytest.approx(0.10)
    net = _net()
    res = iterative_prune(net, lambda m, i: None, lambda m: 1.0, target_sparsity=1.0,
                          threshold=std_threshold(1.0), max_iterations=3)
    # std of 1..100 is 29.01 (unbiased): 1..29 go; std of 30..100 is 20.6, below every survivor
    assert res.stop_reason == "stalled" and masks.sparsity(net) == pytest.approx(0.29)
    net = _net()
    res = iterative_prune(net, lambda m, i: None, lambda m: 1.0, target_sparsity=1.0, fraction=0.1,
                          max_iterations=2)
    assert res.stop_reason == "max_iterations" and len(res.history) == 3
    with pytest.raises(ConfigError, match="target_sparsity"):
        iterative_prune(_net(), lambda m, i: None, lambda m: 1.0, target_sparsity=0.0)


def test_fit_learns_a_separable_problem_and_keeps_masks():
    torch.manual_seed(0)
    x = torch.randn(200, 4)
    y = (x[:, 0] + x[:, 1] > 0).long()
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    masks.install_masks(net)
    masks.prune_fraction(net, 0.5)
    zero = masks.effective_weight(net[0]) == 0
    losses = fit(net, x, y, epochs=30, lr=0.02, seed=1)
    assert losses[-1] < losses[0]
    assert accuracy(net, x, y) > 0.9
    assert torch.all(masks.effective_weight(net[0])[zero] == 0)
    xt, yt = to_tensors(x.numpy(), y.numpy())
    assert xt.dtype == torch.float32 and yt.dtype == torch.int64


def _alive_after(alive: int, fraction: float) -> int:
    """The quantile rule's whole-weight count: floor(fraction * (n - 1)) + 1 of n distinct |w| go."""
    return alive - (int(fraction * (alive - 1)) + 1)


def test_taper_and_clip_to_target():
    # taper: 0.4 while below 30% sparsity, then 0.1 of the remaining weights per step
    seen = []
    rule = taper(0.4, 0.1, at=0.3)
    res = iterative_prune(_net(), lambda m, i: None, lambda m: 1.0, target_sparsity=0.5, max_iterations=10,
                          fraction=lambda it, s: seen.append((it, s)) or rule(it, s))
    alive = [100]
    for f in (0.4, 0.1, 0.1):
        alive.append(_alive_after(alive[-1], f))
    assert [round(r.sparsity, 4) for r in res.history] == [round(1 - a / 100, 4) for a in alive]
    assert seen[0] == (1, 0.0) and seen[1] == (2, pytest.approx(0.4)) and res.stop_reason == "target"
    # clip: the step that would overshoot 50% removes only 1 - 0.5/0.6 (+0.5%) of the remaining 60
    res = iterative_prune(_net(), lambda m, i: None, lambda m: 1.0, target_sparsity=0.5, max_iterations=10,
                          fraction=0.4, clip_to_target=True)
    last = _alive_after(60, 1 - 0.5 / 0.6 + 0.005)
    assert [round(r.sparsity, 4) for r in res.history] == [0.0, 0.4, round(1 - last / 100, 4)]
    assert 0.5 <= res.final.sparsity < 0.53
    res = iterative_prune(_net(), lambda m, i: None, lambda m: 1.0, target_sparsity=0.5, max_iterations=10,
                          fraction=0.4)
    assert res.final.sparsity == pytest.approx(1 - _alive_after(60, 0.4) / 100)  # 64%: overshoots
    with pytest.raises(ConfigError, match="taper"):
        taper(0.4, 1.5, at=0.5)


def test_reference_is_the_model_passed_in_and_a_failed_step_is_confirmed():
    # the penalized first training lifts accuracy to 0.99; 0.945 is within 0.01 of the model passed in
    # (0.95), so it is accepted although it is 4.5 points below iteration 0
    accs = iter([0.95, 0.99, 0.945, 0.93, 0.946, 0.90, 0.90])
    res = iterative_prune(_net(), lambda m, i: None, lambda m: next(accs), target_sparsity=0.99,
                          tolerance=0.01, fraction=0.5, max_iterations=3)
    assert res.reference_accuracy == 0.95
    # it2 first measured 0.93 (a noisy drop), retrained once: 0.946 accepted; it3 0.90 twice: rejected
    assert [(r.iteration, r.accuracy, r.accepted) for r in res.history] == [
        (0, 0.99, True), (1, 0.945, True), (2, 0.946, True), (3, 0.90, False)]
    assert res.stop_reason == "tolerance" and res.final.sparsity == pytest.approx(0.75)
    accs = iter([0.95, 0.99, 0.945, 0.93])
    res = iterative_prune(_net(), lambda m, i: None, lambda m: next(accs), target_sparsity=0.99,
                          tolerance=0.01, fraction=0.5, max_iterations=3, confirm=False)
    assert [r.accepted for r in res.history] == [True, True, False]
    rows = res.table()
    assert [row["iteration"] for row in rows] == [0, 1, 2] and rows[1]["sparsity"] == pytest.approx(0.5)


def test_evaluate_must_return_a_fraction_and_tiny_tolerance_is_warned():
    with pytest.raises(ConfigError, match="fraction in \\[0, 1\\]"):
        iterative_prune(_net(), lambda m, i: None, lambda m: 93.0, fraction=0.5)
    with pytest.warns(UserWarning, match="below one validation sample"):
        iterative_prune(_net(), lambda m, i: None, lambda m: 1.0, fraction=0.5, target_sparsity=0.5,
                        tolerance=0.005, n_val=114)


def test_default_iterations_reach_the_target():
    # 0.2 of the remaining weights per step needs up to ceil(log(0.1) / log(0.8)) = 11 steps to reach 90%
    # (10 here: whole weights round each step up); the old fixed default of 7 stopped at 80%
    res = iterative_prune(_net(), lambda m, i: None, lambda m: 1.0, target_sparsity=0.9, fraction=0.2)
    assert res.stop_reason == "target" and res.final.sparsity == pytest.approx(0.91) and len(res.history) == 11
    res = iterative_prune(_net(), lambda m, i: None, lambda m: 1.0, target_sparsity=0.9, fraction=0.2,
                          max_iterations=7)
    assert res.stop_reason == "max_iterations" and res.final.sparsity == pytest.approx(0.80)


def test_fit_and_accuracy_take_numpy_arrays():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 10))
    y = (x[:, 0] > 0).astype(np.int64)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 2))
    losses = fit(net, x, y, epochs=30, lr=5e-2)
    assert losses[-1] < losses[0]
    acc = accuracy(net, x, y)
    assert 0.9 <= acc <= 1.0  # a fraction; the sign of x0 is linearly separable


def test_a_step_rule_backs_off_after_a_rejection_and_goes_on():
    """A PruneStep that prunes 40% of the remaining weights, 20% after one rejection: with accuracy
    1 - max(0, sparsity - 0.5) and tolerance 0.05, the 40% steps go 0 -> 40% -> 64% (rejected, rolled
    back to 40%), then 20% steps: 52% (accepted), 61.6% (rejected), and the rule gives up."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(50, 50))

    class Halving:
        def __init__(self):
            self.share, self.rejections = 0.4, 0

        def prune(self, model):
            masks.prune_fraction(model, self.share)

        def rejected(self, model):
            self.rejections += 1
            self.share /= 2
            return self.rejections < 2

    def evaluate(m):
        return 1.0 - max(0.0, masks.sparsity(m) - 0.5)

    rule = Halving()
    res = iterative_prune(net, lambda m, i: None, evaluate, target_sparsity=0.9, tolerance=0.05, step=rule,
                          confirm=False)
    seen = [(round(r.sparsity, 3), r.accepted) for r in res.history]
    assert seen == [(0.0, True), (0.4, True), (0.64, False), (0.52, True), (0.616, False)]
    assert res.stop_reason == "tolerance" and masks.sparsity(net) == pytest.approx(0.52)


class _Lookup(nn.Module):
    """Sample i (a one-hot row of x) gets the logits of row i: predictions written down per sample."""

    def __init__(self, predictions: list[int], classes: int = 2) -> None:
        super().__init__()
        self.logits = torch.nn.functional.one_hot(torch.tensor(predictions), classes).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.logits


def test_paired_margin_is_the_standard_error_of_the_paired_difference():
    x, y = torch.eye(10), torch.zeros(10, dtype=torch.int64)
    reference = _Lookup([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])   # right on samples 0-7
    model = _Lookup([1, 1, 0, 0, 0, 0, 0, 0, 0, 1])       # loses 0 and 1, gains 8: n10 = 2, n01 = 1
    # d = (2 - 1) / 10 = 0.1; SE = sqrt((3 / 10 - 0.01) / 10) = sqrt(0.029) = 0.170294; z = 2
    assert paired_margin(reference, x, y, z=2.0)(model) == pytest.approx(2 * 0.170294, abs=1e-6)
    assert paired_margin(reference, x, y)(reference) == 0.0  # no disagreement, no margin
    with pytest.raises(ConfigError, match="margin z -1"):
        paired_margin(reference, x, y, z=-1)


def test_a_margin_rejects_a_step_the_drop_alone_accepts():
    accs = iter([0.95, 0.95, 0.945, 0.945])
    res = iterative_prune(_net(), lambda m, i: None, lambda m: next(accs), target_sparsity=0.99,
                          tolerance=0.01, fraction=0.5, max_iterations=1, margin=lambda m: 0.006)
    # drop 0.005 + margin 0.006 > 0.01: rejected after the confirming retrain; without it accepted
    assert [(r.accepted, r.margin) for r in res.history] == [(True, 0.0), (False, 0.006)]
    assert res.stop_reason == "tolerance"
    accs = iter([0.95, 0.95, 0.945])
    res = iterative_prune(_net(), lambda m, i: None, lambda m: next(accs), target_sparsity=0.99,
                          tolerance=0.01, fraction=0.5, max_iterations=1)
    assert [r.accepted for r in res.history] == [True, True]
