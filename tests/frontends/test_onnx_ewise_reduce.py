"""Element-wise ops with constants (scalar, per channel, full shape), broadcast element-wise ops between
two tensors, and ReduceMean/ReduceMax/ReduceSum: small onnx.helper models.

Three independent comparisons per model:
- the IR float executor against onnxruntime (graph optimizations disabled: the graph as written);
- the emulator with 32-bit types against onnxruntime, within 1e-3;
- the C simulation against the emulator, bit for bit (default 16-bit types, marked csim).
Plus values written down by hand for the fixed-point rules (ScaleShift by a 0-d constant, mean of n).
"""
from __future__ import annotations

import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import nn2hls
from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir.execute import execute
from nn2hls.ir.ops import Elementwise, GlobalPool, Reduce, ScaleShift

# 32-bit types, and tables fine enough that the sigmoid's entries are within 1e-4
WIDE = {"precision": {"default": {"weight_width": 32, "result_width": 32, "table_size": 65536,
                                  "table_width": 32}}}


def const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def axes_const(name: str, axes) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(axes, dtype=np.int64), name)


def model(nodes, in_shape, inits=(), *, opset=13) -> onnx.ModelProto:
    # a model without any weight is refused today (a separate work item); an unused initializer keeps
    # the weightless fixtures importable without changing what they compute
    inits = list(inits) or [const("unused", 0.0)]
    graph = helper.make_graph(
        list(nodes), "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def onnxruntime_reference(m: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0].astype(np.float64)


def w(*shape, seed=0, low=None):
    v = np.random.default_rng(seed).normal(size=shape)
    return (np.abs(v) + low if low is not None else v).astype(np.float32)


def n(op, inputs, out, **attrs):
    return helper.make_node(op, inputs, [out], **attrs)


C, H, W = 3, 4, 5
FM = (C, H, W)

# name -> (model, per-sample input shape, IR op kinds that must appear)
CASES = {
    # input normalization with scalars: (x / 255 - 0.5) / 0.25, then MaxPool (nothing to fold into)
    "scalar_norm": (model([n("Div", ["x", "k255"], "a"), n("Sub", ["a", "half"], "b"),
                           n("Div", ["b", "quarter"], "c"),
                           n("MaxPool", ["c"], "y", kernel_shape=[2, 2], strides=[2, 2])], FM,
                          [const("k255", 255.0), const("half", 0.5), const("quarter", [0.25])]), FM, [ScaleShift]),
    # per-channel mean/std as (C, 1, 1) constants, then Relu at the output
    "perchannel_norm": (model([n("Sub", ["x", "mean"], "a"), n("Div", ["a", "std"], "b"), n("Relu", ["b"], "y")],
                              FM, [const("mean", w(C, 1, 1, seed=1)), const("std", w(C, 1, 1, seed=2, low=0.5))]),
                        FM, [ScaleShift]),
    # a full-shape constant, and a constant first: c - x, then x * c
    "fullshape_const_first": (model([n("Sub", ["c", "x"], "a"), n("Mul", ["a", "d"], "y")], FM,
                                    [const("c", w(*FM, seed=3)), const("d", w(1, H, W, seed=4))]),
                              FM, [ScaleShift]),
    # sigmoid(fc(x)) * 2 - 1 with 0-d constants
    "scale_after_sigmoid": (model([n("Gemm", ["x", "wt", "bias"], "f"), n("Sigmoid", ["f"], "s"),
                                   n("Mul", ["s", "two"], "m"), n("Sub", ["m", "one"], "y")], (6,),
                                  [const("wt", w(6, 4, seed=5)), const("bias", w(4, seed=6)),
                                   const("two", 2.0), const("one", 1.0)]), (6,), [ScaleShift]),
    # x - 3.0 before MaxPool (1-D)
    "offset_before_maxpool": (model([n("Sub", ["x", "three"], "a"),
                                     n("MaxPool", ["a"], "y", kernel_shape=[2], strides=[2])], (2, 8),
                                    [const("three", 3.0)]), (2, 8), [ScaleShift]),
    # (3, 4, 2) + its mean over axes 1, 2 with keepdims: (1, 1, 2), a broadcast Add (Reduce, not GlobalPool)
    "broadcast_add_reduce_mean": (model([n("ReduceMean", ["x"], "m", axes=[1, 2], keepdims=1),
                                         n("Add", ["x", "m"], "y")], (3, 4, 2)), (3, 4, 2), [Reduce, Elementwise]),
    # the smaller operand first: (1, 1, 2) - (3, 4, 2)
    "broadcast_sub_smaller_first": (model([n("ReduceMax", ["x"], "m", axes=[1, 2], keepdims=1),
                                           n("Sub", ["m", "x"], "y")], (3, 4, 2)), (3, 4, 2), [Reduce, Elementwise]),
    # conv output + its own spatial max (keepdim, opset 18 axes input) -> GlobalPool + broadcast Add
    "conv_plus_spatial_max": (model([n("Conv", ["x", "k", "kb"], "c"), n("ReduceMax", ["c", "ax"], "m", keepdims=1),
                                     n("Add", ["c", "m"], "y")], FM,
                                    [const("k", w(4, C, 1, 1, seed=7)), const("kb", w(4, seed=8)),
                                     axes_const("ax", [2, 3])], opset=18), FM, [GlobalPool, Elementwise]),
    # squeeze-excitation style: x * sigmoid(GlobalAveragePool(x)), a broadcast Mul over channels
    "se_mul": (model([n("GlobalAveragePool", ["x"], "g"), n("Sigmoid", ["g"], "s"), n("Mul", ["x", "s"], "y")], FM),
               FM, [GlobalPool, Elementwise]),
    # x.mean(dim=(2, 3)) (opset 13 attribute axes, keepdims 0) -> global average pooling, then Gemm
    "reduce_mean_global": (model([n("ReduceMean", ["x"], "m", axes=[2, 3], keepdims=0),
                                  n("Gemm", ["m", "wt", "bias"], "y")], FM,
                                 [const("wt", w(C, 2, seed=9)), const("bias", w(2, seed=10))]), FM, [GlobalPool]),
    # ReduceSum over the channels (opset 13: axes input), keepdims
    "reduce_sum_channels": (model([n("ReduceSum", ["x", "ax"], "y", keepdims=1)], FM, [axes_const("ax", [1])]),
                            FM, [Reduce]),
    # ReduceSum before opset 13: axes as an attribute; over H, W of a feature map (not a pool: a sum)
    "reduce_sum_opset11": (model([n("ReduceSum", ["x"], "y", axes=[2, 3], keepdims=0)], FM, opset=11), FM, [Reduce]),
    # ReduceMean over the last axis only, without keepdims (opset 18 input axes, negative)
    "reduce_mean_last_axis": (model([n("ReduceMean", ["x", "ax"], "y", keepdims=0)], FM, [axes_const("ax", [-1])],
                                    opset=18), FM, [Reduce]),
    # ReduceMax over every per-sample axis (not global pooling: the channels too)
    "reduce_max_all": (model([n("ReduceMax", ["x"], "y", axes=[1, 2, 3], keepdims=1)], FM), FM, [Reduce]),
    # Max of the conv output and its channel mean (broadcast), then Min with the conv output and two scalars
    # (an equal-shape minimum, then a clip)
    "max_min_variadic": (model([n("Conv", ["x", "k", "kb"], "c"), n("ReduceMean", ["c"], "m", axes=[1]),
                                helper.make_node("Max", ["c", "m"], ["a"]),
                                helper.make_node("Min", ["a", "cap", "c", "cap2"], ["y"])], FM,
                               [const("k", w(4, C, 1, 1, seed=15)), const("kb", w(4, seed=16)),
                                const("cap", 1.5), const("cap2", 2.0)]), FM, [Reduce, Elementwise]),
    # Sum of three tensors (one broadcast) and a constant; Mean of two tensors and a constant
    "sum_mean_variadic": (model([n("ReduceMax", ["x"], "m", axes=[2], keepdims=1),
                                 helper.make_node("Sum", ["x", "m", "x", "off"], ["s"]),
                                 helper.make_node("Mean", ["s", "x", "off"], ["y"])], FM,
                                [const("off", w(1, 1, W, seed=17))]), FM, [Reduce, Elementwise, ScaleShift]),
    # x.amin(dim=(2, 3), keepdim=True) (opset 18, a Reduce min, not a pool), negated, added back
    "reduce_min_neg": (model([n("ReduceMin", ["x", "ax"], "m", keepdims=1), n("Neg", ["m"], "g"),
                              n("Add", ["x", "g"], "y")], FM, [axes_const("ax", [2, 3])], opset=18),
                       FM, [Reduce, Elementwise, ScaleShift]),
    # ReduceMean of a feature vector, keepdims 1: (N, 6) -> (N, 1), then broadcast Sub (centering)
    "center_vector": (model([n("ReduceMean", ["x"], "m", axes=[1]), n("Sub", ["x", "m"], "y")], (6,)), (6,),
                      [Reduce, Elementwise]),
}


def _data(shape, n_samples=64, seed=11):
    return np.random.default_rng(seed).normal(size=(n_samples, *shape)).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float_executor_matches_onnxruntime(name):
    m, shape, kinds = CASES[name]
    x = _data(shape)
    graph = load_onnx(m)
    for kind in kinds:
        assert any(isinstance(node.op, kind) for node in graph.nodes.values()), kind.__name__
    (ours,) = execute(graph, x)
    ref = onnxruntime_reference(m, x)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(ref).max())))


