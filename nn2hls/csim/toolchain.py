"""Find the C++ compiler and the ap types headers for the C simulation.

Rule: the compiler is `$NN2HLS_CXX`, else `$CXX`, else the first of g++, c++, clang++ on PATH; a
missing one raises BuildError saying what to install or set. The ap types headers are the `ap_types`
argument, else `$NN2HLS_AP_TYPES` (e.g. the vendor headers), else nn2hls's own hls_lib; the folder
must contain ap_fixed.h.
"""
from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from nn2hls.errors import BuildError
from nn2hls.resources import hls_lib_dir


def find_compiler() -> list[str]:
    """The compiler command (a list: `$CXX` may carry arguments)."""
    for var in ("NN2HLS_CXX", "CXX"):
        value = os.environ.get(var, "").strip()
        if value:
            cmd = shlex.split(value)
            if shutil.which(cmd[0]) is None:
                raise BuildError(f"C++ compiler '{cmd[0]}' from ${var} was not found; fix ${var} or unset it")
            return cmd
    for name in ("g++", "c++", "clang++"):
        if shutil.which(name):
            return [name]
    raise BuildError("no C++ compiler found for the C simulation: install g++ (e.g. apt-get install g++) "
                     "or set NN2HLS_CXX to the compiler's path")


@functools.lru_cache(maxsize=8)
def compiler_identity(cmd: tuple[str, ...]) -> str:
    """The compiler's resolved path and `--version` banner (part of the build cache key)."""
    try:
        banner = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=60).stdout
    except OSError as exc:
        raise BuildError(f"cannot run C++ compiler '{cmd[0]}': {exc}; set NN2HLS_CXX to a working compiler")
    return f"{shutil.which(cmd[0])}\n{banner.splitlines()[0] if banner else ''}"


def ap_types_dir(ap_types: str | os.PathLike | None = None) -> Path:
    """The folder holding ap_fixed.h used by the C simulation."""
    chosen = ap_types or os.environ.get("NN2HLS_AP_TYPES") or None
    path = Path(chosen) if chosen else hls_lib_dir()
    if not (path / "ap_fixed.h").is_file():
        where = "--ap-types/ap_types" if ap_types else "NN2HLS_AP_TYPES" if chosen else "hls_lib"
        raise BuildError(f"ap types folder '{path}' (from {where}) has no ap_fixed.h; point it at the folder "
                         "containing ap_fixed.h and ap_int.h")
    return path
