"""Regenerate the tables of bench/RESULTS.md with one command.

Rule: RESULTS.md marks every generated region as
    <!-- begin generated: NAME -->
    ...
    <!-- end generated: NAME -->
(NAME: lowercase words joined by '_'). `REGISTRY` maps each NAME to the bench command (argv, run from
the repository root with this Python) whose standard output, with `--markdown`, is exactly that region's
new text: its Markdown tables (figures go to files the command names). Regenerating a section runs its
command and replaces only the text between its two markers; everything outside markers (headings,
narrative, provenance lines) is left as written. A command that fails leaves its region unchanged and
makes the run exit 1; a section whose tool is not installed (`requires`: Python modules or programs) is
skipped with a message.

Usage:
    python bench/regenerate.py                   # every registered section
    python bench/regenerate.py --only NAME ...   # these sections
    python bench/regenerate.py --list            # NAME, requirements and command of each section
    python bench/regenerate.py --check           # registered-but-unmarked / marked-but-unregistered
    python bench/regenerate.py --dry-run         # run, print the new regions, write nothing
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
NAME = r"[a-z0-9]+(?:_[a-z0-9]+)*"
BEGIN = "<!-- begin generated: {name} -->"
END = "<!-- end generated: {name} -->"
_MARKER = re.compile(rf"^<!-- (begin|end) generated: ({NAME}) -->[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Section:
    """One generated region: `command` (argv after `python`, relative to the repository root) prints the
    region's text with `--markdown`; `requires` names Python modules ("module:NAME") and programs
    ("program:NAME") it needs; `minutes`: a rough run time on the 2-core machine, for --list."""

    command: tuple[str, ...]
    requires: tuple[str, ...] = ()
    minutes: float = 1.0
    note: str = ""
    figures: tuple[str, ...] = field(default_factory=tuple)


REGISTRY: dict[str, Section] = {
    "emulator": Section(("bench/emulator.py", "--markdown"), ("module:onnxruntime",), 2),
    "float_executor": Section(("bench/float_executor.py", "--markdown"), (), 0.5),
    "fixed_point": Section(("bench/fixed_point.py", "--markdown"), ("program:g++",), 1,
                           note="vendor-header column needs $NN2HLS_AP_TYPES (n/a without it)"),
    "csim": Section(("bench/csim.py", "--quick", "--markdown"), ("program:g++", "module:onnxruntime"), 5),
    "compress_seed": Section(("bench/compress_seed.py", "--seeds", "3", "--markdown"),
                             ("module:torch", "module:sklearn", "program:g++"), 4,
                             figures=("bench/compress/",)),
    "explore": Section(("bench/explore.py", "--markdown"), ("module:ray", "program:g++"), 4,
                       figures=("docs/figures/explore_jet_mlp_pareto.png",)),
    "explore_compress": Section(("bench/explore_compress.py", "--markdown"), ("module:ray", "module:torch"), 5),
    "compress_jet_l1": Section(("bench/compress_jet.py", "--seeds", "3", "--variants", "l1,l1+qat8", "--out",
                                "bench/compress_jet/l1", "--markdown"),
                               ("module:torch", "module:sklearn", "program:g++"), 20,
                               figures=("bench/compress_jet/l1/",)),
    "compress_jet_lp": Section(("bench/compress_jet.py", "--seeds", "3", "--variants", "lp,lp+obd,lp+energy", "--out",
                                "bench/compress_jet/lp", "--markdown"),
                               ("module:torch", "module:sklearn", "program:g++"), 20,
                               figures=("bench/compress_jet/lp/",)),
    "compress_digits_cnn": Section(("bench/compress_digits_cnn.py", "--seeds", "3", "--markdown"),
                                   ("module:torch", "module:sklearn", "program:g++"), 15,
                                   figures=("bench/compress_digits_cnn/",)),
    "compress_digits_cnn_seeds": Section(("bench/compress_digits_cnn_seeds.py", "--seeds", "6", "--markdown"),
                                         ("module:torch", "module:sklearn"), 8),
    "verilog_synth": Section(("bench/verilog_synth.py", "--layers", "n_0_0_6_Gemm,n_0_0_4_Gemm", "--thresholds",
                              "0.05,0.1", "--check", "100", "--markdown"),
                             ("program:yosys", "program:iverilog"), 25),
    "iostream": Section(("bench/iostream.py", "--markdown"), ("program:g++",), 4,
                        note="vendor-header column needs $NN2HLS_AP_TYPES ('not run' without it)"),
    "distributed_arithmetic": Section(("bench/da_bench.py", "--markdown"),
                                      ("module:da4ml", "program:yosys", "program:iverilog"), 25,
                                      note="da4ml is the `bench` extra (pip install da4ml==0.6.0)"),
}


class MarkerError(ValueError):
    """RESULTS.md's markers are malformed (unpaired, nested, or a name used twice)."""


