"""assign_precision: give every node the fixed-point types of its roles (docs/semantics.md).

Per node, `config.precision_for(layer, op kind)` (layer = safe name, or source name when the config
uses that) gives the spec; an explicit type string wins over `auto`. Derived (`auto`) types:

- input (`config.precision_input`) and `result`: width `result_width`, Q/O modes `rounding`/`overflow`.
  Signed unless the node's value interval is provably >= 0 (relu, sigmoid, softmax ...: unsigned,
  one bit saved). Integer bits I = min(I_data + headroom_bits, I_interval) where I_data fits the
  largest |value| of the float executor on the calibration data and I_interval fits the provable
  interval of the node propagated from its inputs' type ranges (so bounded functions such as sigmoid
  get I = 1 unsigned with or without data). Without calibration data I = I_interval and a warning
  says data gives tighter types; the input then defaults to ap_fixed<result_width, 6> (|x| < 32).
  Reshape, Transpose, max pooling, Reduce max/min and a Concat of equal input types keep their input's
  type (wiring). Elementwise (broadcast or not) takes the interval of a op b.
  So do the structural ops (Pad, Slice, Upsample, DepthToSpace, SpaceToDepth), except a Pad whose
  value overflows the input type: its result is derived (`auto`) from the hull of the input interval
  and the value.
- `weight` (Dense/Conv kernel, ScaleShift scale): signed, width `weight_width`, rounding AP_RND
  (nearest, ties up: error <= lsb/2), overflow AP_SAT; I is the fewest integer bits such that no
  weight overflows after rounding.
- `bias` (bias, shift): signed with F = frac(x) + frac(w), the accumulator's LSB, so adding it rounds
  nothing inside the sum, and W = bitlen(max |raw bias|) + 1 (exact after rounding, never overflows).
- `accum`: exact (`precision_rules.exact_accum`): F = frac(x) + frac(w) (>= frac(bias)), I from
  max_j (sum_i |w_ij| * max|x| + |b_j|) over the weights quantized to their type, AP_TRN/AP_WRAP.
  Avg-pool window sums and Reduce mean/sum likewise (F = frac(x), bound count * max|x|); softmax sums (F = frac(exp),
  bound n * max exp entry). An explicit accum breaking frac(accum) >= frac(x) + frac(w),
  >= frac(bias) or overflow AP_WRAP is refused with ConfigError naming the layer; otherwise it is used
  as given (the exact width is computed for `auto` only, and to warn about possible wrapping).
  x * w products wider than the C simulation forms are refused (`precision_rules.check_product`).
- `recip` (avg pool and Reduce mean 1/count): unsigned, width `weight_width`, AP_RND. `param` (clip
  bounds, leaky_relu alpha, hard_sigmoid and hard_swish alpha/beta, thresholded_relu threshold/value,
  selu scale): signed, width `weight_width`, AP_RND/AP_SAT, I from the largest finite constant. A
  `steps` activation's result is the exact type of the levels its input type can reach. PReLU's
  slopes (weight 'alpha') get a `weight` type like any other weights.
- table roles (`table`, `exp`, `sum`, `inv`) and `node.tables` come from `nn2hls.passes.table_types`.
- quantized models (`nn2hls.passes.quant_rules`): a Quant node's result is its `dtype`; weight and bias
  types forced by the frontend (`node.annotations.forced_precision`) replace `auto` while they hold the
  values exactly; a node whose readers all lead to quantizers through relu/wiring gets the exact
  result type (no double rounding); an Input read only by quantizers of one dtype takes that dtype;
  a ScaleShift that `fold_into_quantizer` folded into a quantizer gets its constants from the exact
  thresholds (`quant_thresholds.threshold_constants`, docs/semantics.md); an Input read only by
  scale/shift chains into bipolar quantizers rounds toward -inf with every threshold on its grid
  (`quant_rules.threshold_input_type`), so its cast flips no sign.
- several inputs: each Input node is typed from its own calibration data (or its own quantizers).
- integer inputs (Input integer=True: Embedding indices): `precision.layers.<input>.result`, else
  `precision_integer_input`, else `nn2hls.ir.lookup.auto_index_type` of the largest table reading it
  (`precision_input` and `--precision` apply to float inputs only). An Embedding's index type must have
  no fractional bits (ConfigError naming the layer); its `weight` is the table's type (as Dense
  kernels), and its `result` that same type (a copy, exact) unless given.

Weights are not modified here (quantize_weights does that), but every derived type is computed from
the weights as they will be after quantization. `graph.meta['precision_widths']` (written by the
precision search) overrides result/weight widths per node.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nn2hls.errors import ConfigError
from nn2hls.ir.ap_modes import Overflow, Rounding
from nn2hls.ir import fixed
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir import lookup, ops, tables
from nn2hls.ir.ops import Pad, Pool, Reduce, ScaleShift
from nn2hls.ir.types import FixedType
from nn2hls.passes import precision_rules as rules
from nn2hls.passes import quant_rules
from nn2hls.passes import table_types
from nn2hls.passes.quant_thresholds import threshold_constants
from nn2hls.passes.base import PassContext, PassResult, float_activations, layer_key, precision_spec

WEIGHT_ROUNDING = Rounding.AP_RND
WEIGHT_OVERFLOW = Overflow.AP_SAT


def auto_weight_type(values: np.ndarray, width: int) -> FixedType:
    """The automatic ("auto") weight type of a layer: ap_fixed<width, I, AP_RND, AP_SAT> with the fewest
    integer bits I that hold max|values| (`precision_rules.integer_bits`)."""
    m = float(np.max(np.abs(values))) if values.size else 0.0
    return FixedType.fixed(width, rules.integer_bits(m, width, True, WEIGHT_ROUNDING), True,
                           WEIGHT_ROUNDING, WEIGHT_OVERFLOW)
DEFAULT_INPUT_INTEGER_BITS = 6


def _explicit(text: str) -> FixedType | None:
    return None if text.strip().lower() == "auto" else FixedType.parse(text)


def _explicit_or_error(text: str, node: Node, role: str) -> FixedType | None:
    try:
        return _explicit(text)
    except ConfigError:
        raise
    except Exception as exc:  # FixedTypeError: add the layer
        raise ConfigError(f"layer {node.label()}: bad {role} precision {text!r}: {exc}") from None


class _Assigner:
    """Assigns types node by node in topological order."""

    def __init__(self, graph: Graph, ctx: PassContext, widths: dict[str, dict[str, int]]):
        self.graph, self.ctx, self.widths = graph, ctx, widths
        self.acts = float_activations(graph, ctx)
        self.intervals: dict[str, rules.Interval] = {}
        self.notes: list[str] = []

    # ---- shared pieces --------------------------------------------------------------------------
    def width(self, node: Node, spec, key: str) -> int:
        return int(self.widths.get(node.name, {}).get(key, getattr(spec, key)))

    def result(self, node: Node, spec, interval: rules.Interval) -> FixedType:
        self.intervals[node.name] = interval
        given = _explicit_or_error(spec.result, node, "result")
        if given is not None:
            return given
        exact = quant_rules.exact_result(self.graph, node)
        if exact is not None:
            return exact
        width = self.width(node, spec, "result_width")
        lo, hi = interval
        signed = lo < 0
        integer = rules.integer_bits(max(abs(lo), abs(hi)), width, signed, spec.rounding)
        if self.acts is not None and node.name in self.acts:
            values = self.acts[node.name]
            m = float(np.max(np.abs(values))) if values.size else 0.0
            integer = min(integer, rules.integer_bits(m, width, signed, spec.rounding) + spec.headroom_bits)
        return FixedType.fixed(width, integer, signed, spec.rounding, spec.overflow)

    def weight_type(self, node: Node, spec, values: np.ndarray) -> FixedType:
        given = _explicit_or_error(spec.weight, node, "weight")
        if given is not None:
            return given
        forced = quant_rules.forced_type(node, "weight", values)
        if forced is not None:
            return forced
        return auto_weight_type(values, self.width(node, spec, "weight_width"))

    def quantized(self, node: Node, values: np.ndarray, t: FixedType, role: str) -> tuple[np.ndarray, np.ndarray]:
        raw, ovf = fixed.quantize(values, t, return_overflow=True)
        if ovf.any():
            self.ctx.warn(f"layer {node.label()}: {int(ovf.sum())} {role} values overflow {t} "
                          f"(largest |value| {float(np.max(np.abs(values))):g}); use more integer bits or 'auto'")
        return raw, fixed.to_float(raw, t)

    def in_type(self, node: Node, i: int = 0) -> FixedType:
        return self.graph.nodes[node.inputs[i]].precision["result"]

    def in_interval(self, node: Node, i: int = 0) -> rules.Interval:
        return rules.type_range(self.in_type(node, i))

    # ---- per op -----------------------------------------------------------------------------------
    def assign(self, node: Node) -> None:
        node.precision = {}
        node.tables = {}
        spec = precision_spec(self.ctx.config, node)
        rule = OP_TABLE.get(type(node.op))
        if rule is None:
            raise ConfigError(f"node {node.label()}: no precision rule for op {node.op.kind}; "
                              "run fold_batchnorm before assign_precision")
        rule(self, node, spec)

    def input(self, node: Node, spec) -> None:
        node.precision["result"] = self.input_type(node, spec)

    def wiring(self, node: Node, spec) -> None:
        """Reshape, Transpose, max pooling, Reduce max/min: the input's type (no value changes)."""
        given = _explicit_or_error(spec.result, node, "result")
        node.precision["result"] = given or self.in_type(node)
        self.intervals[node.name] = self.intervals[node.inputs[0]]

    def pool(self, node: Node, spec) -> None:
        """Pool, GlobalPool: max is wiring, avg a window sum times a reciprocal."""
        if node.op.mode in ("max", "min"):
            self.wiring(node, spec)
        else:
            self.avg_pool(node, spec)

    def reduce(self, node: Node, spec) -> None:
        """Reduce: max/min are wiring, mean is an average pool, sum an exact sum."""
        if node.op.mode in ("max", "min"):
            self.wiring(node, spec)
        elif node.op.mode == "mean":
            self.avg_pool(node, spec)
        else:
            self.reduce_sum(node, spec)

    def quant(self, node: Node, spec) -> None:
        node.precision["result"] = FixedType.parse(node.op.dtype)
        self.intervals[node.name] = rules.type_range(node.precision["result"])

    def softmax(self, node: Node, spec) -> None:
        p = node.precision
        x_t = self.in_type(node)
        data = self.acts.get(node.inputs[0]) if self.acts is not None else None
        result = self.result(node, spec, (0.0, 1.0))
        p.update(table_types.softmax_types(node, spec, x_t, data, result.lsb))
        p["result"] = result

    def elementwise(self, node: Node, spec) -> None:
        """a op b: the interval of the operation over the two input intervals (ELEMENTWISE_TABLE)."""
        a, b = self.in_interval(node, 0), self.in_interval(node, 1)
        node.precision["result"] = self.result(node, spec, ELEMENTWISE_TABLE[node.op.operation](a, b))

    def concat(self, node: Node, spec) -> None:
        """Inputs of one type keep it; otherwise a type derived from the hull of their intervals."""
        p = node.precision
        types = {self.graph.nodes[i].precision["result"] for i in node.inputs}
        iv = rules.hull([self.in_interval(node, i) for i in range(len(node.inputs))])
        given = _explicit_or_error(spec.result, node, "result")
        if given is None and len(types) == 1:
            p["result"] = types.pop()
            self.intervals[node.name] = iv
        else:
            p["result"] = self.result(node, spec, iv)

    def integer_input_type(self, node: Node, spec) -> FixedType:
        """See the module docstring (integer inputs)."""
        config = self.ctx.config
        key = layer_key(config, node, config.precision_layers)
        own = config.precision_layers.get(key, {}).get("result", "auto") if key else "auto"
        given = _explicit_or_error(own, node, "result") \
            or _explicit_or_error(config.precision_integer_input, node, "integer_input")
        if given is None:
            tables_read, _ = lookup.index_readers(self.graph, node.name)
            rows = [t.weights["table"].shape[0] for t in tables_read]
            given = lookup.auto_index_type(max(rows, default=1))
        self.intervals[node.name] = rules.type_range(given)
        return given

    def embedding(self, node: Node, spec) -> None:
        """Embedding: see the module docstring (integer inputs)."""
        x_t = self.in_type(node)
        problem = lookup.index_type_problem(x_t)
        if problem is not None:
            raise ConfigError(f"layer {node.label()}: its index input '{node.inputs[0]}' has type {problem}; give "
                              "that input an integer type (precision.integer_input, or precision.layers)")
        table = np.asarray(node.weights["table"], dtype=np.float64)
        w_t = self.weight_type(node, spec, table)
        _, q = self.quantized(node, table, w_t, "table")
        node.precision["weight"] = w_t
        self.intervals[node.name] = (min(float(q.min()), 0.0), max(float(q.max()), 0.0))
        node.precision["result"] = _explicit_or_error(spec.result, node, "result") or w_t

    def input_type(self, node: Node, spec) -> FixedType:
        if node.op.integer:
            return self.integer_input_type(node, spec)
        width = self.width(node, spec, "result_width")
        given = _explicit_or_error(self.ctx.config.precision_input, node, "input") \
            or _explicit_or_error(spec.result, node, "result") or quant_rules.input_type(self.graph, node)
        if given is None:
            if self.ctx.calibration is not None:
                data = self.acts[node.name] if isinstance(self.ctx.calibration, list) else self.ctx.calibration
                m = float(np.max(np.abs(data))) if data.size else 0.0
                integer = rules.integer_bits(m, width, True, spec.rounding) + spec.headroom_bits
            else:
                integer = DEFAULT_INPUT_INTEGER_BITS
                self.ctx.warn(f"no calibration data: input type ap_fixed<{width},{integer}> assumed "
                              f"(|x| < {2 ** (integer - 1)}); give calibration data (--calibration) or the config's "
                              "precision.input")
            given = FixedType.fixed(width, integer, True, spec.rounding, spec.overflow)
            exact, why = quant_rules.threshold_input_type(self.graph, given, node)
            if exact is not None:
                given = exact
            elif why is not None:
                self.ctx.warn(f"input {node.label()}: {why}; an input within one LSB of {given} of a "
                              f"bipolar threshold may take the other sign")
        self.intervals[node.name] = rules.type_range(given)
        return given

    def linear(self, node: Node, spec) -> None:
        """Dense, Conv (kernel/bias) and ScaleShift (scale/shift, element-wise)."""
        p, x_t = node.precision, self.in_type(node)
        if node.annotations.bipolar_sign:
            quant_rules.bipolar_sign(node, x_t)
        if node.annotations.quant_affine is not None:
            threshold_constants(node, x_t, self.ctx.warn)
        if isinstance(node.op, ScaleShift):
            kernel = np.broadcast_to(node.weights["scale"], node.shape).reshape(1, -1)
            bias = np.broadcast_to(node.weights["shift"], node.shape).reshape(-1)
            roles = ("scale", "shift")
        else:
            kernel = node.weights["kernel"].reshape(-1, node.weights["kernel"].shape[-1])
            bias = node.weights.get("bias")
            roles = ("kernel", "bias")
        w_t = self.weight_type(node, spec, kernel)
        k_raw, k_q = self.quantized(node, kernel, w_t, roles[0])
        b_t = _explicit_or_error(spec.bias, node, "bias")
        if b_t is None and bias is not None:
            b_t = quant_rules.forced_type(node, "bias", bias)
        if b_t is None:
            b_t = rules.bits_at_frac(bias if bias is not None else np.zeros(1), x_t.frac + w_t.frac,
                                     WEIGHT_ROUNDING, what=f"layer {node.label()} bias")
        b_raw, b_q = (None, None) if bias is None else self.quantized(node, bias, b_t, roles[1])
        acc = _explicit_or_error(spec.accum, node, "accum")
        rules.check_product(x_t, w_t, b_t if isinstance(node.op, ScaleShift) else None, what=node.label())
        if acc is None:
            acc = rules.exact_accum(k_raw, w_t, b_raw, b_t, x_t, what=node.label())
        else:  # an explicit accumulator is honoured; the exact width is only compared with it
            rules.check_accum(acc, x_t, w_t, b_t, what=node.label())
            width, frac = rules.exact_accum_width(k_raw, w_t, b_raw, b_t, x_t)
            if acc.integer < width - frac:
                self.ctx.warn(f"layer {node.label()}: accum {acc} has fewer integer bits than the exact sum "
                              f"needs ({width - frac}); sums may wrap")
        p.update(weight=w_t, bias=b_t, accum=acc)
        x_iv = self.intervals[node.inputs[0]]
        if isinstance(node.op, ScaleShift):
            iv = rules.scale_shift_interval(k_q, b_q if b_q is not None else 0.0, x_iv)
        else:
            iv = rules.dense_interval(k_q, b_q, x_iv)
        p["result"] = self.result(node, spec, iv)

    def avg_pool(self, node: Node, spec) -> None:
        p, x_t, op = node.precision, self.in_type(node), node.op
        in_shape = self.graph.nodes[node.inputs[0]].shape
        if isinstance(op, Pool):
            count = math.prod(op.pool_size)
            padded = any(a for pair in op.pads for a in pair) and not op.count_include_pad
            max_recip = 1.0 if padded else 1.0 / count
        elif isinstance(op, Reduce):
            count = math.prod(in_shape[a] for a in op.axes)
            max_recip = 1.0 / count
        else:
            count = math.prod(in_shape[:-1])
            max_recip = 1.0 / count
        acc = _explicit_or_error(spec.accum, node, "accum")
        if acc is None:
            exact_w = (count * rules.max_abs_raw(x_t)).bit_length() + 1
            if exact_w > 128:
                raise ConfigError(f"layer {node.label()}: the exact window sum needs {exact_w} bits (> 128); "
                                  f"narrow the input type or set an explicit accum type for this layer")
            acc = FixedType.fixed(exact_w, exact_w - x_t.frac)
        else:
            rules.check_accum(acc, x_t, None, None, what=node.label())
        width = self.width(node, spec, "weight_width")
        p["accum"] = acc
        p["recip"] = FixedType.fixed(width, rules.integer_bits(max_recip, width, False, WEIGHT_ROUNDING), False,
                                     WEIGHT_ROUNDING)
        p["result"] = self.result(node, spec, self.intervals[node.inputs[0]])

    def reduce_sum(self, node: Node, spec) -> None:
        """Reduce sum: the exact accumulator of n inputs (F = frac(x), bound n * max|x|), as avg pools."""
        p, x_t, op = node.precision, self.in_type(node), node.op
        in_shape = self.graph.nodes[node.inputs[0]].shape
        count = math.prod(in_shape[a] for a in op.axes)
        exact_w = (count * rules.max_abs_raw(x_t)).bit_length() + 1
        acc = _explicit_or_error(spec.accum, node, "accum")
        if acc is None:
            acc = FixedType.fixed(exact_w, exact_w - x_t.frac)
        else:
            rules.check_accum(acc, x_t, None, None, what=node.label())
        p["accum"] = acc
        lo, hi = self.intervals[node.inputs[0]]
        p["result"] = self.result(node, spec, (count * lo, count * hi))

    def structural(self, node: Node, spec) -> None:
        """Wiring: the input's type, unless a Pad value lies outside it (see the module docstring)."""
        x_t, iv = self.in_type(node), self.intervals[node.inputs[0]]
        given = _explicit_or_error(spec.result, node, "result")
        if isinstance(node.op, Pad):
            value = float(node.op.value)
            iv = (min(iv[0], value), max(iv[1], value))
            _, ovf = fixed.quantize(np.array([value]), x_t, return_overflow=True)
            if given is None and ovf.any():
                node.precision["result"] = self.result(node, spec, iv)
                return
        node.precision["result"] = given or x_t
        self.intervals[node.name] = iv

    def steps(self, node: Node, spec) -> None:
        """`steps`: `thr` is the input's type (the thresholds' grid); the result is the exact type of the
        levels that input type can reach, unless a type is given or it would need more than 64 bits."""
        from nn2hls.ir.quant import exact_type
        from nn2hls.ir.steps import reachable_levels
        p = node.precision
        p["thr"] = self.in_type(node)
        levels = reachable_levels(node.weights, p["thr"])
        iv = (float(levels.min()), float(levels.max()))
        exact = exact_type(levels)
        if _explicit_or_error(spec.result, node, "result") is None:
            if exact is not None and exact.width <= 64:
                self.intervals[node.name] = iv
                p["result"] = exact
                return
            self.ctx.warn(f"layer {node.label()}: its {levels.size} output levels need more than 64 bits to be "
                          "held exactly; they are rounded to the automatic result type (give a 'result' "
                          "precision to choose it)")
        p["result"] = self.result(node, spec, iv)

    def activation(self, node: Node, spec) -> None:
        """The function's ActivationRule (ACTIVATION_TABLE): interval, constant types, lookup table."""
        p = node.precision
        x_iv = self.intervals[node.inputs[0]]
        if node.op.function == "steps":
            self.steps(node, spec)
            return
        rule = ACTIVATION_TABLE.get(node.op.function)
        if rule is None:
            raise ConfigError(f"node {node.label()}: no precision rule for activation {node.op.function!r}")
        if rule.slopes:  # the interval uses the slopes as quantized to this type
            p["weight"] = self.weight_type(node, spec, np.asarray(node.weights["alpha"], dtype=np.float64))
        iv, params = rule.interval(node, x_iv)
        if rule.param:
            width = self.width(node, spec, "weight_width")
            m = max((abs(v) for v in params), default=0.0)
            p["param"] = FixedType.fixed(width, rules.integer_bits(m, width, True, WEIGHT_ROUNDING), True,
                                         WEIGHT_ROUNDING, WEIGHT_OVERFLOW)
        if rule.table is not None:
            # the table size (table_size auto) needs the result's LSB; a residual table can only widen
            # the result interval (a coarser LSB), so the bound holds for the final result too
            first = self.result(node, spec, iv)
            x_t = self.in_type(node)
            p.update(table_types.activation_types(node, spec, rule.table(node, x_t), first.lsb))
        if rule.residual:
            iv = rules.hull([iv, _residual_entries_interval(node, self.in_type(node), x_iv)])
        p["result"] = self.result(node, spec, iv)


