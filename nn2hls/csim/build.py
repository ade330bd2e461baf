"""Compile a generated project into a shared library for the batched C simulation, with a cache.

Rules:
- Flags: `-O2 -shared -fPIC -std=c++17 -fvisibility=hidden` (only the batch entry points, marked
  in csim/<name>_batch.cpp, are exported, so calls between layers bind directly, without the PLT);
  hls_lib's conversions are constexpr, so g++ constant-initializes the weight arrays instead of
  emitting a huge static constructor (the generated sources themselves stay C++11 for the HLS tools). Include path = the ap types folder only (the
  project's own headers are found relative to the sources).
- Cache key: SHA-256 of the compiler identity, the flags, the ap types headers' contents and every
  file under firmware/ and csim/; the library is `build/lib<name>_<headers8>_<key16>.so` (one kept
  per header set), so an unchanged project is never recompiled and a changed one never reuses a
  stale library.
- Translation units: the sources are bundled into unity files (`build/unit<k>.cpp` including them);
  a large project (more source bytes than SPLIT_BYTES) is split into two bundles balanced by size and
  compiled in parallel (2 jobs), then linked. A small one is a single g++ invocation.
- A compiler failure raises BuildError quoting the first error lines and naming the full log,
  build/build.log, or for a project under the system temp folder (which `check` deletes) a copy
  `nn2hls_build_*.log` there that nothing deletes: the named file exists after the error; a library is written to a temporary name and renamed only when complete.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from nn2hls.csim.toolchain import ap_types_dir, compiler_identity, find_compiler
from nn2hls.errors import BuildError

FLAGS = ("-O2", "-std=c++17", "-fPIC", "-fvisibility=hidden")
SPLIT_BYTES = 600_000
MANIFEST = "nn2hls_project.json"


def read_manifest(project: Path) -> dict:
    path = project / MANIFEST
    if not path.is_file():
        raise BuildError(f"'{project}' is not an nn2hls project ({MANIFEST} missing); run nn2hls convert first")
    manifest = json.loads(path.read_text())
    if manifest.get("backend") == "verilog":
        raise BuildError(f"'{project}' is a Verilog project (no C++ to simulate): run `nn2hls rtlsim {project} "
                         "--input X.npy --output Y.npy`, or convert with --backend vivado for a C simulation")
    return manifest


def _tree_files(root: Path, patterns: tuple[str, ...]) -> list[Path]:
    files: set[Path] = set()
    for pattern in patterns:
        files.update(p for p in root.rglob(pattern) if p.is_file())
    return sorted(files)


def header_set_key(ap_dir: Path) -> str:
    """Hash of the ap types headers (names and contents)."""
    h = hashlib.sha256()
    for path in _tree_files(ap_dir, ("*.h", "*.hpp", "*.def")):
        h.update(str(path.relative_to(ap_dir)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def cache_key(project: Path, cxx: list[str], headers_key: str) -> str:
    h = hashlib.sha256()
    h.update(compiler_identity(tuple(cxx)).encode())
    h.update(" ".join(FLAGS).encode())
    h.update(headers_key.encode())
    for sub in ("firmware", "csim"):
        for path in _tree_files(project / sub, ("*",)):
            h.update(str(path.relative_to(project)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _bundles(project: Path, sources: list[str]) -> list[list[str]]:
    sizes = {s: (project / s).stat().st_size for s in sources}
    if sum(sizes.values()) <= SPLIT_BYTES or len(sources) < 2:
        return [sources]
    groups: list[list[str]] = [[], []]
    load = [0, 0]
    for s in sorted(sources, key=lambda s: (-sizes[s], s)):
        k = 0 if load[0] <= load[1] else 1
        groups[k].append(s)
        load[k] += sizes[s]
    return [sorted(g) for g in groups if g]


def _error_summary(log: str, limit: int = 6) -> str:
    lines = [l.strip() for l in log.splitlines() if "error" in l.lower()]
    return " | ".join((lines or [l.strip() for l in log.splitlines() if l.strip()])[:limit])


def _run_all(commands: list[list[str]], cwd: Path, log_path: Path, what: str) -> None:
    procs = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for c in commands]
    outputs = [p.communicate()[0] for p in procs]
    failed = [(c, o) for c, p, o in zip(commands, procs, outputs) if p.returncode != 0]
    if failed:
        log = "\n".join(f"$ {' '.join(c)}\n{o}" for c, o in failed)
        log_path.write_text(log)
        kept = _lasting_log(log_path, log)
        raise BuildError(f"C++ compilation of {what} failed (full log: {kept}): {_error_summary(log)}")


def _lasting_log(log_path: Path, log: str) -> Path:
    """`log_path`, or a copy that outlives a temporary project (`nn2hls check` builds in a temporary
    folder deleted when the command ends): a project under the system temp folder gets its log copied
    to `<tmp>/nn2hls_build_*.log`, which nn2hls never deletes, so the path in the error still exists."""
    tmp = Path(tempfile.gettempdir()).resolve()
    if tmp not in log_path.resolve().parents:
        return log_path
    fd, name = tempfile.mkstemp(prefix="nn2hls_build_", suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(log)
    return Path(name)


def build_library(project: Path, ap_types=None) -> tuple[Path, bool, float]:
    """Build (or reuse) the project's shared library; return (path, was_cached, seconds)."""
    start = time.perf_counter()
    project = Path(project)
    manifest = read_manifest(project)
    name = manifest["project"]
    cxx = find_compiler()
    ap_dir = ap_types_dir(ap_types).resolve()
    headers = header_set_key(ap_dir)
    key = cache_key(project, cxx, headers)[:16]
    build_dir = project / "build"
    prefix = f"lib{name}_{headers[:8]}_"  # one library kept per header set
    lib = build_dir / f"{prefix}{key}.so"
    if lib.is_file():
        return lib, True, time.perf_counter() - start
    build_dir.mkdir(exist_ok=True)
    sources = manifest["sources"]
    for s in sources:
        if not (project / s).is_file():
            raise BuildError(f"project '{project}' is incomplete: {s} is missing; regenerate it")
    bundles = _bundles(project, sources)
    include = ["-I", str(ap_dir)]
    log_path = build_dir / "build.log"
    tmp = build_dir / f".{lib.name}.{os.getpid()}.tmp"
    units = []
    for k, group in enumerate(bundles):
        unit = build_dir / f"unit{k}.cpp"
        unit.write_text("".join(f'#include "../{s}"\n' for s in group))
        units.append(unit.name)
    if len(units) == 1:
        _run_all([[*cxx, *FLAGS, "-shared", *include, "-o", tmp.name, units[0]]], build_dir, log_path, name)
    else:
        objects = [u.replace(".cpp", ".o") for u in units]
        _run_all([[*cxx, *FLAGS, *include, "-c", "-o", o, u] for u, o in zip(units, objects)],
                 build_dir, log_path, name)
        _run_all([[*cxx, "-shared", "-o", tmp.name, *objects]], build_dir, log_path, f"{name} (link)")
    os.replace(tmp, lib)
    for stale in build_dir.glob(f"{prefix}*.so"):
        if stale != lib:
            stale.unlink(missing_ok=True)
    return lib, False, time.perf_counter() - start
