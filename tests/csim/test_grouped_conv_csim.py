"""Grouped and depthwise convolutions end to end: emulator vs the framework's float output (within
1e-3 with 32-bit types, within a hand-derived bound at the default 16 bits), C simulation vs
emulator bit for bit (nn2hls's headers and the vendor's), and pruned depthwise weights costing
nothing (report and generated constant arrays)."""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import nn2hls  # noqa: E402
from nn2hls.frontends.torch import export_onnx_bytes  # noqa: E402
from nn2hls.testing import first_mismatch  # noqa: E402

_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "make_grouped_conv_fixtures.py"
_spec = importlib.util.spec_from_file_location("make_grouped_conv_fixtures", _SCRIPT)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

pytestmark = [pytest.mark.csim, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
WIDE = {"precision": {"default": {"result_width": 32, "weight_width": 32}}}
N = 400


def _ort(data: bytes, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[0]


def _torch_case(name, tmp_path):
    module, shape = fixtures.torch_model(name)
    x = np.random.default_rng(5).normal(size=(N,) + shape).astype(np.float32)
    data = export_onnx_bytes(module, x[:1])
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(data)
    return path, x, _ort(data, x)


def _keras_case(name, tmp_path):
    model = fixtures.keras_model(name, seed=3)
    x = np.random.default_rng(6).normal(size=(N,) + tuple(model.inputs[0].shape[1:])).astype(np.float32)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    return path, x, model.predict(x, verbose=0)


CASES = {"dw2d": _torch_case, "dw1d": _torch_case, "k2d": _keras_case, "k1d": _keras_case}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wide_types_match_the_framework_within_1e_3(name, tmp_path):
    path, x, expected = CASES[name](name, tmp_path)
    model = nn2hls.compile(path, WIDE, calibration=x)
    err = float(np.max(np.abs(model.emulate(x) - expected)))
    assert err <= 1e-3, err


def _assert_bit_exact(model, x, ap_types=None):
    problem = first_mismatch(model.emulate(x), model.build(ap_types=ap_types).predict(x))
    assert problem is None, problem


@pytest.mark.parametrize("name", sorted(CASES))
def test_csim_bit_exact_default_types(name, tmp_path):
    path, x, expected = CASES[name](name, tmp_path)
    model = nn2hls.compile(path, calibration=x[:200])
    assert np.mean(np.argmax(model.emulate(x), -1) == np.argmax(expected, -1)) >= 0.9
    _assert_bit_exact(model, x)


def test_csim_bit_exact_wide_types(tmp_path):
    # 32-bit results times 18-bit weights: accumulators wider than 48 bits in the C simulation (32-bit
    # weights too would need bias literals wider than the backend's 53-bit limit)
    path, x, _ = _torch_case("dw2d", tmp_path)
    config = {"precision": {"default": {"result_width": 32, "weight_width": 18}}}
    model = nn2hls.compile(path, config, calibration=x)
    assert max(n.precision["accum"].width for n in model.graph.nodes.values() if "accum" in n.precision) > 48
    _assert_bit_exact(model, x)


@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
@pytest.mark.parametrize("name", ["dw2d", "k1d"])
def test_csim_bit_exact_vendor_headers(name, tmp_path):
    path, x, _ = CASES[name](name, tmp_path)
    _assert_bit_exact(nn2hls.compile(path, calibration=x[:200]), x[:200], ap_types=VENDOR)


# ---- zero weights -----------------------------------------------------------------------------------
def _pruned_depthwise(tmp_path):
    """Conv2d(4 -> 8, 3x3, groups=4, no padding) on 6x6: 4x4 = 16 positions; filters 2c, 2c+1 read
    channel c. Weights in +-[0.15, 0.85] (no +-1, no power of two after rounding); filters 2 and 3
    (all of group 1) pruned to zero, and three more zeros elsewhere."""
    module = torch.nn.Conv2d(4, 8, 3, groups=4)
    rng = np.random.default_rng(11)
    w = rng.uniform(0.15, 0.85, size=(8, 1, 3, 3)) * rng.choice([-1, 1], size=(8, 1, 3, 3))
    w = np.round(w * 64 + 0.37) / 64 + 1 / 256  # 10 fractional bits set: never a power of two
    w[2:4] = 0.0
    w[0, 0, 1, 1] = w[5, 0, 0, 2] = w[7, 0, 2, 0] = 0.0
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(w))
        module.bias.copy_(torch.from_numpy(rng.normal(0, 0.1, size=8)))
    x = rng.normal(size=(N, 4, 6, 6)).astype(np.float32)
    data = export_onnx_bytes(module.eval(), x[:1])
    path = tmp_path / "pruned_dw.onnx"
    path.write_bytes(data)
    return path, x, w, _ort(data, x)


def test_pruned_depthwise_weights_cost_nothing(tmp_path):
    path, x, w, expected = _pruned_depthwise(tmp_path)
    model = nn2hls.compile(path, calibration=x)
    (row,) = [r for r in model.report()["layers"] if r["op"] == "Conv"]
    nonzero = np.count_nonzero(w.reshape(8, -1), axis=1)           # per filter: 8, 9, 0, 0, 9, 8, 9, 8
    per_group = [int(nonzero[2 * g:2 * g + 2].sum()) * 16 for g in range(4)]
    assert row["groups"] == 4
    assert row["multiplies_per_group"] == per_group == [17 * 16, 0, 17 * 16, 17 * 16]
    assert row["weights"] == 72 and row["nonzero_weights"] == 51
    assert row["multiplies"] == row["mult_general"] == 51 * 16
    from nn2hls.report import format_report
    assert (f"grouped conv {row['name']}: 4 groups, multiplies per group 272, 0, 272, 272"
            in format_report(model.report()))
    project = model.write(tmp_path / "prj")
    (text,) = [t for t in (p.read_text() for p in (project / "firmware").glob("layer_*.cpp")) if "mul_w" in t]
    arrays = dict(re.findall(r"// (\w+): (\d+) entries", text))
    assert arrays["mul_w"] == "51" and arrays["mul_idx"] == "51"
    assert not any(k.startswith(("p2_", "add_", "sub_")) for k in arrays)
    outputs = re.search(r"mul_out\[\d+\] = \{\s*([^}]*)\}", text).group(1)
    assert sorted(int(v) for v in outputs.replace(",", " ").split()) == [0, 1, 4, 5, 6, 7]  # no filter 2, 3
    _assert_bit_exact(model, x)


def test_pruned_depthwise_error_within_the_default_precision_bound(tmp_path):
    """|y - y_float| <= e_x * sum|w_q| + e_w * n * max|x| + e_b + e_r per filter: x_q w_q - x w =
    (x_q - x) w_q + x (w_q - w) over its n nonzero taps; input, weights, bias and result round to
    nearest (AP_RND: half an LSB each) and the accumulator is exact. 1e-5 covers onnxruntime's float32."""
    path, x, w, expected = _pruned_depthwise(tmp_path)
    model = nn2hls.compile(path, calibration=x)
    graph = model.graph
    conv = next(n for n in graph.nodes.values() if n.op.kind == "Conv")
    tx = graph.nodes[conv.inputs[0]].precision["result"]
    p = conv.precision
    assert {t.rounding for t in (tx, p["weight"], p["bias"], p["result"])} == {"AP_RND"}
    wq = np.abs(conv.weights["kernel"]).reshape(-1, 8)
    n = np.count_nonzero(w.reshape(8, -1), axis=1)
    bound = (tx.lsb / 2 * wq.sum(axis=0) + p["weight"].lsb / 2 * n * float(np.max(np.abs(x)))
             + p["bias"].lsb / 2 + p["result"].lsb / 2 + 1e-5)
    err = np.abs(model.emulate(x) - expected)                       # (N, 8, 4, 4) in ONNX layout
    assert np.all(err.max(axis=(0, 2, 3)) <= bound), (err.max(axis=(0, 2, 3)), bound)
    assert np.all(err.max(axis=(0, 2, 3))[[0, 1, 4, 5, 6, 7]] > 0)  # the bound is not vacuous


@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
@pytest.mark.parametrize("view", ["csim", "synthesis"])
def test_grouped_conv_firmware_is_cxx11_for_the_hls_tools(tmp_path, view):
    """As tests/csim/test_hls_view.py: the grouped kernel in both views of hls_lib, -std=c++11."""
    import subprocess
    from nn2hls.csim.toolchain import find_compiler
    path, x, _ = _torch_case("dw2d", tmp_path)
    project = nn2hls.compile(path, calibration=x[:200]).write(tmp_path / "prj")
    sources = sorted((project / "firmware").glob("*.cpp"))
    assert sum("nn2hls::conv_window<" in s.read_text() for s in sources) == 3
    prelude = '#include "ap_fixed.h"\n#include "ap_int.h"\n#define __SYNTHESIS__\n' if view == "synthesis" else ""
    unit = project / f"{view}_view.cpp"
    unit.write_text(prelude + "".join(f'#include "firmware/{s.name}"\n' for s in sources))
    run = subprocess.run([*find_compiler(), "-std=c++11", "-fsyntax-only", "-I", VENDOR, unit.name],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