# ---- activation intervals: (value interval, constants needing a `param` type) -----------------------
def _relu_interval(node: Node, x: rules.Interval):
    return (max(x[0], 0.0), max(x[1], 0.0)), []


def _linear_interval(node: Node, x: rules.Interval):
    return x, []


def _clip_interval(node: Node, x: rules.Interval):
    op = node.op
    iv = (min(max(x[0], op.low), op.high), min(max(x[1], op.low), op.high))
    return iv, [v for v in (op.low, op.high) if math.isfinite(v)]


def _leaky_relu_interval(node: Node, x: rules.Interval):
    op = node.op
    return rules.monotone_interval(lambda v: v if v >= 0 else op.alpha * v, x, (0.0,)), [op.alpha]


def _hard_sigmoid_interval(node: Node, x: rules.Interval):
    op = node.op
    return (rules.monotone_interval(lambda v: min(max(op.alpha * v + op.beta, 0.0), 1.0), x),
            [op.alpha, op.beta])


def _elu_interval(node: Node, x: rules.Interval):
    op = node.op
    return rules.monotone_interval(lambda v: v if v > 0 else op.alpha * math.expm1(v), x, (0.0,)), []


def _constant_interval(lo: float, hi: float):
    return lambda node, x: ((lo, hi), [])


