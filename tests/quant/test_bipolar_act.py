"""QONNX BipolarQuant on activations: y = s * (x >= 0 ? +1 : -1), exact (sign of the exact value, 0 -> +1).

Independent oracle: quant_models.numpy_eval (float64, straight from the protobuf). Inputs are chosen so
that many pre-activations are exactly 0 and many are one LSB below 0, the two cases a sign gets wrong.
"""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.passes.pipeline import run_passes

from quant_models import QDOMAIN, _quant_node, numpy_eval


def _model(bipolar_scale, *, seed=0, n_in=8, hidden=6):
    """x -> Quant(2^-3, 8 bit) -> Gemm(W integer-valued / 2, bias multiple of 1/16) -> BipolarQuant(s)
    -> Gemm(float W, 4-bit pow2 Quant) -> Quant(2^-6, 16 bit)."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    q, qi = _quant_node("xq", "x", 2.0 ** -3, 0.0, 8)
    nodes.append(q)
    inits += qi
    w0 = (rng.integers(-2, 3, size=(hidden, n_in)) / 2.0).astype(np.float32)
    inits += [numpy_helper.from_array(w0, "w0"),
              numpy_helper.from_array((rng.integers(-8, 9, size=hidden) / 16).astype(np.float32), "b0")]
    q, qi = _quant_node("wq0", "w0", 2.0 ** -1, 0.0, 4)
    nodes += [q, helper.make_node("Gemm", ["xq", "wq0", "b0"], ["g0"], name="fc0", transB=1)]
    inits += qi
    inits.append(numpy_helper.from_array(np.asarray(bipolar_scale, np.float32), "bscale"))
    nodes.append(helper.make_node("BipolarQuant", ["g0", "bscale"], ["h"], name="sign", domain=QDOMAIN))
    inits.append(numpy_helper.from_array(rng.normal(0, 0.5, size=(3, hidden)).astype(np.float32), "w1"))
    q, qi = _quant_node("wq1", "w1", 2.0 ** -3, 0.0, 4)
    nodes += [q, helper.make_node("Gemm", ["h", "wq1"], ["g1"], name="fc1", transB=1)]
    inits += qi
    q, qi = _quant_node("yq", "g1", 2.0 ** -6, 0.0, 16)
    nodes.append(q)
    inits += qi
    graph = helper.make_graph(nodes, "bip", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_in])],
                              [helper.make_tensor_value_info("yq", TensorProto.FLOAT, [None, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QDOMAIN, 1)])
    model.ir_version = 8
    return model


def _inputs(n=4000, n_in=8, seed=1):
    # small integers / 8: pre-activations land exactly on 0 and on -1/16 (one LSB below) often
    return np.random.default_rng(seed).integers(-3, 4, size=(n, n_in)) / 8.0


@pytest.mark.parametrize("scale", [0.25, 0.37, [0.5, 0.75, 1.0, 0.3, 0.125, 2.0]],
                         ids=["pow2", "float", "per_channel"])
def test_bipolar_activation_exact(scale):
    model = _model(scale)
    x = _inputs()
    ref = numpy_eval(model, x)
    graph = load_onnx(model)
    np.testing.assert_array_equal(execute(graph, x)[0], ref)
    typed = run_passes(graph, Config(), x[:500])
    np.testing.assert_array_equal(emulate(typed, x).outputs[0], ref)
    # the sign stage really sees zeros and one-LSB negatives
    r = emulate(typed, x, return_all=True)
    sign = next(n for n in typed.nodes.values() if n.annotations.bipolar_sign)
    pre = r.raw[sign.inputs[0]][0]  # (raw integers, type)
    assert np.sum(pre == 0) > 100 and np.sum(pre == -1) > 100
    frac = typed.nodes[sign.inputs[0]].precision["result"].frac
    np.testing.assert_array_equal(sign.weights["scale"], np.full(6, 2.0 ** (frac + 1)))
    cast = next(n.name for n in typed.nodes.values() if isinstance(n.op, ops.Quant) and n.inputs == (sign.name,))
    ints = r.raw[cast][0]
    assert set(np.unique(ints).tolist()) == {-1, 1}


def test_bipolar_scale_carried_into_next_layer():
    typed = run_passes(load_onnx(_model(0.37)), Config(), _inputs(300))
    fc1 = next(n for n in typed.nodes.values() if isinstance(n.op, ops.Dense) and n.source_name == "fc1")
    assert typed.nodes[fc1.inputs[0]].op.kind == "Quant"  # reads the +-1 integers directly
    assert fc1.annotations.integer_input


@pytest.mark.csim
def test_bipolar_activation_csim_bit_exact(tmp_path):
    from nn2hls.backends.vivado import write_project
    from nn2hls.csim import build
    model = _model(0.37)
    x = _inputs(2000, seed=3)
    typed = run_passes(load_onnx(model), Config(), x[:300])
    got = build(write_project(typed, Config(), tmp_path / "bip")).predict(x)
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_array_equal(got, emulate(typed, x).outputs[0])
    np.testing.assert_array_equal(got, numpy_eval(model, x))
