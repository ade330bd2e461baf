"""PyTorch modules with constant element-wise ops, broadcast element-wise ops and reductions, exported
in memory with both exporters (TorchScript and dynamo): IR float execution matches torch, the emulator
with 32-bit types is within 1e-3 of torch, and the C simulation equals the emulator bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")

import nn2hls  # noqa: E402
from nn2hls.frontends.torch import load_torch  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402

pytestmark = pytest.mark.torch
nn = torch.nn
WIDE = {"precision": {"default": {"weight_width": 32, "result_width": 32, "table_size": 65536,
                                  "table_width": 32}}}


class GlobalMeanHead(nn.Module):
    """input normalization, conv, x.mean(dim=(2, 3)) as global average pooling, linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)
        self.register_buffer("mean", torch.tensor([0.2, -0.1]).reshape(1, 2, 1, 1))

    def forward(self, x):
        x = (x / 4.0 - self.mean) / 0.5
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class MaxKeepdimAdd(nn.Module):
    """conv output plus its own spatial max (keepdim): a broadcast Add."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)

    def forward(self, x):
        c = self.conv(x)
        return c + c.amax(dim=(2, 3), keepdim=True)


class ChannelStats(nn.Module):
    """a mean over the channels (not global pooling) subtracted from x, then times sigmoid * 2 - 1."""

    def forward(self, x):
        centred = x - x.mean(dim=1, keepdim=True)
        return centred * (torch.sigmoid(x.sum(dim=(1, 2), keepdim=True) / 8) * 2 - 1)


CASES = {"global_mean_head": (GlobalMeanHead, (2, 5, 6), ops.GlobalPool),
         "max_keepdim_add": (MaxKeepdimAdd, (2, 4, 5), ops.GlobalPool),
         "channel_stats": (ChannelStats, (3, 4, 5), ops.Reduce)}


def _setup(name, dynamo):
    make, shape, kind = CASES[name]
    torch.manual_seed(0)
    module = make().eval()
    x = torch.randn((64,) + shape)
    graph = load_torch(module, x[:2], dynamo=dynamo)
    assert any(isinstance(n.op, kind) for n in graph.nodes.values())
    with torch.no_grad():
        ref = module(x).numpy().astype(np.float64)
    return graph, x.numpy().astype(np.float64), ref


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_float_and_32bit_emulator_match_torch(name, dynamo):
    graph, x, ref = _setup(name, dynamo)
    (y,) = execute(graph, x)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(ref).max())))
    y32 = nn2hls.compile(graph, config=WIDE, calibration=x).emulate(x)
    assert float(np.max(np.abs(y32 - ref))) < 1e-3


@pytest.mark.csim
@pytest.mark.parametrize("name", sorted(CASES))
def test_csim_bit_exact(name):
    graph, x, _ = _setup(name, False)
    x = np.concatenate([x, 3.0 * x])
    compiled = nn2hls.compile(graph, calibration=x[:64])
    expected = compiled.emulate(x)
    assert np.array_equal(compiled.build().predict(x), expected)
    assert np.unique(expected).size > 3