def _prelu_interval(node: Node, x: rules.Interval):
    w_t = node.precision["weight"]
    slopes = fixed.to_float(fixed.quantize(np.asarray(node.weights["alpha"], dtype=np.float64).reshape(-1), w_t), w_t)
    a_lo, a_hi = float(slopes.min()), float(slopes.max())
    points = [x[0], x[1]] + ([0.0] if x[0] <= 0.0 <= x[1] else [])
    values = [p if p >= 0 else p * a for p in points for a in (a_lo, a_hi)]
    return (min(values), max(values)), []


def _thresholded_interval(node: Node, x: rules.Interval):
    op = node.op
    parts = []
    if x[0] <= op.alpha:
        parts.append((op.beta, op.beta))
    if x[1] > op.alpha:
        parts.append((max(x[0], op.alpha), x[1]))
    return rules.hull(parts), [op.alpha, op.beta]


def _hard_swish_interval(node: Node, x: rules.Interval):
    a, b = node.op.alpha, node.op.beta
    f = lambda v: v * min(max(a * v + b, 0.0), 1.0)  # noqa: E731
    critical = (-b / (2 * a), -b / a, (1 - b) / a) if a else ()
    return rules.monotone_interval(f, x, critical), [a, b]


def _selu_interval(node: Node, x: rules.Interval):
    a, s = node.op.alpha, node.op.beta
    return rules.monotone_interval(lambda v: s * (v if v > 0 else a * math.expm1(v)), x, (0.0,)), [s]


