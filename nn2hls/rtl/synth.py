"""Synthesize a Verilog project with yosys and count the cells of every layer module.

Rules:
- Target: a Xilinx part maps to its yosys family (`xcvu..p`, `xcku..p`, `xczu`, `xcau`: xcup, i.e.
  UltraScale+ with DSP48E2; `xcvu`/`xcku`: xcu; `xc7`: xc7) and runs `synth_xilinx -family F -noiopad`
  (hierarchy kept, so each layer module is counted on its own); any other part runs the generic
  `synth` with 6-input LUTs (`-lut 6`: no DSPs).
- Counts, from `stat -json` per module: DSP = DSP48E1/DSP48E2 (generic: 0), LUT = LUT1..LUT6 (generic:
  $lut), FF = the flip-flop cells (FD*, generic $_DFF*/$_SDFF*), CARRY = CARRY4/CARRY8. A layer's row is
  its module's cells; `totals` adds the top module's own cells (the valid pipeline, delay lines).
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from nn2hls.errors import BuildError
from nn2hls.rtl import tools
from nn2hls.rtl.sim import read_manifest

CELL_KEYS = ("DSP", "LUT", "FF", "CARRY")
SYNTH_DIR = "synth"


def family(part: str) -> str | None:
    """yosys synth_xilinx family of a Xilinx part name, None for other vendors."""
    p = part.lower()
    if p.startswith(("xczu", "xcau", "xck26")) or re.match(r"^xc(vu|ku)\d+p", p):
        return "xcup"
    if p.startswith(("xcvu", "xcku")):
        return "xcu"
    if p.startswith("xc7"):
        return "xc7"
    return None


def classify(cells: dict[str, int]) -> dict[str, int]:
    """{DSP, LUT, FF, CARRY} counts of one module's `num_cells_by_type`."""
    out = dict.fromkeys(CELL_KEYS, 0)
    for cell, n in cells.items():
        if cell.startswith("DSP48"):
            out["DSP"] += n
        elif re.match(r"^LUT\d$", cell) or cell == "$lut":
            out["LUT"] += n
        elif re.match(r"^FD[RSCP]E", cell) or cell.startswith(("$_DFF", "$_SDFF", "$_DFFE")):
            out["FF"] += n
        elif cell.startswith("CARRY"):
            out["CARRY"] += n
    return out


def _part(project: Path) -> str:
    from nn2hls.config_file import load_config

    cfg = project / "nn2hls_config.yml"
    return load_config(cfg).part if cfg.is_file() else ""


def synthesize(project, part: str | None = None) -> dict:
    """Run yosys on a Verilog project; returns {command, target, seconds, layers: {node: counts}, totals}."""
    project = Path(project)
    manifest = read_manifest(project)
    exe = tools.yosys()
    part = part if part is not None else _part(project)
    fam = family(part)
    top = manifest["top"]
    command = (f"synth_xilinx -family {fam} -noiopad -top {top}" if fam else f"synth -top {top} -lut 6")
    folder = project / SYNTH_DIR
    folder.mkdir(exist_ok=True)
    stat = folder / "stat.json"
    sources = " ".join(str((project / s).resolve()) for s in manifest["sources"])
    script = f"read_verilog {sources}\n{command}\ntee -q -o {stat.resolve()} stat -json\n"
    (folder / "synth.ys").write_text(script)
    start = time.perf_counter()
    log = folder / "yosys.log"
    with open(log, "w") as fh:
        proc = subprocess.run([exe, "-q", "-s", "synth.ys"], cwd=folder, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or not stat.is_file():
        lines = [ln for ln in log.read_text().splitlines() if "ERROR" in ln][:2]
        raise BuildError(f"yosys failed (exit {proc.returncode}): {' | '.join(lines) or 'see the log'}; "
                         f"full log: {log}")
    modules = {name.lstrip("\\"): m.get("num_cells_by_type", {})
               for name, m in json.loads(stat.read_text())["modules"].items()}
    layers = {node: classify(modules.get(module, {})) for node, module in manifest["layer_modules"].items()}
    totals = classify(modules.get(top, {}))
    for counts in layers.values():
        for k in CELL_KEYS:
            totals[k] += counts[k]
    result = {"command": command, "target": part or "generic", "seconds": round(seconds, 2),
              "layers": layers, "totals": totals,
              "layer_products": manifest.get("layer_products", {}),
              "layer_multipliers": manifest.get("layer_multipliers", {})}
    (folder / "synth.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


def load_result(project) -> dict | None:
    """The last `synthesize` result saved in a project (synth/synth.json), or None."""
    path = Path(project) / SYNTH_DIR / "synth.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def side_by_side(report: dict, result: dict) -> str:
    """Text table: the report's estimate (DSP, adders, general products) next to yosys's cells per layer."""
    from nn2hls.progress import format_table

    rows = []
    for r in report["layers"]:
        cells = result["layers"].get(r["name"])
        if cells is None:
            continue
        rows.append([r["name"], r["op"], r.get("mult_general", 0), r["dsp"], r["adders"],
                     *(cells[k] for k in CELL_KEYS)])
    t, c = report["totals"], result["totals"]
    rows.append(["total", "", t.get("mult_general", 0), t["dsp"], t["adders"], *(c[k] for k in CELL_KEYS)])
    header = ["layer", "op", "general products", "est. DSP", "est. adders", *(f"yosys {k}" for k in CELL_KEYS)]
    return (f"estimate vs synthesis (yosys {result['command']}, {result['target']}):\n"
            + format_table(header, rows) + "\n")
