"""Pruned and QAT models exported to ONNX round-trip into nn2hls (zeros, weights, float outputs),
compile bit-exact, and QAT layers compute with exactly the quantized values the maths says."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from nn2hls.compress import masks, qat  # noqa: E402
from nn2hls.compress.export import export_onnx, export_qonnx  # noqa: E402
from nn2hls.errors import ConfigError  # noqa: E402


def _mlp() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))


def _cnn() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))


def _kernels(path) -> list[np.ndarray]:
    from nn2hls.frontends.onnx import load_onnx
    from nn2hls.ir.ops import Conv, Dense

    g = load_onnx(path)
    return [n.weights["kernel"] for n in g.topological() if isinstance(n.op, (Dense, Conv))]


@pytest.mark.parametrize("make,shape", [(_mlp, (12,)), (_cnn, (1, 8, 8))], ids=["mlp", "cnn"])
def test_pruned_export_round_trips(tmp_path, make, shape):
    from nn2hls.frontends.onnx import load_onnx
    from nn2hls.ir.execute import execute

    net = make()
    masks.prune_fraction(net, 0.6)
    zeros = sum(int((masks.effective_weight(m) == 0).sum()) for _, m in masks.prunable_layers(net))
    path = export_onnx(net, torch.zeros(1, *shape), tmp_path / "pruned.onnx")
    assert masks.is_pruned(net[0])  # the caller's model keeps its masks
    assert sum(int((k == 0).sum()) for k in _kernels(path)) == zeros
    x = np.random.default_rng(0).normal(size=(20, *shape))
    (y,) = execute(load_onnx(path), x)
    with torch.no_grad():
        ref = net(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_quantizer_maths():
    w = torch.tensor([-0.5, -0.2, -0.05, 0.0, 0.07, 0.13, 0.6])
    t = qat.quantize_tensor(w, qat.QuantSpec("ternary"), 0.25)
    assert t.tolist() == [-0.25, -0.25, 0.0, 0.0, 0.0, 0.25, 0.25]
    b = qat.quantize_tensor(w, qat.QuantSpec("binary"), 0.125)
    assert b.tolist() == [-0.125, -0.125, -0.125, 0.125, 0.125, 0.125, 0.125]
    f = qat.quantize_tensor(w, qat.QuantSpec("fixed", 4), None)  # max 0.6 -> F = 4-1-0 = 3, lim 7
    assert f.tolist() == [-0.5, -0.25, 0.0, 0.0, 0.125, 0.125, 0.625]
    # scales: binary 2^round(log2 mean|w|); ternary from the weights above 0.7 mean|w|
    assert qat.initial_scale(torch.tensor([0.1, -0.3, 0.2]), "binary") == 0.25
    assert qat.initial_scale(torch.tensor([0.01, -0.5, 0.45, 0.02]), "ternary") == 0.5
    assert qat.QuantSpec.parse("fixed<6>") == qat.QuantSpec("fixed", 6)
    with pytest.raises(ConfigError, match="'quaternary'"):
        qat.QuantSpec.parse("quaternary")


BACKENDS = ["ste"] + (["brevitas"] if qat.has_brevitas() else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["ternary", "binary", "fixed6"])
def test_qat_trains_with_ste_and_freezes_exactly(tmp_path, backend, kind):
    net = _mlp()
    q = qat.quantize_model(net, kind, backend=backend)
    x, y = torch.randn(32, 12), torch.randint(0, 4, (32,))
    opt = torch.optim.Adam(q.parameters(), lr=1e-2)
    for _ in range(3):  # gradients reach the float shadow weights through the quantizer
        opt.zero_grad()
        nn.functional.cross_entropy(q(x), y).backward()
        opt.step()
    layers = [m for m in q.modules() if qat.quantized_weight(m) is not None]
    assert len(layers) == 3
    for m in layers:
        w = qat.quantized_weight(m)
        levels = torch.unique(w.abs())
        if kind == "ternary":
            assert len(levels[levels > 0]) == 1
        elif kind == "binary":
            assert len(levels) == 1 and torch.all(w != 0)
        # every value is an integer multiple of a power of two no finer than 2^-20
        scaled = w.double() * 2 ** 20
        assert torch.equal(scaled, torch.round(scaled))
    frozen = qat.freeze(q)
    assert all(type(m) in (nn.Linear, nn.ReLU, nn.Sequential) for m in frozen.modules())
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), q(x), rtol=0, atol=1e-6)
    path = export_onnx(q, torch.zeros(1, 12), tmp_path / "q.onnx")
    for k, m in zip(_kernels(path), layers):
        np.testing.assert_array_equal(k, qat.quantized_weight(m).double().numpy().T)


def test_qonnx_export_has_quant_nodes(tmp_path):
    pytest.importorskip("brevitas")
    pytest.importorskip("onnxoptimizer")
    import onnx

    q = qat.quantize_model(_mlp(), "ternary", backend="brevitas")
    path = export_qonnx(q, torch.zeros(1, 12), tmp_path / "q.qonnx.onnx")
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("Quant") == 3


def test_qonnx_export_needs_brevitas(monkeypatch, tmp_path):
    monkeypatch.setattr(qat, "has_brevitas", lambda: False)
    with pytest.raises(ConfigError, match="QONNX export needs Brevitas"):
        export_qonnx(_mlp(), torch.zeros(1, 12), tmp_path / "x.onnx")


@pytest.mark.csim
@pytest.mark.slow
def test_pruned_and_ternary_models_compile_bit_exact(tmp_path):
    import shutil

    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("no C++ compiler")
    import nn2hls

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, size=(64, 12))
    pruned = _mlp()
    masks.prune_fraction(pruned, 0.7)
    tern = qat.quantize_model(_mlp(), "ternary", backend="ste")
    for name, model in (("pruned", pruned), ("ternary", tern)):
        path = export_onnx(model, torch.zeros(1, 12), tmp_path / f"{name}.onnx")
        cm = nn2hls.compile(path, calibration=x)
        emu = np.asarray(cm.emulate(x))
        csim = np.asarray(cm.build().predict(x))
        np.testing.assert_array_equal(emu, csim)
        totals = cm.report()["totals"]
        nonzero = sum(int((k != 0).sum()) for k in _kernels(path))
        assert totals["multiplies"] <= nonzero
        if name == "ternary":
            assert totals["mult_general"] == 0 and totals["dsp"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_qat_layer_sets_and_edge_precision(backend):
    net = _mlp()  # three Linear layers
    x = torch.randn(8, 12)

    def kinds(q):
        out = []
        for m in q.modules():
            if type(m) is nn.Linear:
                out.append("float")
            elif qat.quantized_weight(m) is not None:
                w = qat.quantized_weight(m)
                levels = torch.unique(w.abs())
                out.append("ternary" if len(levels[levels > 0]) == 1 and (w == 0).any() else
                           "binary" if len(levels) == 1 else "fixed")
        return out

    assert kinds(qat.quantize_model(net, "binary", backend=backend, layers="hidden")) == ["float", "binary", "float"]
    q = qat.quantize_model(net, "binary", backend=backend, layers="hidden", edge="fixed8")
    assert kinds(q) == ["fixed", "binary", "fixed"]
    # fixed<8> edges: every value a multiple of 2^-F with |w| * 2^F <= 127
    for m in (q[0], q[4]):
        w = qat.quantized_weight(m).double()
        frac = 7 - int(np.ceil(np.log2(float(m.weight.detach().abs().max()))))
        assert torch.equal(w * 2 ** frac, torch.round(w * 2 ** frac)) and float((w * 2 ** frac).abs().max()) <= 127
    assert kinds(qat.quantize_model(net, "ternary", backend=backend, layers="all_but_last")) == \
        ["ternary", "ternary", "float"]
    assert kinds(qat.quantize_model(net, "ternary", backend=backend, layers="all_but_first")) == \
        ["float", "ternary", "ternary"]
    with torch.no_grad():
        torch.testing.assert_close(qat.freeze(q)(x), q(x), rtol=0, atol=1e-6)
    with pytest.raises(ConfigError, match="layers='some'"):
        qat.quantize_model(net, "binary", layers="some")


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_report_multiplies_match_reuse_counts(tmp_path, scope):
    """The compiler's multiply count of a pruned CNN equals sum(reuse * [w != 0]) from masks.reuse_counts."""
    import nn2hls

    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(4 * 4 * 4, 5))
    torch.manual_seed(5)
    x = torch.zeros(1, 1, 8, 8)
    reuse = masks.reuse_counts(net, x)
    masks.prune_fraction(net, 0.6, scope=scope)
    expect = sum(float((reuse[n] * (masks.effective_weight(m) != 0)).sum()) for n, m in masks.prunable_layers(net))
    dense = sum(float(r.sum()) for r in reuse.values())
    path = export_onnx(net, x, tmp_path / "p.onnx")
    rng = np.random.default_rng(2)
    totals = nn2hls.compile(path, calibration=rng.uniform(0, 1, (32, 1, 8, 8))).report()["totals"]
    assert totals["multiplies"] == int(expect)
    assert totals["multiplies"] / dense == pytest.approx(1 - masks.multiply_sparsity(net, reuse))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["ternary", "fixed6"])
