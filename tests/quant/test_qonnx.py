"""QONNX import: quantizer semantics, the IR built, and exactness of emulator and C-sim.

Independent references: a numpy evaluation of the ONNX graph written in the test module
(`quant_models.numpy_eval`) and, when installed, qonnx's own executor.
"""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import fixed
from nn2hls.ir.execute import execute
from nn2hls.ir.ops import Dense, Quant
from nn2hls.ir.quant import exact_type, fixed_type_for, int_quant, pow2_exponent
from nn2hls.ir.types import FixedType
from nn2hls.passes.pipeline import run_passes

from quant_models import numpy_eval, qonnx_mlp

MODELS = {
    "int8": dict(w_bits=8, a_bits=8, w_scale_exp=6),
    "int4": dict(w_bits=4, a_bits=4, a_exp=2),
    "ternary": dict(w_bits=2, narrow=1, w_scale_exp=2),
    "bipolar": dict(bipolar=True, w_scale_exp=3),
    "per_channel": dict(w_bits=6, per_channel=True),
    "brevitas_domain_floor": dict(domain="onnx.brevitas", rounding="FLOOR"),
    "half_up": dict(rounding="HALF_UP", a_bits=5),
}


def _data(n: int = 3000, features: int = 16, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2.0, size=(n, features))
    # exact ties of the input quantizer (scale 2^-4) and saturating values
    x[:200] = np.round(x[:200] * 32) / 32
    x[200:220] *= 40
    return x


@pytest.mark.parametrize("rounding,vivado", [("ROUND", "AP_RND_CONV"), ("FLOOR", "AP_TRN"),
                                             ("DOWN", "AP_TRN_ZERO"), ("ROUND_TO_ZERO", "AP_TRN_ZERO"),
                                             ("HALF_UP", "AP_RND_INF"), ("HALF_DOWN", "AP_RND_ZERO")])
@pytest.mark.parametrize("signed,narrow", [(True, False), (True, True), (False, False)])
def test_quantizer_equals_cast_on_every_grid_point(rounding, vivado, signed, narrow):
    bits, k = 5, 3
    t = fixed_type_for(k, bits, signed, narrow, rounding)
    assert t.rounding == vivado and t.width == bits and t.frac == k and t.signed == signed
    # every multiple of 2^-(k+2) over twice the range: ties, non-ties and overflow on both sides
    x = np.arange(-2 ** (bits + 3), 2 ** (bits + 3) + 1) / 2.0 ** (k + 2)
    expected = int_quant(x, 2.0 ** -k, 0.0, bits, signed, narrow, rounding)
    got = fixed.to_float(fixed.quantize(x, t), t)
    np.testing.assert_array_equal(got, expected)


def test_quantizer_refusals_and_helpers():
    with pytest.raises(UnsupportedOpError, match="CEIL"):
        fixed_type_for(2, 4, True, False, "CEIL")
    with pytest.raises(UnsupportedOpError, match="unsigned narrow"):
        fixed_type_for(2, 4, False, True, "ROUND")
    assert pow2_exponent(0.125) == 3 and pow2_exponent(4.0) == -2 and pow2_exponent(0.3) is None
    assert exact_type(np.array([0.125, -0.125, 0.0])) == FixedType.fixed(2, -1)
    assert exact_type(np.array([3.0, -4.0])) == FixedType.fixed(3, 3)
    assert exact_type(np.array([1.0, -1.0])) == FixedType.fixed(2, 2)


def test_import_structure_int4():
    g = load_onnx(qonnx_mlp([16, 8, 4], w_bits=4, a_bits=4, a_exp=2))
    quants = [n for n in g.topological() if isinstance(n.op, Quant)]
    assert [q.op.dtype for q in quants] == ["ap_fixed<8,4,AP_RND_CONV,AP_SAT>",
                                           "ap_ufixed<4,2,AP_RND_CONV,AP_SAT>",
                                           "ap_fixed<16,10,AP_RND_CONV,AP_SAT>"]
    dense = [n for n in g.topological() if isinstance(n.op, Dense)]
    assert all(d.annotations.weight_quantizer.scales == (2.0 ** -3,) for d in dense)  # declared by the file
    assert not any(d.annotations.forced_precision for d in dense)  # acted on by exact_weight_types only
    g = run_passes(g, passes=["exact_weight_types"])
    dense = [n for n in g.topological() if isinstance(n.op, Dense)]
    for d in dense:
        w_t = d.annotations.forced_precision["weight"]
        assert w_t.width <= 4 and w_t.frac == 3
        raw = d.weights["kernel"] * 2 ** 3
        assert np.array_equal(raw, np.round(raw)) and np.abs(raw).max() <= 8