def _table_interval(fn: str):
    """Hull of the float function on the interval, at its ends and its (known) critical points."""
    critical = {"swish": (-1.2784645,), "mish": (-1.1925,), "gelu": (-0.7517916,),
                "gelu_tanh": (-0.7524614,), "celu": (0.0,)}.get(fn, ())

    def interval(node: Node, x: rules.Interval):
        def f(v: float) -> float:
            if fn == "celu":
                a = node.op.alpha
                return v if v > 0 else a * math.expm1(v / a)
            if fn == "softsign":
                return v / (1 + abs(v))
            return max(v, 0.0) + float(tables.residual_values(fn, np.array([v]))[0])
        lo, hi = rules.monotone_interval(f, x, critical)
        # the table minimum lies a little off the critical point: one table LSB of slack below
        return (lo - 1e-3 if lo < 0 else lo, hi), []
    return interval


def _residual_entries_interval(node: Node, x_t: FixedType, x: rules.Interval) -> rules.Interval:
    """Bounds of max(x, 0) + entry for the entries the inputs in x can read (the table is sampled at
    bucket centres, so near 0 an entry can pull the sum slightly below the float function)."""
    spec = node.tables["table"]
    entries = tables.table_values(spec)
    ends = np.floor(np.array(x, dtype=np.float64) * 2.0 ** x_t.frac)
    i0, i1 = (int(i) for i in tables.index(ends, x_t.frac, spec))
    reach = entries[i0:i1 + 1]
    lsb = node.precision["table"].lsb
    return (max(x[0], 0.0) + float(reach.min()) - lsb, max(x[1], 0.0) + float(reach.max()) + lsb)


