"""The space file of `nn2hls explore-compress`: arguments of `nn2hls.compress.flow.compress` and their values.

Rule (docs/explore.md, "Compression scans"): SPACE.yml maps argument names of `compress()` (recipe,
strength, p, target_sparsity, tolerance, bits, criterion, epochs, ...) to
  - a list of values: every value is tried (a grid axis, as `tune.grid_search`);
  - a single value (not a list): fixed for every trial;
  - `{grid: [...]}` (same as a list), `{choice: [...]}` (one value drawn per sample),
    `{uniform: [low, high]}`, `{loguniform: [low, high]}` (low > 0), `{randint: [low, high]}` (high
    excluded), `{quniform: [low, high, q]}`: drawn per sample, as Ray Tune's search spaces of the same names.
The trials are the Cartesian product of the grid axes (last key fastest), repeated `samples` times with
the random keys drawn anew each time. The draws come from a numpy generator seeded with `seed`, before
any trial runs, so the same space, samples and seed give the same trials on every run: that is what
makes a scan resumable and lets the serial and the Ray Tune engine run the very same trials.
Keys the flow owns (model, data, out_dir, resume, check, check_samples for the whole scan) are not
space keys; an unknown key is a one-line ConfigError naming the file and the allowed keys. A trial's id
is the first 16 hex digits of the SHA-256 of its argument dict as canonical JSON.
"""
from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from nn2hls.errors import ConfigError

# compress() arguments a scan sets itself (per scan, not per trial)
OWNED = ("model", "train", "val", "test", "out_dir", "resume", "check")
DISTRIBUTIONS = ("grid", "choice", "uniform", "loguniform", "randint", "quniform")


def space_keys() -> list[str]:
    """The compress() arguments a space may name (read from its signature, so new options are keys too)."""
    from nn2hls.compress.flow import compress

    return [name for name in inspect.signature(compress).parameters if name not in OWNED]


@dataclass(frozen=True)
class Axis:
    """One space key: `kind` is "fixed", "grid" or a random distribution; `args` its values / bounds."""

    key: str
    kind: str
    args: tuple[Any, ...]

    def draw(self, rng: np.random.Generator) -> Any:
        a = self.args
        if self.kind == "choice":
            return _plain(a[int(rng.integers(len(a)))])
        if self.kind == "uniform":
            return float(rng.uniform(a[0], a[1]))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(a[0]), math.log(a[1]))))
        if self.kind == "randint":
            return int(rng.integers(a[0], a[1]))
        if self.kind == "quniform":
            return float(round(float(rng.uniform(a[0], a[1])) / a[2]) * a[2])
        raise AssertionError(self.kind)


@dataclass(frozen=True)
class Trial:
    """One trial: the compress() arguments it sets, the values of the space's varying keys, its id."""

    args: dict[str, Any]
    trial_id: str


@dataclass(frozen=True)
class CompressSpace:
    axes: tuple[Axis, ...]
    source: str = "space"

    @property
    def varying(self) -> list[str]:
        """Keys whose value differs between trials (the results table's config columns)."""
        return [a.key for a in self.axes if a.kind != "fixed" and not (a.kind == "grid" and len(a.args) == 1)]

    def trials(self, samples: int = 1, seed: int = 0) -> list[Trial]:
        """The scan's trials (module rule); duplicates (same arguments) are kept once."""
        if samples < 1:
            raise ConfigError(f"samples is {samples}: give at least 1")
        rng = np.random.default_rng(seed)
        grid = [a for a in self.axes if a.kind == "grid"]
        out: dict[str, Trial] = {}
        for _ in range(samples):
            for combo in itertools.product(*(a.args for a in grid)):
                chosen = dict(zip((a.key for a in grid), combo))
                args = {}
                for axis in self.axes:
                    if axis.kind == "fixed":
                        args[axis.key] = axis.args[0]
                    elif axis.kind == "grid":
                        args[axis.key] = _plain(chosen[axis.key])
                    else:
                        args[axis.key] = axis.draw(rng)
                tid = trial_id(args)
                out.setdefault(tid, Trial(args, tid))
        return list(out.values())


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def trial_id(args: Mapping[str, Any]) -> str:
    text = json.dumps(dict(args), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _axis(key: str, value: Any, where: str) -> Axis:
    if isinstance(value, list):
        value = {"grid": value}
    if not isinstance(value, Mapping):
        return Axis(key, "fixed", (value,))
    if len(value) != 1 or next(iter(value)) not in DISTRIBUTIONS:
        raise ConfigError(f"{where}: key '{key}' must be a value, a list of values or one of "
                          f"{{{', '.join(f'{d}: [...]' for d in DISTRIBUTIONS)}}}, got {dict(value)!r}")
    kind, args = next(iter(value.items()))
    if not isinstance(args, list) or not args:
        raise ConfigError(f"{where}: key '{key}': {kind} needs a non-empty list, got {args!r}")
    bounds = {"uniform": 2, "loguniform": 2, "randint": 2, "quniform": 3}
    if kind in bounds:
        if len(args) != bounds[kind] or not all(_number(v) for v in args) or not args[0] < args[1]:
            raise ConfigError(f"{where}: key '{key}': {kind} needs [low, high{', q' if kind == 'quniform' else ''}] "
                              f"numbers with low < high, got {args!r}")
        if kind == "loguniform" and args[0] <= 0:
            raise ConfigError(f"{where}: key '{key}': loguniform needs low > 0, got {args[0]!r}")
        if kind == "randint" and not all(isinstance(v, int) for v in args):
            raise ConfigError(f"{where}: key '{key}': randint needs integer bounds, got {args!r}")
        if kind == "quniform" and not args[2] > 0:
            raise ConfigError(f"{where}: key '{key}': quniform needs q > 0, got {args[2]!r}")
    return Axis(key, kind, tuple(args))


def compress_space_from_dict(data: Any, source: str = "space") -> CompressSpace:
    """Validate a {compress() argument: values} mapping (module rule); ConfigError naming the key."""
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(f"{source}: give a mapping of compress() arguments to values, e.g. "
                          "'strength: [1e-5, 1e-4]' and 'target_sparsity: [0.5, 0.75]'")
    allowed = space_keys()
    axes = []
    for key, value in data.items():
        if key in OWNED:
            raise ConfigError(f"{source}: key '{key}' is set by the scan itself, not per trial; remove it")
        if key not in allowed:
            raise ConfigError(f"{source}: key '{key}' is not a compress() argument; use one of {', '.join(allowed)}")
        axes.append(_axis(str(key), value, source))
    return CompressSpace(tuple(axes), source)


def load_compress_space(space: Any) -> CompressSpace:
    """A CompressSpace from a YAML file path, a mapping or a CompressSpace."""
    if isinstance(space, CompressSpace):
        return space
    if isinstance(space, (str, Path)):
        from nn2hls.config_file import read_yaml

        return compress_space_from_dict(read_yaml(Path(space)), source=f"space file '{space}'")
    return compress_space_from_dict(space)
