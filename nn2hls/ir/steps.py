"""The `steps` activation on a fixed-point input grid (ops.Activation 'steps').

y = levels[k] with k = #{t in thresholds : x >= t}. For an input type with `frac` fractional bits the
comparison x >= t equals raw(x) >= ceil(t * 2^frac) exactly, so each threshold becomes one integer on
the input's grid. Thresholds at or below the type's smallest value always hold (they only offset k);
those above its largest value never hold: both are dropped, and the levels are cut to the reachable
ones. The emulator and the C++ generator both use `on_grid`, so they compare the same integers.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.ir.types import FixedType


def on_grid(thresholds: np.ndarray, levels: np.ndarray, x_type: FixedType) -> tuple[list[int], np.ndarray]:
    """(raw thresholds on x_type's grid, ascending, all inside its range; the reachable levels)."""
    raws = [math.ceil(math.ldexp(float(t), x_type.frac)) for t in np.asarray(thresholds, dtype=np.float64)]
    base = sum(1 for r in raws if r <= x_type.min_raw)
    kept = [r for r in raws if x_type.min_raw < r <= x_type.max_raw]
    levels = np.asarray(levels, dtype=np.float64).reshape(-1)
    return kept, levels[base:base + len(kept) + 1]


def reachable_levels(node_weights: dict, x_type: FixedType) -> np.ndarray:
    return on_grid(node_weights["thresholds"], node_weights["levels"], x_type)[1]