@pytest.mark.parametrize("name", sorted(MODELS))
def test_emulator_reproduces_qonnx_definition(name):
    model = qonnx_mlp([16, 24, 16, 5], seed=3, **MODELS[name])
    graph = load_onnx(model)
    x = _data()
    ref = numpy_eval(model, x)
    (floats,) = execute(graph, x)
    np.testing.assert_array_equal(floats, ref)          # float executor == independent numpy
    typed = run_passes(graph, Config(), x[:500])
    result = emulate(typed, x)
    np.testing.assert_array_equal(result.outputs[0], ref)  # bit-exact, not approximately
    assert np.unique(ref).size > 20                     # the outputs are not degenerate


def test_matches_qonnx_executor():
    qonnx = pytest.importorskip("qonnx")  # noqa: F841
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes
    model = qonnx_mlp([16, 24, 5], w_bits=3, a_bits=6, seed=5)
    x = _data(400).astype(np.float32)
    fixed_batch = qonnx_mlp([16, 24, 5], w_bits=3, a_bits=6, seed=5)
    for value in (fixed_batch.graph.input[0], fixed_batch.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_value = 100
    wrapper = ModelWrapper(fixed_batch).transform(InferShapes())
    ours = emulate(run_passes(load_onnx(model), Config(), x), x).outputs[0]
    theirs = np.concatenate([execute_onnx(wrapper, {"x": x[i:i + 100]})[model.graph.output[0].name]
                             for i in range(0, len(x), 100)])
    # qonnx runs in float32: the float32 bias addition may move a value across a rounding tie
    agree = np.mean(np.all(ours == theirs.astype(np.float64), axis=1))
    assert agree >= 0.99, agree


def test_unquantized_output_still_typed():
    model = qonnx_mlp([16, 8, 3], final_quant=False)
    x = _data(500)
    typed = run_passes(load_onnx(model), Config(), x)
    y = emulate(typed, x).outputs[0]
    ref = numpy_eval(model, x)
    assert np.mean(np.argmax(y, 1) == np.argmax(ref, 1)) > 0.99


def _patched(model, node_name, **attrs):
    from onnx import helper
    for node in model.graph.node:
        if node.name == node_name:
            for key, value in attrs.items():
                for a in list(node.attribute):
                    if a.name == key:
                        node.attribute.remove(a)
                node.attribute.append(helper.make_attribute(key, value))
    return model


def _set_init(model, name, value):
    from onnx import numpy_helper
    for i, t in enumerate(model.graph.initializer):
        if t.name == name:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.asarray(value, np.float32), name))
    return model


@pytest.mark.parametrize("edit,message", [
    (lambda m: _set_init(m, "aq0_zeropt", 1.5), r"QONNX Quant node 'aq0': zero point 1\.5 is not an integer"),
    (lambda m: _patched(m, "aq0", rounding_mode="CEIL"), r"QONNX Quant node 'aq0': rounding_mode CEIL"),
    (lambda m: _patched(m, "aq0", narrow=1), r"QONNX Quant node 'aq0': unsigned narrow"),
    (lambda m: _set_init(m, "aq0_scale", [0.5, 0.25]), r"QONNX Quant node 'aq0': per-channel scales"),
])
def test_refusals_name_the_node(edit, message):
    model = edit(qonnx_mlp([16, 8, 3]))
    with pytest.raises(UnsupportedOpError, match=message):
        load_onnx(model)


def test_unknown_qonnx_op_refused():
    from onnx import helper
    model = qonnx_mlp([16, 8, 3])
    model.graph.node[0].op_type = "MultiThreshold"
    with pytest.raises(UnsupportedOpError, match=r"unsupported QONNX op 'qonnx.custom_op.general.MultiThreshold' at node 'xq'"):
        load_onnx(model)
    del helper


