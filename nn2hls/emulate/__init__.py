"""Bit-accurate numpy emulator of a typed graph (docs/semantics.md): `emulate(graph, x)`."""
from nn2hls.emulate.runner import EmulationResult, emulate

__all__ = ["emulate", "EmulationResult"]
