"""fold_batchnorm: structure (printer text) and numbers (float executor) before and after."""
import numpy as np
import pytest

from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes

RELU = "Activation(function=relu, alpha=0.0, beta=0.0, low=-inf, high=inf)"


def _bn(rng, c):
    return {"gamma": rng.uniform(0.5, 2.0, c), "beta": rng.normal(size=c), "mean": rng.normal(size=c),
            "var": rng.uniform(0.2, 3.0, c)}


def _mlp_with_bns(rng):
    g = Graph("m")
    x = g.add(ops.Input(shape=(6,)), name="x")
    d1 = g.add(ops.Dense(), [x.name], name="d1", weights={"kernel": rng.normal(size=(6, 4)), "bias": rng.normal(size=4)})
    bn1 = g.add(ops.BatchNorm(epsilon=1e-3), [d1.name], name="bn1", weights=_bn(rng, 4))
    r = g.add(ops.Activation(function="relu"), [bn1.name], name="r")
    bn2 = g.add(ops.BatchNorm(), [r.name], name="bn2", weights=_bn(rng, 4))
    g.outputs = [bn2.name]
    return g


def test_fold_into_dense_and_lower_after_relu():
    rng = np.random.default_rng(1)
    g = _mlp_with_bns(rng)
    assert str(g) == (
        "graph m\n"
        "  %x = Input(shape=(6,)) () -> (6,)\n"
        "  %d1 = Dense (%x) -> (4,)  {bias: 4 nnz=4, kernel: 6x4 nnz=24}\n"
        "  %bn1 = BatchNorm(epsilon=0.001) (%d1) -> (4,)  {beta: 4 nnz=4, gamma: 4 nnz=4, mean: 4 nnz=4, var: 4 nnz=4}\n"
        f"  %r = {RELU} (%bn1) -> (4,)\n"
        "  %bn2 = BatchNorm(epsilon=1e-05) (%r) -> (4,)  {beta: 4 nnz=4, gamma: 4 nnz=4, mean: 4 nnz=4, var: 4 nnz=4}\n"
        "  return %bn2\n")
    out = run_passes(g, Config(), passes=["fold_batchnorm"])
    assert str(out) == (
        "graph m\n"
        "  %x = Input(shape=(6,)) () -> (6,)\n"
        "  %d1 = Dense (%x) -> (4,)  {bias: 4 nnz=4, kernel: 6x4 nnz=24}  [folded=[bn1]]\n"
        f"  %r = {RELU} (%d1) -> (4,)\n"
        "  %bn2 = ScaleShift (%r) -> (4,)  {scale: 4 nnz=4, shift: 4 nnz=4}\n"
        "  return %bn2\n")
    (_, changed, notes), = out.meta["pass_log"]
    assert changed
    assert notes == ["folded BatchNorm 'bn1' into Dense 'd1'",
                     "lowered BatchNorm 'bn2' to ScaleShift: its input 'r' (Activation) is not a Dense/Conv"]
    x = rng.normal(size=(50, 6)) * 3
    np.testing.assert_allclose(execute(out, x)[0], execute(g, x)[0], rtol=1e-12, atol=1e-12)
    # the input graph is untouched (run_passes works on a copy)
    assert "bn1" in g.nodes


def test_fold_batchnorm_by_hand():
    """w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta, checked on numbers."""
    g = Graph("h")
    x = g.add(ops.Input(shape=(1,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": [[2.0]], "bias": [1.0]})
    bn = g.add(ops.BatchNorm(epsilon=0.0), [d.name], name="bn",
               weights={"gamma": [3.0], "beta": [0.5], "mean": [2.0], "var": [4.0]})
    g.outputs = [bn.name]
    out = run_passes(g, Config(), passes=["fold_batchnorm"])
    assert out["d"].weights["kernel"].tolist() == [[3.0]]   # 2 * 3 / 2
    assert out["d"].weights["bias"].tolist() == [-1.0]      # (1 - 2) * 1.5 + 0.5


def test_conv_fold_and_refusal_with_shared_producer():
    rng = np.random.default_rng(2)
    g = Graph("c")
    x = g.add(ops.Input(shape=(5, 5, 2)), name="x")
    c = g.add(ops.Conv(kernel_size=(3, 3), pads=((1, 1), (1, 1))), [x.name], name="c",
              weights={"kernel": rng.normal(size=(3, 3, 2, 3)), "bias": rng.normal(size=3)})
    bn = g.add(ops.BatchNorm(), [c.name], name="bn", weights=_bn(rng, 3))
    c2 = g.add(ops.Conv(kernel_size=(1, 1)), [x.name], name="c2",
               weights={"kernel": rng.normal(size=(1, 1, 2, 3)), "bias": rng.normal(size=3)})
    bn2 = g.add(ops.BatchNorm(), [c2.name], name="bn2", weights=_bn(rng, 3))
    add = g.add(ops.Elementwise(operation="add"), [bn.name, c2.name], name="add")
    add2 = g.add(ops.Elementwise(operation="add"), [add.name, bn2.name], name="add2")
    g.outputs = [add2.name]
    out = run_passes(g, Config(), passes=["fold_batchnorm"])
    kinds = {n.name: n.op.kind for n in out.topological()}
    assert "bn" not in kinds and kinds["bn2"] == "ScaleShift"
    notes = out.meta["pass_log"][0][2]
    assert "lowered BatchNorm 'bn2' to ScaleShift: 'c2' is read by 2 nodes (bn2, add)" in notes
    xs = rng.normal(size=(7, 5, 5, 2))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-10, atol=1e-10)


def test_full_pipeline_removes_every_batchnorm():
    rng = np.random.default_rng(3)
    g = _mlp_with_bns(rng)
    out = run_passes(g, Config(), rng.normal(size=(20, 6)))
    assert not any(isinstance(n.op, ops.BatchNorm) for n in out.topological())