def test_qat_keeps_the_pruning(tmp_path, backend, kind):
    # was: quantize_model made the masks permanent and training refilled the zeros (70% -> 23% sparse)
    net = _mlp()
    masks.prune_fraction(net, 0.7)
    pruned = {name: masks.effective_weight(m) == 0 for name, m in masks.prunable_layers(net)}
    q = qat.quantize_model(net, kind, backend=backend)
    x, y = torch.randn(32, 12), torch.randint(0, 4, (32,))
    opt = torch.optim.Adam(q.parameters(), lr=5e-2)
    for _ in range(5):
        opt.zero_grad()
        nn.functional.cross_entropy(q(x), y).backward()
        opt.step()
    for name, m in masks.prunable_layers(q):
        assert masks.is_pruned(m), name
        assert torch.all(qat.quantized_weight(m)[pruned[name]] == 0), name
        assert torch.any(m.weight[~pruned[name]] != net.get_submodule(name).weight[~pruned[name]])  # trained
    assert masks.sparsity(q) == pytest.approx(masks.sparsity(net))
    path = export_onnx(q, torch.zeros(1, 12), tmp_path / "q.onnx")
    for k, (name, _) in zip(_kernels(path), masks.prunable_layers(q)):
        assert np.all(k.T[pruned[name].numpy()] == 0)


