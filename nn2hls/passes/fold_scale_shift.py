"""fold_scale_shift: fold a constant ScaleShift (y = x * a + d) into a neighbouring Dense/Conv.

Maths (W kernel with input channels i and output channels o, b bias):
- After: ScaleShift reading a Dense/Conv whose output only it reads, a and d constant along every
  axis but the last (per output channel):
      (x @ W + b) * a + d = x @ (W * a) + (b * a + d)          W'[..., o] = W[..., o] * a[o].
- Before: ScaleShift whose only reader is a Dense/Conv, a and d per input channel (constant along
  every axis but the last):
      (x * a + d) @ W + b = x @ (a[:, None] * W) + (b + sum_i d[i] * W[i, :])
  (for Conv the sum runs over all kernel taps; in a grouped Conv, i is the input channel the weight
  reads, `conv_groups.input_channels`). A Conv with zero padding sees 0, not d, at padded
  taps, so a nonzero shift cannot fold into a padded Conv: refused with that reason.
- Chain: ScaleShift (a, d) whose sole reader is a ScaleShift (c, e) (input normalization
  `(x / 255 - mean) / std`, `sigmoid(z) * 2 - 1`) becomes one ScaleShift:
      (x * a + d) * c + e = x * (a * c) + (d * c + e)
  so the value is rounded once instead of once per constant op. Only plain ScaleShifts merge: one
  that carries quantizer roles in its annotations (kept separate, requantizing, forced types) stays.
The chain merge is tried first, then "after", then "before". One rewrite per sweep, at most MAX_SWEEPS
sweeps. Every ScaleShift left gets a note saying why it stayed. A ScaleShift with
`annotations.keep_separate` (a quantizer's per-output scale factored out of integer weights by the
frontend) is never folded.
"""
from __future__ import annotations

import numpy as np

from nn2hls.ir.conv_groups import input_channels
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Conv, Dense, ScaleShift
from nn2hls.passes.base import (MAX_SWEEPS, PassContext, PassResult, per_last_axis, reader_problem,
                                sole_reader)


def _merge_chain(graph: Graph, node: Node) -> str:
    """Merge into a sole reader that is a plain ScaleShift; '' on success, else the reason it cannot."""
    if node.annotations.carries_quantizer_role():
        return "it carries a quantizer's role"
    reader = sole_reader(graph, node.name)
    if reader is None:
        return reader_problem(graph, node.name)
    if not isinstance(reader.op, ScaleShift) or reader.annotations.carries_quantizer_role():
        return f"its reader {reader.label()} ({reader.op.kind}) is not a plain ScaleShift"
    a, d = node.weights["scale"], node.weights["shift"]
    c, e = reader.weights["scale"], reader.weights["shift"]
    reader.weights["scale"] = _compact(np.asarray(a * c, dtype=np.float64))
    reader.weights["shift"] = _compact(np.asarray(d * c + e, dtype=np.float64))
    reader.annotations.folded.append(node.source_name or node.name)
    graph.bypass(node.name)
    return ""


def _compact(value: np.ndarray) -> np.ndarray:
    """A 0-d array when every entry is equal (one constant instead of many)."""
    if value.ndim and value.size and np.all(value == value.reshape(-1)[0]):
        return np.asarray(value.reshape(-1)[0])
    return value


def _fold_after(graph: Graph, node: Node) -> str:
    """Fold into the producer; return '' on success, else the reason it cannot."""
    producer = graph.nodes[node.inputs[0]]
    if node.annotations.keep_separate:
        return f"kept on purpose: {node.annotations.keep_separate}"
    if not isinstance(producer.op, (Dense, Conv)):
        return f"its input {producer.label()} ({producer.op.kind}) is not a Dense/Conv"
    if sole_reader(graph, producer.name) is not node:
        return reader_problem(graph, producer.name)
    a = per_last_axis(node.weights["scale"], node.shape)
    d = per_last_axis(node.weights["shift"], node.shape)
    if a is None or d is None:
        return "scale/shift vary along axes other than the channel axis"
    kernel = producer.weights["kernel"]
    bias = producer.weights.get("bias", np.zeros(kernel.shape[-1]))
    producer.weights["kernel"] = kernel * a
    producer.weights["bias"] = bias * a + d
    producer.annotations.folded.append(node.source_name or node.name)
    graph.bypass(node.name)
    return ""


def _fold_before(graph: Graph, node: Node) -> str:
    """Fold into the sole reader; return '' on success, else the reason it cannot."""
    if node.annotations.keep_separate:
        return f"kept on purpose: {node.annotations.keep_separate}"
    reader = sole_reader(graph, node.name)
    if reader is None:
        return reader_problem(graph, node.name)
    if not isinstance(reader.op, (Dense, Conv)):
        return f"its reader {reader.label()} ({reader.op.kind}) is not a Dense/Conv"
    a = per_last_axis(node.weights["scale"], node.shape)
    d = per_last_axis(node.weights["shift"], node.shape)
    if a is None or d is None:
        return "scale/shift vary along axes other than the channel axis"
    padded = isinstance(reader.op, Conv) and any(p for pair in reader.op.pads for p in pair)
    if padded and np.any(d != 0):
        return f"a nonzero shift cannot fold into {reader.label()}: its zero padding would see the shift"
    kernel = reader.weights["kernel"]
    bias = reader.weights.get("bias", np.zeros(kernel.shape[-1]))
    taps = kernel.reshape(-1, kernel.shape[-2], kernel.shape[-1])  # (taps, in, out)
    # the input channel each weight reads: i itself, or in a grouped Conv its group's channel
    groups = reader.op.groups if isinstance(reader.op, Conv) else 1
    channel = input_channels(groups, kernel.shape)                  # (in, out)
    reader.weights["bias"] = bias + np.einsum("io,tio->o", d[channel], taps)
    reader.weights["kernel"] = kernel * a[channel]
    reader.annotations.folded.append(node.source_name or node.name)
    graph.bypass(node.name)
    return ""


class FoldScaleShift:
    name = "fold_scale_shift"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes: list[str] = []
        refused: dict[str, str] = {}
        changed = False
        for _ in range(MAX_SWEEPS):
            done = False
            for node in graph.topological():
                if not isinstance(node.op, ScaleShift) or node.name in refused:
                    continue
                producer = node.inputs[0]
                chain_reader = sole_reader(graph, node.name)
                why_chain = _merge_chain(graph, node)
                if not why_chain:
                    notes.append(f"merged ScaleShift {node.label()} into the ScaleShift {chain_reader.name!r} "
                                 "reading it")
                    done = changed = True
                    break
                why_after = _fold_after(graph, node)
                if not why_after:
                    notes.append(f"folded ScaleShift {node.label()} into {producer!r} (after it)")
                    done = changed = True
                    break
                reader = sole_reader(graph, node.name)
                why_before = _fold_before(graph, node)
                if not why_before:
                    notes.append(f"folded ScaleShift {node.label()} into {reader.name!r} (before it)")
                    done = changed = True
                    break
                refused[node.name] = f"kept ScaleShift {node.label()}: after: {why_after}; before: {why_before}"
            if done:
                refused.clear()  # a rewrite may have made an earlier refusal foldable
            else:
                notes.extend(refused.values())
                return PassResult(changed, notes)
        notes.append(f"step limit of {MAX_SWEEPS} rewrites reached; run the pass again for more")
        notes.extend(refused.values())
        return PassResult(True, notes)
