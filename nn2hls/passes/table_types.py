"""Types and lookup-table specs of the table-based nodes (sigmoid, tanh, elu, selu, celu, softsign,
the residual tables of softplus/swish/mish/gelu/gelu_tanh, softmax).

Rule: the entry types are `nn2hls.ir.tables.default_table_types(function, table_width)` and the
TableSpecs come from that module's `sigmoid_spec`/`tanh_spec`/`elu_spec`/`celu_spec`/`softsign_spec`/
`residual_spec`/`softmax_specs` (SELU: the elu table of scale * alpha * (exp(v) - 1)); which one an
activation uses is its `TableRecipe` in `assign_precision.ACTIVATION_TABLE`. Sizes:
`table_size` from the node's precision spec (`auto`, the default: `tables.auto_table_size`, about
one LSB of the node's result type, at most `tables.MAX_AUTO_TABLE_SIZE` entries) and the input
type of the node. The softmax exp table
covers the largest max(x) - x observed in the float activations of the calibration data (when given).
The softmax `sum` type must hold the exact sum of `n` exp entries (F = frac(exp), every entry <= 1):
it is checked here, so a table type change cannot make the sum round or overflow.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from nn2hls.errors import ConfigError
from nn2hls.ir import tables
from nn2hls.ir.graph import Node
from nn2hls.ir.ops import Softmax
from nn2hls.ir.types import FixedType


TableRecipe = tuple[str, float, Callable[[int], tables.TableSpec]]
"""(function whose default entry types apply, its alpha, build(size) -> TableSpec) of one table."""


def table_size(spec, build, entry_type: FixedType, result_lsb: float | None) -> int:
    """The configured `table_size`, or for `auto` `tables.auto_table_size` (needs the result's LSB)."""
    size = spec.table_size
    if isinstance(size, str):  # "auto"
        if result_lsb is None:
            return tables.MAX_AUTO_TABLE_SIZE
        return tables.auto_table_size(build, entry_type, result_lsb)
    return int(size)


def activation_types(node: Node, spec, recipe: TableRecipe, result_lsb: float | None = None
                     ) -> dict[str, FixedType]:
    """Entry type of a table-based activation node; sets node.tables['table'].

    `recipe` is the function's table recipe (`assign_precision.ACTIVATION_TABLE`); `result_lsb` the
    LSB of the node's result type (sets the size when `table_size` is auto)."""
    function, alpha, build = recipe
    types = tables.default_table_types(function, spec.table_width, alpha=alpha)
    node.tables["table"] = build(table_size(spec, build, types["table"], result_lsb))
    return types


def softmax_types(node: Node, spec, x_t: FixedType, data: np.ndarray | None = None,
                  result_lsb: float | None = None) -> dict[str, FixedType]:
    """exp/sum/inv types of a softmax node; sets node.tables['exp'] and ['inv'].

    `data` is the float input of the softmax on the calibration data (batch first) when known;
    `result_lsb` the LSB of its result type. With `table_size: auto` the exp and reciprocal tables
    are sized separately by `tables.auto_table_size` (an error d in one exp entry moves
    y_i = e_i * r by at most d, as r <= 1; one d in r by at most d, as e_i <= 1).
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
    def build(size: int) -> tuple[tables.TableSpec, tables.TableSpec]:
        return tables.softmax_specs(x_t, n, size, data_range, sum_frac=sum_t.frac)

    exp_size = table_size(spec, lambda s: build(s)[0], types["exp"], result_lsb)
    inv_size = table_size(spec, lambda s: build(s)[1], types["inv"], result_lsb)
    exp_spec, inv_spec = build(exp_size)[0], build(inv_size)[1]
    node.tables["exp"] = exp_spec
    node.tables["inv"] = inv_spec
    return types
