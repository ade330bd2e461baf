"""Types and lookup-table specs of the table-based nodes (sigmoid, tanh, elu, selu, celu, softsign,
the residual tables of softplus/swish/mish/gelu/gelu_tanh, softmax).

Rule: the entry types are `nn2hls.ir.tables.default_table_types(function, table_width)` and the
TableSpecs come from that module's `sigmoid_spec`/`tanh_spec`/`elu_spec`/`celu_spec`/`softsign_spec`/
`residual_spec`/`softmax_specs` (SELU: the elu table of scale * alpha * (exp(v) - 1)), with
`table_size` from the node's precision spec and the input type of the node. The softmax exp table
covers the largest max(x) - x observed in the float activations of the calibration data (when given).
The softmax `sum` type must hold the exact sum of `n` exp entries (F = frac(exp), every entry <= 1):
it is checked here, so a table type change cannot make the sum round or overflow.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import ConfigError
from nn2hls.ir import tables
from nn2hls.ir.graph import Node
from nn2hls.ir.ops import Softmax
from nn2hls.ir.types import FixedType


TABLE_ACTIVATIONS = ("sigmoid", "tanh", "elu", "selu", "celu", "softsign") + tables.RESIDUAL


def activation_types(node: Node, spec, x_t: FixedType) -> dict[str, FixedType]:
    """Entry type of a table-based activation node (TABLE_ACTIVATIONS); sets node.tables['table']."""
    fn = node.op.function
    if fn == "selu":
        scaled = node.op.beta * node.op.alpha
        node.tables["table"] = tables.elu_spec(x_t, spec.table_size, scaled)
        return tables.default_table_types("elu", spec.table_width, alpha=scaled)
    types = tables.default_table_types(fn, spec.table_width, alpha=getattr(node.op, "alpha", 1.0))
    if fn == "celu":
        node.tables["table"] = tables.celu_spec(x_t, spec.table_size, node.op.alpha)
    elif fn == "softsign":
        node.tables["table"] = tables.softsign_spec(x_t, spec.table_size)
    elif fn in tables.RESIDUAL:
        node.tables["table"] = tables.residual_spec(fn, x_t, spec.table_size)
    elif fn == "sigmoid":
        node.tables["table"] = tables.sigmoid_spec(x_t, spec.table_size)
    elif fn == "tanh":
        node.tables["table"] = tables.tanh_spec(x_t, spec.table_size)
    else:
        node.tables["table"] = tables.elu_spec(x_t, spec.table_size, node.op.alpha)
    return types


def softmax_types(node: Node, spec, x_t: FixedType, data: np.ndarray | None = None) -> dict[str, FixedType]:
    """exp/sum/inv types of a softmax node; sets node.tables['exp'] and ['inv'].

    `data` is the float input of the softmax on the calibration data (batch first) when known.
    """
    op: Softmax = node.op
    axis = op.axis % len(node.shape)
    n = node.shape[axis]
    types = tables.default_table_types("softmax", spec.table_width, axis_length=n)
    exp_t, sum_t = types["exp"], types["sum"]
    one = 1 << exp_t.frac if exp_t.frac >= 0 else 1
    need = n * min(exp_t.max_raw, one)  # every exp entry is <= 1
    if sum_t.frac < exp_t.frac or sum_t.max_raw < need:
        raise ConfigError(f"softmax {node.label()}: sum type {sum_t} cannot hold {n} exp entries of {exp_t} "
                          "exactly; widen precision.table_width")
    data_range = None
    if data is not None and data.size:
        moved = np.moveaxis(data, axis + 1, -1)
        data_range = float(np.max(moved.max(axis=-1) - moved.min(axis=-1)))
    exp_spec, inv_spec = tables.softmax_specs(x_t, n, spec.table_size, data_range, sum_frac=sum_t.frac)
    node.tables["exp"] = exp_spec
    node.tables["inv"] = inv_spec
    return types