@dataclass(frozen=True)
class ActivationRule:
    """How precision assignment types one activation function.

    interval(node, input interval) -> (value interval, constants needing a `param` type); `param`:
    the function's constants get a `param` type; `slopes`: the node's weight 'alpha' gets a `weight`
    type first (prelu); `table(node, input type)`: the recipe of its lookup table
    (`table_types.TableRecipe`); `residual`: the result is max(x, 0) + a table entry.
    """

    interval: Callable[[Node, rules.Interval], tuple[rules.Interval, list[float]]]
    param: bool = False
    slopes: bool = False
    table: Callable[[Node, FixedType], table_types.TableRecipe] | None = None
    residual: bool = False


def _recipe(function: str | None, spec: Callable[..., tables.TableSpec]):
    """Table recipe: the default entry types of `function` (None: the node's own) with the op's alpha."""
    def recipe(node: Node, x_t: FixedType) -> table_types.TableRecipe:
        return (function or node.op.function, node.op.alpha, lambda n: spec(node, x_t, n))
    return recipe


def _selu_recipe(node: Node, x_t: FixedType) -> table_types.TableRecipe:
    """SELU's table is the elu table of scale * alpha * (exp(v) - 1)."""
    scaled = node.op.beta * node.op.alpha
    return ("elu", scaled, lambda n: tables.elu_spec(x_t, n, scaled))


