"""io_stream (issue 18, docs/io_stream.md): stream ports, DATAFLOW FIFOs, line-buffer Conv/Pool, adapters.

Two independent paths are compared: the C simulation of the generated stream design (g++, with nn2hls's
own ap types and with the vendor headers) against the numpy emulator, bit for bit. The models:
- an ONNX CNN 3x10x10 (NCHW: the port carries the transposed tensor, the testbench reorders it):
  Conv 3x3 pad 1 -> ReLU -> MaxPool 2 -> Conv 3x3 stride 2 pad 1 -> LeakyReLU -> AvgPool 3 pad 1 (padding
  not counted) -> GlobalAveragePool -> Dense 10 -> Softmax (adapter);
- a graph with a skip connection (a split with full-depth FIFOs feeding an Add), a Concat and a
  Transpose (adapters), a 1-D Conv with dilation and a global max pool;
- a flat MLP (one stream element per tensor).
- a tiny CNN (all stream kernels) built with both header sets (the vendor headers take minutes to
  compile the larger models: bench/iostream.py checks those).
The report's DSPs equal the multipliers counted from the emitted code (per Conv output position shared
over RF cycles, ALLOCATION limits), and every stream project passes the synthesizability lint.
"""
from __future__ import annotations

import math
import os
import re
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import nn2hls
from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.emulate import emulate
from nn2hls.errors import ConfigError
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes
from nn2hls.report import build_report

VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")


def own_headers():
    """nn2hls's own ap types (explicitly: NN2HLS_AP_TYPES would otherwise select the vendor's)."""
    from nn2hls.resources import hls_lib_dir
    return hls_lib_dir()


def _sparse(rng: np.random.Generator, shape: tuple[int, ...], zeros: float = 0.3) -> np.ndarray:
    w = rng.normal(0, 0.4, size=shape)
    w[rng.random(size=shape) < zeros] = 0.0
    return w.astype(np.float32)


