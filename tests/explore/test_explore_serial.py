"""The serial scan of the jet MLP measured against independent references.

References: onnxruntime on the model as written (ORT_DISABLE_ALL) for the float outputs, numpy for
the accuracy on the labels, weight counts written down by hand (16x64, 64x32, 32x32, 32x5 kernels),
and the project that `nn2hls convert -c best_config.yml` writes for the config reproduction.
"""
from __future__ import annotations

import csv
import hashlib
import json

import numpy as np
import pytest

import nn2hls
from nn2hls.cli import main

KERNEL_SIZES = [16 * 64, 64 * 32, 32 * 32, 32 * 5]  # the jet MLP's four Dense kernels


def _onnxruntime(model, x):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0].astype(np.float64)


def _digest(y):
    arr = np.ascontiguousarray(y, dtype=np.float64)
    return hashlib.sha256(str(arr.shape).encode() + arr.tobytes()).hexdigest()


def _row(result, width, sparsity):
    return next(r for r in result.rows if r["precision.default.weight_width"] == width
                and r["pruning.sparsity.*"] == sparsity)


def test_48_points_all_evaluated(serial_scan, jet):
    assert len(serial_scan.rows) == 48 and serial_scan.evaluated == 48 and serial_scan.failed == 0
    assert [(r["precision.default.weight_width"], r["pruning.sparsity.*"]) for r in serial_scan.rows] == [
        (w, s) for w in jet["widths"] for s in jet["sparsities"]]
    assert len({r["point_id"] for r in serial_scan.rows}) == 48


@pytest.mark.parametrize("width, sparsity", [(16, 0.0), (6, 0.5), (4, 0.9)])
def test_point_numbers_against_onnxruntime_and_labels(serial_scan, jet, width, sparsity):
    row = _row(serial_scan, width, sparsity)
    # the point's own config file reproduces it (it names the calibration file)
    compiled = nn2hls.compile(jet["model"], serial_scan.out_dir / row["config"])
    y = compiled.emulate(jet["x"])
    assert _digest(y) == row["outputs_sha256"]
    ref = _onnxruntime(jet["model"], jet["x"])
    assert row["max_abs_err"] == pytest.approx(float(np.abs(y - ref).max()), abs=1e-12)
    assert row["mean_abs_err"] == pytest.approx(float(np.abs(y - ref).mean()), abs=1e-12)
    assert row["argmax_agreement"] == float(np.mean(y.argmax(1) == ref.argmax(1)))
    assert row["accuracy"] == float(np.mean(y.argmax(1) == jet["y"]))
    kept = sum(n - round(sparsity * n) for n in KERNEL_SIZES)
    assert row["nonzero_weights"] <= kept  # quantization may zero more weights, never fewer
    if (width, sparsity) == (16, 0.0):
        assert row["nonzero_weights"] == 4256 and row["sparsity"] == 0.0
    assert row["overflows"] == 0 and row["bit_exact"] is None  # no C-sim by default


def test_float_accuracy_and_results_files(serial_scan, jet):
    ref = _onnxruntime(jet["model"], jet["x"])
    assert serial_scan.float_accuracy == float(np.mean(ref.argmax(1) == jet["y"]))
    out = serial_scan.out_dir
    with open(out / "results.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [t["point_id"] for t in table] == [r["point_id"] for r in serial_scan.rows]
    assert table[0]["precision.default.weight_width"] == "4" and table[0]["status"] == "ok"
    payload = json.loads((out / "results.json").read_text())
    assert payload["pareto_front"] == serial_scan.pareto_front and payload["best"] == serial_scan.best
    assert len(payload["points"]) == 48
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    try:
        import pyarrow.parquet as pq
    except ImportError:
        assert not (out / "results.parquet").exists()
    else:
        assert pq.read_table(out / "results.parquet").column("point_id").to_pylist() == [t["point_id"] for t in table]
    # the best point is on the front and within 1% of the float accuracy (the default tolerance)
    best = serial_scan.row(serial_scan.best)
    assert best["pareto"] and best["accuracy"] >= serial_scan.float_accuracy - 0.01


def test_best_config_reproduces_through_convert(serial_scan, jet, tmp_path, capsys):
    best = serial_scan.row(serial_scan.best)
    project = tmp_path / "best_hls"
    assert main(["convert", str(jet["model"]), "-c", str(serial_scan.out_dir / "best_config.yml"),
                 "-o", str(project), "-q"]) == 0
    capsys.readouterr()
    from nn2hls.pipeline import CompiledModel

    rebuilt = CompiledModel.from_project(project)
    assert _digest(rebuilt.emulate(jet["x"])) == best["outputs_sha256"]
    assert rebuilt.report()["totals"]["dsp"] == best["dsp"]
