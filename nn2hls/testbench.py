"""Testbench samples of a generated project: never empty, and the project README says where they came from.

Rule: the testbench (`tb_data/tb_input.dat`, with the emulator's outputs as `tb_output.dat`) holds the
first `count(shape)` samples of the calibration data when there are any; otherwise `count(shape)`
samples drawn deterministically (numpy `default_rng(0)`, uniform) across the range of the input's
fixed-point type `[min, max]`, which is the range the types were derived for when no data was given.
`count` is at most `MAX_SAMPLES`, and fewer for large inputs so that the text files stay below about
`MAX_VALUES` numbers (at least one sample). Vivado's `csim_design` fails on a testbench without samples.
Several inputs: `samples` is a list of arrays in input order (nn2hls.ir.feeds), `count` sized by the
values of one sample of all inputs together, and drawn samples come input after input from one
generator, each across its own input type's range.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nn2hls.ir.types import FixedType

MAX_SAMPLES = 100
MAX_VALUES = 1 << 18
SEED = 0


@dataclass(frozen=True)
class Testbench:
    """Samples (N, *input_shape) and a phrase for the project README saying where they came from."""

    samples: np.ndarray
    source: str


def count(shape: Sequence[int]) -> int:
    """How many samples a testbench holds for inputs of this shape."""
    size = max(1, int(np.prod(shape)))
    return max(1, min(MAX_SAMPLES, MAX_VALUES // size))


def from_data(data: "np.ndarray | list[np.ndarray]", what: str) -> Testbench:
    """The first `count` samples of data (calibration or given samples; a list for several inputs)."""
    if isinstance(data, (list, tuple)):
        total = len(data[0])
        n = count((sum(int(np.prod(a.shape[1:])) for a in data),))
        return Testbench([np.asarray(a[:n], dtype=np.float64) for a in data],
                         f"the first {min(n, total)} of the {total} samples of {what}")
    n = count(data.shape[1:])
    return Testbench(np.asarray(data[:n], dtype=np.float64),
                     f"the first {min(n, len(data))} of the {len(data)} samples of {what}")


def drawn_inputs(graph) -> Testbench:
    """`drawn` for every Input node of a graph (one input: exactly `drawn`)."""
    inputs = graph.inputs
    if len(inputs) == 1:
        return drawn(inputs[0].shape, inputs[0].precision["result"])
    n = count((sum(int(np.prod(i.shape)) for i in inputs),))
    rng = np.random.default_rng(SEED)
    samples = []
    for inp in inputs:
        t = inp.precision["result"]
        samples.append(rng.uniform(t.min_value, t.max_value, size=(n, *inp.shape)))
    return Testbench(samples, f"drawn uniformly at random (seed {SEED}) across each input type's range, "
                              "since no calibration data was given")


def drawn(shape: Sequence[int], input_type: FixedType) -> Testbench:
    """`count` samples drawn uniformly (seed 0) across [input_type.min_value, input_type.max_value]."""
    n = count(shape)
    low, high = input_type.min_value, input_type.max_value
    x = np.random.default_rng(SEED).uniform(low, high, size=(n, *shape))
    return Testbench(x, f"drawn uniformly at random (seed {SEED}) across the input type {input_type} "
                        f"[{low:g}, {high:g}], since no calibration data was given")
