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
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from nn2hls.errors import ConfigError, InputDataError, OutputExistsError
from nn2hls.explore import pareto, table
from nn2hls.explore.engine import ENGINES, import_ray, run_ray, run_serial
from nn2hls.explore.evaluate import METRIC_KEYS, ScanData, labels_accuracy
from nn2hls.explore.space import Point, Space, expand, load_space, space_from_dict
from nn2hls.ir import feeds

Log = Callable[[str, str], None]
RESULT_FILES = ("results.csv", "results.json", "results.parquet", "pareto.png", "best_config.yml")


@dataclass
class ScanResult:
    """What a scan (points or compression trials) produced: rows in scan order, the front and best ids."""

    ID_KEY: ClassVar[str] = "point_id"
    out_dir: Path
    rows: list[dict[str, Any]]
    pareto_front: list[str]
    best: str | None
    accuracy_key: str

    def row(self, row_id: str) -> dict[str, Any]:
        return next(r for r in self.rows if r[self.ID_KEY] == row_id)


@dataclass
class ExploreResult(ScanResult):
    """What `explore` produced: ScanResult's fields, the float accuracy, counts and files."""

    float_accuracy: float | None
    evaluated: int
    resumed: int
    failed: int
    engine: str
    cpus: int
    elapsed_s: float
    space_keys: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


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
    given = load_npy(labels, "labels") if isinstance(labels, (str, Path)) else np.asarray(labels)
    arr = given.argmax(axis=1) if given.ndim == 2 else given
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputDataError(f"{what} has shape {given.shape}; give one class index per input sample ({n},) or "
                             f"one-hot rows ({n}, classes)")
    if arr.dtype.kind not in "iub" and not np.all(arr == np.round(arr)):
        raise InputDataError(f"{what} holds non-integer values; give class indices (0, 1, ...)")
    return arr.astype(np.int64)


def _model_digest(model: Any) -> str:
    if isinstance(model, (str, Path)) and Path(model).is_file():
        return hashlib.sha256(Path(model).read_bytes()).hexdigest()
    return f"in-memory {type(model).__name__}"


def prepare_dir(out: Path, fingerprint: dict[str, Any], force: bool) -> None:
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


@dataclass
class _Inputs:
    """The scan's model and data, checked: float graph, samples, calibration samples, labels."""

    graph: Any
    x: Any
    calibration: Any
    calibration_source: Any  # the path(s) the calibration samples came from, or None for arrays
    labels: np.ndarray | None

    @property
    def n(self) -> int:
        return feeds.n_samples(self.x)


def _is_paths(value: Any) -> bool:
    if isinstance(value, (str, Path)):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, (str, Path)) for v in value)


def _read_inputs(model: Any, x: Any, labels: Any, calibration: Any, weights: Any, say: Log) -> _Inputs:
    from nn2hls.pipeline import check_input, load, load_feed, load_npy

    paths = [x] if isinstance(x, (str, Path)) else x
    example = None
    if _is_paths(paths) and Path(str(model)).suffix.lower() in (".pt", ".pth"):  # TorchScript: shape from data
        example = load_npy(paths[0], "input")[:1]
    graph = load(model, example, weights=weights)
    for message in graph.meta.get("load_notes", []):
        say("note", message)
    xs = load_feed(paths, graph) if _is_paths(paths) else check_input(graph, x)
    ys = _labels(labels, feeds.n_samples(xs))
    if calibration is None:
        say("note", f"using the {feeds.n_samples(xs)} input samples as calibration data (give --calibration to "
                    "use other data)")
        return _Inputs(graph, xs, xs, paths if _is_paths(paths) else None, ys)
    if _is_paths(calibration):
        return _Inputs(graph, xs, load_feed(calibration, graph, "calibration", "--calibration"), calibration, ys)
    return _Inputs(graph, xs, check_input(graph, calibration, "calibration data"), None, ys)


def _points(scan_space: Space, config: Any, inputs: _Inputs, calibration_file: str, say: Log) -> list[Point]:
    """The scan's points with distinct configs (layer names checked against the model at once)."""
    from nn2hls.config_file import load_config
    from nn2hls.pipeline import check_layer_names

    points = expand(scan_space, load_config(config), inputs.graph, calibration_file)
    check_layer_names(inputs.graph, points[0].config)
    unique: dict[str, Point] = {}
    for p in points:
        unique.setdefault(p.point_id, p)
    if len(unique) < len(points):
        say("note", f"{len(points) - len(unique)} of the {len(points)} points have the same resolved config as an "
                    "earlier one; each config is evaluated once")
    return list(unique.values())


def _float_reference(model: Any, inputs: _Inputs, weights: Any, say: Log) -> tuple[str, list[np.ndarray]]:
    from nn2hls.reference import float_reference

    def ir_executor() -> list[np.ndarray]:
        from nn2hls.ir.execute import execute

        return [np.asarray(o, dtype=np.float64) for o in execute(inputs.graph, inputs.x)]

    ref = float_reference(model if isinstance(model, (str, Path)) else inputs.graph, feeds.as_list(inputs.x),
                          ir_executor, lambda message: say("note", message), weights=weights)
    return ref.name, [np.asarray(o, dtype=np.float64) for o in ref.outputs]