def onnx_cnn(rng: np.random.Generator) -> onnx.ModelProto:
    """The NCHW CNN of the module doc."""
    inits = [numpy_helper.from_array(_sparse(rng, (4, 3, 3, 3)), "w1"),
             numpy_helper.from_array(_sparse(rng, (4,), 0), "b1"),
             numpy_helper.from_array(_sparse(rng, (6, 4, 3, 3)), "w2"),
             numpy_helper.from_array(_sparse(rng, (6,), 0), "b2"),
             numpy_helper.from_array(_sparse(rng, (6, 10)), "wd"),
             numpy_helper.from_array(_sparse(rng, (10,), 0), "bd")]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", ["c2"], ["r2"], alpha=0.125),
        helper.make_node("AveragePool", ["r2"], ["a2"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                         count_include_pad=0),
        helper.make_node("GlobalAveragePool", ["a2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wd", "bd"], ["d"]),
        helper.make_node("Softmax", ["d"], ["y"], axis=1),
    ]
    graph = helper.make_graph(nodes, "scnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 10, 10])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def branchy(rng: np.random.Generator) -> Graph:
    """1-D signal (12, 3): Conv1D k3 dilation 2 pad 2 -> ReLU -> split -> [Conv1D k3 pad 1 | identity] ->
    Add -> Concat with the ReLU output (adapter) -> Transpose (adapter) -> Reshape back -> GlobalMax -> Dense 4."""
    g = Graph("branchy")
    x = g.add(ops.Input(shape=(12, 3)), name="x")
    c1 = g.add(ops.Conv(ndim=1, kernel_size=(3,), strides=(1,), dilations=(2,), pads=((2, 2),)), [x.name],
               name="conv1", weights={"kernel": _sparse(rng, (3, 3, 5)), "bias": _sparse(rng, (5,), 0)})
    r1 = g.add(ops.Activation(function="relu"), [c1.name], name="relu1")
    c2 = g.add(ops.Conv(ndim=1, kernel_size=(3,), strides=(1,), dilations=(1,), pads=((1, 1),)), [r1.name],
               name="conv2", weights={"kernel": _sparse(rng, (3, 5, 5)), "bias": _sparse(rng, (5,), 0)})
    add = g.add(ops.Elementwise(operation="add"), [c2.name, r1.name], name="add")
    cat = g.add(ops.Concat(axis=-1), [add.name, r1.name], name="cat")
    tr = g.add(ops.Transpose(perm=(1, 0)), [cat.name], name="tr")
    back = g.add(ops.Transpose(perm=(1, 0)), [tr.name], name="back")
    gp = g.add(ops.GlobalPool(mode="max"), [back.name], name="gmax")
    d = g.add(ops.Dense(), [gp.name], name="fc", weights={"kernel": _sparse(rng, (10, 4)), "bias": np.zeros(4)})
    g.outputs = [d.name, add.name]  # add: an output that is also read by a layer (a split to the port)
    return g


def flat_mlp(rng: np.random.Generator) -> Graph:
    g = Graph("flat")
    x = g.add(ops.Input(shape=(16,)), name="x")
    d1 = g.add(ops.Dense(), [x.name], name="fc1", weights={"kernel": _sparse(rng, (16, 8)), "bias": np.zeros(8)})
    r = g.add(ops.Activation(function="relu"), [d1.name], name="relu")
    d2 = g.add(ops.Dense(), [r.name], name="fc2", weights={"kernel": _sparse(rng, (8, 3)), "bias": np.zeros(3)})
    g.outputs = [d2.name]
    return g


@pytest.fixture(scope="module")
def cnn_case(tmp_path_factory):
    rng = np.random.default_rng(7)
    model = onnx_cnn(rng)
    x = rng.uniform(-1, 1, size=(48, 3, 10, 10)).astype(np.float32)
    compiled = nn2hls.compile(model, Config(io_type="io_stream"), calibration=x)
    project = compiled.write(tmp_path_factory.mktemp("scnn") / "p", tb_input=x[:4])
    return compiled, x, project


@pytest.fixture(scope="module")
def branchy_case(tmp_path_factory):
    rng = np.random.default_rng(11)
    x = rng.uniform(-2, 2, size=(40, 12, 3))
    typed = run_passes(branchy(rng), Config(io_type="io_stream"), x)
    project = write_project(typed, Config(io_type="io_stream"), tmp_path_factory.mktemp("branchy") / "p")
    return typed, x, project


def _layer_modes(project) -> dict[str, str]:
    out = {}
    for path in (project / "firmware").glob("layer_*.cpp"):
        m = re.search(r"\(io_stream, (\w+)\)", path.read_text().splitlines()[0])
        out[path.stem[len("layer_"):]] = m.group(1)
    return out


def test_cnn_ports_fifos_and_modes(cnn_case):
    compiled, _, project = cnn_case
    name = compiled.graph.name
    top = (project / "firmware" / f"{name}.cpp").read_text()
    # the port carries the transposed input: 100 pixels of 3 channels; the output one element of 10
    assert re.search(r"hls::stream<nn2hls::pixel<input_t, 3> > &x_in", top)
    assert re.search(r"hls::stream<nn2hls::pixel<result0_t, 10> > &y_out0", top)
    assert "#pragma HLS INTERFACE axis port=x_in" in top and "#pragma HLS DATAFLOW" in top
    assert re.findall(r"#pragma HLS STREAM variable=\w+ depth=(\d+)", top) and \
        set(re.findall(r"#pragma HLS STREAM variable=\w+ depth=(\d+)", top)) == {"2"}  # a chain
    modes = _layer_modes(project)
    assert sorted(modes.values()).count("conv") == 2
    assert {"pool", "global_pool", "pixel", "tensor"} <= set(modes.values())
    assert not any("Transpose" in (project / "firmware" / f"layer_{k}.cpp").read_text().splitlines()[1]
                   for k in modes)  # the NCHW -> channels-last transpose is the port's layout, not a layer
    test = (project / "tb" / f"{name}_test.cpp").read_text()
    assert "x_in_order[300]" in test


@pytest.mark.csim
def test_cnn_csim_bit_exact(cnn_case):
    compiled, x, project = cnn_case
    from nn2hls.csim import build
    got = build(project, ap_types=own_headers()).predict(x)
    expected = compiled.emulate(x)
    assert got.shape == (48, 10) and np.array_equal(got, expected) and np.unique(got).size > 40


def tiny_cnn(rng: np.random.Generator) -> Graph:
    """6x6x2 -> Conv 3x3 pad 1 (3) -> ReLU -> AvgPool 3 stride 2 pad 1 -> GlobalMax -> Dense 4: every stream
    kernel in a model small enough for the slow-to-compile vendor headers."""
    g = Graph("tiny_stream")
    x = g.add(ops.Input(shape=(6, 6, 2)), name="x")
    c = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(1, 1), dilations=(1, 1), pads=((1, 1), (1, 1))),
              [x.name], name="conv", weights={"kernel": _sparse(rng, (3, 3, 2, 3)), "bias": _sparse(rng, (3,), 0)})
    r = g.add(ops.Activation(function="relu"), [c.name], name="relu")
    p = g.add(ops.Pool(mode="avg", ndim=2, pool_size=(3, 3), strides=(2, 2), pads=((1, 1), (1, 1)),
                       count_include_pad=False), [r.name], name="pool")
    gp = g.add(ops.GlobalPool(mode="max"), [p.name], name="gmax")
    d = g.add(ops.Dense(), [gp.name], name="fc", weights={"kernel": _sparse(rng, (3, 4)), "bias": np.zeros(4)})
    g.outputs = [d.name]
    return g


