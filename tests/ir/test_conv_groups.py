"""Grouped Conv in the IR: shape rule and its errors, printing, the zero-expanded kernel, and the float
executor on values written down by hand."""
import numpy as np
import pytest

from nn2hls.errors import GraphError
from nn2hls.ir import ops
from nn2hls.ir.conv_groups import expand_groups, input_channels
from nn2hls.ir.execute import execute
from nn2hls.ir.graph import Graph


def test_shape_rule_and_errors():
    op = ops.Conv(kernel_size=(3, 3), groups=4)
    assert op.output_shape([(6, 6, 8)], {"kernel": np.zeros((3, 3, 2, 12))}) == (4, 4, 12)
    with pytest.raises(GraphError, match=r"expects 8 channels \(2 per group x 4 groups\), got 6"):
        op.output_shape([(6, 6, 6)], {"kernel": np.zeros((3, 3, 2, 12))})
    with pytest.raises(GraphError, match=r"filters \(10\) must be a multiple of groups \(4\)"):
        op.output_shape([(6, 6, 8)], {"kernel": np.zeros((3, 3, 2, 10))})


def test_describe_shows_groups_only_when_grouped():
    assert "groups" not in ops.Conv().describe()
    assert ops.Conv(groups=3).describe().endswith(", groups=3)")


def test_expanded_kernel_is_block_diagonal():
    kernel = np.arange(1, 9, dtype=float).reshape(1, 1, 2, 4)     # 2 groups: C = 4, F = 4
    full = expand_groups(kernel, 2)[0, 0]
    # compact [c, o] = [[1, 2, 3, 4], [5, 6, 7, 8]]: filters 0, 1 read channels 0, 1; filters 2, 3 channels 2, 3
    np.testing.assert_array_equal(full, [[1, 2, 0, 0], [5, 6, 0, 0], [0, 0, 3, 4], [0, 0, 7, 8]])
    np.testing.assert_array_equal(input_channels(2, kernel.shape), [[0, 0, 2, 2], [1, 1, 3, 3]])


def test_depthwise_with_multiplier_by_hand():
    # 1-D, 2 channels, multiplier 2, kernel 2: filter o reads channel o // 2
    g = Graph("m")
    x = g.add(ops.Input(shape=(3, 2)), name="x")
    kernel = np.array([[[1.0, 2.0, 3.0, 4.0]], [[10.0, 20.0, 30.0, 40.0]]])  # (k=2, 1, F=4)
    c = g.add(ops.Conv(ndim=1, kernel_size=(2,), strides=(1,), dilations=(1,), pads=((0, 0),), groups=2),
              [x.name], name="c", weights={"kernel": kernel, "bias": np.array([0.0, 0.0, 0.0, 0.5])})
    g.outputs = [c.name]
    xs = np.array([[[1.0, 100.0], [2.0, 200.0], [3.0, 300.0]]])
    y = execute(g, xs)[0]
    # position 0: channel 0 taps (1, 2), channel 1 taps (100, 200)
    np.testing.assert_array_equal(y[0, 0], [1 * 1 + 2 * 10, 1 * 2 + 2 * 20, 100 * 3 + 200 * 30,
                                            100 * 4 + 200 * 40 + 0.5])
