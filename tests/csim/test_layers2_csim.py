"""Second-round layers (issue 15) in C simulation: pooling with ceil_mode (both count_include_pad
settings, a partial max window) and W @ x with pruned weights, one model; an Embedding (torch) read at
valid and out-of-range indices, a second model; Keras nested models + TimeDistributed(Dense) +
EinsumDense, and TimeDistributed(Conv2D/pooling/Flatten/Dense). C-sim == emulator bit for bit with
nn2hls's ap types and the vendor headers (one build each per model); zero weights of W and of a nested
model's Dense cost no product (report and generated constant arrays) and the Embedding computes no
product at all."""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import onnx  # noqa: E402

import nn2hls  # noqa: E402
from nn2hls.frontends.torch import export_onnx_bytes  # noqa: E402
from nn2hls.testing import first_mismatch  # noqa: E402

_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "make_layers2_fixtures.py"
_spec = importlib.util.spec_from_file_location("make_layers2_fixtures", _SCRIPT)
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

pytestmark = [pytest.mark.csim, pytest.mark.filterwarnings("ignore")]
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")


@pytest.fixture(scope="module")
def ceil_pools():
    module, _, _ = fixtures.torch_model("ceil_pools")
    x = fixtures.torch_input("ceil_pools", 300)
    model = onnx.load_from_string(export_onnx_bytes(module, torch.from_numpy(x[:1])))
    return nn2hls.compile(model, calibration=x[:200]), x


def test_ceil_pools_bit_exact(ceil_pools):
    compiled, x = ceil_pools
    kinds = [n.op.kind for n in compiled.graph.topological()]
    assert kinds.count("Pool") == 3 and "Pad" in kinds
    assert first_mismatch(compiled.emulate(x), compiled.build().predict(x)) is None


@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
def test_ceil_pools_bit_exact_vendor_headers(ceil_pools):
    compiled, x = ceil_pools
    assert first_mismatch(compiled.emulate(x), compiled.build(ap_types=VENDOR).predict(x)) is None


def test_left_matmul_zero_weights_cost_nothing(ceil_pools, tmp_path):
    """W (5, 2) @ x (2, 4): 10 weights, 2 zero; each weight is used once per column of x (4 columns)."""
    compiled, _ = ceil_pools
    (row,) = [r for r in compiled.report()["layers"] if r["op"] == "Dense"]
    assert row["weights"] == 10 and row["nonzero_weights"] == 8
    assert row["multiplies"] == 8 * 4 and row["pruned_multiplies"] == 2 * 4
    project = compiled.write(tmp_path / "prj")
    (text,) = [t for t in (p.read_text() for p in (project / "firmware").glob("layer_*.cpp")) if "mul_w" in t]
    assert dict(re.findall(r"// (\w+): (\d+) entries", text))["mul_w"] == "8"


# ---- Embedding -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedding():
    module, _, _ = fixtures.torch_model("embedding")
    x = fixtures.torch_input("embedding", 300)
    model = onnx.load_from_string(export_onnx_bytes(module, torch.from_numpy(x[:1])))
    compiled = nn2hls.compile(model, calibration=x[:200])
    wild = x.copy()
    wild[::7, 2] = -5
    wild[1::7, 4] = 12
    wild[2::7, 0] = 100000  # beyond the index type: saturates, stays out of range
    return compiled, np.concatenate([x, wild])


def test_embedding_bit_exact(embedding):
    compiled, x = embedding
    assert any(n.op.kind == "Embedding" for n in compiled.graph.nodes.values())
    assert first_mismatch(compiled.emulate(x), compiled.build().predict(x)) is None


@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
def test_embedding_bit_exact_vendor_headers(embedding):
    compiled, x = embedding
    assert first_mismatch(compiled.emulate(x), compiled.build(ap_types=VENDOR).predict(x)) is None


def test_embedding_costs_no_product(embedding):
    """48 table entries, of which row 0 (padding_idx) and three more are zero; no multiplier."""
    compiled, _ = embedding
    (row,) = [r for r in compiled.report()["layers"] if r["op"] == "Embedding"]
    assert row["weights"] == 48 and row["nonzero_weights"] == 48 - 4 - 3
    assert row["multiplies"] == row["dsp"] == row["pruned_multiplies"] == 0


# ---- Keras nested models and TimeDistributed ---------------------------------------------------------
def _keras(name, tmp_path_factory):
    model = fixtures.keras_model(name)
    path = tmp_path_factory.mktemp(name) / f"{name}.keras"
    model.save(path)
    x = fixtures.keras_input(name, 300)
    return nn2hls.compile(path, calibration=x[:200]), x


@pytest.fixture(scope="module")
def keras_nested(tmp_path_factory):
    return _keras("nested", tmp_path_factory)


@pytest.fixture(scope="module")
def keras_td_conv(tmp_path_factory):
    return _keras("td_conv", tmp_path_factory)


@pytest.mark.parametrize("which", ["keras_nested", "keras_td_conv"])
def test_keras_flattened_bit_exact(which, request):
    compiled, x = request.getfixturevalue(which)
    assert first_mismatch(compiled.emulate(x), compiled.build().predict(x)) is None


@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
@pytest.mark.parametrize("which", ["keras_nested", "keras_td_conv"])
def test_keras_flattened_bit_exact_vendor_headers(which, request):
    compiled, x = request.getfixturevalue(which)
    assert first_mismatch(compiled.emulate(x), compiled.build(ap_types=VENDOR).predict(x)) is None


def test_nested_model_zero_weights_cost_nothing(keras_nested, tmp_path):
    """in_d1 (inside the nested Sequential): kernel 5 x 6 with 5 zeros: 25 products, 25 weights emitted."""
    compiled, _ = keras_nested
    (row,) = [r for r in compiled.report()["layers"] if r["source_name"] == "in_d1" and r["op"] == "Dense"]
    assert row["weights"] == 30 and row["nonzero_weights"] == 25
    assert row["multiplies"] == 25 and row["pruned_multiplies"] == 5
    project = compiled.write(tmp_path / "prj")
    text = next(p.read_text() for p in (project / "firmware").glob("layer_in_d1.cpp"))
    assert dict(re.findall(r"// (\w+): (\d+) entries", text))["mul_w"] == "25"
