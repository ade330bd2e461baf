"""fold_scale_shift, chain rule: a plain ScaleShift read only by a plain ScaleShift merges into it
((x * a + d) * c + e = x * (a * c) + (d * c + e)); quantizer ScaleShifts stay; numbers unchanged."""
import numpy as np

from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes


def _chain(keep_first: str = ""):
    """(x / 255 - 0.5) / 0.25 on a (4, 4, 2) map, then a max pool (which nothing folds into)."""
    g = Graph("norm")
    x = g.add(ops.Input(shape=(4, 4, 2)), name="x")
    a = g.add(ops.ScaleShift(), [x.name], name="div255",
              weights={"scale": np.asarray(1 / 255), "shift": np.asarray(0.0)})
    a.annotations.keep_separate = keep_first
    b = g.add(ops.ScaleShift(), [a.name], name="sub", weights={"scale": np.asarray(1.0), "shift": np.asarray(-0.5)})
    c = g.add(ops.ScaleShift(), [b.name], name="div", weights={"scale": np.asarray([4.0, 2.0]),
                                                                "shift": np.asarray(0.0)})
    p = g.add(ops.Pool(mode="max", pool_size=(2, 2), strides=(2, 2)), [c.name], name="pool")
    g.outputs = [p.name]
    return g


def test_chain_of_three_becomes_one_scale_shift():
    g = _chain()
    out = run_passes(g, Config(), passes=["fold_scale_shift"])
    assert str(out) == ("graph norm\n"
                        "  %x = Input(shape=(4,4,2)) () -> (4, 4, 2)\n"
                        "  %div = ScaleShift (%x) -> (4, 4, 2)  {scale: 2 nnz=2, shift: 2 nnz=2}  "
                        "[folded=[sub]]\n"
                        "  %pool = Pool(mode=max, ndim=2, pool_size=(2,2), strides=(2,2), pads=((0,0),(0,0)), "
                        "count_include_pad=False) (%div) -> (2, 2, 2)\n"
                        "  return %pool\n")
    node = out.nodes["div"]
    # by hand: scale (1/255) * 1 * (4, 2); shift (0 * 1 - 0.5) * (4, 2) + 0 = (-2, -1)
    np.testing.assert_allclose(node.weights["scale"], [4 / 255, 2 / 255], rtol=1e-15)
    np.testing.assert_array_equal(node.weights["shift"], [-2.0, -1.0])
    assert out.meta["pass_log"][0][2][:2] == ["merged ScaleShift 'div255' into the ScaleShift 'sub' reading it",
                                              "merged ScaleShift 'sub' into the ScaleShift 'div' reading it"]
    xs = np.random.default_rng(0).uniform(0, 255, size=(20, 4, 4, 2))
    np.testing.assert_allclose(execute(out, xs)[0], execute(g, xs)[0], rtol=1e-12, atol=1e-12)


def test_quantizer_scale_shift_is_not_merged():
    g = _chain("a quantizer's scale")
    out = run_passes(g, Config(), passes=["fold_scale_shift"])
    assert [n.name for n in out.topological()] == ["x", "div255", "div", "pool"]
