"""Terminal output helpers: notes and warnings, a progress line for long steps and aligned text tables.

Rule: progress goes to stderr and only when stderr is a terminal and the user did not ask for quiet
output (`--quiet`, or `NN2HLS_QUIET=1`); piped or captured output never contains progress lines, so
scripts and tests see only results. A step prints `name ...` while running and `name ... done (1.2 s)`
when it ends (on a terminal the line is rewritten in place).
Tables: columns padded to their widest cell, numbers right-aligned, text left-aligned.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Sequence, TextIO

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Silence (or re-enable) progress output for this process."""
    global _quiet
    _quiet = bool(quiet)


def note(message: str) -> None:
    """An informational line on stderr (silenced by --quiet)."""
    if not _quiet:
        print(f"note: {message}", file=sys.stderr)


def warn(message: str) -> None:
    """A warning line on stderr (never silenced)."""
    print(f"warning: {message}", file=sys.stderr)


def log(kind: str, message: str) -> None:
    """The library's log(kind, message) callback on the shell: a warning, or else a note."""
    (warn if kind == "warning" else note)(message)


def enabled(stream: TextIO | None = None) -> bool:
    """Progress is shown only on a terminal and when not quiet."""
    stream = stream if stream is not None else sys.stderr
    if _quiet or os.environ.get("NN2HLS_QUIET", "") not in ("", "0"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def step(name: str, stream: TextIO | None = None) -> Iterator[None]:
    """Show `name ...` while the block runs and its duration when it ends (terminals only)."""
    stream = stream if stream is not None else sys.stderr
    show = enabled(stream)
    start = time.perf_counter()
    if show:
        stream.write(f"\r{name} ...")
        stream.flush()
    try:
        yield
    except BaseException:
        if show:
            stream.write(" failed\n")
            stream.flush()
        raise
    if show:
        stream.write(f"\r{name} ... done ({time.perf_counter() - start:.1f} s)\n")
        stream.flush()


def update(message: str, stream: TextIO | None = None) -> None:
    """Rewrite the current progress line (e.g. `search: layer 3/5`), terminals only."""
    stream = stream if stream is not None else sys.stderr
    if enabled(stream):
        stream.write(f"\r\x1b[2K{message}")
        stream.flush()


def _is_number(cell: str) -> bool:
    text = cell.replace(",", "").replace("%", "").strip()
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]], *, indent: str = "") -> str:
    """Render rows as an aligned table with a header and a dashed rule under it."""
    cells = [[str(c) for c in header]] + [["" if c is None else str(c) for c in row] for row in rows]
    ncol = max(len(r) for r in cells)
    cells = [r + [""] * (ncol - len(r)) for r in cells]
    widths = [max(len(r[i]) for r in cells) for i in range(ncol)]
    numeric = [all(_is_number(r[i]) or r[i] in ("", "-") for r in cells[1:]) and len(cells) > 1
               for i in range(ncol)]

    def line(row: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)]
        return (indent + "  ".join(parts)).rstrip()

    out = [line(cells[0]), indent + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
