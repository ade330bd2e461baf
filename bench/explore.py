"""Design-space scan time: the serial engine against Ray with 2 workers, on the same scan, same run.

Scans (example_models/jet_mlp.onnx, its 1,000 input samples and labels):
- `emulate`: the 48-point width x sparsity space of issue 20 (default weight width 4, 6, 8, 10, 12,
  16 x sparsity 0 to 0.95 of every Dense layer), each point converted, emulated and reported;
- `csim`: 12 of those points (widths 6, 8, 16 x sparsity 0, 0.5, 0.8, 0.95) with `csim=True`, each
  point also building and running its C simulation (g++), the expensive kind of point.
Each scan runs serially (`engine="serial"`) and on a local Ray instance with 2 CPUs (`num_cpus=2`:
two points at a time), into fresh folders; the Ray time includes starting and stopping Ray, which is
also timed alone. The rows of both engines are checked equal (all but eval_s) before timing counts.
The serial emulate scan's Pareto plot is copied to docs/figures/explore_jet_mlp_pareto.png.
Usage: python bench/explore.py [--skip-csim]; prints a Markdown section for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nn2hls  # noqa: E402

MODEL = ROOT / "example_models" / "jet_mlp.onnx"
X = ROOT / "example_models" / "jet_mlp_input.npy"
Y = ROOT / "example_models" / "jet_mlp_labels.npy"
SPACES = {
    "emulate": {"precision.default.weight_width": [4, 6, 8, 10, 12, 16],
                "pruning.sparsity.*": [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]},
    "csim": {"precision.default.weight_width": [6, 8, 16], "pruning.sparsity.*": [0.0, 0.5, 0.8, 0.95]},
}


def _ray_startup_s() -> float:
    import ray

    start = time.perf_counter()
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    ray.shutdown()
    return time.perf_counter() - start


def _comparable(rows):
    return [{k: v for k, v in r.items() if k != "eval_s"} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-csim", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print only the table and the best-point line "
                        "(bench/regenerate.py)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nn2hls_bench_explore_"))
    lines = []
    try:
        startup = _ray_startup_s()
        for name, space in SPACES.items():
            if name == "csim" and args.skip_csim:
                continue
            csim = name == "csim"
            times, results = {}, {}
            for engine in ("serial", "ray"):
                start = time.perf_counter()
                results[engine] = nn2hls.explore(MODEL, X, space, work / f"{name}_{engine}", labels=Y, engine=engine,
                                                 num_cpus=2 if engine == "ray" else None, csim=csim)
                times[engine] = time.perf_counter() - start
            assert _comparable(results["serial"].rows) == _comparable(results["ray"].rows), "engines differ"
            serial = results["serial"]
            assert serial.failed == 0
            point_s = sum(r["eval_s"] for r in serial.rows) / len(serial.rows)
            lines.append(f"| {name} | {len(serial.rows)} | {point_s:.2f} | {times['serial']:.1f} | {times['ray']:.1f} "
                         f"| {times['serial'] / times['ray']:.2f}x |")
            if name == "emulate":
                figure = ROOT / "docs" / "figures" / "explore_jet_mlp_pareto.png"
                figure.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(serial.files["pareto_png"], figure)
                best = serial.row(serial.best)
                front = len(serial.pareto_front)
                best_text = (f"best point {best['precision.default.weight_width']}-bit weights, sparsity "
                             f"{best['pruning.sparsity.*']}: accuracy {best['accuracy']:.3f} (float "
                             f"{serial.float_accuracy:.3f}), {best['dsp']} DSP, {best['latency_cycles']} cycles; "
                             f"{front} points on the Pareto front")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    head = sys.stderr if args.markdown else sys.stdout
    print("## Design-space exploration (serial vs Ray)\n", file=head)
    print(f"`python bench/explore.py` on {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores "
          f"(load average {load[0]:.2f} at the end), Python {platform.python_version()}, "
          f"Ray {__import__('ray').__version__}. jet MLP (16-64-32-32-5), 1,000 samples with labels; Ray = a local "
          "instance with 2 CPUs (2 points at a time), its time including starting and stopping Ray "
          f"({startup:.1f} s alone). Both engines gave identical rows (every number but eval_s).\n", file=head)
    print("| scan | points | s per point (serial) | serial s | Ray 2 workers s | speed-up |")
    print("|---|---|---|---|---|---|")
    print("\n".join(lines))
    print(f"\nemulate scan: {best_text}. Plot: docs/figures/explore_jet_mlp_pareto.png.")


if __name__ == "__main__":
    main()
