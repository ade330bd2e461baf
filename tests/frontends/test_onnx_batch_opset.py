"""Files as exporters write them: fixed batch sizes (1 and N) and old opsets (6, 7, 8, and a failed upgrade).

Every model is built here with onnx.helper; nn2hls's float graph (IR executor) and its emulator run on
more samples than the file's batch, and are compared with onnxruntime (graph optimizations off) run
on the file as written, one batch of the file's own size at a time. Refusals are checked word for word.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import nn2hls
from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx import load_onnx
from nn2hls.frontends.onnx_upgrade import MAX_OPSET, MIN_OPSET, reference_model
from nn2hls.ir.execute import execute

RNG = np.random.default_rng(16)


def _init(name: str, *shape: int, scale: float = 0.5) -> onnx.TensorProto:
    return numpy_helper.from_array((RNG.normal(size=shape) * scale).astype(np.float32), name)


def _model(nodes, in_shape, out_shape, inits, opset: int = 13) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 3 if opset < 9 else 7
    return model


def _ort(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """onnxruntime on the model as written, in batches of the file's own batch size."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    batch = session.get_inputs()[0].shape[0]
    batch = batch if isinstance(batch, int) else len(x)
    assert len(x) % batch == 0
    outs = [session.run(None, {"x": x[i:i + batch].astype(np.float32)})[0] for i in range(0, len(x), batch)]
    return np.concatenate(outs).astype(np.float64)


def _assert_matches(model: onnx.ModelProto, x: np.ndarray, reference: np.ndarray | None = None) -> None:
    ref = _ort(model, x) if reference is None else reference
    got = execute(load_onnx(model), x)[0]
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(ref).max())))
    # the compiled model (fixed-point emulator) takes the same number of samples and stays close
    emulated = np.asarray(nn2hls.compile(model, calibration=x).emulate(x))
    assert emulated.shape == ref.shape
    assert np.abs(emulated - ref).max() < 0.05 * max(1.0, float(np.abs(ref).max()))


# ---- fixed batch ------------------------------------------------------------------------------------
def test_batch1_keras2onnx_conv1d_with_flatten_axis0():
    # keras2onnx for a known batch of 1: NWC input, Transpose to NCW, Conv, back, Flatten(axis=0), Gemm
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
             helper.make_node("Conv", ["xt", "W", "B"], ["c"], kernel_shape=[3], pads=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Transpose", ["r"], ["rt"], perm=[0, 2, 1]),
             helper.make_node("Flatten", ["rt"], ["f"], axis=0, name="flatten"),
             helper.make_node("Gemm", ["f", "W2", "B2"], ["g"]),
             helper.make_node("Softmax", ["g"], ["y"], axis=1)]
    model = _model(nodes, (1, 6, 4), (1, 5), [_init("W", 3, 4, 3), _init("B", 3), _init("W2", 18, 5),
                                              _init("B2", 5)])
    _assert_matches(model, RNG.normal(size=(9, 6, 4)))


def test_batch1_reshape_to_literal_one():
    shape = numpy_helper.from_array(np.array([1, 12], np.int64), "s")
    nodes = [helper.make_node("Reshape", ["x", "s"], ["f"]),
             helper.make_node("MatMul", ["f", "W"], ["m"]),
             helper.make_node("Add", ["m", "B"], ["y"])]
    model = _model(nodes, (1, 3, 4), (1, 4), [shape, _init("W", 12, 4), _init("B", 4)])
    _assert_matches(model, RNG.normal(size=(6, 3, 4)))


def test_symbolic_batch_reshape_to_literal_one_is_the_batch():
    shape = numpy_helper.from_array(np.array([1, 12], np.int64), "s")
    nodes = [helper.make_node("Reshape", ["x", "s"], ["f"]), helper.make_node("MatMul", ["f", "W"], ["y"])]
    model = _model(nodes, ("N", 3, 4), ("N", 4), [shape, _init("W", 12, 4)])
    x = RNG.normal(size=(5, 3, 4))
    reference = np.concatenate([_ort(model, x[i:i + 1]) for i in range(len(x))])  # the file runs at batch 1
    _assert_matches(model, x, reference)