def find_regions(text: str) -> dict[str, tuple[int, int]]:
    """NAME -> (start, end) character offsets of the text strictly between its begin line and its end
    marker (the begin line's newline excluded from the region, the end marker's line start included).
    Raises MarkerError for an end without its begin, a begin without its end, nesting or duplicates."""
    regions: dict[str, tuple[int, int]] = {}
    open_name, open_at = None, 0
    for match in _MARKER.finditer(text):
        kind, name = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if kind == "begin":
            if open_name is not None:
                raise MarkerError(f"line {line}: 'begin generated: {name}' inside the open region '{open_name}'")
            if name in regions:
                raise MarkerError(f"line {line}: region '{name}' is marked twice")
            newline = text.find("\n", match.end())
            open_name, open_at = name, (len(text) if newline < 0 else newline + 1)
        else:
            if open_name != name:
                raise MarkerError(f"line {line}: 'end generated: {name}' without its begin marker"
                                  + (f" (open region: '{open_name}')" if open_name else ""))
            regions[name] = (open_at, match.start())
            open_name = None
    if open_name is not None:
        raise MarkerError(f"region '{open_name}' has no 'end generated: {open_name}' marker")
    return regions


def replace_region(text: str, name: str, body: str) -> str:
    """`text` with the region NAME's content replaced by `body` (a final newline added when missing).
    Raises KeyError when NAME is not marked."""
    regions = find_regions(text)
    if name not in regions:
        raise KeyError(name)
    start, end = regions[name]
    body = body.strip("\n") + "\n" if body.strip() else ""
    return text[:start] + body + text[end:]


def check(text: str, registry: Iterable[str]) -> tuple[list[str], list[str]]:
    """(registered but not marked, marked but not registered), each sorted."""
    marked, registered = set(find_regions(text)), set(registry)
    return sorted(registered - marked), sorted(marked - registered)


# the pip extra of pyproject.toml that installs a bench's Python module (`pip install -e ".[EXTRA]"`)
MODULE_EXTRAS = {"torch": "compress", "sklearn": "compress", "ray": "explore",
                 "da4ml": "bench"}


def missing_requirements(section: Section) -> list[str]:
    """The requirements of `section` not available here (a module with the extra that installs it)."""
    missing = []
    for req in section.requires:
        kind, _, what = req.partition(":")
        if kind == "module" and importlib.util.find_spec(what) is None:
            extra = MODULE_EXTRAS.get(what)
            missing.append(f"Python module {what}" + (f" (the '{extra}' extra)" if extra else ""))
        elif kind == "program" and shutil.which(what) is None:
            missing.append(f"program {what}")
    return missing


Runner = Callable[[str, Section], "tuple[int, str, str]"]


def run_command(name: str, section: Section) -> tuple[int, str, str]:
    """Run the section's command from the repository root; (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, *section.command], cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def regenerate(path: Path, names: Iterable[str], registry: dict[str, Section], runner: Runner = run_command,
               write: bool = True, log: Callable[[str], None] = print) -> int:
    """Run each named section's command and replace its region in `path`; returns the number of
    sections that failed (skipped sections do not count). The file is rewritten after every section, so
    an interrupted run keeps what finished."""
    failures = 0
    for name in names:
        section = registry[name]
        text = path.read_text()
        if name not in find_regions(text):
            log(f"{name}: no '<!-- begin generated: {name} -->' region in {path.name}; skipped")
            failures += 1
            continue
        missing = missing_requirements(section)
        if missing:
            log(f"{name}: skipped, needs {', '.join(missing)}")
            continue
        log(f"{name}: python {' '.join(section.command)} (~{section.minutes:g} min)")
        start = time.perf_counter()
        code, out, err = runner(name, section)
        if code != 0 or not out.strip():
            tail = "\n".join(err.strip().splitlines()[-5:])
            log(f"{name}: FAILED (exit {code}{', no output' if not out.strip() else ''}); region left unchanged\n{tail}")
            failures += 1
            continue
        new = replace_region(text, name, out)
        if write:
            path.write_text(new)
        else:
            log(out)
        log(f"{name}: done in {time.perf_counter() - start:.0f} s")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="regenerate only these sections")
    ap.add_argument("--list", action="store_true", help="list the registered sections and exit")
    ap.add_argument("--check", action="store_true", help="compare the registry with the markers and exit")
    ap.add_argument("--dry-run", action="store_true", help="print the new regions instead of writing them")
    ap.add_argument("--results", default=str(RESULTS), help="the Markdown file (default bench/RESULTS.md)")
    args = ap.parse_args(argv)
    path = Path(args.results)
    if args.list:
        for name, s in REGISTRY.items():
            missing = missing_requirements(s)
            status = f"  [not runnable here: needs {', '.join(missing)}]" if missing else ""
            print(f"{name}: python {' '.join(s.command)}  (~{s.minutes:g} min){status}")
            if s.note:
                print(f"    note: {s.note}")
        return 0
    try:
        text = path.read_text()
        if args.check:
            unmarked, unregistered = check(text, REGISTRY)
            for name in unmarked:
                print(f"registered but not marked in {path.name}: {name}")
            for name in unregistered:
                print(f"marked in {path.name} but not registered: {name}")
            if not unmarked and not unregistered:
                print(f"{len(REGISTRY)} sections registered, all marked; no unregistered marker")
            return 1 if unmarked or unregistered else 0
        names = args.only or list(REGISTRY)
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            print(f"error: unknown section(s) {', '.join(unknown)}; registered: {', '.join(REGISTRY)}",
                  file=sys.stderr)
            return 2
        return 1 if regenerate(path, names, REGISTRY, write=not args.dry_run) else 0
    except MarkerError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
