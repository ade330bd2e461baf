"""The space file of `nn2hls explore`: dotted config keys mapped to lists of values.

Rule (DESIGN.md, docs/explore.md): SPACE.yml is a mapping from dotted keys of the config schema
(`nn2hls.config_file`, docs/config.md) to non-empty lists of values, for example

    precision.default.weight_width: [6, 8, 10, 12]
    pruning.sparsity.*: [0.0, 0.25, 0.5]
    reuse_factor: [1, 2]

The scan is the Cartesian product of the lists, in file order with the last key varying fastest. A
point's config is the base config (`-c`, else the defaults) with each key set to the point's value.
A layer-name segment `*` stands for every layer the key can name: Dense/Conv layers under `pruning.`,
every layer under `precision.layers.`; it is expanded against the model (`expand`).
Validation is total and early: every value of every key is checked by `nn2hls.config_file` before a
point runs, so an unknown key or a bad value is a one-line `ConfigError` naming the space file and the
key. A point's id is the first 16 hex digits of the SHA-256 of its resolved config (the schema dict
of `config_to_dict` without `calibration`, as canonical JSON): the same config gives the same id in
every process and on every machine, which is what makes a scan resumable.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from nn2hls.config import Config
from nn2hls.config_file import config_from_dict, config_to_dict, read_yaml
from nn2hls.errors import ConfigError

WILDCARD = "*"
_PLACEHOLDER_LAYER = "layer"  # stands for `*` while a key is validated without a model
# sections whose next segment is a layer name, and the layers `*` expands to there
_LAYER_SECTIONS = {("pruning", "sparsity"): "weights", ("pruning", "layers"): "weights",
                   ("precision", "layers"): "all"}


@dataclass(frozen=True)
class Space:
    """Keys in file order and their lists of values; `source` names the file in error messages."""

    keys: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    source: str = "space"

    @property
    def size(self) -> int:
        n = 1
        for v in self.values:
            n *= len(v)
        return n

    def points(self) -> list[dict[str, Any]]:
        """Every point as {key: value} (Cartesian product, last key fastest)."""
        return [dict(zip(self.keys, combo)) for combo in itertools.product(*self.values)]


@dataclass(frozen=True)
class Point:
    """One point of a scan: its values (by space key), resolved config and id."""

    values: dict[str, Any]
    config: Config
    point_id: str


def _layer_section(parts: list[str]) -> str | None:
    """'weights' / 'all' when parts[2] is a layer name, else None."""
    return _LAYER_SECTIONS.get(tuple(parts[:2])) if len(parts) >= 3 else None


def _set_path(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = copy.deepcopy(value)


def _split(key: Any, source: str) -> list[str]:
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"{source}: key {key!r} must be a dotted config key, e.g. precision.default.weight_width")
    parts = key.split(".")
    if any(not p for p in parts):
        raise ConfigError(f"{source}: key '{key}' has an empty segment; write dotted config keys such as "
                          "pruning.sparsity.fc1")
    for k, part in enumerate(parts):
        if part == WILDCARD and not (k == 2 and _layer_section(parts)):
            raise ConfigError(f"{source}: key '{key}': '*' may only stand for a layer name (pruning.sparsity.*, "
                              "pruning.layers.*, precision.layers.*.<field>)")
    return parts


def space_from_dict(data: Any, source: str = "space") -> Space:
    """Validate a space mapping {dotted key: [values]} and return the Space (see the module rule)."""
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(f"{source}: give a mapping of dotted config keys to lists of values, e.g. "
                          "'precision.default.weight_width: [6, 8, 10]'")
    keys, values = [], []
    for key, items in data.items():
        parts = _split(key, source)
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{source}: key '{key}' must map to a non-empty list of values, e.g. [8, 12], "
                              f"got {items!r}")
        probe_parts = [_PLACEHOLDER_LAYER if p == WILDCARD else p for p in parts]
        for item in items:
            tree: dict[str, Any] = {}
            _set_path(tree, probe_parts, item)
            config_from_dict(tree, source=f"{source}, key '{key}'")
        keys.append(key)
        values.append(tuple(items))
    return Space(tuple(keys), tuple(values), source)


def load_space(path: str | Path) -> Space:
    """Read and validate a space file (YAML); a missing file or bad YAML is a ConfigError."""
    path = Path(path)
    data = read_yaml(path)
    return space_from_dict(data, source=f"space file '{path}'")


def _layers(graph: Any, which: str) -> list[str]:
    from nn2hls.ir.ops import Conv, Dense, Input

    nodes = [n for n in graph.topological() if not isinstance(n.op, Input)]
    if which == "weights":
        nodes = [n for n in nodes if isinstance(n.op, (Dense, Conv))]
    return [n.name for n in nodes]


def _apply(tree: dict[str, Any], key: str, value: Any, graph: Any) -> None:
    parts = key.split(".")
    section = _layer_section(parts)
    if section and parts[2] == WILDCARD:
        for layer in _layers(graph, section):
            _set_path(tree, parts[:2] + [layer] + parts[3:], value)
    else:
        _set_path(tree, parts, value)


def point_id(config: Config) -> str:
    """The point's id: 16 hex digits of SHA-256 over its resolved config without `calibration`."""
    resolved = config_to_dict(config)
    resolved.pop("calibration", None)
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def expand(space: Space, base: Config, graph: Any, calibration: str = "") -> list[Point]:
    """The scan's points: base config + each point's values, validated; `*` expanded on `graph`.

    `calibration` (a file path) is written into every point's config so that the config file alone
    reproduces the point with `nn2hls convert -c`; it is not part of the point id.
    """
    base_tree = config_to_dict(base)
    points: list[Point] = []
    for values in space.points():
        tree = copy.deepcopy(base_tree)
        for key, value in values.items():
            _apply(tree, key, value, graph)
        tree["calibration"] = calibration
        where = ", ".join(f"{k}={v!r}" for k, v in values.items())
        cfg = config_from_dict(tree, source=f"{space.source}, point {where}")
        points.append(Point(values, cfg, point_id(cfg)))
    return points
