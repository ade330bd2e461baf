"""C simulation of generated projects: g++ shared library (cached by content hash) + ctypes runner.

Public API: `build(project_dir, *, ap_types=None) -> Simulator`; `Simulator.predict(x)`.
"""
from __future__ import annotations

from pathlib import Path

from nn2hls.csim.build import build_library, read_manifest
from nn2hls.csim.runner import Simulator


def build(project_dir, *, ap_types=None) -> Simulator:
    """Compile (or reuse) the project's C simulation and load it."""
    project = Path(project_dir)
    lib, cached, seconds = build_library(project, ap_types)
    return Simulator(lib, read_manifest(project), cached=cached, build_seconds=seconds)


__all__ = ["Simulator", "build"]
