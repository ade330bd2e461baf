"""The synthesizability lint (nn2hls.backends.vivado.lint) on the generated projects, and on three
hand-written defects it must catch: a recursive helper, a variable-bound loop and a load from a weight
array at a data-dependent address (each defect is checked on its own copy of a clean project).

The projects: the example models (digits CNN, pruned jet MLP) and the all-op C-sim fixtures
(tests/csim/csim_models.py); the 3x32x32 RF-scan CNN is linted in tests/backends/test_reuse.py.
Needs clang++ (14+) and the vendor ap_types headers (NN2HLS_AP_TYPES).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "csim"))
import backend_models  # noqa: E402
import csim_models  # noqa: E402
from nn2hls.backends.vivado import write_project
from nn2hls.backends.vivado.lint import CLANG_NAMES, lint_project
from nn2hls.config import Config
from nn2hls.frontends.onnx import load_onnx
from nn2hls.passes.pipeline import run_passes
from nn2hls.resources import example_models_dir

VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")
HAVE_CLANG = bool(os.environ.get("NN2HLS_CLANG")) or any(shutil.which(n) for n in CLANG_NAMES)
pytestmark = [
    pytest.mark.vendor,
    pytest.mark.skipif(not HAVE_CLANG, reason="clang++ is not installed (apt-get install clang): the "
                       "synthesizability lint compiles the synthesis view to LLVM IR with it"),
    pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable"),
]


def _model(name: str):
    if name in ("digits_cnn", "jet_mlp_pruned"):
        return load_onnx(example_models_dir() / f"{name}.onnx")
    return getattr(csim_models, name)(np.random.default_rng(7))


@pytest.mark.parametrize("name", ["digits_cnn", "jet_mlp_pruned", "bn_mlp", "cnn2d", "cnn1d", "wiring"])
def test_generated_projects_pass_the_lint(tmp_path, name):
    graph = _model(name)
    x = np.random.default_rng(1).normal(size=(200, *graph.input.shape))
    project = write_project(run_passes(graph, Config(), x), Config(), tmp_path / name)
    assert lint_project(project, VENDOR) == []


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory):
    return write_project(backend_models.tiny_mlp(), Config(), tmp_path_factory.mktemp("lint") / "tiny")


def _with_defect(tiny_project, tmp_path, helper: str, statement: str) -> Path:
    """A copy of the tiny project whose layer fc1 gets `helper` (at file scope) and `statement` (at
    the end of the layer function)."""
    project = tmp_path / "defect"
    shutil.copytree(tiny_project, project)
    layer = project / "firmware" / "layer_fc1.cpp"
    text = layer.read_text()
    head, tail = text.rsplit("}", 1)
    marker = "void layer_fc1("
    text = text.replace(marker, helper + "\n" + marker) if helper else text
    head, tail = text.rsplit("}", 1)
    layer.write_text(head + statement + "\n}" + tail)
    return project


def test_clean_tiny_project(tiny_project):
    assert lint_project(tiny_project, VENDOR) == []


def test_recursive_helper_is_found(tiny_project, tmp_path):
    helper = ("static double lint_pow2(int e) {\n"
              "  return e == 0 ? 1.0 : e > 0 ? 2.0 * lint_pow2(e - 1) : 0.5 * lint_pow2(e + 1);\n}")
    project = _with_defect(tiny_project, tmp_path, helper, "  y[0] = lint_pow2(x0[0].to_int());")
    findings = lint_project(project, VENDOR)
    assert [f.kind for f in findings] == ["recursion"], findings
    assert "lint_pow2" in findings[0].where


def test_variable_bound_loop_is_found(tiny_project, tmp_path):
    statement = ("  for (int i = 0; i < x0[1].to_int(); i++) {\n"
                 "    y[i % 3] = y[(i + 1) % 3] + x0[i % 4];\n  }")
    project = _with_defect(tiny_project, tmp_path, "", statement)
    findings = lint_project(project, VENDOR)
    line = (project / "firmware" / "layer_fc1.cpp").read_text().splitlines().index(statement.splitlines()[0]) + 1
    assert [(f.kind, f.where) for f in findings] == [("loop", f"firmware/layer_fc1.cpp:{line}")], findings


def test_unrolled_variable_bound_loop_is_found(tiny_project, tmp_path):
    statement = ("  for (int i = 0; i < x0[1].to_int(); i++) {\n#pragma HLS UNROLL\n"
                 "    y[i % 3] = y[(i + 1) % 3] + x0[i % 4];\n  }")
    project = _with_defect(tiny_project, tmp_path, "", statement)
    findings = lint_project(project, VENDOR)
    line = (project / "firmware" / "layer_fc1.cpp").read_text().splitlines().index(statement.splitlines()[0]) + 1
    assert [(f.kind, f.where) for f in findings] == [("loop", f"firmware/layer_fc1.cpp:{line}")], findings
    assert "not unrolled" in findings[0].message


def test_surviving_array_load_is_found(tiny_project, tmp_path):
    statement = "  y[1] = bias[x0[2].to_int() & 3];"
    project = _with_defect(tiny_project, tmp_path, "", statement)
    findings = lint_project(project, VENDOR)
    line = (project / "firmware" / "layer_fc1.cpp").read_text().splitlines().index(statement) + 1
    assert [(f.kind, f.where) for f in findings] == [("array", f"firmware/layer_fc1.cpp:{line}")], findings
    assert "fc1::bias" in findings[0].message


def test_constant_index_load_is_not_a_finding(tiny_project, tmp_path):
    """The control for the test above: the same read at a constant address folds (no finding)."""
    project = _with_defect(tiny_project, tmp_path, "", "  y[1] = bias[2];")
    assert lint_project(project, VENDOR) == []


def test_cli_lint(tiny_project, tmp_path):
    import subprocess
    project = _with_defect(tiny_project, tmp_path, "", "  y[1] = bias[x0[2].to_int() & 3];")
    run = subprocess.run([sys.executable, "-m", "nn2hls", "lint", str(project), "--ap-types", VENDOR],
                         capture_output=True, text=True)
    assert run.returncode == 1 and run.stdout.startswith("array: firmware/layer_fc1.cpp:"), run.stdout + run.stderr
    run = subprocess.run([sys.executable, "-m", "nn2hls", "lint", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.startswith("error: ") and "not an nn2hls project" in run.stderr
