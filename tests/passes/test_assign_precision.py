"""assign_precision and quantize_weights: derived types against hand computations."""
import itertools

import numpy as np
import pytest

from nn2hls.config import Config, PrecisionSpec
from nn2hls.errors import ConfigError
from nn2hls.ir import fixed, ops
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType
from nn2hls.passes.pipeline import run_passes
from nn2hls.passes.precision_rules import integer_bits

KERNEL = [[0.5, -1.25], [0.75, 0.25], [-2.0, 1.0]]
BIAS = [0.5, -0.125]
T = FixedType.parse


def _dense_graph():
    g = Graph("p")
    x = g.add(ops.Input(shape=(3,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": KERNEL, "bias": BIAS})
    g.outputs = [d.name]
    return g


def _config(**layers):
    return Config(precision_input="ap_fixed<8,3>", precision=PrecisionSpec(weight_width=8),
                  precision_layers=layers)


def test_dense_types_by_hand():
    out = run_passes(_dense_graph(), _config())
    p = out["d"].precision
    # max|w| = 2 -> signed needs 3 integer bits; F(w) = 5
    assert p["weight"] == T("ap_fixed<8,3,AP_RND,AP_SAT>")
    # bias at the accumulator LSB: F = 5 + 5 = 10; max raw 0.5 * 2^10 = 512 -> 10 bits + sign
    assert p["bias"] == T("ap_fixed<11,1,AP_RND,AP_SAT>")
    # raw bound at F=10: max(|w| col sums 104, 80 (raw, F=5) * 128 (max|x| raw) + |b| raw 512, 128)
    # = 13824 -> bit_length 14, +1 sign -> W = 15, I = 5 (value bound 13.5)
    assert p["accum"] == T("ap_fixed<15,5>")
    assert str(out).splitlines()[2].split("  [")[0].endswith(
        "<accum=ap_fixed<15,5>, bias=ap_fixed<11,1,AP_RND,AP_SAT>, "
        "result=ap_fixed<16,5,AP_RND,AP_SAT>, weight=ap_fixed<8,3,AP_RND,AP_SAT>>")


def test_exact_accum_never_overflows_on_extreme_inputs():
    """Every corner of the input box (min_raw / max_raw per input): the exact sum fits the accum."""
    rng = np.random.default_rng(5)
    g = Graph("e")
    x = g.add(ops.Input(shape=(4,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": rng.normal(size=(4, 6)) * 3,
                                                         "bias": rng.normal(size=6) * 10})
    g.outputs = [d.name]
    out = run_passes(g, Config(precision_input="ap_fixed<10,4>", precision=PrecisionSpec(weight_width=7)))
    p = out["d"].precision
    x_t, w_t, b_t, acc = out["x"].precision["result"], p["weight"], p["bias"], p["accum"]
    w_raw = fixed.quantize(out["d"].weights["kernel"], w_t)
    b_raw = fixed.quantize(out["d"].weights["bias"], b_t)
    assert acc.frac == x_t.frac + w_t.frac >= b_t.frac and acc.overflow == "AP_WRAP"
    worst = 0
    for corner in itertools.product((x_t.min_raw, x_t.max_raw), repeat=4):
        for j in range(6):
            s = (int(b_raw[j]) << (acc.frac - b_t.frac)) + sum(int(w_raw[i, j]) * corner[i] for i in range(4))
            assert acc.min_raw <= s <= acc.max_raw
            worst = max(worst, abs(s))
    # and it is tight: one bit fewer would not hold the worst corner
    assert worst > (acc.max_raw >> 1)


def test_accum_no_overflow_in_emulator():
    emulate_mod = pytest.importorskip("nn2hls.emulate")
    if not hasattr(emulate_mod, "emulate"):
        pytest.skip("emulator not available yet")
    out = run_passes(_dense_graph(), _config())
    x_t = out["x"].precision["result"]
    corners = np.array(list(itertools.product((x_t.min_value, x_t.max_value), repeat=3)))
    res = emulate_mod.emulate(out, corners)
    assert not any(res.overflows.values()) or all(v == 0 for v in res.overflows.values())
    expected = corners @ np.array(KERNEL) + BIAS
    # result type ap_fixed<16,5>: the exact sums (|y| <= 13.5) round to 11 fractional bits
    np.testing.assert_allclose(res.outputs[0], expected, atol=2 ** -11)


def test_explicit_accum_rules():
    with pytest.raises(ConfigError, match=r"layer 'd': accum type ap_fixed<20,12> has 8 fractional bits, "
                                          r"fewer than frac\(input\) \+ frac\(weight\) = 10"):
        run_passes(_dense_graph(), _config(d={"accum": "ap_fixed<20,12>"}))
    with pytest.raises(ConfigError, match="layer 'd': accum type ap_fixed<24,8,AP_TRN,AP_SAT> must use "
                                          "overflow mode AP_WRAP"):
        run_passes(_dense_graph(), _config(d={"accum": "ap_fixed<24,8,TRN,SAT>"}))
    out = run_passes(_dense_graph(), _config(d={"accum": "ap_fixed<24,8>", "weight": "ap_fixed<6,3>",
                                                "result": "ap_fixed<12,6>"}))
    p = out["d"].precision
    assert (p["accum"], p["weight"], p["result"]) == (T("ap_fixed<24,8>"), T("ap_fixed<6,3>"), T("ap_fixed<12,6>"))
    assert p["bias"].frac == 5 + 3


def test_result_types_from_data_and_intervals():
    rng = np.random.default_rng(0)
    g = Graph("r")
    x = g.add(ops.Input(shape=(2,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": [[1.0, -1.0], [0.5, 0.5]], "bias": [0.0, 0.0]})
    r = g.add(ops.Activation(function="relu"), [d.name], name="r")
    s = g.add(ops.Activation(function="sigmoid"), [r.name], name="s")
    t = g.add(ops.Reshape(shape=(2, 1)), [s.name], name="t")
    g.outputs = [t.name]
    calib = np.array([[3.0, 0.0], [-1.0, 2.0], [0.5, 0.5]])
    out = run_passes(g, Config(), calib)
    p = {n.name: n.precision["result"] for n in out.topological()}
    assert p["x"] == T("ap_fixed<16,4,AP_RND,AP_SAT>")     # max|x| 3 -> 3 bits, + 1 headroom
    assert p["d"] == T("ap_fixed<16,4,AP_RND,AP_SAT>")     # max |y| 3 (y = (3, 3) for the first row)
    assert p["r"] == T("ap_ufixed<16,3,AP_RND,AP_SAT>")    # >= 0 provably: unsigned, 2 bits + 1
    assert p["s"] == T("ap_ufixed<16,1,AP_RND,AP_SAT>")    # interval [0, 1] beats the data
    assert p["t"] == p["s"]                                # wiring keeps the type
    assert out["s"].tables["table"].function == "sigmoid"
    assert out["s"].precision["table"] == T("ap_ufixed<18,0,AP_RND,AP_SAT>")
    # without data: interval arithmetic from the assumed input type ap_fixed<16,6> (|x| <= 32)
    out2 = run_passes(g, Config())
    p2 = {n.name: n.precision["result"] for n in out2.topological()}
    assert p2["x"] == T("ap_fixed<16,6,AP_RND,AP_SAT>")
    assert p2["d"] == T("ap_fixed<16,7,AP_RND,AP_SAT>")    # |y| <= 1.5 * 32 = 48 -> 7 bits signed
    assert p2["r"] == T("ap_ufixed<16,6,AP_RND,AP_SAT>")   # [0, 48) -> 6 bits unsigned
    assert any("calibration data gives tighter types" in w for w in out2.meta["pass_warnings"])


def test_avg_pool_softmax_and_params():
    g = Graph("a")
    x = g.add(ops.Input(shape=(4, 4, 1)), name="x")
    p = g.add(ops.Pool(mode="avg", pool_size=(2, 2), strides=(2, 2)), [x.name], name="pool")
    c = g.add(ops.Activation(function="clip", low=0.0, high=6.0), [p.name], name="clip")
    f = g.add(ops.Reshape(shape=(4,)), [c.name], name="f")
    sm = g.add(ops.Softmax(), [f.name], name="sm")
    g.outputs = [sm.name]
    out = run_passes(g, Config(precision_input="ap_fixed<8,4>"))
    pp = out["pool"].precision
    # window sum of 4 values of ap_fixed<8,4>: raw bound 4 * 128 = 512 -> 10 bits + sign, F = 4
    assert pp["accum"] == T("ap_fixed<11,7>")
    assert pp["recip"] == T("ap_ufixed<16,-1,AP_RND>")     # 1/4 needs -1 integer bits unsigned
    assert out["clip"].precision["param"] == T("ap_fixed<16,4,AP_RND,AP_SAT>")
    assert out["clip"].precision["result"] == T("ap_ufixed<16,3,AP_RND,AP_SAT>")  # [0, 6]
    sp = out["sm"].precision
    assert sp["sum"].frac >= sp["exp"].frac and sp["sum"].max_value >= 4
    assert set(out["sm"].tables) == {"exp", "inv"}


def test_integer_bits_accounts_for_rounding():
    assert integer_bits(0.999, 8, True, "AP_RND") == 2     # 0.999 rounds to 1.0 at 7 fractional bits
    assert integer_bits(0.99, 8, True, "AP_RND") == 1
    assert integer_bits(0.999, 8, True, "AP_TRN") == 1
    assert integer_bits(4.0, 16, False) == 3 and integer_bits(4.0, 16, True) == 4
    assert integer_bits(0.1, 16, True) == -2


def test_quantize_weights_exact_and_counts_zeros():
    g = Graph("q")
    x = g.add(ops.Input(shape=(2,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": [[1.0, 0.001], [-0.3, 0.0]], "bias": [0.1, 0.2]})
    g.outputs = [d.name]
    cfg = Config(precision_input="ap_fixed<8,2>", precision=PrecisionSpec(weight_width=6))
    out = run_passes(g, cfg)
    w_t = out["d"].precision["weight"]
    assert w_t == T("ap_fixed<6,2,AP_RND,AP_SAT>")         # 1.0 needs 2 integer bits, lsb 1/16
    k = out["d"].weights["kernel"]
    assert k.tolist() == [[1.0, 0.0], [-0.3125, 0.0]]      # 0.001 < lsb/2 -> a pruned weight
    assert out["d"].annotations.pruning.as_dict() == {"weights": 4, "zeros": 2, "pruned": 0, "quantized_zero": 1}
    np.testing.assert_array_equal(fixed.to_float(fixed.quantize(k, w_t), w_t), k)
    b_t = out["d"].precision["bias"]
    np.testing.assert_array_equal(fixed.to_float(fixed.quantize(out["d"].weights["bias"], b_t), b_t),
                                  out["d"].weights["bias"])
    assert "kernel: 2x2 nnz=2" in str(out)


def test_scale_shift_types_by_hand_and_override_by_source_name():
    g = Graph("s")
    x = g.add(ops.Input(shape=(2,)), name="x")
    s = g.add(ops.ScaleShift(), [x.name], name="bn/1", weights={"scale": [2.0, -0.5], "shift": [1.0, 0.25]})
    r = g.add(ops.Activation(function="relu"), [s.name], name="r")
    g.outputs = [r.name]
    assert s.name == "bn_1" and s.source_name == "bn/1"
    out = run_passes(g, _config())
    p = out["bn_1"].precision
    assert p["weight"] == T("ap_fixed<8,3,AP_RND,AP_SAT>")     # max|scale| 2
    assert p["bias"] == T("ap_fixed<12,2,AP_RND,AP_SAT>")      # F = 10; raw 1.0 -> 1024: 11 bits + sign
    # max(64 * 128 + 1024, 16 * 128 + 256) = 9216 -> 14 bits + sign, F = 10
    assert p["accum"] == T("ap_fixed<15,5>")
    out2 = run_passes(g, _config(**{"bn/1": {"result": "ap_fixed<10,4>"}}))
    assert out2["bn_1"].precision["result"] == T("ap_fixed<10,4>")
    with pytest.raises(ConfigError, match=r"layer 'bn/1' \(bn_1\): bad weight precision 'ap_fixed<x>'"):
        run_passes(g, _config(bn_1={"weight": "ap_fixed<x>"}))