@pytest.mark.csim
@pytest.mark.parametrize("headers", ["own", "vendor"])
def test_tiny_cnn_bit_exact_under_both_header_sets(tmp_path, headers):
    if headers == "vendor" and not VENDOR:
        pytest.skip("NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
    from nn2hls.csim import build
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(30, 6, 6, 2))
    typed = run_passes(tiny_cnn(rng), Config(io_type="io_stream"), x)
    project = write_project(typed, Config(io_type="io_stream"), tmp_path / "tiny")
    got = build(project, ap_types=VENDOR if headers == "vendor" else own_headers()).predict(x)
    expected = emulate(typed, x).outputs[0]
    assert np.array_equal(got, expected) and np.unique(got).size > 20


@pytest.mark.csim
def test_cnn_testbench_passes(cnn_case):
    import subprocess
    from nn2hls.csim.toolchain import find_compiler
    from nn2hls.resources import hls_lib_dir
    compiled, _, project = cnn_case
    name = compiled.graph.name
    exe = project / "tb_run"
    subprocess.run([*find_compiler(), "-O1", "-std=c++17", "-I", str(hls_lib_dir()), "-I", "firmware",
                    f"tb/{name}_test.cpp", *[str(p.relative_to(project)) for p in (project / "firmware").glob("*.cpp")],
                    "-o", str(exe)], cwd=project, check=True, capture_output=True)
    run = subprocess.run([str(exe)], cwd=project, capture_output=True, text=True)
    assert run.returncode == 0 and "4 samples, 0 mismatching values" in run.stdout


