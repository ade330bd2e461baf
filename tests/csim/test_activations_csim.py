"""C simulation == numpy emulator, bit for bit, for the element-wise activations added for layer breadth
(PReLU per channel and scalar, thresholded ReLU, hard swish, SELU, CELU, softsign, softplus, swish,
mish, GELU in both forms) and for softmax at the edges of its tables (one class, equal logits,
saturated logits), with nn2hls's own ap_types headers and, when NN2HLS_AP_TYPES is set, the vendor's.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from nn2hls.backends.vivado import write_project
from nn2hls.config import Config
from nn2hls.csim import build
from nn2hls.emulate import emulate
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes

pytestmark = pytest.mark.csim
VENDOR = os.environ.get("NN2HLS_AP_TYPES", "")

FUNCTIONS = [("prelu", {}), ("thresholded_relu", {"alpha": 0.25, "beta": -0.5}),
             ("hard_swish", {"alpha": 1 / 6, "beta": 0.5}), ("selu", {"alpha": 1.6732632, "beta": 1.0507010}),
             ("celu", {"alpha": 0.7}), ("softsign", {}), ("softplus", {}), ("swish", {}), ("mish", {}),
             ("gelu", {}), ("gelu_tanh", {})]


def activation_model(rng: np.random.Generator) -> Graph:
    """Dense 6 -> 4 channels x 3 positions, then every new activation on it, each into one output Dense,
    plus a scalar PReLU and a one-class softmax."""
    g = Graph("acts")
    x = g.add(ops.Input(shape=(3, 6)), name="x")
    d = g.add(ops.Dense(), [x.name], name="fc", weights={"kernel": rng.normal(size=(6, 4)),
                                                          "bias": rng.normal(size=4) * 0.3})
    outs = []
    for fn, attrs in FUNCTIONS:
        weights = {"alpha": np.array([0.25, -0.1, 0.0, 1.5])} if fn == "prelu" else {}
        a = g.add(ops.Activation(function=fn, **attrs), [d.name], name=f"a_{fn}", weights=weights)
        outs.append(a.name)
    scalar = g.add(ops.Activation(function="prelu"), [d.name], name="a_prelu1",
                   weights={"alpha": np.array(0.3)})
    cat = g.add(ops.Concat(axis=-1), outs + [scalar.name], name="cat")
    flat = g.add(ops.Reshape(shape=(3 * 4 * (len(outs) + 1),)), [cat.name], name="flat")
    head = g.add(ops.Dense(), [flat.name], name="head",
                 weights={"kernel": rng.normal(size=(flat.shape[0], 1)) * 0.2, "bias": np.zeros(1)})
    one = g.add(ops.Softmax(axis=-1), [head.name], name="one_class")
    g.outputs = [cat.name, one.name]
    return g


def softmax_model(n: int) -> Graph:
    g = Graph(f"sm{n}")
    x = g.add(ops.Input(shape=(n,)), name="x")
    s = g.add(ops.Softmax(axis=-1), [x.name], name="sm")
    g.outputs = [s.name]
    return g


@pytest.fixture(scope="module")
def acts(tmp_path_factory):
    rng = np.random.default_rng(11)
    graph = activation_model(rng)
    x = rng.normal(size=(1000, 3, 6)) * 1.5
    config = Config()
    typed = run_passes(graph, config, x[:300])
    return typed, write_project(typed, config, tmp_path_factory.mktemp("acts") / "acts"), x


def _check(typed, sim, x):
    want = emulate(typed, x).outputs
    got = sim.predict(x)
    got = got if isinstance(got, list) else [got]
    for g_, e in zip(got, want):
        assert g_.shape == e.shape
        assert int(np.sum(g_ != e)) == 0, f"first mismatch at {np.argwhere(g_ != e)[0]}"
    return got


def test_new_activations_bit_exact(acts):
    typed, project, x = acts
    got = _check(typed, build(project), x)
    # not constant, and the one-class softmax is exactly 1
    assert np.unique(got[0]).size > 100
    np.testing.assert_array_equal(got[1], 1.0)


@pytest.mark.vendor
@pytest.mark.slow
@pytest.mark.skipif(not VENDOR, reason="NN2HLS_AP_TYPES is not set: vendor ap_types headers unavailable")
def test_new_activations_bit_exact_vendor_headers(acts):
    typed, project, x = acts
    _check(typed, build(project, ap_types=VENDOR), x)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_softmax_edges_bit_exact(n, tmp_path):
    rng = np.random.default_rng(n)
    x = np.concatenate([rng.normal(size=(200, n)) * 3,
                        np.full((20, n), 1.25),                                 # all equal
                        np.where(np.arange(n) == 0, 20.0, -20.0) * np.ones((20, n))])  # saturated
    config = Config()
    typed = run_passes(softmax_model(n), config, x)
    project = write_project(typed, config, tmp_path / "sm")
    got = _check(typed, build(project), x)[0]
    lsb = typed.nodes["sm"].precision["result"].lsb
    np.testing.assert_allclose(got[200:220], 1.0 / n, atol=lsb)
    np.testing.assert_allclose(got[220:, 0], 1.0, atol=lsb)
