"""Generated Verilog project: golden files, determinism, one constant product per general weight and
none for zeros or +-2^k, the pipeline option, and the unsupported-op error (no simulator needed)."""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import backend_models  # noqa: E402
from nn2hls.backends.verilog import write_project  # noqa: E402
from nn2hls.config import Config  # noqa: E402
from nn2hls.errors import UnsupportedOpError  # noqa: E402
from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.graph import Graph  # noqa: E402
from nn2hls.ir.types import FixedType  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "verilog_tiny"
REGEN = os.environ.get("NN2HLS_REGEN_GOLDEN") == "1"
VERILOG = Config(backend="verilog")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_golden_project(tmp_path):
    project = write_project(backend_models.tiny_mlp(), VERILOG, tmp_path / "tiny")
    files = _files(project)
    if REGEN:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, data in files.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    golden = _files(GOLDEN)
    assert set(files) == set(golden), "regenerate with NN2HLS_REGEN_GOLDEN=1 after an intended change"
    for name in files:
        assert files[name].decode() == golden[name].decode(), name


def test_deterministic_and_relocatable(tmp_path):
    a = write_project(backend_models.tiny_mlp(), VERILOG, tmp_path / "a")
    b = write_project(backend_models.tiny_mlp().copy(), VERILOG, tmp_path / "deeper" / "b")
    assert _files(a) == _files(b)
    assert sorted(_files(a)) == ["README.md", "nn2hls_project.json", "rtl/tiny.v", "rtl/tiny_fc1.v", "rtl/tiny_fc2.v",
                                 "rtl/tiny_relu1.v", "tb/tiny_tb.v"]


def test_tiny_products_by_hand(tmp_path):
    """fc1's kernel has 3 weights that are not 0, +-1 or +-2^k (0.375, -0.625, 1.125), fc2's one (0.75):
    exactly those become constant products (x * 3, x * 5, x * 9 and x * 3 at 5 fraction bits)."""
    project = write_project(backend_models.tiny_mlp(), VERILOG, tmp_path / "p")
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    assert manifest["layer_products"] == {"fc1": 3, "relu1": 0, "fc2": 1}
    fc1 = (project / "rtl" / "tiny_fc1.v").read_text()
    constants = sorted(int(m, 16) for m in re.findall(r"\* \d+'sh([0-9a-f]+);", fc1))
    assert constants == [3, 5, 9]
    assert manifest["latency"] == 3 and "always @(posedge clk)" in fc1


def test_pruned_layer_has_one_product_per_distinct_general_weight(tmp_path):
    g = backend_models.pruned_dense(np.random.default_rng(5))
    kernel = g["dense"].weights["kernel"]
    nz = kernel[kernel != 0]
    general = int(np.sum(np.frexp(np.abs(nz))[0] != 0.5))  # not +-2^k (+-1 included)
    distinct = set()  # (input, odd part of the raw weight at 4 fraction bits): x_i * m written once
    for i, o in zip(*np.nonzero(kernel)):
        m = abs(int(kernel[i, o] * 16))
        m //= m & -m
        if m > 1:
            distinct.add((i, m))
    project = write_project(g, VERILOG, tmp_path / "p")
    text = (project / "rtl" / "pruned_dense.v").read_text()
    assert text.count(" * ") == len(distinct) < general
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    assert manifest["layer_products"] == {"dense": general}
    assert manifest["layer_multipliers"] == {"dense": len(distinct)}


def test_no_pipeline_option(tmp_path):
    project = write_project(backend_models.tiny_mlp(), Config(backend="verilog", rtl_pipeline=False), tmp_path / "p")
    assert json.loads((project / "nn2hls_project.json").read_text())["latency"] == 0
    assert "always" not in (project / "rtl" / "tiny_fc1.v").read_text()


def test_unsupported_op_names_node_and_op(tmp_path):
    g = Graph("reduce")
    x = g.add(ops.Input(shape=(4, 3)), name="x")
    r = g.add(ops.Reduce(mode="sum", axes=(0,)), [x.name], name="sum1")
    g.outputs = [r.name]
    t = FixedType.parse("ap_fixed<8,4>")
    x.precision = {"result": t}
    r.precision = {"accum": FixedType.parse("ap_fixed<16,8>"), "result": t}
    with pytest.raises(UnsupportedOpError, match=r"^node 'sum1': op Reduce is not supported by the Verilog backend"):
        write_project(g, VERILOG, tmp_path / "p")
    assert not (tmp_path / "p").exists()
