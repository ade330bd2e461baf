"""fold_scale_shift: after/before a Dense/Conv, refusals with reasons, numbers unchanged."""
import numpy as np

from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes


def _run(g):
    return run_passes(g, Config(), passes=["fold_scale_shift"])


def test_fold_after_and_before_dense():
    rng = np.random.default_rng(0)
    g = Graph("m")
    x = g.add(ops.Input(shape=(3,)), name="x")
    pre = g.add(ops.ScaleShift(), [x.name], name="pre", weights={"scale": [2.0, -1.0, 0.5], "shift": [1.0, 0.0, -3.0]})
    d = g.add(ops.Dense(), [pre.name], name="d", weights={"kernel": rng.normal(size=(3, 2)), "bias": [0.1, 0.2]})
    post = g.add(ops.ScaleShift(), [d.name], name="post", weights={"scale": [3.0, 0.25], "shift": [0.0]})
    g.outputs = [post.name]
    out = _run(g)
    assert str(out) == ("graph m\n"
                        "  %x = Input(shape=(3,)) () -> (3,)\n"
                        "  %d = Dense (%x) -> (2,)  {bias: 2 nnz=2, kernel: 3x2 nnz=6}  [folded=[pre, post]]\n"
                        "  return %d\n")
    assert out.meta["pass_log"][0][2] == ["folded ScaleShift 'pre' into 'd' (before it)",
                                          "folded ScaleShift 'post' into 'd' (after it)"]
    xs = rng.normal(size=(40, 3))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-12, atol=1e-12)


def test_padded_conv_refuses_shift_but_takes_scale():
    rng = np.random.default_rng(1)
    g = Graph("c")
    x = g.add(ops.Input(shape=(4, 4, 2)), name="x")
    s1 = g.add(ops.ScaleShift(), [x.name], name="s1", weights={"scale": [2.0, 3.0], "shift": [1.0, 0.0]})
    c = g.add(ops.Conv(kernel_size=(3, 3), pads=((1, 1), (1, 1))), [s1.name], name="c",
              weights={"kernel": rng.normal(size=(3, 3, 2, 2)), "bias": [0.0, 1.0]})
    r = g.add(ops.Activation(function="relu"), [c.name], name="r")
    s2 = g.add(ops.ScaleShift(), [r.name], name="s2", weights={"scale": [0.5, 4.0], "shift": [0.0, 0.0]})
    c2 = g.add(ops.Conv(kernel_size=(3, 3), pads=((1, 1), (1, 1))), [s2.name], name="c2",
               weights={"kernel": rng.normal(size=(3, 3, 2, 1)), "bias": [0.3]})
    g.outputs = [c2.name]
    out = _run(g)
    names = [n.name for n in out.topological()]
    assert names == ["x", "s1", "c", "r", "c2"]
    assert out.meta["pass_log"][0][2] == [
        "folded ScaleShift 's2' into 'c2' (before it)",
        "kept ScaleShift 's1': after: its input 'x' (Input) is not a Dense/Conv; before: a nonzero shift cannot fold into "
        "'c': its zero padding would see the shift"]
    xs = rng.normal(size=(5, 4, 4, 2))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-12, atol=1e-12)


def test_unpadded_conv_takes_shift():
    rng = np.random.default_rng(2)
    g = Graph("c")
    x = g.add(ops.Input(shape=(5, 5, 2)), name="x")
    s1 = g.add(ops.ScaleShift(), [x.name], name="s1", weights={"scale": [2.0, 3.0], "shift": [1.0, -2.0]})
    c = g.add(ops.Conv(kernel_size=(2, 2), strides=(2, 2)), [s1.name], name="c",
              weights={"kernel": rng.normal(size=(2, 2, 2, 3)), "bias": [0.0, 1.0, 2.0]})
    g.outputs = [c.name]
    out = _run(g)
    assert [n.name for n in out.topological()] == ["x", "c"]
    xs = rng.normal(size=(5, 5, 5, 2))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-12, atol=1e-12)


def test_spatially_varying_scale_is_kept():
    g = Graph("v")
    x = g.add(ops.Input(shape=(2, 2)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": np.ones((2, 2)), "bias": [0.0, 0.0]})
    s = g.add(ops.ScaleShift(), [d.name], name="s", weights={"scale": [[1.0], [2.0]], "shift": [0.0]})
    g.outputs = [s.name]
    out = _run(g)
    assert not out.meta["pass_log"][0][1]
    assert out.meta["pass_log"][0][2] == [
        "kept ScaleShift 's': after: scale/shift vary along axes other than the channel axis; "
        "before: 's' is a graph output"]
