"""The generated firmware as the HLS tools read it: C++11 (build_prj.tcl passes -std=c++0x) against
the vendor ap_types headers, in both views of hls_lib's kernels.

The C-simulation view is what `csim_design` compiles; the synthesis view (`__SYNTHESIS__` defined,
as in csynth_design: plain const arrays, one adder tree per full Dense row, no g++ pragmas) is
compiled here with the vendor headers included first, because the open-source vendor headers refuse
`__SYNTHESIS__` themselves. Only syntax and template instantiation are checked (-fsyntax-only); the
numbers are checked by the bit-exact tests. Models: every op (the synthetic C-sim models), the
pruned jet MLP (every Dense row-block kind) and a shared-weight Dense layer.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import csim_models  # noqa: E402
from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.csim.toolchain import find_compiler
from nn2hls.frontends.onnx import load_onnx
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes
from nn2hls.resources import example_models_dir

VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
pytestmark = [pytest.mark.vendor,
              pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")]


def _shared_weights(rng: np.random.Generator) -> Graph:
    g = Graph("shared")
    x = g.add(ops.Input(shape=(24,)), name="x")
    kernel = rng.choice([-0.8125, -0.4375, 0.0, 0.0, 0.4375, 0.8125, 1.0, -0.5], size=(24, 10))
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": kernel, "bias": np.zeros(10)})
    g.outputs = [d.name]
    return g


def _graph(name: str) -> Graph:
    if name == "jet_mlp_pruned":
        return load_onnx(example_models_dir() / "jet_mlp_pruned.onnx")
    if name == "shared":
        return _shared_weights(np.random.default_rng(0))
    return getattr(csim_models, name)(np.random.default_rng(7))


@pytest.mark.parametrize("name", ["bn_mlp", "cnn2d", "cnn1d", "wiring", "jet_mlp_pruned", "shared"])
@pytest.mark.parametrize("view", ["csim", "synthesis"])
def test_firmware_is_cxx11_for_the_hls_tools(tmp_path, name, view):
    graph = _graph(name)
    x = np.random.default_rng(1).normal(size=(300, *graph.input.shape))
    project = write_project(run_passes(graph, Config(), x), Config(), tmp_path / name)
    sources = sorted((project / "firmware").glob("*.cpp"))
    if name == "shared":
        assert "nn2hls::dense_group_products<" in "".join(s.read_text() for s in sources)
    prelude = '#include "ap_fixed.h"\n#include "ap_int.h"\n#define __SYNTHESIS__\n' if view == "synthesis" else ""
    unit = project / f"{view}_view.cpp"
    unit.write_text(prelude + "".join(f'#include "firmware/{s.name}"\n' for s in sources))
    run = subprocess.run([*find_compiler(), "-std=c++11", "-fsyntax-only", "-I", VENDOR, unit.name],
                         cwd=project, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
