"""remove_identity and fold_transpose: structure and numbers."""
import numpy as np

from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes

LINEAR = "Activation(function=linear, alpha=0.0, beta=0.0, low=-inf, high=inf)"


def test_remove_identity_structure_and_numbers():
    rng = np.random.default_rng(0)
    g = Graph("m")
    x = g.add(ops.Input(shape=(2, 3)), name="x")
    t = g.add(ops.Transpose(perm=(0, 1)), [x.name], name="t")
    r1 = g.add(ops.Reshape(shape=(3, 2)), [t.name], name="r1")
    r2 = g.add(ops.Reshape(shape=(6,)), [r1.name], name="r2")
    r3 = g.add(ops.Reshape(shape=(6,)), [r2.name], name="r3")
    lin = g.add(ops.Activation(function="linear"), [r3.name], name="lin")
    s = g.add(ops.ScaleShift(), [lin.name], name="s", weights={"scale": [1.0], "shift": [0.0]})
    d = g.add(ops.Dense(), [s.name], name="d", weights={"kernel": rng.normal(size=(6, 2)), "bias": [0.0, 1.0]})
    l2 = g.add(ops.Activation(function="linear"), [d.name], name="l2")
    g.outputs = [l2.name]
    assert str(g) == ("graph m\n"
                      "  %x = Input(shape=(2,3)) () -> (2, 3)\n"
                      "  %t = Transpose(perm=(0,1)) (%x) -> (2, 3)\n"
                      "  %r1 = Reshape(shape=(3,2)) (%t) -> (3, 2)\n"
                      "  %r2 = Reshape(shape=(6,)) (%r1) -> (6,)\n"
                      "  %r3 = Reshape(shape=(6,)) (%r2) -> (6,)\n"
                      f"  %lin = {LINEAR} (%r3) -> (6,)\n"
                      "  %s = ScaleShift (%lin) -> (6,)  {scale: 1 nnz=1, shift: 1 nnz=0}\n"
                      "  %d = Dense (%s) -> (2,)  {bias: 2 nnz=1, kernel: 6x2 nnz=12}\n"
                      f"  %l2 = {LINEAR} (%d) -> (2,)\n"
                      "  return %l2\n")
    out = run_passes(g, Config(), passes=["remove_identity"])
    assert str(out) == ("graph m\n"
                        "  %x = Input(shape=(2,3)) () -> (2, 3)\n"
                        "  %r2 = Reshape(shape=(6,)) (%x) -> (6,)\n"
                        "  %d = Dense (%r2) -> (2,)  {bias: 2 nnz=1, kernel: 6x2 nnz=12}\n"
                        "  return %d\n")
    xs = rng.normal(size=(4, 2, 3))
    np.testing.assert_array_equal(execute(out, xs)[0], execute(g, xs)[0])


def test_shared_reshape_chain_keeps_inner_for_other_reader():
    g = Graph("m")
    x = g.add(ops.Input(shape=(4,)), name="x")
    a = g.add(ops.Reshape(shape=(2, 2)), [x.name], name="a")
    b = g.add(ops.Reshape(shape=(4,)), [a.name], name="b")
    g.outputs = [b.name, a.name]
    out = run_passes(g, Config(), passes=["remove_identity"])
    assert str(out) == ("graph m\n"
                        "  %x = Input(shape=(4,)) () -> (4,)\n"
                        "  %a = Reshape(shape=(2,2)) (%x) -> (2, 2)\n"
                        "  return %x, %a\n")


def test_fold_transpose_permutes_dense_rows():
    rng = np.random.default_rng(1)
    g = Graph("t")
    x = g.add(ops.Input(shape=(2, 3, 4)), name="x")  # NCHW-like
    t = g.add(ops.Transpose(perm=(1, 2, 0)), [x.name], name="t")
    f = g.add(ops.Reshape(shape=(24,)), [t.name], name="flat")
    d = g.add(ops.Dense(), [f.name], name="d", weights={"kernel": rng.normal(size=(24, 5)), "bias": rng.normal(size=5)})
    g.outputs = [d.name]
    out = run_passes(g, Config(), passes=["fold_transpose"])
    assert str(out) == ("graph t\n"
                        "  %x = Input(shape=(2,3,4)) () -> (2, 3, 4)\n"
                        "  %flat = Reshape(shape=(24,)) (%x) -> (24,)\n"
                        "  %d = Dense (%flat) -> (5,)  {bias: 5 nnz=5, kernel: 24x5 nnz=120}\n"
                        "  return %d\n")
    xs = rng.normal(size=(6, 2, 3, 4))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-12, atol=1e-12)
