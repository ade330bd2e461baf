"""fold_batchnorm: remove every BatchNorm, folding it into the Dense/Conv before it when possible.

Maths, per channel o (the last axis), with s = gamma / sqrt(var + eps):
    BN(y) = (y - mean) * s + beta.
- Fold: when the BatchNorm reads a Dense/Conv whose output only it reads, and y = x @ W + b:
    W'[..., o] = W[..., o] * s[o],   b'[o] = (b[o] - mean[o]) * s[o] + beta[o]
  (exact up to float rounding); the BatchNorm's readers then read the Dense/Conv.
- Not into a Dense/Conv whose weights a quantizer made exact (`annotations.quantized_weights`) or that
  reads an integer tensor: W * s would round them; the lowered ScaleShift is kept separate
  (`annotations.keep_separate`, so fold_scale_shift leaves it too) and folded into the next quantizer's
  thresholds instead (`fold_into_quantizer`), exactly.
- Otherwise (after a nonlinearity, on the input, or when the Dense/Conv has other readers) it is
  lowered in place to a ScaleShift with scale = s and shift = beta - mean * s, keeping its name;
  `fold_scale_shift` may then fold that forward into a following Dense/Conv.
After this pass no BatchNorm remains. Notes say which BatchNorm was folded and why one was not.
"""
from __future__ import annotations

import numpy as np

from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import BatchNorm, Conv, Dense, ScaleShift
from nn2hls.passes.base import PassContext, PassResult, reader_problem, sole_reader


def batchnorm_scale_shift(weights: dict[str, np.ndarray], epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) with BN(y) = y * scale + shift."""
    scale = weights["gamma"] / np.sqrt(weights["var"] + epsilon)
    return scale, weights["beta"] - weights["mean"] * scale


class FoldBatchNorm:
    name = "fold_batchnorm"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        notes: list[str] = []
        for node in list(graph.topological()):
            if not isinstance(node.op, BatchNorm):
                continue
            scale, shift = batchnorm_scale_shift(node.weights, node.op.epsilon)
            producer = graph.nodes[node.inputs[0]]
            quantized = producer.annotations.quantized_weights or producer.annotations.integer_input
            if (isinstance(producer.op, (Dense, Conv)) and sole_reader(graph, producer.name) is node
                    and not quantized):
                kernel = producer.weights["kernel"]
                bias = producer.weights.get("bias", np.zeros(kernel.shape[-1]))
                producer.weights["kernel"] = kernel * scale
                producer.weights["bias"] = (bias - node.weights["mean"]) * scale + node.weights["beta"]
                producer.annotations.folded.append(node.source_name or node.name)
                graph.bypass(node.name)
                notes.append(f"folded BatchNorm {node.label()} into {producer.op.kind} {producer.label()}")
                continue
            if isinstance(producer.op, (Dense, Conv)) and quantized:
                why = (f"{producer.label()} holds a quantizer's exact weights (the BatchNorm goes into the "
                       f"next quantizer's thresholds instead, fold_into_quantizer)")
            elif isinstance(producer.op, (Dense, Conv)):
                why = reader_problem(graph, producer.name)
            else:
                why = f"its input {producer.label()} ({producer.op.kind}) is not a Dense/Conv"
            node.op = ScaleShift()
            node.weights = {"scale": scale, "shift": shift}
            if isinstance(producer.op, (Dense, Conv)) and quantized:
                node.annotations.keep_separate = "it follows a quantizer's exact weights"
            notes.append(f"lowered BatchNorm {node.label()} to ScaleShift: {why}")
        return PassResult(bool(notes), notes)
