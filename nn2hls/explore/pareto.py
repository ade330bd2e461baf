"""Pareto front of a scan's results, and the point `nn2hls explore` calls best.

Rule: with objectives {column: "max" | "min"}, row a dominates row b when a is at least as good as b
in every objective and strictly better in one; the front is the rows no other row dominates (rows
with equal objective values do not dominate each other, so all of them stay). Only rows with status
ok and a number in every objective take part. The scan's objectives are accuracy (`accuracy` against
the labels when given, else `argmax_agreement` with the float model; max), `dsp` (min) and
`latency_cycles` (min).
Best point: among the front rows whose accuracy is within `tolerance` of the float model's (the float
accuracy on the labels, else 1.0 for argmax agreement), the one with the fewest DSPs, then the
lowest latency, then the highest accuracy, then the earliest in the scan; when no row is within
tolerance, the most accurate front row (then fewest DSPs, lowest latency). None when no row is usable.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

DIRECTIONS = ("max", "min")


def _usable(row: Mapping[str, Any], objectives: Mapping[str, str]) -> bool:
    if row.get("status", "ok") != "ok":
        return False
    for key in objectives:
        value = row.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return False
    return True


def pareto_front(rows: Sequence[Mapping[str, Any]], objectives: Mapping[str, str]) -> list[int]:
    """Indices (in row order) of the non-dominated usable rows."""
    for key, direction in objectives.items():
        if direction not in DIRECTIONS:
            raise ValueError(f"objective '{key}': direction must be 'max' or 'min', got {direction!r}")
    keys = list(objectives)
    sign = np.array([1.0 if objectives[k] == "max" else -1.0 for k in keys])  # larger is better after the sign
    usable = [i for i in range(len(rows)) if _usable(rows[i], objectives)]
    if not usable:
        return []
    scores = np.array([[float(rows[i][k]) for k in keys] for i in usable]) * sign
    front = []
    for j, i in enumerate(usable):
        at_least = np.all(scores >= scores[j], axis=1)
        better = np.any(scores > scores[j], axis=1)
        if not np.any(at_least & better):
            front.append(i)
    return front


def scan_objectives(has_labels: bool) -> dict[str, str]:
    """The objectives of `nn2hls explore` (module rule)."""
    return {"accuracy" if has_labels else "argmax_agreement": "max", "dsp": "min", "latency_cycles": "min"}


def best_point(rows: Sequence[Mapping[str, Any]], front: Sequence[int], accuracy_key: str,
               target: float, tolerance: float) -> int | None:
    """Index of the best row (module rule) among the front `front`, or None when it is empty."""
    if not front:
        return None
    within = [i for i in front if float(rows[i][accuracy_key]) >= target - tolerance]
    if within:
        return min(within, key=lambda i: (rows[i]["dsp"], rows[i]["latency_cycles"], -rows[i][accuracy_key], i))
    return min(front, key=lambda i: (-rows[i][accuracy_key], rows[i]["dsp"], rows[i]["latency_cycles"], i))
