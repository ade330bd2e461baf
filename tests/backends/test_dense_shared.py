"""Shared-weight Dense kernel (nn2hls.backends.vivado.shared, hls_lib/nn2hls_dense_shared.h): grouped
arrays rebuild the kernel exactly, one product per distinct value, the choice rule, and the C-sim is
bit-exact against the emulator (whose sum is ungrouped), with the built-in and the vendor headers."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

from nn2hls.backends.vivado import write_project
from nn2hls.backends.vivado.shared import group_dense, use_shared
from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes

VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
CODEBOOK = [-0.8125, -0.4375, 0.3125, 0.6875, 1.0, -1.0, 0.25, -2.0]  # 4 general values, +-1, powers of two


def _shared_graph(seed=0, positions=False):
    rng = np.random.default_rng(seed)
    g = Graph("shared")
    shape = (3, 24) if positions else (24,)
    x = g.add(ops.Input(shape=shape), name="x")
    kernel = rng.choice(CODEBOOK, size=(24, 10))
    kernel[rng.random(kernel.shape) < 0.3] = 0.0
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": kernel, "bias": rng.normal(0, 0.2, 10)})
    r = g.add(ops.Activation(function="relu"), [d.name], name="r")
    o = g.add(ops.Dense(), [r.name], name="o", weights={"kernel": rng.normal(size=(10, 4)), "bias": np.zeros(4)})
    g.outputs = [o.name]
    return g, kernel


def _array(text, name):
    m = re.search(r"NN2HLS_CONST \S+ " + name + r"\[(\d+)\] = \{(.*?)\};", text, re.S)
    assert m, name
    return [v.strip() for v in m.group(2).replace("\n", " ").split(",") if v.strip()][:int(m.group(1))]


def test_groups_rebuild_the_kernel():
    _, kernel = _shared_graph()
    lists = group_dense(kernel)
    grp, pos, neg = lists["grp"], lists["pos"], lists["neg"]
    rebuilt = np.zeros_like(kernel)
    for o in range(kernel.shape[1]):
        values = grp.columns["w"][grp.start[o]:grp.start[o + 1]]
        assert values == sorted(set(values)) and all(v > 0 for v in values)
        for g in range(grp.start[o], grp.start[o + 1]):
            for i in pos.columns["idx"][pos.start[g]:pos.start[g + 1]]:
                rebuilt[i, o] = grp.columns["w"][g]
            for i in neg.columns["idx"][neg.start[g]:neg.start[g + 1]]:
                rebuilt[i, o] = -grp.columns["w"][g]
    for kind, sign in (("add", 1.0), ("sub", -1.0), ("p2", None)):
        entries = lists[kind]
        for o in range(kernel.shape[1]):
            for k in range(entries.start[o], entries.start[o + 1]):
                rebuilt[entries.columns["idx"][k], o] = sign if sign is not None else entries.columns["w"][k]
    np.testing.assert_array_equal(rebuilt, kernel)
    general = np.isin(np.abs(kernel), [0.8125, 0.4375, 0.3125, 0.6875])
    assert len(grp) == sum(np.unique(np.abs(kernel[general[:, o], o])).size for o in range(10))
    assert len(grp) * 2 <= int(general.sum())


def test_project_uses_grouped_kernel_only_when_it_halves_products(tmp_path):
    g, kernel = _shared_graph()
    typed = run_passes(g, Config(), np.random.default_rng(1).normal(size=(100, 24)))
    assert use_shared(typed.nodes["d"]) and not use_shared(typed.nodes["o"])
    project = write_project(typed, Config(), tmp_path / "p")
    text = (project / "firmware" / "layer_d.cpp").read_text()
    assert "nn2hls::dense_group_products<" in text and "d_group_t" in text
    assert len(_array(text, "grp_w")) == len(group_dense(typed.nodes["d"].weights["kernel"])["grp"])
    plain = (project / "firmware" / "layer_o.cpp").read_text()
    assert "nn2hls::dense_group_products<" not in plain and "nn2hls::mac_full_rows<" in plain
    assert (project / "firmware" / "nn2hls" / "nn2hls_dense_shared.h").exists()
    import json
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    assert manifest["layer_products"]["d"] == len(_array(text, "grp_w"))


def _check_csim(tmp_path, ap_types=None, positions=False):
    from nn2hls.csim import build
    g, _ = _shared_graph(seed=2, positions=positions)
    # the second layer shares weights too and reads the unsigned relu output (signed group sums)
    g.nodes["o"].weights["kernel"] = np.random.default_rng(4).choice(CODEBOOK[:4], size=(10, 4))
    shape = (3, 24) if positions else (24,)
    x = np.random.default_rng(3).normal(0, 2, size=(500,) + shape)
    typed = run_passes(g, Config(), x[:200])
    project = write_project(typed, Config(), tmp_path / "p")
    assert "dense_shared" in (project / "firmware" / "layer_d.cpp").read_text()
    assert "dense_shared" in (project / "firmware" / "layer_o.cpp").read_text()
    assert not typed.nodes["r"].precision["result"].signed
    got = build(project, ap_types=ap_types).predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])
    assert np.unique(got).size > 100


@pytest.mark.csim
@pytest.mark.parametrize("positions", [False, True], ids=["vector", "positions"])
def test_csim_bit_exact(tmp_path, positions):
    _check_csim(tmp_path, positions=positions)


@pytest.mark.csim
@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
def test_csim_bit_exact_vendor_headers(tmp_path):
    _check_csim(tmp_path, ap_types=VENDOR)
