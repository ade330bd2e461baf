"""Fixture for the tests that compare nn2hls's fixed-point rules with g++ on the vendor ap_types headers."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest


@pytest.fixture
def run_vendor_cpp(tmp_path) -> Callable[[list[str]], list[str]]:
    """A function compiling C++ source lines against $NN2HLS_AP_TYPES (-DNDEBUG: the vendor asserts on
    some legal casts) and returning the program's non-empty output lines; skips without the headers."""
    cand = os.environ.get("NN2HLS_AP_TYPES")
    vendor = Path(cand) if cand and (Path(cand) / "ap_fixed.h").is_file() else None
    if vendor is None or shutil.which("g++") is None:
        pytest.skip("vendor ap_types headers (NN2HLS_AP_TYPES) or g++ not available")

    def run(lines: list[str]) -> list[str]:
        src_file = tmp_path / "probe.cpp"
        src_file.write_text("\n".join(lines) + "\n")
        exe = tmp_path / "probe"
        subprocess.run(["g++", "-std=gnu++14", "-O0", "-w", "-DNDEBUG", f"-I{vendor}", str(src_file), "-o",
                        str(exe)], check=True, capture_output=True, timeout=600)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True, timeout=60).stdout
        return [line.strip() for line in out.split("\n") if line.strip()]
    return run
