"""Simulate a Verilog project's RTL on a batch of samples (Verilator, or Icarus Verilog as a fallback).

Rules:
- The samples are assigned to each input's type exactly as the emulator does (`emulate.arith.
  quantize_input`, the Vivado assignment of a double); their raw bits go to `rtl_in.hex`, which the
  project's testbench (`tb/<project>_tb.v`) streams into the top module at one sample per clock cycle;
  it writes every output element's raw bits, which are read back as the output types' values.
- Build: `verilator --binary` (C++ model, then run), else `iverilog -g2005` + `vvp`. The build goes to
  `<project>/rtlsim_build/<simulator>_<key>/`, key = SHA-256 of the simulator's path and every RTL
  file, so an unchanged project is never rebuilt. A failing tool raises BuildError quoting its first
  error lines and naming the full log.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nn2hls.emulate.arith import quantize_input, to_int
from nn2hls.errors import BuildError, ModelLoadError
from nn2hls.ir import feeds, fixed
from nn2hls.ir.types import FixedType
from nn2hls.rtl import tools

BUILD_DIR = "rtlsim_build"


def read_manifest(project: Path) -> dict:
    path = Path(project) / "nn2hls_project.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ModelLoadError(f"'{project}' has no readable nn2hls_project.json; convert the model again") from None
    if manifest.get("backend") != "verilog":
        raise ModelLoadError(f"'{project}' is not a Verilog project (backend {manifest.get('backend')!r}); "
                             "convert the model with --backend verilog")
    return manifest


def _run(cmd: list[str], cwd: Path, log: Path, what: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    except OSError as exc:
        raise BuildError(f"cannot run {cmd[0]}: {exc}") from None
    log.write_text(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if "rror" in ln][:3]
        raise BuildError(f"{what} failed (exit {proc.returncode}): {' | '.join(lines) or 'see the log'}; "
                         f"full log: {log}")


def _bus(codes: list[int], width: int) -> int:
    """Element k's `width`-bit code at bits [k*width +: width] of one integer (the port's bus)."""
    word = 0
    for k, code in enumerate(codes):
        word |= int(code) << (k * width)
    return word


@dataclass
class RtlSimulator:
    """A built RTL simulation of one project: `run(x)` returns the outputs (float64, per output)."""

    project: Path
    manifest: dict
    kind: str
    command: list[str]
    folder: Path
    build_s: float = 0.0
    graph: Any = None  # the typed graph (read from the project when None)

    def run(self, x) -> list[np.ndarray]:
        from nn2hls.project_io import load_graph

        graph = self.graph if self.graph is not None else load_graph(self.project)
        specs = feeds.specs(graph)
        parts = feeds.split(specs, x, "input data")
        n = int(np.asarray(parts[0]).shape[0])
        lines = [str(n)]
        columns = []
        for inp, data in zip(graph.inputs, parts):
            t = inp.precision["result"]
            raw = to_int(quantize_input(np.asarray(data, dtype=np.float64).reshape(n, -1), t, None), t)
            columns.append(fixed.to_bits(raw, t))
        widths = [inp.precision["result"].width for inp in graph.inputs]
        for s in range(n):
            lines.extend(f"{_bus(col[s].tolist(), w):x}" for col, w in zip(columns, widths))
        (self.folder / "rtl_in.hex").write_text("\n".join(lines) + "\n")
        out_file = self.folder / "rtl_out.hex"
        if out_file.exists():
            out_file.unlink()
        _run(self.command, self.folder, self.folder / "run.log", f"RTL simulation ({self.kind})")
        try:
            words = out_file.read_text().split()
            codes = [int(w, 16) for w in words]
        except (OSError, ValueError):
            raise BuildError(f"RTL simulation wrote no readable outputs (x or z bits?); see {self.folder}") from None
        ports = self.manifest["outputs"]
        if len(codes) != n * len(ports):
            raise BuildError(f"RTL simulation wrote {len(codes)} words, expected {n * len(ports)}; see {self.folder}")
        outputs = []
        for k, o in enumerate(ports):
            t = FixedType.parse(o["type"])
            mask = (1 << o["width"]) - 1
            table = np.array([[(word >> (e * o["width"])) & mask for e in range(o["count"])]
                              for word in codes[k::len(ports)]], dtype=object).reshape(n, o["count"])
            raw = fixed.from_bits(table, t)
            outputs.append(fixed.to_float(raw, t).reshape((n, *o["shape"])))
        return outputs


def build(project, simulator: str | None = None, graph: Any = None) -> RtlSimulator:
    """Build (or reuse) the RTL simulation of a Verilog project (`graph`: its typed graph, if at hand)."""
    project = Path(project)
    manifest = read_manifest(project)
    kind, exe = tools.simulator(simulator)
    files = [*manifest["sources"], manifest["testbench"]]
    digest = hashlib.sha256("\n".join(exe).encode())
    for rel in files:
        path = project / rel
        if not path.is_file():
            raise ModelLoadError(f"'{project}' is missing {rel}; convert the model again")
        digest.update(rel.encode() + b"\0" + path.read_bytes())
    folder = project / BUILD_DIR / f"{kind}_{digest.hexdigest()[:16]}"
    top = f"{manifest['top']}_tb"
    sources = [str((project / rel).resolve()) for rel in files]
    start = time.perf_counter()
    if kind == "verilator":
        binary = folder / "obj" / "sim"
        if not binary.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            _run([exe[0], "--binary", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", top,
                  "-Mdir", "obj", "-o", "sim", "-CFLAGS", "-O1", *sources], folder, folder / "build.log",
                 "Verilator build")
        command = [str(binary.resolve())]  # run with cwd=folder: a relative path would not resolve
    else:
        image = folder / "sim.vvp"
        if not image.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            _run([exe[0], "-g2005", "-s", top, "-o", "sim.vvp", *sources], folder, folder / "build.log",
                 "iverilog build")
        command = [exe[1], "-n", "sim.vvp"]
    return RtlSimulator(project, manifest, kind, command, folder, time.perf_counter() - start, graph)