@pytest.mark.csim
def test_branches_1d_and_adapters_bit_exact(branchy_case):
    typed, x, project = branchy_case
    modes = _layer_modes(project)
    assert modes == {"conv1": "conv", "relu1": "pixel", "conv2": "conv", "add": "pixel", "cat": "tensor",
                     "tr": "tensor", "back": "tensor", "gmax": "global_pool", "fc": "tensor"}
    top = (project / "firmware" / "branchy.cpp").read_text()
    # relu1 is read by conv2, add and cat: a split into three FIFOs as deep as the tensor (12 elements);
    # add is read by cat and is an output: a split into a FIFO and the port
    depths = dict(re.findall(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", top))
    assert {k: v for k, v in depths.items() if k.startswith("s_relu1_")} == {
        "s_relu1_0": "12", "s_relu1_1": "12", "s_relu1_2": "12"}
    assert "split_add(s_add, s_add_0, y_out1);" in top
    from nn2hls.csim import build
    got = build(project, ap_types=own_headers()).predict(x)
    expected = emulate(typed, x).outputs
    assert all(np.array_equal(g, e) for g, e in zip(got, expected))


@pytest.mark.csim
def test_flat_model_one_element_per_tensor(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, size=(30, 16))
    typed = run_passes(flat_mlp(rng), Config(io_type="io_stream"), x)
    project = write_project(typed, Config(io_type="io_stream"), tmp_path / "flat")
    top = (project / "firmware" / "flat.cpp").read_text()
    assert "hls::stream<nn2hls::pixel<input_t, 16> > &x_in" in top
    assert _layer_modes(project) == {"fc1": "tensor", "relu": "pixel", "fc2": "tensor"}
    from nn2hls.csim import build
    assert np.array_equal(build(project, ap_types=own_headers()).predict(x), emulate(typed, x).outputs[0])


def test_output_that_is_an_input_is_refused(tmp_path):
    g = Graph("ident")
    x = g.add(ops.Input(shape=(4,)), name="x")
    r = g.add(ops.Activation(function="relu"), [x.name], name="r")
    g.outputs = [r.name, x.name]
    typed = run_passes(g, Config(), np.ones((2, 4)))
    with pytest.raises(ConfigError, match=r"^io_stream: output 'x'.* is a model input; .*use io_parallel\)$"):
        write_project(typed, Config(io_type="io_stream"), tmp_path / "p")


# ---- DSPs == what the pragmas request ---------------------------------------------------------------
def _values(text: str, array: str) -> int:
    m = re.search(rf"\b{array}\[\d+\] = \{{(.*?)\}};", text, flags=re.S)
    return len([v for v in m.group(1).replace("\n", " ").split(",") if v.strip()]) if m else 0


def stream_multipliers(project) -> dict[str, int]:
    """Per weighted layer, from the emitted code alone: a line-buffer Conv's products (its `mul_w`
    entries) sit in its `Positions` loop at `II = k`: ceil(products / k) multipliers; an adapter's
    io_parallel Dense function is pipelined at `II = k`: ceil(products * positions / k) (positions = 1
    here). The ALLOCATION pragma must request exactly that many."""
    out = {}
    for path in sorted((project / "firmware").glob("layer_*.cpp")):
        text = path.read_text()
        products = _values(text, "mul_w") + _values(text, "grp_w")
        if not products:
            continue
        layer = path.stem[len("layer_"):]
        if "(io_stream, conv)" in text:
            ii = re.search(r"Positions:\n  for \(int q = 0; q < \d+; q\+\+\) \{\n#pragma HLS PIPELINE II = (\d+)", text)
        else:
            ii = re.search(r"static void layer_\w+_tensor\(.*\) \{\n#pragma HLS PIPELINE II = (\d+)", text)
        out[layer] = math.ceil(products / int(ii.group(1)))
        limit = re.search(r"#pragma HLS ALLOCATION .*instances=mul limit=(\d+)", text)
        if int(ii.group(1)) > 1:
            assert int(limit.group(1)) == out[layer], (layer, limit.group(0))
        else:
            assert limit is None
    return out


def _general_cnn(rng: np.random.Generator) -> Graph:
    """Two Convs and a Dense whose nonzero weights all have 5 significant bits (1 DSP each, 16-bit inputs)."""
    general = np.array([17, 19, 21, 23, 25, 27, 29, 31]) / 32.0

    def w(shape):
        v = rng.choice(general, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        v[rng.random(size=shape) < 0.3] = 0.0
        return v
    g = Graph("rfcnn")
    x = g.add(ops.Input(shape=(10, 10, 3)), name="x")
    c1 = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(1, 1), dilations=(1, 1), pads=((1, 1), (1, 1))),
               [x.name], name="conv1", weights={"kernel": w((3, 3, 3, 4)), "bias": np.zeros(4)})
    r1 = g.add(ops.Activation(function="relu"), [c1.name], name="relu1")
    c2 = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(2, 2), dilations=(1, 1), pads=((0, 0), (0, 0))),
               [r1.name], name="conv2", weights={"kernel": w((3, 3, 4, 4)), "bias": np.zeros(4)})
    f = g.add(ops.Reshape(shape=(64,)), [c2.name], name="flat")
    d = g.add(ops.Dense(), [f.name], name="fc", weights={"kernel": w((64, 10)), "bias": np.zeros(10)})
    g.outputs = [d.name]
    return g


