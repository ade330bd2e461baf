"""fold_transpose: Transpose -> flattening Reshape -> Dense becomes Reshape -> Dense with permuted rows.

Maths: with x of shape S, n = prod(S) and idx = arange(n).reshape(S).transpose(perm).reshape(-1),
    flatten(transpose(x, perm))[j] = flatten(x)[idx[j]],
so  sum_j flatten(transpose(x))[j] * K[j, o] = sum_i flatten(x)[i] * K'[i, o]  with  K'[idx[j]] = K[j].
The Transpose disappears (the Reshape reads x) and the Dense kernel rows are permuted: exact.
Applies when the Transpose's only reader is a Reshape to one axis (n,) whose only reader is a Dense.
This is the pattern of an NCHW model that flattens its input (Input -> Transpose -> Flatten -> Dense).
One rewrite per sweep, at most MAX_SWEEPS sweeps.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import Dense, Reshape, Transpose
from nn2hls.passes.base import PassContext, PassResult, rewrite_repeatedly, sole_reader


def _one_rewrite(graph: Graph) -> str | None:
    for node in graph.topological():
        if not isinstance(node.op, Transpose):
            continue
        reshape = sole_reader(graph, node.name)
        if reshape is None or not isinstance(reshape.op, Reshape) or len(reshape.op.shape) != 1:
            continue
        dense = sole_reader(graph, reshape.name)
        if dense is None or not isinstance(dense.op, Dense):
            continue
        src_shape = graph.nodes[node.inputs[0]].shape
        idx = np.arange(math.prod(src_shape)).reshape(src_shape).transpose(node.op.perm).reshape(-1)
        kernel = dense.weights["kernel"]
        permuted = np.empty_like(kernel)
        permuted[idx] = kernel
        dense.weights["kernel"] = permuted
        graph.bypass(node.name)
        return f"folded Transpose {node.label()} into the rows of Dense {dense.label()}"
    return None


class FoldTranspose:
    name = "fold_transpose"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        return rewrite_repeatedly(graph, _one_rewrite)
