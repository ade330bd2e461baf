"""Dense and Conv as multiplier-free adder graphs (`strategy: distributed_arithmetic`, docs/verilog.md).

The layer's raw integer kernel (n_in x n_out; a Conv's taps x channels x filters flattened to rows) is
turned once into an adder graph by `nn2hls.ir.cmvm` (CSD digits, common subexpressions across the
outputs, shallowest-first adder trees). The graph is evaluated on the layer's input signals with
`Body.add`: a shift is a relabelling of the fractional bits (x at frac f, shifted left by k, is the
same wire at frac f - k), so every adder is exact at its proven width exactly as in the multiplier
path. Input x_i enters at frac ``fx + fw`` (the raw weight's scale folded in), so the graph's output
is the exact sum ``sum_i x_i * w_i`` the multiplier path builds; bias, accumulator and result casts
are then the same `affine` (docs/semantics.md), hence bit-exact with the emulator. A Conv position
evaluates the graph with the padding taps absent (an adder with one absent operand is a wire).
The counts (`Body.adders`) and the deepest output (`Body.da_depth`) are the layer's report.
"""
from __future__ import annotations


from nn2hls.backends.verilog.layers import affine, raw_bias, raw_kernel, windows
from nn2hls.backends.verilog.netlist import Body, Sig
from nn2hls.ir import cmvm, ops
from nn2hls.ir.graph import Node

STRATEGY = "distributed_arithmetic"


def _shifted(s: Sig, k: int) -> Sig:
    return Sig(s.name, s.width, s.frac - k, s.lo, s.hi)


def _outputs(body: Body, node: Node, plan: cmvm.Plan, row: list[Sig | None], w_frac: int,
             bias: list[int], bias_frac: int) -> list[Sig]:
    """The plan on one input row (None: an absent input), then bias and the casts of every output."""
    depth: dict[str, int] = {}

    def add(a: Sig, ka: int, b: Sig, kb: int, sub: bool) -> Sig:
        s = body.add(_shifted(a, ka), _shifted(b, kb), subtract=sub)
        depth[s.name] = max(depth.get(a.name, 0), depth.get(b.name, 0)) + 1
        return s

    inputs = [None if x is None else Sig(x.name, x.width, x.frac + w_frac, x.lo, x.hi) for x in row]
    out = []
    for o, value in enumerate(cmvm.evaluate(plan, inputs, add)):
        terms = [] if value is None else [(_shifted(value[0], value[1]), value[2] < 0)]
        if value is not None:
            body.da_depth = max(body.da_depth, depth.get(value[0].name, 0))
        out.append(affine(body, node, terms, bias[o], bias_frac))
    return out


def build_dense_da(body: Body, node: Node, ins: list[list[Sig]], shapes) -> list[Sig]:
    (x,) = ins
    kernel, tw = raw_kernel(node)
    n_in, n_out = kernel.shape
    plan = cmvm.plan_for(kernel)
    bias, bias_frac = raw_bias(node, n_out)
    out = []
    for p in range(len(x) // n_in):
        out += _outputs(body, node, plan, x[p * n_in:(p + 1) * n_in], tw.frac, bias, bias_frac)
    return out


def build_conv_da(body: Body, node: Node, ins: list[list[Sig]], shapes) -> list[Sig]:
    (x,) = ins
    op: ops.Conv = node.op
    kernel, tw = raw_kernel(node)
    channels, filters = kernel.shape[-2:]
    plan = cmvm.plan_for(kernel.reshape(-1, filters))
    bias, bias_frac = raw_bias(node, filters)
    out = []
    for taps in windows(shapes[0], node.shape, op.kernel_size, op.strides, op.dilations, op.pads):
        row = [None if base is None else x[base + c] for base in taps for c in range(channels)]
        out += _outputs(body, node, plan, row, tw.frac, bias, bias_frac)
    return out


BUILDERS = {ops.Dense: build_dense_da, ops.Conv: build_conv_da}
