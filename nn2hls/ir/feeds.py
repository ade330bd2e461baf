"""Samples for a model's inputs ("feeds"): one array per Input node, in the model's input order.

Rules (DESIGN.md, command line and API):
- a model with one input takes one array (N, *input_shape); a tuple/list holding exactly one array,
  or a mapping with one entry keyed by the input's name, is accepted too;
- a model with several inputs takes a tuple/list of arrays in the model's input order (`Graph.inputs`:
  ONNX graph inputs in file order, Keras `input_layers` order) or a mapping keyed by input name (the
  source model's name; the IR's safe name is accepted as well);
- every array of one feed has the same number of samples N;
- the canonical form inside nn2hls is the array itself for one input and a list of arrays (input
  order) for several, so single-input code paths keep handling plain arrays.
Errors are InputDataError naming the inputs expected (names and shapes, in order).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from nn2hls.errors import InputDataError


@dataclass(frozen=True)
class InputSpec:
    """One model input: its user-facing name, the IR's safe name and its shape (batch excluded)."""

    name: str
    ir_name: str
    shape: tuple[int, ...]


def specs(graph) -> list[InputSpec]:
    """The graph's inputs in order (user-facing name = the node's source name)."""
    return [InputSpec(n.source_name or n.name, n.name, tuple(n.shape)) for n in graph.inputs]


def describe(inputs: Sequence[InputSpec]) -> str:
    """"'mu' (N, 1), 'adc' (N, 5)": how messages list the inputs expected."""
    return ", ".join(f"'{s.name}' (N, {', '.join(map(str, s.shape))})" for s in inputs)


def _by_name(inputs: Sequence[InputSpec], data: Mapping, what: str) -> list[Any]:
    keys = {str(k): v for k, v in data.items()}
    out, used = [], set()
    for spec in inputs:
        key = spec.name if spec.name in keys else spec.ir_name if spec.ir_name in keys else None
        if key is None:
            raise InputDataError(f"{what} has no array for input '{spec.name}'; the model's inputs are "
                                 f"{describe(inputs)} (give one array per input name)")
        out.append(keys[key])
        used.add(key)
    extra = sorted(set(keys) - used)
    if extra:
        raise InputDataError(f"{what} has arrays named {', '.join(repr(k) for k in extra)}, which are no "
                             f"inputs of the model; its inputs are {describe(inputs)}")
    return out


def split(inputs: Sequence[InputSpec], data: Any, what: str = "input") -> list[Any]:
    """One entry of `data` per input, in input order (not yet converted or shape-checked)."""
    if isinstance(data, Mapping):
        return _by_name(inputs, data, what)
    if len(inputs) == 1:
        if isinstance(data, (list, tuple)) and len(data) == 1 and isinstance(data[0], np.ndarray):
            return [data[0]]
        return [data]
    if isinstance(data, (list, tuple)) and len(data) == len(inputs):
        return list(data)
    given = f"{len(data)} arrays" if isinstance(data, (list, tuple)) else "one array"
    raise InputDataError(f"{what}: the model has {len(inputs)} inputs, {describe(inputs)}; {given} given "
                         "(give a tuple/list in this order or a dict keyed by input name)")


def check_samples(inputs: Sequence[InputSpec], arrays: Sequence[np.ndarray], what: str = "input") -> None:
    """All arrays of a feed have the same number of samples."""
    counts = [int(np.shape(a)[0]) if np.ndim(a) else 0 for a in arrays]
    if len(set(counts)) > 1:
        listing = ", ".join(f"'{s.name}' {c}" for s, c in zip(inputs, counts))
        raise InputDataError(f"{what}: the inputs have different numbers of samples ({listing}); give the "
                             "same samples N for every input")


def label(inputs: Sequence[InputSpec], k: int, what: str = "input") -> str:
    """How a message names the k-th input's data: `what` alone for a single input."""
    return what if len(inputs) == 1 else f"{what} '{inputs[k].name}'"


def canonical(arrays: Sequence[np.ndarray]) -> "np.ndarray | list[np.ndarray]":
    """The array itself for one input, the list for several."""
    return arrays[0] if len(arrays) == 1 else list(arrays)


def as_list(feed: Any) -> list[np.ndarray]:
    """A canonical feed as a list of arrays."""
    return list(feed) if isinstance(feed, (list, tuple)) else [feed]


def n_samples(feed: Any) -> int:
    """Number of samples of a canonical feed."""
    return len(as_list(feed)[0])


def take(feed: Any, index: Any) -> "np.ndarray | list[np.ndarray]":
    """The samples `index` (a slice or index array) of every input of a canonical feed."""
    if isinstance(feed, (list, tuple)):
        return [a[index] for a in feed]
    return feed[index]


def output_names(graph) -> list[str]:
    """User-facing names of the graph outputs (the keys of an .npz of several outputs).

    The source model's output names when the frontend recorded them (`graph.meta['output_names']`:
    ONNX graph outputs, Keras output layers), else the output nodes' source names; made unique by a
    `_<k>` suffix where two coincide.
    """
    recorded = list(graph.meta.get("output_names") or [])
    if len(recorded) != len(graph.outputs):
        recorded = [graph.nodes[o].source_name or o for o in graph.outputs]
    names: list[str] = []
    for k, name in enumerate(recorded):
        names.append(name if name not in names else f"{name}_{k}")
    return names
