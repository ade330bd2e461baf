"""Bipolar (sign) quantizers after a scale/shift chain: exact thresholds, and an input that never flips.

References: Brevitas' own outputs and BipolarQuant activations on the committed TFC-style fixture
(tests/fixtures/make_bipolar_fixtures.py: x * 2 - 1, binary weights and activations, BatchNorm whose
zero crossings lie on reachable accumulator values, inputs at and around the input threshold 0.5),
qonnx's executor, values written down by hand, and the C simulation against the emulator.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.csim import build
from nn2hls.emulate import emulate
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import ops
from nn2hls.ir.types import FixedType
from nn2hls.passes.pipeline import run_passes
from nn2hls.ir.annotations import NodeAnnotations, QuantAffine
from nn2hls.passes.quant_rules import threshold_input_type
from nn2hls.passes.quant_thresholds import Level, sign_constants

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bipolar"
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
SIGN = Level({"bipolar": True})


def _data():
    d = np.load(FIXTURE / "tfc1.npz")
    return d["x"].astype(np.float64), d


def _typed(calibrate: bool):
    x, _ = _data()
    return run_passes(load_onnx(str(FIXTURE / "tfc1.onnx")), Config(), x if calibrate else None), x


def _sign_casts(typed) -> list[str]:
    """The +-1 Quant nodes of the bipolar activations, in network order."""
    return [n.name for n in typed.topological() if isinstance(n.op, ops.Quant)
            and typed.nodes[n.inputs[0]].annotations.bipolar_sign]


@pytest.mark.parametrize("calibrate", [True, False], ids=["calibrated", "default_input"])
def test_every_bipolar_activation_equals_brevitas(calibrate):
    typed, x = _typed(calibrate)
    _, ref = _data()
    assert len(_sign_casts(typed)) == 3
    assert _flips(typed, x, ref) == [0, 0, 0]
    np.testing.assert_array_equal(emulate(typed, x).outputs[0], ref["y"].astype(np.float64))


def test_fixture_sits_on_the_thresholds():
    """The inputs hit 0.5 exactly and within 2^-20 of it, and the BatchNorm zero crossings lie next to
    reachable accumulators on both sides (the head's x * K' + B' is 0 or -1 there)."""
    typed, x = _typed(True)
    assert np.sum(x == 0.5) > 100 and np.sum((x != 0.5) & (np.abs(x - 0.5) <= 2.0 ** -20)) > 100
    r = emulate(typed, x, return_all=True)
    heads = [typed.nodes[typed.nodes[c].inputs[0]].inputs[0] for c in _sign_casts(typed)]
    assert all(typed.nodes[h].annotations.quant_affine is not None for h in heads)
    for h in heads:
        raw, t = r.raw[h]
        value = raw * 2.0 ** -t.frac
        assert np.sum(value == 0) > 100 and np.sum(value == -2.0 ** -typed.nodes[
            typed.nodes[h].inputs[0]].precision["result"].frac) > 100


def _flips(typed, x, ref) -> list[int]:
    r = emulate(typed, x, return_all=True)
    return [int(np.sum(r.raw[c][0].reshape(len(x), -1) != ref[f"act{i}"])) for i, c in enumerate(_sign_casts(typed))]


def test_without_exact_thresholds_signs_flip():
    """The same fixture with fold_into_quantizer disabled (BatchNorm rounded to 16-bit constants, the
    default AP_RND input): signs flip in every layer, so the zero-flip test above can fail."""
    x, ref = _data()
    typed = run_passes(load_onnx(str(FIXTURE / "tfc1.onnx")), Config(passes_disable=["fold_into_quantizer"]), x)
    assert all(f > 0 for f in _flips(typed, x, ref))


def test_input_rounds_toward_minus_infinity_on_the_threshold_grid():
    typed, _ = _typed(False)
    t = typed.input.precision["result"]
    assert (t.rounding, t.frac >= 1) == ("AP_TRN", True)


def test_constants_are_the_zero_crossings():
    typed, _ = _typed(True)
    head = typed.nodes[typed.nodes[_sign_casts(typed)[0]].inputs[0]].inputs[0]
    node = typed.nodes[head]
    # x * 2 - 1 >= 0  <=>  x - 1/2 >= 0
    assert set(node.weights["scale"].reshape(-1).tolist()) == {1.0}
    assert set(node.weights["shift"].reshape(-1).tolist()) == {-0.5}


def test_emulator_matches_qonnx_execution():
    pytest.importorskip("qonnx")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes
    model = ModelWrapper(str(FIXTURE / "tfc1.onnx")).transform(InferShapes())
    x, _ = _data()
    x = np.concatenate([x[:60], x[-140:]])
    signs = [n.output[0] for n in model.graph.node if n.op_type == "BipolarQuant" and n.input[0] in
             {m.output[0] for m in model.graph.node if m.op_type in ("Sub", "BatchNormalization")}]
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    runs = [execute_onnx(model, {iname: x[i:i + 1].astype(np.float32)}, return_full_exec_context=True)
            for i in range(len(x))]
    typed, _ = _typed(True)
    r = emulate(typed, x, return_all=True)
    for sign, cast in zip(signs, _sign_casts(typed)):
        ref = np.concatenate([run[sign] for run in runs]).reshape(len(x), -1)
        np.testing.assert_array_equal(r.raw[cast][0].reshape(len(x), -1), ref)
    np.testing.assert_array_equal(r.outputs[0], np.concatenate([run[oname] for run in runs]))


@pytest.mark.csim
@pytest.mark.parametrize("vendor", [False, True], ids=["own_headers", "vendor_headers"])
def test_csim_bit_exact(vendor, tmp_path):
    if vendor and not VENDOR:
        pytest.skip("NN2HLS_AP_TYPES not set")
    typed, x = _typed(False)
    sim = build(write_project(typed, Config(), tmp_path / "p"), ap_types=VENDOR if vendor else None)
    got = sim.predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])


