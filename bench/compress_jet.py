"""The one-call compression flow on a jet-like task, as issue #21 states it, on several seeds.

Data: scikit-learn `make_classification(n_samples=20000, n_features=16, n_informative=10, n_classes=5,
class_sep=1.0, random_state=seed)`, standardized with the training set's mean and std, split 60% train /
20% validation / 20% test. Model: the talk's MLP 16-64-32-32-5 (ReLU), trained 30 epochs with Adam
(lr 1e-3, batch 256). Then `nn2hls.compress.flow.compress` with:
  l1      : L1 penalty (lambda 1e-4) up to --target sparsity (default 75%) or the first drop beyond 0.5 pt
            below the float model on validation data;
  l1+qat8 : the same, then 8-bit fixed-point QAT (masks kept);
  lp, lp+obd, lp+energy : the smoothed L_p penalty (p = 0.1) aiming at the talk's 93%, weights ranked by
            magnitude, OBD saliency or energy;
every result exported to ONNX, compiled by nn2hls (calibration: validation inputs) and checked
(C simulation == emulator on 1000 validation inputs). Reported per seed: float test accuracy, compressed
test accuracy, weight sparsity, effective (hardware) sparsity, the report's general products, DSPs and
mismatches.

Usage: python bench/compress_jet.py [--seeds 3] [--target 0.75] [--out bench/compress_jet]
Writes OUT/results.json and OUT/section.md (a Markdown section for bench/RESULTS.md); the exported
models and checkpoints go to a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nn2hls import progress  # noqa: E402
from nn2hls.compress.flow import compress  # noqa: E402
from nn2hls.compress.schedule import accuracy, fit  # noqa: E402


def data(seed: int):
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=20000, n_features=16, n_informative=10, n_classes=5, class_sep=1.0,
                               random_state=seed)
    x = x.astype(np.float32)
    tr, va = slice(0, 12000), slice(12000, 16000)
    te = slice(16000, 20000)
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)
    x = (x - mean) / std
    return (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te])


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 5))


# name -> (penalty recipe, pruning criterion, QAT spec, target sparsity or None for --target)
VARIANTS = {"l1": ("l1", "magnitude", None, None), "l1+qat8": ("l1", "magnitude", "fixed8", None),
            "lp": ("lp", "magnitude", None, 0.93), "lp+obd": ("lp", "obd", None, 0.93),
            "lp+energy": ("lp", "energy", None, 0.93)}


def run(seed: int, target: float, out: Path, variants: tuple[str, ...] = tuple(VARIANTS), quiet: bool = False) -> dict:
    train, val, test = data(seed)
    torch.manual_seed(seed)
    net = mlp()
    start = time.perf_counter()
    fit(net, *train, epochs=30, lr=1e-3, batch_size=256, seed=seed)
    row = {"seed": seed, "float_test_acc": accuracy(net, *test), "float_val_acc": accuracy(net, *val),
           "float_seconds": round(time.perf_counter() - start, 1)}
    for name, (recipe, criterion, bits, goal) in VARIANTS.items():
        if name not in variants:
            continue
        start = time.perf_counter()
        res = compress(net, train, val, test=test, recipe=recipe, target_sparsity=goal or target,
                       tolerance=0.005, criterion=criterion, bits=bits, epochs=10, retrain_epochs=8, qat_epochs=8,
                       batch_size=256, seed=seed, out_dir=out / f"seed{seed}_{name}", resume=False)
        final = res.final
        t = res.report["totals"]
        row[name] = {"test_acc": final["test_acc"], "val_acc": final["val_acc"], "sparsity": final["sparsity"],
                     "effective_sparsity": final["effective_sparsity"], "stop_reason": res.stop_reason,
                     "mult_general": t["mult_general"], "dsp": t.get("dsp"), "mismatches": res.check.mismatches,
                     "hardware_sparsity": t["sparsity"], "seconds": round(time.perf_counter() - start, 1)}
        print(f"seed {seed} {name}: {json.dumps(row[name])}", flush=True, file=sys.stderr if quiet else sys.stdout)
    return row


def section(rows: list[dict], target: float, tables_only: bool = False) -> str:
    """The RESULTS.md section; `tables_only`: the table alone (the region bench/regenerate.py replaces)."""
    lines = ["## Compression: one call on the jet-like task (issue #21)", "",
             "`python bench/compress_jet.py --seeds 3`: make_classification(20000, 16 features, 10 informative, "
             "5 classes, class_sep 1.0), MLP 16-64-32-32-5, `compress(recipe='l1', target_sparsity="
             f"{target}, tolerance=0.005)`; test accuracy on 4000 held-out samples (one sample = 0.025 pt).", "",
             "The L_p rows (p = 0.1, lambda 1e-3) aim at the talk's 93% with magnitude, OBD-saliency and "
             "energy ranking (`criterion=`).", "",
             "| seed | float test | recipe | test acc | Δ pt | sparsity | hardware sparsity | general products | "
             "C-sim mismatches | stop | time (s) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    if tables_only:
        lines = lines[-2:]
    for r in rows:
        for name in VARIANTS:
            if name not in r:
                continue
            c = r[name]
            lines.append(f"| {r['seed']} | {100 * r['float_test_acc']:.2f}% | {name} | {100 * c['test_acc']:.2f}% | "
                         f"{100 * (c['test_acc'] - r['float_test_acc']):+.2f} | {100 * c['sparsity']:.1f}% | "
                         f"{100 * c['hardware_sparsity']:.1f}% | {c['mult_general']} | {c['mismatches']} | "
                         f"{c['stop_reason']} | {c['seconds']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.75)
    parser.add_argument("--out", default=str(ROOT / "bench" / "compress_jet"))
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS))
    parser.add_argument("--markdown", action="store_true", help="stdout: only the table (bench/regenerate.py); "
                        "per-seed lines go to stderr")
    args = parser.parse_args()
    torch.set_num_threads(1)
    progress.set_quiet(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nn2hls_compress_jet_") as work:  # exports, checkpoints, plots
        rows = [run(seed, args.target, Path(work), tuple(args.variants.split(",")), quiet=args.markdown)
                for seed in range(args.seeds)]
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    text = section(rows, args.target)
    (out / "section.md").write_text(text)
    print(section(rows, args.target, tables_only=True) if args.markdown else text)


if __name__ == "__main__":
    main()
