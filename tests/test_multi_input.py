"""Models with several inputs (Keras functional, torch -> ONNX) and weightless models, end to end.

Each model is made here: the emulator is compared with the framework's own float output (Keras
`predict`, torch forward) at 32-bit types, and the C simulation with the emulator bit for bit. The
several ways to pass samples (tuple, list, dict by input name) must give the same numbers.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

import nn2hls
from nn2hls.errors import InputDataError
from nn2hls.testing import assert_bit_exact

WIDE = {"precision": {"default": {"result_width": 32, "weight_width": 32}}}
needs_cxx = pytest.mark.skipif(shutil.which(os.environ.get("NN2HLS_CXX", os.environ.get("CXX", "g++")))
                               is None, reason="no C++ compiler")


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _two_input_keras(tmp_path, suffix=".keras"):
    """a (4,), b (4,): one Dense applied to both (shared), Add; second output Dense(Concat(a, b))."""
    keras = _keras()
    keras.utils.set_random_seed(3)
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(4,), name="b")
    shared = keras.layers.Dense(5, activation="relu", name="shared")
    merged = keras.layers.Add(name="merge")([shared(a), shared(b)])
    y1 = keras.layers.Dense(3, name="head")(merged)
    y2 = keras.layers.Dense(2, name="side")(keras.layers.Concatenate(name="cat")([a, b]))
    model = keras.Model([a, b], [y1, y2], name="two_in")
    path = tmp_path / f"two_in{suffix}"
    model.save(path)
    return model, path


def _data(seed=0, n=400, shapes=((4,), (4,))):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, *s)) for s in shapes]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_two_inputs_match_keras_and_orders(tmp_path, suffix):
    model, path = _two_input_keras(tmp_path, suffix)
    xa, xb = _data()
    compiled = nn2hls.compile(path, WIDE, calibration=(xa, xb))
    assert compiled.input_names == ["a", "b"]
    assert compiled.output_names == ["head", "side"]
    # the shared Dense is one IR node per call
    shared = [n for n in compiled.graph.nodes.values() if n.source_name == "shared" and n.op.kind == "Dense"]
    assert len(shared) == 2
    y = compiled.emulate((xa, xb))
    ref = model.predict([xa.astype(np.float32), xb.astype(np.float32)], verbose=0)
    assert len(y) == 2
    for got, want in zip(y, ref):
        np.testing.assert_allclose(got, want, atol=1e-3)
    for other in ([xa, xb], {"b": xb, "a": xa}):
        for got, want in zip(compiled.emulate(other), y):
            np.testing.assert_array_equal(got, want)
    # the live keras.Model converts to the same numbers as its file
    live = nn2hls.compile(model, WIDE, calibration={"a": xa, "b": xb})
    for got, want in zip(live.emulate((xa, xb)), y):
        np.testing.assert_array_equal(got, want)


def test_keras_dict_inputs_take_keras_input_order(tmp_path):
    """A model built on a dict of inputs is saved as a dict; Keras orders model.inputs by sorted key."""
    keras = _keras()
    keras.utils.set_random_seed(4)
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(2,), name="b")
    y = keras.layers.Dense(2, name="fc")(keras.layers.Concatenate()([b, a]))
    model = keras.Model({"b": b, "a": a}, y)
    model.save(tmp_path / "dict.keras")
    xa, xb = _data(shapes=((3,), (2,)))
    compiled = nn2hls.compile(tmp_path / "dict.keras", WIDE, calibration={"a": xa, "b": xb})
    assert compiled.input_names == [t.name for t in model.inputs] == ["a", "b"]
    ref = model.predict({"a": xa.astype(np.float32), "b": xb.astype(np.float32)}, verbose=0)
    np.testing.assert_allclose(compiled.emulate((xa, xb)), ref, atol=1e-3)


def test_inputs_are_typed_from_their_own_data(tmp_path):
    _, path = _two_input_keras(tmp_path)
    xa, xb = _data()
    compiled = nn2hls.compile(path, calibration=(xa * 0.1, xb * 40))
    types = {n.source_name: n.precision["result"] for n in compiled.graph.inputs}
    # |a| < 0.5 needs 1 integer bit (+1 headroom) ; |b| up to ~160 needs 9 (+1)
    assert types["a"].integer < types["b"].integer
    assert types["b"].integer - types["a"].integer >= 6


def test_sample_errors_name_the_inputs(tmp_path):
    _, path = _two_input_keras(tmp_path)
    xa, xb = _data(n=20)
    compiled = nn2hls.compile(path, calibration=[xa, xb])
    with pytest.raises(InputDataError, match=r"the model has 2 inputs, 'a' \(N, 4\), 'b' \(N, 4\); one array"):
        compiled.emulate(xa)
    with pytest.raises(InputDataError, match="has no array for input 'b'"):
        compiled.emulate({"a": xa})
    with pytest.raises(InputDataError, match="arrays named 'c', which are no inputs"):
        compiled.emulate({"a": xa, "b": xb, "c": xb})
    with pytest.raises(InputDataError, match=r"different numbers of samples \('a' 20, 'b' 10\)"):
        compiled.emulate((xa, xb[:10]))
    with pytest.raises(InputDataError, match=r"input 'b' has shape \(20, 3\); model 'two_in' expects \(N, 4\)"):
        compiled.emulate((xa, xb[:, :3]))


@needs_cxx
@pytest.mark.csim
def test_keras_two_inputs_csim_bit_exact_and_testbench(tmp_path):
    _, path = _two_input_keras(tmp_path)
    xa, xb = _data(n=1000)
    compiled = nn2hls.compile(path, calibration=(xa[:300], xb[:300]))
    project = compiled.write(tmp_path / "prj", tb_input=(xa[:20], xb[:20]))
    header = (project / "firmware" / "two_in.h").read_text()
    assert ("void two_in(const input0_t x_in0[4], const input1_t x_in1[4], result0_t y_out0[3], "
            "result1_t y_out1[2]);") in header
    sim = compiled.build()
    got = sim.predict((xa, xb))
    want = compiled.emulate((xa, xb))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
        assert np.unique(g).size > 10
    for g, w in zip(sim.predict({"b": xb, "a": xa}), want):
        np.testing.assert_array_equal(g, w)
    # the generated C++ testbench reads both inputs from tb_input.dat and checks every output bit
    from nn2hls.resources import hls_lib_dir

    cxx = os.environ.get("NN2HLS_CXX", os.environ.get("CXX", "g++"))
    exe = tmp_path / "tb"
    sources = [str(p) for p in sorted((project / "firmware").glob("*.cpp"))]
    subprocess.run([cxx, "-std=c++17", "-O0", "-I", str(hls_lib_dir()), "-o", str(exe),
                    str(project / "tb" / "two_in_test.cpp"), *sources], check=True, capture_output=True)
    run = subprocess.run([str(exe)], cwd=project, capture_output=True, text=True)
    assert run.returncode == 0 and "20 samples, 0 mismatching values" in run.stdout, run.stdout


class _TwoInputs:
    """forward(x, scale): Linear(x) * Linear(scale), and relu(Linear(x) - Linear(scale))."""

    @staticmethod
    def make():
        torch = pytest.importorskip("torch")
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(6, 3)
                self.gate = nn.Linear(2, 3)

            def forward(self, x, scale):
                h, g = self.fc(x), self.gate(scale)
                return h * g, torch.relu(h - g)

        torch.manual_seed(0)
        return torch, Net().eval()


@pytest.mark.torch
@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_torch_two_inputs_match_torch(dynamo):
    pytest.importorskip("onnxscript")
    torch, net = _TwoInputs.make()
    from nn2hls.frontends.torch import load_torch

    x, s = _data(1, shapes=((6,), (2,)))
    graph = load_torch(net, (torch.zeros(1, 6), torch.zeros(1, 2)), dynamo=dynamo)
    assert [n.source_name for n in graph.inputs] == ["x", "scale"]
    assert graph.meta["output_names"] == ["output0", "output1"]
    compiled = nn2hls.compile(graph, WIDE, calibration={"x": x, "scale": s})
    with torch.no_grad():
        ref = [r.numpy() for r in net(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(s, dtype=torch.float32))]
    y = compiled.emulate((x, s))
    for got, want in zip(y, ref):
        np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.torch
@needs_cxx
@pytest.mark.csim
def test_onnx_file_two_inputs_csim_bit_exact(tmp_path):
    torch, net = _TwoInputs.make()
    from nn2hls.frontends.torch import export_onnx_bytes

    path = tmp_path / "two.onnx"
    path.write_bytes(export_onnx_bytes(net, (torch.zeros(1, 6), torch.zeros(1, 2))))
    x, s = _data(2, n=1000, shapes=((6,), (2,)))
    compiled = nn2hls.compile(path, calibration=(x, s))
    assert compiled.input_names == ["x", "scale"]
    assert_bit_exact(compiled, (x, s))
    assert_bit_exact(compiled, {"scale": s, "x": x})


# ---- weightless models -----------------------------------------------------------------------------
@pytest.mark.torch
@needs_cxx
@pytest.mark.csim
def test_weightless_torch_pooling_converts(tmp_path):
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.AvgPool1d(2), torch.nn.ReLU()).eval()
    x = _data(4, n=500, shapes=((3, 12),))[0]
    compiled = nn2hls.compile(net, WIDE, calibration=x, example_input=torch.zeros(1, 3, 12))
    with torch.no_grad():
        ref = net(torch.as_tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(compiled.emulate(x), ref, atol=1e-3)
    report = compiled.report()
    assert report["totals"]["weights"] == 0 and report["totals"]["dsp"] == 0
    narrow = nn2hls.compile(net, calibration=x, example_input=torch.zeros(1, 3, 12))
    assert_bit_exact(narrow, x)


@needs_cxx
@pytest.mark.csim
def test_weightless_onnx_and_keras_convert(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Sigmoid", ["p"], ["y"])], "pool_sig",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    x = _data(5, n=300, shapes=((2, 4, 4),))[0]
    compiled = nn2hls.compile(model, calibration=x)
    # max over each 2x2 window, then the sigmoid, written down with numpy
    pooled = x.reshape(300, 2, 2, 2, 2, 2).max(axis=(3, 5))
    np.testing.assert_allclose(compiled.emulate(x), 1 / (1 + np.exp(-pooled)), atol=2e-3)
    assert_bit_exact(compiled, x)

    keras = _keras()
    inp = keras.Input(shape=(8, 2))
    kmodel = keras.Model(inp, keras.layers.ReLU()(keras.layers.AveragePooling1D(2)(inp)))
    path = tmp_path / "pool.keras"
    kmodel.save(path)
    xk = _data(6, n=300, shapes=((8, 2),))[0]
    compiled = nn2hls.compile(path, WIDE, calibration=xk)
    np.testing.assert_allclose(compiled.emulate(xk), kmodel.predict(xk.astype(np.float32), verbose=0),
                               atol=1e-3)


@needs_cxx
@pytest.mark.vendor
@pytest.mark.skipif(not os.environ.get("NN2HLS_AP_TYPES"), reason="NN2HLS_AP_TYPES is not set: vendor "
                    "ap_types headers unavailable")
def test_keras_two_inputs_vendor_headers_bit_exact(tmp_path):
    _, path = _two_input_keras(tmp_path)
    xa, xb = _data(n=300)
    compiled = nn2hls.compile(path, calibration=(xa, xb))
    assert_bit_exact(compiled, (xa, xb), ap_types=os.environ["NN2HLS_AP_TYPES"])
