"""`nn2hls.explore(...)` / `nn2hls explore`: a design-space scan from space file to results folder.

Rule (DESIGN.md, docs/explore.md): load the model and the samples once, compute the float reference
once, expand the space into points (`space`), skip the points DIR already holds with status ok
(`table`), evaluate the others on the chosen engine (`engine`, `evaluate`), saving each as it
completes, then write the results tables, the Pareto front and its plot (`pareto`, `plot`) and the
best point's config as DIR/best_config.yml. The calibration samples default to the input x; the
points' configs name the calibration file (the input file, or DIR/calibration.npy when arrays were
given) so that `nn2hls convert MODEL -c DIR/best_config.yml` reproduces the best point.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from nn2hls.errors import ConfigError, InputDataError, OutputExistsError
from nn2hls.explore import pareto, table
from nn2hls.explore.engine import ENGINES, import_ray, run_ray, run_serial
from nn2hls.explore.evaluate import ScanData, labels_accuracy
from nn2hls.explore.space import Space, expand, load_space, space_from_dict
from nn2hls.ir import feeds

Log = Callable[[str, str], None]
RESULT_FILES = ("results.csv", "results.json", "results.parquet", "pareto.png", "best_config.yml")


@dataclass
class ExploreResult:
    """What a scan produced: rows in space order, the front and best point ids, counts and files."""

    out_dir: Path
    rows: list[dict[str, Any]]
    pareto_front: list[str]
    best: str | None
    accuracy_key: str
    float_accuracy: float | None
    evaluated: int
    resumed: int
    failed: int
    engine: str
    cpus: int
    elapsed_s: float
    files: dict[str, str] = field(default_factory=dict)

    def row(self, point_id: str) -> dict[str, Any]:
        return next(r for r in self.rows if r["point_id"] == point_id)


def _space(space: Any) -> Space:
    if isinstance(space, Space):
        return space
    if isinstance(space, (str, Path)):
        return load_space(space)
    return space_from_dict(space)


def _labels(labels: Any, n: int) -> np.ndarray | None:
    """Class indices (N,) from an .npy path or array of indices (N,) or one-hot / scores (N, C)."""
    if labels is None:
        return None
    from nn2hls.pipeline import load_npy

    what = f"labels file '{labels}'" if isinstance(labels, (str, Path)) else "labels"
    arr = load_npy(labels, "labels") if isinstance(labels, (str, Path)) else np.asarray(labels)
    if arr.ndim == 2:
        arr = arr.argmax(axis=1)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputDataError(f"{what} has shape {np.asarray(labels if not isinstance(labels, (str, Path)) else arr).shape}; "
                             f"give one class index per input sample ({n},) or one-hot rows ({n}, classes)")
    if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise InputDataError(f"{what} holds non-integer values; give class indices (0, 1, ...)")
    return arr.astype(np.int64)


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.shape, str(part.dtype))).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, (list, tuple)):
            h.update(_digest(*part).encode())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


def _model_digest(model: Any) -> str:
    if isinstance(model, (str, Path)) and Path(model).is_file():
        return hashlib.sha256(Path(model).read_bytes()).hexdigest()
    return f"in-memory {type(model).__name__}"


def _prepare_dir(out: Path, fingerprint: dict[str, Any], force: bool) -> None:
    """Create DIR, or accept it for resuming; refuse a folder holding something else (unless force)."""
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output path '{out}' exists and is a file; choose another -o folder")
    scan_file = out / table.SCAN_FILE
    if out.is_dir() and any(out.iterdir()):
        previous = None
        if scan_file.is_file():
            try:
                previous = json.loads(scan_file.read_text(encoding="utf-8")).get("fingerprint")
            except (OSError, ValueError):
                previous = None
        if previous != fingerprint:
            if not force:
                why = ("holds a scan of another model, input, labels, calibration or --csim setting" if previous
                       else "exists and is not an nn2hls explore folder")
                raise OutputExistsError(f"output folder '{out}' {why}; use --force (force=True) to start the scan "
                                        "over there or choose another -o folder")
        if force:
            shutil.rmtree(out / table.POINTS, ignore_errors=True)
            for name in RESULT_FILES + (table.SCAN_FILE,):
                (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def _calibration_file(out: Path, calibration: Any, source: Any, graph: Any) -> str:
    """The calibration file the points' configs name (absolute path)."""
    if isinstance(source, (str, Path)):
        return str(Path(source).resolve())
    if isinstance(source, (list, tuple)) and source and all(isinstance(s, (str, Path)) for s in source):
        if len(source) == 1:
            return str(Path(source[0]).resolve())
    arrays = feeds.as_list(calibration)
    if len(arrays) == 1:
        path = out / "calibration.npy"
        np.save(path, arrays[0])
    else:
        path = out / "calibration.npz"
        names = [spec.name for spec in feeds.specs(graph)]
        np.savez(path, **dict(zip(names, arrays)))
    return str(path.resolve())


