"""Structural layers in C simulation: Pad (zero, nonzero and out-of-range values, cropping pads), Slice
(strided, reversed), Upsample, DepthToSpace (DCR, CRD), SpaceToDepth, Keras ZeroPadding/UpSampling/
Cropping/Permute. C-sim == emulator bit for bit with nn2hls's ap types and with the vendor headers
(NN2HLS_AP_TYPES); the report counts no arithmetic for them; the gather tables are tiny."""
from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import nn2hls
from nn2hls.ir import ops
from nn2hls.ir.types import FixedType
from nn2hls.testing import assert_bit_exact

pytestmark = pytest.mark.csim
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
STRUCTURAL = tuple(ops.STRUCTURAL_OPS)


def _const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def onnx_chain() -> onnx.ModelProto:
    """Conv -> Pad(0.75, a cropping side) -> Resize x2 -> Slice (reversed, strided) -> DepthToSpace DCR
    -> SpaceToDepth -> DepthToSpace CRD -> Pad(100: outside the data's range) -> Conv."""
    rng = np.random.default_rng(0)
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"]),
        n("Pad", ["c1", "p1", "v1"], ["p"]),
        n("Resize", ["p", "", "sc"], ["u"], mode="nearest", coordinate_transformation_mode="asymmetric",
          nearest_mode="floor"),
        n("Slice", ["u", "st", "en", "ax", "sp"], ["s"]),
        n("DepthToSpace", ["s"], ["d"], blocksize=2, mode="DCR"),
        n("SpaceToDepth", ["d"], ["e"], blocksize=2),
        n("DepthToSpace", ["e"], ["f"], blocksize=2, mode="CRD"),
        n("Pad", ["f", "p2", "v2"], ["g"]),
        n("Conv", ["g", "w2"], ["y"]),
    ]
    inits = [
        _const("w1", rng.normal(size=(8, 3, 1, 1))), _const("b1", rng.normal(size=8) * 0.1),
        _const("p1", [0, 0, 1, -1, 0, 0, 0, 2], np.int64), _const("v1", 0.75),
        _const("sc", [1, 1, 2, 2]),
        _const("st", [7, 0], np.int64), _const("en", [-100, 100], np.int64), _const("ax", [2, 3], np.int64),
        _const("sp", [-1, 2], np.int64),
        _const("p2", [0, 0, 1, 0, 0, 0, 0, 1], np.int64), _const("v2", 100.0),
        _const("w2", rng.normal(size=(3, 2, 2, 2))),
    ]
    graph = helper.make_graph(nodes, "structure", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="module")
def compiled_onnx():
    x = np.random.default_rng(1).normal(size=(300, 3, 4, 5)) * 1.5
    return nn2hls.compile(onnx_chain(), calibration=x[:200]), x


def test_onnx_structure_chain_bit_exact(compiled_onnx):
    compiled, x = compiled_onnx
    kinds = [n.op.kind for n in compiled.graph.topological()]
    for kind in ("Pad", "Slice", "Upsample", "DepthToSpace", "SpaceToDepth"):
        assert kind in kinds
    assert_bit_exact(compiled, x)


def test_pad_value_outside_the_input_type_gets_a_wider_result(compiled_onnx):
    compiled, _ = compiled_onnx
    pads = [n for n in compiled.graph.topological() if isinstance(n.op, ops.Pad)]
    late = next(p for p in pads if p.op.value == 100.0)
    x_t = compiled.graph.nodes[late.inputs[0]].precision["result"]
    r_t = late.precision["result"]
    assert x_t.max_raw * 2.0 ** -x_t.frac < 100 <= r_t.max_raw * 2.0 ** -r_t.frac
    early = next(p for p in pads if p.op.value == 0.75)
    assert early.precision["result"] == compiled.graph.nodes[early.inputs[0]].precision["result"]


