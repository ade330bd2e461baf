"""Non-power-of-two quantizers: ONNX QDQ (onnxruntime quantize_static) and QONNX float activation scales.

References: onnxruntime running the QDQ model as written (graph optimizations disabled, so no fused
integer kernels whose numbers depend on the CPU; float32 QuantizeLinear/DequantizeLinear) and an
independent float64 numpy evaluation of QONNX graphs (`quant_models.numpy_eval`). The C-sim is compared
with the emulator bit for bit.
"""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir.execute import execute
from nn2hls.ir.ops import Dense, Quant, ScaleShift
from nn2hls.ir.quant import ratio, ratios
from nn2hls.passes.pipeline import run_passes

from quant_models import numpy_eval, qonnx_mlp

pytest.importorskip("onnxruntime.quantization")
from qdq_models import ort_run, quantize_static_mlp  # noqa: E402

QDQ = {
    "uint8_per_tensor": dict(),
    "int8_per_channel": dict(per_channel=True, activation_type="QInt8"),
    "uint8_per_channel": dict(per_channel=True),
}


def _data(n=4000, features=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, size=(n, features))
    x[:50] *= 8  # saturating inputs
    return x


def _within_float32(got, ref):
    """Per sample: every output equals the reference within one float32 ulp of the reference (onnxruntime
    rounds the exact dequantized value to float32: half an ulp at most)."""
    tol = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    return np.all(np.abs(got - ref) <= tol, axis=1)


@pytest.fixture(scope="module", params=sorted(QDQ))
def qdq(request, tmp_path_factory):
    x = _data()
    path = quantize_static_mlp([16, 32, 16, 5], x[:300], tmp_path_factory.mktemp(request.param), seed=3,
                               **QDQ[request.param])
    graph = load_onnx(path)
    typed = run_passes(graph, Config(), x[:500])
    return request.param, path, graph, typed, x


def test_qdq_matches_onnxruntime(qdq):
    name, path, graph, typed, x = qdq
    ref = ort_run(path, x)
    got = emulate(typed, x).outputs[0]
    close = _within_float32(got, ref)
    assert close.all(), (name, close.mean(), np.abs(got - ref).max())
    assert np.mean(np.argmax(got, 1) == np.argmax(ref, 1)) >= 0.999  # ties of equal quantized outputs
    assert np.unique(ref).size > 50
    # the float executor runs the same definition
    assert _within_float32(execute(graph, x)[0], ref).all()


def test_qdq_structure_integer_layers(qdq):
    """Every Dense reads an integer tensor and has integer weights; one requantizing ScaleShift per layer."""
    name, path, graph, typed, x = qdq
    dense = [n for n in typed.topological() if isinstance(n.op, Dense)]
    assert len(dense) == 3
    for d in dense:
        producer = typed.nodes[d.inputs[0]]
        assert isinstance(producer.op, Quant) and producer.precision["result"].frac == 0
        k = d.weights["kernel"]
        assert np.array_equal(k, np.round(k)) and np.abs(k).max() <= 127
        (reader,) = typed.consumers(d.name)
        assert isinstance(typed.nodes[reader].op, ScaleShift)
    quants = [n for n in typed.topological() if isinstance(n.op, Quant)]
    assert len(quants) == 4 and all(q.op.dtype.startswith("ap_" + ("" if "int8" == name[:4] else "u")) for q in quants)


def test_constants_are_correctly_rounded():
    from fractions import Fraction
    for num, den, off in [(1.0, 0.02731552, 0.0), (3.0, 7.0, 0.0), (-1e-3, 0.0355, -128.0), (2.0 ** -40, 3.0, 0.0)]:
        exact = Fraction(num) / Fraction(den) + Fraction(off)
        got = Fraction(ratio(num, den, off))
        assert abs(got - exact) <= abs(exact) * Fraction(2) ** -52
    values = ratios(np.array([0.3, -0.001, 0.02]), 0.7, 1.0)
    exact = [Fraction(v) / Fraction(0.7) + 1 for v in (0.3, -0.001, 0.02)]
    top = max(abs(e) for e in exact)
    assert all(abs(Fraction(v) - e) <= top * Fraction(2) ** -52 for v, e in zip(values.tolist(), exact))


QONNX_FLOAT_ACT = {
    "uint8_float_scale": dict(a_scale=0.0371, w_bits=8, w_scale_exp=6),
    "uint4_zero_point": dict(a_scale=0.23, a_zero=3.0, a_bits=4, w_bits=4),
    "ternary_float_everything": dict(a_scale=0.0913, w_bits=2, narrow=1, float_scale=True, out_scale=0.0171),
}


@pytest.mark.parametrize("name", sorted(QONNX_FLOAT_ACT))
def test_qonnx_float_activation_scales(name):
    model = qonnx_mlp([16, 24, 16, 5], seed=7, **QONNX_FLOAT_ACT[name])
    graph = load_onnx(model)
    x = _data(3000, seed=4) * 2
    ref = numpy_eval(model, x)
    typed = run_passes(graph, Config(), x[:500])
    got = emulate(typed, x).outputs[0]
    exact = np.all(got == ref, axis=1)
    assert exact.mean() >= 0.999, exact.mean()
    assert np.mean(np.argmax(got, 1) == np.argmax(ref, 1)) >= 0.999
    assert np.unique(ref).size > 20
    # hidden layers read integers: the dequantization scale was carried into the next layer
    for d in [n for n in typed.topological() if isinstance(n.op, Dense)][1:]:
        assert typed.nodes[d.inputs[0]].precision["result"].frac == 0
