"""Resource and latency report of a typed graph: per layer and totals, as a dict and as text tables.

What is counted (the estimation rules themselves are in `nn2hls.report_rules` and docs/report.md):
- `weights` / `nonzero_weights` / `sparsity`: entries of the layer's multiplying constants (Dense and
  Conv kernels, ScaleShift scales, Embedding tables) after weight quantization; a zero costs nothing
  (an Embedding computes no product at all: its table is a constant array read at each index).
- `multiplies`: products computed per inference (Conv: per output position, taps that fall in the
  zero padding excluded), split by kind into `mult_general`, `mult_pm_one`, `mult_pow2`;
  `pruned_multiplies`: products a dense copy of the layer would compute that the zeros removed;
  `lut_multiplies`: general products narrow enough for fabric logic; `mult_shared`: the general
  products left if every Dense/Conv sum were grouped by weight value (one product per distinct
  magnitude per output, `nn2hls.report_sharing`), `shared_saving` = mult_general - mult_shared.
- `dsp`, `adders`: hardware instances (a Conv's per-position datapath is instantiated once and
  reused across positions; comparators of max pooling and softmax count as adders).
- grouped Conv rows (groups > 1) add `groups` and `multiplies_per_group` (the `multiplies` of each
  group's filters: a pruned or zero weight is no product in its group either).
- `latency_cycles`: the layer's own latency; the total is the longest path through the graph.
  io_stream (docs/report.md): a stream process's cycles per image; `totals.interval_cycles` the largest.
- `table_sizes` / `table_widths`: entries and entry width of each lookup table of the layer (roles
  `table`, `exp`, `inv`; `{}` for layers without tables).
- `energy_pj`: estimated energy per inference (products by kind and width, additions, table reads;
  `nn2hls.energy`), a relative figure for comparing compressed versions of a network.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from nn2hls import report_rules as rules
from nn2hls.config import Config
from nn2hls.energy import layer_energy_pj
from nn2hls.ir.conv_groups import filter_groups
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir import fixed, ops
from nn2hls.ir.ops import Conv, Dense, GlobalPool, Input, Reduce, Softmax
from nn2hls.ir.types import FixedType
from nn2hls.report_sharing import grouped_multiplies
from nn2hls.backends.vivado.schedule import top_pipelined
from nn2hls.parts import over_budget, part_resources

DEFAULT_WIDTH = 16  # operand width assumed when a graph carries no types (report of an untyped graph)
NUMERIC_KEYS = ("weights", "nonzero_weights", "multiplies", "mult_general", "mult_pm_one", "mult_pow2",
                "lut_multiplies", "pruned_multiplies", "dsp", "adders", "latency_cycles", "mult_shared",
                "shared_saving")


def _width(t: FixedType | None) -> int:
    return t.width if t is not None else DEFAULT_WIDTH


class _Layer:
    """Accumulates one layer's counts."""

    def __init__(self, graph: Graph, node: Node) -> None:
        self.node = node
        # the general products the backend builds per inference as (count, operand bits), when they are not
        # one per general weight use of the layer's input width (a shared-weight Dense); energy counts these
        self.built_products: tuple[int, int] | None = None
        self.row: dict[str, Any] = {
            "name": node.name, "op": node.op.kind, "source_name": node.source_name,
            "input_shapes": [list(graph.nodes[i].shape) for i in node.inputs],
            "output_shape": list(node.shape),
            "weight_type": str(node.precision["weight"]) if "weight" in node.precision else "",
            "accum_type": str(node.precision["accum"]) if "accum" in node.precision else "",
            "result_type": str(node.precision["result"]) if "result" in node.precision else "",
        }
        # lookup tables (role -> entries), e.g. {"table": 4096} or {"exp": 1024, "inv": 512}
        self.row["table_sizes"] = {role: int(spec.size) for role, spec in sorted(node.tables.items())}
        self.row["table_widths"] = {role: node.precision[role].width for role in self.row["table_sizes"]
                                    if role in node.precision}
        for key in NUMERIC_KEYS:
            self.row[key] = 0
        self.row["sparsity"] = 0.0
        self.in_type = graph.nodes[node.inputs[0]].precision.get("result") if node.inputs else None

    def constants(self, values: np.ndarray) -> None:
        self.row["weights"] += int(values.size)
        self.row["nonzero_weights"] += int(np.count_nonzero(values))

    def products(self, values: np.ndarray, uses: np.ndarray | int, wtype: FixedType | None,
                 in_bits: int) -> tuple[int, bool, bool]:
        """Count the products of constants `values`, each used `uses` times per inference.

        Returns the DSPs of one instance of every product, and whether DSP / LUT products exist.
        """
        values = np.asarray(values, dtype=np.float64)
        uses = np.broadcast_to(np.asarray(uses, dtype=np.int64), values.shape)
        kinds = rules.weight_kinds(values)
        self.row["mult_general"] += int(uses[kinds == 1].sum())
        self.row["mult_pm_one"] += int(uses[kinds == 2].sum())
        self.row["mult_pow2"] += int(uses[kinds == 3].sum())
        self.row["multiplies"] += int(uses[kinds != 0].sum())
        self.row["pruned_multiplies"] += int(uses[kinds == 0].sum())
        bits = rules.significant_bits(values, wtype)
        dsp, lut = 0, False
        for b, count in zip(*np.unique(bits[kinds == 1], return_counts=True)):
            per = rules.dsp_per_product(int(b), in_bits)
            dsp += per * int(count)
            if per == 0:
                lut = True
                self.row["lut_multiplies"] += int(uses[(kinds == 1) & (bits == b)].sum())
        return dsp, dsp > 0, lut

    def dsp_uses(self, values: np.ndarray, uses: Any, wtype: FixedType | None, in_bits: int) -> int:
        """DSPs of one product per use of each general weight (a fully unrolled layer)."""
        values = np.asarray(values, dtype=np.float64)
        uses = np.broadcast_to(np.asarray(uses, dtype=np.int64), values.shape)
        kinds = rules.weight_kinds(values)
        bits = rules.significant_bits(values, wtype)
        return sum(rules.dsp_per_product(int(b), in_bits) * int(uses[(kinds == 1) & (bits == b)].sum())
                   for b in np.unique(bits[kinds == 1]))