def test_batch1_transpose_around_batchnorm_scalar_channel():
    # [1, C] -> Transpose [1, 0] -> [C, 1]: BatchNormalization's channel axis is the batch of 1
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["g"]),
             helper.make_node("Transpose", ["g"], ["t"], perm=[1, 0], name="to_cn"),
             helper.make_node("BatchNormalization", ["t", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
             helper.make_node("Transpose", ["n"], ["tb"], perm=[1, 0]),
             helper.make_node("Relu", ["tb"], ["y"])]
    inits = [_init("W", 6, 8), _init("B", 8), numpy_helper.from_array(np.array([1.7], np.float32), "s"),
             numpy_helper.from_array(np.array([0.3], np.float32), "b"),
             numpy_helper.from_array(np.array([-0.2], np.float32), "m"),
             numpy_helper.from_array(np.array([2.5], np.float32), "v")]
    _assert_matches(_model(nodes, (1, 6), (1, 8), inits), RNG.normal(size=(7, 6)))


def test_batch1_transpose_around_batchnorm_and_activation_on_a_sample_axis():
    # (1, 4, 3) -> perm [1, 2, 0] -> (4, 3, 1): the channel axis 1 is the sample's last axis (3)
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 2, 0]),
             helper.make_node("BatchNormalization", ["t", "s", "b", "m", "v"], ["n"]),
             helper.make_node("Sigmoid", ["n"], ["a"]),
             helper.make_node("Transpose", ["a"], ["y"], perm=[2, 0, 1])]
    inits = [_init("s", 3), _init("b", 3), _init("m", 3),
             numpy_helper.from_array(np.array([0.5, 1.0, 2.0], np.float32), "v")]
    _assert_matches(_model(nodes, (1, 4, 3), (1, 4, 3), inits), RNG.normal(size=(5, 4, 3)))


def test_batch1_transpose_of_size1_axes_only_is_a_reshape():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[2, 1, 0]),  # (1, 5, 1) -> (1, 5, 1)
             helper.make_node("Flatten", ["t"], ["f"]), helper.make_node("MatMul", ["f", "W"], ["y"])]
    _assert_matches(_model(nodes, (1, 5, 1), (1, 2), [_init("W", 5, 2)]), RNG.normal(size=(4, 5, 1)))


def test_fixed_batch_n_mlp_takes_any_number_of_samples():
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["g"], transB=1),
             helper.make_node("Relu", ["g"], ["r"]),
             helper.make_node("Gemm", ["r", "W2", "B2"], ["z"], transB=1),
             helper.make_node("Sigmoid", ["z"], ["y"])]
    model = _model(nodes, (5, 6), (5, 1), [_init("W", 8, 6), _init("B", 8), _init("W2", 1, 8), _init("B2", 1)])
    x = RNG.normal(size=(15, 6))
    _assert_matches(model, x)
    graph = load_onnx(model)
    for n in (1, 3, 11):  # not multiples of the file's batch of 5
        np.testing.assert_allclose(execute(graph, x[:n])[0], _ort(model, x)[:n], rtol=1e-5, atol=1e-6)


def _refusal(model: onnx.ModelProto) -> str:
    with pytest.raises(UnsupportedOpError) as info:
        load_onnx(model)
    return str(info.value)


MIX = "mixes the samples of the batch (axis 0 of size 4); nn2hls computes one sample at a time, so every op " \
      "must keep the samples apart"


def test_fixed_batch_n_flatten_axis0_refused():
    nodes = [helper.make_node("Flatten", ["x"], ["f"], axis=0, name="flat"), helper.make_node("Relu", ["f"], ["y"])]
    assert _refusal(_model(nodes, (4, 3), (1, 12), [_init("unused", 1)])) == f"ONNX Flatten node 'flat': axis=0 on an input of shape " \
                                                           f"(4, 3) {MIX}"


