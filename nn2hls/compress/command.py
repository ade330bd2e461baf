"""`nn2hls compress MODEL --data DATA.npz -o DIR`: the one-call compression flow from the command line.

MODEL is anything `nn2hls convert` reads (a float model: ONNX, Keras, `.pt2`, TorchScript); it becomes
a trainable PyTorch module through `nn2hls.compress.from_ir`, is compressed by
`nn2hls.compress.flow.compress`, and comes back as `DIR/compressed.onnx` (plus QONNX with Brevitas QAT),
`DIR/history.csv`, the plots, the checkpoints and `DIR/summary.json`.
DATA.npz holds `x_train`, `y_train`, `x_val`, `y_val` and optionally `x_test`, `y_test` (inputs in the
model's own layout, integer class labels). DIR may not be a non-empty folder of the user's (use --force)
unless it holds this command's own checkpoints: the same command resumes after the last finished stage,
other arguments are refused, and --force starts over (removing that run's checkpoints and outputs).
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from nn2hls.errors import ConfigError, InputDataError, OutputExistsError

REQUIRED_KEYS = ("x_train", "y_train", "x_val", "y_val")
SUMMARY_FILE = "summary.json"
SENSITIVITY = {"off": False, "steps": "steps", "targets": "targets"}  # --sensitivity -> compress(sensitivity=)


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `compress` sub-command on an argparse sub-parser collection."""
    p = sub.add_parser("compress", parents=[common], help="prune, quantize, export and check a float model",
                       description="Prune (L1 / L_p penalty, iterative), quantization-aware train, optionally "
                                   "share weights, export ONNX and check the compiled result (C-sim == "
                                   "emulator). DATA.npz: x_train, y_train, x_val, y_val[, x_test, y_test].")
    p.add_argument("model", metavar="MODEL", help="float model file (.onnx, .keras, .h5, .pt2, TorchScript .pt)")
    p.add_argument("--data", metavar="DATA.npz", required=True, help="training/validation(/test) arrays")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="output folder")
    p.add_argument("--recipe", choices=("l1", "lp", "none"), default="l1", help="sparsity penalty (default l1)")
    p.add_argument("--strength", type=float, help="penalty lambda (default 1e-4 for l1, 1e-3 for lp)")
    p.add_argument("--target-sparsity", type=float, default=0.75, help="fraction of weights to prune (0.75)")
    p.add_argument("--tolerance", type=float, default=0.005,
                   help="allowed validation accuracy loss vs the model given, as a fraction (0.005)")
    p.add_argument("--confidence", type=float, default=0.0, metavar="Z",
                   help="accept a pruning step only when its validation drop plus Z paired standard errors "
                        "stays within the tolerance (default 0: the drop alone; 1 is about 84%% one-sided)")
    p.add_argument("--bits", metavar="SPEC", help="QAT weight spec: fixed8, ternary, binary, ... (default: none)")
    p.add_argument("--share-bits", type=int, metavar="N", help="k-means weight sharing with 2^N values per layer")
    p.add_argument("--epochs", type=int, default=20, help="epochs of the first (penalized) training (20)")
    p.add_argument("--retrain-epochs", type=int, default=10, help="epochs after each pruning step (10)")
    p.add_argument("--qat-epochs", type=int, default=10, help="epochs of quantization-aware training (10)")
    p.add_argument("--lr", type=float, default=1e-3,
                   help="Adam learning rate of every training and retraining (1e-3)")
    p.add_argument("--batch-size", type=int, default=64, help="training batch size (64)")
    p.add_argument("--criterion", choices=("magnitude", "obd", "energy"), default="magnitude",
                   help="how weights are ranked for pruning (magnitude; obd: Optimal Brain Damage saliency)")
    p.add_argument("--sensitivity", choices=("off", "steps", "targets"), default="off",
                   help="per-layer sparsity for CNNs: steps = the cheapest layer step per iteration "
                        "(criteria.LayerSteps), targets = one-shot sensitivity targets (default off)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--no-check", action="store_true", help="skip the C simulation check")
    p.add_argument("--force", action="store_true",
                   help="use a non-empty output folder anyway; start over instead of resuming a previous run")
    p.set_defaults(handler=run)


