"""Full Dense rows (no zero weight): all weights in the mul list, summed by the exact dot_tree.

Checks the list layout against the kernel (full rows hold every weight, +-1 and 2^k included, in
input order; other rows keep the plain split) and that the C simulation stays bit-exact with the
emulator on a layer mixing full rows and sparse rows, an odd input count (uneven tree) and trivial
weights inside full rows; with the vendor headers too when NN2HLS_AP_TYPES is set.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import backend_models  # noqa: E402
from nn2hls.backends.vivado import write_project
from nn2hls.backends.vivado.sparse import split_dense
from nn2hls.config import Config


def _mixed_graph():
    rng = np.random.default_rng(11)
    g = backend_models.pruned_dense(rng, n_in=37, n_out=12, sparsity=0.0)
    kernel = g["dense"].weights["kernel"]
    kernel[kernel == 0] = 0.25  # columns 4.. are full rows
    kernel[(rng.random(size=kernel.shape) < 0.6) & (np.arange(kernel.shape[1]) < 4)] = 0.0  # 0..3 sparse
    assert np.all(kernel[:, 4:] != 0) and np.all((kernel[:, :4] == 0).sum(axis=0) > 0)
    assert np.any(np.abs(kernel[:, 4:]) == 1) and np.any(kernel[:, 4:] == 0.5)
    return g, kernel


def test_full_rows_hold_every_weight_in_input_order():
    _, kernel = _mixed_graph()
    plain, full = split_dense(kernel), split_dense(kernel, full_rows=True)
    n_in = kernel.shape[0]
    mul = full["mul"]
    for o in range(kernel.shape[1]):
        rows = {k: full[k].columns["idx"][full[k].start[o]:full[k].start[o + 1]] for k in full}
        if o >= 4:
            assert rows["mul"] == list(range(n_in))
            assert mul.columns["w"][mul.start[o]:mul.start[o + 1]] == list(kernel[:, o])
            assert all(not rows[k] for k in ("p2", "add", "sub"))
        else:
            assert rows == {k: plain[k].columns["idx"][plain[k].start[o]:plain[k].start[o + 1]] for k in plain}
            assert len(rows["mul"]) < n_in


@pytest.mark.csim
@pytest.mark.parametrize("vendor", [False, True])
def test_full_rows_bit_exact(tmp_path, vendor):
    from nn2hls.csim import build
    from nn2hls.emulate import emulate
    ap_types = os.environ.get("NN2HLS_AP_TYPES", "") if vendor else None
    if vendor and not ap_types:
        pytest.skip("NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
    g, _ = _mixed_graph()
    project = write_project(g, Config(), tmp_path / "p")
    text = (project / "firmware" / "layer_dense.cpp").read_text()
    assert "mul_w[" in text
    x = np.random.default_rng(3).normal(size=(1000, 37)) * 3.0
    sim = build(project, ap_types=ap_types) if vendor else build(project)
    got, expected = sim.predict(x), emulate(g, x).outputs[0]
    assert np.unique(expected).size > 100
    np.testing.assert_array_equal(got, expected)