def _steps_interval(node: Node, x: rules.Interval):
    """Hull of the levels (the exact reachable ones are typed by `_Assigner.steps`)."""
    levels = np.asarray(node.weights["levels"], dtype=np.float64)
    return (float(levels.min()), float(levels.max())), []


ACTIVATION_TABLE: dict[str, ActivationRule] = {
    "linear": ActivationRule(_linear_interval),
    "steps": ActivationRule(_steps_interval),  # typed by `_Assigner.steps` (exact reachable levels)
    "relu": ActivationRule(_relu_interval),
    "clip": ActivationRule(_clip_interval, param=True),
    "leaky_relu": ActivationRule(_leaky_relu_interval, param=True),
    "hard_sigmoid": ActivationRule(_hard_sigmoid_interval, param=True),
    "elu": ActivationRule(_elu_interval, table=_recipe("elu", lambda node, x_t, n: tables.elu_spec(x_t, n, node.op.alpha))),
    "sigmoid": ActivationRule(_constant_interval(0.0, 1.0),
                              table=_recipe("sigmoid", lambda node, x_t, n: tables.sigmoid_spec(x_t, n))),
    "tanh": ActivationRule(_constant_interval(-1.0, 1.0),
                           table=_recipe("tanh", lambda node, x_t, n: tables.tanh_spec(x_t, n))),
    "prelu": ActivationRule(_prelu_interval, slopes=True),
    "thresholded_relu": ActivationRule(_thresholded_interval, param=True),
    "hard_swish": ActivationRule(_hard_swish_interval, param=True),
    "selu": ActivationRule(_selu_interval, param=True, table=_selu_recipe),
    "celu": ActivationRule(_table_interval("celu"),
                           table=_recipe("celu", lambda node, x_t, n: tables.celu_spec(x_t, n, node.op.alpha))),
    "softsign": ActivationRule(_table_interval("softsign"),
                               table=_recipe("softsign", lambda node, x_t, n: tables.softsign_spec(x_t, n))),
    **{fn: ActivationRule(_table_interval(fn), residual=True,
                          table=_recipe(None, lambda node, x_t, n: tables.residual_spec(node.op.function, x_t, n)))
       for fn in tables.RESIDUAL},
}
"""Activation function (`ops.ACTIVATIONS`) -> its ActivationRule."""


