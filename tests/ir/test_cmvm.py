"""CSD digits and the multiplier-free adder graphs of nn2hls.ir.cmvm, against hand-written values and
against numpy's integer matrix product (the graph walked here, independently of `cmvm.evaluate`)."""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.ir import cmvm
from nn2hls.ir.csd import csd_digits


@pytest.mark.parametrize("n, digits", [
    (0, []), (1, [(0, 1)]), (-1, [(0, -1)]),
    (7, [(0, -1), (3, 1)]),                 # 7 = 8 - 1
    (-7, [(0, 1), (3, -1)]),                # -7 = 1 - 8
    (3, [(0, -1), (2, 1)]),                 # 3 = 4 - 1
    (5, [(0, 1), (2, 1)]),                  # 5 = 4 + 1
    (11, [(0, -1), (2, -1), (4, 1)]),       # 11 = 16 - 4 - 1
    (-128, [(7, -1)]),
    (127, [(0, -1), (7, 1)]),               # 127 = 128 - 1
    (0b10111011, [(0, -1), (2, -1), (6, -1), (8, 1)]),  # 187 = 256 - 64 - 4 - 1
])
def test_csd_hand_examples(n, digits):
    assert csd_digits(n) == digits


def test_csd_value_non_adjacency_and_weight():
    for n in range(-2000, 2001):
        d = csd_digits(n)
        assert sum(s * 2 ** k for k, s in d) == n
        shifts = [k for k, _ in d]
        assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:]))  # no two adjacent nonzero digits
        assert len(d) <= bin(abs(n)).count("1")                     # never more digits than binary


def _walk(plan: cmvm.Plan, x: np.ndarray) -> np.ndarray:
    """The adder graph evaluated on integer columns, straight from its definition."""
    s = [x[:, i].astype(object) for i in range(plan.n_inputs)]
    for ad in plan.adders:
        a, b = s[ad.a] * 2 ** ad.sa, s[ad.b] * 2 ** ad.sb
        s.append(a - b if ad.sub else a + b)
    cols = [np.zeros(len(x), dtype=object) if o is None else o[2] * s[o[0]] * 2 ** o[1] for o in plan.outputs]
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("shape, bits, zeros, seed", [((16, 16), 8, 0.0, 0), ((12, 7), 10, 0.6, 1),
                                                      ((5, 9), 4, 0.3, 2), ((1, 3), 12, 0.0, 3)])
def test_adder_graph_equals_integer_product(shape, bits, zeros, seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=shape)
    w[rng.random(size=shape) < zeros] = 0
    w[:, -1] = 0 if shape[1] > 2 else w[:, -1]  # an all-zero output
    x = rng.integers(-(1 << 15), 1 << 15, size=(64, shape[0]))
    plan = cmvm.optimize(w)
    assert np.array_equal(_walk(plan, x), x.astype(object) @ w.astype(object))
    digits = sum(len(csd_digits(int(v))) for v in w.reshape(-1))
    nonzero_cols = int(np.count_nonzero(np.any(w != 0, axis=0)))
    assert len(plan.adders) <= digits - nonzero_cols  # never more than the plain CSD adder trees
    assert cmvm.cost(plan)[:2] == (len(plan.adders), plan.depth)


def test_shared_subexpressions_reduce_a_dense_matrix():
    w = np.random.default_rng(0).integers(-128, 128, size=(16, 16))
    plan = cmvm.optimize(w)
    digits = sum(len(csd_digits(int(v))) for v in w.reshape(-1))
    assert plan.shared > 0 and len(plan.adders) < 0.7 * (digits - 16)


def test_hand_count_tiny_matrix():
    """y0 = 5 x0 + 3 x1, y1 = 5 x0 - 3 x1. CSD: 5 = 4 + 1, 3 = 4 - 1, -3 = 1 - 4: plain trees need 3 + 3
    adders. Shared: t = x0 + (x0 << 2) = 5 x0 and u = x1 - (x1 << 2) = -3 x1 each occur in both outputs,
    then y0 = t - u, y1 = t + u: 4 adders, 2 of them shared, depth 2."""
    plan = cmvm.optimize(np.array([[5, 5], [3, -3]]))
    assert (len(plan.adders), plan.shared, plan.depth) == (4, 2, 2)
    assert plan.adders[0] == cmvm.Adder(0, 0, 0, 2, False)  # 5 x0
    assert plan.adders[1] == cmvm.Adder(1, 0, 1, 2, True)   # -3 x1


def test_absent_inputs_are_zeros_without_adders():
    """A Conv position at the border: taps in the padding are absent inputs."""
    rng = np.random.default_rng(5)
    w = rng.integers(-64, 64, size=(9, 4))
    plan = cmvm.optimize(w)
    present = [True, False, True, True, False, False, True, True, True]
    x = rng.integers(-100, 100, size=(20, 9))

    def add(a, ka, b, kb, sub):
        return (a << ka) - (b << kb) if sub else (a << ka) + (b << kb)

    outs = cmvm.evaluate(plan, [x[:, i] if p else None for i, p in enumerate(present)], add)
    got = np.stack([o[2] * (o[0] << o[1]) for o in outs], axis=1)
    keep = np.array(present)
    assert np.array_equal(got, x[:, keep] @ w[keep])
    adders, depth, nonzero = cmvm.cost(plan, present)
    assert adders < len(plan.adders) and nonzero == (True,) * 4
    assert cmvm.cost(plan, [False] * 9) == (0, 0, (False,) * 4)


def test_deterministic():
    w = np.random.default_rng(9).integers(-512, 512, size=(20, 10))
    assert cmvm.optimize(w) == cmvm.optimize(w.copy())