def test_fixed_batch_n_reshape_merging_samples_refused():
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "s")
    nodes = [helper.make_node("Reshape", ["x", "s"], ["f"], name="r"), helper.make_node("Relu", ["f"], ["y"])]
    assert _refusal(_model(nodes, (4, 3), (1, 12), [shape])) == ("ONNX Reshape node 'r': target shape [1, -1] for an "
                                                                 f"input of shape (4, 3) {MIX}")


def test_fixed_batch_n_transpose_of_batch_refused():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0], name="tr"), helper.make_node("Relu", ["t"], ["y"])]
    assert _refusal(_model(nodes, (4, 3), (3, 4), [_init("unused", 1)])) == ("ONNX Transpose node 'tr': perm=[1, 0], which moves the "
                                                           f"batch axis 0, {MIX}")


def test_batch1_moved_batch_read_by_a_matmul_refused():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0], name="tr"),
             helper.make_node("MatMul", ["t", "W"], ["y"], name="mm")]
    assert _refusal(_model(nodes, (1, 3), (3, 2), [_init("W", 1, 2)])) == (
        "ONNX MatMul node 'mm' reads a tensor whose batch axis was moved by Transpose 'tr' (perm [1, 0]); supported "
        "after such a Transpose: BatchNormalization, elementwise activations and a Transpose that puts the batch "
        "back on axis 0")


def test_batch1_moved_batch_as_output_refused():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0], name="tr"), helper.make_node("Relu", ["t"], ["y"])]
    assert _refusal(_model(nodes, (1, 3), (3, 1), [_init("unused", 1)])) == ("ONNX model 'm': output 'y' has its batch axis moved by "
                                                           "Transpose 'tr'; nn2hls outputs keep the batch on axis 0")


# ---- old opsets --------------------------------------------------------------------------------------
def _bn_mlp(opset: int, batch="N") -> onnx.ModelProto:
    extra = {"broadcast": 1} if opset < 7 else {}
    bn = {"is_test": 1} if opset < 7 else {}
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["g"], transB=1, **extra),
             helper.make_node("BatchNormalization", ["g", "s", "b", "m", "v"], ["n"], epsilon=1e-5, **bn),
             helper.make_node("Relu", ["n"], ["r"]),
             helper.make_node("Gemm", ["r", "W2", "B2"], ["z"], transB=1, **extra),
             helper.make_node("Softmax", ["z"], ["y"], axis=1)]
    inits = [_init("W", 8, 6), _init("B", 8), _init("s", 8), _init("b", 8), _init("m", 8),
             numpy_helper.from_array(RNG.uniform(0.5, 2.0, 8).astype(np.float32), "v"), _init("W2", 3, 8),
             _init("B2", 3)]
    return _model(nodes, (batch, 6), (batch, 3), inits, opset=opset)


def test_opset7_model_matches_onnxruntime_on_the_file_as_written():
    model = _bn_mlp(7)
    _assert_matches(model, RNG.normal(size=(12, 6)))
    graph = load_onnx(model)
    assert graph.meta["opset"] == MIN_OPSET
    assert graph.meta["load_notes"] == [f"ONNX model 'm' uses opset 7; upgraded to opset {MIN_OPSET} with onnx's "
                                        "version converter before import"]


def test_opset8_cntk_style_cnn_with_batch1_matches_onnxruntime():
    shape = numpy_helper.from_array(np.array([1, 18], np.int64), "s")
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
             helper.make_node("Add", ["c", "B"], ["a"]),
             helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "s"], ["f"]),
             helper.make_node("MatMul", ["f", "W2"], ["y"])]
    model = _model(nodes, (1, 1, 6, 6), (1, 4), [_init("W", 2, 1, 3, 3), _init("B", 2, 1, 1), shape,
                                                 _init("W2", 18, 4)], opset=8)
    _assert_matches(model, RNG.normal(size=(6, 1, 6, 6)))