def _product_interval(a: rules.Interval, b: rules.Interval) -> rules.Interval:
    prods = [x * y for x in a for y in b]
    return (min(prods), max(prods))


ELEMENTWISE_TABLE: dict[str, Callable[[rules.Interval, rules.Interval], rules.Interval]] = {
    "add": lambda a, b: (a[0] + b[0], a[1] + b[1]),
    "sub": lambda a, b: (a[0] - b[1], a[1] - b[0]),
    "mul": _product_interval,
    "max": lambda a, b: (max(a[0], b[0]), max(a[1], b[1])),
    "min": lambda a, b: (min(a[0], b[0]), min(a[1], b[1])),
}
"""Elementwise operation -> interval of a op b from the intervals of a and b."""

OP_TABLE: dict[type[ops.Op], Callable[[_Assigner, Node, object], None]] = {
    ops.Input: _Assigner.input,
    ops.Dense: _Assigner.linear,
    ops.Conv: _Assigner.linear,
    ops.ScaleShift: _Assigner.linear,
    ops.Reshape: _Assigner.wiring,
    ops.Transpose: _Assigner.wiring,
    ops.Pool: _Assigner.pool,
    ops.GlobalPool: _Assigner.pool,
    ops.Reduce: _Assigner.reduce,
    ops.Activation: _Assigner.activation,
    ops.Quant: _Assigner.quant,
    ops.Softmax: _Assigner.softmax,
    ops.Elementwise: _Assigner.elementwise,
    ops.Concat: _Assigner.concat,
    ops.Embedding: _Assigner.embedding,
    **{cls: _Assigner.structural for cls in ops.STRUCTURAL_OPS},
}
"""Op class -> rule(assigner, node, precision spec) setting node.precision (and node.tables)."""

