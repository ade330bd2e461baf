"""Per-output weight scales: find them and factor them out of a Dense/Conv (shared by quantized-weight passes).

Rule: a Dense/Conv(W, b) whose every output column o is a scale a_o times integers q is rewritten

    Dense/Conv(W, b)  ->  Dense/Conv(q = W / a) then ScaleShift(scale a, shift b)

which is exact: (x @ (q * a)) + b == (x @ q) * a + b. The integer (ternary, binary, low-bit) weights
need adders or narrow products only, and the scale costs one product per output. The kernel and the
ScaleShift's constants get their exact types (`ir.quant.exact_type`) and both nodes keep exact results
(no rounding between the two), so the ScaleShift's own rounding is the only one, as the original layer's.

Finding a_o: `quantizer_output_scales` picks, per column, one of a quantizer's declared scales that
makes the column integer (QONNX: scales known from the file); `small_integer_scales` searches
a_o = min|w| / d for d = 1..1024 (QKeras: a non-power-of-two scale not stored in the file).
"""
from __future__ import annotations

import numpy as np

from nn2hls.ir import ops
from nn2hls.ir.annotations import Role
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.quant import exact_type

SEARCH_DIVISORS = 1024
"""`small_integer_scales` tries a_o = min|w_o| / d for d = 1..SEARCH_DIVISORS."""


def quantizer_output_scales(kernel: np.ndarray, scales: np.ndarray) -> np.ndarray | None:
    """Per output channel (last axis) one of `scales` with kernel[..., o] / a_o exact integers, or None."""
    columns = kernel.reshape(-1, kernel.shape[-1])
    out = np.ones(columns.shape[1])
    for o in range(columns.shape[1]):
        col = columns[:, o][columns[:, o] != 0]
        for a in np.asarray(scales, dtype=np.float64).reshape(-1).tolist():
            q = col / a
            if np.array_equal(q, np.round(q)) and np.array_equal(q * a, col):
                out[o] = a
                break
        else:
            if col.size:
                return None
    return out


def small_integer_scales(kernel: np.ndarray) -> np.ndarray | None:
    """Per output channel a_o with kernel[..., o] / a_o small exact integers (a non-po2 quantizer scale)."""
    columns = kernel.reshape(-1, kernel.shape[-1])
    out = np.ones(columns.shape[1])
    for o in range(columns.shape[1]):
        col = columns[:, o][columns[:, o] != 0]
        if not col.size:
            continue
        base = float(np.min(np.abs(col)))
        for d in range(1, SEARCH_DIVISORS + 1):
            a = base / d
            q = col / a
            if np.array_equal(q, np.round(q)) and np.array_equal(np.round(q) * a, col):
                out[o] = a
                break
        else:
            return None
    return out


def factor_scale(graph: Graph, node: Node, a: np.ndarray, why: str) -> Node:
    """Dense/Conv(W, b) -> Dense/Conv(W / a) then ScaleShift(scale a, shift b), per output channel.

    Returns the new ScaleShift; `why` becomes its `keep_separate` reason. Annotations: the kernel's and
    the ScaleShift's exact types, `factored_scale` on the layer, `exact_result` on both.
    """
    kernel = node.weights["kernel"]
    bias = node.weights.pop("bias", np.zeros(kernel.shape[-1]))
    node.weights["kernel"] = kernel / a
    scale_node = graph.add(ops.ScaleShift(), [node.name], name=node.name + "_scale",
                           weights={"scale": a, "shift": bias}, source_name=node.source_name)
    graph.replace_uses(node.name, scale_node.name)
    scale_node.inputs = (node.name,)
    node.annotations.forced_precision = {}
    node.annotations.force(Role.WEIGHT, exact_type(node.weights["kernel"], signed=True))
    scale_node.annotations.force(Role.WEIGHT, exact_type(a, signed=True))
    scale_node.annotations.force(Role.BIAS, exact_type(bias, signed=True))
    scale_node.annotations.keep_separate = why
    node.annotations.factored_scale = scale_node.name
    node.annotations.exact_result = scale_node.annotations.exact_result = True  # no rounding between the two
    return scale_node
