"""YAML configuration files (and plain dicts) -> a validated `nn2hls.config.Config`, and back.

The schema (documented with examples in docs/config.md) is nested for readability; every key is
optional and defaults to the value in `nn2hls.config`:

    project_name: str                  clock_period_ns: float > 0      reuse_factor: int >= 1
    backend: vivado | vitis | verilog  io_type: io_parallel | io_stream  strategy: latency | resource |
                                                                         distributed_arithmetic (verilog)
    layers:  {<layer name>: {reuse_factor: int >= 1, strategy: latency | resource | distributed_arithmetic}}
    rtl_pipeline: bool (Verilog backend: a register after every computing layer; default true)
    part: str                          calibration: path of an .npy file (an .npz keyed by input name for
                                       several inputs), relative to the YAML file
    precision:
      input: TYPE | auto
      integer_input: TYPE | auto     (integer model inputs: a type without fractional bits, <= 32 bits)
      default:   {weight, bias, accum, result: TYPE | auto, weight_width, result_width, headroom_bits,
                  rounding, overflow, table_size (int | auto), table_width}
      op_types:  {<op kind, e.g. Dense>: {same keys as default}}
      layers:    {<layer name>: {same keys as default}}
    search:  {enabled: bool, metric: argmax | max_abs, tolerance: float >= 0, min_width: int >= 1}
    pruning: {threshold: float >= 0, layers: {<layer>: threshold}, sparsity: {<layer>: 0 <= s < 1}}
    passes:  {disable: [pass names], add: [pass names]}

Rule: validation is total and early. An unknown key is an error naming the key (with its dotted path)
and listing the valid keys; a bad value names the key and the valid values (a malformed type string
carries `FixedTypeError`'s explanation). Layer names can only be checked against a model, which
`nn2hls.pipeline` does when it compiles. `config_to_dict` gives the same schema back, fully resolved,
so `load_config(config_to_dict(c)) == c` and the file `convert` writes can be passed to `-c` again.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from nn2hls.config import Config, PrecisionSpec, PruningSpec, SearchSpec
from nn2hls.errors import ConfigError, FixedTypeError
from nn2hls.ir import ap_modes
from nn2hls.ir.ap_modes import OVERFLOW_MODES, QUANT_MODES
from nn2hls.ir.types import MAX_WIDTH, FixedType

BACKENDS = ("vivado", "vitis", "verilog")
IO_TYPES = ("io_parallel", "io_stream")  # io_stream: Vivado/Vitis backends (docs/io_stream.md)
STRATEGIES = ("latency", "resource", "distributed_arithmetic")  # docs/config.md; the last: Verilog backend only
LAYER_KEYS = ("reuse_factor", "strategy")
SEARCH_METRICS = ("argmax", "max_abs")
TYPE_ROLES = ("weight", "bias", "accum", "result")

TOP_KEYS = ("project_name", "backend", "part", "clock_period_ns", "io_type", "strategy", "reuse_factor",
            "layers", "precision", "search", "pruning", "passes", "calibration", "rtl_pipeline")
PRECISION_KEYS = ("input", "integer_input", "default", "op_types", "layers")
PASSES_KEYS = ("disable", "add")
SPEC_KEYS = tuple(f.name for f in fields(PrecisionSpec))
SEARCH_KEYS = tuple(f.name for f in fields(SearchSpec))
PRUNING_KEYS = tuple(f.name for f in fields(PruningSpec))


class _Validator:
    """Checks values and raises ConfigError messages prefixed by the config's source."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {message}")

    def mapping(self, value: Any, key: str, valid: tuple[str, ...] | None) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(f"'{key}' must be a mapping, got {type(value).__name__} {value!r}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(f"key {k!r} in '{key}' must be a string")
            if valid is not None and k not in valid:
                where = f" in '{key}'" if key else ""
                raise self.fail(f"unknown key '{k}'{where}; valid keys: {', '.join(valid)}")
        return dict(value)

    def choice(self, value: Any, key: str, valid: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value.lower() not in valid:
            raise self.fail(f"'{key}' must be one of {', '.join(valid)}, got {value!r}")
        return value.lower()

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"'{key}' must be a string, got {value!r}")
        return value

    def integer(self, value: Any, key: str, low: int, high: int | None = None) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        ok = ok and (high is None or value <= high)
        if not ok:
            span = f"{low}..{high}" if high is not None else f">= {low}"
            raise self.fail(f"'{key}' must be an integer {span}, got {value!r}")
        return int(value)

    def number(self, value: Any, key: str, low: float, *, strict: bool = False, high: float | None = None
               ) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
            ok = (value > low if strict else value >= low) and (high is None or value < high)
        if not ok:
            span = f"{'>' if strict else '>='} {low}" + (f" and < {high}" if high is not None else "")
            raise self.fail(f"'{key}' must be a number {span}, got {value!r}")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"'{key}' must be true or false, got {value!r}")
        return value

    def type_spec(self, value: Any, key: str) -> str:
        """'auto' or a fixed-point type string, returned in canonical Vivado spelling."""
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        try:
            return str(FixedType.parse(value))
        except FixedTypeError as exc:
            raise self.fail(f"'{key}': {exc} (or 'auto')") from None

    def mode(self, value: Any, key: str, parse: Callable[[Any], str | None], valid: tuple[str, ...]) -> str:
        """A quantization or overflow mode in its Vivado spelling (`ap_modes.parse_rounding` rules)."""
        mode = parse(value)
        if mode is None:
            raise self.fail(f"'{key}' must be one of {', '.join(valid)}, got {value!r}")
        return mode.value

    def name_list(self, value: Any, key: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"'{key}' must be a list of pass names, got {value!r}")
        return list(value)


