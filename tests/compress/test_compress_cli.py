"""`nn2hls compress MODEL --data DATA.npz -o DIR` through the real CLI entry point: a float ONNX model comes
back pruned as ONNX whose zero weights nn2hls reads; bad data files and foreign folders are one-line errors."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
from torch import nn  # noqa: E402

from nn2hls.cli import main  # noqa: E402
from nn2hls.pipeline import load  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from sklearn.datasets import make_classification

    from nn2hls.compress.schedule import fit

    folder = tmp_path_factory.mktemp("cli")
    x, y = make_classification(n_samples=500, n_features=8, n_informative=6, n_classes=3, class_sep=1.5,
                               random_state=1)
    x = x.astype(np.float32)
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    fit(net, x[:350], y[:350], epochs=10, lr=1e-2)
    model = folder / "mlp.onnx"
    torch.onnx.export(net, (torch.zeros(1, 8),), str(model), dynamo=False, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "n"}, "output": {0: "n"}})
    data = folder / "data.npz"
    np.savez(data, x_train=x[:350], y_train=y[:350], x_val=x[350:], y_val=y[350:])
    return model, data, folder


def test_compress_command_writes_a_pruned_model(files, capsys):
    model, data, folder = files
    out = folder / "out"
    code = main(["compress", str(model), "--data", str(data), "-o", str(out), "--epochs", "2",
                 "--retrain-epochs", "2", "--target-sparsity", "0.5", "--tolerance", "0.05", "--confidence", "1",
                 "--sensitivity", "steps", "--criterion", "obd", "--lr", "0.003", "--batch-size", "32",
                 "--no-check", "-q"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    recorded = json.loads((out / "checkpoints" / "state.json").read_text())["arguments"]
    assert (recorded["sensitivity"], recorded["criterion"], recorded["lr"], recorded["batch_size"]) == (
        repr("steps"), repr("obd"), repr(0.003), repr(32))  # the run's arguments, recorded as repr
    assert summary["reference_test_accuracy"] is None  # no x_test / y_test in DATA.npz
    with open(out / "history.csv") as f:
        prune = [r for r in csv.DictReader(f) if r["stage"] == "prune"]
    assert summary["validation_looks"] >= len(prune) + 1  # the reference, then every prune measurement
    assert prune[0]["margin"] == ""  # the first training is not judged
    for r in prune[1:]:  # every step after the first training: accepted only with the margin inside the tolerance
        drop = summary["reference_accuracy"] - float(r["val_acc"]) + float(r["margin"])
        assert (drop <= 0.05 + 1e-12) == (r["accepted"] == "True")
    kernels = [n.weights["kernel"] for n in load(str(out / "compressed.onnx")).topological() if "kernel" in n.weights]
    zeros = sum(int((k == 0).sum()) for k in kernels) / sum(k.size for k in kernels)
    assert zeros == pytest.approx(summary["final"]["sparsity"])
    if summary["stop_reason"] == "target":
        assert zeros >= 0.5
    assert "sparsity" in capsys.readouterr().out


def test_compress_command_errors(files, capsys):
    model, data, folder = files
    bad = folder / "bad.npz"
    np.savez(bad, x_train=np.zeros((4, 8)), y_train=np.zeros(4))
    assert main(["compress", str(model), "--data", str(bad), "-o", str(folder / "o1")]) == 2
    assert "lacks x_val, y_val" in capsys.readouterr().err
    mine = folder / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["compress", str(model), "--data", str(data), "-o", str(mine)]) == 2
    assert "already exists and holds other files; use --force" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"
