"""Where the points of a scan run: one by one in this process (`serial`) or as Ray tasks (`ray`).

Rule: both engines call the same `evaluate_point` on the same inputs, so a point's numbers do not
depend on the engine. Ray: a new local instance on this machine (`ray.init(address="local")`, so a
cluster someone else started here with `ray start` is not borrowed), with num_cpus from the machine
(or `num_cpus`), no dashboard, Ray's own logging at ERROR; or, given an address (`address`, else the
RAY_ADDRESS environment variable: `HOST:6379` of a `ray start --head` cluster, `ray://HOST:10001`, or
`auto` for the cluster started last on this machine), that cluster. The scan data are put into the object store once; each point is one task declaring
`cpus_per_point` CPUs. Results are handed to `on_result` as they complete (in completion order), so
the caller can save each one at once. A task that dies (worker crash, node lost) is a failed point,
not a failed scan. Ray is disconnected at the end only if this call connected it.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from nn2hls.errors import ConfigError
from nn2hls.explore.evaluate import METRIC_KEYS, ScanData, evaluate_point
from nn2hls.explore.space import Point

ENGINES = ("ray", "serial")
OnResult = Callable[[dict[str, Any]], None]


def _task(point_id: str, values: dict[str, Any], config: Any, data: ScanData) -> dict[str, Any]:
    return evaluate_point(point_id, values, config, data)


def run_serial(points: Sequence[Point], data: ScanData, on_result: OnResult) -> None:
    """Evaluate the points one after the other in this process."""
    for point in points:
        on_result(evaluate_point(point.point_id, point.values, point.config, data))


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray engine needs Ray: pip install 'nn2hls[explore]' (or run with --engine serial)"
                          ) from None
    return ray


def connect(ray: Any, address: str | None, num_cpus: int | None) -> bool:
    """Connect to (or start) Ray; True when this call did it (so it also disconnects)."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            # "local": a new instance of this process's own, never a `ray start` cluster found on the machine
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False, **quiet)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as exc:
        where = f"the Ray cluster at '{address}'" if address else "a local Ray instance"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot connect to {where} ({first}); check --address / RAY_ADDRESS or use "
                          "--engine serial") from None
    return True


@contextmanager
def session(address: str | None, num_cpus: int | None) -> Iterator[Any]:
    """Ray connected (or started) for the block, disconnected after it only if this call connected it."""
    ray = import_ray()
    started = connect(ray, address, num_cpus)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _failed_row(point: Point, message: str) -> dict[str, Any]:
    row: dict[str, Any] = {"point_id": point.point_id, "status": "failed", "error": message}
    row.update(point.values)
    row.update({key: None for key in METRIC_KEYS})
    row["eval_s"] = None
    return row


def run_ray(points: Sequence[Point], data: ScanData, on_result: OnResult, *, address: str | None = None,
            num_cpus: int | None = None, cpus_per_point: float = 1.0) -> int:
    """Evaluate the points as Ray tasks; returns the CPUs the cluster offers."""
    with session(address, num_cpus) as ray:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if not points:
            return cpus
        data_ref = ray.put(data)
        remote = ray.remote(num_cpus=cpus_per_point, max_retries=1)(_task)
        pending = {remote.remote(p.point_id, p.values, p.config, data_ref): p for p in points}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                point = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as exc:  # the task itself died (worker crash, node lost)
                    text = str(exc).strip().splitlines()
                    row = _failed_row(point, f"Ray task failed: {type(exc).__name__}: {text[0] if text else ''}")
                on_result(row)
        return cpus
