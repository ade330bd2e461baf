"""Overflow accounting: which of the emulator's saturations the model asks for, and which are errors.

The emulator counts, per node, the values its cast changed by the overflow mode (`EmulationResult.
overflows`). `split_overflows` sorts those counts into two groups:
- quantizer clamps (intended): the node is a quantizer (`ops.Quant`: QONNX Quant, ONNX QuantizeLinear,
  Keras quantizers), whose definition is `clamp(round(x / s) + z, lo, hi)`; or its saturation is
  absorbed by the quantizers it feeds: its overflow mode saturates (AP_SAT, AP_SAT_SYM) at bounds
  beyond which every reader gives its clamp value anyway, so saturating first changes no result. A
  reader qualifies when it is a Quant of type Q (bounds `Q.min - lsb/2`, `Q.max + lsb/2`: any value past
  them rounds to or past Q's end and is clamped there), or a requantizing ScaleShift (`x / s + z` feeding
  an integer cast to [lo, hi], recorded in `annotations.requant`; bounds `(lo - z - 1/2) * s` and
  `(hi - z + 1/2) * s`). This is how the frontend sizes the input of a QDQ model: the Input type
  covers the quantizer's range and saturates beyond it.
- unintended overflows: everything else (the Input type, a layer's result or accumulator too narrow
  for the data): values the float model does not clamp, so the fixed-point answer is off.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from nn2hls.ir import ap_modes, ops
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.types import FixedType

SATURATING = ap_modes.SATURATING


def is_quantizer(node: Node) -> bool:
    """A node whose saturation is its defined semantics: a quantizer clamping to its integer range."""
    return isinstance(node.op, ops.Quant)


def _saturation_bounds(t: FixedType) -> tuple[float, float]:
    return float(t.min_kept_raw * t.lsb_exact), t.max_value


def _clamp_bounds(reader: Node) -> tuple[float, float] | None:
    """Input values beyond which the quantizer `reader` outputs its clamp value, or None if no quantizer."""
    if isinstance(reader.op, ops.Quant):
        q = FixedType.parse(reader.op.dtype)
        low, high = _saturation_bounds(q)
        return low - q.lsb / 2, high + q.lsb / 2
    requant = reader.annotations.requant
    if requant is None:
        return None
    scale = np.asarray(requant.scale, dtype=np.float64)
    if np.any(scale <= 0):
        return None
    z = float(requant.zero_point)
    return (float(np.min((requant.lo - z - 0.5) * scale)), float(np.max((requant.hi - z + 0.5) * scale)))


def absorbed_by_quantizers(graph: Graph, node: Node) -> bool:
    """True when the node's saturation never changes a result: every reader is a quantizer that clamps
    anything beyond the node's saturation bounds to the same value (see the module docstring)."""
    t = node.precision.get("result")
    readers = [graph.nodes[r] for r in graph.consumers(node.name)]
    if t is None or t.overflow not in SATURATING or not readers or node.name in graph.outputs:
        return False
    low, high = _saturation_bounds(t)
    for reader in readers:
        bounds = _clamp_bounds(reader)
        if bounds is None or low > bounds[0] or high < bounds[1]:
            return False
    return True


def split_overflows(graph: Graph, counts: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """(unintended overflows, quantizer clamps) per node name, from the emulator's per-node counts."""
    unintended: dict[str, int] = {}
    clamps: dict[str, int] = {}
    for name, count in counts.items():
        node = graph.nodes[name]
        intended = is_quantizer(node) or absorbed_by_quantizers(graph, node)
        (clamps if intended else unintended)[str(name)] = int(count)
    return unintended, clamps
