"""Regenerate the example models of nn2hls deterministically (fixed seeds, one CPU thread).

Run from anywhere: `python example_models/make_examples.py` (needs torch and scikit-learn). Writes, next
to this script:

- `jet_mlp.onnx`: a jet-tagging-style MLP 16-64-32-32-5 (ReLU, softmax output) trained on a synthetic
  16-feature 5-class task (`jet_data`, below);
- `jet_mlp_pruned.onnx`: the same network magnitude-pruned to 75% sparsity per Linear layer
  (`torch.nn.utils.prune.l1_unstructured`) and retrained a few epochs with the masks in place;
- `digits_cnn.onnx`: Conv2d 1->8 3x3, ReLU, MaxPool 2, Flatten, Linear 72->10 (softmax output) trained on
  scikit-learn's bundled 8x8 digits;
- `jet_mlp_input.npy` (1,000 x 16 float32) and `digits_input.npy` (500 x 1 x 8 x 8 float32, NCHW as the
  ONNX model expects): held-out samples in each model's own layout, with `*_labels.npy` beside them.

The synthetic jet task: 5 class centres drawn in 16-D, each sample = its centre + correlated Gaussian
noise, passed through a fixed random rotation and a mild nonlinearity (tanh on 4 features), so that the
classes overlap (the MLP reaches ~95%, not 100%). Every random draw uses a fixed seed.

The models are exported with torch's TorchScript-based ONNX exporter (`dynamo=False`, opset 13, batch
axis dynamic), which writes plain Gemm/Conv/MaxPool/Relu/Softmax graphs with the weights inline.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 0


def jet_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic 16-feature, 5-class jet-tagging-style task (deterministic for a given seed)."""
    structure = np.random.default_rng(1234)  # the task itself is fixed, only the samples vary
    centres = structure.normal(0.0, 1.0, size=(5, 16))
    mixing = structure.normal(0.0, 0.35, size=(16, 16)) + np.eye(16)
    rotation, _ = np.linalg.qr(structure.normal(size=(16, 16)))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=n)
    noise = rng.normal(0.0, 1.0, size=(n, 16)) @ mixing
    x = (centres[labels] + noise) @ rotation
    x[:, :4] = 2.0 * np.tanh(x[:, :4])
    return x.astype(np.float32), labels.astype(np.int64)


def digits_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits scaled to [0, 1], NCHW, split 1,297 train / 500 held out."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(y))
    x, y = x[order], y[order]
    return x[500:], y[500:], x[:500], y[:500]


def _train(model, x, y, epochs: int, lr: float, after_step=None) -> None:
    import torch

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), 128):
            idx = perm[start:start + 128]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
            if after_step is not None:
                after_step()
    model.eval()


def _accuracy(model, x, y) -> float:
    import torch

    with torch.no_grad():
        return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def _export(model, example: np.ndarray, path: Path) -> None:
    import torch

    wrapped = torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but writes plain graphs
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, (torch.from_numpy(example[:1]),), str(path), dynamo=False, opset_version=13,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})


def _sparsity(model) -> float:
    import torch

    weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return float(sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights))


def make_jet(out: Path) -> None:
    import torch
    from torch.nn.utils import prune

    x_train, y_train = jet_data(20000, seed=1)
    x_test, y_test = jet_data(1000, seed=2)
    torch.manual_seed(SEED)
    model = torch.nn.Sequential(
        torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32), torch.nn.ReLU(),
        torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    _train(model, x_train, y_train, epochs=20, lr=3e-3)
    print(f"jet_mlp:        test accuracy {_accuracy(model, x_test, y_test):.3f}")
    _export(model, x_test, out / "jet_mlp.onnx")

    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    for layer in linears:
        prune.l1_unstructured(layer, name="weight", amount=0.75)
    print(f"jet_mlp_pruned: after pruning, before retraining {_accuracy(model, x_test, y_test):.3f}")
    _train(model, x_train, y_train, epochs=8, lr=1e-3)  # the masks keep pruned weights at zero
    for layer in linears:
        prune.remove(layer, "weight")
    print(f"jet_mlp_pruned: test accuracy {_accuracy(model, x_test, y_test):.3f}, "
          f"sparsity {_sparsity(model):.3f}")
    _export(model, x_test, out / "jet_mlp_pruned.onnx")
    np.save(out / "jet_mlp_input.npy", x_test)
    np.save(out / "jet_mlp_labels.npy", y_test)


def make_digits(out: Path) -> None:
    import torch

    x_train, y_train, x_test, y_test = digits_data()
    torch.manual_seed(SEED)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(72, 10))
    _train(model, x_train, y_train, epochs=40, lr=3e-3)
    print(f"digits_cnn:     test accuracy {_accuracy(model, x_test, y_test):.3f}")
    _export(model, x_test, out / "digits_cnn.onnx")
    np.save(out / "digits_input.npy", x_test)
    np.save(out / "digits_labels.npy", y_test)


def main(argv: list[str] | None = None) -> int:
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    out = Path(argv[0]) if argv else HERE
    out.mkdir(parents=True, exist_ok=True)
    make_jet(out)
    make_digits(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
