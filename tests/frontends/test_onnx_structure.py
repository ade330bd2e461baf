"""ONNX structural ops (Pad, Slice, Resize, Upsample, DepthToSpace, SpaceToDepth, Transpose of any rank):
small NCHW models built with onnx.helper; the IR float executor and the emulator with 32-bit types
agree with onnxruntime (graph optimizations disabled); unsupported variants are refused in one line."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import nn2hls
from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import ops
from nn2hls.ir.execute import execute

WIDE = {"precision": {"default": {"weight_width": 32, "result_width": 32}}}


def const(name: str, value, dtype=np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def conv_node(inp: str, out: str, c_in: int, c_out: int, seed: int = 0):
    """A 1x1 Conv (the weights the model needs) and its initializers."""
    w = np.random.default_rng(seed).normal(size=(c_out, c_in, 1, 1)).astype(np.float32)
    return (helper.make_node("Conv", [inp, f"{out}_w"], [out], name=f"{out}_conv"), [const(f"{out}_w", w)])


def make(nodes, in_shape, inits=(), *, opset=13) -> onnx.ModelProto:
    """x (N, *in_shape) -> 1x1 Conv (weights) -> nodes reading 'h' -> y."""
    conv, winit = conv_node("x", "h", in_shape[0], in_shape[0])
    graph = helper.make_graph([conv, *nodes], "m",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[*winit, *inits])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def onnxruntime(m: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0]


def compare(m: onnx.ModelProto, in_shape, n: int = 6) -> nn2hls.CompiledModel:
    """Float executor (1e-5) and 32-bit emulator (1e-3) vs onnxruntime; returns the compiled model."""
    x = np.random.default_rng(3).normal(size=(n, *in_shape)).astype(np.float32)
    ref = onnxruntime(m, x)
    graph = load_onnx(m)
    (ours,) = execute(graph, x)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)
    compiled = nn2hls.compile(m, WIDE, calibration=x)
    emulated = compiled.emulate(x)
    assert emulated.shape == ref.shape
    np.testing.assert_allclose(emulated, ref, atol=1e-3)
    return compiled


def kinds(compiled_or_graph, op_type) -> list:
    graph = getattr(compiled_or_graph, "graph", compiled_or_graph)
    return [n for n in graph.nodes.values() if isinstance(n.op, op_type)]


# ---- Pad ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pads,value", [
    ([0, 0, 1, 2, 0, 0, 3, 0], 0.0),       # H and W
    ([0, 1, 0, 0, 0, 2, 1, 1], 0.5),       # channels too, nonzero value
    ([0, 0, -1, 2, 0, 0, 1, -2], -1.25),   # negative pads crop
])
@pytest.mark.parametrize("opset", [9, 11, 13, 18])
def test_pad_constant(pads, value, opset):
    in_shape = (2, 5, 4)
    if opset < 11:
        node = helper.make_node("Pad", ["h"], ["y"], pads=pads, value=value, mode="constant")
        inits = []
    else:
        node = helper.make_node("Pad", ["h", "pads", "v"], ["y"], mode="constant")
        inits = [const("pads", pads, np.int64), const("v", value)]
    c = compare(make([node], in_shape, inits, opset=opset), in_shape)
    assert kinds(c, ops.Pad) and all(n.op.value == value for n in kinds(c, ops.Pad))


def test_pad_axes_input_opset18_and_default_value():
    in_shape = (2, 5, 4)
    node = helper.make_node("Pad", ["h", "pads", "", "axes"], ["y"])
    inits = [const("pads", [1, 2, 3, 0], np.int64), const("axes", [-1, 1], np.int64)]
    compare(make([node], in_shape, inits, opset=18), in_shape)


def test_pad_runs_in_channels_last_layout():
    """Conv -> Pad -> Conv: the Pad acts on the channels-last IR data, no transposes in between."""
    in_shape = (3, 4, 4)
    conv2, w2 = conv_node("p", "y", 3, 2, seed=1)
    nodes = [helper.make_node("Pad", ["h", "pads"], ["p"]), conv2]
    c = compare(make(nodes, in_shape, [const("pads", [0, 0, 1, 1, 0, 0, 2, 0], np.int64), *w2]), in_shape)
    (p,) = kinds(c, ops.Pad)
    assert p.op.pads == ((1, 2), (1, 0), (0, 0))
    order = [n.op.kind for n in c.graph.topological()]
    assert order.index("Pad") > order.index("Transpose")  # only the input/output layout changes


@pytest.mark.parametrize("mode", ["reflect", "edge"])
def test_pad_other_modes_refused(mode):
    node = helper.make_node("Pad", ["h", "pads"], ["y"], mode=mode)
    m = make([node], (2, 4, 4), [const("pads", [0, 0, 1, 1, 0, 0, 1, 1], np.int64)])
    with pytest.raises(UnsupportedOpError, match=r"Pad node .*mode='constant'"):
        load_onnx(m)


def test_pad_of_batch_refused():
    node = helper.make_node("Pad", ["h", "pads"], ["y"])
    m = make([node], (2, 4, 4), [const("pads", [1, 0, 0, 0, 0, 0, 0, 0], np.int64)])
    with pytest.raises(UnsupportedOpError, match="batch axis 0"):
        load_onnx(m)


# ---- Slice --------------------------------------------------------------------------------------
@pytest.mark.parametrize("starts,ends,axes,steps", [
    ([1, 0], [3, 4], [2, 3], None),
    ([-4, 1], [100, -1], [3, 1], [1, 1]),
    ([4, 3], [0, -100], [2, 3], [-1, -2]),       # reversal with clamping
    ([0, 1, 0], [2**63 - 1, 2**63 - 1, 5], [0, 1, 2], [1, 2, 2]),  # full batch slice, strided channels
])
@pytest.mark.parametrize("opset", [9, 13])
def test_slice(starts, ends, axes, steps, opset):
    in_shape = (4, 5, 6)
    if opset < 10:
        if steps is not None:
            pytest.skip("steps need opset 10")
        node = helper.make_node("Slice", ["h"], ["y"], starts=starts, ends=ends, axes=axes)
        inits = []
    else:
        names = ["h", "s", "e", "a"] + (["st"] if steps is not None else [])
        node = helper.make_node("Slice", names, ["y"])
        inits = [const("s", starts, np.int64), const("e", ends, np.int64), const("a", axes, np.int64)]
        if steps is not None:
            inits.append(const("st", steps, np.int64))
    c = compare(make([node], in_shape, inits, opset=opset), in_shape)
    assert len(kinds(c, ops.Slice)) == 1


def test_slice_after_flatten_and_of_batch_refused():
    in_shape = (2, 3, 3)
    nodes = [helper.make_node("Flatten", ["h"], ["f"]), helper.make_node("Slice", ["f", "s", "e", "a"], ["y"])]
    inits = [const("s", [2], np.int64), const("e", [11], np.int64), const("a", [1], np.int64)]
    compare(make(nodes, in_shape, inits), in_shape)
    bad = [helper.make_node("Slice", ["h", "s", "e", "a"], ["y"])]
    inits = [const("s", [1], np.int64), const("e", [3], np.int64), const("a", [0], np.int64)]
    with pytest.raises(UnsupportedOpError, match="slices the batch axis 0"):
        load_onnx(make(bad, in_shape, inits))
    empty = [helper.make_node("Slice", ["h", "s", "e", "a"], ["y"])]
    inits = [const("s", [2], np.int64), const("e", [1], np.int64), const("a", [2], np.int64)]
    with pytest.raises(UnsupportedOpError, match="select no element"):
        load_onnx(make(empty, in_shape, inits))


# ---- Resize / Upsample --------------------------------------------------------------------------
def _resize(in_shape, scales=None, sizes=None, opset=13, **attrs):
    inputs = ["h", "roi", "sc"] + (["sz"] if sizes is not None else [])
    inits = [const("roi", np.zeros(0)), const("sc", scales if scales is not None else np.zeros(0))]
    if sizes is not None:
        inits.append(const("sz", sizes, np.int64))
    if opset < 11:
        inputs, inits = ["h", "sc"], [const("sc", scales)]
    return make([helper.make_node("Resize", inputs, ["y"], **attrs)], in_shape, inits, opset=opset)


def test_resize_torch_style_asymmetric_floor():
    in_shape = (2, 3, 4)
    m = _resize(in_shape, [1, 1, 2, 3], coordinate_transformation_mode="asymmetric", mode="nearest",
                nearest_mode="floor")
    c = compare(m, in_shape)
    (u,) = kinds(c, ops.Upsample)
    assert u.op.scales == (2, 3, 1)  # channels-last IR: (H, W, C)


def test_resize_sizes_and_channel_axis_and_opset10():
    compare(_resize((2, 3, 4), sizes=[6, 8], opset=18, axes=[2, 3], mode="nearest",
                    coordinate_transformation_mode="half_pixel"), (2, 3, 4))
    compare(_resize((2, 3, 4), [1, 2, 1, 1], mode="nearest", coordinate_transformation_mode="asymmetric",
                    nearest_mode="floor"), (2, 3, 4))
    compare(_resize((2, 3, 4), [1.0, 1.0, 2.0, 2.0], opset=10, mode="nearest"), (2, 3, 4))


MODES = ["half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners", "tf_half_pixel_for_nn",
         "half_pixel_symmetric"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


@pytest.mark.parametrize("scale", [2, 3])
@pytest.mark.parametrize("nearest", NEAREST)
@pytest.mark.parametrize("coordinate", MODES)
def test_resize_modes_convert_exactly_when_repeat_else_refuse(coordinate, nearest, scale):
    """Every coordinate/nearest mode pair: either onnxruntime's output is the plain repeat and we match
    it, or we refuse with a message naming the modes."""
    in_shape = (1, 4, 3)
    m = _resize(in_shape, [1, 1, scale, scale], opset=19, mode="nearest",
                coordinate_transformation_mode=coordinate, nearest_mode=nearest)
    x = np.random.default_rng(0).normal(size=(2, *in_shape)).astype(np.float32)
    ref = onnxruntime(m, x)
    hidden = onnxruntime(make([helper.make_node("Identity", ["h"], ["y"])], in_shape), x)
    repeat = np.repeat(np.repeat(hidden, scale, axis=2), scale, axis=3)
    if np.allclose(ref, repeat, atol=1e-6):
        compare(m, in_shape, n=2)
    else:
        with pytest.raises(UnsupportedOpError, match=f"coordinate_transformation_mode='{coordinate}'"):
            load_onnx(m)


def test_resize_refusals():
    with pytest.raises(UnsupportedOpError, match="mode='nearest'"):
        load_onnx(_resize((1, 2, 2), [1, 1, 2, 2], mode="linear"))
    with pytest.raises(UnsupportedOpError, match="scale 1.5 on axis 2"):
        load_onnx(_resize((1, 2, 2), [1, 1, 1.5, 2], mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
    with pytest.raises(UnsupportedOpError, match="tf_crop_and_resize"):
        load_onnx(_resize((1, 2, 2), [1, 1, 2, 2], mode="nearest",
                          coordinate_transformation_mode="tf_crop_and_resize"))
    with pytest.raises(UnsupportedOpError, match="batch axis 0"):
        load_onnx(_resize((1, 2, 2), [2, 1, 1, 1], mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"))


def test_upsample_opset9():
    in_shape = (2, 3, 2)
    node = helper.make_node("Upsample", ["h", "sc"], ["y"], mode="nearest")
    c = compare(make([node], in_shape, [const("sc", [1, 1, 3, 2])], opset=9), in_shape)
    assert kinds(c, ops.Upsample)
    bad = helper.make_node("Upsample", ["h", "sc"], ["y"], mode="linear")
    with pytest.raises(UnsupportedOpError, match="mode='nearest'"):
        load_onnx(make([bad], in_shape, [const("sc", [1, 1, 2, 2])], opset=9))


# ---- DepthToSpace / SpaceToDepth ----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("block", [2, 3])
def test_depth_to_space(mode, block):
    in_shape = (2 * block * block, 3, 2)
    node = helper.make_node("DepthToSpace", ["h"], ["y"], blocksize=block, mode=mode)
    c = compare(make([node], in_shape), in_shape)
    (d,) = kinds(c, ops.DepthToSpace)
    assert d.op.mode == mode and d.op.block == block


@pytest.mark.parametrize("block", [2, 3])
def test_space_to_depth(block):
    in_shape = (3, 2 * block, 3 * block)
    node = helper.make_node("SpaceToDepth", ["h"], ["y"], blocksize=block)
    compare(make([node], in_shape), in_shape)


def test_depth_to_space_refusals():
    node = helper.make_node("DepthToSpace", ["h"], ["y"], blocksize=2)
    with pytest.raises(UnsupportedOpError, match="not divisible"):
        load_onnx(make([node], (6, 2, 2)))


# ---- Transpose of any rank ----------------------------------------------------------------------
@pytest.mark.parametrize("perm", [[0, 3, 1, 4, 2], [0, 4, 3, 2, 1], [0, 2, 1, 3, 4]])
def test_transpose_rank5(perm):
    in_shape = (6, 4, 5)
    nodes = [helper.make_node("Reshape", ["h", "shape"], ["r"]), helper.make_node("Transpose", ["r"], ["y"], perm=perm)]
    inits = [const("shape", [-1, 2, 3, 4, 5], np.int64)]
    compare(make(nodes, in_shape, inits), in_shape)