def test_structure_costs_nothing_in_the_report(compiled_onnx):
    compiled, _ = compiled_onnx
    rows = {r["name"]: r for r in compiled.report()["layers"]}
    for node in compiled.graph.topological():
        if isinstance(node.op, STRUCTURAL):
            row = rows[node.name]
            assert row["multiplies"] == row["adders"] == row["dsp"] == row["latency_cycles"] == 0


def test_gather_tables_are_per_axis(compiled_onnx, tmp_path):
    """The upsampled map's wiring is a few short tables, not one entry per output element."""
    compiled, _ = compiled_onnx
    compiled.write(tmp_path / "prj")
    up = next(n for n in compiled.graph.topological() if isinstance(n.op, ops.Upsample))
    text = (tmp_path / "prj" / "firmware" / f"layer_{up.name}.cpp").read_text()
    assert "gather_axes" in text and "*" not in text.split("void layer_")[1].split("gather_axes")[0]
    entries = sum(int(line.split(":")[1].split()[0]) for line in text.splitlines() if line.startswith("// m"))
    assert entries < int(np.prod(up.shape))


@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES not set")
def test_onnx_structure_chain_bit_exact_vendor_headers(compiled_onnx):
    compiled, x = compiled_onnx
    assert_bit_exact(compiled, x[:100], ap_types=VENDOR)


def test_keras_structure_bit_exact(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    L = keras.layers
    keras.utils.set_random_seed(3)
    inp = keras.Input((6, 5, 3))
    h = L.ZeroPadding2D(((1, 2), (0, 3)))(inp)
    h = L.Conv2D(4, 3, activation="relu")(h)
    h = L.UpSampling2D((2, 3))(h)
    h = L.Cropping2D(((1, 0), (2, 1)))(h)
    h = L.Permute((3, 1, 2))(h)
    model = keras.Model(inp, h, name="kstruct")
    model.save(tmp_path / "kstruct.keras")
    x = np.random.default_rng(4).normal(size=(200, 6, 5, 3))
    compiled = nn2hls.compile(tmp_path / "kstruct.keras", calibration=x)
    assert_bit_exact(compiled, x)
    if VENDOR:
        assert_bit_exact(compiled, x[:50], ap_types=VENDOR)


def test_pad_with_explicit_narrow_result_saturates_the_fill_identically():
    """A configured result type that cannot hold the pad value: the constant saturates the same way in
    both paths (quantized once to the result type)."""
    model = onnx_chain()
    x = np.random.default_rng(5).normal(size=(100, 3, 4, 5))
    graph = nn2hls.compile(model, calibration=x).graph
    late = next(n for n in graph.topological() if isinstance(n.op, ops.Pad) and n.op.value == 100.0)
    narrow = FixedType.parse("ap_fixed<12,5,AP_RND,AP_SAT>")
    config = {"precision": {"layers": {late.source_name: {"result": str(narrow)}}}}
    compiled = nn2hls.compile(model, config, calibration=x)
    node = next(n for n in compiled.graph.topological() if n.source_name == late.source_name
                and isinstance(n.op, ops.Pad))
    assert node.precision["result"] == narrow
    assert_bit_exact(compiled, x)


@pytest.mark.vendor
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES not set")
@pytest.mark.parametrize("view", ["csim", "synthesis"])
def test_structure_firmware_is_cxx11_for_the_hls_tools(compiled_onnx, tmp_path, view):
    """As tests/csim/test_hls_view.py: the gather kernel compiles as C++11 with the vendor headers."""
    import subprocess

    from nn2hls.csim.toolchain import find_compiler
    compiled, _ = compiled_onnx
    project = compiled.write(tmp_path / "prj")
    sources = sorted((project / "firmware").glob("*.cpp"))
    prelude = '#include "ap_fixed.h"\n#include "ap_int.h"\n#define __SYNTHESIS__\n' if view == "synthesis" else ""
    unit = project / f"{view}_view.cpp"
    unit.write_text(prelude + "".join(f'#include "firmware/{s.name}"\n' for s in sources))
    run = subprocess.run([*find_compiler(), "-std=c++11", "-fsyntax-only", "-I", VENDOR, unit.name],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
