"""io_stream vs io_parallel on a 3x32x32 CNN (issue 18): C-sim build time, C-sim throughput, report DSPs.

Model (ONNX, NCHW, random weights, 50% of each layer's weights zeroed at random):
Conv(16, 3x3, pad 1) -> ReLU -> MaxPool 2 -> Conv(16, 3x3, pad 1) -> ReLU -> GlobalAveragePool -> Dense(10).
Variants: io_parallel and io_stream, each at reuse factor 1 and 4. For each: a cold C-sim build with
nn2hls's own ap types (seconds), C-sim samples/s on the same batch (best of 3, variants interleaved), C-sim == emulator bit for bit, then
(unless --no-vendor) a cold build against the vendor headers ($NN2HLS_AP_TYPES) and bit-exactness there;
the report's DSPs and latency/interval (cycles). Ratios (stream / parallel at the same RF) come from the same
run; the load average is printed (the machine is shared: absolute numbers move with it).

Usage: python bench/iostream.py [--samples N] [--no-vendor] [--markdown]
--markdown prints the result table (bench/RESULTS.md section "io_stream vs io_parallel", marker
`iostream`); without it a plain summary.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import nn2hls
from nn2hls.config import Config
from nn2hls.csim import build
from nn2hls.report import build_report
from nn2hls.resources import hls_lib_dir


def _pruned(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    w = rng.normal(0, 1.0 / np.sqrt(fan_in), size=shape)
    w[rng.random(size=shape) < 0.5] = 0.0
    return w.astype(np.float32)


def cnn32(seed: int = 0):
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(_pruned(rng, (16, 3, 3, 3), 27), "w1"),
             numpy_helper.from_array((rng.normal(size=16) * 0.1).astype(np.float32), "b1"),
             numpy_helper.from_array(_pruned(rng, (16, 16, 3, 3), 144), "w2"),
             numpy_helper.from_array((rng.normal(size=16) * 0.1).astype(np.float32), "b2"),
             numpy_helper.from_array(_pruned(rng, (16, 10), 16), "wd"),
             numpy_helper.from_array((rng.normal(size=10) * 0.1).astype(np.float32), "bd")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "wd", "bd"], ["y"])]
    graph = helper.make_graph(nodes, "cnn32", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), rng


def measure(model, x: np.ndarray, io_type: str, rf: int, work: Path, vendor: str | None) -> dict:
    """Build one variant (own headers, then vendor), check it bit for bit; `sim` is kept for the rates."""
    config = Config(io_type=io_type, reuse_factor=rf)
    compiled = nn2hls.compile(model, config, calibration=x)
    project = compiled.write(work / f"{io_type}_rf{rf}", force=True)
    expected = compiled.emulate(x)
    t = time.perf_counter()
    sim = build(project, ap_types=hls_lib_dir())
    build_s = time.perf_counter() - t
    report = build_report(compiled.graph, config)
    row = {"io_type": io_type, "rf": rf, "build_s": build_s, "sim": sim,
           "bit_exact": bool(np.array_equal(sim.predict(x), expected)), "dsp": report["totals"]["dsp"],
           "latency": report["totals"]["latency_cycles"], "interval": report["totals"].get("interval_cycles"),
           "vendor_build_s": None, "vendor_bit_exact": None}
    if vendor:
        t = time.perf_counter()
        vsim = build(project, ap_types=vendor)
        row["vendor_build_s"] = time.perf_counter() - t
        row["vendor_bit_exact"] = bool(np.array_equal(vsim.predict(x[:32]), expected[:32]))
    return row


def rates(rows: list[dict], x: np.ndarray, repeats: int = 3) -> None:
    """samples/s of each row's C-sim: the best of `repeats` runs, the variants interleaved (a shared
    machine's load changes over minutes; interleaving keeps the ratios fair)."""
    best = [0.0] * len(rows)
    for _ in range(repeats):
        for k, row in enumerate(rows):
            t = time.perf_counter()
            row["sim"].predict(x)
            best[k] = max(best[k], len(x) / (time.perf_counter() - t))
    for row, rate in zip(rows, best):
        row["samples_per_s"] = rate


def markdown(rows: list[dict], samples: int, load: tuple[float, float]) -> str:
    by = {(r["io_type"], r["rf"]): r for r in rows}
    lines = ["| interface | RF | C-sim build (s) | C-sim samples/s | build ratio stream/parallel | speed ratio "
             "stream/parallel | bit-exact own / vendor (vendor build s) | report DSP | latency / interval (cycles) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = by.get(("io_parallel", r["rf"]))
        ratio_b = f"{r['build_s'] / ref['build_s']:.2f}" if r["io_type"] == "io_stream" and ref else "-"
        ratio_s = f"{r['samples_per_s'] / ref['samples_per_s']:.2f}" if r["io_type"] == "io_stream" and ref else "-"
        vend = ("not run" if r["vendor_bit_exact"] is None else
                f"{'yes' if r['vendor_bit_exact'] else 'NO'} ({r['vendor_build_s']:.0f} s)")
        lines.append(f"| {r['io_type']} | {r['rf']} | {r['build_s']:.2f} | {r['samples_per_s']:,.0f} | {ratio_b} | "
                     f"{ratio_s} | {'yes' if r['bit_exact'] else 'NO'} / {vend} | {r['dsp']:,} | "
                     f"{r['latency']:,} / {'-' if r['interval'] is None else format(r['interval'], ',')} |")
    lines.append("")
    lines.append(f"{samples} samples of 3x32x32, load average {load[0]:.2f} before / {load[1]:.2f} after "
                 "(2 shared cores).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--no-vendor", action="store_true", help="skip the vendor-header builds (minutes each)")
    ap.add_argument("--markdown", action="store_true", help="print the RESULTS.md table")
    args = ap.parse_args(argv)
    vendor = None if args.no_vendor else (os.environ.get("NN2HLS_AP_TYPES") or None)
    model, rng = cnn32()
    x = rng.uniform(0, 1, size=(args.samples, 3, 32, 32)).astype(np.float32)
    load0 = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="nn2hls-bench-iostream-") as tmp:
        for rf in (1, 4):
            for io_type in ("io_parallel", "io_stream"):
                rows.append(measure(model, x, io_type, rf, Path(tmp), vendor))
        rates(rows, x)
        if not args.markdown:
            for row in rows:
                print({k: v for k, v in row.items() if k != "sim"}, file=sys.stderr)
    table = markdown(rows, args.samples, (load0, os.getloadavg()[0]))
    print(table)
    return 0 if all(r["bit_exact"] and r["vendor_bit_exact"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
