"""Vivado/Vitis HLS backend: typed IR graph -> HLS project folder (templates + hls_lib kernels).

Public API: `write_project(graph, config, out_dir, *, tb_input=None, tb_output=None) -> Path` and
`cpp_type(FixedType) -> str`.
"""
from nn2hls.backends.vivado.cpp import cpp_type
from nn2hls.backends.vivado.project import write_project

__all__ = ["cpp_type", "write_project"]
