"""Session fixtures for the ap types tests: one probe source, one input file, one compile per
header set (hls_lib always, the vendor's when NN2HLS_AP_TYPES names their directory)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ap_probe_gen as gen  # noqa: E402

N_MODES = 100_000  # values per (Q, O) combination and conversion kind
N_OPS = 20_000     # values per exact-operation case


@pytest.fixture(scope="session")
def probe_cases() -> list:
    return gen.standard_cases(N_MODES, N_OPS)


@pytest.fixture(scope="session")
def probe_inputs(tmp_path_factory):
    d, pa, pb = gen.random_inputs(N_MODES, seed=20240611)
    path = tmp_path_factory.mktemp("ap_probe") / "inputs.bin"
    gen.write_inputs(path, d, pa, pb)
    return path, d, pa, pb


def _build_and_run(include_dir: Path, name: str, cases, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"probe_{name}")
    exe = gen.compile_probe(gen.probe_source(cases), include_dir, out, name)
    return gen.run_probe(exe, inputs[0], cases)


@pytest.fixture(scope="session")
def hls_results(probe_cases, probe_inputs, tmp_path_factory):
    return _build_and_run(gen.HLS_LIB, "hls_lib", probe_cases, probe_inputs, tmp_path_factory)


@pytest.fixture(scope="session")
def vendor_results(probe_cases, probe_inputs, tmp_path_factory):
    vendor = os.environ.get("NN2HLS_AP_TYPES")
    if not vendor:
        pytest.skip("NN2HLS_AP_TYPES not set")
    if not (Path(vendor) / "ap_fixed.h").is_file():
        pytest.fail(f"NN2HLS_AP_TYPES={vendor} has no ap_fixed.h: point it at the vendor ap_types directory")
    return _build_and_run(Path(vendor), "vendor", probe_cases, probe_inputs, tmp_path_factory)
