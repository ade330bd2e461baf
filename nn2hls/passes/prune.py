"""prune: magnitude pruning of Dense/Conv kernels (biases are never pruned).

Rule, per layer (looked up by safe name, then source name):
- `pruning.sparsity[layer] = s` (0 <= s <= 1): the round(s * n) kernel weights of smallest |w| are set
  to 0 (ties broken by position, weights already 0 count among them); this wins over thresholds;
- else `pruning.layers[layer] = t`, else the global `pruning.threshold = t`: every |w| < t becomes 0.
`node.annotations.pruning` (a PruningStats) records {'weights': n, 'zeros': zeros now, 'pruned': zeroed by this pass}
(`quantize_weights` later adds 'quantized_zero'). With calibration data the float model is run before
and after and the notes report the argmax agreement and the max abs difference of the outputs.
Config keys naming no Dense/Conv layer are reported as warnings.
"""
from __future__ import annotations

import numpy as np

from nn2hls.compare import argmax_agreement, max_abs_error
from nn2hls.errors import ConfigError
from nn2hls.ir.feeds import n_samples
from nn2hls.ir.annotations import PruningStats
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Conv, Dense
from nn2hls.passes.base import PassContext, PassResult, layer_key


def _prune_kernel(kernel: np.ndarray, threshold: float, sparsity: float | None) -> np.ndarray:
    out = kernel.copy()
    if sparsity is not None:
        k = int(round(sparsity * kernel.size))
        if k:
            order = np.argsort(np.abs(kernel).reshape(-1), kind="stable")
            out.reshape(-1)[order[:k]] = 0.0
        return out
    out[np.abs(out) < threshold] = 0.0
    return out


def _settings(ctx: PassContext, node: Node) -> tuple[float, float | None]:
    spec = ctx.config.pruning
    key = layer_key(ctx.config, node, spec.sparsity)
    if key is not None:
        s = float(spec.sparsity[key])
        if not 0.0 <= s <= 1.0:
            raise ConfigError(f"pruning.sparsity for layer '{key}' is {s}: use a fraction in [0, 1]")
        return 0.0, s
    key = layer_key(ctx.config, node, spec.layers)
    t = float(spec.layers[key]) if key is not None else float(spec.threshold)
    if t < 0:
        raise ConfigError(f"pruning threshold {t} for layer '{key or node.name}' is negative: use >= 0")
    return t, None


def compare_outputs(before: list[np.ndarray], after: list[np.ndarray]) -> tuple[float, float]:
    """(argmax agreement of the first output, max abs difference over all outputs): nn2hls.compare."""
    return argmax_agreement(before, after), max_abs_error(before, after)


class Prune:
    name = "prune"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes: list[str] = []
        layers = [n for n in graph.topological() if isinstance(n.op, (Dense, Conv))]
        spec = ctx.config.pruning
        for table, what in ((spec.layers, "pruning.layers"), (spec.sparsity, "pruning.sparsity")):
            known = {n.name for n in layers} | {n.source_name for n in layers}
            for key in table:
                if key not in known:
                    ctx.warn(f"{what} names '{key}', which is no Dense/Conv layer of the graph; ignored")
        reference = None
        if ctx.calibration is not None:
            from nn2hls.ir.execute import execute
            reference = execute(graph, ctx.calibration)
        changed = False
        for node in layers:
            threshold, sparsity = _settings(ctx, node)
            kernel = node.weights["kernel"]
            zeros_before = int(np.count_nonzero(kernel == 0))
            pruned = _prune_kernel(kernel, threshold, sparsity)
            zeros = int(np.count_nonzero(pruned == 0))
            node.weights["kernel"] = pruned
            node.annotations.pruning = PruningStats(int(kernel.size), zeros, zeros - zeros_before)
            if zeros != zeros_before:
                changed = True
                rule = f"sparsity {sparsity}" if sparsity is not None else f"|w| < {threshold}"
                notes.append(f"{node.label()}: pruned {zeros - zeros_before} of {kernel.size} weights "
                             f"({rule}); {zeros} zero now")
        if changed and reference is not None:
            from nn2hls.ir.execute import execute
            agreement, diff = compare_outputs(reference, execute(graph, ctx.calibration))
            notes.append(f"float model after pruning vs before on {n_samples(ctx.calibration)} calibration "
                         f"samples: argmax agreement {agreement:.4f}, max abs diff {diff:.4g}")
            graph.meta["pruning_accuracy"] = {"argmax_agreement": agreement, "max_abs_diff": diff}
        return PassResult(changed, notes)
