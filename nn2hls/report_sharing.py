"""Shared-weight analysis: the general multiplies a layer would need if its sums were grouped by value.

When the nonzero weights of an output take few distinct values (k-means weight sharing, Deep
Compression), the sum can be grouped:

    sum_i x_i * w_i  ==  sum_v v * (sum_{i : w_i = v} x_i - sum_{i : w_i = -v} x_i)

one product per distinct magnitude v instead of one per weight (signs become adds/subtracts). Only
general weights count (report_rules.weight_kinds == 1): +-1 and powers of two are already shifts and
stay as they are. For a Dense layer the grouped count is, per output column, the number of distinct
general magnitudes. For a Conv it is counted per output position and filter over the taps that read
real inputs there (taps in the zero padding have no term), so it is exact too.

`grouped_multiplies(kernel, valid=None)` returns that count; the report's rows carry it as
`mult_shared` and the saving `mult_general - mult_shared` as `shared_saving` (0 when grouping does not
lower the count: then nothing would be grouped).
"""
from __future__ import annotations

import numpy as np

from nn2hls.report_rules import weight_kinds


def grouped_multiplies(kernel: np.ndarray, valid: np.ndarray | None = None, positions: int = 1) -> int:
    """General products of a grouped sum (module docstring).

    kernel: (..., out) with the leading axes (taps..., in) for a Conv, (in,) for a Dense.
    valid: for a Conv, (positions, taps) 0/1 with 1 where a tap reads a real input; None for a Dense,
    whose every column is used `positions` times.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    out = kernel.shape[-1]
    general = weight_kinds(kernel) == 1
    mags = np.where(general, np.abs(kernel), 0.0)
    if valid is None:
        cols = mags.reshape(-1, out)
        return positions * int(sum(np.unique(cols[:, o][cols[:, o] != 0]).size for o in range(out)))
    valid = np.asarray(valid, dtype=np.int64)
    taps = valid.shape[1]
    per_tap = mags.reshape(taps, -1, out)  # (taps, in, out)
    total = 0
    for o in range(out):
        values = np.unique(per_tap[:, :, o][per_tap[:, :, o] != 0])
        if values.size == 0:
            continue
        # has[t, v] = tap t holds magnitude v for some input channel
        has = (per_tap[:, :, o][:, :, None] == values[None, None, :]).any(axis=1).astype(np.int64)
        total += int(np.count_nonzero(valid @ has))
    return total