def _row(point: Point, recorded: dict[str, Any]) -> dict[str, Any]:
    """A results row: the point's current values and the recorded measurements, in a fixed order."""
    row = {"point_id": point.point_id, "status": recorded.get("status"), "error": recorded.get("error", "")}
    row.update(point.values)
    row.update({key: recorded.get(key) for key in METRIC_KEYS + ("eval_s",)})
    row["config"] = f"{table.POINTS}/{point.point_id}.yml"
    return row


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
    `num_cpus`: CPUs of a local Ray; `cpus_per_point`: CPUs each Ray task declares; `csim`: also build
    and run the C simulation of every point (`ap_types`: vendor headers for it); `tolerance`: the
    accuracy drop from the float model that the best point may have; `force`: start over in an
    `out_dir` holding another scan; `weights`: of a Keras architecture .json; `log(kind, message)`
    receives notes and warnings. Resumes a previous scan of the same model and data in `out_dir`.
    """
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
    inputs = _read_inputs(model, x, labels, calibration, weights, say)
    fingerprint = {"model": _model_digest(model), "input": table.digest(feeds.as_list(inputs.x)),
                   "labels": table.digest(inputs.labels) if inputs.labels is not None else None,
                   "calibration": table.digest(feeds.as_list(inputs.calibration)), "csim": bool(csim)}
    prepare_dir(out, fingerprint, force)
    model_name = str(model) if isinstance(model, (str, Path)) else inputs.graph.name
    space_dict = {k: list(v) for k, v in zip(scan_space.keys, scan_space.values)}
    table.write_json(out / table.SCAN_FILE, {"fingerprint": fingerprint, "model": model_name, "space": space_dict})
    calibration_file = _calibration_file(out, inputs.calibration, inputs.calibration_source, inputs.graph)
    points = _points(scan_space, config, inputs, calibration_file, say)
    reference_name, reference = _float_reference(model, inputs, weights, say)
    data = ScanData(inputs.graph, inputs.x, inputs.calibration, reference, inputs.labels, bool(csim),
                    str(ap_types) if ap_types else None)

    recorded = {pid: row for pid, row in table.load_points(out).items() if row.get("status") == "ok"}
    todo = [p for p in points if p.point_id not in recorded]
    if len(todo) < len(points):
        say("note", f"resuming: {len(points) - len(todo)} of {len(points)} points are already in '{out}'")
    by_id = {p.point_id: p for p in points}
    bar = _Progress(len(todo), engine)

    def on_result(row: dict[str, Any]) -> None:
        table.save_point(out, row, by_id[row["point_id"]].config)
        recorded[row["point_id"]] = row
        bar.step(row)

    cpus = 1
    try:
        if engine == "serial":
            run_serial(todo, data, on_result)
        else:
            cpus = run_ray(todo, data, on_result, address=address, num_cpus=num_cpus, cpus_per_point=cpus_per_point)
    finally:
        bar.close()

    rows = [_row(p, recorded[p.point_id]) for p in points]
    objectives = pareto.scan_objectives(inputs.labels is not None)
    accuracy_key = next(iter(objectives))
    float_acc = labels_accuracy(reference, inputs.labels) if inputs.labels is not None else None
    front = pareto.pareto_front(rows, objectives)
    best = pareto.best_point(rows, front, accuracy_key, float_acc if float_acc is not None else 1.0, tolerance)
    for i, row in enumerate(rows):
        row["pareto"] = i in set(front)
    result = ExploreResult(out, rows, [rows[i]["point_id"] for i in front],
                           rows[best]["point_id"] if best is not None else None, accuracy_key, float_acc,
                           len(todo), len(points) - len(todo), sum(r["status"] != "ok" for r in rows), engine, cpus,
                           0.0, list(scan_space.keys))
    _write_results(result, by_id, front, best, f"{inputs.graph.name}: {len(rows)} points, {inputs.n} samples", say)
    result.elapsed_s = round(time.perf_counter() - start, 3)
    payload = {"model": model_name, "samples": inputs.n, "float_reference": reference_name,
               "float_accuracy": float_acc, "accuracy_key": accuracy_key, "objectives": objectives,
               "tolerance": tolerance, "engine": engine, "space": space_dict, "evaluated": result.evaluated,
               "resumed": result.resumed, "failed": result.failed, "pareto_front": result.pareto_front,
               "best": result.best, "best_config": "best_config.yml" if best is not None else None, "points": rows}
    result.files["json"] = str(table.write_json(out / "results.json", payload))
    return result


def _write_results(result: ExploreResult, by_id: Mapping[str, Point], front: list[int], best: int | None,
                   title: str, say: Log) -> None:
    """results.csv / .parquet, best_config.yml and pareto.png into the result's folder (files recorded)."""
    from nn2hls.config_file import dump_config
    from nn2hls.explore.plot import plot_pareto

    out, rows, files = result.out_dir, result.rows, result.files
    table.write_tables(out, rows, files)
    if best is None:
        (out / "best_config.yml").unlink(missing_ok=True)
        (out / "pareto.png").unlink(missing_ok=True)
        say("warning", "no point was evaluated successfully: no Pareto front and no best config")
        return
    files["best_config"] = str(dump_config(by_id[rows[best]["point_id"]].config, out / "best_config.yml"))
    png = plot_pareto(rows, front, best, result.accuracy_key, out / "pareto.png", title=title)
    if png is not None:
        files["pareto_png"] = str(png)


def summary_rows(result: ExploreResult) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the Pareto front for the CLI's table (best first, then by DSP)."""
    space_keys = result.space_keys
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
