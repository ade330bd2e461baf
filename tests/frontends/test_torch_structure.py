"""PyTorch structural layers (nn.Upsample, PixelShuffle, PixelUnshuffle, F.pad, slicing, permute, ZeroPad2d)
exported with both ONNX exporters (TorchScript and dynamo): the IR float executor within 1e-5 and the
32-bit emulator within 1e-3 of torch itself."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")

import nn2hls  # noqa: E402
from nn2hls.frontends.torch import export_onnx_bytes  # noqa: E402
from nn2hls.frontends.onnx import load_onnx  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]
nn = torch.nn
F = torch.nn.functional
WIDE = {"precision": {"default": {"weight_width": 32, "result_width": 32}}}


class Mixed(nn.Module):
    """Every structural op of the issue in one NCHW network."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 1)
        self.shuffle = nn.PixelShuffle(2)
        self.up = nn.Upsample(scale_factor=2)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.pad = nn.ZeroPad2d((0, 1, 2, 0))

    def forward(self, x):
        h = self.shuffle(self.conv(x))             # (2, 8, 8)
        h = self.up(h)                             # (2, 16, 16)
        h = F.pad(h, (1, 2, 0, 1), value=0.5)      # (2, 17, 19)
        h = h[:, :, 1:-2, ::2]                     # (2, 14, 10)
        h = self.unshuffle(h)                      # (8, 7, 5)
        h = self.pad(h)                            # (8, 9, 6)
        return h.permute(0, 2, 3, 1)


class Upsample1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=1)
        self.up = nn.Upsample(scale_factor=3, mode="nearest")

    def forward(self, x):
        return self.up(self.conv(x))[:, 1:3]


CASES = {"mixed": (Mixed, (2, 4, 4)), "upsample1d": (Upsample1d, (3, 5))}


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_structure_matches(name, dynamo):
    make, shape = CASES[name]
    torch.manual_seed(0)
    module = make().eval()
    x = np.random.default_rng(2).normal(size=(5, *shape)).astype(np.float32)
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    import onnx
    model = onnx.load_from_string(export_onnx_bytes(module, torch.from_numpy(x[:1]), dynamo=dynamo))
    graph = load_onnx(model)
    (y,) = execute(graph, x)
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    emulated = nn2hls.compile(model, WIDE, calibration=x).emulate(x)
    np.testing.assert_allclose(emulated, ref, atol=1e-3)
    if name == "mixed":
        found = {type(n.op) for n in graph.nodes.values()}
        assert {ops.DepthToSpace, ops.Upsample, ops.Pad, ops.Slice} <= found
