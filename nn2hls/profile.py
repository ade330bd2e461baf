"""`nn2hls profile MODEL [--compare OTHER] -o DIR`: per-layer weight distributions and sparsity.

For every Dense/Conv layer of the model (any format `nn2hls.load` reads) the kernel's nonzero |w| are
histogrammed on a log10 axis (bins shared by both models, so "before" and "after" overlay), the
exact zeros are counted as sparsity, and the results are written to DIR:
  summary.txt   one line per layer: weights, zeros, sparsity, min/max nonzero |w| (and OTHER's)
  profile.json  the same numbers plus the histogram counts and bin edges
  <layer>.png   the overlaid histograms (matplotlib, optional; skipped with a note when missing)
  overview.png  all layers in one figure
Layers are matched between MODEL and OTHER by their order in the graph (names differ between exports).
The written files name the models by file name only and the figures relative to DIR, so a committed
profile does not depend on the machine or folder it was made in.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np

from nn2hls.errors import ModelLoadError

BINS = 60


def layer_weights(model_path: str | Path) -> list[tuple[str, np.ndarray]]:
    """(node name, kernel as float64) of every Dense/Conv node, in topological order."""
    from nn2hls.ir.ops import Conv, Dense
    from nn2hls.pipeline import load

    graph = load(str(model_path))
    out = [(n.name, np.asarray(n.weights["kernel"], dtype=np.float64))
           for n in graph.topological() if isinstance(n.op, (Dense, Conv)) and "kernel" in n.weights]
    if not out:
        raise ModelLoadError(f"model '{model_path}' has no Dense or Conv layer with weights to profile")
    return out


def _stats(w: np.ndarray) -> dict[str, Any]:
    nz = np.abs(w[w != 0])
    return {"weights": int(w.size), "zeros": int(w.size - nz.size), "sparsity": float(1 - nz.size / w.size),
            "min_abs": float(nz.min()) if nz.size else 0.0, "max_abs": float(nz.max()) if nz.size else 0.0}


def _edges(arrays: list[np.ndarray]) -> np.ndarray:
    nz = np.concatenate([np.abs(a[a != 0]).ravel() for a in arrays]) if arrays else np.zeros(0)
    if nz.size == 0:
        return np.linspace(-8, 1, BINS + 1)
    lo, hi = np.log10(nz.min()), np.log10(nz.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, BINS + 1)


def _hist(w: np.ndarray, edges: np.ndarray) -> list[int]:
    nz = np.abs(w[w != 0])
    return np.histogram(np.log10(nz), bins=edges)[0].astype(int).tolist() if nz.size else [0] * (len(edges) - 1)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def run_profile(model_path: str | Path, out_dir: str | Path, compare: str | Path | None = None) -> dict:
    """Profile `model_path` (optionally overlaid with `compare`) into `out_dir`; returns the profile dict.

    The dict: {"model", "compare" (file names), "layers": [{"name", "stats", "compare_name",
    "compare_stats", "edges", "hist", "compare_hist"}], "total": {weights, zeros, sparsity},
    "compare_total", "figures": [png file names inside out_dir], "note"}.
    """
    main = layer_weights(model_path)
    other = layer_weights(compare) if compare is not None else []
    if other and len(other) != len(main):
        raise ModelLoadError(f"cannot compare '{model_path}' ({len(main)} Dense/Conv layers) with '{compare}' "
                             f"({len(other)}); give two versions of the same network")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = []
    for i, (name, w) in enumerate(main):
        row: dict[str, Any] = {"name": name, "stats": _stats(w)}
        arrays = [w]
        if other:
            row["compare_name"], ow = other[i]
            row["compare_stats"] = _stats(ow)
            arrays.append(ow)
        edges = _edges(arrays)
        row["edges"] = edges.tolist()
        row["hist"] = _hist(w, edges)
        if other:
            row["compare_hist"] = _hist(other[i][1], edges)
        layers.append(row)

    def total(key: str) -> dict[str, Any]:
        n = sum(r[key]["weights"] for r in layers)
        z = sum(r[key]["zeros"] for r in layers)
        return {"weights": n, "zeros": z, "sparsity": z / n if n else 0.0}

    result: dict[str, Any] = {"model": Path(model_path).name, "compare": Path(compare).name if compare else None,
                              "layers": layers, "total": total("stats"),
                              "compare_total": total("compare_stats") if other else None, "figures": [], "note": ""}
    if importlib.util.find_spec("matplotlib") is None:
        result["note"] = "matplotlib is not installed: no PNG figures (pip install matplotlib)"
    else:
        result["figures"] = _plot(result, out)
    (out / "profile.json").write_text(json.dumps(result, indent=1))
    (out / "summary.txt").write_text(summary_text(result))
    return result


def summary_text(result: dict) -> str:
    """The text summary: one line per layer, then the totals."""
    cmp_ = result["compare"] is not None
    head = f"{'layer':<24} {'weights':>8} {'zeros':>8} {'sparsity':>9} {'min|w|':>10} {'max|w|':>10}"
    if cmp_:
        head += f"   | compare: {'zeros':>8} {'sparsity':>9}"
    lines = [f"model: {result['model']}"] + ([f"compare: {result['compare']}"] if cmp_ else []) + [head]
    for r in result["layers"]:
        s = r["stats"]
        line = (f"{r['name']:<24} {s['weights']:>8} {s['zeros']:>8} {s['sparsity']*100:>8.2f}% "
                f"{s['min_abs']:>10.3g} {s['max_abs']:>10.3g}")
        if cmp_:
            c = r["compare_stats"]
            line += f"   |          {c['zeros']:>8} {c['sparsity']*100:>8.2f}%"
        lines.append(line)
    t = result["total"]
    line = f"{'total':<24} {t['weights']:>8} {t['zeros']:>8} {t['sparsity']*100:>8.2f}%"
    if cmp_:
        c = result["compare_total"]
        line += f"{'':>22}   |          {c['zeros']:>8} {c['sparsity']*100:>8.2f}%"
    lines.append(line)
    if result["note"]:
        lines.append(result["note"])
    return "\n".join(lines) + "\n"


def _draw(ax, row: dict, model_label: str, compare_label: str | None) -> None:
    edges = np.asarray(row["edges"])
    centers = 10 ** ((edges[:-1] + edges[1:]) / 2)
    widths = 10 ** edges[1:] - 10 ** edges[:-1]
    if compare_label is not None:
        ax.bar(centers, row["compare_hist"], width=widths, alpha=0.5, color="tab:blue",
               label=f"{compare_label} ({row['compare_stats']['sparsity']*100:.1f}% zero)")
    ax.bar(centers, row["hist"], width=widths, alpha=0.6, color="tab:orange",
           label=f"{model_label} ({row['stats']['sparsity']*100:.1f}% zero)")
    ax.set_xscale("log")
    ax.set_xlabel("|w| (nonzero)")
    ax.set_ylabel("weights")
    ax.set_title(row["name"], fontsize=9)
    ax.legend(fontsize=7)


def _plot(result: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model_label = Path(result["model"]).stem
    compare_label = Path(result["compare"]).stem if result["compare"] else None
    paths = []
    for row in result["layers"]:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        _draw(ax, row, model_label, compare_label)
        fig.tight_layout()
        p = out / f"{_safe(row['name'])}.png"
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p.name)
    n = len(result["layers"])
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.0 * rows), squeeze=False)
    for ax, row in zip(axes.flat, result["layers"]):
        _draw(ax, row, model_label, compare_label)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    p = out / "overview.png"
    fig.savefig(p, dpi=90)
    plt.close(fig)
    paths.append(p.name)
    return paths