def _spec_overrides(v: _Validator, value: Any, key: str) -> dict[str, Any]:
    """Validate one precision block (defaults, an op type's or a layer's) -> {field: value}."""
    block = v.mapping(value, key, SPEC_KEYS)
    out: dict[str, Any] = {}
    for k, item in block.items():
        path = f"{key}.{k}"
        if k in TYPE_ROLES:
            out[k] = v.type_spec(item, path)
        elif k in ("weight_width", "result_width", "table_width"):
            out[k] = v.integer(item, path, 1, MAX_WIDTH)
        elif k == "headroom_bits":
            out[k] = v.integer(item, path, 0, 64)
        elif k == "rounding":
            out[k] = v.mode(item, path, ap_modes.parse_rounding, QUANT_MODES)
        elif k == "overflow":
            out[k] = v.mode(item, path, ap_modes.parse_overflow, OVERFLOW_MODES)
        elif k == "table_size":
            if isinstance(item, str) and item.strip().lower() == "auto":
                out[k] = "auto"
                continue
            if not isinstance(item, int) or isinstance(item, bool):
                raise v.fail(f"'{path}' must be auto or a power of two (e.g. 256, 1024), got {item!r}")
            size = v.integer(item, path, 2, 1 << 20)
            if size & (size - 1):
                raise v.fail(f"'{path}' must be a power of two (e.g. 256, 1024), got {size}")
            out[k] = size
    return out


def _op_kinds() -> tuple[str, ...]:
    from nn2hls.ir.ops import ALL_OPS

    return tuple(op.kind for op in ALL_OPS)


def known_passes() -> tuple[str, ...] | None:
    """Names the pass registry knows, or None when the registry is not importable (no check then)."""
    try:
        from nn2hls.passes import pipeline as pass_pipeline
    except ImportError:
        return None
    for attr in ("REGISTRY", "PASSES", "ALL_PASSES"):
        registry = getattr(pass_pipeline, attr, None)
        if isinstance(registry, Mapping):
            return tuple(registry)
    return None


