"""Verilog backend: typed IR graph -> synthesizable Verilog-2001 project (io_parallel, latency).

Public API: `write_project(graph, config, out_dir) -> Path`, `build_layers(graph, config) -> dict`.
"""
from nn2hls.backends.verilog.project import MANIFEST, build_layers, write_project

__all__ = ["MANIFEST", "build_layers", "write_project"]
