"""The files of a scan folder: one record per point as it completes, and the results tables.

Layout of DIR (docs/explore.md):
- `scan.json`: the scan's fingerprint (model file, input, labels, calibration, csim; `digest` hashes
  arrays and values) and its space; a folder holding another fingerprint is not resumed (a different
  model or data would mix results);
- `points/<id>.json`: a point's result row, written as soon as it completes (atomically: a temporary
  file renamed), `points/<id>.yml`: its fully resolved config (`nn2hls convert -c` reads it);
- `results.csv`, `results.json`, and `results.parquet` when pyarrow is installed: one row per point
  of the current space, in space order. CSV cells: empty for None, JSON text for lists and dicts.
Resuming: a point whose record exists with status ok is not evaluated again; failed points are.
`nn2hls explore-compress` keeps the same layout with trials (`trial_id`) for points.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

POINTS = "points"
SCAN_FILE = "scan.json"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_point(out_dir: Path, row: dict[str, Any], config: Any) -> None:
    """Write a point's config (YAML) and row (JSON) into DIR/points/."""
    from nn2hls.config_file import dump_config

    folder = out_dir / POINTS
    folder.mkdir(parents=True, exist_ok=True)
    dump_config(config, folder / f"{row['point_id']}.yml")
    _atomic_write(folder / f"{row['point_id']}.json", json.dumps(row, sort_keys=False) + "\n")


def digest(*parts: Any) -> str:
    """SHA-256 of arrays (shape, dtype and bytes), lists/tuples of them (recursively) and other values (repr)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.shape, str(part.dtype))).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, (list, tuple)):
            h.update(digest(*part).encode())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


def load_points(out_dir: Path, id_key: str = "point_id") -> dict[str, dict[str, Any]]:
    """The rows already recorded in DIR/points/, by id (the row's `id_key`, which names its file; unreadable
    records are ignored)."""
    rows: dict[str, dict[str, Any]] = {}
    folder = out_dir / POINTS
    if not folder.is_dir():
        return rows
    for path in sorted(folder.glob("*.json")):
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(row, dict) and row.get(id_key) == path.stem:
            rows[path.stem] = row
    return rows


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Union of the rows' keys in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    names = columns(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in rows:
            writer.writerow([_cell(row.get(k)) for k in names])
    return path


def write_tables(out_dir: Path, rows: Sequence[dict[str, Any]], files: dict[str, str]) -> None:
    """DIR/results.csv and, with pyarrow, DIR/results.parquet; their paths recorded in `files`."""
    files["csv"] = str(write_csv(out_dir / "results.csv", rows))
    parquet = write_parquet(out_dir / "results.parquet", rows)
    if parquet is not None:
        files["parquet"] = str(parquet)


def write_parquet(path: Path, rows: Sequence[dict[str, Any]]) -> Path | None:
    """Parquet via pyarrow (None when pyarrow is not installed). Lists/dicts become JSON text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    names = columns(rows)
    data = {}
    for k in names:
        cells = [row.get(k) for row in rows]
        if any(isinstance(c, (list, dict)) for c in cells) or len({type(c) for c in cells if c is not None}) > 1:
            cells = [None if c is None else json.dumps(c, sort_keys=True) if isinstance(c, (list, dict)) else str(c)
                     for c in cells]
        data[k] = cells
    pq.write_table(pa.table(data), path)
    return path


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    _atomic_write(path, json.dumps(payload, indent=1) + "\n")
    return path