@pytest.mark.parametrize("name", sorted(CASES))
def test_emulator_32bit_matches_onnxruntime(name):
    m, shape, _ = CASES[name]
    x = _data(shape)
    compiled = nn2hls.compile(m, config=WIDE, calibration=x)
    y = compiled.emulate(x)
    ref = onnxruntime_reference(m, x)
    assert y.shape == ref.shape
    assert float(np.max(np.abs(y - ref))) < 1e-3


@pytest.mark.csim
@pytest.mark.parametrize("name", sorted(CASES))
def test_csim_bit_exact(name):
    m, shape, _ = CASES[name]
    x = _data(shape, 500, seed=12) * 2.0  # reaches the saturated ends of the 16-bit types too
    compiled = nn2hls.compile(m, calibration=x[:100])
    expected = compiled.emulate(x)
    got = compiled.build().predict(x)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), f"{int(np.sum(got != expected))} values differ"
    assert np.unique(got).size > 3


# ---- values written down by hand --------------------------------------------------------------------
def _typed(m, config, x):
    return nn2hls.compile(m, config=config, calibration=x)


def test_div_by_scalar_by_hand():
    """x / 3 with a 0-d constant: scale 1/3 in the auto weight type ap_fixed<16,0,AP_RND> is 21845/2^16;
    x = 21/64 in ap_fixed<8,2>; the exact product 21 * 21845 / 2^22 assigned to ap_fixed<16,2> (AP_TRN,
    14 fractional bits) is floor(21 * 21845 / 2^8) / 2^14 = 1791 / 16384."""
    m = model([n("Div", ["x", "three"], "y")], (1,), [const("three", 3.0)])
    config = {"precision": {"input": "ap_fixed<8,2>", "default": {"result": "ap_fixed<16,2>"}}}
    x = np.array([[21 / 64]])
    compiled = _typed(m, config, x)
    assert str(compiled.graph.nodes[compiled.graph.outputs[0]].precision["weight"]) == "ap_fixed<16,0,AP_RND,AP_SAT>"
    assert compiled.emulate(x)[0, 0] == 1791 / 16384


