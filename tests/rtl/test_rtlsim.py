"""RTL simulation of generated Verilog == the emulator, bit for bit (two independent implementations of
docs/semantics.md: numpy on raw integers, and the gates nn2hls.backends.verilog writes, run by iverilog or
Verilator). Full-range random inputs exercise saturation, wrapping and every rounding mode."""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "backends"))
import backend_models  # noqa: E402
import rtl_models  # noqa: E402
from rtl_models import needs_iverilog, needs_verilator  # noqa: E402

import nn2hls  # noqa: E402
from nn2hls.backends.verilog import write_project  # noqa: E402
from nn2hls.config import Config  # noqa: E402
from nn2hls.emulate import emulate  # noqa: E402
from nn2hls.errors import BuildError  # noqa: E402
from nn2hls.ir.types import FixedType  # noqa: E402
from nn2hls.rtl import sim, tools  # noqa: E402

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
QUANT_MODES = ["AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_INF", "AP_RND_MIN_INF", "AP_RND_CONV"]
OVERFLOW_MODES = ["AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM"]


def _mismatching(a: list[np.ndarray], b: list[np.ndarray]) -> int:
    n = a[0].shape[0]
    bad = np.zeros(n, dtype=bool)
    for x, y in zip(a, b):
        bad |= ~np.all(np.asarray(x).reshape(n, -1) == np.asarray(y).reshape(n, -1), axis=1)
    return int(bad.sum())


def _rtl_vs_emulator(compiled, x, folder: Path, simulator: str = "iverilog") -> tuple[int, list[np.ndarray]]:
    project = compiled.write(folder, backend="verilog")
    rtl = sim.build(project, simulator, graph=compiled.graph).run(x)
    emu = compiled.emulate_full(x).outputs
    return _mismatching(rtl, emu), emu


def _digits(n: int) -> np.ndarray:
    return np.load(FIXTURES / "brevitas" / "digits.npz")["x"].astype(np.float64)[:n]


@needs_iverilog
def test_jet_mlp_with_softmax(tmp_path):
    """The example jet MLP (Dense, ReLU, Softmax's exp and inverse ROMs), with its example config."""
    x = np.load(ROOT / "example_models" / "jet_mlp_input.npy")[:40]
    compiled = nn2hls.compile(ROOT / "example_models" / "jet_mlp.onnx", config=ROOT / "example_models" / "jet_mlp.yml",
                              calibration=np.load(ROOT / "example_models" / "jet_mlp_input.npy"))
    bad, emu = _rtl_vs_emulator(compiled, x, tmp_path / "jet")
    assert bad == 0
    assert len(np.unique(emu[0].argmax(axis=1))) > 1  # not a constant output


@needs_iverilog
@pytest.mark.parametrize("model", ["brevitas/ternary.onnx", "brevitas/binary.onnx", "brevitas/mlp4_pow2.onnx",
                                   "bipolar/tfc1.onnx", "quantw/tfc2.onnx"])
def test_quantized_fixtures(tmp_path, model):
    """Ternary, binary (bipolar) and power-of-two QONNX/Brevitas models: requantizers, ScaleShift, +-1 weights."""
    x = _digits(48)
    compiled = nn2hls.compile(FIXTURES / model, calibration=x)
    bad, emu = _rtl_vs_emulator(compiled, x, tmp_path / "p")
    assert bad == 0
    assert np.ptp(emu[0]) > 0


@needs_iverilog
def test_every_rounding_and_overflow_mode(tmp_path):
    """The hand-typed tiny MLP with its hidden and output types in each quantization mode (each overflow
    mode in turn), on inputs far beyond the input type's range: every cast rounds and overflows."""
    x = np.random.default_rng(0).uniform(-40, 40, size=(200, 4))
    total = 0
    for k, (q, o) in enumerate(zip(QUANT_MODES, itertools.cycle(OVERFLOW_MODES))):
        g = backend_models.tiny_mlp()
        g["x"].precision = {"result": FixedType.parse(f"ap_fixed<9,5,{q},{o}>")}
        g["fc1"].precision = {**g["fc1"].precision, "accum": FixedType.parse("ap_fixed<13,4>"),  # wraps
                              "result": FixedType.parse(f"ap_fixed<6,3,{q},{o}>")}
        g["relu1"].precision = {"result": FixedType.parse(f"ap_ufixed<4,1,{q},{o}>")}
        g["fc2"].precision = {**g["fc2"].precision, "result": FixedType.parse(f"ap_fixed<5,1,{q},{o}>")}
        emu = emulate(g, x)
        assert sum(emu.overflows.values()) > 0
        project = write_project(g, Config(backend="verilog"), tmp_path / f"m{k}")
        from nn2hls.project_io import save_graph
        save_graph(g, project)
        rtl = sim.build(project, "iverilog").run(x)
        total += _mismatching(rtl, emu.outputs)
    assert total == 0