@pytest.fixture(scope="module")
def rf_cnn():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 2, size=(20, 10, 10, 3))
    return run_passes(_general_cnn(rng), Config(), x), x


@pytest.mark.parametrize("rf", [1, 2, 4, 8])
def test_report_dsp_equals_stream_pragmas(tmp_path, rf_cnn, rf):
    typed, _ = rf_cnn
    config = Config(io_type="io_stream", reuse_factor=rf)
    project = write_project(typed, config, tmp_path / f"rf{rf}")
    counted = stream_multipliers(project)
    report = build_report(typed, config)
    assert set(counted) == {"conv1", "conv2", "fc"}
    assert {r["name"]: r["dsp"] for r in report["layers"] if r["name"] in counted} == counted
    # latency: conv1 walks its padded 12 x 12 scan at II = RF (docs/report.md, io_stream)
    conv1 = next(r for r in report["layers"] if r["name"] == "conv1")
    parallel = next(r for r in build_report(typed, Config(reuse_factor=rf, strategy="resource"))["layers"]
                    if r["name"] == "conv1")
    assert conv1["latency_cycles"] - parallel["latency_cycles"] == (144 - 100) * rf
    assert report["totals"]["interval_cycles"] == max(r["latency_cycles"] for r in report["layers"])


@pytest.mark.csim
def test_rf4_stream_csim_bit_exact(tmp_path, rf_cnn):
    typed, x = rf_cnn
    from nn2hls.csim import build
    project = write_project(typed, Config(io_type="io_stream", reuse_factor=4), tmp_path / "rf4")
    assert np.array_equal(build(project, ap_types=own_headers()).predict(x), emulate(typed, x).outputs[0])


# ---- synthesizability lint --------------------------------------------------------------------------
@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
def test_stream_projects_pass_the_lint(cnn_case, branchy_case):
    from nn2hls.backends.vivado.lint import CLANG_NAMES, lint_project
    if not (os.environ.get("NN2HLS_CLANG") or any(shutil.which(n) for n in CLANG_NAMES)):
        pytest.skip("clang++ is not installed (apt-get install clang): needed by the lint")
    assert lint_project(cnn_case[2], VENDOR) == []
    assert lint_project(branchy_case[2], VENDOR) == []


# ---- command line -----------------------------------------------------------------------------------
def _cli(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "nn2hls", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def test_cli_convert_io_stream_vitis_and_verilog_refusal(tmp_path):
    from nn2hls.resources import example_models_dir
    digits = example_models_dir() / "digits_cnn.onnx"
    proc = _cli("convert", digits, "-o", tmp_path / "prj", "--io-type", "io_stream", "--backend", "vitis", "--quiet")
    assert proc.returncode == 0, proc.stderr
    project = tmp_path / "prj"
    assert '"io_type": "io_stream"' in (project / "nn2hls_project.json").read_text()
    top = (project / "firmware" / "digits_cnn.cpp").read_text()
    assert "#pragma HLS INTERFACE mode=axis port=x_in" in top and "DATA_PACK" not in top  # Vitis: structs aggregate
    assert "io_stream" in (project / "nn2hls_config.yml").read_text()
    proc = _cli("convert", digits, "-o", tmp_path / "v", "--io-type", "io_stream", "--backend", "verilog")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and lines[-1].startswith("error: ") and "Traceback" not in proc.stderr
    assert "io_type 'io_stream' is not supported by the Verilog backend; use 'io_parallel'" in lines[-1]
    assert len(lines) == 1 and not (tmp_path / "v").exists()  # refused before calibration notes and any file