def _dense(layer: _Layer, node: Node, clock: float, reuse: int = 1, grouped: bool = True) -> None:
    """reuse > 1: the layer function is pipelined at II = reuse with ceil(products / reuse) multipliers
    (backends/vivado/schedule.py). grouped: the backend builds shared-weight kernels (the HLS backends;
    the Verilog backend writes one product per weight)."""
    kernel = node.weights["kernel"]
    bias = node.weights.get("bias", np.zeros(kernel.shape[1]))
    positions = math.prod(node.shape[:-1])
    layer.constants(kernel)
    dsp, uses_dsp, uses_lut = layer.products(kernel, positions, node.precision.get("weight"),
                                             _width(layer.in_type))
    terms = np.count_nonzero(kernel, axis=0) + (bias != 0)
    layer.row["adders"] = positions * int(np.maximum(terms - 1, 0).sum())
    layer.row["mult_shared"] = grouped_multiplies(kernel, positions=positions)
    shared = _shared_products(node, _width(layer.in_type)) if grouped else None
    if shared is not None:
        bits, sum_bits = shared
        dsp = int(sum(rules.dsp_per_product(int(b), sum_bits) for b in bits))
        layer.built_products = (positions * len(bits), sum_bits)
    layer.row["dsp"] = math.ceil(positions * dsp / reuse)
    depth = rules.tree_depth(int(terms.max()) if terms.size else 0)
    layer.row["latency_cycles"] = (rules.mult_latency(uses_dsp, uses_lut)
                                   + rules.adder_cycles(depth, clock) + 1) + (reuse - 1)


def _shared_products(node: Node, in_bits: int) -> tuple[np.ndarray, int] | None:
    """The general products of one position of a Dense the backend builds shared-weight
    (backends/vivado/shared.py: `use_shared` with a weight type), else None (one product per weight).

    One product per group (distinct general magnitude of an output), of the magnitude by the group sum:
    returns the significant bits of each group's magnitude and the group sum's width (in_bits plus
    the bits the largest group's sum needs, plus a sign bit). The DSP count and the energy both use it."""
    from nn2hls.backends.vivado.shared import group_dense, use_shared

    wtype = node.precision.get("weight")
    if wtype is None or not use_shared(node):
        return None
    lists = group_dense(node.weights["kernel"])
    grp, pos, neg = lists["grp"], lists["pos"], lists["neg"]
    largest = int((np.diff(pos.start) + np.diff(neg.start)).max())
    sum_bits = in_bits + max(1, math.ceil(math.log2(largest + 1))) + 1
    return rules.significant_bits(np.asarray(grp.columns["w"], dtype=np.float64), wtype), sum_bits