def load_data(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of DATA.npz; InputDataError naming the file and the missing keys."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"data file '{path}' does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as exc:
        raise InputDataError(f"data file '{path}' is not a readable .npz ({exc})") from None
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InputDataError(f"data file '{path}' lacks {', '.join(missing)}; it needs x_train, y_train, x_val, "
                             "y_val (and optionally x_test, y_test)")
    if ("x_test" in data) != ("y_test" in data):
        raise InputDataError(f"data file '{path}' has only one of x_test / y_test; give both or neither")
    return data


def _output_folder(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output path '{out}' exists and is a file; choose another -o path")
    ours = (out / "checkpoints" / "state.json").is_file()
    if out.is_dir() and any(out.iterdir()) and not ours and not force:
        raise OutputExistsError(f"output folder '{out}' already exists and holds other files; use --force or "
                                "choose another -o path")


def run(args: argparse.Namespace) -> int:
    """The `compress` command; returns the exit code (0 ok, 1 the compiled model is not bit-exact)."""
    from nn2hls.compress.flow import compress
    from nn2hls.compress.from_ir import to_torch

    data = load_data(args.data)
    out = Path(args.output)
    _output_folder(out, args.force)
    if not 0.0 < args.target_sparsity <= 1.0:
        raise ConfigError(f"--target-sparsity {args.target_sparsity} must be in (0, 1]")
    model = to_torch(args.model)
    test = (data["x_test"], data["y_test"]) if "x_test" in data else None
    with warnings.catch_warnings(record=True) as caught:  # printed as one-line warnings, not Python's form
        warnings.simplefilter("always")
        result = compress(model, (data["x_train"], data["y_train"]), (data["x_val"], data["y_val"]), test=test,
                          recipe=args.recipe, strength=args.strength, target_sparsity=args.target_sparsity,
                          tolerance=args.tolerance, confidence=args.confidence, bits=args.bits,
                          share_bits=args.share_bits, epochs=args.epochs, retrain_epochs=args.retrain_epochs,
                          qat_epochs=args.qat_epochs, lr=args.lr, batch_size=args.batch_size,
                          criterion=args.criterion, sensitivity=SENSITIVITY[args.sensitivity], seed=args.seed,
                          out_dir=out, check=not args.no_check, resume=not args.force)
    for w in caught:
        if "nn2hls" in str(w.filename):  # ours; the frameworks' own warnings stay out of the summary
            print(f"warning: {w.message}", file=sys.stderr)
    final = result.final
    summary = {
        "reference_accuracy": result.reference_accuracy,
        "reference_test_accuracy": result.history[0]["test_acc"],
        "final": {k: v for k, v in final.items() if "/" not in k},
        "stop_reason": result.stop_reason,
        "validation_looks": result.validation_looks,
        "onnx": str(result.onnx_path),
        "qonnx": str(result.qonnx_path) if result.qonnx_path else None,
        "hardware_sparsity": result.report["totals"]["sparsity"] if result.report else None,
        "multiplies": result.report["totals"]["multiplies"] if result.report else None,
        "bit_exact": (result.check.mismatches == 0) if result.check is not None else None,
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
    tested = result.history[0]["test_acc"] is not None and final["test_acc"] is not None
    test = (f", {100 * result.history[0]['test_acc']:.2f}% -> {100 * final['test_acc']:.2f}% (test)"
            if tested else "")
    print(f"reference accuracy {100 * result.reference_accuracy:.2f}% -> {100 * final['val_acc']:.2f}% "
          f"(validation){test} at {100 * final['sparsity']:.1f}% sparsity "
          f"({100 * final['effective_sparsity']:.1f}% in hardware); pruning stopped: {result.stop_reason}")
    print(f"wrote {result.onnx_path}" + (f", {result.qonnx_path}" if result.qonnx_path else "")
          + f", {out / 'history.csv'}, {out / SUMMARY_FILE}")
    if result.check is not None:
        print(f"check: {result.check.mismatches} mismatching samples between C simulation and emulator")
        return 0 if result.check.mismatches == 0 else 1
    return 0
