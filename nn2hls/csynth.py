"""Read the synthesis reports Vivado HLS / Vitis HLS write after `csynth_design`.

Schema (the tools' `syn/report/<module>_csynth.xml`, one file per synthesized function, the top's
also copied to `csynth.xml`): a `<profile>` root with
- `UserAssignments/{Part, TopModelName, TargetClockPeriod}`;
- `PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod` (ns);
- `PerformanceEstimates/SummaryOfOverallLatency/{Best-caseLatency, Worst-caseLatency, Interval-min,
  Interval-max}` (cycles; "undef" when the tool cannot bound them);
- `AreaEstimates/Resources/{BRAM_18K, DSP (Vitis HLS) or DSP48E (Vivado HLS), FF, LUT, URAM}` and
  `AreaEstimates/AvailableResources` with the same elements for the part.
Rule: a project's reports are found under `<project>/<name>_prj/solution1/syn/report/` (the folder
build_prj.tcl creates) or `<project>/<name>_prj/hls/syn/report/` (the v++ / vitis-run flow); a
layer's report is `layer_<node>_csynth.xml` (each layer is its own function).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from nn2hls.errors import ModelLoadError


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None  # "undef"


def read_csynth(path: str | Path) -> dict[str, Any]:
    """One csynth XML report as {module, part, clock_ns, estimated_clock_ns, latency_best,
    latency_worst, interval_min, interval_max, dsp, lut, ff, bram18, uram}."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ModelLoadError(f"cannot read the csynth report '{path}': {exc}; give the XML the HLS tool wrote")
    res = root.find("AreaEstimates/Resources")

    def area(*names: str) -> int | None:
        for name in names:
            node = res.find(name) if res is not None else None
            if node is not None:
                return _int(node.text)
        return None

    latency = "PerformanceEstimates/SummaryOfOverallLatency/"
    clock = root.findtext("PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod")
    return {"module": root.findtext("UserAssignments/TopModelName") or path.name.replace("_csynth.xml", ""),
            "part": root.findtext("UserAssignments/Part") or "",
            "clock_ns": float(root.findtext("UserAssignments/TargetClockPeriod") or 0) or None,
            "estimated_clock_ns": float(clock) if clock else None,
            "latency_best": _int(root.findtext(latency + "Best-caseLatency")),
            "latency_worst": _int(root.findtext(latency + "Worst-caseLatency")),
            "interval_min": _int(root.findtext(latency + "Interval-min")),
            "interval_max": _int(root.findtext(latency + "Interval-max")),
            "dsp": area("DSP", "DSP48E"), "lut": area("LUT"), "ff": area("FF"), "bram18": area("BRAM_18K"),
            "uram": area("URAM")}


def report_folder(project: str | Path, name: str) -> Path | None:
    for sub in ("solution1/syn/report", "hls/syn/report"):
        folder = Path(project) / f"{name}_prj" / sub
        if folder.is_dir():
            return folder
    return None


def project_synthesis(project: str | Path, name: str, layers: list[str]) -> dict[str, Any] | None:
    """{top: report, layers: {layer: report}} of a synthesized project, None when it has no report."""
    folder = report_folder(project, name)
    if folder is None:
        return None
    top = folder / f"{name}_csynth.xml"
    if not top.is_file():
        top = folder / "csynth.xml"
    if not top.is_file():
        return None
    per_layer = {}
    for layer in layers:
        path = folder / f"layer_{layer}_csynth.xml"
        if path.is_file():
            per_layer[layer] = read_csynth(path)
    return {"top": read_csynth(top), "layers": per_layer}
