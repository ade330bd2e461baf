"""Pruning criteria (OBD, energy), per-layer targets from sensitivity, and the energy rule's numbers."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nn2hls.compress import criteria, masks  # noqa: E402
from nn2hls.compress.schedule import iterative_prune  # noqa: E402
from nn2hls.energy import add_pj, layer_energy_pj, multiply_pj  # noqa: E402


def test_energy_rule_by_hand():
    # Horowitz ISSCC 2014: 32-bit multiply 3.1 pJ, add 0.1 pJ; 8-bit quoted as 0.2 and 0.03 pJ
    assert multiply_pj(32, 32) == pytest.approx(3.1) and multiply_pj(8, 8) == pytest.approx(0.19375)
    assert add_pj(32) == pytest.approx(0.1) and add_pj(8) == pytest.approx(0.025)
    row = {"mult_general": 10, "mult_pm_one": 4, "mult_pow2": 2, "adders": 12,
           "table_sizes": {"table": 1024}, "table_widths": {"table": 16}}
    # 10 * 3.1*16*8/1024 + 6 * 0.1*16/32 + 12 * 0.1*24/32 + 5 outputs * 10*16/64
    expect = 10 * 0.3875 + 6 * 0.05 + 12 * 0.075 + 5 * 2.5
    assert layer_energy_pj(row, in_bits=16, weight_bits=8, accum_bits=24, out_elements=5) == pytest.approx(expect)


def test_obd_prunes_weights_the_loss_does_not_use_before_large_ones():
    torch.manual_seed(0)
    net = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[2.0, 0.1, 0.2, 0.3]] * 3))
    x = torch.randn(64, 4)
    x[:, 0] = 0.0                       # input 0 never varies: its weights get no gradient, cost no loss
    y = torch.randint(0, 3, (64,))
    s = criteria.obd(net, x, y)[""]
    assert torch.all(s[:, 0] == 0) and torch.all(s[:, 1:] > 0)
    criteria.prune_by_score(net, {"": s}, 0.25)
    assert torch.all(masks.effective_weight(net)[:, 0] == 0)   # the largest weights, pruned by OBD
    assert torch.all(masks.effective_weight(net)[:, 1:] != 0)


def test_energy_criterion_prunes_reused_conv_taps_first_globally():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 2))
    with torch.no_grad():
        net[0].weight.fill_(0.5)
        net[2].weight.fill_(0.5)
    x = torch.zeros(1, 1, 8, 8)
    scores = criteria.energy(net, x)
    criteria.prune_by_score(net, scores, 0.1, scope="global")
    ls = masks.layer_sparsity(net)
    assert ls["0"] == 1.0 and ls["2"] == 0.0   # 18 taps x 36 uses cost more than 144 weights x 1 use
    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 2))
    criteria.prune_by_score(plain, criteria.magnitude(plain), 0.1, scope="global")
    assert masks.layer_sparsity(plain)["2"] > 0


def test_sensitivity_targets_and_stepping_towards_them():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 10))

    def evaluate(m):  # layer "0" is fragile (loses 0.1 per 10% pruned), layer "2" costs nothing
        return 1.0 - masks.layer_sparsity(m)["0"] if masks.is_pruned(m[0]) else 1.0

    sens = criteria.layer_sensitivity(net, evaluate, levels=(0.1, 0.3, 0.5, 0.9))
    assert sens["2"] == {0.1: 1.0, 0.3: 1.0, 0.5: 1.0, 0.9: 1.0}
    assert sens["0"][0.3] == pytest.approx(0.7)
    assert not masks.is_pruned(net[0])                        # the model itself is untouched
    targets = criteria.sensitivity_targets(sens, reference=1.0, max_drop=0.15)
    assert targets == {"0": 0.1, "2": 0.9}
    res = iterative_prune(net, lambda m, i: None, lambda m: 1.0, target_sparsity=1.0,
                          threshold=criteria.toward_targets(targets, steps=3), max_iterations=10)
    assert res.stop_reason == "stalled"
    assert masks.layer_sparsity(net) == {"0": pytest.approx(0.1), "2": pytest.approx(0.9)}


def test_sensitivity_targets_rule_prunes_each_layer_as_far_as_it_allows():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 20))

    def evaluate(m):  # layer "0" tolerates 50% sparsity, then loses 1 point per point; layer "2" is free
        s0 = masks.layer_sparsity(m)["0"] if masks.is_pruned(m[0]) else 0.0
        return 1.0 - max(0.0, s0 - 0.5)

    rule = criteria.SensitivityTargets(evaluate, max_drop=0.02)
    res = iterative_prune(net, lambda m, i: None, evaluate, target_sparsity=1.0, threshold=rule,
                          tolerance=0.05, max_iterations=40)
    ls = masks.layer_sparsity(net)
    assert res.stop_reason == "stalled"
    assert 0.5 <= ls["0"] <= 0.52      # stops within the 2-point drop it was given
    assert ls["2"] >= 0.95             # the insensitive layer goes (nearly) all the way


def test_layer_steps_take_the_free_weights_first_and_back_off_when_rejected():
    """Inputs 4..7 are always zero, so the first layer's weights reading them cost no training loss: OBD
    ranks them last-but-free and the cheapest step per multiply is always in that layer until they are
    gone; the second layer (every weight used) stays untouched. Rejection halves, then closes."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(256, 8)
    x[:, 4:] = 0.0
    with torch.no_grad():
        y = net(x).argmax(dim=1)
    reuse = masks.reuse_counts(net, x[:1])
    rule = criteria.LayerSteps(x, y, reuse, criterion="obd", step=0.2, min_share=0.0)
    masks.install_masks(net)
    for _ in range(3):
        rule.prune(net)
        assert rule.last == "0"
    zeros = masks.effective_weight(net[0]) == 0
    assert 0 < int(zeros.sum()) <= 32 and not bool(zeros[:, :4].any())   # only weights of the dead inputs
    assert masks.layer_sparsity(net)["2"] == 0.0
    # rejection: the step halves (13 -> 7 -> 3 -> 2 -> 1 of the remaining weights) until below one weight
    open_flags = [rule.rejected(net) for _ in range(8)]
    assert rule.steps["0"] < 0.2 and "0" in rule.closed
    assert open_flags[0] is True and all(open_flags)                      # layer "2" is still open


def test_layer_steps_min_share_closes_layers_whose_steps_save_too_little():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 2))   # 100 + 20 multiplies
    x, y = torch.randn(64, 10), torch.randint(0, 2, (64,))
    reuse = masks.reuse_counts(net, x[:1])
    rule = criteria.LayerSteps(x, y, reuse, step=0.2, min_share=0.05)    # a step must save >= 6 multiplies
    masks.install_masks(net)
    rule.prune(net)                                                     # "2": 4 weights < 6: closed at once
    assert "2" in rule.closed and rule.last == "0"
    assert masks.layer_sparsity(net) == {"0": pytest.approx(0.2), "2": 0.0}
    assert rule.rejected(net) is True                                   # "0": 0.1 * 80 = 8 >= 6, open
    assert rule.rejected(net) is False                                  # 0.05 * 80 = 4 < 6: all closed
