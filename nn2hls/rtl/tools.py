"""Find the open-source RTL tools (Verilator, Icarus Verilog, yosys), each with an environment override.

Rule (as Amaranth's `require_tool`): `$NN2HLS_VERILATOR`, `$NN2HLS_IVERILOG` (its `vvp` is looked up
beside it, then on PATH) and `$NN2HLS_YOSYS` name the executable; otherwise the tool is looked up on
PATH. `$NN2HLS_RTLSIM` (verilator | iverilog) picks the simulator when the caller does not (Verilator
first otherwise: slower to build, much faster to run). An override that does not exist, or a tool missing altogether, raises BuildError with the
Debian/Ubuntu package to install.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from nn2hls.errors import BuildError

INSTALL = "apt-get install verilator iverilog yosys"


def _find(env: str, name: str, what: str, required: bool = True) -> str | None:
    value = os.environ.get(env, "").strip()
    if value:
        found = shutil.which(value)
        if found is None:
            raise BuildError(f"{what} '{value}' from ${env} was not found; fix ${env} or unset it")
        return found
    found = shutil.which(name)
    if found is None and required:
        raise BuildError(f"{what} ({name}) was not found on PATH: install it (Debian/Ubuntu: {INSTALL}) "
                         f"or set ${env} to its path")
    return found


def verilator() -> str | None:
    """The Verilator executable, or None when not installed (no override set)."""
    return _find("NN2HLS_VERILATOR", "verilator", "Verilator", required=bool(os.environ.get("NN2HLS_VERILATOR")))


def iverilog() -> tuple[str, str] | None:
    """(iverilog, vvp), or None when not installed (no override set)."""
    compiler = _find("NN2HLS_IVERILOG", "iverilog", "Icarus Verilog",
                     required=bool(os.environ.get("NN2HLS_IVERILOG")))
    if compiler is None:
        return None
    beside = Path(compiler).with_name("vvp")
    runner = str(beside) if beside.is_file() else shutil.which("vvp")
    if runner is None:
        raise BuildError(f"vvp (Icarus Verilog's runtime) was not found beside '{compiler}' or on PATH: install "
                         "iverilog (Debian/Ubuntu: apt-get install iverilog)")
    return compiler, runner


def simulator(prefer: str | None = None) -> tuple[str, list[str]]:
    """('verilator', [verilator]) or ('iverilog', [iverilog, vvp]): Verilator first unless `prefer`."""
    order = ["verilator", "iverilog"]
    prefer = prefer or os.environ.get("NN2HLS_RTLSIM", "").strip() or None
    if prefer:
        if prefer not in order:
            raise BuildError(f"unknown simulator {prefer!r} (--simulator or $NN2HLS_RTLSIM): use verilator or "
                             "iverilog")
        order = [prefer]
    for name in order:
        found = verilator() if name == "verilator" else iverilog()
        if found:
            return name, [found] if isinstance(found, str) else list(found)
    raise BuildError(f"no Verilog simulator found: install Verilator or Icarus Verilog (Debian/Ubuntu: {INSTALL}) "
                     "or set NN2HLS_VERILATOR / NN2HLS_IVERILOG to the executable")


def yosys() -> str:
    """The yosys executable (BuildError with the install hint when missing)."""
    return _find("NN2HLS_YOSYS", "yosys", "yosys")