@needs_iverilog
def test_tables_concat_and_aligned_residual(tmp_path):
    """Sigmoid/tanh ROMs, Concat, and an Add whose inputs are ready at different stages (delay line)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6)) * 3
    compiled = nn2hls.compile(rtl_models.residual_tables(rng), calibration=x)
    bad, _ = _rtl_vs_emulator(compiled, x, tmp_path / "res")
    assert bad == 0
    manifest = json.loads((tmp_path / "res" / "nn2hls_project.json").read_text())
    assert manifest["latency"] == 5  # h, {s,t,r}, c, h2, y: r waits two cycles for h2


@needs_iverilog
def test_conv_pools(tmp_path):
    """Conv with zero padding, max pool, average pool over padded windows (count 1..4 per position),
    a depthwise (grouped) Conv, global average pool."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 1, 6, 6)) * 2
    compiled = nn2hls.compile(rtl_models.small_cnn(rng), calibration=x)
    assert {"Conv", "Pool", "GlobalPool"} <= {n.op.kind for n in compiled.graph.topological()}
    bad, emu = _rtl_vs_emulator(compiled, x, tmp_path / "cnn")
    assert bad == 0 and np.ptp(emu[0]) > 0


@needs_iverilog
def test_combinational_design(tmp_path):
    g = backend_models.tiny_mlp()
    project = write_project(g, Config(backend="verilog", rtl_pipeline=False), tmp_path / "p")
    from nn2hls.project_io import save_graph
    save_graph(g, project)
    x = np.random.default_rng(2).uniform(-9, 9, size=(30, 4))
    assert _mismatching(sim.build(project, "iverilog").run(x), emulate(g, x).outputs) == 0


@needs_iverilog
def test_check_reports_rtl(tmp_path, monkeypatch):
    monkeypatch.setenv("NN2HLS_RTLSIM", "iverilog")
    rng = np.random.default_rng(3)
    model = rtl_models.onnx_model([__import__("onnx").helper.make_node("Gemm", ["x", "w"], ["y"])],
                                  {"w": rng.normal(size=(5, 3))}, 5, 3, "one")
    result = nn2hls.check(model, rng.normal(size=(20, 5)), config={"backend": "verilog"})
    assert result.rtl["bit_exact"] and result.rtl["mismatches"] == 0 and result.rtl["simulator"] == "iverilog"
    assert result.passed and "rtl" in result.as_dict()
    assert nn2hls.check(model, rng.normal(size=(5, 5))).rtl is None  # HLS backends: no RTL


@needs_verilator
def test_verilator_matches(tmp_path):
    g = backend_models.tiny_mlp()
    project = write_project(g, Config(backend="verilog"), tmp_path / "p")
    from nn2hls.project_io import save_graph
    save_graph(g, project)
    x = np.random.default_rng(4).uniform(-40, 40, size=(50, 4))
    simulator = sim.build(project, "verilator")
    assert simulator.kind == "verilator"
    assert _mismatching(simulator.run(x), emulate(g, x).outputs) == 0


def test_tool_override_and_install_hint(monkeypatch):
    monkeypatch.setenv("NN2HLS_VERILATOR", "/nonexistent/verilator")
    with pytest.raises(BuildError, match=r"\$NN2HLS_VERILATOR was not found"):
        tools.simulator("verilator")
    monkeypatch.delenv("NN2HLS_VERILATOR")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BuildError, match="apt-get install"):
        tools.simulator()
    with pytest.raises(BuildError, match="apt-get install"):
        tools.yosys()