def test_reduce_mean_rule_by_hand():
    """mean of (1, 0.5, 0.25) over the last axis: sum 1.75 (exact); 1/3 with weight_width 8 is
    ap_ufixed<8,-1,AP_RND> (9 fractional bits): 171/512; 1.75 * 171/512 = 149.625 / 256, assigned to
    ap_fixed<12,4> (8 fractional bits): AP_TRN gives 149/256, AP_RND 150/256."""
    m = model([n("ReduceMean", ["x"], "y", axes=[1], keepdims=1)], (3,))
    x = np.array([[1.0, 0.5, 0.25]])
    for mode, expected in (("AP_TRN", 149 / 256), ("AP_RND", 150 / 256)):
        config = {"precision": {"input": "ap_fixed<8,2>",
                                "default": {"weight_width": 8, "result": f"ap_fixed<12,4,{mode}>"}}}
        compiled = _typed(m, config, x)
        node = compiled.graph.nodes[compiled.graph.outputs[0]]
        assert isinstance(node.op, Reduce) and str(node.precision["recip"]) == "ap_ufixed<8,-1,AP_RND>"
        assert compiled.emulate(x)[0, 0] == expected


def test_reduce_sum_and_max_by_hand():
    x = np.array([[0.75, -0.5, 0.125, 1.5]])
    config = {"precision": {"input": "ap_fixed<8,2>"}}
    m = model([n("ReduceSum", ["x", "ax"], "y", keepdims=1)], (4,), [axes_const("ax", [1])])
    assert _typed(m, config, x).emulate(x).tolist() == [[1.875]]
    m = model([n("ReduceMax", ["x"], "y", axes=[-1], keepdims=1)], (4,))
    assert _typed(m, config, x).emulate(x).tolist() == [[1.5]]