class _Progress:
    """tqdm when installed, else nn2hls.progress's rewritten line (terminals only, never with --quiet)."""

    def __init__(self, total: int, engine: str) -> None:
        from nn2hls import progress

        self.total, self.done, self.failed, self.engine = total, 0, 0, engine
        self.bar = None
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=f"explore ({engine})", unit="point", disable=not progress.enabled())
        except ImportError:
            pass

    def step(self, row: dict[str, Any]) -> None:
        from nn2hls import progress

        self.done += 1
        self.failed += row.get("status") != "ok"
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=self.failed)
        else:
            progress.update(f"explore ({self.engine}): {self.done}/{self.total} points, {self.failed} failed")

    def close(self) -> None:
        from nn2hls import progress

        if self.bar is not None:
            self.bar.close()
        elif self.total and progress.enabled():
            progress.update("")


def explore(model: Any, x: Any, space: Any, out_dir: str | Path, *, labels: Any = None, config: Any = None,
            calibration: Any = None, engine: str = "ray", address: str | None = None, num_cpus: int | None = None,
            cpus_per_point: float = 1.0, csim: bool = False, ap_types: str | Path | None = None,
            tolerance: float = 0.01, force: bool = False, weights: str | Path | None = None,
            log: Log | None = None) -> ExploreResult:
    """Scan `space` for `model` on samples `x` and write the results into `out_dir` (module rule).

    `model`: anything `nn2hls.load` accepts; `x`: samples or .npy path(s); `space`: a space file path,
    a {dotted key: [values]} dict or a Space; `labels`: class indices or one-hot rows (array or .npy);
    `config`: the base config the points modify; `calibration`: samples or path (default x);
    `engine`: "ray" or "serial"; `address`: a Ray cluster (default RAY_ADDRESS, else a local Ray);
    `csim`: also build and run the C simulation of every point; `tolerance`: the accuracy drop from
    the float model that the best point may have. Resumes a previous scan in `out_dir`.
    """
    from nn2hls.config_file import dump_config, load_config
    from nn2hls.pipeline import _check_layer_names, check_input, load, load_feed
    from nn2hls.reference import float_reference

    start = time.perf_counter()
    say = log or (lambda kind, message: None)
    if engine not in ENGINES:
        raise ConfigError(f"engine '{engine}' is not known; use one of {', '.join(ENGINES)}")
    if not tolerance >= 0:
        raise ConfigError(f"tolerance (--tolerance) is {tolerance}: give an accuracy drop >= 0, e.g. 0.01")
    if engine == "ray":
        import_ray()  # before any work: a missing Ray is a one-line error at once
    scan_space = _space(space)
    out = Path(out_dir)
    paths = [x] if isinstance(x, (str, Path)) else x
    from_files = isinstance(paths, (list, tuple)) and paths and all(isinstance(p, (str, Path)) for p in paths)
    example = None
    if from_files:
        from nn2hls.pipeline import load_npy

        example = load_npy(paths[0], "input")[:1] if Path(str(model)).suffix.lower() in (".pt", ".pth") else None
    graph = load(model, example, weights=weights)
    for message in graph.meta.get("load_notes", []):
        say("note", message)
    xs = load_feed(paths, graph) if from_files else check_input(graph, x)
    n = feeds.n_samples(xs)
    ys = _labels(labels, n)
    if calibration is None:
        calib, calib_source = xs, (paths if from_files else None)
    elif isinstance(calibration, (str, Path)) or (isinstance(calibration, (list, tuple)) and calibration and
                                                   all(isinstance(c, (str, Path)) for c in calibration)):
        calib, calib_source = load_feed(calibration, graph, "calibration", "--calibration"), calibration
    else:
        calib, calib_source = check_input(graph, calibration, "calibration data"), None
    fingerprint = {"model": _model_digest(model), "input": _digest(feeds.as_list(xs)),
                   "labels": _digest(ys) if ys is not None else None, "calibration": _digest(feeds.as_list(calib)),
                   "csim": bool(csim)}
    _prepare_dir(out, fingerprint, force)
    table.write_json(out / table.SCAN_FILE, {"fingerprint": fingerprint, "model": str(model) if isinstance(
        model, (str, Path)) else graph.name, "space": {k: list(v) for k, v in zip(scan_space.keys, scan_space.values)}})

    base = load_config(config)
    points = expand(scan_space, base, graph, _calibration_file(out, calib, calib_source, graph))
    _check_layer_names(graph, points[0].config)
    unique: dict[str, Any] = {}
    for p in points:
        unique.setdefault(p.point_id, p)
    if len(unique) < len(points):
        say("note", f"{len(points) - len(unique)} of the {len(points)} points have the same resolved config as an "
                    "earlier one; each config is evaluated once")
    points = list(unique.values())

    def ir_executor() -> list[np.ndarray]:
        from nn2hls.ir.execute import execute

        return [np.asarray(o, dtype=np.float64) for o in execute(graph, xs)]

    ref = float_reference(model if isinstance(model, (str, Path)) else graph, feeds.as_list(xs), ir_executor,
                          lambda message: say("note", message), weights=weights)
    reference = [np.asarray(o, dtype=np.float64) for o in ref.outputs]
    data = ScanData(graph, xs, calib, reference, ys, bool(csim), str(ap_types) if ap_types else None)

    done = {pid: row for pid, row in table.load_points(out).items() if row.get("status") == "ok"}
    todo = [p for p in points if p.point_id not in done]
    resumed = len(points) - len(todo)
    if resumed:
        say("note", f"resuming: {resumed} of {len(points)} points are already in '{out}'")
    by_id = {p.point_id: p for p in points}
    rows_by_id = {pid: done[pid] for pid in by_id if pid in done}
    bar = _Progress(len(todo), engine)

    def on_result(row: dict[str, Any]) -> None:
        table.save_point(out, row, by_id[row["point_id"]].config)
        rows_by_id[row["point_id"]] = row
        bar.step(row)

    cpus = 1
    try:
        if engine == "serial":
            run_serial(todo, data, on_result)
        else:
            cpus = run_ray(todo, data, on_result, address=address, num_cpus=num_cpus, cpus_per_point=cpus_per_point)
    finally:
        bar.close()

    rows = []
    for p in points:
        row = dict(rows_by_id[p.point_id])
        row["config"] = f"{table.POINTS}/{p.point_id}.yml"
        rows.append(row)
    accuracy_key = next(iter(pareto.scan_objectives(ys is not None)))
    float_acc = labels_accuracy(reference, ys) if ys is not None else None
    front = pareto.pareto_front(rows, pareto.scan_objectives(ys is not None))
    target = float_acc if float_acc is not None else 1.0
    best = pareto.best_point(rows, front, accuracy_key, target, tolerance)
    front_set = set(front)
    for i, row in enumerate(rows):
        row["pareto"] = i in front_set
    files = {"csv": str(table.write_csv(out / "results.csv", rows))}
    parquet = table.write_parquet(out / "results.parquet", rows)
    if parquet is not None:
        files["parquet"] = str(parquet)
    if best is not None:
        best_config = out / "best_config.yml"
        dump_config(by_id[rows[best]["point_id"]].config, best_config)
        files["best_config"] = str(best_config)
    else:
        (out / "best_config.yml").unlink(missing_ok=True)
        say("warning", "no point was evaluated successfully: no Pareto front and no best config")
    from nn2hls.explore.plot import plot_pareto

    if front:
        png = plot_pareto(rows, front, best, accuracy_key, out / "pareto.png",
                          title=f"{graph.name}: {len(rows)} points, {n} samples")
        if png is not None:
            files["pareto_png"] = str(png)
    failed = sum(r["status"] != "ok" for r in rows)
    result = ExploreResult(out, rows, [rows[i]["point_id"] for i in front],
                           rows[best]["point_id"] if best is not None else None, accuracy_key, float_acc,
                           len(todo), resumed, failed, engine, cpus, round(time.perf_counter() - start, 3), files)
    payload = {"model": str(model) if isinstance(model, (str, Path)) else graph.name, "samples": n,
               "float_reference": ref.name, "float_accuracy": float_acc, "accuracy_key": accuracy_key,
               "objectives": pareto.scan_objectives(ys is not None), "tolerance": tolerance, "engine": engine,
               "space": {k: list(v) for k, v in zip(scan_space.keys, scan_space.values)},
               "evaluated": result.evaluated, "resumed": resumed, "failed": failed,
               "pareto_front": result.pareto_front, "best": result.best,
               "best_config": "best_config.yml" if best is not None else None, "points": rows}
    files["json"] = str(table.write_json(out / "results.json", payload))
    return result


def summary_rows(result: ExploreResult) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the Pareto front for the CLI's table (best first, then by DSP)."""
    keys = [k for k in result.rows[0] if k not in ("point_id", "status", "error", "config", "pareto", "eval_s")
            ] if result.rows else []
    space_keys = [k for k in keys if "." in k or k in ("reuse_factor", "strategy", "io_type", "clock_period_ns",
                                                         "backend", "part")]
    header = ["point"] + space_keys + [result.accuracy_key, "max_abs_err", "dsp", "latency", "overflows"]
    front = [result.row(pid) for pid in result.pareto_front]
    front.sort(key=lambda r: (r["point_id"] != result.best, r["dsp"], r["latency_cycles"]))
    out = []
    for r in front:
        mark = "*" if r["point_id"] == result.best else ""
        out.append([r["point_id"] + mark] + [_short(r.get(k)) for k in space_keys] +
                   [f"{r[result.accuracy_key]:.4f}", f"{r['max_abs_err']:.3g}", r["dsp"], r["latency_cycles"],
                    r["overflows"]])
    return header, out


def _short(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
