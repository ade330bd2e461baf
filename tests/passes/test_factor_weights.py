"""factor_weights: {-a, 0, +a} float weights -> +-1 weights and one scale per output; refusals; numbers;
report counts; a ternary model trained and exported (plain float ONNX) by nn2hls.compress."""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph
from nn2hls.passes.factor_weights import column_scales
from nn2hls.passes.pipeline import run_passes
from nn2hls.report import build_report


def _ternary_graph(seed=0, *, a=0.3, per_column=False, binary=False):
    rng = np.random.default_rng(seed)
    g = Graph("t")
    x = g.add(ops.Input(shape=(12,)), name="x")
    q = rng.choice([-1.0, 1.0] if binary else [-1.0, 0.0, 0.0, 1.0], size=(12, 8))
    mags = rng.uniform(0.1, 0.9, size=8) if per_column else np.full(8, a)
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": q * mags, "bias": rng.normal(0, 0.1, 8)})
    r = g.add(ops.Activation(function="relu"), [d.name], name="r")
    o = g.add(ops.Dense(), [r.name], name="o", weights={"kernel": rng.normal(size=(8, 3)), "bias": np.zeros(3)})
    g.outputs = [o.name]
    return g, q, mags


def test_column_scales():
    k = np.array([[0.3, -0.5, 0.0], [-0.3, 0.0, 0.0], [0.0, 0.5, 0.0]])
    np.testing.assert_array_equal(column_scales(k), [0.3, 0.5, 1.0])
    assert column_scales(np.array([[0.3], [0.30000001]])) is None  # exact equality only


@pytest.mark.parametrize("per_column,binary", [(False, False), (True, False), (True, True)])
def test_factors_ternary_and_binary_dense(per_column, binary):
    g, q, mags = _ternary_graph(per_column=per_column, binary=binary)
    out = run_passes(g, Config(), passes=["factor_weights"])
    text = str(out)
    assert "%d = Dense (%x) -> (8,)  {kernel: 12x8" in text
    assert "%d_scale = ScaleShift (%d) -> (8,)  {scale: 8 nnz=8, shift: 8" in text
    assert "%r = Activation(function=relu" in text and "(%d_scale)" in text
    np.testing.assert_array_equal(out.nodes["d"].weights["kernel"], q)  # +-1 integer weights
    np.testing.assert_array_equal(out.nodes["d_scale"].weights["scale"], mags)
    assert not out.nodes["o"].annotations.factored_scale  # the general layer is untouched
    notes = out.meta["pass_log"][-1][2]
    assert notes[0].startswith(f"d: {int(np.count_nonzero(q))} weights are now +-1; one scale per output in d_scale")
    assert notes[1] == "o: kept (some output has more than one nonzero weight magnitude)"
    x = np.random.default_rng(1).normal(size=(200, 12))
    np.testing.assert_allclose(execute(out, x)[0], execute(g, x)[0], rtol=1e-12, atol=1e-12)


def test_refuses_powers_of_two_and_mixed_magnitudes():
    g, _, _ = _ternary_graph(a=0.25)
    out = run_passes(g, Config(), passes=["factor_weights"])
    assert out.meta["pass_log"][-1][1] is False
    assert out.meta["pass_log"][-1][2][0] == "d: kept (its weights are already 0 or signed powers of two (shifts))"
    assert str(out) == str(g)


def test_report_counts_and_emulator_close_to_float():
    g, q, _ = _ternary_graph(seed=3, per_column=True)
    x = np.random.default_rng(2).normal(size=(500, 12))
    with_pass = run_passes(g, Config(), x)
    without = run_passes(g, Config(passes_disable=["factor_weights"]), x)
    rows = {r["name"]: r for r in build_report(with_pass, Config())["layers"]}
    rows_without = {r["name"]: r for r in build_report(without, Config())["layers"]}
    nnz = int(np.count_nonzero(q))
    assert rows["d"]["mult_general"] == 0 and rows["d"]["mult_pm_one"] == nnz
    assert rows["d_scale"]["mult_general"] == 8  # one product per output
    assert rows_without["d"]["mult_general"] == nnz
    ref = execute(g, x)[0]
    for typed in (with_pass, without):
        assert np.max(np.abs(emulate(typed, x).outputs[0] - ref)) < 0.05


def _compress_ternary_onnx(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    from nn2hls.compress.export import export_onnx
    from nn2hls.compress.qat import quantize_model

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Linear(12, 4))
    with torch.no_grad():
        model[1].running_mean.uniform_(-0.2, 0.2)
        model[1].running_var.uniform_(0.5, 2.0)
        model[1].weight.uniform_(0.5, 1.5)
    qat = quantize_model(model, "ternary", backend="ste", layers="all")
    return export_onnx(qat.eval(), torch.zeros(1, 16), tmp_path / "ternary.onnx")


def test_ternary_model_from_compress(tmp_path):
    from nn2hls.frontends.onnx import load_onnx
    path = _compress_ternary_onnx(tmp_path)
    graph = load_onnx(path)
    x = np.random.default_rng(0).normal(size=(400, 16))
    typed = run_passes(graph, Config(), x)
    dense = [n for n in typed.nodes.values() if isinstance(n.op, ops.Dense)]
    first = dense[0]
    assert first.annotations.multiplier_free
    kernel = first.weights["kernel"]
    assert set(np.unique(kernel).tolist()) <= {-1.0, 0.0, 1.0} and np.count_nonzero(kernel) > 50
    rows = {r["name"]: r for r in build_report(typed, Config())["layers"]}
    assert rows[first.name]["mult_general"] == 0
    assert rows[first.name]["mult_pm_one"] == np.count_nonzero(kernel)
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()  # the graph as written: no fused kernels
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]
    got = emulate(typed, x).outputs[0]
    assert np.mean(np.argmax(got, 1) == np.argmax(ref, 1)) > 0.98
    assert np.max(np.abs(got - ref)) < 0.05


@pytest.mark.csim
def test_ternary_model_from_compress_csim_bit_exact(tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    from nn2hls.frontends.onnx import load_onnx
    graph = load_onnx(_compress_ternary_onnx(tmp_path))
    x = np.random.default_rng(5).normal(size=(300, 16))
    typed = run_passes(graph, Config(), x)
    got = build(write_project(typed, Config(), tmp_path / "proj")).predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])
