"""hls_lib's ap types against the vendor headers: the same probe compiled against both must print
identical raw bits for every case (conversions under every (Q, O) pair, exact ops, comparisons,
to_double/to_float/to_int, dot products), except the documented VENDOR_DIVERGENT cases."""
from __future__ import annotations

import numpy as np
import pytest

import ap_probe_gen as gen

pytestmark = [pytest.mark.csim, pytest.mark.vendor]

GROUPS = {
    "conversions": ("from_double", "convert"),
    "arithmetic": ("mul", "add", "sub", "neg", "addi", "muli", "isub", "dot"),
    "comparisons_and_outputs": ("cmp", "outs", "outi"),
}


def _key(case: gen.Case) -> str:
    return f"{case.op}:{case.types[0].cpp()}"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_bit_exact_against_vendor(group, probe_cases, hls_results, vendor_results):
    checked, failures = 0, []
    for case, (w_ours, ours), (w_vendor, theirs) in zip(probe_cases, hls_results, vendor_results):
        if case.op not in GROUPS[group] or _key(case) in gen.VENDOR_DIVERGENT:
            continue
        checked += 1
        if w_ours != w_vendor:
            failures.append(f"{case}: result width {w_ours} vs vendor {w_vendor}")
            continue
        bad = np.nonzero((ours != theirs).reshape(case.n, -1).any(axis=1))[0]
        if len(bad):
            failures.append(f"{case.op} {[t.cpp() for t in case.types]}: {len(bad)} of {case.n} differ, "
                            f"first at {bad[0]}: {ours[bad[0]].tolist()} vs vendor {theirs[bad[0]].tolist()}")
    assert checked > 10
    assert not failures, "\n".join(failures[:20])


def test_every_mode_pair_has_100k_values(probe_cases):
    seen = {}
    for case in probe_cases:
        if case.op == "from_double":
            t = case.types[0]
            seen[(t.q, t.o)] = case.n
    assert set(seen) == {(q, o) for q in gen.Q_MODES for o in gen.O_MODES}
    assert min(seen.values()) >= 100_000
