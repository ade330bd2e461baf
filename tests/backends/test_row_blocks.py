"""Row blocks of the Dense kernels (`sparse.block_rows`, hls_lib/nn2hls_dense.h).

Checks the layout rules (every row once, full rows first, short rows grouped by length, long rows by
length modulo CHUNK with their chunk counts, at most SHORT + CHUNK + 1 blocks per list) and that the C
simulation stays bit-exact with the emulator on layers whose rows take every path: full rows, short
rows, long rows with a per-row chunk count, +-1 / power-of-two rows, and types too wide for the
64-bit adder trees (the term-by-term path); with the vendor headers too when NN2HLS_AP_TYPES is set.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

from nn2hls.backends.vivado import write_project
from nn2hls.backends.vivado.sparse import CHUNK, SHORT, block_rows, split_dense
from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType


def _kernel_with_every_row_length(n_in: int, seed: int = 0) -> np.ndarray:
    """Output o keeps o % (n_in + 1) random inputs (0 .. n_in: empty, short, long and full rows);
    weights are multiples of 1/16 with +-1 and +-2^k mixed in."""
    rng = np.random.default_rng(seed)
    n_out = 2 * (n_in + 1)
    kernel = np.zeros((n_in, n_out))
    for o in range(n_out):
        keep = rng.choice(n_in, size=o % (n_in + 1), replace=False)
        values = np.round(rng.normal(size=keep.size) * 24) / 16
        values[values == 0] = 0.3125
        kernel[keep, o] = values
    special = rng.random(size=kernel.shape)
    nonzero = kernel != 0
    kernel[nonzero & (special < 0.1)] = 1.0
    kernel[nonzero & (special > 0.9)] = -1.0
    kernel[nonzero & (special > 0.45) & (special < 0.55)] = -0.25
    return kernel


def test_block_layout_covers_every_row_once():
    n_in = 45
    kernel = _kernel_with_every_row_length(n_in)
    for kind, entries in split_dense(kernel, full_rows=True).items():
        rows = block_rows(entries, n_in)
        lengths = np.diff(entries.start)
        assert sorted(rows.out) == [o for o in range(kernel.shape[1]) if lengths[o] > 0], kind
        assert len(rows.blocks) <= SHORT + CHUNK + 1
        entry = row = 0
        classes = []
        for block in rows.blocks:
            assert (block.row0, block.entry0) == (row, entry)
            block_class = set()
            for r in range(block.row0, block.row0 + block.count):
                o, length = rows.out[r], int(lengths[rows.out[r]])
                # the row's entries, in increasing input order, exactly as in the CSR list
                stored = rows.columns["idx"][entry:entry + length]
                assert stored == entries.columns["idx"][entries.start[o]:entries.start[o + 1]]
                assert rows.chunks[r] == length // CHUNK
                if block.full:
                    assert length == n_in and kind == "mul"
                    block_class.add("full")
                else:
                    assert length < n_in and length % CHUNK == block.rest
                    assert block.chunks_min <= rows.chunks[r] <= block.chunks_max
                    block_class.add(("short", length) if length < SHORT else ("long", length % CHUNK))
                entry += length
            assert len(block_class) == 1  # a block holds one class of rows ...
            classes += block_class
            row += block.count
        assert len(set(classes)) == len(classes)  # ... and each class is one block
        assert entry == len(entries)


def _layer(kernel: np.ndarray, x_type: str, w_type: str, accum: str) -> Graph:
    g = Graph("blocks")
    x = g.add(ops.Input(shape=(kernel.shape[0],)), name="x")
    bias = np.round(np.random.default_rng(1).normal(size=kernel.shape[1]) * 8) / 8
    d = g.add(ops.Dense(), [x.name], name="dense", weights={"kernel": kernel, "bias": bias})
    g.outputs = [d.name]
    x.precision = {"result": FixedType.parse(x_type)}
    d.precision = {"weight": FixedType.parse(w_type), "bias": FixedType.parse("ap_fixed<8,5>"),
                   "accum": FixedType.parse(accum), "result": FixedType.parse("ap_fixed<18,10,AP_RND,AP_SAT>")}
    return g


CASES = {
    # 16-bit inputs and 8-bit weights: every tree fits 64-bit integers
    "trees": ("ap_fixed<16,5,AP_RND,AP_SAT>", "ap_fixed<8,4>", "ap_fixed<40,16>"),
    # 40-bit inputs times 30-bit weights: too wide for the trees, summed term by term (128-bit types)
    "wide": ("ap_fixed<40,6,AP_RND,AP_SAT>", "ap_fixed<30,4>", "ap_fixed<90,20>"),
}


@pytest.mark.csim
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("vendor", [False, True])
def test_every_block_kind_bit_exact(tmp_path, case, vendor):
    from nn2hls.csim import build
    from nn2hls.emulate import emulate
    ap_types = os.environ.get("NN2HLS_AP_TYPES", "") if vendor else None
    if vendor and not ap_types:
        pytest.skip("NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
    n_in = 45
    kernel = _kernel_with_every_row_length(n_in, seed=3)
    g = _layer(kernel, *CASES[case])
    project = write_project(g, Config(), tmp_path / "p")
    text = (project / "firmware" / "layer_dense.cpp").read_text()
    for call in ("mac_full_rows<", "mac_rows<", "add_rows<true", "add_rows<false"):
        assert call in text, call  # every block kind is exercised
    assert any(int(a) < int(b) for a, b in re.findall(r"mac_rows<\d+, \d+, (\d+), (\d+),", text))  # chunks[r] read
    x = np.random.default_rng(4).normal(size=(1000, n_in)) * 4.0
    sim = build(project, ap_types=ap_types) if vendor else build(project)
    got, expected = sim.predict(x), emulate(g, x).outputs[0]
    assert np.unique(expected).size > 500
    np.testing.assert_array_equal(got, expected)
