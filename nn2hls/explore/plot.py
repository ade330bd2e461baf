"""The Pareto plot of a scan (PNG, matplotlib): accuracy against DSPs and against latency.

Rule: two panels sharing the accuracy axis; every usable point is a grey dot, the Pareto front
(`nn2hls.explore.pareto`) is drawn in colour (a front in three objectives: a front point may look dominated in one panel), the best point is a
star. The DSP axis is logarithmic above 10 (linear below, so 0 DSPs shows). Returns None (and draws nothing) when matplotlib is not installed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence


def plot_pareto(rows: Sequence[Mapping[str, Any]], front: Sequence[int], best: int | None, accuracy_key: str,
                path: Path, title: str = "") -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    ok = [i for i, r in enumerate(rows) if r.get("status") == "ok" and r.get(accuracy_key) is not None]
    label = "accuracy (labels)" if accuracy_key == "accuracy" else "argmax agreement with float"
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, key, name in ((axes[0], "dsp", "DSP (estimate)"), (axes[1], "latency_cycles", "latency (cycles)")):
        ax.scatter([rows[i][key] for i in ok], [rows[i][accuracy_key] for i in ok], s=14, c="0.7",
                   label=f"all points ({len(ok)})")
        on_front = sorted(front, key=lambda i: (rows[i][key], rows[i][accuracy_key]))
        ax.scatter([rows[i][key] for i in on_front], [rows[i][accuracy_key] for i in on_front], s=30,
                   color="tab:blue", label=f"Pareto front ({len(front)}, accuracy/DSP/latency)")
        if best is not None:
            ax.scatter([rows[best][key]], [rows[best][accuracy_key]], marker="*", s=180, color="tab:red",
                       zorder=5, label="best (best_config.yml)")
        if key == "dsp":
            ax.set_xscale("symlog", linthresh=10)  # DSP counts span 0 to thousands
        ax.set_xlabel(name)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(label)
    axes[0].legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
