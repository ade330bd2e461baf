"""One point of a scan: compile with the point's config, emulate, measure, report; one result row.

Rule: a point is converted (`nn2hls.compile`, calibrated on the scan's calibration samples),
emulated on the scan's input x and measured against the float reference outputs computed once for
the scan: `max_abs_err`, `mean_abs_err` and `argmax_agreement` by `nn2hls.compare` (the definitions
`nn2hls check` uses), `accuracy` (the emulator's argmax against the labels) when labels are given,
`overflows` / `quantizer_clamps` split as `nn2hls.overflows` does, and the report's totals (`dsp`,
`lut_multiplies`, `multiplies`, `adders`, `nonzero_weights`, `sparsity`, `latency_cycles`,
`latency_ns`; rules in docs/report.md). With `csim` the C simulation is built and run too and
`bit_exact` / `mismatches` compare it with the emulator. `outputs_sha256` fingerprints the emulated
outputs (float64 bytes) so two runs of the same point can be compared bit for bit.
A point never raises: any error is caught and recorded (`status: failed`, `error`: one line).
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nn2hls import compare

METRIC_KEYS = ("argmax_agreement", "max_abs_err", "mean_abs_err", "accuracy", "overflows", "quantizer_clamps",
               "dsp", "lut_multiplies", "multiplies", "adders", "nonzero_weights", "sparsity", "latency_cycles",
               "latency_ns", "bit_exact", "mismatches", "outputs_sha256")


@dataclass
class ScanData:
    """What every point of a scan shares (sent once to each Ray worker).

    `graph`: the float IR graph; `x`: checked samples; `calibration`: checked calibration samples;
    `reference`: the float reference outputs on x (a list, one per output); `labels`: class indices
    (N,) or None; `csim` / `ap_types`: build and run the C simulation too.
    """

    graph: Any
    x: Any
    calibration: Any
    reference: list[np.ndarray]
    labels: np.ndarray | None = None
    csim: bool = False
    ap_types: str | None = None


labels_accuracy = compare.label_accuracy  # the emulator's argmax against the labels


def outputs_digest(outputs: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for o in outputs:
        arr = np.ascontiguousarray(o, dtype=np.float64)
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _csim(compiled: Any, data: ScanData, emulated: list[np.ndarray]) -> dict[str, Any]:
    from nn2hls.ir import feeds

    tmp = tempfile.mkdtemp(prefix="nn2hls_explore_")
    try:
        compiled.write(Path(tmp) / compiled.name, tb_input=feeds.take(data.x, slice(0, 16)),
                       tb_source="the first explored samples")
        sim = compiled.build(ap_types=data.ap_types)
        out = compare.as_output_list(sim.predict(data.x))
    finally:
        compiled.project_dir = None
        shutil.rmtree(tmp, ignore_errors=True)
    n = feeds.n_samples(data.x)
    mismatches = int(compare.mismatching_samples(emulated, out, n).sum())
    return {"bit_exact": mismatches == 0, "mismatches": mismatches}


def measure(config: Any, data: ScanData) -> dict[str, Any]:
    """The metrics of one point (raises on any error; `evaluate_point` records it)."""
    from nn2hls.overflows import split_overflows
    from nn2hls.pipeline import compile

    compiled = compile(data.graph, config, data.calibration)
    emulated = compiled.emulate_full(data.x)
    outputs = list(emulated.outputs)
    ref = data.reference
    metrics = compare.reference_metrics(outputs, ref)
    overflows, clamps = split_overflows(compiled.graph, emulated.overflows)
    totals = compiled.report()["totals"]
    row: dict[str, Any] = {
        "argmax_agreement": metrics["argmax_agreement"],
        "max_abs_err": metrics["max_abs_err"],
        "mean_abs_err": metrics["mean_abs_err"],
        "accuracy": labels_accuracy(outputs, data.labels) if data.labels is not None else None,
        "overflows": int(sum(overflows.values())),
        "quantizer_clamps": int(sum(clamps.values())),
    }
    for key in ("dsp", "lut_multiplies", "multiplies", "adders", "nonzero_weights", "sparsity", "latency_cycles",
                "latency_ns"):
        row[key] = totals[key]
    row.update({"bit_exact": None, "mismatches": None})
    if data.csim:
        row.update(_csim(compiled, data, outputs))
    row["outputs_sha256"] = outputs_digest(outputs)
    return row


def evaluate_point(point_id: str, values: dict[str, Any], config: Any, data: ScanData) -> dict[str, Any]:
    """The result row of one point: id, status, error, the point's values, metrics, eval_s. Never raises."""
    start = time.perf_counter()
    row: dict[str, Any] = {"point_id": point_id, "status": "ok", "error": ""}
    row.update(values)
    try:
        row.update(measure(config, data))
    except Exception as exc:  # a failed point never stops the scan; its error is its row
        row.update({key: None for key in METRIC_KEYS})
        row.update(status="failed", error=_one_line(exc))
    row["eval_s"] = round(time.perf_counter() - start, 4)
    return row
