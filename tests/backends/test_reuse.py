"""Reuse factors that act (issue 18): a 3x32x32 CNN with two Conv layers and a Dense layer, converted
with RF = 1, 2, 4, 8. The report's DSPs must equal the multipliers the emitted pragmas request, counted
here from the emitted C++ alone (no backend or report code): per layer the general products are the
entries of its `mul_w` array (the test's weights are all general: no zero-cost +-1 or powers of two),
then
- a pipelined top (`#pragma HLS PIPELINE` in the top function) unrolls every loop beneath it: a Conv
  layer builds its products once per output position (the position loop's trip count; no padding);
- a DATAFLOW top keeps each Conv's position loop pipelined at `II = k`: ceil(products / k) multipliers,
  and a Dense function pipelined at `II = k`: ceil(products / k); the ALLOCATION pragma must request
  exactly that many `mul` instances.
Every general weight here has 5 significant bits and 16-bit inputs: one DSP48E2 per product in the
report's rules (docs/report.md), so DSPs = multipliers. The Dense layer (8 distinct magnitudes) uses
the shared-weight kernel: one product per entry of its `grp_w` array. C-sim == emulator bit for bit at RF 4 (both
header sets), and the RF 4 project passes the synthesizability lint.
"""
from __future__ import annotations

import math
import os
import re
import shutil

import numpy as np
import pytest

from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes
from nn2hls.report import build_report

VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
GENERAL = np.array([17, 19, 21, 23, 25, 27, 29, 31]) / 32.0  # 5 significant bits each


def _weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    w = rng.choice(GENERAL, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    w[rng.random(size=shape) < 0.3] = 0.0
    return w


def cnn(rng: np.random.Generator) -> Graph:
    """3x32x32 -> Conv 3x3 (4) -> ReLU -> Conv 3x3 stride 2 (4) -> ReLU -> Dense (10)."""
    g = Graph("cnn32")
    x = g.add(ops.Input(shape=(32, 32, 3)), name="x")
    c1 = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(1, 1), dilations=(1, 1), pads=((0, 0), (0, 0))),
               [x.name], name="conv1", weights={"kernel": _weights(rng, (3, 3, 3, 4)), "bias": np.zeros(4)})
    r1 = g.add(ops.Activation(function="relu"), [c1.name], name="relu1")
    c2 = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(2, 2), dilations=(1, 1), pads=((0, 0), (0, 0))),
               [r1.name], name="conv2", weights={"kernel": _weights(rng, (3, 3, 4, 4)), "bias": np.zeros(4)})
    r2 = g.add(ops.Activation(function="relu"), [c2.name], name="relu2")
    f = g.add(ops.Reshape(shape=(14 * 14 * 4,)), [r2.name], name="flat")
    d = g.add(ops.Dense(), [f.name], name="fc", weights={"kernel": _weights(rng, (784, 10)), "bias": np.zeros(10)})
    g.outputs = [d.name]
    return g


@pytest.fixture(scope="module")
def typed_cnn():
    rng = np.random.default_rng(3)
    graph = cnn(rng)
    x = rng.uniform(0, 2, size=(40, 32, 32, 3))
    return run_passes(graph, Config(), x), x


def _values(text: str, array: str) -> int:
    m = re.search(rf"\b{array}\[\d+\] = \{{(.*?)\}};", text, flags=re.S)
    return len([v for v in m.group(1).replace("\n", " ").split(",") if v.strip()]) if m else 0


def counted_multipliers(project) -> dict[str, int]:
    """Multipliers requested by the emitted code, per weighted layer (module doc)."""
    name = re.search(r'"project": "(\w+)"', (project / "nn2hls_project.json").read_text()).group(1)
    top = (project / "firmware" / f"{name}.cpp").read_text()
    pipelined = re.search(r"^#pragma HLS PIPELINE\s*$", top, flags=re.M) is not None
    assert pipelined != ("#pragma HLS DATAFLOW" in top)
    out = {}
    for path in sorted((project / "firmware").glob("layer_*.cpp")):
        text = path.read_text()
        products = _values(text, "mul_w") + _values(text, "grp_w")  # grp_w: one product per weight group
        if not products:
            continue
        layer = path.stem[len("layer_"):]
        loop = re.search(r"for \(int p = 0; p < (\d+); p\+\+\) \{\n#pragma HLS PIPELINE II = (\d+)", text)
        ii = re.search(r"#pragma HLS PIPELINE II = (\d+)", text)
        limit = re.search(r"#pragma HLS ALLOCATION .*instances=mul limit=(\d+)", text)
        if pipelined:
            out[layer] = products * (int(loop.group(1)) if loop else 1)
            assert limit is None
        else:
            out[layer] = math.ceil(products / int(ii.group(1)))
            if int(ii.group(1)) > 1:
                assert int(limit.group(1)) == out[layer], (layer, limit.group(0))
    return out


@pytest.mark.parametrize("rf", [1, 2, 4, 8])
def test_report_dsp_equals_the_multipliers_the_pragmas_request(tmp_path, typed_cnn, rf):
    typed, _ = typed_cnn
    config = Config(reuse_factor=rf)
    project = write_project(typed, config, tmp_path / f"rf{rf}")
    counted = counted_multipliers(project)
    report = build_report(typed, config)
    reported = {row["name"]: row["dsp"] for row in report["layers"] if row["name"] in counted}
    assert set(counted) == {"conv1", "conv2", "fc"}
    assert reported == counted
    assert report["totals"]["dsp"] == sum(counted.values())


def test_per_layer_reuse_and_resource_strategy(tmp_path, typed_cnn):
    typed, _ = typed_cnn
    config = Config(layers={"conv1": {"reuse_factor": 4}, "fc": {"strategy": "resource"}})
    project = write_project(typed, config, tmp_path / "mixed")
    counted = counted_multipliers(project)
    conv2 = (project / "firmware" / "layer_conv2.cpp").read_text()
    assert "#pragma HLS PIPELINE II = 1" in conv2 and "ALLOCATION" not in conv2
    fc = (project / "firmware" / "layer_fc.cpp").read_text()
    assert re.search(r"instances=mul limit=(\d+)", fc).group(1) == str(counted["fc"])
    report = build_report(typed, config)
    assert {r["name"]: r["dsp"] for r in report["layers"] if r["name"] in counted} == counted


@pytest.mark.csim
@pytest.mark.parametrize("headers", ["own", "vendor"])
def test_rf4_cnn_csim_bit_exact(tmp_path, typed_cnn, headers):
    from nn2hls.csim import build
    if headers == "vendor" and not VENDOR:
        pytest.skip("NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
    typed, x = typed_cnn
    project = write_project(typed, Config(reuse_factor=4), tmp_path / "rf4")
    got = build(project, ap_types=VENDOR if headers == "vendor" else None).predict(x)
    expected = emulate(typed, x).outputs[0]
    assert np.array_equal(got, expected) and np.unique(got).size > 10


@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
def test_rf4_cnn_passes_the_lint(tmp_path, typed_cnn):
    from nn2hls.backends.vivado.lint import CLANG_NAMES, lint_project
    if not (os.environ.get("NN2HLS_CLANG") or any(shutil.which(n) for n in CLANG_NAMES)):
        pytest.skip("clang++ is not installed (apt-get install clang): needed by the lint")
    typed, _ = typed_cnn
    project = write_project(typed, Config(reuse_factor=4), tmp_path / "rf4")
    assert lint_project(project, VENDOR) == []
