"""Shared scan of the explore tests: the jet MLP (example_models) on a small batch, evaluated serially.

The 48-point width x sparsity space of issue 20: six default weight widths times eight sparsities
of every Dense layer. The serial scan is the reference the Ray scans are compared with point for point.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "example_models"
MODEL = EXAMPLES / "jet_mlp.onnx"
N_SAMPLES = 64
WIDTHS = [4, 6, 8, 10, 12, 16]
SPARSITIES = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
SPACE = {"precision.default.weight_width": WIDTHS, "pruning.sparsity.*": SPARSITIES}


@pytest.fixture(scope="session")
def jet(tmp_path_factory) -> dict:
    """The model, the space and the first N_SAMPLES samples and labels (arrays and .npy files)."""
    folder = tmp_path_factory.mktemp("jet_data")
    x = np.load(EXAMPLES / "jet_mlp_input.npy")[:N_SAMPLES]
    y = np.load(EXAMPLES / "jet_mlp_labels.npy")[:N_SAMPLES]
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return {"model": MODEL, "space": SPACE, "widths": WIDTHS, "sparsities": SPARSITIES, "x": x, "y": y,
            "x_path": folder / "x.npy", "y_path": folder / "y.npy"}


@pytest.fixture(scope="session")
def serial_scan(jet, tmp_path_factory):
    """The 48-point scan evaluated one point after the other without Ray."""
    import nn2hls

    out = tmp_path_factory.mktemp("scan") / "serial"
    return nn2hls.explore(MODEL, jet["x_path"], SPACE, out, labels=jet["y_path"], engine="serial")
