"""`nn2hls explore` on the command line: results, and one-line errors with exit 2."""
from __future__ import annotations

import json
import sys

import numpy as np

from nn2hls.cli import main


def _space(tmp_path, text):
    path = tmp_path / "space.yml"
    path.write_text(text)
    return str(path)


def test_cli_serial_scan_json(jet, tmp_path, capsys):
    space = _space(tmp_path, "precision.default.weight_width: [6, 10]\nreuse_factor: [1]\n")
    out = tmp_path / "scan"
    code = main(["explore", str(jet["model"]), "--input", str(jet["x_path"]), "--labels", str(jet["y_path"]),
                 "--space", space, "-o", str(out), "--engine", "serial", "--json", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["points"] == 2 and summary["evaluated"] == 2 and summary["failed"] == 0
    assert summary["engine"] == "serial" and summary["accuracy_key"] == "accuracy"
    assert (out / "best_config.yml").is_file() and (out / "results.csv").is_file()


def test_cli_text_summary_names_front_and_best(jet, tmp_path, capsys):
    space = _space(tmp_path, "pruning.sparsity.*: [0.0, 0.9]\n")
    code = main(["explore", str(jet["model"]), "--input", str(jet["x_path"]), "--space", space,
                 "-o", str(tmp_path / "scan"), "--engine", "serial"])
    out = capsys.readouterr().out
    assert code == 0
    assert "2 points (2 evaluated, 0 resumed, 0 failed)" in out
    assert "Pareto front" in out and "argmax_agreement" in out and "best_config.yml" in out


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def test_cli_bad_space_key_exit_2(jet, tmp_path, capsys):
    space = _space(tmp_path, "precision.default.weight_widht: [4, 8]\n")
    code, err = _error(capsys, ["explore", str(jet["model"]), "--input", str(jet["x_path"]), "--space", space,
                                "-o", str(tmp_path / "scan"), "--engine", "serial"])
    assert code == 2
    assert err.startswith("error: space file") and "unknown key 'weight_widht'" in err and "\n" not in err


def test_cli_labels_of_wrong_length_exit_2(jet, tmp_path, capsys):
    labels = tmp_path / "y.npy"
    np.save(labels, jet["y"][:10])
    space = _space(tmp_path, "reuse_factor: [1]\n")
    code, err = _error(capsys, ["explore", str(jet["model"]), "--input", str(jet["x_path"]), "--labels",
                                str(labels), "--space", space, "-o", str(tmp_path / "scan"), "--engine", "serial"])
    assert code == 2 and "labels file" in err and "(64,)" in err and "\n" not in err


def test_cli_ray_engine_without_ray_exit_2(jet, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    space = _space(tmp_path, "reuse_factor: [1]\n")
    code, err = _error(capsys, ["explore", str(jet["model"]), "--input", str(jet["x_path"]), "--space", space,
                                "-o", str(tmp_path / "scan")])
    assert code == 2 and "needs Ray" in err and "--engine serial" in err


def test_mapping_values_in_tables(jet, tmp_path):
    """A whole mapping as a value: JSON text in the CSV (and Parquet); the first layer's 16x64 kernel loses
    round(0.5 * 1024) = 512 weights."""
    import csv

    import nn2hls

    space = {"pruning.sparsity": [{}, {"n_0_0_0_Gemm": 0.5}]}
    result = nn2hls.explore(jet["model"], jet["x_path"], space, tmp_path / "scan", engine="serial")
    assert [r["nonzero_weights"] for r in result.rows] == [4256, 4256 - 512]
    with open(tmp_path / "scan" / "results.csv", newline="") as fh:
        cells = [row["pruning.sparsity"] for row in csv.DictReader(fh)]
    assert [json.loads(c) for c in cells] == space["pruning.sparsity"]