def _valid_taps(op: Conv, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """valid[p..., k...] = 1 where kernel tap k at output position p reads a real (unpadded) input."""
    valid = np.ones((), dtype=np.int64)
    for a in range(op.ndim):
        o = np.arange(out_shape[a])[:, None]
        k = np.arange(op.kernel_size[a])[None, :]
        pos = o * op.strides[a] - op.pads[a][0] + k * op.dilations[a]
        axis_valid = ((pos >= 0) & (pos < in_shape[a])).astype(np.int64)
        valid = np.multiply.outer(valid, axis_valid)
    # reorder (p0, k0, p1, k1, ...) -> (p0, p1, ..., k0, k1, ...)
    order = [2 * a for a in range(op.ndim)] + [2 * a + 1 for a in range(op.ndim)]
    return valid.transpose(order)


def _conv(layer: _Layer, node: Node, graph: Graph, clock: float, reuse: int, unrolled: bool = False) -> None:
    """unrolled (pipelined top, backends/vivado/schedule.py): one datapath per output position, the
    products of the taps that read real inputs; else the position loop at II = reuse shares
    ceil(per-position DSPs / reuse) DSPs."""
    op: Conv = node.op
    kernel = node.weights["kernel"]
    bias = node.weights.get("bias", np.zeros(kernel.shape[-1]))
    in_shape = graph.nodes[node.inputs[0]].shape
    spatial = tuple(node.shape[:-1])
    positions = math.prod(spatial)
    valid = _valid_taps(op, in_shape, node.shape)                     # (*spatial, *k)
    uses = valid.reshape(positions, -1).sum(axis=0).reshape(op.kernel_size)  # per tap, over positions
    layer.constants(kernel)
    dsp, uses_dsp, uses_lut = layer.products(kernel, uses[..., None, None], node.precision.get("weight"),
                                             _width(layer.in_type))
    layer.row["mult_shared"] = grouped_multiplies(kernel, valid.reshape(positions, -1))
    if op.groups > 1:
        _conv_groups(layer, op, kernel, uses)
    nnz_tap = np.count_nonzero(kernel, axis=-2).reshape(-1, kernel.shape[-1])  # (taps, filters)
    full_terms = nnz_tap.sum(axis=0) + (bias != 0)
    layer.row["adders"] = int(np.maximum(full_terms - 1, 0).sum())
    depth = rules.tree_depth(int(full_terms.max()) if full_terms.size else 0)
    one = rules.mult_latency(uses_dsp, uses_lut) + rules.adder_cycles(depth, clock) + 1
    if unrolled:
        layer.row["dsp"] = layer.dsp_uses(kernel, uses[..., None, None], node.precision.get("weight"),
                                          _width(layer.in_type))
        layer.row["adders"] *= positions
        layer.row["latency_cycles"] = one
    else:
        layer.row["dsp"] = math.ceil(dsp / reuse)
        layer.row["latency_cycles"] = (positions - 1) * reuse + one


def _distributed_arithmetic(layer: _Layer, node: Node, graph: Graph, clock: float) -> None:
    """strategy distributed_arithmetic (the Verilog backend's adder graphs, `nn2hls.ir.cmvm`): no DSP;
    `da_adders` / `da_depth` the adder graph's adders over all positions and its depth, `adders` those
    plus one per output that adds a nonzero bias to a nonzero sum (the module's count, every position
    of a Conv unrolled). The layer computes no products: its product counts become 0 (every CSD digit
    is an adder; `pruned_multiplies` still counts what the zero weights removed). Needs the weight type
    (a typed graph); otherwise only the products and `dsp` become 0."""
    for key in ("dsp", "multiplies", "mult_general", "mult_pm_one", "mult_pow2", "lut_multiplies", "mult_shared"):
        layer.row[key] = 0
    layer.built_products = None
    tw = node.precision.get("weight")
    if tw is None:
        return
    from nn2hls.backends.verilog.layers import raw_kernel, windows
    from nn2hls.ir import cmvm

    kernel, _ = raw_kernel(node)
    bias = np.asarray(node.weights.get("bias", np.zeros(kernel.shape[-1]))).reshape(-1) != 0
    if isinstance(node.op, Conv):
        op: Conv = node.op
        channels = kernel.shape[-2]
        in_shape = graph.nodes[node.inputs[0]].shape
        plan = cmvm.plan_for(kernel.reshape(-1, kernel.shape[-1]))
        costs = [cmvm.cost(plan, [b is not None for b in taps for _ in range(channels)])
                 for taps in windows(in_shape, node.shape, op.kernel_size, op.strides, op.dilations, op.pads)]
    else:
        plan = cmvm.plan_for(kernel)
        costs = [cmvm.cost(plan)] * math.prod(node.shape[:-1])
    graph_adders = sum(c.adders for c in costs)
    depth = max((c.depth for c in costs), default=0)
    layer.row["da_adders"] = int(graph_adders)
    layer.row["da_depth"] = int(depth)
    layer.row["adders"] = int(graph_adders + sum(int(np.count_nonzero(np.asarray(c.outputs) & bias)) for c in costs))
    layer.row["latency_cycles"] = rules.adder_cycles(depth + int(bias.any()), clock) + 1


def _conv_groups(layer: _Layer, op: Conv, kernel: np.ndarray, uses: np.ndarray) -> None:
    """Grouped Conv: `groups` and, per group, the products of its filters (`multiplies_per_group`,
    counted as `multiplies`: nonzero weights times the positions where their tap reads a real input)."""
    per_filter = (np.asarray(uses, dtype=np.int64)[..., None, None] * (kernel != 0)).reshape(-1, kernel.shape[-1])
    groups = filter_groups(op.groups, kernel.shape[-1])
    layer.row["groups"] = int(op.groups)
    layer.row["multiplies_per_group"] = [int(per_filter[:, groups == g].sum()) for g in range(op.groups)]


def _elementwise_scale(layer: _Layer, node: Node, scale: np.ndarray, shift: np.ndarray,
                       clock: float) -> None:
    scale = np.broadcast_to(scale, node.shape)
    shift = np.broadcast_to(shift, node.shape)
    layer.constants(np.asarray(scale))
    dsp, uses_dsp, uses_lut = layer.products(scale, 1, node.precision.get("weight"), _width(layer.in_type))
    adds = int(np.count_nonzero((scale != 0) & (shift != 0)))
    layer.row["adders"] = adds
    layer.row["dsp"] = dsp
    layer.row["latency_cycles"] = (rules.mult_latency(uses_dsp, uses_lut)
                                   + rules.adder_cycles(1 if adds else 0, clock) + 1)


def _pool(layer: _Layer, node: Node, graph: Graph, clock: float) -> None:
    op = node.op
    in_shape = graph.nodes[node.inputs[0]].shape
    if isinstance(op, GlobalPool):
        window = math.prod(in_shape[:-1])
    else:
        window = math.prod(op.pool_size)
    outputs = math.prod(node.shape)
    layer.row["adders"] = outputs * max(window - 1, 0)
    latency = rules.adder_cycles(rules.tree_depth(window), clock) + 1
    if op.mode == "avg":
        recip = np.full(outputs, 1.0 / window)
        dsp, uses_dsp, uses_lut = layer.products(recip, 1, node.precision.get("recip"),
                                                 _width(node.precision.get("accum")))
        layer.row["pruned_multiplies"] = 0
        layer.row["dsp"] = dsp
        latency += rules.mult_latency(uses_dsp, uses_lut)
    layer.row["latency_cycles"] = latency


def _reduce(layer: _Layer, node: Node, graph: Graph, clock: float) -> None:
    """Reduce: per output, K - 1 adders (sum, mean) or comparators (max, min); mean adds one product by 1/K."""
    op: Reduce = node.op
    in_shape = graph.nodes[node.inputs[0]].shape
    window = math.prod(in_shape[a] for a in op.axes)
    outputs = math.prod(node.shape)
    layer.row["adders"] = outputs * max(window - 1, 0)
    latency = rules.adder_cycles(rules.tree_depth(window), clock) + 1
    if op.mode == "mean":
        recip_t = node.precision.get("recip")
        recip = np.full(outputs, 1.0 / window)
        if recip_t is not None:  # the constant as emitted (its significant bits size the product)
            recip = fixed.to_float(fixed.quantize(recip, recip_t), recip_t)
        dsp, uses_dsp, uses_lut = layer.products(recip, 1, recip_t,
                                                 _width(node.precision.get("accum")))
        layer.row["pruned_multiplies"] = 0
        layer.row["dsp"] = dsp
        latency += rules.mult_latency(uses_dsp, uses_lut)
    layer.row["latency_cycles"] = latency


def _activation(layer: _Layer, node: Node, graph: Graph, clock: float, reuse: int) -> None:
    cost = ACTIVATION_TABLE.get(node.op.function)
    if cost is not None:  # an unknown function costs nothing (wiring)
        cost(layer, node, clock)


def _prelu_cost(layer: _Layer, node: Node, clock: float) -> None:
    """One product per element by its slope (a zero or +-1 / 2^k slope costs no multiplier)."""
    slopes = np.asarray(node.weights["alpha"], dtype=np.float64)
    layer.constants(slopes)
    per_element = np.broadcast_to(slopes, node.shape).reshape(-1)
    dsp, uses_dsp, uses_lut = layer.products(per_element, 1, node.precision.get("weight"), _width(layer.in_type))
    layer.row["dsp"] = dsp
    layer.row["latency_cycles"] = 1 + rules.mult_latency(uses_dsp, uses_lut)


def _constant_product_cost(param: str, adders: int, table: bool):
    """Element-wise product(s) by a constant `param` (+ adders per element, + a table read)."""
    def cost(layer: _Layer, node: Node, clock: float) -> None:
        size = math.prod(node.shape)
        latency = 1 + (rules.TABLE_LATENCY if table else 0)
        if param:
            value = getattr(node.op, param)
            dsp, uses_dsp, uses_lut = layer.products(np.full(size, value), 1, node.precision.get("param"),
                                                     _width(layer.in_type))
            layer.row["dsp"] = dsp
            latency += rules.mult_latency(uses_dsp, uses_lut)
        if adders:
            layer.row["adders"] = size * adders
            latency += rules.adder_cycles(1, clock)
        layer.row["latency_cycles"] = latency
    return cost


def _hard_swish_cost(layer: _Layer, node: Node, clock: float) -> None:
    """x * alpha + beta (a constant product and an adder), then x * gate (a general product)."""
    _constant_product_cost("alpha", 1, False)(layer, node, clock)
    size = math.prod(node.shape)
    bits = _width(layer.in_type)
    per = rules.dsp_per_product(bits, bits + _width(node.precision.get("param")))
    layer.row["multiplies"] += size
    layer.row["mult_general"] += size
    layer.row["dsp"] += size * per
    layer.row["lut_multiplies"] += size if per == 0 else 0
    layer.row["latency_cycles"] += rules.mult_latency(per > 0, per == 0)


ACTIVATION_TABLE: dict[str, Callable[[_Layer, Node, float], None]] = {
    "linear": _constant_product_cost("", 0, False),             # a copy: the output register
    "relu": _constant_product_cost("", 0, False),               # a sign test
    "clip": _constant_product_cost("", 0, False),               # two comparisons
    "leaky_relu": _constant_product_cost("alpha", 0, False),    # x * alpha where x < 0
    "hard_sigmoid": _constant_product_cost("alpha", 1, False),  # x * alpha + beta, clipped
    "sigmoid": _constant_product_cost("", 0, True),             # a table read
    "tanh": _constant_product_cost("", 0, True),
    "elu": _constant_product_cost("", 0, True),
    "prelu": _prelu_cost,
    "thresholded_relu": _constant_product_cost("", 0, False),   # one comparator per element
    "steps": _constant_product_cost("", 0, False),              # comparators and a level mux
    "hard_swish": _hard_swish_cost,
    "selu": _constant_product_cost("beta", 0, True),            # x * scale, or a table read
    "celu": _constant_product_cost("", 0, True),
    "softsign": _constant_product_cost("", 0, True),
    **{fn: _constant_product_cost("", 1, True) for fn in ("softplus", "swish", "mish", "gelu", "gelu_tanh")},
}
"""Activation function (`ops.ACTIVATIONS`) -> cost(layer, node, clock) filling the layer's row."""


def _softmax(layer: _Layer, node: Node, graph: Graph, clock: float, reuse: int) -> None:
    op: Softmax = node.op
    n = node.shape[op.axis]
    groups = math.prod(node.shape) // max(n, 1)
    # max: n-1 comparators, differences: n, sum: n-1 adders (per group)
    layer.row["adders"] = groups * (3 * n - 2)
    exp_bits = _width(node.precision.get("exp"))
    inv_bits = _width(node.precision.get("inv"))
    per = rules.dsp_per_product(exp_bits, inv_bits)
    layer.row["multiplies"] = layer.row["mult_general"] = groups * n
    layer.row["dsp"] = groups * n * per
    if per == 0:
        layer.row["lut_multiplies"] = groups * n
    depth = rules.tree_depth(n)
    layer.row["latency_cycles"] = (2 * rules.adder_cycles(depth, clock) + rules.adder_cycles(1, clock)
                                   + 2 * rules.TABLE_LATENCY + rules.mult_latency(per > 0, per == 0) + 1)


def _product_of_inputs(layer: _Layer, node: Node, graph: Graph, clock: float) -> None:
    """mul: one general product per element of the two inputs' widths."""
    size = math.prod(node.shape)
    a, b = (_width(graph.nodes[i].precision.get("result")) for i in node.inputs)
    per = rules.dsp_per_product(a, b)
    layer.row["multiplies"] = layer.row["mult_general"] = size
    layer.row["dsp"] = size * per
    layer.row["lut_multiplies"] = size if per == 0 else 0
    layer.row["latency_cycles"] = rules.mult_latency(per > 0, per == 0) + 1


def _adder_per_element(layer: _Layer, node: Node, graph: Graph, clock: float) -> None:
    """add, sub (an adder), max, min (a comparator, counted as an adder) per element."""
    layer.row["adders"] = math.prod(node.shape)
    layer.row["latency_cycles"] = rules.adder_cycles(1, clock) + 1


ELEMENTWISE_TABLE: dict[str, Callable[[_Layer, Node, Graph, float], None]] = {
    "add": _adder_per_element, "sub": _adder_per_element, "max": _adder_per_element, "min": _adder_per_element,
    "mul": _product_of_inputs,
}
"""Elementwise operation -> cost(layer, node, graph, clock)."""


def _binary(layer: _Layer, node: Node, graph: Graph, clock: float, reuse: int) -> None:
    ELEMENTWISE_TABLE[node.op.operation](layer, node, graph, clock)


def _wiring(layer: _Layer, node: Node, graph: Graph, clock: float, reuse: int) -> None:
    """Reshape, Transpose, Concat, Quant (a cast into the next type) and the structural ops: wiring,
    all zeros."""


def _embedding(layer: _Layer, node: Node, graph: Graph, clock: float, reuse: int) -> None:
    """Embedding: its table entries are the layer's constants (zeros counted as pruned); a lookup is a
    multiplexer over the table's rows, no product: one cycle."""
    layer.constants(node.weights["table"])
    layer.row["latency_cycles"] = 1


def _batchnorm(layer: _Layer, node: Node, graph: Graph, clock: float, reuse: int) -> None:
    """Only in untyped graphs: y = x * s + (beta - mean * s)."""
    w = node.weights
    scale = w["gamma"] / np.sqrt(w["var"] + node.op.epsilon)
    _elementwise_scale(layer, node, scale, w["beta"] - w["mean"] * scale, clock)


OP_TABLE: dict[type[ops.Op], Callable[[_Layer, Node, Graph, float, int], None]] = {
    ops.Dense: lambda layer, node, graph, clock, reuse: _dense(layer, node, clock),
    ops.Conv: _conv,
    ops.ScaleShift: lambda layer, node, graph, clock, reuse: _elementwise_scale(
        layer, node, node.weights["scale"], node.weights["shift"], clock),
    ops.BatchNorm: _batchnorm,
    ops.Pool: lambda layer, node, graph, clock, reuse: _pool(layer, node, graph, clock),
    ops.GlobalPool: lambda layer, node, graph, clock, reuse: _pool(layer, node, graph, clock),
    ops.Activation: _activation,
    ops.Softmax: _softmax,
    ops.Elementwise: _binary,
    ops.Reduce: lambda layer, node, graph, clock, reuse: _reduce(layer, node, graph, clock),
    ops.Reshape: _wiring,
    ops.Transpose: _wiring,
    ops.Concat: _wiring,
    ops.Quant: _wiring,
    ops.Embedding: _embedding,
    **{cls: _wiring for cls in ops.STRUCTURAL_OPS},
}
"""Op class -> cost(layer, node, graph, clock period, reuse factor) filling the layer's row."""

NOT_APPLICABLE: dict[type[ops.Op], str] = {
    ops.Input: "build_report has no row for the Input node: it computes nothing",
}


def layer_report(graph: Graph, node: Node, config: Config) -> dict[str, Any]:
    """The report row of one node."""
    layer = _Layer(graph, node)
    op, clock, reuse = node.op, float(config.clock_period_ns), config.layer_reuse(node.name)
    unrolled = top_pipelined(graph, config)  # the schedule the pragmas request (backends/vivado/schedule.py)
    shared = not unrolled and (reuse > 1 or config.layer_strategy(node.name) == "resource")
    if isinstance(op, Dense):
        _dense(layer, node, clock, reuse if shared else 1, grouped=config.backend != "verilog")
    elif isinstance(op, Conv):
        _conv(layer, node, graph, clock, reuse, unrolled)
    else:
        cost = OP_TABLE.get(type(op))
        if cost is not None:  # an op without a cost rule counts as wiring
            cost(layer, node, graph, clock, reuse)
    if isinstance(op, (Dense, Conv)) and config.layer_strategy(node.name) == "distributed_arithmetic":
        _distributed_arithmetic(layer, node, graph, clock)
    row = layer.row
    if config.io_type == "io_stream":
        _stream_schedule(row, graph, node, reuse)
    row["energy_pj"] = layer_energy_pj(row, in_bits=_width(layer.in_type),
                                       weight_bits=_width(node.precision.get("weight")),
                                       accum_bits=_width(node.precision.get("accum") or node.precision.get("result")),
                                       out_elements=math.prod(node.shape), general=layer.built_products)
    if not isinstance(op, (Dense, Conv)):
        row["mult_shared"] = row["mult_general"]  # nothing to group
    row["shared_saving"] = row["mult_general"] - row["mult_shared"]
    row["sparsity"] = round(1.0 - row["nonzero_weights"] / row["weights"], 6) if row["weights"] else 0.0
    pruning = node.annotations.pruning
    row["pruned_by_pass"] = int(pruning.pruned) if pruning is not None else 0
    return row


def _stream_schedule(row: dict[str, Any], graph: Graph, node: Node, reuse: int) -> None:
    """io_stream (backends/vivado/stream.py, docs/report.md): a Conv or Pool walks its padded raster scan
    PH x PW at II = RF (the Conv's DSPs as io_parallel's position loop); pooling and element-wise layers
    build one pixel's datapath (DSPs / output elements), global pooling one running sum per channel; an
    adapter adds its read and write loops (one element per cycle) to its io_parallel function."""
    from nn2hls.backends.vivado import stream
    source = graph[node.inputs[0]] if node.inputs else None
    if source is not None and isinstance(source.op, Input) and stream.absorbed_layout(graph, source) is node:
        row["latency_cycles"] = 0  # not emitted: the input port carries its output
        return
    mode = stream.stream_mode(graph, node)
    out_elements = stream.elements(tuple(node.shape))
    in_elements = sum(stream.elements(tuple(graph[i].shape)) for i in node.inputs)
    if mode == "conv":
        ph, pw = stream.padded_scan(graph, node)
        row["latency_cycles"] += (ph * pw - out_elements) * reuse
    elif mode == "pool":
        ph, pw = stream.padded_scan(graph, node)
        row["dsp"] = math.ceil(row["dsp"] / max(out_elements, 1))
        row["latency_cycles"] += (ph * pw - 1) * reuse
    elif mode == "global_pool":
        row["latency_cycles"] += (in_elements - 1) * reuse
    elif mode == "pixel":
        row["dsp"] = math.ceil(row["dsp"] / max(out_elements, 1))
        row["latency_cycles"] += (out_elements - 1) * reuse
    else:
        row["latency_cycles"] += in_elements + out_elements


def _critical_path(graph: Graph, rows: dict[str, dict[str, Any]]) -> int:
    finish: dict[str, int] = {}
    for node in graph.topological():
        own = rows[node.name]["latency_cycles"] if node.name in rows else 0
        finish[node.name] = own + max((finish[i] for i in node.inputs), default=0)
    return max((finish[o] for o in graph.outputs), default=0)


def build_report(graph: Graph, config: Config | None = None) -> dict[str, Any]:
    """Per-layer rows (every node but the Input) and totals; see the module docstring for the keys."""
    config = config if config is not None else Config()
    rows = {node.name: layer_report(graph, node, config)
            for node in graph.topological() if not isinstance(node.op, Input)}
    layers = list(rows.values())
    totals: dict[str, Any] = {key: int(sum(r[key] for r in layers)) for key in NUMERIC_KEYS}
    totals["pruned_by_pass"] = int(sum(r["pruned_by_pass"] for r in layers))
    totals["latency_cycles"] = _critical_path(graph, rows)
    totals["sparsity"] = (round(1.0 - totals["nonzero_weights"] / totals["weights"], 6)
                          if totals["weights"] else 0.0)
    totals["latency_ns"] = round(totals["latency_cycles"] * float(config.clock_period_ns), 3)
    if config.io_type == "io_stream":  # DATAFLOW over streams: a new image every slowest-process time
        totals["interval_cycles"] = max((r["latency_cycles"] for r in layers), default=0)
    totals["energy_pj"] = round(sum(r["energy_pj"] for r in layers), 3)
    inputs = [{"name": n.source_name or n.name, "shape": list(n.shape),
               "type": str(n.precision["result"]) if "result" in n.precision else ""} for n in graph.inputs]
    return {
        "model": graph.name,
        "part": config.part,
        "clock_period_ns": float(config.clock_period_ns),
        "reuse_factor": int(config.reuse_factor),
        "input_shape": inputs[0]["shape"],
        "input_type": inputs[0]["type"],
        "inputs": inputs,
        "layers": layers,
        "totals": totals,
        "rules": "nn2hls.report_rules (docs/report.md)",
        "part_resources": part.as_dict() if (part := part_resources(config.part)) else None,
        "warnings": over_budget({"dsp": totals["dsp"]}, config.part),
    }


def add_synthesis(report: dict[str, Any], synthesis: dict[str, Any]) -> dict[str, Any]:
    """report + `synthesis` (nn2hls.csynth.project_synthesis: the HLS tool's csynth reports) and, per
    layer, `synthesis_dsp`/`synthesis_latency` beside the estimate (None for a layer without report)."""
    report = dict(report)
    report["synthesis"] = synthesis
    for row in report["layers"]:
        got = synthesis["layers"].get(row["name"])
        row["synthesis_dsp"] = got["dsp"] if got else None
        row["synthesis_latency"] = got["latency_worst"] if got else None
    return report


def _inputs_text(report: dict[str, Any]) -> str:
    inputs = report.get("inputs") or []
    if len(inputs) <= 1:
        return f"input {_shape(report['input_shape'])} {report['input_type']}"
    return "inputs " + ", ".join(f"{i['name']} {_shape(i['shape'])} {i['type']}".rstrip() for i in inputs)


def _shape(shape: list[int]) -> str:
    return "x".join(str(s) for s in shape) if shape else "scalar"


def _per_group(counts: list[int]) -> str:
    """Every count for up to 8 groups, else their range."""
    if len(counts) <= 8:
        return ", ".join(str(c) for c in counts)
    return f"{min(counts)} to {max(counts)}"


def _table_text(row: dict[str, Any], role: str) -> str:
    """'table 4096 entries' (+ ' x 18 bits = 4 BRAM18' when the entry width is known)."""
    size = row["table_sizes"][role]
    width = row.get("table_widths", {}).get(role)
    if not width:
        return f"{role} {size} entries"
    return f"{role} {size} x {width} bits = {rules.bram18(size, width)} BRAM18"


def format_report(report: dict[str, Any]) -> str:
    """Two aligned tables (resources, then types) and a totals paragraph."""
    from nn2hls.progress import format_table

    res_rows, type_rows = [], []
    for r in report["layers"]:
        ins = ",".join(_shape(s) for s in r["input_shapes"])
        res_rows.append([r["name"], r["op"], f"{ins} -> {_shape(r['output_shape'])}", r["weights"],
                         r["nonzero_weights"], f"{100 * r['sparsity']:.1f}%" if r["weights"] else "-",
                         r["mult_general"], r["mult_pm_one"], r["mult_pow2"], r["pruned_multiplies"],
                         r["dsp"], r["adders"], r["latency_cycles"]])
        type_rows.append([r["name"], r["weight_type"] or "-", r["accum_type"] or "-", r["result_type"] or "-"])
    t = report["totals"]
    res_rows.append(["total", "", "", t["weights"], t["nonzero_weights"],
                     f"{100 * t['sparsity']:.1f}%" if t["weights"] else "-", t["mult_general"],
                     t["mult_pm_one"], t["mult_pow2"], t["pruned_multiplies"], t["dsp"], t["adders"],
                     t["latency_cycles"]])
    header = ["layer", "op", "shape", "weights", "nonzero", "sparsity", "mult", "+-1", "2^k", "pruned",
              "DSP", "adders", "cycles"]
    lines = [f"model {report['model']}: part {report['part']}, clock {report['clock_period_ns']:g} ns, "
             f"reuse factor {report['reuse_factor']}, {_inputs_text(report)}".rstrip(),
             "",
             format_table(header, res_rows),
             "",
             format_table(["layer", "weight_t", "accum_t", "result_t"], type_rows),
             "",
             *[f"lookup tables of {r['name']}: " + ", ".join(_table_text(r, role) for role in r["table_sizes"])
               for r in report["layers"] if r.get("table_sizes")],
             f"multiplies kept: {t['multiplies']} ({t['mult_general']} general, {t['mult_pm_one']} +-1, "
             f"{t['mult_pow2']} power of two; {t['lut_multiplies']} general ones in LUTs); "
             f"removed by zero weights: {t['pruned_multiplies']}",
             *[f"grouped conv {r['name']}: {r['groups']} groups, multiplies per group "
               f"{_per_group(r['multiplies_per_group'])}" for r in report["layers"] if "groups" in r],
             *[f"distributed arithmetic {r['name']}: {r['da_adders']} adders in its adder graph (CSD + shared "
               f"subexpressions), adder depth {r['da_depth']}, no multipliers" for r in report["layers"]
               if "da_adders" in r],
             *([f"weight sharing: grouping equal weights per output would leave {t['mult_shared']} general "
                f"multiplies (saving {t['shared_saving']})"] if t["shared_saving"] else []),
             f"estimated: {t['dsp']} DSP48E2, {t['adders']} adders, latency {t['latency_cycles']} cycles "
             f"({t['latency_ns']:g} ns) along the critical path (rules: docs/report.md)",
             *([f"io_stream: one image every {t['interval_cycles']} cycles (DATAFLOW interval: the slowest "
                "process; the processes overlap, so the critical-path latency is an upper bound)"]
               if "interval_cycles" in t else []),
             f"energy per inference: {t['energy_pj']:g} pJ (relative estimate, 45 nm constants: nn2hls.energy)"]
    part = report.get("part_resources")
    if part:
        lines.append(f"part {part['device']} ({part['source']}): {part['dsp']} DSP, {part['lut']} LUT, "
                     f"{part['ff']} FF, {part['bram18']} BRAM18")
    lines += [f"warning: {w}" for w in report.get("warnings", [])]
    if report.get("synthesis") and "top" in report["synthesis"]:  # csynth reports (a Verilog project's
        lines += ["", _synthesis_text(report)]                     # yosys cells are printed by the CLI)
    return "\n".join(lines) + "\n"


def _synthesis_text(report: dict[str, Any]) -> str:
    """Estimate vs the HLS tool's csynth report, per layer and for the top."""
    from nn2hls.progress import format_table

    def cell(v: Any) -> Any:
        return "-" if v is None else v

    rows = [[r["name"], r["dsp"], cell(r.get("synthesis_dsp")), r["latency_cycles"], cell(r.get("synthesis_latency"))]
            for r in report["layers"]]
    top, t = report["synthesis"]["top"], report["totals"]
    rows.append(["total (top)", t["dsp"], cell(top["dsp"]), t["latency_cycles"], cell(top["latency_worst"])])
    return ("estimate vs synthesis (csynth reports):\n"
            + format_table(["layer", "DSP est.", "DSP synth", "cycles est.", "cycles synth"], rows))
