"""Passes that rewrite a Conv's weights, on grouped and depthwise Convs: the folds keep the numbers
(float executor before/after), and fold_scale_shift scales each weight by its group's input channel."""
import numpy as np

from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes


def _grouped(rng, groups, channels, filters, pads=((0, 0), (0, 0))):
    kernel = rng.normal(size=(3, 3, channels // groups, filters))
    return ops.Conv(kernel_size=(3, 3), pads=pads, groups=groups), {"kernel": kernel, "bias": rng.normal(size=filters)}


def test_scale_shift_before_grouped_conv_folds_per_input_channel():
    rng = np.random.default_rng(0)
    g = Graph("m")
    x = g.add(ops.Input(shape=(6, 6, 4)), name="x")
    pre = g.add(ops.ScaleShift(), [x.name], name="pre",
                weights={"scale": np.array([2.0, -1.0, 0.5, 3.0]), "shift": np.array([1.0, 0.0, -3.0, 0.25])})
    op, weights = _grouped(rng, 2, 4, 6)
    c = g.add(op, [pre.name], name="c", weights=weights)
    g.outputs = [c.name]
    out = run_passes(g, Config(), passes=["fold_scale_shift"])
    assert [n.name for n in out.topological()] == ["x", "c"]
    conv = out.nodes["c"]
    # filters 0..2 read channels 0, 1 (scales 2, -1); filters 3..5 read channels 2, 3 (scales 0.5, 3)
    np.testing.assert_allclose(conv.weights["kernel"][..., 0, :3], weights["kernel"][..., 0, :3] * 2.0)
    np.testing.assert_allclose(conv.weights["kernel"][..., 1, 3:], weights["kernel"][..., 1, 3:] * 3.0)
    xs = rng.normal(size=(20, 6, 6, 4))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-12, atol=1e-12)


def test_scale_shift_after_depthwise_conv_and_batchnorm_fold():
    rng = np.random.default_rng(1)
    g = Graph("m")
    x = g.add(ops.Input(shape=(5, 5, 3)), name="x")
    op, weights = _grouped(rng, 3, 3, 6, pads=((1, 1), (1, 1)))  # depth multiplier 2
    c = g.add(op, [x.name], name="c", weights=weights)
    bn = g.add(ops.BatchNorm(), [c.name], name="bn",
               weights={"gamma": rng.normal(size=6), "beta": rng.normal(size=6), "mean": rng.normal(size=6),
                        "var": rng.uniform(0.5, 2.0, size=6)})
    g.outputs = [bn.name]
    out = run_passes(g, Config(), passes=["fold_batchnorm", "fold_scale_shift"])
    assert [n.name for n in out.topological()] == ["x", "c"]
    assert out.nodes["c"].op.groups == 3
    xs = rng.normal(size=(20, 5, 5, 3))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-10, atol=1e-10)


def test_prune_target_sparsity_counts_only_the_weights_a_depthwise_conv_has():
    # 36 weights (3x3, one channel per filter): a 50% target zeroes 18 of them, not the 108 cross-group
    # zeros a dense (3, 3, 4, 4) kernel would have
    rng = np.random.default_rng(2)
    g = Graph("m")
    x = g.add(ops.Input(shape=(5, 5, 4)), name="x")
    op, weights = _grouped(rng, 4, 4, 4)
    c = g.add(op, [x.name], name="c", weights=weights)
    g.outputs = [c.name]
    config = Config()
    config.pruning.sparsity = {"c": 0.5}
    out = run_passes(g, config, passes=["prune"])
    kernel = out.nodes["c"].weights["kernel"]
    assert kernel.shape == (3, 3, 1, 4)
    assert np.count_nonzero(kernel) == 18
    kept = np.abs(weights["kernel"]) > np.sort(np.abs(weights["kernel"]).ravel())[17]
    np.testing.assert_array_equal(kernel != 0, kept)


def test_factor_weights_on_a_ternary_depthwise_conv_keeps_groups_and_numbers():
    rng = np.random.default_rng(3)
    g = Graph("m")
    x = g.add(ops.Input(shape=(5, 5, 3)), name="x")
    a = np.array([0.3, 0.7, 0.45, 0.6, 0.35, 0.9])                  # one magnitude per filter
    kernel = rng.choice([-1.0, 0.0, 1.0], size=(3, 3, 1, 6)) * a
    c = g.add(ops.Conv(kernel_size=(3, 3), groups=3), [x.name], name="c",
              weights={"kernel": kernel, "bias": rng.normal(size=6)})
    g.outputs = [c.name]
    out = run_passes(g, Config(), passes=["factor_weights"])
    assert [n.op.kind for n in out.topological()] == ["Input", "Conv", "ScaleShift"]
    conv = out.nodes["c"]
    assert conv.op.groups == 3 and set(np.unique(conv.weights["kernel"])) <= {-1.0, 0.0, 1.0}
    xs = rng.normal(size=(20, 5, 5, 3))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-12, atol=1e-12)