# ---- refused with a clear message -------------------------------------------------------------------
def test_broadcast_of_different_ranks_is_refused():
    m = model([n("ReduceMean", ["x"], "m", axes=[1], keepdims=0), n("Add", ["x", "m"], "y")], (3, 4))
    with pytest.raises(UnsupportedOpError, match="do not broadcast with a common batch axis"):
        load_onnx(m)


def test_division_of_two_tensors_is_refused():
    m = model([n("ReduceMax", ["x"], "m", axes=[1], keepdims=1), n("Div", ["x", "m"], "y")], (3,))
    with pytest.raises(UnsupportedOpError, match="division of two run-time tensors"):
        load_onnx(m)


def test_reduce_over_the_batch_is_refused():
    m = model([n("ReduceMean", ["x"], "y", keepdims=1)], (3,))
    with pytest.raises(UnsupportedOpError, match="exclude the batch axis"):
        load_onnx(m)
    m = model([n("ReduceSum", ["x"], "y", axes=[0])], (3,), opset=11)
    with pytest.raises(UnsupportedOpError, match="axes other than the batch axis"):
        load_onnx(m)


def test_reduce_with_empty_axes_and_noop_is_identity():
    m = model([n("ReduceSum", ["x"], "y", noop_with_empty_axes=1)], (3,))
    x = _data((3,), 4)
    (ours,) = execute(load_onnx(m), x)
    np.testing.assert_allclose(ours, onnxruntime_reference(m, x), rtol=1e-6)


@pytest.mark.csim
@pytest.mark.parametrize("name", ["conv_plus_spatial_max", "reduce_mean_last_axis", "reduce_sum_channels",
                                  "broadcast_sub_smaller_first", "perchannel_norm", "max_min_variadic"])
def test_csim_bit_exact_with_vendor_headers(name):
    vendor = os.environ.get("NN2HLS_AP_TYPES", "")
    if not vendor:
        pytest.skip("NN2HLS_AP_TYPES (vendor ap_types headers) not set")
    m, shape, _ = CASES[name]
    x = _data(shape, 200, seed=13) * 2.0
    compiled = nn2hls.compile(m, calibration=x[:100])
    assert np.array_equal(compiled.build(ap_types=vendor).predict(x), compiled.emulate(x))