NOT_APPLICABLE: dict[type[ops.Op], str] = {
    ops.BatchNorm: "folded into the neighbouring layers by fold_batchnorm before assign_precision",
}


def assign_types(graph: Graph, ctx: PassContext, widths: dict[str, dict[str, int]] | None = None) -> list[str]:
    """(Re)assign every node's types in place; returns notes. `widths` overrides per node widths."""
    assigner = _Assigner(graph, ctx, widths or {})
    if assigner.acts is None:
        ctx.warn("no calibration data: result types come from interval arithmetic; calibration data "
                 "gives tighter types")
    for node in graph.topological():
        assigner.assign(node)
    return assigner.notes


class AssignPrecision:
    name = "assign_precision"

    def run(self, graph: Graph, ctx: PassContext) -> PassResult:
        config = ctx.config
        nodes = list(graph.nodes.values())
        for key in config.precision_layers:
            if not any(key in (n.name, n.source_name) for n in nodes):
                ctx.warn(f"precision_layers names '{key}', which is no node of the graph; ignored")
        notes = assign_types(graph, ctx, graph.meta.get("precision_widths"))
        for node in graph.topological():
            notes.append(f"{node.name}: " + ", ".join(f"{k}={v}" for k, v in sorted(node.precision.items())))
        return PassResult(True, notes)
