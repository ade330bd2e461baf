"""Widths of quantized models (issue 13): scale/shifts folded into quantizer thresholds, explicit
accumulators, constants wider than a double, products the C simulation cannot form.

References: Brevitas' own outputs and qonnx's executor on the committed fixtures
(tests/fixtures/make_quantw_fixtures.py), values written down by hand, and the C simulation (own and
vendor headers) against the emulator.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.config_file import config_from_dict
from nn2hls.csim import build
from nn2hls.emulate import emulate
from nn2hls.errors import ConfigError
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import fixed
from nn2hls.ir.types import FixedType
from nn2hls.passes.pipeline import run_passes

from quant_models import QDOMAIN, _quant_node

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
NAMES = ("kws3", "ternary_bn", "tfc2")


def _digits() -> np.ndarray:
    return np.load(FIXTURES / "brevitas" / "digits.npz")["x"].astype(np.float64)


def _typed(name: str, config: Config | None = None):
    x = _digits()
    return run_passes(load_onnx(str(FIXTURES / "quantw" / f"{name}.onnx")), config or Config(), x), x


def _predict(sim, x):
    got = sim.predict(x)
    return got[0] if isinstance(got, list) else got


def _within_one_float32_ulp(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    return np.all(np.abs(got - ref) <= ulp, axis=1)


@pytest.mark.parametrize("name", NAMES)
def test_emulator_matches_brevitas(name):
    typed, x = _typed(name)
    got = emulate(typed, x).outputs[0]
    ref = np.load(FIXTURES / "quantw" / f"{name}.npz")["y"].astype(np.float64)
    if name == "kws3":  # float scales: Brevitas computes in float32
        assert _within_one_float32_ulp(got, ref).all()
    else:  # power-of-two scales, scale-1 ternary activations: exact
        np.testing.assert_array_equal(got, ref)
    assert np.unique(got).size > 30


@pytest.mark.parametrize("name", NAMES)
def test_emulator_matches_qonnx_execution(name):
    pytest.importorskip("qonnx")
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes
    model = ModelWrapper(str(FIXTURES / "quantw" / f"{name}.onnx")).transform(InferShapes())
    x = _digits()[:150]
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    ref = np.concatenate([execute_onnx(model, {iname: x[i:i + 1].astype(np.float32)})[oname]
                          for i in range(len(x))]).astype(np.float64)
    typed, _ = _typed(name)
    assert _within_one_float32_ulp(emulate(typed, x).outputs[0], ref).all()


def test_batchnorm_chain_is_one_narrow_scale_shift():
    """kws3: factored weight scale, BatchNorm and requantization became one ScaleShift per layer whose
    constants are far narrower than the 53-bit ones (and 100+-bit accumulators) of the chain."""
    typed, _ = _typed("kws3")
    folded = [n for n in typed.nodes.values() if n.annotations.quant_affine is not None]
    assert len(folded) == 3  # two hidden layers and the output requantizer
    assert not any("batch_norm" in n.name for n in typed.nodes.values())
    for node in folded:
        assert node.precision["weight"].width <= 32 and node.precision["accum"].width <= 64
    assert not [w for w in typed.meta["pass_warnings"] if "could not be proved" in w]


@pytest.mark.parametrize("name", NAMES)
def test_csim_bit_exact(name, tmp_path):
    typed, x = _typed(name)
    got = _predict(build(write_project(typed, Config(), tmp_path / name)), x)
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])


@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
@pytest.mark.parametrize("name", ["kws3", "ternary_bn"])
def test_csim_bit_exact_vendor_headers(name, tmp_path):
    typed, x = _typed(name)
    got = _predict(build(write_project(typed, Config(), tmp_path / name), ap_types=VENDOR), x)
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])


def _requant_model(scale: float) -> onnx.ModelProto:
    """x -> Quant(scale 1, 8 bits: integers) -> Quant(scale `scale`, 4 bits signed, ROUND) -> y."""
    n1, i1 = _quant_node("xi", "x", 1.0, 0.0, 8)
    n2, i2 = _quant_node("y", "xi", scale, 0.0, 4)
    graph = helper.make_graph([n1, n2], "requant", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])], i1 + i2)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)])


def test_requantization_is_exact_on_every_integer_input(tmp_path):
    """q = clamp(round(x / 3), -8, 7) for every 8-bit integer x (x / 3 is never a tie): exact, with
    constants proved by the thresholds, where a 52-bit approximation of 1/3 had only an error bound."""
    x = np.arange(-128, 128, dtype=np.float64).reshape(-1, 4)
    typed = run_passes(load_onnx(_requant_model(3.0)), Config(), x)
    assert not [w for w in typed.meta["pass_warnings"] if "could not be proved" in w]
    got = emulate(typed, x).outputs[0]
    assert got[2].tolist() == [-3 * 8, -3 * 8, -3 * 8, -3 * 8]  # x = -120..-117: clamped to -8
    assert got[31].tolist() == [-3, -3, -3, 0]  # x = -4..-1
    assert got[32].tolist() == [0, 0, 3, 3] and got[33].tolist() == [3, 6, 6, 6]  # x = 0..3, 4..7
    assert got[63].tolist() == [21, 21, 21, 21]  # x = 124..127: clamped to 7
    np.testing.assert_array_equal(got, 3.0 * np.clip(np.round(x / 3.0), -8, 7))
    np.testing.assert_array_equal(_predict(build(write_project(typed, Config(), tmp_path / "p")), x), got)


def test_requantization_ties_are_reported(tmp_path):
    """round_half_even(x / 6) at the ties x = 6k + 3 cannot come from one multiply by a binary constant
    (x = 3 must round down, x = 9 up: the slope would have to be exactly 1/6). The layer is named in a
    warning; every input away from a tie is still exact. Written down by hand."""
    x = np.array([[1, 2, 4, 5], [7, 8, 10, 11], [-1, -2, -4, -5], [-127, 127, 40, -40]], np.float64)
    expected = 6.0 * np.array([[0, 0, 1, 1], [1, 1, 2, 2], [0, 0, -1, -1], [-8, 7, 7, -7]], np.float64)
    typed = run_passes(load_onnx(_requant_model(6.0)), Config(), x)
    assert [w for w in typed.meta["pass_warnings"] if "'y'" in w and "could not be proved" in w]
    np.testing.assert_array_equal(emulate(typed, x).outputs[0], expected)


def _dense_model(n_in: int, n_out: int, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    w = onnx.numpy_helper.from_array(rng.normal(0, 1, (n_in, n_out)).astype(np.float32), "w")
    b = onnx.numpy_helper.from_array(rng.normal(0, 1, (n_out,)).astype(np.float32), "b")
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc")
    graph = helper.make_graph([node], "dense", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_in])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, n_out])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _wide_config(input_type: str = "ap_fixed<64,8>", **layer) -> Config:
    return config_from_dict({"precision": {"input": input_type, "layers": {"fc": layer}}})


def test_explicit_accumulator_is_honoured(tmp_path):
    """64-bit inputs (|x| < 2^7) times 58-bit weights (|w| <= 2) over 512 terms: the exact sum needs
    112 fractional + 7 + 9 integer bits + sign > 128. auto refuses with the width; an explicit 128-bit
    accumulator (frac 112 = 56 + 56) is used as given."""
    model = _dense_model(512, 3)
    x = np.random.default_rng(1).normal(0, 1, (50, 512))
    with pytest.raises(ConfigError, match=r"layer 'fc'.*exact accumulator needs 129 bits .*explicit accum"):
        run_passes(load_onnx(model), _wide_config(weight="ap_fixed<58,2>"), x)
    acc = "ap_fixed<128,16>"
    config = _wide_config(weight="ap_fixed<58,2>", bias="ap_fixed<40,4>", accum=acc)
    typed = run_passes(load_onnx(model), config, x)
    assert str(typed.nodes["fc"].precision["accum"]) == acc
    got = _predict(build(write_project(typed, config, tmp_path / "p")), x)
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])


def test_product_wider_than_the_csim_is_refused():
    model = _dense_model(4, 2)
    with pytest.raises(ConfigError, match=r"layer 'fc': input ap_fixed<64,8> times weight ap_fixed<64,2> "
                                          r"needs 134 bits in the C simulation"):
        run_passes(load_onnx(model), _wide_config(weight="ap_fixed<64,2>", accum="ap_fixed<128,16>"),
                   np.zeros((1, 4)))


@pytest.mark.parametrize("ap_types", ["own", "vendor"])
def test_constants_wider_than_a_double_are_exact(ap_types, tmp_path):
    """60-bit weights and a 100-bit bias type (raw bits beyond 53): C-sim == emulator, and the bias
    constant in the C++ is its raw bits."""
    if ap_types == "vendor" and not VENDOR:
        pytest.skip("NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
    model = _dense_model(6, 3, seed=3)
    config = _wide_config("ap_fixed<40,8>", weight="ap_fixed<60,3>", bias="ap_fixed<100,4>",
                          result="ap_fixed<120,12>")
    x = np.random.default_rng(2).normal(0, 1, (200, 6))
    typed = run_passes(load_onnx(model), config, x)
    project = write_project(typed, config, tmp_path / "p")
    text = "".join(p.read_text() for p in Path(project).rglob("layer_fc*.cpp"))
    bias_t = FixedType.parse("ap_fixed<100,4>")
    raw0 = int(fixed.quantize(typed.nodes["fc"].weights["bias"][:1], bias_t)[0]) % (1 << 100)
    assert f"0x{raw0 >> 64:x}ULL, 0x{raw0 & ((1 << 64) - 1):x}ULL" in text
    got = _predict(build(project, ap_types=VENDOR if ap_types == "vendor" else None), x)
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])
