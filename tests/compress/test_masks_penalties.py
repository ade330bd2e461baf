"""Pruning masks survive optimizer steps; penalties match hand-computed values and gradients."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nn2hls.compress import masks  # noqa: E402
from nn2hls.compress.penalties import L1Penalty, LpPenalty, l1, lp  # noqa: E402
from nn2hls.errors import ConfigError  # noqa: E402


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


@pytest.mark.parametrize("make_opt", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: torch.optim.Adam(p, lr=0.05),
    lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1),
], ids=["sgd-momentum", "adam", "adamw"])
def test_masks_stay_zero_through_optimizer_steps(make_opt):
    net = _net()
    # Adam/momentum state built up before pruning must not resurrect pruned weights
    opt = make_opt(net.parameters())
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    masks.prune_fraction(net, 0.5)
    zero_before = {n: (masks.effective_weight(m) == 0).clone() for n, m in masks.prunable_layers(net)}
    opt = make_opt(net.parameters())  # weight_orig is the parameter now
    for _ in range(20):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    for name, m in masks.prunable_layers(net):
        w = m.weight  # what forward uses
        assert torch.all(w[zero_before[name]] == 0), name
        assert torch.all(masks.effective_weight(m)[zero_before[name]] == 0)
    # the weights that were kept did train
    assert masks.sparsity(net) == pytest.approx(sum(int(z.sum()) for z in zero_before.values()) / (30 + 15))


def test_prune_fraction_per_layer_and_global_counts():
    net = nn.Linear(10, 10, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.arange(1, 101, dtype=torch.float32).reshape(10, 10) / 100)
    masks.prune_fraction(net, 0.3)
    assert masks.sparsity(net) == pytest.approx(0.3)
    w = masks.effective_weight(net).flatten()
    assert torch.all(w[:30] == 0) and torch.all(w[30:] != 0)
    masks.prune_fraction(net, 0.5)            # half of the 70 remaining
    assert masks.sparsity(net) == pytest.approx(0.65)
    masks.finalize(net)
    assert not masks.is_pruned(net) and int((net.weight == 0).sum()) == 65


def test_global_scope_prunes_across_layers():
    net = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False))
    with torch.no_grad():
        net[0].weight.fill_(0.01)
        net[1].weight.fill_(1.0)
        net[1].weight[0, 0] = 2.0
    masks.prune_fraction(net, 0.5, scope="global")
    ls = masks.layer_sparsity(net)
    assert ls == {"0": 1.0, "1": 0.0}
    with pytest.raises(ConfigError, match="scope 'bad'"):
        masks.prune_fraction(net, 0.1, scope="bad")


def test_l1_value_and_gradient():
    w = torch.tensor([[-2.0, 0.5], [0.0, 3.0]], requires_grad=True)
    v = l1([w])
    assert float(v.detach()) == 5.5
    v.backward()
    assert w.grad.tolist() == [[-1.0, 1.0], [0.0, 1.0]]


def test_lp_value_gradient_and_smoothness():
    p, eps = 0.5, 0.1
    w = torch.tensor([0.0, 0.3, -1.2], dtype=torch.float64, requires_grad=True)
    v = lp([w], p, eps)
    expected = sum((x * x + eps * eps) ** (p / 2) - eps ** p for x in (0.0, 0.3, -1.2))
    assert float(v.detach()) == pytest.approx(expected, rel=1e-12)
    v.backward()
    hand = [p * x * (x * x + eps * eps) ** (p / 2 - 1) for x in (0.0, 0.3, -1.2)]
    assert w.grad.tolist() == pytest.approx(hand, rel=1e-12)
    assert torch.autograd.gradcheck(lambda t: lp([t], 0.1, 1e-3), (torch.randn(5, dtype=torch.float64,
                                                                               requires_grad=True),))
    # close to |w|^p away from zero, 0 at zero
    big = torch.tensor([2.0], dtype=torch.float64)
    assert float(lp([big], 0.1, 1e-3)) == pytest.approx(2.0 ** 0.1 - 1e-3 ** 0.1, rel=1e-6)
    with pytest.raises(ConfigError, match="0 < p < 1"):
        lp([big], 1.0)


def test_penalty_objects_use_effective_weights_only():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        net[1].weight.copy_(torch.tensor([[3.0, 0.25]]))
        net[0].bias.fill_(100.0)  # biases are not penalised
    assert float(L1Penalty(0.1)(net)) == pytest.approx(0.1 * 6.75)
    masks.prune_below(net, 0.6)  # removes 0.5 and 0.25
    assert float(L1Penalty(0.1)(net)) == pytest.approx(0.1 * 6.0)
    lpv = float(LpPenalty(1.0, p=0.5, eps=1e-6)(net))
    # each nonzero term is sqrt(|w|) - eps^p (eps^p = 1e-3); pruned zeros add exactly nothing
    assert lpv == pytest.approx(sum(math.sqrt(a) - 1e-3 for a in (1.0, 2.0, 3.0)), rel=1e-5)


def _brute_reuse(h: int, w: int, k: int, pad: int, stride: int) -> torch.Tensor:
    """Per tap, the output positions whose window puts it inside an h x w input (explicit loops)."""
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    out = torch.zeros(k, k)
    for i in range(oh):
        for j in range(ow):
            for a in range(k):
                for b in range(k):
                    r, c = i * stride - pad + a, j * stride - pad + b
                    out[a, b] += 0 <= r < h and 0 <= c < w
    return out


@pytest.mark.parametrize("pad,stride", [(0, 1), (1, 1), (1, 2), (2, 1)])
def test_reuse_counts_match_explicit_loops(pad, stride):
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=pad, stride=stride), nn.ReLU(), nn.Flatten())
    x = torch.zeros(5, 2, 6, 5)
    net.append(nn.Linear(net(x).shape[1], 4))
    reuse = masks.reuse_counts(net, x)
    expect = _brute_reuse(6, 5, 3, pad, stride)
    assert reuse["0"].shape == (3, 2, 3, 3)
    for o in range(3):
        for c in range(2):
            assert torch.equal(reuse["0"][o, c], expect)
    assert torch.equal(reuse["3"], torch.ones(4, net[3].in_features))
    # a 1-d conv: taps near the ends of a length-7 signal with padding 1
    c1 = nn.Conv1d(1, 2, 3, padding=1)
    assert masks.reuse_counts(c1, torch.zeros(1, 1, 7))[""][0, 0].tolist() == [6, 7, 6]


def test_multiply_sparsity_and_auto_scope():
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    x = torch.zeros(1, 1, 8, 8)
    reuse = masks.reuse_counts(cnn, x)
    assert masks.auto_scope(reuse) == "layer"
    assert masks.auto_scope(masks.reuse_counts(_net(), torch.zeros(1, 6))) == "global"
    masks.install_masks(cnn)
    conv_mask = torch.ones(2, 1, 3, 3)
    conv_mask[0, 0, :2] = 0  # 6 of 18 conv taps, each used at 36 positions
    masks.apply_mask(cnn[0], conv_mask)
    dense_mask = torch.ones(3, 72)
    dense_mask[:, :30] = 0  # 90 of 216 dense weights
    masks.apply_mask(cnn[3], dense_mask)
    assert masks.sparsity(cnn) == pytest.approx((6 + 90) / (18 + 216))
    assert masks.multiply_sparsity(cnn, reuse) == pytest.approx((6 * 36 + 90) / (18 * 36 + 216))
    # the same fraction of every layer: multiply-weighted sparsity == weight sparsity
    fresh = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    masks.prune_fraction(fresh, 0.5, scope="layer")
    assert masks.layer_sparsity(fresh) == {"0": 0.5, "3": 0.5}
    assert masks.multiply_sparsity(fresh, reuse) == pytest.approx(masks.sparsity(fresh))


def _trained_pruned() -> nn.Module:
    net = _net()
    masks.prune_fraction(net, 0.5)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return net


def test_masked_model_survives_deepcopy_pickle_and_plain_state_dicts():
    import copy
    import io

    net = _trained_pruned()
    zeros = {n: (m.weight == 0).clone() for n, m in masks.prunable_layers(net)}
    assert sum(int(z.sum()) for z in zeros.values()) == 23  # half of 30 and of 15, rounded up per layer
    buf = io.BytesIO()
    torch.save(net, buf)
    buf.seek(0)
    copies = {"deepcopy": copy.deepcopy(net), "copy_model": masks.copy_model(net),
              "torch.save": torch.load(buf, weights_only=False)}
    plain = _net()
    plain.load_state_dict(net.state_dict())  # same keys as an unpruned model: pruning saved as zeros
    masked = _net()
    masks.install_masks(masked)
    masked.load_state_dict(net.state_dict())  # masks re-derived from the saved zeros
    copies["load_state_dict"] = masked
    assert set(net.state_dict()) == set(_net().state_dict())
    for name, m in masks.prunable_layers(plain):
        assert torch.equal(m.weight == 0, zeros[name])
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    for how, other in copies.items():
        assert masks.is_pruned(other[0]) and masks.is_pruned(other[2]), how
        opt = torch.optim.SGD(other.parameters(), lr=0.5, momentum=0.9)
        for _ in range(3):  # the copy keeps training with its pruned weights at zero
            opt.zero_grad()
            nn.functional.cross_entropy(other(x), y).backward()
            opt.step()
        for name, m in masks.prunable_layers(other):
            assert torch.all(m.weight[zeros[name]] == 0), (how, name)
            assert torch.any(m.weight[~zeros[name]] != 0), (how, name)


def test_two_forward_passes_before_one_backward():
    net = _trained_pruned()
    x = torch.randn(4, 6)
    (net(x).sum() + net(x + 1).sum()).backward()  # the mask hook must not bump the weight's version
    assert net[0].weight.grad is not None


def test_finalize_leaves_a_plain_module():
    net = _trained_pruned()
    n_zero = int((net[0].weight == 0).sum())
    masks.finalize(net)
    assert not masks.is_pruned(net[0]) and "weight_mask" not in dict(net[0].named_buffers())
    assert int((net[0].weight == 0).sum()) == n_zero
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    nn.functional.cross_entropy(net(torch.randn(8, 6)), torch.randint(0, 3, (8,))).backward()
    opt.step()
    assert int((net[0].weight == 0).sum()) < n_zero  # no hook keeps them at zero any more