def test_binary_qat_of_a_pruned_layer_is_refused():
    net = _mlp()
    masks.prune_fraction(net, 0.5)
    with pytest.raises(ConfigError, match="layer '0' is pruned .*binary weights .* cannot be zero"):
        qat.quantize_model(net, "binary", backend="ste")


def test_ap_fixed_spec_has_a_constant_scale_and_both_backends_agree():
    assert qat.QuantSpec.parse("ap_fixed<6,2>") == qat.QuantSpec("fixed", 6, 2)
    assert qat.QuantSpec.parse("fixed<8, 3>") == qat.QuantSpec("fixed", 8, 3)
    w = torch.tensor([[0.3, -1.7, 2.5, 0.01], [0.126, -0.124, 1.0, -3.0]])
    # ap_fixed<6,2>: LSB 2^-4, symmetric limit 31/16 (worked by hand)
    expect = torch.tensor([[0.3125, -1.6875, 1.9375, 0.0], [0.125, -0.125, 1.0, -1.9375]])
    torch.testing.assert_close(qat.quantize_tensor(w, qat.QuantSpec.parse("ap_fixed<6,2>")), expect, rtol=0, atol=0)
    net = nn.Sequential(nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(w)
    for backend in BACKENDS:
        q = qat.quantize_model(net, "ap_fixed<6,2>", backend=backend)
        torch.testing.assert_close(qat.quantized_weight(q[0]), expect, rtol=0, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv1d_and_per_layer_mixed_precision(backend):
    torch.manual_seed(5)
    net = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6, 3))
    q = qat.quantize_model(net, "ternary", backend=backend, per_layer={"3": "ap_fixed<8,1>"})
    w0, w3 = qat.quantized_weight(q[0]), qat.quantized_weight(q[3])
    assert w0 is not None and len(torch.unique(w0.abs())) <= 2          # ternary: {0, s}
    assert torch.equal(w3 * 2 ** 7, torch.round(w3 * 2 ** 7))           # 7 fractional bits
    x = torch.randn(5, 2, 8)
    frozen = qat.freeze(q)
    assert type(frozen[0]) is nn.Conv1d
    with torch.no_grad():
        torch.testing.assert_close(frozen(x), q(x), rtol=0, atol=1e-6)
    kept = qat.quantize_model(net, "ternary", backend=backend, per_layer={"3": None})
    assert qat.quantized_weight(kept[3]) is None                        # None: that layer stays float
    with pytest.raises(ConfigError, match="per_layer names unknown layer"):
        qat.quantize_model(net, "ternary", backend=backend, per_layer={"9": "fixed8"})