def test_sign_constants_by_hand():
    x_t = FixedType.fixed(8, 2, True)  # frac 6, raw -128..127
    # 2x - 1 >= 0 <=> x >= 1/2 = 32/64; -3x + 1 >= 0 <=> x <= 1/3 <=> raw <= 21; 0x - 1: always -1;
    # x + 5 >= 0: always +1 in [-2, 2)
    k2, b2, w_t, b_t = sign_constants([Fraction(2), Fraction(-3), Fraction(0), Fraction(1)],
                                      [Fraction(-1), Fraction(1), Fraction(-1), Fraction(5)], SIGN, x_t)
    assert k2 == [1, -1, 0, 0]
    assert b2 == [Fraction(-1, 2), Fraction(21, 64), -1, 0]
    assert w_t.frac <= 0 and b_t.frac == 6


def test_threshold_input_type_by_hand():
    class _G:  # the graph pieces threshold_input_type reads
        def __init__(self, k, b):
            self.input = type("I", (), {"name": "in"})()
            affine = QuantAffine((str(k),), (str(b),), {"bipolar": True}, reads_input=True)
            self.nodes = {"h": type("N", (), {"annotations": NodeAnnotations(quant_affine=affine)})()}

        def consumers(self, name):
            return ["h"]

    base = FixedType.fixed(16, 6, True, "AP_RND", "AP_SAT")
    assert threshold_input_type(_G(2, -1), base) == (FixedType.fixed(16, 6, True, "AP_TRN", "AP_SAT"), None)
    assert threshold_input_type(_G(1, Fraction(-1, 4096)), base)[0] == FixedType.fixed(18, 6, True, "AP_TRN",
                                                                                         "AP_SAT")
    assert threshold_input_type(_G(3, -1), base)[0] is None  # 1/3: no binary grid holds it
    assert "negative scale" in threshold_input_type(_G(-2, 1), base)[1]