def test_forced_weight_type_dropped_when_weights_change():
    """A pass that rescales quantized weights voids the forced type (no silent rounding to it)."""
    from nn2hls.passes.quant_rules import forced_type
    graph = run_passes(load_onnx(qonnx_mlp([16, 8, 3])), passes=["exact_weight_types"])
    dense = next(n for n in graph.nodes.values() if isinstance(n.op, Dense))
    t = dense.annotations.forced_precision["weight"]
    assert forced_type(dense, "weight", dense.weights["kernel"]) == t
    assert forced_type(dense, "weight", dense.weights["kernel"] * 0.3) is None


FLOAT_SCALE_MODELS = {
    "ternary_float_scale": dict(w_bits=2, narrow=1, w_scale_exp=2, float_scale=True),
    "bipolar_float_scale": dict(bipolar=True, float_scale=True),
    "int4_per_channel_float_scale": dict(w_bits=4, per_channel=True, float_scale=True),
}


@pytest.mark.parametrize("name", sorted(FLOAT_SCALE_MODELS))
def test_float_weight_scale_factored_out_exactly(name):
    from nn2hls.ir.ops import ScaleShift
    model = qonnx_mlp([16, 24, 16, 5], seed=4, **FLOAT_SCALE_MODELS[name])
    graph = load_onnx(model)
    x = _data()
    ref = numpy_eval(model, x)
    np.testing.assert_array_equal(execute(graph, x)[0], ref)
    typed = run_passes(graph, Config(), x[:500])
    dense = [n for n in typed.topological() if isinstance(n.op, Dense)]
    scales = [n for n in typed.topological() if isinstance(n.op, ScaleShift)]
    assert len(dense) == len(scales) == 3  # one per-output scale per layer, not folded back
    for d in dense:
        assert np.array_equal(d.weights["kernel"], np.round(d.weights["kernel"]))  # integer weights
    np.testing.assert_array_equal(emulate(typed, x).outputs[0], ref)


@pytest.mark.parametrize("kw", [dict(w_bits=2, narrow=1), dict(bipolar=True),
                                dict(w_bits=2, narrow=1, float_scale=True), dict(bipolar=True, float_scale=True)],
                         ids=["ternary", "bipolar", "ternary_float", "bipolar_float"])
def test_report_has_no_general_multiplies_in_hidden_layers(kw):
    from nn2hls.report import build_report
    model = qonnx_mlp([16, 32, 32, 5], seed=2, **kw)
    typed = run_passes(load_onnx(model), Config(), _data(300))
    rows = {r["name"]: r for r in build_report(typed, Config())["layers"]}
    for name in ("fc0", "fc1", "fc2"):
        assert rows[name]["mult_general"] == 0, rows[name]
        assert rows[name]["multiplies"] > 0
    if kw.get("float_scale"):
        # the scale is applied once per output: 32 + 32 + 5 products in total
        scale_rows = [r for r in rows.values() if r["op"] == "ScaleShift"]
        assert sum(r["mult_general"] for r in scale_rows) == 32 + 32 + 5
        assert all(rows[n]["mult_pm_one"] == rows[n]["multiplies"] for n in ("fc0", "fc1", "fc2"))


@pytest.mark.parametrize("version,kw", [(1, dict()), (1, dict(rounding="ROUND")), (2, dict()),
                                        (2, dict(out_bits=4, rounding="ROUND")), (2, dict(signed=0, out_bits=5)),
                                        (2, dict(narrow=1, out_bits=3, rounding="HALF_UP"))],
                         ids=["v1_floor", "v1_round", "v2_floor", "v2_round_clamps", "v2_unsigned", "v2_narrow"])
def test_trunc_both_versions_exact(version, kw):
    from quant_models import numpy_trunc, qonnx_trunc_model
    model = qonnx_trunc_model(version, **kw)
    graph = load_onnx(model)
    x = _data(3000, features=12)
    ref = numpy_trunc(model, x)
    np.testing.assert_array_equal(execute(graph, x)[0], ref)
    typed = run_passes(graph, Config(), x[:500])
    np.testing.assert_array_equal(emulate(typed, x).outputs[0], ref)
    assert np.unique(ref).size >= 7  # (3-bit narrow: all 7 levels)
    quants = [n for n in typed.topological() if isinstance(n.op, Quant)]
    assert len(quants) == 2 + 1  # input quantizer, round to the input grid, truncation
