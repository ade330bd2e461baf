"""search_precision: lower each layer's widths one bit at a time while the emulator stays accurate.

Rule (needs calibration data; runs after assign_precision, before quantize_weights, on float weights):
- reference = the float executor's outputs on the calibration data; a candidate is scored by running
  the bit-accurate emulator (`nn2hls.emulate.emulate`) on a copy of the graph whose types were
  re-derived with the candidate widths (`assign_types`, so accumulators, biases and downstream
  integer bits follow every change) and whose weights were quantized;
- metric `argmax`: agreement of the argmax of the first output with the float argmax; accepted while
  agreement >= min(1 - tolerance, agreement at the start). Metric `max_abs`: largest |emulator -
  float| over all outputs; accepted while <= max(tolerance, error at the start);
- nodes in topological order; for each, the result width, then (Dense/Conv/ScaleShift) the weight
  width, is lowered by one bit while the candidate is accepted and the width stays >= min_width;
  the sweep repeats until one lowers nothing (a later width can change what an earlier one tolerates,
  e.g. a narrower softmax result shrinks its `auto`-sized tables), so no single width can go lower.
  Only derived (`auto`) types are searched; wiring nodes that inherit their input's type are skipped.
The chosen widths are stored in graph.meta['precision_widths'] (read by assign_precision) and the
graph's types re-derived with them; the notes give the bits saved per layer and in total.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from nn2hls.compare import argmax_agreement, max_abs_error
from nn2hls.errors import ConfigError
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Concat, Conv, Dense, GlobalPool, Input, Pool, Reduce, Reshape, ScaleShift, Transpose
from nn2hls.ir.ops import STRUCTURAL_OPS
from nn2hls.passes.assign_precision import assign_types
from nn2hls.passes.base import PassContext, PassResult, precision_spec
from nn2hls.passes.quantize_weights import quantize_graph_weights

Emulator = Callable[[Graph, np.ndarray], list[np.ndarray]]


def _default_emulator(graph: Graph, x: np.ndarray) -> list[np.ndarray]:
    from nn2hls.emulate import emulate
    return list(emulate(graph, x).outputs)


def score(metric: str, outputs: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """argmax agreement (first output) or max abs error (all outputs) of outputs vs reference."""
    if metric == "argmax":
        return argmax_agreement(outputs, reference)
    if metric == "max_abs":
        return max_abs_error(outputs, reference)
    raise ConfigError(f"search.metric {metric!r} unknown: use 'argmax' or 'max_abs'")


def _searchable(graph: Graph, node: Node, ctx: PassContext) -> list[tuple[str, str]]:
    """(width key, role) pairs the search may lower on this node."""
    spec = precision_spec(ctx.config, node)
    op = node.op
    out = []
    inherits = isinstance(op, (Reshape, Transpose) + STRUCTURAL_OPS) or (isinstance(op, (Pool, GlobalPool, Reduce))
                                                         and op.mode in ("max", "min")) \
        or (isinstance(op, Concat) and len({graph.nodes[i].precision["result"] for i in node.inputs}) == 1)
    explicit_result = spec.result.strip().lower() != "auto" or (
        isinstance(op, Input) and ctx.config.precision_input.strip().lower() != "auto") or (
        isinstance(op, Input) and op.integer)  # an index type is structural, not searched
    if not inherits and not explicit_result:
        out.append(("result_width", "result"))
    if isinstance(op, (Dense, Conv, ScaleShift)) and spec.weight.strip().lower() == "auto":
        out.append(("weight_width", "weight"))
    return out


class SearchPrecision:
    name = "search_precision"

    def __init__(self, emulator: Emulator | None = None) -> None:
        self.emulator = emulator

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        cfg = ctx.config.search
        if ctx.calibration is None:
            ctx.warn("precision search needs calibration data; skipped (give --calibration)")
            return PassResult(False, ["skipped: no calibration data"])
        if cfg.min_width < 1:
            raise ConfigError(f"search.min_width {cfg.min_width} must be >= 1")
        emulate = self.emulator or _default_emulator
        from nn2hls.ir.execute import execute
        reference = execute(graph, ctx.calibration)
        widths: dict[str, dict[str, int]] = {k: dict(v) for k, v in graph.meta.get("precision_widths", {}).items()}
        trials = 0

        def evaluate(candidate: dict[str, dict[str, int]]) -> float:
            nonlocal trials
            trials += 1
            trial = graph.copy()
            assign_types(trial, ctx, candidate)
            quantize_graph_weights(trial)
            return score(cfg.metric, emulate(trial, ctx.calibration), reference)

        start = evaluate(widths)
        if cfg.metric == "argmax":
            target = min(1.0 - cfg.tolerance, start)
            accept = lambda s: s >= target  # noqa: E731
        else:
            target = max(cfg.tolerance, start)
            accept = lambda s: s <= target  # noqa: E731
        notes = [f"start: {cfg.metric} {start:.6g}, accepting {'>=' if cfg.metric == 'argmax' else '<='} "
                 f"{target:.6g}"]
        if (cfg.metric == "argmax" and start < 1.0 - cfg.tolerance) or (cfg.metric == "max_abs" and start > cfg.tolerance):
            ctx.warn(f"precision search: the starting types already miss the tolerance ({cfg.metric} "
                     f"{start:.6g}); searching without getting worse than the start")
        before = {n.name: {role: n.precision[role].width for _, role in _searchable(graph, n, ctx)}
                  for n in graph.topological()}
        final = start
        lowered = True
        while lowered:  # sweep again: a later node's width can change what an earlier one tolerates
            lowered = False
            for node in graph.topological():
                for key, role in _searchable(graph, node, ctx):
                    current = widths.get(node.name, {}).get(key, before[node.name][role])
                    while current - 1 >= cfg.min_width:
                        candidate = {k: dict(v) for k, v in widths.items()}
                        candidate.setdefault(node.name, {})[key] = current - 1
                        s = evaluate(candidate)
                        if not accept(s):
                            break
                        widths, current, final, lowered = candidate, current - 1, s, True
        assign_types(graph, ctx, widths)
        graph.meta["precision_widths"] = widths
        total = 0
        for name, roles in before.items():
            saved = {role: w - graph.nodes[name].precision[role].width for role, w in roles.items()}
            if any(saved.values()):
                total += sum(saved.values())
                notes.append(f"{name}: " + ", ".join(f"{role} {roles[role]} -> {roles[role] - d} bits"
                                                      for role, d in saved.items() if d))
        notes.append(f"saved {total} bits in total over {trials} emulator runs; final {cfg.metric} {final:.6g}")
        graph.meta["precision_search"] = {"bits_saved": total, "start_score": start, "final_score": final,
                                          "trials": trials}
        return PassResult(total > 0, notes)
