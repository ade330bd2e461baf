"""Sensitivity-based per-layer pruning of the digits CNN through the one-call flow (issue #21).

Data and model as bench/compress_seed.py: scikit-learn 8x8 digits, pixels / 16, stratified 60/20/20
split per seed; CNN Conv(1->8, 3x3) - ReLU - MaxPool 2 - Flatten - Dense(72->10), trained 60 epochs
(Adam, lr 3e-3). Compression: `compress(recipe="l1", sensitivity=True, target_sparsity=0.95,
tolerance=0.01)` (every layer pruned as far as its own measured sensitivity allows, within 1 pt of the
float model on validation data), against the same flow with one fraction for every layer
(`sensitivity=False`). Reported: test accuracy vs float, weight sparsity, multiply-weighted sparsity
(the share of the dense model's multiplies the zeros remove: a conv tap counts once per output
position), per-layer sparsity, C-sim mismatches of the compiled result.

Usage: python bench/compress_digits_cnn.py [--seeds 3] [--out bench/compress_digits_cnn]
Writes OUT/results.json and OUT/section.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
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
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    x_tr, x_va, y_tr, y_va = train_test_split(x_tr, y_tr, test_size=0.25, stratify=y_tr, random_state=seed)
    return (x_tr, y_tr), (x_va, y_va), (x_te, y_te)


def cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 3 * 3, 10))


def run(seed: int, work: Path) -> dict:
    train, val, test = data(seed)
    torch.manual_seed(seed)
    net = cnn()
    fit(net, *train, epochs=60, lr=3e-3, seed=seed)
    row = {"seed": seed, "float_test_acc": accuracy(net, *test), "float_val_acc": accuracy(net, *val)}
    for name, sensitivity in (("sensitivity", True), ("one_fraction", False)):
        start = time.perf_counter()
        res = compress(net, train, val, test=test, recipe="l1", sensitivity=sensitivity, target_sparsity=0.95,
                       tolerance=0.01, epochs=20, retrain_epochs=25, seed=seed, out_dir=work / f"{seed}_{name}",
                       resume=False)
        f = res.final
        row[name] = {"test_acc": f["test_acc"], "sparsity": f["sparsity"], "multiply_sparsity": f["multiply_sparsity"],
                     "layers": {k.split("/", 1)[1]: v for k, v in f.items() if k.startswith("sparsity/")},
                     "stop_reason": res.stop_reason, "mismatches": res.check.mismatches,
                     "multiplies": res.report["totals"]["multiplies"], "seconds": round(time.perf_counter() - start, 1)}
        print(f"seed {seed} {name}: {json.dumps(row[name])}", flush=True)
    return row


def section(rows: list[dict]) -> str:
    lines = ["## Compression: sensitivity-based per-layer pruning of the digits CNN (issue #21)", "",
             "`python bench/compress_digits_cnn.py --seeds 3`: `compress(recipe='l1', sensitivity=True, "
             "tolerance=0.01)` vs one fraction for every layer; test accuracy on the 20% held-out split "
             "(360 samples: one sample = 0.28 pt).", "",
             "| seed | float test | flow | test acc | Δ pt | weight sparsity | multiplies removed | conv / dense "
             "sparsity | C-sim mismatches | stop |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for name in ("sensitivity", "one_fraction"):
            c = r[name]
            layers = " / ".join(f"{100 * v:.0f}%" for v in c["layers"].values())
            lines.append(f"| {r['seed']} | {100 * r['float_test_acc']:.2f}% | {name} | {100 * c['test_acc']:.2f}% | "
                         f"{100 * (c['test_acc'] - r['float_test_acc']):+.2f} | {100 * c['sparsity']:.1f}% | "
                         f"{100 * c['multiply_sparsity']:.1f}% | {layers} | {c['mismatches']} | {c['stop_reason']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "compress_digits_cnn"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    progress.set_quiet(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nn2hls_digits_cnn_") as work:
        rows = [run(seed, Path(work)) for seed in range(args.seeds)]
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    text = section(rows)
    (out / "section.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