def test_report_counts_reduce_and_broadcast_by_hand():
    """mean of 6 inputs: 5 adders and one general product by 1/6 (16-bit constant x 19-bit sum: one
    DSP48E2); the broadcast Sub: one subtractor per output element (6), the repeat is wiring."""
    m, shape, _ = CASES["center_vector"]
    x = _data(shape)
    rows = {r["op"]: r for r in nn2hls.compile(m, calibration=x).report()["layers"]}
    assert (rows["Reduce"]["adders"], rows["Reduce"]["multiplies"], rows["Reduce"]["dsp"]) == (5, 1, 1)
    assert (rows["Elementwise"]["adders"], rows["Elementwise"]["multiplies"]) == (6, 0)


@pytest.mark.csim
@pytest.mark.parametrize("name", ["broadcast_add_reduce_mean", "reduce_sum_channels", "se_mul", "reduce_mean_last_axis",
                                  "center_vector"])
def test_csim_bit_exact_with_wide_types(name):
    """48-bit results and 40-bit constants: products and sums beyond 2**53 take the emulator's int64 and
    Python-int paths, which must still equal the C++ bit for bit."""
    m, shape, _ = CASES[name]
    x = _data(shape, 200, seed=14) * 2.0
    config = {"precision": {"default": {"weight_width": 40, "result_width": 48}}}
    compiled = nn2hls.compile(m, config=config, calibration=x[:100])
    expected = compiled.emulate(x)
    assert np.array_equal(compiled.build().predict(x), expected)


def test_union_type_of_max_and_min_by_hand():
    """max/min feeding a quantizer keep their exact value: the union of both input types."""
    from nn2hls.ir.types import FixedType
    from nn2hls.passes.quant_rules import union_type
    assert union_type(FixedType.parse("ap_ufixed<4,2>"), FixedType.parse("ap_fixed<6,3>")) == \
        FixedType.parse("ap_fixed<6,3>")
    assert union_type(FixedType.parse("ap_fixed<8,2>"), FixedType.parse("ap_fixed<6,4>")) == \
        FixedType.parse("ap_fixed<10,4>")
    assert union_type(FixedType.parse("ap_ufixed<4,4>"), FixedType.parse("ap_ufixed<3,1>")) == \
        FixedType.parse("ap_ufixed<6,4>")


@pytest.mark.csim
@pytest.mark.parametrize("view", ["csim", "synthesis"])
def test_firmware_is_cxx11_for_the_hls_tools(tmp_path, view):
    """The new kernels (reduce_*, *_bcast, maximum/minimum) as the HLS tools read them: C++11 against the
    vendor headers, in the C-simulation view and the synthesis view (__SYNTHESIS__ defined)."""
    import subprocess
    from nn2hls.csim.toolchain import find_compiler
    vendor = os.environ.get("NN2HLS_AP_TYPES", "")
    if not vendor:
        pytest.skip("NN2HLS_AP_TYPES (vendor ap_types headers) not set")
    kernels = set()
    for name in ("sum_mean_variadic", "max_min_variadic", "reduce_sum_channels", "center_vector", "se_mul",
                 "reduce_min_neg"):
        m, shape, _ = CASES[name]
        x = _data(shape, 50)
        project = nn2hls.compile(m, calibration=x).write(tmp_path / name)
        sources = sorted((project / "firmware").glob("*.cpp"))
        text = "".join(s.read_text() for s in sources)
        kernels |= {k for k in ("reduce_mean<", "reduce_sum<", "reduce_max<", "reduce_min<", "add_bcast<", "sub_bcast<",
                                "mul_bcast<", "maximum<", "minimum<", "maximum_bcast<") if f"nn2hls::{k}" in text}
        prelude = '#include "ap_fixed.h"\n#include "ap_int.h"\n#define __SYNTHESIS__\n' if view == "synthesis" else ""
        unit = project / f"{view}_view.cpp"
        unit.write_text(prelude + "".join(f'#include "firmware/{s.name}"\n' for s in sources))
        run = subprocess.run([*find_compiler(), "-std=c++11", "-fsyntax-only", "-I", vendor, unit.name],
                             cwd=project, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
    assert kernels >= {"reduce_mean<", "reduce_sum<", "reduce_max<", "reduce_min<", "add_bcast<", "sub_bcast<",
                       "mul_bcast<",
                       "maximum_bcast<", "minimum<"}, kernels
