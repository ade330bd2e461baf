"""The fixed-point types a typed node carries per role (`weight`, `bias`, `accum`, `result`, `table`, ...).

Rule: precision assignment (`nn2hls.passes`) stores one `FixedType` per role in `Node.precision`;
every consumer (the emulator, the Verilog backend) reads them here, and a missing role is a
GraphError naming the node and saying to run precision assignment first.
"""
from __future__ import annotations

from nn2hls.errors import GraphError
from nn2hls.ir.graph import Node
from nn2hls.ir.types import FixedType


def role_types(node: Node, *roles: str) -> list[FixedType]:
    """The node's types for `roles`, in order."""
    out = []
    for role in roles:
        if role not in node.precision:
            raise GraphError(f"node {node.label()} has no '{role}' type: run precision assignment first")
        out.append(node.precision[role])
    return out
