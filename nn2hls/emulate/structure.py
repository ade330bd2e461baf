"""Structural ops on raw integers: Pad, Slice, Upsample, DepthToSpace, SpaceToDepth (docs/semantics.md).

Each output element is ``cast(x[src], result)`` with ``src`` from the op's gather tables
(`nn2hls.ir.rearrange.axis_maps`, the same form the HLS kernel `nn2hls::gather_axes` walks); Pad's
positions outside the input hold Pad's value quantized once to the result type (the C++ constant
``fill``, `fixed.quantize` with the result's Q/O modes). The passes give these ops their input's type,
so the cast is normally a no-op.
"""
from __future__ import annotations

import numpy as np

from nn2hls.emulate.arith import Tally, as_dtype, cast, storage_dtype
from nn2hls.emulate.linear import Kernel
from nn2hls.ir.roles import role_types
from nn2hls.ir import fixed, rearrange
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def build_structural(node: Node, in_types: list[FixedType], in_shapes=None) -> Kernel:
    tx = in_types[0]
    (tr,) = role_types(node, "result")
    _, maps = rearrange.axis_maps(node.op, in_shapes[0])
    src = rearrange.source_index(maps)
    outside = src < 0
    take = np.where(outside, 0, src)
    out_shape = tuple(node.shape)
    fill = None
    if outside.any():
        raw = fixed.quantize(np.array([float(node.op.value)]), tr)
        fill = as_dtype(raw, storage_dtype(tr))[0]

    def run(args: list, tally: Tally) -> np.ndarray:
        x = args[0]
        flat = x.reshape(x.shape[0], -1)
        y = cast(flat[:, take[~outside]] if fill is not None else flat[:, take], tx.frac, tx.min_raw,
                 tx.max_raw, tr, tally)
        if fill is not None:
            full = np.empty((x.shape[0], src.size), dtype=y.dtype)
            full[:, ~outside] = y
            full[:, outside] = fill
            y = full
        return y.reshape((x.shape[0],) + out_shape)
    return run
