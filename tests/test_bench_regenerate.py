"""bench/regenerate.py: marker parsing and region replacement, with fake commands (no real bench runs).

Expected texts are written out by hand; the fake commands are tiny `python -c` programs run through the
same subprocess path as the real benches."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def regen():
    spec = importlib.util.spec_from_file_location("bench_regenerate", ROOT / "bench" / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


DOC = """# Title

Narrative before.

<!-- begin generated: alpha -->
| old | 1 |
<!-- end generated: alpha -->

Narrative between, kept.
<!-- begin generated: beta_two -->
| beta | 2 |
<!-- end generated: beta_two -->
tail
"""


def test_replace_region_changes_only_its_region(regen):
    out = regen.replace_region(DOC, "alpha", "| new | 9 |\n| row | 10 |")
    assert out == DOC.replace("| old | 1 |\n", "| new | 9 |\n| row | 10 |\n")
    # the same text again is a fixed point, and the other region is untouched
    assert regen.replace_region(out, "alpha", "| new | 9 |\n| row | 10 |\n") == out
    assert "| beta | 2 |" in out
    with pytest.raises(KeyError):
        regen.replace_region(DOC, "gamma", "x")


def test_find_regions_offsets(regen):
    regions = regen.find_regions(DOC)
    assert list(regions) == ["alpha", "beta_two"]
    start, end = regions["beta_two"]
    assert DOC[start:end] == "| beta | 2 |\n"


@pytest.mark.parametrize("text, message", [
    ("<!-- end generated: a -->\n", "without its begin"),
    ("<!-- begin generated: a -->\n<!-- begin generated: b -->\n", "inside the open region"),
    ("<!-- begin generated: a -->\nx\n", "has no 'end generated: a'"),
    ("<!-- begin generated: a -->\n<!-- end generated: a -->\n<!-- begin generated: a -->\n"
     "<!-- end generated: a -->\n", "marked twice"),
])
def test_malformed_markers(regen, text, message):
    with pytest.raises(regen.MarkerError, match=message):
        regen.find_regions(text)


def test_check_lists_both_kinds_of_mismatch(regen):
    assert regen.check(DOC, ["alpha", "gamma"]) == (["gamma"], ["beta_two"])
    assert regen.check(DOC, ["alpha", "beta_two"]) == ([], [])


def test_regenerate_with_fake_commands(regen, tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(DOC)
    registry = {
        "alpha": regen.Section(("-c", "print('| fresh | 3 |')")),
        "beta_two": regen.Section(("-c", "import sys; print('partial'); sys.exit(1)")),  # fails: kept as is
    }
    messages: list[str] = []
    failures = regen.regenerate(path, ["alpha", "beta_two"], registry, log=messages.append)
    assert failures == 1
    assert path.read_text() == DOC.replace("| old | 1 |\n", "| fresh | 3 |\n")
    assert any("beta_two: FAILED (exit 1)" in m for m in messages)


def test_missing_tool_is_skipped(regen, tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(DOC)
    registry = {"alpha": regen.Section(("-c", "print('| never |')"), requires=("program:no-such-tool-nn2hls",))}
    messages: list[str] = []
    assert regen.regenerate(path, ["alpha"], registry, log=messages.append) == 0
    assert path.read_text() == DOC
    assert messages == ["alpha: skipped, needs program no-such-tool-nn2hls"]


def test_results_md_markers_match_the_registry(regen):
    """Every registered section is marked in bench/RESULTS.md and every marked region is registered."""
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    assert regen.check(text, regen.REGISTRY) == ([], [])
