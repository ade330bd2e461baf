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
Dense kernels walk a list as row blocks (`block_rows`), so that every kernel loop has a compile-time
trip count or a well-predicted one and the generated code stays small whatever the layer size:
- full rows (all N_IN weights nonzero, see below) form one block;
- every other row of L entries is q = L // CHUNK chunks of CHUNK entries plus R = L % CHUNK more,
  each summed in an exact adder tree of compile-time size. Short rows (L < SHORT) are grouped by L
  (q and R compile-time constants, straight-line code); longer rows by R alone, q read per row from
  `chunks[r]` (a loop whose trip count is well predicted), the block recording the range of q (HLS
  unrolls to its maximum). A list has at most SHORT + CHUNK + 1 blocks. Inside a block rows are
  ordered by L, then output index.
Full rows (Dense, `full_rows=True`): an output whose N_IN weights are all nonzero keeps all of them,
+-1 and powers of two included, in `mul` in input order, so the kernel sums that row contiguously
without the index array (a row of the mul list with N_IN entries is exactly such a row); HLS folds
the constant products by +-1 and 2^k into adders and wiring all the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

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


CHUNK = 8  # entries per adder tree of a sparse row (nn2hls_dense.h mac_rows / add_rows)
SHORT = 2 * CHUNK  # rows shorter than this get a block per length
FULL_CHUNK = 32  # entries per adder tree of a full row in the C simulation (one block per list)


@dataclass(frozen=True)
class Block:
    """`count` consecutive rows from row0 whose entries start at entry0: either full rows (each N_IN
    entries) or sparse rows of chunks[r] * CHUNK + rest entries each, chunks_min <= chunks[r] <=
    chunks_max (equal for short rows)."""

    full: bool
    rest: int
    chunks_min: int
    chunks_max: int
    count: int
    row0: int
    entry0: int


@dataclass
class RowBlocks:
    """One list in block order: out[r] is row r's output and chunks[r] its number of whole chunks;
    columns hold the entries row after row."""

    out: list[int]
    chunks: list[int]
    columns: dict[str, list]
    blocks: list[Block]


def block_rows(entries: SparseList, n_in: int) -> RowBlocks:
    """Reorder a CSR list into blocks (see the module doc); outputs without entries are left out."""
    lengths = [int(n) for n in np.diff(np.asarray(entries.start, dtype=np.int64))]

    def block_key(length: int) -> tuple[int, int]:  # full rows first, then short rows, then long ones
        if length == n_in:
            return (0, 0)
        return (1, length) if length < SHORT else (2, length % CHUNK)

    order = sorted((o for o in range(len(lengths)) if lengths[o] > 0),
                   key=lambda o: (block_key(lengths[o]), lengths[o], o))
    rows = RowBlocks([], [], {c: [] for c in entries.columns}, [])
    entry = 0
    previous_key = None
    for r, o in enumerate(order):
        key, length = block_key(lengths[o]), lengths[o]
        chunks = 0 if key[0] == 0 else length // CHUNK
        if key == previous_key:  # rows are sorted by length: chunks only grows inside a block
            last = rows.blocks[-1]
            rows.blocks[-1] = replace(last, chunks_max=chunks, count=last.count + 1)
        else:
            rows.blocks.append(Block(key[0] == 0, length % CHUNK if key[0] else 0, chunks, chunks, 1, r, entry))
            previous_key = key
        rows.out.append(o)
        rows.chunks.append(length // CHUNK)
        for c, values in entries.columns.items():
            rows.columns[c].extend(values[entries.start[o]:entries.start[o + 1]])
        entry += length
    return rows
