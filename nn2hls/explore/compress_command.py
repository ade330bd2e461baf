"""`nn2hls explore-compress MODEL --data DATA.npz --space SPACE.yml -o DIR`: a compression scan from the shell.

MODEL and DATA.npz are what `nn2hls compress` reads; SPACE.yml maps compress() arguments to values or
search distributions (`nn2hls.explore.compress_space`, docs/explore.md "Compression scans"). The scan
itself is `nn2hls.explore.compress_scan.explore_compress`; this module only parses and prints.
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from nn2hls.explore import options

SUMMARY = ("evaluated", "resumed", "failed", "stopped", "engine", "elapsed_s", "pareto_front", "best", "accuracy_key")


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `explore-compress` on an argparse sub-parser collection."""
    p = sub.add_parser("explore-compress", parents=[common], help="scan compression schedules as Ray Tune trials",
                       description="Run nn2hls compress once per trial of SPACE.yml (compress() arguments -> "
                                   "values, lists or {choice|grid|uniform|loguniform|randint|quniform: [...]}; "
                                   "docs/explore.md) as Ray Tune trials with ASHA early stopping on the validation "
                                   "accuracy (or serially), each ending in a compiled, checked model; write "
                                   "results.csv/.json (+ .parquet), pareto.png (accuracy vs DSP) and "
                                   "best_trial.yml into DIR. A scan in DIR is resumed.")
    p.add_argument("model", metavar="MODEL", help="float model file (.onnx, .keras, .h5, .pt2, TorchScript .pt)")
    p.add_argument("--data", metavar="DATA.npz", required=True, help="x_train, y_train, x_val, y_val[, x_test, y_test]")
    p.add_argument("--space", metavar="SPACE.yml", required=True, help="compress() arguments -> values")
    options.add_results_folder(p)
    options.add_engine(p, ("ray", "tune", "serial"), "ray (= tune, Ray Tune; local unless --address/RAY_ADDRESS) "
                       "or serial (this process)", "trial", "CPUs each trial declares (1)")
    p.add_argument("--samples", type=int, default=1, metavar="N",
                   help="repetitions of the grid, random keys drawn anew each time (1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random draws (0)")
    p.add_argument("--no-early-stop", action="store_true", help="run every trial to its end (no ASHA)")
    p.add_argument("--grace-period", type=int, default=2, metavar="N",
                   help="ASHA: pruning iterations every trial runs before it can be stopped (2)")
    p.add_argument("--reduction-factor", type=float, default=2.0, metavar="F", help="ASHA reduction factor (2)")
    p.add_argument("--no-check", action="store_true", help="skip each trial's C simulation check")
    p.add_argument("--tolerance", type=float, default=0.01, metavar="T",
                   help="accuracy drop from the model given that the best trial may have (0.01)")
    p.add_argument("--json", action="store_true", help="print a summary as one JSON object")
    options.add_force(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """The `explore-compress` command; returns the exit code (0: the scan ran, failed trials included)."""
    from nn2hls.explore.compress_scan import explore_compress
    from nn2hls.progress import format_table, log

    options.check_num_cpus(args.num_cpus)
    result = explore_compress(args.model, args.data, args.space, args.output, engine=args.engine,
                              address=args.address, num_cpus=args.num_cpus, cpus_per_trial=args.cpus_per_trial,
                              samples=args.samples, seed=args.seed, early_stop=not args.no_early_stop,
                              grace_period=args.grace_period, reduction_factor=args.reduction_factor,
                              check=not args.no_check, tolerance=args.tolerance, force=args.force, log=log)
    if args.json:
        summary = {k: getattr(result, k) for k in SUMMARY}
        summary.update(out_dir=str(result.out_dir), trials=len(result.rows), files=result.files)
        print(json.dumps(summary))
        return 0
    print(f"explore-compress {args.model}: {len(result.rows)} trials ({result.evaluated} run, {result.resumed} "
          f"resumed, {result.stopped} stopped early, {result.failed} failed) in {result.elapsed_s:.1f} s "
          f"({result.engine})")
    for row in result.rows:
        if row["status"] == "failed":
            print(f"  failed {row['trial_id']}: {row['error']}")
    if result.pareto_front:
        key = result.accuracy_key
        header = ["trial"] + result.space_keys + [key, "sparsity", "effective", "dsp", "mismatches"]
        front = sorted((result.row(t) for t in result.pareto_front),
                       key=lambda r: (r["trial_id"] != result.best, r["dsp"]))
        rows = [[r["trial_id"] + ("*" if r["trial_id"] == result.best else "")] +
                [json.dumps(r.get(k)) if isinstance(r.get(k), (list, dict)) else str(r.get(k))
                 for k in result.space_keys] +
                [f"{r[key]:.4f}", f"{r['sparsity']:.3f}", f"{r['effective_sparsity']:.3f}", r["dsp"],
                 "-" if r["mismatches"] is None else r["mismatches"]] for r in front]
        plural = "s" if len(rows) != 1 else ""
        print(f"\nPareto front ({len(rows)} trial{plural}; * = best, its arguments in best_trial.yml):")
        print(format_table(header, rows, indent="  "))
    print()
    for name in ("csv", "parquet", "json", "pareto_png", "best_trial"):
        if name in result.files:
            print(f"{name}: {result.files[name]}")
    return 0
