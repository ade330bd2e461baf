"""strategy distributed_arithmetic: the Verilog backend's multiplier-free Dense/Conv (adder graphs from
nn2hls.ir.cmvm) simulated against the emulator bit for bit, its counts in the manifest and the report,
the HLS backends' refusal, and yosys mapping no DSP48E2."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "backends"))
import backend_models  # noqa: E402
import rtl_models  # noqa: E402
from rtl_models import needs_iverilog, needs_yosys  # noqa: E402

import nn2hls  # noqa: E402
from nn2hls.backends.verilog import write_project  # noqa: E402
from nn2hls.config import Config  # noqa: E402
from nn2hls.config_file import load_config  # noqa: E402
from nn2hls.emulate import emulate  # noqa: E402
from nn2hls.errors import ConfigError  # noqa: E402
from nn2hls.project_io import save_graph  # noqa: E402
from nn2hls.report import build_report, format_report  # noqa: E402
from nn2hls.rtl import sim, synth  # noqa: E402

ROOT = Path(__file__).parents[2]
DA = "distributed_arithmetic"


def _bad_samples(rtl: list[np.ndarray], emu: list[np.ndarray]) -> int:
    n = rtl[0].shape[0]
    return int(sum((~np.all(np.asarray(a).reshape(n, -1) == np.asarray(b).reshape(n, -1), axis=1)).sum()
                   for a, b in zip(rtl, emu)))


def _module(project: Path, layer: str) -> str:
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    return (project / "rtl" / f"{manifest['layer_modules'][layer]}.v").read_text()


@needs_iverilog
def test_dense_da_matches_emulator_and_report(tmp_path):
    """The hand-typed tiny MLP (saturating, rounding result types) on inputs far beyond its input range,
    fc1 as an adder graph (per-layer strategy), fc2 with constant products."""
    g = backend_models.tiny_mlp()
    cfg = load_config({"backend": "verilog", "layers": {"fc1": {"strategy": DA}}})
    project = write_project(g, cfg, tmp_path / "p")
    save_graph(g, project)
    x = np.random.default_rng(0).uniform(-40, 40, size=(300, 4))
    emu = emulate(g, x)
    assert sum(emu.overflows.values()) > 0
    assert _bad_samples(sim.build(project, "iverilog").run(x), emu.outputs) == 0
    fc1, fc2 = _module(project, "fc1"), _module(project, "fc2")
    assert not re.search(r"\w \* \w", fc1) and "distributed arithmetic" in fc1  # no product at all
    assert re.search(r"\w \* \d+'sh", fc2)  # the other layer keeps its constant product
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    assert set(manifest["layer_da"]) == {"fc1"} and manifest["layer_multipliers"]["fc1"] == 0
    report = build_report(g, cfg)
    row = {r["name"]: r for r in report["layers"]}["fc1"]
    assert row["dsp"] == 0 and row["adders"] == manifest["layer_da"]["fc1"]["adders"]
    assert row["da_depth"] == manifest["layer_da"]["fc1"]["depth"]
    # By hand: fc1's kernel in raw integers (ap_fixed<8,3>: x 32), columns x0..x3: (0, -32, 8, 0),
    # (32, 0, -20, -64), (12, 16, 0, 36). CSD: -20 = -16 - 4, 12 = 16 - 4, 36 = 32 + 4, the rest one digit:
    # 2 + 4 + 5 terms. No two-term pattern (inputs, shift difference, relative sign) occurs twice, so
    # 1 + 3 + 4 = 8 adders, depth 2, 3 deep for column 2 (5 terms); plus the two nonzero biases.
    assert (row["da_adders"], row["da_depth"], row["adders"]) == (8, 3, 10)
    assert "distributed arithmetic fc1" in format_report(report)


@needs_iverilog
@pytest.mark.parametrize("model", ["brevitas/mlp4_pow2.onnx", "brevitas/ternary.onnx"])
def test_quantized_fixture_da(tmp_path, model):
    x = np.load(ROOT / "tests" / "fixtures" / "brevitas" / "digits.npz")["x"].astype(np.float64)[:40]
    compiled = nn2hls.compile(ROOT / "tests" / "fixtures" / model, calibration=x,
                              config={"backend": "verilog", "strategy": DA})
    project = compiled.write(tmp_path / "p", backend="verilog")
    rtl = sim.build(project, "iverilog", graph=compiled.graph).run(x)
    emu = compiled.emulate_full(x).outputs
    assert _bad_samples(rtl, emu) == 0 and np.ptp(emu[0]) > 0
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    dense = [n.name for n in compiled.graph.topological() if n.op.kind == "Dense"]
    assert dense and set(dense) <= set(manifest["layer_da"])
    assert all(manifest["layer_multipliers"][d] == 0 for d in dense)


@needs_iverilog
def test_conv_da_with_padding(tmp_path):
    """Conv with zero padding (border positions drop their padding taps from the adder graph) and a
    grouped Conv, as adder graphs; the report's adder count is the modules'."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 1, 6, 6)) * 2
    compiled = nn2hls.compile(rtl_models.small_cnn(rng), calibration=x, config={"backend": "verilog", "strategy": DA})
    project = compiled.write(tmp_path / "cnn", backend="verilog")
    rtl = sim.build(project, "iverilog", graph=compiled.graph).run(x)
    assert _bad_samples(rtl, compiled.emulate_full(x).outputs) == 0
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    rows = {r["name"]: r for r in compiled.report()["layers"]}
    convs = [n.name for n in compiled.graph.topological() if n.op.kind == "Conv"]
    assert len(convs) == 2
    for name in convs:
        assert rows[name]["dsp"] == 0 and rows[name]["adders"] == manifest["layer_da"][name]["adders"] > 0


def test_hls_backends_refuse_da(tmp_path):
    g = backend_models.tiny_mlp()
    with pytest.raises(ConfigError, match=r"layer fc2: strategy 'distributed_arithmetic'.*--backend verilog"):
        nn2hls.backends.vivado.write_project(g, load_config({"layers": {"fc2": {"strategy": DA}}}), tmp_path / "v")
    with pytest.raises(ConfigError, match="'strategy' must be one of latency, resource, distributed_arithmetic"):
        load_config({"strategy": "bogus"})
    with pytest.raises(ConfigError, match="'layers.fc1.strategy' must be one of"):
        load_config({"layers": {"fc1": {"strategy": "bogus"}}})
    assert load_config({"strategy": DA}).layer_strategy("fc1") == DA


@needs_yosys
def test_da_layer_synthesizes_without_dsp(tmp_path):
    """The pruned layer test_synth.py maps to one DSP48E2 per distinct general product: as an adder
    graph, none."""
    g = backend_models.pruned_dense(np.random.default_rng(7), n_in=10, n_out=6, sparsity=0.5)
    project = write_project(g, Config(backend="verilog", strategy=DA), tmp_path / "p")
    result = synth.synthesize(project, part="xcvu13p-flga2577-2-e")
    cells = result["layers"]["dense"]
    assert cells["DSP"] == 0 and result["totals"]["DSP"] == 0
    assert cells["LUT"] > 0 and cells["CARRY"] > 0