def config_from_dict(data: Mapping[str, Any] | None, *, source: str = "config",
                     base_dir: Path | None = None) -> Config:
    """Validate a schema-form dict (as read from YAML) and return the resolved Config."""
    v = _Validator(source)
    top = v.mapping(data, "", TOP_KEYS)
    cfg = Config()
    if "project_name" in top:
        cfg.project_name = v.text(top["project_name"], "project_name")
    if "backend" in top:
        cfg.backend = v.choice(top["backend"], "backend", BACKENDS)
    if "part" in top:
        cfg.part = v.text(top["part"], "part")
    if "clock_period_ns" in top:
        cfg.clock_period_ns = v.number(top["clock_period_ns"], "clock_period_ns", 0.0, strict=True)
    if "io_type" in top:
        cfg.io_type = v.choice(top["io_type"], "io_type", IO_TYPES)
    if "strategy" in top:
        cfg.strategy = v.choice(top["strategy"], "strategy", STRATEGIES)
    if "reuse_factor" in top:
        cfg.reuse_factor = v.integer(top["reuse_factor"], "reuse_factor", 1)
    if "rtl_pipeline" in top:
        if not isinstance(top["rtl_pipeline"], bool):
            raise v.fail(f"rtl_pipeline must be true or false, got {top['rtl_pipeline']!r}")
        cfg.rtl_pipeline = top["rtl_pipeline"]
    for layer, block in v.mapping(top.get("layers"), "layers", None).items():
        entry = v.mapping(block, f"layers.{layer}", LAYER_KEYS)
        settings: dict[str, Any] = {}
        if "reuse_factor" in entry:
            settings["reuse_factor"] = v.integer(entry["reuse_factor"], f"layers.{layer}.reuse_factor", 1)
        if "strategy" in entry:
            settings["strategy"] = v.choice(entry["strategy"], f"layers.{layer}.strategy", STRATEGIES)
        cfg.layers[str(layer)] = settings
    if top.get("calibration"):
        path = Path(v.text(top["calibration"], "calibration")).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        cfg.calibration = str(path)

    precision = v.mapping(top.get("precision"), "precision", PRECISION_KEYS)
    if "input" in precision:
        cfg.precision_input = v.type_spec(precision["input"], "precision.input")
    if "integer_input" in precision:
        cfg.precision_integer_input = _integer_type_spec(v, precision["integer_input"], "precision.integer_input")
    cfg.precision = PrecisionSpec(**{**asdict(cfg.precision),
                                     **_spec_overrides(v, precision.get("default"), "precision.default")})
    kinds = _op_kinds()
    for kind, block in v.mapping(precision.get("op_types"), "precision.op_types", kinds).items():
        cfg.precision_op_types[kind] = _spec_overrides(v, block, f"precision.op_types.{kind}")
    for layer, block in v.mapping(precision.get("layers"), "precision.layers", None).items():
        cfg.precision_layers[layer] = _spec_overrides(v, block, f"precision.layers.{layer}")

    search = v.mapping(top.get("search"), "search", SEARCH_KEYS)
    if "enabled" in search:
        cfg.search.enabled = v.boolean(search["enabled"], "search.enabled")
    if "metric" in search:
        cfg.search.metric = v.choice(search["metric"], "search.metric", SEARCH_METRICS)
    if "tolerance" in search:
        cfg.search.tolerance = v.number(search["tolerance"], "search.tolerance", 0.0)
    if "min_width" in search:
        cfg.search.min_width = v.integer(search["min_width"], "search.min_width", 1, MAX_WIDTH)

    pruning = v.mapping(top.get("pruning"), "pruning", PRUNING_KEYS)
    if "threshold" in pruning:
        cfg.pruning.threshold = v.number(pruning["threshold"], "pruning.threshold", 0.0)
    for layer, value in v.mapping(pruning.get("layers"), "pruning.layers", None).items():
        cfg.pruning.layers[layer] = v.number(value, f"pruning.layers.{layer}", 0.0)
    for layer, value in v.mapping(pruning.get("sparsity"), "pruning.sparsity", None).items():
        cfg.pruning.sparsity[layer] = v.number(value, f"pruning.sparsity.{layer}", 0.0, high=1.0)

    passes = v.mapping(top.get("passes"), "passes", PASSES_KEYS)
    cfg.passes_disable = v.name_list(passes.get("disable"), "passes.disable")
    cfg.passes_add = v.name_list(passes.get("add"), "passes.add")
    valid_passes = known_passes()
    if valid_passes is not None:
        for key, names in (("passes.disable", cfg.passes_disable), ("passes.add", cfg.passes_add)):
            for name in names:
                if name not in valid_passes:
                    raise v.fail(f"unknown pass '{name}' in '{key}'; valid passes: {', '.join(valid_passes)}")
    return cfg


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML file into a dict, turning a missing file or a syntax error into ConfigError."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc.__class__.__name__}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"config file '{path}' is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of keys, got {type(data).__name__}")
    return data


