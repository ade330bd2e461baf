"""The float reference executor: input checks and ops against naive loop implementations.

Its speed is measured in bench/float_executor.py (a ratio to plain numpy), not asserted here.
"""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.errors import InputDataError
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph


def _mlp() -> Graph:
    rng = np.random.default_rng(0)
    g = Graph("mlp")
    prev = g.add(ops.Input(shape=(16,)), name="x").name
    sizes = [16, 64, 32, 32, 5]
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        prev = g.add(ops.Dense(), [prev], name=f"d{i}",
                     weights={"kernel": rng.normal(size=(a, b)), "bias": rng.normal(size=b)}).name
        prev = g.add(ops.Activation(function="relu"), [prev], name=f"r{i}").name
    g.outputs = [g.add(ops.Softmax(), [prev], name="s").name]
    return g


def test_return_all_and_output_values():
    g, x = _mlp(), np.random.default_rng(2).normal(size=(5, 16))
    values = execute(g, x, return_all=True)
    assert set(values) == set(g.nodes)
    h = x
    for i in range(4):
        node = g.nodes[f"d{i}"]
        h = np.maximum(h @ node.weights["kernel"] + node.weights["bias"], 0)
        np.testing.assert_allclose(values[f"r{i}"], h)
    e = np.exp(h - h.max(1, keepdims=True))
    np.testing.assert_allclose(execute(g, x)[0], e / e.sum(1, keepdims=True))


def test_wrong_input_shape():
    with pytest.raises(InputDataError, match=r"input has shape \(3, 15\); graph 'mlp' expects \(N, 16\)"):
        execute(_mlp(), np.zeros((3, 15)))
    with pytest.raises(InputDataError, match=r"one sample\? add a batch axis: x\[None\]"):
        execute(_mlp(), np.zeros(16))


@pytest.mark.parametrize("mode,include", [("max", False), ("avg", False), ("avg", True)])
def test_pool_with_padding_against_loops(mode, include):
    rng = np.random.default_rng(3)
    g = Graph("p")
    x = g.add(ops.Input(shape=(5, 6, 2)), name="x").name
    op = ops.Pool(mode=mode, pool_size=(3, 2), strides=(2, 1), pads=((1, 1), (0, 1)), count_include_pad=include)
    g.outputs = [g.add(op, [x], name="p").name]
    data = rng.normal(size=(2, 5, 6, 2))
    out = execute(g, data)[0]
    ho, wo = g.nodes["p"].shape[:2]
    for i in range(ho):
        for j in range(wo):
            rows = [r for r in range(i * 2 - 1, i * 2 + 2) if 0 <= r < 5]
            cols = [c for c in range(j - 0, j + 2) if 0 <= c < 6]
            window = data[:, rows][:, :, cols]
            if mode == "max":
                expected = window.max(axis=(1, 2))
            else:
                expected = window.sum(axis=(1, 2)) / (6 if include else len(rows) * len(cols))
            np.testing.assert_allclose(out[:, i, j], expected)