def test_opset6_runs_against_onnxruntime_on_the_upgraded_model():
    model = _bn_mlp(6)
    upgraded = reference_model(model)  # onnxruntime has no Gemm-6 kernel: the check reference runs this
    assert [o.version for o in upgraded.opset_import if o.domain == ""] == [MIN_OPSET]
    x = RNG.normal(size=(10, 6))
    _assert_matches(model, x, _ort(upgraded, x))


def test_failed_upgrade_names_the_node():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="act"),
             helper.make_node("Pad", ["r"], ["y"], paddings=[0, 1, 0, 1], name="pad_1")]
    model = _model(nodes, ("N", 4), ("N", 6), [_init("unused", 1)], opset=1)
    message = _refusal(model)
    assert message.startswith("ONNX model 'm' uses opset 1; onnx's version converter cannot upgrade it to opset "
                              f"{MIN_OPSET} at node 'pad_1' (op Pad) (")
    assert message.endswith(f"); re-export the model with opset_version >= {MIN_OPSET}")
    assert "\n" not in message


def test_cli_says_the_model_was_upgraded(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "old.onnx"
    onnx.save(_bn_mlp(8), path)
    np.save(tmp_path / "x.npy", RNG.normal(size=(4, 6)))
    proc = subprocess.run([sys.executable, "-m", "nn2hls", "emulate", str(path), "--input", str(tmp_path / "x.npy"),
                           "--output", str(tmp_path / "y.npy")], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (f"note: ONNX model '{path}' uses opset 8; upgraded to opset {MIN_OPSET} with onnx's version converter "
            "before import") in proc.stderr.splitlines()


@pytest.mark.csim
def test_check_runs_onnxruntime_on_the_upgraded_opset6_model(tmp_path):
    import json
    import subprocess
    import sys

    path = tmp_path / "old6.onnx"
    onnx.save(_bn_mlp(6), path)
    np.save(tmp_path / "x.npy", RNG.normal(size=(32, 6)))
    proc = subprocess.run([sys.executable, "-m", "nn2hls", "check", str(path), "--input", str(tmp_path / "x.npy"),
                           "--json"], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["bit_exact"] and summary["float_reference"] == "onnxruntime"
    assert summary["max_abs_err"] < 0.05
    assert (f"note: onnxruntime cannot run '{path}' at its old opset; the float reference runs the model upgraded "
            f"to opset {MIN_OPSET}") in proc.stderr.splitlines()


def test_batch1_unsqueeze_and_squeeze_of_axis0():
    # (1, 6) -> Unsqueeze [0] -> (1, 1, 6) -> Relu -> Squeeze [0] -> (1, 6): the batch of 1 stays in front
    nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0]), helper.make_node("Relu", ["u"], ["r"]),
             helper.make_node("Squeeze", ["r"], ["s"], axes=[0]), helper.make_node("MatMul", ["s", "W"], ["y"])]
    _assert_matches(_model(nodes, (1, 6), (1, 2), [_init("W", 6, 2)], opset=11), RNG.normal(size=(4, 6)))


def test_batch1_squeeze_removing_the_batch_refused():
    nodes = [helper.make_node("Squeeze", ["x"], ["s"], axes=[0], name="sq"), helper.make_node("Relu", ["s"], ["y"])]
    assert _refusal(_model(nodes, (1, 6), (6,), [_init("unused", 1)], opset=11)) == (
        "ONNX Squeeze node 'sq': axes=[0] on an input of shape (1, 6) removes the batch axis 0; nn2hls computes one "
        "sample at a time with the batch on axis 0")


@pytest.mark.parametrize("opset", sorted({22, 23, 25, MAX_OPSET}))
def test_newest_opsets_match_onnxruntime(opset):
    if opset > MAX_OPSET:
        pytest.skip(f"the installed onnx knows opsets up to {MAX_OPSET}")
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3], pads=[1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "W2", "B2"], ["y"], transB=1)]
    model = _model(nodes, ("N", 2, 5), ("N", 3), [_init("W", 4, 2, 3), _init("B", 4), _init("W2", 3, 20),
                                                  _init("B2", 3)], opset=opset)
    _assert_matches(model, RNG.normal(size=(6, 2, 5)))
