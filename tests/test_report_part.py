"""Report vs the target part (nn2hls.parts) and vs the HLS tool's csynth reports (nn2hls.csynth).

Part numbers are written down by hand from the data sheets (DS923/DS890, DS891, DS190); the csynth
reports are hand-written in the schema the tools write (a `<profile>` with UserAssignments,
PerformanceEstimates/SummaryOfOverallLatency and AreaEstimates/Resources; Vivado HLS names the DSP
element DSP48E, Vitis HLS DSP)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nn2hls.config import Config
from nn2hls.csynth import read_csynth
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.parts import part_resources
from nn2hls.report import build_report
from nn2hls.resources import example_models_dir


def test_part_table_from_the_data_sheets():
    vu13p = part_resources("xcvu13p-flga2577-2-e")
    assert (vu13p.dsp, vu13p.lut, vu13p.ff, vu13p.bram18) == (12288, 1728000, 3456000, 5376)
    z7020 = part_resources("xc7z020clg400-1")
    assert (z7020.dsp, z7020.lut, z7020.ff, z7020.bram18) == (220, 53200, 106400, 280)
    assert part_resources("xcvu9p-flgb2104-2-i").dsp == 6840
    assert part_resources("xc7a35t-cpg236-1") is None


def _dense(n_in: int = 64, n_out: int = 32) -> Graph:
    g = Graph("wide")
    x = g.add(ops.Input(shape=(n_in,)), name="x")
    # odd multiples of 2^-10: 10 significant bits (one DSP each), too many distinct values to share
    w = np.random.default_rng(0).choice(np.arange(513, 1024, 2) / 1024.0, size=(n_in, n_out))
    d = g.add(ops.Dense(), [x.name], name="fc", weights={"kernel": w, "bias": np.zeros(n_out)})
    g.outputs = [d.name]
    return g


def test_warning_when_the_design_exceeds_the_part():
    from nn2hls.passes.pipeline import run_passes
    x = np.random.default_rng(1).uniform(-1, 1, size=(50, 64))
    small = Config(part="xc7z020clg400-1")
    typed = run_passes(_dense(), small, x)
    report = build_report(typed, small)
    assert report["totals"]["dsp"] == 64 * 32 > 220
    assert len(report["warnings"]) == 1 and "2048 DSP slices exceed the 220 of xc7z020" in report["warnings"][0]
    shared = Config(part="xc7z020clg400-1", reuse_factor=16)
    report = build_report(typed, shared)
    assert report["totals"]["dsp"] == 128 and report["warnings"] == []
    assert build_report(typed, Config(part="xcvu13p-flga2577-2-e"))["warnings"] == []
    assert build_report(typed, Config(part="xc7a35t-cpg236-1"))["warnings"] == []  # unknown part: no claim


def _csynth(module: str, dsp_tag: str, dsp: int, latency: int) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <UserAssignments>
    <Part>xcvu13p-flga2577-2-e</Part>
    <TopModelName>{module}</TopModelName>
    <TargetClockPeriod>5.00</TargetClockPeriod>
  </UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><EstimatedClockPeriod>4.123</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <Best-caseLatency>{latency}</Best-caseLatency>
      <Worst-caseLatency>{latency}</Worst-caseLatency>
      <Interval-min>1</Interval-min>
      <Interval-max>1</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources>
      <BRAM_18K>2</BRAM_18K>
      <{dsp_tag}>{dsp}</{dsp_tag}>
      <FF>1234</FF>
      <LUT>5678</LUT>
      <URAM>0</URAM>
    </Resources>
    <AvailableResources>
      <BRAM_18K>5376</BRAM_18K><{dsp_tag}>12288</{dsp_tag}><FF>3456000</FF><LUT>1728000</LUT><URAM>1280</URAM>
    </AvailableResources>
  </AreaEstimates>
</profile>
"""


@pytest.mark.parametrize("dsp_tag", ["DSP48E", "DSP"])
def test_read_csynth_both_tool_flavours(tmp_path, dsp_tag):
    path = tmp_path / "top_csynth.xml"
    path.write_text(_csynth("top", dsp_tag, 42, 17))
    got = read_csynth(path)
    assert (got["module"], got["dsp"], got["lut"], got["ff"], got["bram18"]) == ("top", 42, 5678, 1234, 2)
    assert (got["latency_worst"], got["interval_max"], got["estimated_clock_ns"]) == (17, 1, 4.123)


def test_report_project_shows_estimate_vs_synthesis(tmp_path):
    project = tmp_path / "jet"
    run = [sys.executable, "-m", "nn2hls"]
    x = tmp_path / "x.npy"
    np.save(x, np.load(example_models_dir() / "jet_mlp_input.npy")[:100])
    subprocess.run(run + ["convert", str(example_models_dir() / "jet_mlp.onnx"), "-o", str(project),
                          "--calibration", str(x)], check=True, capture_output=True, text=True)
    name = json.loads((project / "nn2hls_project.json").read_text())["project"]
    before = json.loads(subprocess.run(run + ["report", str(project), "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    assert "synthesis" not in before
    dense = [r["name"] for r in before["layers"] if r["op"] == "Dense"]
    folder = project / f"{name}_prj" / "solution1" / "syn" / "report"
    folder.mkdir(parents=True)
    (folder / f"{name}_csynth.xml").write_text(_csynth(name, "DSP48E", 999, 31))
    (folder / f"layer_{dense[0]}_csynth.xml").write_text(_csynth(f"layer_{dense[0]}", "DSP48E", 321, 7))
    after = json.loads(subprocess.run(run + ["report", str(project), "--json"], check=True,
                                      capture_output=True, text=True).stdout)
    rows = {r["name"]: r for r in after["layers"]}
    assert (rows[dense[0]]["synthesis_dsp"], rows[dense[0]]["synthesis_latency"]) == (321, 7)
    assert rows[dense[1]]["synthesis_dsp"] is None
    assert after["synthesis"]["top"]["dsp"] == 999
    text = subprocess.run(run + ["report", str(project)], check=True, capture_output=True, text=True).stdout
    table = text.split("estimate vs synthesis (csynth reports):\n")[1].splitlines()
    assert table[0].split()[:3] == ["layer", "DSP", "est."]
    first = next(line for line in table if line.startswith(dense[0] + " "))
    assert first.split()[1:] == [str(rows[dense[0]]["dsp"]), "321", str(rows[dense[0]]["latency_cycles"]), "7"]
    assert table[-1].split()[:2] == ["total", "(top)"] and "999" in table[-1].split()
