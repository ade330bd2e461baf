"""Resuming a scan folder, failed points, and the folder checks (serial engine)."""
from __future__ import annotations

import json

import pytest

import nn2hls
from nn2hls.errors import OutputExistsError


def _comparable(row):
    return {k: v for k, v in row.items() if k != "eval_s"}


def test_resume_skips_recorded_points(jet, tmp_path):
    out = tmp_path / "scan"
    small = {"precision.default.weight_width": [6, 8], "pruning.sparsity.*": [0.0, 0.5]}
    first = nn2hls.explore(jet["model"], jet["x_path"], small, out, engine="serial")
    assert (first.evaluated, first.resumed) == (4, 0)

    grown = {"precision.default.weight_width": [6, 8], "pruning.sparsity.*": [0.0, 0.5, 0.8]}
    second = nn2hls.explore(jet["model"], jet["x_path"], grown, out, engine="serial")
    assert (second.evaluated, second.resumed, len(second.rows)) == (2, 4, 6)
    old = {r["point_id"]: r for r in first.rows}
    for row in second.rows:
        if row["point_id"] in old:  # read back from disk unchanged (eval_s too: not re-evaluated)
            assert {k: v for k, v in row.items() if k != "pareto"} == {
                k: v for k, v in old[row["point_id"]].items() if k != "pareto"}

    victim = second.rows[0]["point_id"]
    (out / "points" / f"{victim}.json").unlink()
    third = nn2hls.explore(jet["model"], jet["x_path"], grown, out, engine="serial")
    assert (third.evaluated, third.resumed) == (1, 5)
    assert _comparable(third.row(victim)) == _comparable(second.row(victim))

    # other data in the same folder: refused, unless force starts over
    other_x = tmp_path / "x32.npy"
    import numpy as np

    np.save(other_x, jet["x"][:32])
    with pytest.raises(OutputExistsError, match="holds a scan of another model, input"):
        nn2hls.explore(jet["model"], other_x, grown, out, engine="serial")
    fourth = nn2hls.explore(jet["model"], other_x, grown, out, engine="serial", force=True)
    assert (fourth.evaluated, fourth.resumed) == (6, 0)


def test_failed_point_is_recorded_and_retried(jet, tmp_path):
    out = tmp_path / "scan"
    space = {"precision.default.accum": ["auto", "ap_fixed<4,2>"]}  # 2 fractional bits cannot hold x*w
    result = nn2hls.explore(jet["model"], jet["x_path"], space, out, engine="serial")
    good, bad = result.rows
    assert good["status"] == "ok" and good["error"] == ""
    assert bad["status"] == "failed" and bad["dsp"] is None and bad["accuracy"] is None
    assert bad["error"].startswith("ConfigError: ") and "accum type ap_fixed<4,2>" in bad["error"]
    assert "\n" not in bad["error"]
    assert result.failed == 1 and result.pareto_front == [good["point_id"]] and result.best == good["point_id"]
    recorded = json.loads((out / "points" / f"{bad['point_id']}.json").read_text())
    assert recorded["status"] == "failed"
    again = nn2hls.explore(jet["model"], jet["x_path"], space, out, engine="serial")
    assert (again.evaluated, again.resumed, again.failed) == (1, 1, 1)


def test_folder_that_is_not_a_scan_is_refused(jet, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("user data")
    with pytest.raises(OutputExistsError, match="is not an nn2hls explore folder"):
        nn2hls.explore(jet["model"], jet["x_path"], {"reuse_factor": [1]}, out, engine="serial")
    assert (out / "notes.txt").read_text() == "user data"


@pytest.mark.csim
def test_csim_points_are_bit_exact(jet, tmp_path):
    """--csim: each point's C simulation (g++) against its emulator, on every sample."""
    space = {"precision.default.weight_width": [6], "pruning.sparsity.*": [0.5]}
    result = nn2hls.explore(jet["model"], jet["x_path"], space, tmp_path / "scan", engine="serial", csim=True)
    (row,) = result.rows
    assert row["status"] == "ok", row["error"]
    assert row["bit_exact"] is True and row["mismatches"] == 0
