"""Sensitivity-based per-layer pruning of the digits CNN through the one-call flow (issue #21).

Data and model as bench/compress_seed.py: scikit-learn 8x8 digits, pixels / 16, stratified 60/20/20
split per seed; CNN Conv(1->8, 3x3) - ReLU - MaxPool 2 - Flatten - Dense(72->10), trained 60 epochs
(Adam, lr 3e-3). 3,312 multiplies per inference: 72 conv taps used at 36 positions each (2,592, 78%)
and 720 dense weights. Flows, all `compress(recipe="l1", target_sparsity=0.95, tolerance=0.01,
retrain_epochs=25, lr=3e-3)` (within 1 pt of the float model on validation data, 360 samples; every
retraining at the float training's learning rate, the learning-rate rewinding of Renda, Frankle, Carbin,
ICLR 2020, which bench/compress_digits_cnn_seeds.py found to reach further than compress's default 1e-3):
  steps        `sensitivity=True, criterion="obd"`: `criteria.LayerSteps`, per iteration the layer step
               costing the least training loss per removed multiply (OBD ranking inside the layer),
               cosine-decayed fine-tuning, a rejected step rolled back and halved;
  targets      `sensitivity="targets"`: the earlier rule (one-shot sensitivity targets, the first
               rejected step ends the schedule);
  one_fraction `sensitivity=False`: the same fraction of every layer per step.
Reported: validation and test accuracy vs float, weight sparsity, multiplies removed (1 - the compiled
report's multiplies / the float model's), per-layer sparsity, rejected steps (looks at the validation data
that were refused), C-sim mismatches, and the report's general products, LUT-mapped products and DSPs
(DSP == general - LUT-mapped, checked), plus the seed's accuracy-vs-multiplies curve.

Usage: python bench/compress_digits_cnn.py [--seeds 3] [--flows steps,targets,one_fraction]
       [--retrain-epochs 25] [--out bench/compress_digits_cnn] [--markdown]
Writes OUT/results.json and OUT/section.md (and OUT/curves.png); --markdown prints only the tables.
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


REWIND_LR = 3e-3  # the float model's training rate (learning-rate rewinding, module docstring)
FLOWS = {"steps": {"sensitivity": True, "criterion": "obd"}, "targets": {"sensitivity": "targets"},
         "one_fraction": {"sensitivity": False}}


def layer_multiplies(report: dict) -> int:
    """The products the compiled Dense and Conv layers compute per inference (the softmax's excluded)."""
    return sum(r["multiplies"] for r in report["layers"] if r["op"] in ("Dense", "Conv"))


def _hardware(res) -> dict:
    """Totals of the compiled report, and whether every DSP is a general product not mapped to LUTs."""
    t = res.report["totals"]
    return {"multiplies": layer_multiplies(res.report), "all_multiplies": t["multiplies"], "mult_general": t["mult_general"], "lut_multiplies": t["lut_multiplies"],
            "dsp": t["dsp"], "dsp_ok": t["dsp"] == t["mult_general"] - t["lut_multiplies"]}


def run(seed: int, work: Path, flows: tuple[str, ...], retrain_epochs: int, quiet: bool) -> dict:
    import nn2hls

    train, val, test = data(seed)
    torch.manual_seed(seed)
    net = cnn()
    fit(net, *train, epochs=60, lr=REWIND_LR, seed=seed)
    row = {"seed": seed, "float_test_acc": accuracy(net, *test), "float_val_acc": accuracy(net, *val)}
    with tempfile.TemporaryDirectory() as tmp:  # the float model's compiled multiplies (the 'dense' count)
        from nn2hls.compress.export import export_onnx

        path = export_onnx(net, torch.as_tensor(train[0][:1]), Path(tmp) / "float.onnx")
        row["float_multiplies"] = layer_multiplies(nn2hls.compile(str(path), calibration=val[0]).report())
    for name in flows:
        start = time.perf_counter()
        res = compress(net, train, val, test=test, recipe="l1", target_sparsity=0.95, tolerance=0.01, epochs=20,
                       retrain_epochs=retrain_epochs, lr=REWIND_LR, seed=seed, out_dir=work / f"{seed}_{name}", resume=False,
                       **FLOWS[name])
        f = res.final
        prune = [h for h in res.history if h["stage"] == "prune"]
        row[name] = {"val_acc": f["val_acc"], "test_acc": f["test_acc"], "sparsity": f["sparsity"],
                     "multiply_sparsity": f["multiply_sparsity"],
                     "layers": {k.split("/", 1)[1]: v for k, v in f.items() if k.startswith("sparsity/")},
                     "stop_reason": res.stop_reason, "mismatches": res.check.mismatches,
                     "rejected": sum(not h["accepted"] for h in prune), **_hardware(res),
                     "curve": [[h["multiply_sparsity"], h["val_acc"], h["test_acc"], h["accepted"]] for h in prune],
                     "seconds": round(time.perf_counter() - start, 1)}
        shown = {k: v for k, v in row[name].items() if k != "curve"}
        print(f"seed {seed} {name}: {json.dumps(shown)}", flush=True, file=sys.stderr if quiet else sys.stdout)
    return row


def tables(rows: list[dict], flows: tuple[str, ...]) -> str:
    lines = ["| seed | float val / test | flow | val Δ pt | test Δ pt | weight sparsity | multiplies removed | "
             "conv / dense sparsity | rejected steps | stop | general products | LUT-mapped | DSP | "
             "DSP == general - LUT | C-sim mismatches |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for name in flows:
            c = r[name]
            layers = " / ".join(f"{100 * v:.0f}%" for v in c["layers"].values())
            removed = 1 - c["multiplies"] / r["float_multiplies"]
            lines.append(f"| {r['seed']} | {100 * r['float_val_acc']:.2f}% / {100 * r['float_test_acc']:.2f}% | {name} | "
                         f"{100 * (c['val_acc'] - r['float_val_acc']):+.2f} | "
                         f"{100 * (c['test_acc'] - r['float_test_acc']):+.2f} | {100 * c['sparsity']:.1f}% | "
                         f"{100 * removed:.1f}% | {layers} | {c['rejected']} | {c['stop_reason']} | "
                         f"{c['mult_general']} | {c['lut_multiplies']} | {c['dsp']} | "
                         f"{'yes' if c['dsp_ok'] else 'NO'} | {c['mismatches']} |")
    lines += ["", "Accepted steps of the `steps` flow (multiplies removed: val Δ / test Δ, pt against float; "
              "rejected attempts in brackets):", ""]
    for r in rows:
        if "steps" not in r:
            continue
        pts = []
        for ms, va, te, ok in r["steps"]["curve"]:
            text = f"{100 * ms:.0f}%: {100 * (va - r['float_val_acc']):+.1f} / {100 * (te - r['float_test_acc']):+.1f}"
            pts.append(text if ok else f"[{text}]")
        lines.append(f"- seed {r['seed']}: " + ", ".join(pts))
    return "\n".join(lines) + "\n"


def section(rows: list[dict], flows: tuple[str, ...]) -> str:
    return ("## Compression: sensitivity-based per-layer pruning of the digits CNN (issue #21)\n\n"
            "`python bench/compress_digits_cnn.py --seeds 3`: the digits CNN (3,312 multiplies, 78% of them in "
            "the 72 conv taps), `compress(recipe='l1', tolerance=0.01, ...)` per flow (docstring); accuracy "
            "on the validation split (360 samples, the tolerance's data) and the held-out test split (360 "
            "samples: one sample = 0.28 pt).\n\n" + tables(rows, flows))


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for r in rows:
        if "steps" not in r:
            continue
        pts = [(100 * ms, 100 * (te - r["float_test_acc"]), 100 * (va - r["float_val_acc"]))
               for ms, va, te, ok in r["steps"]["curve"] if ok]
        line, = ax.plot([p[0] for p in pts], [p[2] for p in pts], "o-", ms=3, label=f"seed {r['seed']} val")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "x--", ms=3, color=line.get_color(),
                label=f"seed {r['seed']} test")
    ax.axhline(-1.0, color="gray", ls=":", label="-1 pt")
    ax.axvline(72.0, color="gray", ls="--", lw=0.8)
    ax.set_xlabel("multiplies removed (%)")
    ax.set_ylabel("accuracy vs float (pt)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--flows", default=",".join(FLOWS), help="comma-separated subset of " + ", ".join(FLOWS))
    parser.add_argument("--retrain-epochs", type=int, default=25)
    parser.add_argument("--out", default=str(ROOT / "bench" / "compress_digits_cnn"))
    parser.add_argument("--markdown", action="store_true", help="stdout: only the tables (bench/regenerate.py)")
    args = parser.parse_args()
    flows = tuple(f for f in args.flows.split(",") if f)
    torch.set_num_threads(1)
    progress.set_quiet(True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nn2hls_digits_cnn_") as work:
        rows = [run(seed, Path(work), flows, args.retrain_epochs, args.markdown) for seed in range(args.seeds)]
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    text = section(rows, flows)
    (out / "section.md").write_text(text)
    plot(rows, out / "curves.png")
    print(tables(rows, flows) if args.markdown else text)


if __name__ == "__main__":
    main()
