"""Constant folding is bounded in size (frontends/onnx_fold.py): the huge constant is refused before
it is allocated, with the node and the shape named."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.onnx_fold import BATCH, MAX_FOLD_ELEMENTS, fold


def test_constant_of_shape_sized_by_the_batch_is_refused():
    node = helper.make_node("ConstantOfShape", ["s"], ["h0"], name="lstm_h0")
    with pytest.raises(UnsupportedOpError, match=r"node 'lstm_h0' \(ConstantOfShape\): folding it would create "
                                                 r"a constant of 64,000,000,448 elements \(shape \(1, batch, 64\)\)"):
        fold(node, [np.array([1, BATCH, 64], np.int64)], 13)


def test_expand_and_tile_are_checked_before_allocation():
    expand = helper.make_node("Expand", ["x", "s"], ["y"], name="big")
    with pytest.raises(UnsupportedOpError, match=r"100,000,000 elements \(shape \(10000, 10000\)\)"):
        fold(expand, [np.zeros((1,), np.float32), np.array([10000, 10000], np.int64)], 13)
    tile = helper.make_node("Tile", ["x", "r"], ["y"], name="tiled")
    with pytest.raises(UnsupportedOpError, match=r"'tiled' \(Tile\).*shape \(40000, 1000\)"):
        fold(tile, [np.zeros((4, 10), np.float32), np.array([10000, 100], np.int64)], 13)


def test_small_constants_still_fold():
    node = helper.make_node("ConstantOfShape", ["s"], ["z"], name="z")
    (out,) = fold(node, [np.array([4, 4], np.int64)], 13)
    assert out.shape == (4, 4) and MAX_FOLD_ELEMENTS == 1 << 24
    expand = helper.make_node("Expand", ["x", "s"], ["y"], name="e")
    (out,) = fold(expand, [np.arange(3.0), np.array([2, 3], np.int64)], 13)
    np.testing.assert_array_equal(out, [[0, 1, 2], [0, 1, 2]])