def load_config(source: "Config | Mapping[str, Any] | str | Path | None" = None) -> Config:
    """A Config from nothing (defaults), a Config (copied), a schema dict or a YAML file path."""
    if source is None:
        return Config()
    if isinstance(source, Config):
        return copy.deepcopy(source)
    if isinstance(source, Mapping):
        return config_from_dict(source)
    if isinstance(source, (str, Path)):
        path = Path(source)
        return config_from_dict(read_yaml(path), source=f"config '{path}'", base_dir=path.parent)
    raise ConfigError(f"config must be a Config, a dict or a YAML file path, got {type(source).__name__}")


def _spec_dict(spec: PrecisionSpec) -> dict[str, Any]:
    return {k: v for k, v in asdict(spec).items()}


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """The fully resolved config in the YAML schema (every key present)."""
    return {
        "project_name": cfg.project_name,
        "backend": cfg.backend,
        "part": cfg.part,
        "clock_period_ns": float(cfg.clock_period_ns),
        "io_type": cfg.io_type,
        "strategy": cfg.strategy,
        "reuse_factor": int(cfg.reuse_factor),
        "layers": {k: dict(v) for k, v in cfg.layers.items()},
        "precision": {
            "input": cfg.precision_input,
            "integer_input": cfg.precision_integer_input,
            "default": _spec_dict(cfg.precision),
            "op_types": {k: dict(v) for k, v in cfg.precision_op_types.items()},
            "layers": {k: dict(v) for k, v in cfg.precision_layers.items()},
        },
        "search": asdict(cfg.search),
        "pruning": {"threshold": float(cfg.pruning.threshold), "layers": dict(cfg.pruning.layers),
                    "sparsity": dict(cfg.pruning.sparsity)},
        "passes": {"disable": list(cfg.passes_disable), "add": list(cfg.passes_add)},
        "calibration": cfg.calibration,
        **({"rtl_pipeline": bool(cfg.rtl_pipeline)}
           if cfg.backend == "verilog" or not cfg.rtl_pipeline else {}),  # HLS projects' files unchanged
    }


def dump_config(cfg: Config, path: str | Path) -> Path:
    """Write the fully resolved config as YAML (keys in schema order) and return the path."""
    import yaml

    path = Path(path)
    header = "# nn2hls fully resolved configuration (pass it back with -c to reproduce this project)\n"
    path.write_text(header + yaml.safe_dump(config_to_dict(cfg), sort_keys=False, default_flow_style=False),
                    encoding="utf-8")
    return path


def _integer_type_spec(v: "_Validator", value: Any, key: str) -> str:
    """A type spec (`auto` or a type) that can carry a table index (`nn2hls.ir.lookup`)."""
    from nn2hls.ir.lookup import index_type_problem
    spelled = v.type_spec(value, key)
    if spelled != "auto":
        problem = index_type_problem(FixedType.parse(spelled))
        if problem is not None:
            raise v.fail(f"'{key}': {problem}")
    return spelled


def apply_integer_input(cfg: Config, type_text: str) -> Config:
    """`--integer-input TYPE`: the type of the model's integer inputs (Embedding indices)."""
    cfg.precision_integer_input = _integer_type_spec(_Validator("command line"), type_text, "--integer-input")
    return cfg


def apply_default_precision(cfg: Config, type_text: str) -> Config:
    """`--precision TYPE`: set the default weight, bias and result types and the (float) input type to TYPE.

    Accumulators stay as configured (exact `auto` by default) and per-op-type / per-layer entries of
    the config still win over this default. Returns the same (modified) Config.
    """
    spelled = _Validator("--precision").type_spec(type_text, "--precision")
    cfg.precision.weight = cfg.precision.bias = cfg.precision.result = spelled
    cfg.precision_input = spelled
    return cfg
