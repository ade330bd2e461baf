"""Synthesizability lint: what the HLS tools would refuse or silently distort, found in clang's LLVM IR.

Rule (UG1399, "Unsupported C/C++ constructs", "Loops", "Arrays"): a synthesis path has no recursion
(tail recursion included), every loop has a trip count fixed at compile time, and the constant
arrays the backend emits for weights and indices are read only at addresses that are themselves
compile-time constants, so that HLS folds them into wiring and constants (a read at a varying address
is a ROM plus a multiplexer, or blocks the unrolling that was asked for).

How the project is read: its synthesis view, `firmware/*.cpp` in one translation unit compiled by
clang (14 or later) with `-O1 -D__SYNTHESIS__` against the ap types headers (the vendor's, via
`--ap-types` or `NN2HLS_AP_TYPES`, as C++11; they are included before `__SYNTHESIS__` is defined, because
the open-source vendor headers rely on the HLS compiler's built-ins in that mode; without them
nn2hls's own hls_lib headers, as C++17, which they need). `NN2HLS_LINT` is defined too: an
io_stream project's `hls::stream` read/write are then declared only (hls_lib/nn2hls_stream.h), the
FIFO ports they are in hardware, not the host model's std::deque. In a copy of the sources the HLS
pragmas that unroll are turned into clang's own: `#pragma HLS UNROLL` (no factor) becomes
`#pragma clang loop unroll(full)` on its loop, and when the top function itself is pipelined (UG1399
"Function Pipelining": every loop beneath is unrolled) so does every loop-level `#pragma HLS PIPELINE`.
Other loops stay rolled, as HLS keeps them. Inlining is unlimited (the kernels carry
`#pragma HLS INLINE`), tail calls are kept (`-fno-optimize-sibling-calls`: -O1 would otherwise turn
self-recursion into a loop).

Exact criteria, each a `Finding` with its kind:
- `recursion`: a cycle in the call graph of the IR (`call`/`invoke` of a defined function; a function
  calling itself included).
- `loop`: (1) clang reports a loop marked for full unrolling as not unrolled (its trip count is not a
  compile-time constant after -O1 folding); or (2) a loop left in the IR whose latch is in the
  project's own sources does not have the canonical constant form: the latch branch's condition is an
  `icmp` of the induction variable (or its increment by a constant) against an integer constant, and
  the induction variable is a `phi` starting at an integer constant. Loops of the ap types headers
  (their array constructors, wide-word helpers) are not the project's and are not checked.
- `array`: a `load` whose address is computed from a layer constant array (a global of a namespace
  `L_<layer>`, see templates/vivado/layer.cpp.j2) by an instruction, i.e. not by a constant
  expression: the address varies at run time, so the value survives constant folding. The activation
  lookup tables (`table`, `exp_table`, `inv_table`) are indexed by data by design (ROMs) and are
  exempt. The address, not the value, is checked: with the vendor headers clang cannot fold the
  ap_fixed arrays (their constructors run at start-up), while the HLS tools read the initializers. A
  layer array passed to a call that was not inlined is also reported (its reads cannot be checked).

`lint_project(path)` returns the findings (empty: clean); `nn2hls lint PROJECT` prints them (exit 1
when there are any).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import networkx as nx

from nn2hls.errors import BuildError

LOOKUP_TABLES = frozenset({"table", "exp_table", "inv_table"})
CLANG_NAMES = ("clang++-14", "clang++", "clang++-15", "clang++-16", "clang++-17", "clang++-18", "clang++-19")


@dataclass(frozen=True)
class Finding:
    kind: str       # recursion | loop | array
    where: str      # file:line or function names
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.message}"


def find_clang() -> str:
    """`$NN2HLS_CLANG`, else the first clang++ on PATH; BuildError naming what to install."""
    value = os.environ.get("NN2HLS_CLANG", "").strip()
    if value:
        if shutil.which(value) is None:
            raise BuildError(f"clang '{value}' from $NN2HLS_CLANG was not found; fix NN2HLS_CLANG or unset it")
        return value
    for name in CLANG_NAMES:
        if shutil.which(name):
            return name
    raise BuildError("the synthesizability lint needs clang++ (14 or later): install it "
                     "(e.g. apt-get install clang) or set NN2HLS_CLANG to its path")


# ---- the synthesis view ----------------------------------------------------------------------------
_UNROLL = re.compile(r"^\s*#pragma HLS UNROLL\s*$")
_LOOP_PIPELINE = re.compile(r"^\s*#pragma HLS PIPELINE\b")
_FOR = re.compile(r"\bfor\s*\(")


def _loop_line(lines: list[str], pragma: int) -> int | None:
    """The `for` line a pragma (the first statement of its loop body) belongs to, or None when the
    pragma is at function level (the nearest enclosing `{` line is not a `for`)."""
    j = pragma - 1
    while j >= 0 and not lines[j].rstrip().endswith("{"):
        j -= 1
    if j < 0:
        return None
    k = j
    while k >= 0 and not _FOR.search(lines[k]) and k >= j - 3:  # a for header split over lines
        k -= 1
    return k if k >= 0 and _FOR.search(lines[k]) else None


def top_is_pipelined(top_source: str) -> bool:
    """True when the top function carries a function-level `#pragma HLS PIPELINE`."""
    lines = top_source.splitlines()
    return any(_LOOP_PIPELINE.match(l) and _loop_line(lines, i) is None for i, l in enumerate(lines))


_INLINE = re.compile(r"^\s*#pragma HLS INLINE\s*$")
_DECL_END = re.compile(r"(;|\}|\{|>|\*/)\s*$|^\s*(#|//)|^\s*$|^\s*\w+:\s*$")


def _signature_start(lines: list[str], brace: int) -> int:
    """First line of the function declarator whose body opens on line `brace`."""
    j = brace
    while j > 0 and not _DECL_END.search(lines[j - 1]):
        j -= 1
    return j


def clang_view(source: str, unroll_pipelined: bool) -> str:
    """source as clang should see it to do what the HLS tools do (module doc): `#pragma clang loop
    unroll(full)` before every loop HLS unrolls, `__attribute__((always_inline))` on every function
    carrying `#pragma HLS INLINE`."""
    lines = source.split("\n")
    marks, inline = set(), set()
    for i, line in enumerate(lines):
        if _UNROLL.match(line) or (unroll_pipelined and _LOOP_PIPELINE.match(line)):
            loop = _loop_line(lines, i)
            if loop is not None:
                marks.add(loop)
        if _INLINE.match(line) and _loop_line(lines, i) is None:
            brace = i - 1
            while brace > 0 and not lines[brace].rstrip().endswith("{"):
                brace -= 1
            inline.add(_signature_start(lines, brace))
    out = []  # same lines as the source (findings cite the project's own line numbers)
    for i, line in enumerate(lines):
        if i in marks:
            body = line.lstrip()
            line = line[:len(line) - len(body)] + '_Pragma("clang loop unroll(full)") ' + body
        if i in inline:
            body = line.lstrip()
            line = line[:len(line) - len(body)] + "__attribute__((always_inline)) " + body
        out.append(line)
    return "\n".join(out)


def _manifest_name(project: Path) -> str:
    import json
    from nn2hls.backends.vivado.project import MANIFEST
    path = project / MANIFEST
    if not path.is_file():
        raise BuildError(f"'{project}' is not an nn2hls project (no {MANIFEST}); give a folder written by "
                         "nn2hls convert")
    return json.loads(path.read_text())["project"]


def cxx_standard(headers: Path) -> str:
    """clang's -std for the synthesis view: C++11 with the vendor headers (what the HLS tools accept),
    C++17 with nn2hls's own hls_lib ap types, which need it (the C simulation's standard)."""
    from nn2hls.resources import hls_lib_dir
    own = Path(headers).resolve() == Path(hls_lib_dir()).resolve()
    return "-std=c++17" if own else "-std=c++11"


def compile_ir(project: str | os.PathLike, ap_types: str | os.PathLike | None = None,
               work: str | os.PathLike | None = None) -> tuple[str, str, Path]:
    """(LLVM IR text, clang's stderr, the folder of the clang view) of a project's synthesis view."""
    from nn2hls.csim.toolchain import ap_types_dir
    project = Path(project)
    name = _manifest_name(project)
    headers = ap_types_dir(ap_types)
    clang = find_clang()
    work = Path(work) if work else Path(tempfile.mkdtemp(prefix="nn2hls-lint-"))
    top = (project / "firmware" / f"{name}.cpp").read_text()
    unroll_pipelined = top_is_pipelined(top)
    for src in sorted((project / "firmware").rglob("*")):
        if src.suffix in (".cpp", ".h") and src.is_file():
            dst = work / "firmware" / src.relative_to(project / "firmware")
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(clang_view(src.read_text(), unroll_pipelined))
    units = sorted(p.name for p in (work / "firmware").glob("*.cpp"))
    unit = work / "synthesis_view.cpp"
    unit.write_text('#define NN2HLS_LINT\n#include "ap_fixed.h"\n#include "ap_int.h"\n#define __SYNTHESIS__\n'
                    + "".join(f'#include "firmware/{u}"\n' for u in units))
    cmd = [clang, cxx_standard(headers), "-S", "-emit-llvm", "-O1", "-gline-tables-only", "-fno-optimize-sibling-calls",
           "-Wno-unknown-pragmas", "-mllvm", "-pragma-unroll-threshold=1000000000",
           "-I", str(headers), "-I", "firmware",
           unit.name, "-o", "synthesis_view.ll"]
    run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        errors = [line for line in lines if "error:" in line]
        raise BuildError(f"clang could not compile the synthesis view of '{project}': "
                         + (errors or lines or ["(no message)"])[0])
    return (work / "synthesis_view.ll").read_text(), run.stderr, work


# ---- reading the IR --------------------------------------------------------------------------------
_DEFINE = re.compile(r"^define [^@]*@([\w.$\"-]+)\(")
_CALL = re.compile(r"\b(?:call|invoke)\b[^@]*?@([\w.$-]+)\(")
_DEF = re.compile(r"^\s*(%[\w.$-]+) = (.*)$")
_VALUE = re.compile(r"%[\w.$-]+")
_GLOBAL = re.compile(r"@([\w.$-]+)")
_LAYER_ARRAY = re.compile(r"^_ZN12_GLOBAL__N_1(\d+)(L_\w+)$")


def functions(ir: str) -> dict[str, list[str]]:
    """Function name -> its body lines (defined functions only)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in ir.splitlines():
        m = _DEFINE.match(line)
        if m:
            current = m.group(1)
            out[current] = []
        elif line == "}":
            current = None
        elif current is not None:
            out[current].append(line)
    return out


def layer_array(symbol: str) -> tuple[str, str] | None:
    """(layer namespace, array name) of a mangled `(anonymous)::L_<layer>::<array>` global."""
    m = re.match(r"^_ZN12_GLOBAL__N_1(\d+)", symbol)
    if not m:
        return None
    rest = symbol[m.end(0) - len(m.group(1)):]
    parts = []
    while rest and rest[0].isdigit():
        n = re.match(r"\d+", rest).group(0)
        parts.append(rest[len(n):len(n) + int(n)])
        rest = rest[len(n) + int(n):]
        if rest.startswith("L"):
            rest = rest[1:]
    if len(parts) == 2 and parts[0].startswith("L_") and rest == "E":
        return parts[0][2:], parts[1]
    return None


class _Debug:
    """File and line of `!dbg` locations (metadata at the end of the IR)."""

    def __init__(self, ir: str) -> None:
        self.meta = dict(re.findall(r"^(![0-9]+) = (?:distinct )?(.*)$", ir, flags=re.M))

    def file_of(self, ref: str) -> str:
        f = re.search(r"\bfile: (![0-9]+)", self.meta.get(ref, ""))
        name = re.search(r'filename: "([^"]*)"', self.meta.get(f.group(1), "")) if f else None
        return name.group(1) if name else "?"

    def where(self, ref: str | None) -> tuple[str, int]:
        file, line = self._where(ref)
        return _relative(file), line

    def _where(self, ref: str | None) -> tuple[str, int]:
        """The location, or the first location of its inlinedAt chain in the project's firmware."""
        first = None
        seen = 0
        while ref and seen < 100:
            here = self._one(ref)
            first = first or here
            if _relative(here[0]).startswith("firmware/") or "/firmware/" in here[0]:
                return here
            inlined = re.search(r"inlinedAt: (![0-9]+)", self.meta.get(ref, ""))
            ref = inlined.group(1) if inlined else None
            seen += 1
        return first or ("?", 0)

    def _one(self, ref: str | None) -> tuple[str, int]:
        loc = self.meta.get(ref or "", "")
        line = re.search(r"line: (\d+)", loc)
        scope = re.search(r"scope: (![0-9]+)", loc)
        seen = 0
        while scope and seen < 50:
            text = self.meta.get(scope.group(1), "")
            f = re.search(r"\bfile: (![0-9]+)", text)
            if f:
                name = re.search(r'filename: "([^"]*)"', self.meta.get(f.group(1), ""))
                return (name.group(1) if name else "?"), int(line.group(1)) if line else 0
            scope = re.search(r"scope: (![0-9]+)", text)
            seen += 1
        return "?", int(line.group(1)) if line else 0


def _defined_in(ir: str) -> dict[str, str]:
    """Function name -> the source file of its definition (its DISubprogram)."""
    debug = _Debug(ir)
    out = {}
    for line in ir.splitlines():
        m = _DEFINE.match(line)
        if m:
            dbg = re.search(r"!dbg (![0-9]+) \{$", line)
            out[m.group(1)] = debug.file_of(dbg.group(1)) if dbg else "?"
    return out


def _relative(file: str) -> str:
    return file[2:] if file.startswith("./") else file


def recursion_findings(ir: str, own: Callable[[str], bool] = lambda f: True) -> list[Finding]:
    """Cycles of the call graph with a member defined in the project's own sources (the ap types
    headers' host-only helpers, e.g. ap_private's shifts calling each other for negative amounts, are
    replaced by the HLS tools' built-ins under __SYNTHESIS__ and are not the project's)."""
    files = _defined_in(ir)
    graph = nx.DiGraph()
    for name, body in functions(ir).items():
        graph.add_node(name)
        for line in body:
            for callee in _CALL.findall(line):
                graph.add_edge(name, callee)
    defined = set(functions(ir))
    out = []
    for component in nx.strongly_connected_components(graph):
        members = sorted(component & defined)
        if not any(own(files.get(m, "?")) for m in members):
            continue
        if len(component) > 1 or any(graph.has_edge(m, m) for m in members):
            if members:
                out.append(Finding("recursion", ", ".join(_demangle(m) for m in members),
                                   "recursive call (UG1399: recursive functions cannot be synthesized); "
                                   "rewrite it as a loop with a constant trip count or a template"))
    return out


def _demangle(symbol: str) -> str:
    tool = shutil.which("llvm-cxxfilt") or shutil.which("c++filt")
    if not tool:
        return symbol
    run = subprocess.run([tool, symbol], capture_output=True, text=True)
    return run.stdout.strip() or symbol


_NOT_UNROLLED = re.compile(r"^(.*?):(\d+):\d+: warning: loop not unrolled", re.M)


def unroll_findings(stderr: str, work: Path) -> list[Finding]:
    out = []
    for file, line in sorted(set(_NOT_UNROLLED.findall(stderr))):
        rel = _relative(os.path.relpath(file, work) if os.path.isabs(file) else file)
        out.append(Finding("loop", f"{rel}:{line}", "loop marked for full unrolling is not unrolled: its trip "
                           "count is not a compile-time constant; bound it by a constant"))
    return out


def _constant_latch(defs: dict[str, str], cond: str) -> bool:
    m = re.match(r"icmp \w+ i\d+ (\S+), (\S+)", defs.get(cond, ""))
    if not m:
        return False
    a, b = m.group(1), m.group(2)
    if re.fullmatch(r"-?\d+", a):
        a, b = b, a
    if not re.fullmatch(r"-?\d+", b) or not a.startswith("%"):
        return False
    d = defs.get(a, "")
    inc = re.match(r"add (?:nuw )?(?:nsw )?i\d+ (%[\w.$-]+), -?\d+$", d)
    phi = defs.get(inc.group(1), "") if inc else d
    start = re.match(r"phi i\d+ \[ (\S+), %[\w.$-]+ \], \[ (\S+), %[\w.$-]+ \]$", phi)
    if not start:
        return False
    return any(re.fullmatch(r"-?\d+", s) for s in start.groups())


def loop_findings(ir: str, own: Callable[[str], bool]) -> list[Finding]:
    debug = _Debug(ir)
    out = []
    for name, body in functions(ir).items():
        defs = {}
        for line in body:
            m = _DEF.match(line)
            if m:
                defs[m.group(1)] = m.group(2).split(", !dbg")[0].strip()
        for line in body:
            if "!llvm.loop" not in line or not line.strip().startswith("br "):
                continue
            dbg = re.search(r"!dbg (![0-9]+)", line)
            file, lineno = debug.where(dbg.group(1) if dbg else None)
            if not own(file):
                continue
            cond = re.match(r"\s*br i1 (%[\w.$-]+),", line)
            if cond and _constant_latch(defs, cond.group(1)):
                continue
            out.append(Finding("loop", f"{file}:{lineno}", "loop whose trip count is not a compile-time "
                               "constant (UG1399: variable-bound loops cannot be pipelined or unrolled)"))
    return sorted(set(out), key=str)


def _split_top(text: str) -> list[str]:
    """Split at the commas outside brackets, braces and parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _call_args(text: str, callee: str) -> list[str]:
    body = text.split(f"@{callee}(", 1)[1]
    depth = 1
    for i, ch in enumerate(body):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return _split_top(body[:i])
    return _split_top(body)


def _params(define_line: str) -> list[str]:
    inside = define_line.split("(", 1)[1].rsplit(")", 1)[0]
    return [(_VALUE.findall(p) or [""])[-1] for p in _split_top(inside)]


def array_findings(ir: str, own: Callable[[str], bool] = lambda f: True) -> list[Finding]:
    """Loads from layer arrays at run-time addresses (module doc), followed into calls left in the IR.

    Each pointer value gets a state per layer array it is computed from: 'const' (a constant address:
    the global, a constant expression, a getelementptr with constant indices from a 'const' pointer)
    or 'var' (any other computation); function parameters take the join of their call sites' states."""
    debug = _Debug(ir)
    bodies = functions(ir)
    params = {m.group(1): _params(line) for line in ir.splitlines() if (m := _DEFINE.match(line))}
    defs = {f: {m.group(1): m.group(2).split(", !dbg")[0] for line in body if (m := _DEF.match(line))}
            for f, body in bodies.items()}
    param_state: dict[tuple[str, str], dict[str, str]] = {}
    param_site: dict[tuple[str, str], tuple[str, int]] = {}  # where a run-time address entered a function

    def join(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
        out = dict(a)
        for k, v in b.items():
            out[k] = "var" if out.get(k, v) != v or v == "var" else v
        return out

    def operand_state(f: str, text: str, seen: frozenset) -> dict[str, str]:
        state = {g: "const" for g in _GLOBAL.findall(text) if _checked(g)}
        for v in _VALUE.findall(text):
            state = join(state, value_state(f, v, seen))
        return state

    def value_state(f: str, value: str, seen: frozenset) -> dict[str, str]:
        if value in seen:
            return {}
        seen = seen | {value}
        if (f, value) in param_state:
            return param_state[(f, value)]
        d = defs[f].get(value, "")
        op = d.split(" ", 1)[0]
        if op == "getelementptr":
            parts = _split_top(d.split(" ", 1)[1].replace("inbounds ", "", 1))
            base = operand_state(f, parts[1], seen)
            constant = all(re.fullmatch(r"i\d+ -?\d+", p) for p in parts[2:])
            return base if constant else {k: "var" for k in base}
        if op in ("bitcast", "addrspacecast"):
            return operand_state(f, d.split(" ", 1)[1].rsplit(" to ", 1)[0], seen)
        if op in ("phi", "select"):
            return {k: "var" for k in operand_state(f, d, seen)}
        return {}

    interesting = {}
    for f, body in bodies.items():
        if f.startswith("_GLOBAL__sub_I") or "__cxx_global_var_init" in f:
            continue  # the start-up constructors that fill the arrays
        rows = []
        for line in body:
            m = _DEF.match(line)
            rhs = (m.group(2) if m else line.strip()).split(", !dbg")[0]
            if rhs.startswith("load ") or ("call " in rhs or "invoke " in rhs) and "@llvm." not in rhs:
                rows.append((line, rhs))
        interesting[f] = rows
    findings: set[Finding] = set()
    for _ in range(8):  # propagate parameter states to a fixed point (call chains are short)
        before = dict(param_state)
        findings = set()
        for f, rows in interesting.items():
            for line, rhs in rows:
                if rhs.startswith("load "):
                    state = operand_state(f, _split_top(rhs)[1], frozenset())
                    bad = sorted(k for k, v in state.items() if v == "var")
                    if bad:
                        dbg = re.search(r"!dbg (![0-9]+)", line)
                        file, lineno = debug.where(dbg.group(1) if dbg else None)
                        if not own(file):  # inside a header's function: cite where the address came in
                            sites = [param_site[k] for k in param_site if k[0] == f and
                                     any(param_state[k].get(a) == "var" for a in bad)]
                            file, lineno = min(sites) if sites else (file, lineno)
                        names = ", ".join("::".join(layer_array(a)) for a in bad)
                        findings.add(Finding("array", f"{file}:{lineno}", f"load from the constant array {names} "
                                             "at an address computed at run time (not folded into a constant: "
                                             "a ROM read); index it by constants only"))
                call = re.search(r"\b(?:call|invoke)\b[^@]*?@([\w.$-]+)\(", rhs)
                if call and call.group(1) in params:
                    callee = call.group(1)
                    for name, arg in zip(params[callee], _call_args(rhs, callee)):
                        state = operand_state(f, arg, frozenset())
                        if state:
                            param_state[(callee, name)] = join(param_state.get((callee, name), {}), state)
                            if "var" in state.values() and (callee, name) not in param_site:
                                dbg = re.search(r"!dbg (![0-9]+)", line)
                                site = debug.where(dbg.group(1) if dbg else None)
                                outer = [param_site[k] for k in param_site if k[0] == f]
                                param_site[(callee, name)] = site if own(site[0]) or not outer else min(outer)
        if param_state == before:
            break
    return sorted(findings, key=str)


def _checked(symbol: str) -> bool:
    parsed = layer_array(symbol)
    return parsed is not None and parsed[1] not in LOOKUP_TABLES


def lint_ir(ir: str, stderr: str = "", work: Path | None = None) -> list[Finding]:
    """Every finding of the module doc's criteria in one module's IR."""
    def own(file: str) -> bool:
        return _relative(file).startswith("firmware/") or (
            work is not None and file.startswith(str(work)))
    findings = recursion_findings(ir, own) + unroll_findings(stderr, work or Path("."))
    unrolled = {f.where for f in findings if f.kind == "loop"}
    findings += [f for f in loop_findings(ir, own) if f.where not in unrolled] + array_findings(ir, own)
    return findings


def lint_project(project: str | os.PathLike, ap_types: str | os.PathLike | None = None) -> list[Finding]:
    """Compile a project's synthesis view with clang and return the findings (empty: synthesizable by
    these criteria). BuildError when clang is missing or the view does not compile."""
    with tempfile.TemporaryDirectory(prefix="nn2hls-lint-") as tmp:
        ir, stderr, work = compile_ir(project, ap_types, tmp)
        return lint_ir(ir, stderr, work)
