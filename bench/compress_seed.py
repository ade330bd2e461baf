"""Reproduce the seed's compression recipes on scikit-learn's 8x8 digits and carry them to hardware.

Models: an MLP 64-64-32-32-10 and a small CNN (Conv 1->8 3x3, relu, maxpool 2, flatten, dense 10).
Data: load_digits, pixels / 16, stratified split 60% train / 20% validation / 20% held-out test,
several seeds (the split and the initialisation change with the seed).
Recipes (nn2hls.compress):
  float    : Adam, cross-entropy.
  L1       : from the float model, train with lambda*sum|w| (lambda 1e-4), then iterations of "prune the
             bottom of the |w| distribution, retrain with masks and L1, polish 5 epochs without the
             penalty"; stop at 75% sparsity or when validation accuracy drops by more than 1 pt (rolled
             back; 1 pt = 3.6 validation samples). MLP: 22% of the remaining weights per step, 12 retraining
             epochs, up to 7 iterations; CNN (792 weights): 12% per step, 25 epochs, up to 12 iterations.
  L_p      : the same with the smoothed L_p penalty, p = 0.1, lambda 1e-3, target 90%, 2 pt tolerance;
             MLP 33% per step, 20% once past 80% sparsity; CNN 15% then 10%. The last step of every
             schedule is clipped so that it only just reaches the target.
  scope    : "auto" = one global |w| threshold when every weight is used equally often (the MLP: its
             multiplies are its nonzero weights whatever the scope), the same fraction of every layer
             otherwise (the CNN: each conv tap is used at 36 positions, and a global threshold removes
             mostly the small dense weights, so the multiplies would barely fall). The CNN's L1 recipe is
             also run with the global scope ("l1_global") to show the difference.
  ternary / binary : QAT (Brevitas quantizers when installed, else nn2hls's own STE) from the float
             model, power-of-two per-layer scale; "all" layers, and "*_hidden" with the first and last
             layers kept at fixed<8> (the CNN has no hidden layer: only its last layer is kept at fixed<8>).
Every model and split is seeded (torch.manual_seed(seed) before each recipe, seeded batch order, one
thread), so a seed's numbers repeat exactly on the same machine and torch version.
Each result of seed 0 is exported to ONNX and compiled with nn2hls (calibration: the training set):
bit-exact C simulation vs emulator on the test set, fixed-point test accuracy, and the report's
multiplies (general / power-of-two / +-1) and DSPs against the unpruned model.

Usage: python bench/compress_seed.py [--seeds 3] [--quick] [--no-compile] [--arch mlp] [--recipes l1,lp,qat]
       [--scope auto|layer|global] [--set KEY=VALUE] [--dry]
Writes bench/compress/results.json, bench/compress/*.png (profile figures) and prints a Markdown
section (also bench/compress/section.md) to append to bench/RESULTS.md.
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

from nn2hls.compress import masks, qat  # noqa: E402
from nn2hls.compress.export import export_onnx  # noqa: E402
from nn2hls.compress.penalties import L1Penalty, LpPenalty  # noqa: E402
from nn2hls.compress.schedule import accuracy, fit, iterative_prune, taper, to_tensors  # noqa: E402

OUT = ROOT / "bench" / "compress"
CONFIG = dict(epochs=60, reg_epochs=20, retrain_epochs=12, polish_epochs=5, qat_epochs=30, iterations=7,
              l1_lambda=1e-4, l1_fraction=0.22, lp_lambda=1e-3, lp_fraction=0.33, lp_fraction_end=0.2,
              lp_taper_at=0.8)
# the CNN's 792 weights (72 of them reused at 36 positions) take smaller steps and longer retraining
ARCH_CONFIG = {"cnn": dict(l1_fraction=0.12, lp_fraction=0.15, lp_fraction_end=0.1, retrain_epochs=25, iterations=12)}


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 10))


def cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 3 * 3, 10))


ARCHS = {"mlp": (mlp, (64,)), "cnn": (cnn, (1, 8, 8))}


def data(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    x_tr, x_va, y_tr, y_va = train_test_split(x_tr, y_tr, test_size=0.25, stratify=y_tr, random_state=seed)
    return (x_tr, y_tr), (x_va, y_va), (x_te, y_te)


def _recipes(cfg: dict, auto_scope: str) -> dict:
    """name -> (penalty, fraction rule, target, tolerance, scope). "l1_global": the L1 recipe with one
    global threshold, run only where the automatic scope is per layer (to show what the choice costs)."""
    out = {
        "l1": (L1Penalty(cfg["l1_lambda"]), cfg["l1_fraction"], 0.75, 0.01, auto_scope),
        "lp": (LpPenalty(cfg["lp_lambda"], p=0.1, eps=1e-3),
               taper(cfg["lp_fraction"], cfg["lp_fraction_end"], at=cfg["lp_taper_at"]), 0.90, 0.02, auto_scope),
    }
    if auto_scope != "global":
        out["l1_global"] = out["l1"][:4] + ("global",)
    return out


def qat_variants(arch: str) -> dict[str, tuple[str, str]]:
    """name -> (quant spec, layers). "*_hidden" keeps the first and last layers at fixed<8> (the CNN has
    no hidden layer: its conv is quantized and only the last layer is kept at fixed<8>)."""
    keep = "hidden" if arch == "mlp" else "all_but_last"
    return {"ternary": ("ternary", "all"), "binary": ("binary", "all"),
            "ternary_hidden": ("ternary", keep), "binary_hidden": ("binary", keep)}


def run_seed(arch: str, seed: int, cfg: dict, recipes: tuple[str, ...] = ("l1", "lp", "qat"),
             scope: str = "auto") -> tuple[dict, dict]:
    make, shape = ARCHS[arch]
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = data(seed)
    xt, yt = to_tensors(x_tr.reshape(-1, *shape), y_tr)
    xv, yv = to_tensors(x_va.reshape(-1, *shape), y_va)
    xe, ye = to_tensors(x_te.reshape(-1, *shape), y_te)
    torch.manual_seed(seed)
    base = make()
    fit(base, xt, yt, epochs=cfg["epochs"], lr=3e-3, seed=seed)
    reuse = masks.reuse_counts(base, xt[:1])
    use_scope = masks.auto_scope(reuse) if scope == "auto" else scope
    out = {"float": {"test_acc": accuracy(base, xe, ye), "val_acc": accuracy(base, xv, yv)}}
    models = {"float": base}
    for recipe, (penalty, frac, target, tol, rscope) in _recipes(cfg, use_scope).items():
        if recipe.split("_")[0] not in recipes:
            continue
        torch.manual_seed(seed)
        model = masks.copy_model(base)

        def train(m: nn.Module, it: int, penalty=penalty) -> None:
            # regularized (re)training with the masks in place, then a short polish without the penalty
            fit(m, xt, yt, epochs=cfg["reg_epochs"] if it == 0 else cfg["retrain_epochs"], lr=1e-3,
                penalty=penalty, seed=seed + 1000 * it)
            fit(m, xt, yt, epochs=cfg["polish_epochs"], lr=5e-4, seed=seed + 1000 * it + 1)

        test_curve, mult_curve = [], []

        def evaluate(m: nn.Module) -> float:
            test_curve.append(accuracy(m, xe, ye))
            mult_curve.append(masks.multiply_sparsity(m, reuse))
            return accuracy(m, xv, yv)

        res = iterative_prune(model, train, evaluate, target_sparsity=target, tolerance=tol,
                              max_iterations=cfg["iterations"], fraction=frac, scope=rscope,
                              clip_to_target=True, confirm=False)
        # evaluate's first call measures the model as passed in (the reference); with confirm=False each
        # later call belongs to one history record
        hist = [{"iteration": r.iteration, "sparsity": r.sparsity, "mult_sparsity": mult_curve[i + 1],
                 "val_acc": r.accuracy, "test_acc": test_curve[i + 1], "accepted": r.accepted}
                for i, r in enumerate(res.history)]
        final = [h for h in hist if h["accepted"]][-1]
        masks.finalize(model)
        out[recipe] = {"history": hist, "stop_reason": res.stop_reason, "scope": rscope,
                       "sparsity": masks.sparsity(model), "mult_sparsity": masks.multiply_sparsity(model, reuse),
                       "test_acc": accuracy(model, xe, ye), "final_iteration": final["iteration"],
                       "layer_sparsity": masks.layer_sparsity(model)}
        models[recipe] = model
    if "qat" in recipes:
        for name, (kind, layers) in qat_variants(arch).items():
            torch.manual_seed(seed)
            qm = qat.quantize_model(base, kind, layers=layers, edge="fixed8")
            fit(qm, xt, yt, epochs=cfg["qat_epochs"], lr=1e-3, seed=seed)
            frozen = qat.freeze(qm)
            out[name] = {"test_acc": accuracy(qm, xe, ye), "frozen_test_acc": accuracy(frozen, xe, ye),
                         "sparsity": masks.sparsity(frozen), "layers": layers,
                         "backend": "brevitas" if qat.has_brevitas() else "ste"}
            models[name] = qm
    return out, models


def compile_models(arch: str, models: dict, seed: int, workdir: Path) -> dict:
    """Export, compile, check bit-exactness and read the report of each model (compiler present)."""
    try:
        import nn2hls
        from nn2hls.pipeline import compile as nn_compile  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        return {"error": f"compiler not available: {exc}"}
    _, shape = ARCHS[arch]
    (x_tr, _), _, (x_te, y_te) = data(seed)
    x_tr = x_tr.reshape(-1, *shape).astype(np.float64)
    x_te = x_te.reshape(-1, *shape).astype(np.float64)
    rows = {}
    for name, model in models.items():
        path = export_onnx(model, torch.zeros(1, *shape), workdir / f"{arch}_{name}.onnx")
        t0 = time.perf_counter()
        try:
            cm = nn2hls.compile(path, calibration=x_tr)
            emu = np.asarray(cm.emulate(x_te))
            sim = cm.build()
            csim = np.asarray(sim.predict(x_te))
            report = cm.report()
        except Exception as exc:  # noqa: BLE001 - record and go on with the other models
            rows[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
            continue
        rep = report["totals"]
        weighted = [lay for lay in report["layers"] if lay.get("weights")]
        rows[name] = {"bit_exact": bool(np.array_equal(emu, csim)),
                      "fixed_test_acc": float((emu.argmax(1) == y_te).mean()),
                      "weights": rep["weights"], "nonzero_weights": rep["nonzero_weights"],
                      "multiplies": rep["multiplies"], "mult_general": rep["mult_general"],
                      "mult_pow2": rep["mult_pow2"], "mult_pm_one": rep["mult_pm_one"], "dsp": rep["dsp"],
                      "layer_mult_general": [lay["mult_general"] for lay in weighted],
                      "layer_dsp": [lay["dsp"] for lay in weighted],
                      "seconds": round(time.perf_counter() - t0, 2)}
    dense = rows.get("float", {}).get("multiplies")
    for name, row in rows.items():
        if dense and "multiplies" in row:
            row["mult_ratio_vs_dense"] = row["multiplies"] / dense
    return rows


def profiles(arch: str, workdir: Path) -> list[str]:
    from nn2hls.profile import run_profile

    made = []
    for recipe in ("l1", "lp"):
        out = OUT / f"{arch}_{recipe}"
        run_profile(workdir / f"{arch}_{recipe}.onnx", out, compare=workdir / f"{arch}_float.onnx")
        made.append(str(out.relative_to(ROOT)))
    return made


PRUNE_TARGETS = {"l1": (0.72, 0.5), "lp": (0.90, 2.0), "l1_global": (0.72, 0.5)}
QAT_KEYS = ("ternary", "binary", "ternary_hidden", "binary_hidden")


def summarize(results: dict) -> dict:
    summary = {}
    for arch, per_seed in results["runs"].items():
        s = {}
        f = np.array([r["float"]["test_acc"] for r in per_seed])
        s["float_acc"] = float(f.mean())
        for key in [k for k in per_seed[0] if k != "float"]:
            acc = np.array([r[key]["test_acc"] for r in per_seed])
            sp = np.array([r[key]["sparsity"] for r in per_seed])
            row = {"acc": float(acc.mean()), "acc_std": float(acc.std()), "drop_pt": float((f - acc).mean() * 100),
                   "worst_drop_pt": float((f - acc).max() * 100), "sparsity": float(sp.mean()),
                   "min_sparsity": float(sp.min())}
            if "mult_sparsity" in per_seed[0][key]:
                row["mult_sparsity"] = float(np.mean([r[key]["mult_sparsity"] for r in per_seed]))
                row["scope"] = per_seed[0][key]["scope"]
            if key in PRUNE_TARGETS:
                t_sp, t_drop = PRUNE_TARGETS[key]
                # every seed must meet the target (not only the mean)
                row["met"] = bool(sp.min() >= t_sp and (f - acc).max() * 100 <= t_drop)
            s[key] = row
        summary[arch] = s
    return summary


def markdown(results: dict, tables_only: bool = False) -> str:
    """The RESULTS.md section; `tables_only`: without the heading and the provenance paragraph (the region
    bench/regenerate.py replaces)."""
    s = results["summary"]
    lines = ["## Compression", "",
             f"`python bench/compress_seed.py --seeds {results['seeds']}` ({results['seconds']:.0f} s on "
             f"{torch.get_num_threads()} thread; QAT backend: {results['qat_backend']}). sklearn 8x8 digits, "
             "stratified 60/20/20 train/validation/test split per seed (deterministic per seed); numbers are "
             "test accuracy, mean over seeds (drop = float minus compressed, percentage points; worst = the "
             "worst seed). A target is met only when every seed meets it. Sparsity = zero weights / weights; "
             "mult-weighted = the share of the dense model's multiplies the zeros remove (a conv tap counts "
             "once per output position). Scope: how the prune step ranks weights (auto: `global` when every "
             "weight is used equally often, the MLP; `layer`, the same fraction of every layer, otherwise).", "",
             "| model | recipe | scope | sparsity (mean / min) | mult-weighted | test acc | drop (mean / worst) "
             "| target | met |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for arch, a in s.items():
        lines.append(f"| {arch} | float | - | 0% | 0% | {a['float_acc']*100:.2f}% | - | - | - |")
        for key, r in a.items():
            if key == "float_acc":
                continue
            target = PRUNE_TARGETS.get(key)
            tgt = f">= {target[0]*100:.0f}% pruned, <= {target[1]} pt" if target else "-"
            met = ("yes" if r["met"] else "NO") if target else "-"
            mult = f"{r['mult_sparsity']*100:.1f}%" if "mult_sparsity" in r else "-"
            lines.append(f"| {arch} | {key} | {r.get('scope', '-')} | "
                         f"{r['sparsity']*100:.1f}% / {r['min_sparsity']*100:.1f}% | {mult} | {r['acc']*100:.2f}% | "
                         f"{r['drop_pt']:+.2f} / {r['worst_drop_pt']:+.2f} pt | {tgt} | {met} |")
    lines += ["", "Per-iteration curves (seed 0): weight sparsity / mult-weighted sparsity -> test accuracy", ""]
    for arch, per_seed in results["runs"].items():
        for key, r in per_seed[0].items():
            if "history" not in r:
                continue
            pts = ", ".join(f"{h['sparsity']*100:.0f}/{h['mult_sparsity']*100:.0f}%:{h['test_acc']*100:.1f}%"
                            f"{'' if h['accepted'] else ' (rolled back)'}" for h in r["history"])
            lines.append(f"- {arch} {key} (stop: {r['stop_reason']}): {pts}")
    comp = results.get("compile", {})
    lines += ["", "Compiled with nn2hls (seed 0; calibration = training set; default config). mult/dense = the "
              "report's multiplies over the float model's; target: mult/dense <= 1 - sparsity. Hidden general = "
              "general multiplies in the ternary/binary layers (the fixed<8> edge layers excluded).", ""]
    if not comp:
        lines.append("compiler step skipped")
    for arch, rows in comp.items():
        if "error" in rows:
            lines.append(f"- {arch}: {rows['error']}")
            continue
        runs0 = results["runs"][arch][0]
        lines += [f"| {arch} | bit-exact | fixed acc | nonzero / weights | multiplies | mult/dense | 1 - sparsity | "
                  "1 - mult-weighted | <= 1 - sparsity | general | hidden general | pow2 | +-1 | DSP |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, r in rows.items():
            if "error" in r:
                lines.append(f"| {name} | error: {r['error']} |" + " |" * 12)
                continue
            ratio = r.get("mult_ratio_vs_dense", 0.0)
            keep = 1 - (1 - r["nonzero_weights"] / r["weights"])
            ms = runs0.get(name, {}).get("mult_sparsity")
            hidden = "-"
            met = "-" if name not in PRUNE_TARGETS else ("yes" if ratio <= keep + 1e-9 else "NO")
            if name in QAT_KEYS:
                kind, layers = qat_variants(arch)[name]
                gen = r["layer_mult_general"]
                idx = range(len(gen))
                if layers == "hidden":
                    idx = range(1, len(gen) - 1)
                elif layers == "all_but_last":
                    idx = range(len(gen) - 1)
                hidden = str(sum(gen[i] for i in idx))
            lines.append(f"| {name} | {'yes' if r['bit_exact'] else 'NO'} | {r['fixed_test_acc']*100:.2f}% | "
                         f"{r['nonzero_weights']} / {r['weights']} | {r['multiplies']} | {ratio:.3f} | {keep:.3f} | "
                         f"{'-' if ms is None else f'{1 - ms:.3f}'} | {met} | "
                         f"{r['mult_general']} | {hidden} | {r['mult_pow2']} | {r['mult_pm_one']} | {r['dsp']} |")
        lines.append("")
    if results.get("figures"):
        lines.append("Figures (log-scale |w| histograms per layer, float vs pruned): " +
                     ", ".join(f"`{f}/`" for f in results["figures"]))
    return "\n".join(lines[4:] if tables_only else lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="few epochs (smoke test)")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--arch", choices=list(ARCHS), action="append", help="only these models (repeatable)")
    ap.add_argument("--recipes", default="l1,lp,qat", help="comma list of l1, lp, qat")
    ap.add_argument("--scope", default="auto", choices=["auto", "layer", "global"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    ap.add_argument("--dry", action="store_true", help="print the per-seed lines only; write nothing")
    ap.add_argument("--markdown", action="store_true", help="stdout: only the tables, curves and figure list "
                    "(bench/regenerate.py); progress lines go to stderr")
    args = ap.parse_args(argv)
    say = sys.stderr if args.markdown else sys.stdout
    torch.set_num_threads(1)
    cfg = dict(CONFIG)
    if args.quick:
        cfg.update(epochs=5, reg_epochs=2, retrain_epochs=1, polish_epochs=1, qat_epochs=2, iterations=2)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = type(cfg[key])(value)
    cfg.update(overrides)
    t0 = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    work = OUT / "_models"
    results = {"seeds": args.seeds, "config": cfg, "arch_config": {}, "runs": {}, "compile": {}, "figures": [],
               "qat_backend": "brevitas" if qat.has_brevitas() else "ste (Brevitas not installed)"}
    recipes = tuple(r.strip() for r in args.recipes.split(","))
    for arch in args.arch or list(ARCHS):
        results["runs"][arch] = []
        for seed in range(args.seeds):
            t1 = time.perf_counter()
            arch_cfg = {**cfg, **({} if args.quick else ARCH_CONFIG.get(arch, {})), **overrides}
            results["arch_config"][arch] = arch_cfg
            out, models = run_seed(arch, seed, arch_cfg, recipes, args.scope)
            results["runs"][arch].append(out)
            print(f"{arch} seed {seed} ({time.perf_counter() - t1:.0f} s): " + ", ".join(
                f"{k} {v['test_acc']*100:.1f}%" + (f"@{v['sparsity']*100:.1f}%" if 'sparsity' in v else '')
                + (f" (mult {v['mult_sparsity']*100:.1f}%, {v['stop_reason']})" if 'mult_sparsity' in v else '')
                for k, v in out.items()), flush=True, file=say)
            if args.dry:
                continue
            if seed == 0:
                if args.no_compile:
                    results["compile"][arch] = {"error": "compiler step skipped (--no-compile)"}
                    for name, model in models.items():
                        export_onnx(model, torch.zeros(1, *ARCHS[arch][1]), work / f"{arch}_{name}.onnx")
                else:
                    results["compile"][arch] = compile_models(arch, models, seed, work)
                results["figures"] += profiles(arch, work)
    results["seconds"] = time.perf_counter() - t0
    if args.dry:
        print(f"{results['seconds']:.0f} s")
        return 0
    results["summary"] = summarize(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    md = markdown(results)
    (OUT / "section.md").write_text(md)
    print(markdown(results, tables_only=True) if args.markdown else md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
