"""Pareto front and best point on a table written by hand."""
from __future__ import annotations

import pytest

from nn2hls.explore.pareto import best_point, pareto_front, scan_objectives

OBJ = {"accuracy": "max", "dsp": "min", "latency_cycles": "min"}


def _row(acc, dsp, lat, status="ok"):
    return {"accuracy": acc, "dsp": dsp, "latency_cycles": lat, "status": status}


ROWS = [
    _row(0.95, 100, 30),   # 0 front: most accurate
    _row(0.95, 120, 30),   # 1 dominated by 0 (more DSP, same rest)
    _row(0.90, 10, 30),    # 2 front: fewer DSP
    _row(0.90, 10, 20),    # 3 front: dominates 2? no: 3 is better in latency, equal otherwise -> 2 dominated
    _row(0.80, 5, 40),     # 4 front: fewest DSP
    _row(0.70, 5, 40),     # 5 dominated by 4
    _row(0.99, 1, 1, status="failed"),  # 6 failed: never on the front
    _row(0.94, 50, 25),    # 7 front
    _row(0.94, 50, 25),    # 8 equal to 7: neither dominates, both stay
    {"accuracy": None, "dsp": 1, "latency_cycles": 1, "status": "ok"},  # 9 no number: not usable
]


def test_front_by_hand():
    assert pareto_front(ROWS, OBJ) == [0, 3, 4, 7, 8]


def test_directions_are_honoured():
    rows = [_row(0.5, 1, 1), _row(0.9, 1, 1)]
    assert pareto_front(rows, OBJ) == [1]
    assert pareto_front(rows, {"accuracy": "min", "dsp": "min"}) == [0]
    with pytest.raises(ValueError, match="direction"):
        pareto_front(rows, {"accuracy": "up"})


def test_best_point_within_tolerance_has_fewest_dsp():
    front = pareto_front(ROWS, OBJ)
    # float accuracy 0.95: within 0.01 are rows 0 (0.95) and 7/8 (0.94): fewest DSP is 7 (first of equals)
    assert best_point(ROWS, front, "accuracy", 0.95, 0.01) == 7
    # within 0.06 row 3 (0.90, 10 DSP) qualifies
    assert best_point(ROWS, front, "accuracy", 0.95, 0.06) == 3
    # nothing within tolerance: the most accurate front row
    assert best_point(ROWS, front, "accuracy", 1.0, 0.0) == 0
    assert best_point(ROWS, [], "accuracy", 1.0, 0.0) is None


def test_scan_objectives():
    assert scan_objectives(True) == OBJ
    assert scan_objectives(False) == {"argmax_agreement": "max", "dsp": "min", "latency_cycles": "min"}
