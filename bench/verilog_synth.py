"""yosys synthesis of jet MLP Dense layers written by the Verilog backend: DSP48E2 vs general products,
LUTs vs sparsity.

Each variant (the dense example model, its pruned copy, the dense model pruned by global magnitude
thresholds) is compiled with example_models/jet_mlp.yml (10-bit weights, 16-bit results) and 1,000
calibration samples; the chosen Dense layers are cut out of the typed graph (an Input of the layer's
input type, then the layer with its types and registered output) and synthesized alone with
`nn2hls.rtl.synth.synthesize` (synth_xilinx -family xcup, part xcvu13p). One Markdown row per layer:
nonzero weights, general products (the report's count), the distinct products the RTL writes, yosys
DSP48E2, LUT, FF, CARRY and seconds. With --check N the whole model's RTL is also simulated (iverilog)
against the emulator on N samples.

Usage: python bench/verilog_synth.py [--layers n_0_0_4_Gemm,n_0_0_6_Gemm] [--thresholds 0.05,0.1]
                                     [--check N] [--out FILE]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import nn2hls
from nn2hls.backends.verilog import write_project
from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.rtl import sim, synth

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "example_models"


def variants(thresholds: list[float]):
    yield "dense", EX / "jet_mlp.onnx", {}
    yield "pruned (example)", EX / "jet_mlp_pruned.onnx", {}
    for t in thresholds:
        yield f"dense, threshold {t:g}", EX / "jet_mlp.onnx", {"pruning": {"threshold": t}}


def single_layer(graph: Graph, name: str) -> Graph:
    """The Dense node `name` alone, fed by an Input of its producer's result type."""
    node = graph[name]
    producer = graph[node.inputs[0]]
    g = Graph(f"layer_{name}")
    x = g.add(ops.Input(shape=producer.shape), name="x")
    x.precision = {"result": producer.precision["result"]}
    d = g.add(node.op, [x.name], name=name, weights=dict(node.weights))
    d.precision = dict(node.precision)
    g.outputs = [d.name]
    return g


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", default="n_0_0_4_Gemm,n_0_0_6_Gemm")
    parser.add_argument("--thresholds", default="0.05,0.1")
    parser.add_argument("--check", type=int, default=0)
    parser.add_argument("--out", default="")
    parser.add_argument("--markdown", action="store_true", help="print only the table (bench/regenerate.py); "
                        "progress rows go to stderr")
    args = parser.parse_args()
    import yaml

    base = yaml.safe_load((EX / "jet_mlp.yml").read_text())
    x = np.load(EX / "jet_mlp_input.npy")
    layers = [s for s in args.layers.split(",") if s]
    thresholds = [float(t) for t in args.thresholds.split(",") if t]
    context = [f"`python bench/verilog_synth.py --layers {args.layers} --thresholds {args.thresholds} --check "
             f"{args.check}` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores shared "
             f"(load average {os.getloadavg()[0]:.1f}), yosys 0.23 `synth_xilinx -family xcup -noiopad`, part "
             "xcvu13p; types from example_models/jet_mlp.yml (10-bit weights, 16-bit results).", ""]
    lines = ["| model | layer | nonzero / weights | general products (report) | distinct products (RTL) | "
             "DSP48E2 | LUT | FF | CARRY | yosys s | RTL == emulator (whole model) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for k, (label, model, extra) in enumerate(variants(thresholds)):
            cfg = {**base, **extra, "backend": "verilog"}
            compiled = nn2hls.compile(model, config=cfg, calibration=x)
            report = {r["name"]: r for r in compiled.report()["layers"]}
            exact = "-"
            if args.check:
                project = compiled.write(Path(tmp) / f"m{k}")
                xs = x[:args.check]
                rtl = sim.build(project, "iverilog", graph=compiled.graph).run(xs)[0]
                bad = int((~np.all(rtl == compiled.emulate(xs), axis=1)).sum())
                exact = f"{len(xs) - bad}/{len(xs)}"
            for name in layers:
                project = write_project(single_layer(compiled.graph, name), Config(backend="verilog"),
                                        Path(tmp) / f"v{k}_{name}")
                manifest = sim.read_manifest(project)
                result = synth.synthesize(project, part="xcvu13p-flga2577-2-e")
                cells, r = result["layers"][name], report[name]
                lines.append(f"| {label} | {name} | {r['nonzero_weights']} / {r['weights']} | {r['mult_general']} | "
                             f"{manifest['layer_multipliers'][name]} | {cells['DSP']} | {cells['LUT']} | "
                             f"{cells['FF']} | {cells['CARRY']} | {result['seconds']:.0f} | {exact} |")
                print(lines[-1], flush=True, file=sys.stderr if args.markdown else sys.stdout)
    text = "\n".join(lines if args.markdown else context + lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
