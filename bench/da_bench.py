"""Constant matrix-vector products three ways on the same integer matrices: nn2hls's distributed arithmetic
(`strategy: distributed_arithmetic`, nn2hls.ir.cmvm), da4ml 0.6.0's CMVM optimizer (`da4ml.cmvm.solve`,
default options, its own Verilog from `da4ml.codegen.VerilogModel`) and nn2hls's constant multipliers
(the Verilog backend's default `x * m` products).

Matrices: a random 8-bit 16x16 matrix (seed 0, 8-bit signed inputs), and the jet MLP's 32x32
(n_0_0_4_Gemm) and 32x5 (n_0_0_6_Gemm) layers, dense (example_models/jet_mlp.onnx) and pruned
(jet_mlp_pruned.onnx), compiled with example_models/jet_mlp.yml (10-bit weights) and 1,000
calibration samples: the raw integer weights, and inputs as wide as the layer's input type (16 bits)
but signed (the real ones are unsigned ReLU outputs; yosys 0.23 reduces da4ml's RTL for unsigned
inputs to no cells, see RESULTS.md).
Each matrix is one layer y = x @ W with an exact output (an integer type as wide as the largest sum:
no rounding or saturation, which da4ml's product does not have either), so the three designs compute
the same integers. Columns: adders (nn2hls: the adder graph, `da_adders`; da4ml: its add/subtract
ops; multipliers: the adders of the trees beside the DSP products), adder depth (da4ml: the larger
of its reported latency pair, in adder levels), optimizer seconds (nn2hls `cmvm.optimize`, da4ml
`solve`) and seconds to write the Verilog project (including the optimizer), and after
`yosys synth_xilinx -family xcup -noiopad -flatten` (yosys 0.23): DSP48E2, LUT, CARRY (CARRY4/8 cells),
FF, yosys seconds; for the two adder graphs also LUT / CARRY of the same script without `alumacc`
(yosys otherwise merges chains of single-use additions into carry-save $macc trees of LUT full
adders, which costs more LUTs than one carry chain per adder; see RESULTS.md). Registers differ:
nn2hls registers the output (`rtl_pipeline`), da4ml's design registers its input, each of its
pipeline stages and its output. nn2hls's Verilog is also simulated (iverilog) against the integer
product x @ W on 200 random full-range inputs (column "exact"). For da4ml the last column gives the
register bits da4ml itself counts (metadata.json `reg_bits`, to compare with yosys's FF) and the
number of yosys "select out of bounds ... set to undef" warnings on its RTL.

Usage: python bench/da_bench.py [--markdown] [--skip-synth] [--only SUBSTRING] [--no-multipliers]
Yosys on the dense 32x32 layer takes minutes (multipliers: ~5 min); the whole run ~15-25 min.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import nn2hls
from nn2hls.backends.verilog import write_project
from nn2hls.config import Config
from nn2hls.emulate.arith import exact_weight
from nn2hls.ir import cmvm, ops
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType
from nn2hls.project_io import save_graph
from nn2hls.rtl import sim, synth, tools

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "example_models"
PART_FAMILY = "xcup"
JET_LAYERS = ("n_0_0_4_Gemm", "n_0_0_6_Gemm")


def matrices():
    """(label, integer matrix (n_in, n_out), input width, input signed)."""
    rng = np.random.default_rng(0)
    yield "random 8-bit 16x16", rng.integers(-128, 128, size=(16, 16)), 8, True
    import yaml

    base = yaml.safe_load((EX / "jet_mlp.yml").read_text())
    x = np.load(EX / "jet_mlp_input.npy")
    for label, model in (("dense", "jet_mlp.onnx"), ("pruned", "jet_mlp_pruned.onnx")):
        compiled = nn2hls.compile(EX / model, config={**base, "backend": "verilog"}, calibration=x)
        for name in JET_LAYERS:
            node = compiled.graph[name]
            tin = compiled.graph[node.inputs[0]].precision["result"]
            w = exact_weight(node.weights["kernel"], node.precision["weight"], name)
            w = np.asarray(w, dtype=np.int64)
            # signed inputs of the input type's width for every design: the layers' real inputs are unsigned
            # (ReLU outputs), and yosys 0.23 reduces da4ml's RTL for unsigned inputs to no cells at all
            # (out-of-bounds selects in its shift_adder.v become undef; RESULTS.md)
            yield f"jet {label} {name} {w.shape[0]}x{w.shape[1]}", w, tin.width, True


def _bits(lo: int, hi: int) -> int:
    return max(int(lo).bit_length() if lo >= 0 else (-int(lo) - 1).bit_length(),
               int(hi).bit_length() if hi >= 0 else (-int(hi) - 1).bit_length()) + 1


def layer_graph(w: np.ndarray, width: int, signed: bool) -> tuple[Graph, int, int]:
    """y = x @ w on integer inputs of `width` bits, exact integer output; returns (graph, xmin, xmax)."""
    xmin, xmax = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    pos, neg = np.clip(w, 0, None), np.clip(w, None, 0)
    hi = int(max((pos.sum(axis=0) * xmax + neg.sum(axis=0) * xmin).max(), 0))
    lo = int(min((pos.sum(axis=0) * xmin + neg.sum(axis=0) * xmax).min(), 0))
    r = _bits(lo, hi)
    wb = _bits(int(w.min()), int(w.max()))
    g = Graph("cmvm")
    x = g.add(ops.Input(shape=(w.shape[0],)), name="x")
    d = g.add(ops.Dense(), [x.name], name="dense", weights={"kernel": w.astype(np.float64)})
    g.outputs = [d.name]
    x.precision = {"result": FixedType.parse(f"ap_{'' if signed else 'u'}fixed<{width},{width}>")}
    d.precision = {"weight": FixedType.parse(f"ap_fixed<{wb},{wb}>"), "accum": FixedType.parse(f"ap_fixed<{r},{r}>"),
                   "result": FixedType.parse(f"ap_fixed<{r},{r}>")}
    return g, xmin, xmax


def yosys_cells(sources: list[Path], top: str, folder: Path, macc: bool = True) -> dict:
    """synth_xilinx -flatten on the given files: {DSP, LUT, FF, CARRY, seconds}. macc=False runs the same
    script without `alumacc` (every $add/$sub stays one carry-chain adder instead of single-use chains
    being merged into a carry-save $macc tree)."""
    folder.mkdir(parents=True, exist_ok=True)
    stat = folder / "stat.json"
    flags = f"-family {PART_FAMILY} -noiopad -flatten -top {top}"
    if macc:
        steps = f"synth_xilinx {flags}\n"
    else:
        steps = (f"synth_xilinx {flags} -run begin:coarse\n"
                 "techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=6\nopt\nmemory -nomap\nopt_clean\n"
                 f"synth_xilinx {flags} -run map_memory:\n")
    script = f"read_verilog {' '.join(str(s) for s in sources)}\n{steps}tee -q -o {stat} stat -json\n"
    (folder / "synth.ys").write_text(script)
    start = time.perf_counter()
    with open(folder / "yosys.log", "w") as fh:
        proc = subprocess.run([tools.yosys(), "-q", "-s", "synth.ys"], cwd=folder, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed on {top}: see {folder / 'yosys.log'}")
    modules = json.loads(stat.read_text())["modules"]
    cells = synth.classify(next(m for n, m in modules.items() if n.lstrip("\\") == top).get("num_cells_by_type", {}))
    undef = sum("out of bounds" in line for line in (folder / "yosys.log").read_text().splitlines())
    return {**cells, "seconds": seconds, "undef_warnings": undef}


def _synth_both(sources: list[Path], top: str, folder: Path, out: dict, macc_only: bool = False) -> None:
    out["cells"] = yosys_cells(sources, top, folder / "yosys")
    if not macc_only:
        out["cells_nomacc"] = yosys_cells(sources, top, folder / "yosys_nomacc", macc=False)


def ours(g: Graph, strategy: str, folder: Path, do_synth: bool) -> dict:
    start = time.perf_counter()
    project = write_project(g, Config(backend="verilog", strategy=strategy), folder)
    gen = time.perf_counter() - start
    save_graph(g, project)
    manifest = sim.read_manifest(project)
    out = {"generate_s": gen, "manifest": manifest, "project": project}
    if do_synth:
        _synth_both([(project / s).resolve() for s in manifest["sources"]], manifest["top"], folder, out,
                    macc_only=strategy != "distributed_arithmetic")
    return out


def da4ml_run(w: np.ndarray, xmin: int, xmax: int, folder: Path, do_synth: bool) -> dict:
    from da4ml.cmvm import solve
    from da4ml.codegen import VerilogModel

    start = time.perf_counter()
    pipe = solve(w.astype(np.float32), qintervals=[(float(xmin), float(xmax), 1.0)] * w.shape[0])
    solve_s = time.perf_counter() - start
    VerilogModel(pipe, "da4ml_cmvm", str(folder / "prj"), latency_cutoff=-1).write()
    gen = time.perf_counter() - start
    adders = sum(1 for st in pipe.solutions for op in st.ops if op.opcode in (0, 1))
    reg_bits = json.loads((folder / "prj" / "metadata.json").read_text()).get("reg_bits")
    out = {"adders": adders, "cost": float(pipe.cost), "depth": float(max(pipe.latency)), "solve_s": solve_s,
           "generate_s": gen, "reg_bits": reg_bits}
    if do_synth:
        src = folder / "prj" / "src"
        files = sorted(src.glob("*.v")) + sorted((src / "static").glob("*.v"))
        # the wrapper is for its C++ binder; lookup_table.v reads a placeholder .mem file (no tables here)
        files = [f for f in files if not f.name.endswith("_wrapper.v") and f.name != "lookup_table.v"]
        _synth_both(files, "da4ml_cmvm", folder, out)
    return out


def exact_check(project: Path, g: Graph, w: np.ndarray, xmin: int, xmax: int) -> str:
    rng = np.random.default_rng(1)
    x = rng.integers(xmin, xmax + 1, size=(200, w.shape[0]))
    x[0], x[1] = xmin, xmax
    y = sim.build(project, "iverilog", graph=g).run(x.astype(np.float64))[0]
    return f"{int(np.all(y == x @ w, axis=1).sum())}/{len(x)}"


def _cells(r: dict | None) -> list[str]:
    if not r or "cells" not in r:
        return ["-"] * 6
    c, n = r["cells"], r.get("cells_nomacc")
    return [str(c["DSP"]), str(c["LUT"]), str(c["CARRY"]), str(c["FF"]), f"{c['seconds']:.0f}",
            f"{n['LUT']} / {n['CARRY']}" if n else "-"]


def _da4ml_note(r: dict) -> str:
    """da4ml's own register count and yosys's out-of-bounds-select warnings (bits set to undef) on its RTL."""
    if "cells" not in r:
        return f"reg_bits {r['reg_bits']}"
    return f"reg_bits {r['reg_bits']}, {r['cells']['undef_warnings']} undef warnings"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print only the Markdown table (for RESULTS.md)")
    parser.add_argument("--skip-synth", action="store_true", help="no yosys (adders, depth and times only)")
    parser.add_argument("--only", default="", help="only matrices whose label contains this")
    parser.add_argument("--no-multipliers", action="store_true", help="skip the constant-multiplier designs")
    args = parser.parse_args()
    do_synth = not args.skip_synth
    header = ("| matrix | nonzero | method | adders | adder depth | optimizer s | generate s | DSP48E2 | LUT | "
              "CARRY | FF | yosys s | LUT / CARRY without $macc | exact (nn2hls) / RTL notes (da4ml) |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    log = (lambda s: None) if args.markdown else (lambda s: print(s, flush=True))
    with tempfile.TemporaryDirectory() as tmp:
        for k, (label, w, width, signed) in enumerate(matrices()):
            if args.only and args.only not in label:
                continue
            g, xmin, xmax = layer_graph(w, width, signed)
            nz = f"{int(np.count_nonzero(w))}/{w.size}"
            start = time.perf_counter()
            plan = cmvm.optimize(w)
            opt_s = time.perf_counter() - start
            cmvm._CACHE.clear()  # the project below runs the optimizer again (its generate time)
            da = ours(g, "distributed_arithmetic", Path(tmp) / f"da{k}", do_synth)
            exact = exact_check(da["project"], g, w, xmin, xmax)
            rows = [[label, nz, "nn2hls DA", str(len(plan.adders)), str(plan.depth), f"{opt_s:.2f}",
                     f"{da['generate_s']:.2f}", *_cells(da), exact]]
            log("| " + " | ".join(rows[-1]) + " |")
            d4 = da4ml_run(w, xmin, xmax, Path(tmp) / f"d4{k}", do_synth)
            rows.append([label, nz, "da4ml 0.6.0", str(d4["adders"]), f"{d4['depth']:g}", f"{d4['solve_s']:.2f}",
                         f"{d4['generate_s']:.2f}", *_cells(d4), _da4ml_note(d4)])
            log("| " + " | ".join(rows[-1]) + " |")
            if not args.no_multipliers:
                mu = ours(g, "latency", Path(tmp) / f"mu{k}", do_synth)
                m = mu["manifest"]
                rows.append([label, nz, "nn2hls multipliers", f"{m['layer_adders']['dense']} + "
                             f"{m['layer_multipliers']['dense']} products", "-", "-", f"{mu['generate_s']:.2f}",
                             *_cells(mu), "-"])
                log("| " + " | ".join(rows[-1]) + " |")
            lines += ["| " + " | ".join(r) + " |" for r in rows]
    flags = (" --skip-synth" if args.skip_synth else "") + (f" --only '{args.only}'" if args.only else "") + (
        " --no-multipliers" if args.no_multipliers else "")
    note = (f"`python bench/da_bench.py{flags}` on {time.strftime('%Y-%m-%d')}, "
            f"{platform.machine()}, {os.cpu_count()} cores shared (load average {os.getloadavg()[0]:.1f}), "
            f"yosys `synth_xilinx -family {PART_FAMILY} -noiopad -flatten`.")
    if not args.markdown:
        print()
    print("\n".join([note, "", *lines]))  # RESULTS.md: between <!-- begin/end generated: distributed_arithmetic -->


if __name__ == "__main__":
    main()
