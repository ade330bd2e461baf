"""Split quantized Dense/Conv weights into the sparse lists the kernels walk.

Rule (docs/semantics.md "Weights"): a weight whose quantized value is 0 produces no entry at all.
Every other weight goes into exactly one list:
- `add` if it equals +1 and `sub` if it equals -1 (an adder, no product);
- `p2` (Dense only) if it is +-2^k with k != 0: a product by a power-of-two constant, which HLS
  folds into wiring (a shift) after unrolling; the C simulation multiplies, which is exact;
- `mul` otherwise: one general product.
Inside each output's row the entries keep increasing input index (Dense) or (tap, channel) order
(Conv), the order of docs/semantics.md; the accumulator is exact, so the split does not change bits.
Each list is CSR-like: `start[o]..start[o+1]` are the entries of output o.
Full rows (Dense, `full_rows=True`): an output whose N_IN weights are all nonzero keeps all of them,
+-1 and powers of two included, in `mul` in input order, so the kernel sums that row contiguously
without the index array (a row of the mul list with N_IN entries is exactly such a row); HLS folds
the constant products by +-1 and 2^k into adders and wiring all the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def weight_kind(value: float, allow_p2: bool = True) -> str:
    """'zero', 'add', 'sub', 'p2' or 'mul' for one quantized weight."""
    if value == 0.0:
        return "zero"
    if value == 1.0:
        return "add"
    if value == -1.0:
        return "sub"
    if allow_p2:
        mantissa, _ = np.frexp(abs(value))
        if mantissa == 0.5:
            return "p2"
    return "mul"


@dataclass
class SparseList:
    """CSR-like entries of one kind: start offsets per output plus per-entry columns."""

    start: list[int] = field(default_factory=lambda: [0])
    columns: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.start[-1]


def _lists(kinds: tuple[str, ...], columns: tuple[str, ...]) -> dict[str, SparseList]:
    return {k: SparseList([0], {c: [] for c in columns}) for k in kinds}


def split_dense(kernel: np.ndarray, full_rows: bool = False) -> dict[str, SparseList]:
    """kernel (in, out) of quantized values -> lists mul/p2/add/sub with columns idx (and w).

    full_rows: outputs without any zero weight put every weight in `mul` (see the module doc).
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    lists = _lists(("mul", "p2", "add", "sub"), ("idx", "w"))
    for o in range(kernel.shape[1]):
        column = kernel[:, o]
        nonzero = np.flatnonzero(column)
        full = full_rows and len(nonzero) == len(column)
        for i in nonzero:
            value = float(column[i])
            entry = lists["mul" if full else weight_kind(value)]
            entry.columns["idx"].append(int(i))
            entry.columns["w"].append(value)
        for entry in lists.values():
            entry.start.append(len(entry.columns["idx"]))
    return lists


def split_conv(kernel: np.ndarray, dilations: tuple[int, int], in_width: int) -> dict[str, SparseList]:
    """kernel (KH, KW, C, F) -> lists mul/add/sub with columns dy, dx, off (and w).

    dy = ky*DH, dx = kx*DW, off = (dy*in_width + dx)*C + c: the input offset from the window origin.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw, channels, filters = kernel.shape
    lists = _lists(("mul", "add", "sub"), ("dy", "dx", "off", "w"))
    for f in range(filters):
        for ky in range(kh):
            for kx in range(kw):
                for c in range(channels):
                    value = float(kernel[ky, kx, c, f])
                    kind = weight_kind(value, allow_p2=False)
                    if kind == "zero":
                        continue
                    dy, dx = ky * dilations[0], kx * dilations[1]
                    entry = lists[kind]
                    entry.columns["dy"].append(dy)
                    entry.columns["dx"].append(dx)
                    entry.columns["off"].append((dy * in_width + dx) * channels + c)
                    entry.columns["w"].append(value)
        for entry in lists.values():
            entry.start.append(len(entry.columns["dy"]))
    return lists
