"""PyTorch modules exported to ONNX in memory and imported: IR float execution matches torch, and the
loader dispatches files and in-memory models to the right frontend."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")

from nn2hls.errors import ModelLoadError, UnsupportedOpError  # noqa: E402
from nn2hls.frontends import load_model  # noqa: E402
from nn2hls.frontends.torch import load_torch  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402

pytestmark = pytest.mark.torch
nn = torch.nn
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 6)
        self.fc2 = nn.Linear(6, 4)
        self.bn = nn.BatchNorm1d(6)

    def forward(self, x):
        h = torch.relu(self.bn(self.fc1(x))) + x
        return torch.cat([self.fc2(h), torch.sigmoid(h)], dim=1)


def _cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 3, 3, stride=2, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(12, 5),
                         nn.Softmax(dim=-1))


def _randomize_bn(module, seed):
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return module


CASES = {
    "mlp": (lambda: nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)), (10,)),
    "residual": (Residual, (6,)),
    "cnn": (_cnn, (2, 8, 8)),
    "conv1d": (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.LeakyReLU(0.1), nn.AvgPool1d(2),
                                     nn.Flatten(), nn.Linear(16, 2)), (3, 8)),
}


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_module_matches(name, dynamo):
    builder, shape = CASES[name]
    torch.manual_seed(0)
    module = _randomize_bn(builder(), 1).eval()
    x = torch.randn((6,) + shape)
    graph = load_torch(module, x, dynamo=dynamo)
    assert graph.input.shape == shape
    assert graph.meta["source"] == "torch"
    with torch.no_grad():
        ref = module(x).numpy().astype(np.float64)
    (y,) = execute(graph, x.numpy())
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_training_mode_is_restored_and_eval_used():
    torch.manual_seed(0)
    module = _randomize_bn(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5)), 2)
    module.train()
    x = torch.randn(3, 4)
    graph = load_torch(module, x)
    assert module.training
    module.eval()
    with torch.no_grad():
        ref = module(x).numpy()
    np.testing.assert_allclose(execute(graph, x.numpy())[0], ref, rtol=1e-5, atol=1e-6)


def test_numpy_example_input_and_missing_input():
    module = nn.Sequential(nn.Linear(3, 2))
    graph = load_torch(module, np.zeros((1, 3)))
    assert [n.op.kind for n in graph.topological()] == ["Input", "Dense"]
    with pytest.raises(ModelLoadError, match="needs an example input"):
        load_torch(module, None)
    with pytest.raises(ModelLoadError, match=r"has no batch axis; give \(N, \*input_shape\)"):
        load_torch(module, np.zeros(3))


def test_export_failure_is_one_line():
    class Bad(nn.Module):
        def forward(self, x):
            return torch.fft.fft(x).real

    with pytest.raises((UnsupportedOpError, ModelLoadError)) as info:
        load_torch(Bad(), torch.zeros(1, 4))
    assert "\n" not in str(info.value)


# ---- loader ---------------------------------------------------------------------------------------
def test_loader_dispatch_by_suffix_and_type(tmp_path):
    pytest.importorskip("h5py")
    import onnx

    module = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    x = torch.randn(4, 3)
    via_torch = load_model(module, x)
    from nn2hls.frontends.torch import export_onnx_bytes
    data = export_onnx_bytes(module, x)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    via_file = load_model(path)
    via_proto = load_model(onnx.load_from_string(data))
    for graph in (via_torch, via_file, via_proto):
        np.testing.assert_allclose(execute(graph, x.numpy())[0], module(x).detach().numpy(), rtol=1e-5)
    for suffix in (".keras", ".h5"):
        graph = load_model(FIXTURES / f"mlp_bn{suffix}")
        assert graph.meta["source"] == "keras"
        assert any(isinstance(n.op, ops.BatchNorm) for n in graph.nodes.values())


def test_loader_live_keras_model():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    graph = load_model(model)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(execute(graph, x)[0], model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_loader_errors(tmp_path):
    with pytest.raises(ModelLoadError, match=r"unknown model file suffix '\.pb'; supported: \.onnx, \.keras, "
                                             r"\.h5, \.hdf5, \.json, \.pt2, \.pt, \.pth"):
        load_model(tmp_path / "model.pb")
    with pytest.raises(ModelLoadError, match=r"cannot load a model from a builtins\.dict; give a file path"):
        load_model({"not": "a model"})
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "missing.onnx")
