"""Index types of table lookups (Embedding): which fixed-point types may carry an index, and the
automatic type of an integer model input.

Rules:
- An index is an integer: its type has no fractional bits (F = W - I = 0: `ap_int<W>`, `ap_uint<W>`,
  `ap_fixed<W,W,...>`) and at most 32 bits (it becomes a C++ `int` in the generated code). Any other
  type is refused with the layer's name.
- The automatic type of an integer input read by tables of at most V rows is
  `ap_fixed<W,W,AP_TRN,AP_SAT>` with W = bitlen(V) + 1: signed, and its largest value 2^(W-1) - 1 >= V,
  so an index outside [0, V) stays outside after the input cast (values beyond the type saturate to
  its ends, -2^(W-1) or 2^(W-1) - 1 >= V) and reads a row of zeros; a fractional value is floored
  (AP_TRN), as `int()` of a non-negative value would.
"""
from __future__ import annotations

from nn2hls.errors import GraphError
from nn2hls.ir.types import FixedType

MAX_INDEX_WIDTH = 32


def index_type_problem(t: FixedType) -> str | None:
    """Why t cannot carry a table index, or None when it can."""
    if t.frac != 0:
        return f"{t} has {t.frac} fractional bits; an index type has none (ap_int<W>, ap_uint<W>, ap_fixed<W,W>)"
    if t.width > MAX_INDEX_WIDTH:
        return f"{t} is wider than {MAX_INDEX_WIDTH} bits"
    return None


def check_index_type(t: FixedType, what: str) -> None:
    """GraphError naming `what` when t cannot carry a table index."""
    problem = index_type_problem(t)
    if problem is not None:
        raise GraphError(f"{what}: the index type {problem}")


def auto_index_type(rows: int) -> FixedType:
    """ap_fixed<W,W,AP_TRN,AP_SAT>, W = bitlen(rows) + 1 (see the module docstring)."""
    width = max(int(rows), 1).bit_length() + 1
    return FixedType.fixed(width, width, True, "AP_TRN", "AP_SAT")


def index_readers(graph, input_name: str) -> tuple[list, list]:
    """(Embedding nodes, other nodes) reading the integer value `input_name`, looking through the
    wiring (Reshape, Transpose) between them."""
    from nn2hls.ir.ops import Embedding, Reshape, Transpose
    tables, others, todo = [], [], [input_name]
    while todo:
        name = todo.pop()
        for reader in graph.consumers(name):
            node = graph.nodes[reader]
            if isinstance(node.op, Embedding):
                tables.append(node)
            elif isinstance(node.op, (Reshape, Transpose)):
                todo.append(reader)
            else:
                others.append(node)
    return tables, others


def check_integer_inputs(graph, where: str) -> None:
    """UnsupportedOpError when an integer Input is read by anything but Embeddings (through wiring):
    integer values are indices only."""
    from nn2hls.errors import UnsupportedOpError
    for node in graph.inputs:
        if not node.op.integer:
            continue
        _, others = index_readers(graph, node.name)
        if others:
            reader = others[0]
            raise UnsupportedOpError(f"{where}: input '{node.source_name}' is an integer tensor read by "
                                     f"{reader.op.kind} node {reader.label()}; integer inputs are supported only "
                                     "as indices of an Embedding (Keras Embedding, a Gather from a constant table)")
