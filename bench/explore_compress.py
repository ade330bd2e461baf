"""Compression scan time: the serial engine against Ray Tune with 2 workers, on the same trials, same run.

Scan: the jet MLP (example_models/jet_mlp.onnx, already trained) on its 1,000 samples and labels split
600 train / 200 validation / 200 test; 8 trials = recipe l1/lp x strength 1e-5/1e-4 x target sparsity
0.5/0.75, 2 epochs of penalized training and 1 after each pruning step, every trial checked (C
simulation vs emulator). Early stopping is off in the timed Tune run, so both engines run the same work;
their rows are checked equal (all but trial_s) before the times count. The Tune time includes starting
and stopping Ray (num_cpus=2: two trials at a time).
Usage: python bench/explore_compress.py; prints a Markdown line for bench/RESULTS.md.
"""
from __future__ import annotations

import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nn2hls.explore.compress_scan import explore_compress  # noqa: E402

MODEL = ROOT / "example_models" / "jet_mlp.onnx"
SPACE = {"recipe": ["l1", "lp"], "strength": [1e-5, 1e-4], "target_sparsity": [0.5, 0.75], "epochs": 2,
         "retrain_epochs": 1, "tolerance": 0.02}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="(the output is already one Markdown line; "
                        "accepted for bench/regenerate.py)")
    parser.parse_args()
    x = np.load(ROOT / "example_models" / "jet_mlp_input.npy").astype(np.float32)
    y = np.load(ROOT / "example_models" / "jet_mlp_labels.npy")
    y = y.argmax(axis=1) if y.ndim == 2 else y
    data = {"x_train": x[:600], "y_train": y[:600], "x_val": x[600:800], "y_val": y[600:800],
            "x_test": x[800:], "y_test": y[800:]}
    times, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("serial", "tune"):
            start = time.perf_counter()
            result = explore_compress(MODEL, data, SPACE, Path(tmp) / engine, engine=engine, num_cpus=2,
                                      early_stop=False)
            times[engine] = time.perf_counter() - start
            rows[engine] = [{k: v for k, v in r.items() if k != "trial_s"} for r in result.rows]
            best = result.row(result.best) if result.best else None
    assert rows["serial"] == rows["tune"], "the engines disagree"
    ok = sum(r["status"] == "ok" for r in rows["serial"])
    load = os.getloadavg()[0]
    print(f"- {datetime.date.today()}, 2 cores (load average {load:.1f} at the end): "
          "`python bench/explore_compress.py`, "
          f"8 compression trials of the jet MLP ({ok} ok, each checked), serial {times['serial']:.1f} s, Ray Tune "
          f"2 workers {times['tune']:.1f} s ({times['serial'] / times['tune']:.2f}x, Ray start-up included); "
          f"identical rows. Best trial: {best['args'] if best else None} -> "
          f"test acc {best['test_acc'] if best else ''}, "
          f"{best['dsp'] if best else ''} DSP.")


if __name__ == "__main__":
    main()
