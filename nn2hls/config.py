"""The resolved configuration of one compilation, as typed dataclasses.

Rule: every option has a documented default here; `nn2hls.config_file` turns a YAML file (or a dict)
into a `Config`, naming any unknown key or bad value, and `Config.to_dict()` gives the fully resolved
form that `convert` writes into the project. Precision specs are strings: a fixed-point type
(`ap_fixed<8,3>`, `fixed<8,3,RND,SAT>`) or `auto` (derived by the precision pass).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nn2hls.errors import ConfigError

DEFAULT_PART = "xcvu13p-flga2577-2-e"  # a Virtex UltraScale+ part


@dataclass
class PrecisionSpec:
    """Types for one layer (or defaults). `auto` means derived by the precision pass."""

    weight: str = "auto"
    bias: str = "auto"
    accum: str = "auto"
    result: str = "auto"
    # widths and modes used when the corresponding type is `auto`
    weight_width: int = 16
    result_width: int = 16
    headroom_bits: int = 1          # extra integer bits above the largest observed/derived magnitude
    rounding: str = "AP_RND"        # Q mode of derived result/input types
    overflow: str = "AP_SAT"        # O mode of derived result/input types
    table_size: int | str = "auto"  # entries of sigmoid/tanh/elu/exp/inverse tables (power of two), or
    #                                 auto: per node, about one result LSB (nn2hls.ir.tables.auto_table_size)
    table_width: int = 18           # width of table entry types


@dataclass
class SearchSpec:
    """Precision search: lower widths while accuracy on calibration data stays within tolerance."""

    enabled: bool = False
    metric: str = "argmax"          # "argmax" (agreement with float) or "max_abs" (error vs float)
    tolerance: float = 0.001        # allowed drop of argmax agreement, or allowed max abs error
    min_width: int = 2


@dataclass
class PruningSpec:
    """Magnitude pruning: a global threshold, per-layer thresholds or per-layer target sparsities."""

    threshold: float = 0.0
    layers: dict[str, float] = field(default_factory=dict)    # layer -> threshold
    sparsity: dict[str, float] = field(default_factory=dict)  # layer -> target fraction of zeros


@dataclass
class Config:
    project_name: str = ""          # default: the model's name
    backend: str = "vivado"         # "vivado" | "vitis" | "verilog"
    part: str = DEFAULT_PART
    clock_period_ns: float = 5.0
    io_type: str = "io_parallel"
    strategy: str = "latency"
    reuse_factor: int = 1
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)  # layer -> reuse_factor / strategy
    precision_input: str = "auto"
    precision_integer_input: str = "auto"  # integer inputs (Embedding indices): an integer TYPE or auto
    precision: PrecisionSpec = field(default_factory=PrecisionSpec)
    precision_layers: dict[str, dict[str, Any]] = field(default_factory=dict)    # by layer name
    precision_op_types: dict[str, dict[str, Any]] = field(default_factory=dict)  # by op kind
    search: SearchSpec = field(default_factory=SearchSpec)
    pruning: PruningSpec = field(default_factory=PruningSpec)
    passes_disable: list[str] = field(default_factory=list)
    passes_add: list[str] = field(default_factory=list)
    calibration: str = ""           # path of an .npy file, optional
    rtl_pipeline: bool = True       # Verilog backend: register every computing layer's output

    def precision_for(self, layer: str, op_kind: str) -> PrecisionSpec:
        """Defaults, overridden by the op type's entry, overridden by the layer's entry."""
        merged = asdict(self.precision)
        merged.update(self.precision_op_types.get(op_kind, {}))
        merged.update(self.precision_layers.get(layer, {}))
        return PrecisionSpec(**merged)

    def layer_reuse(self, layer: str) -> int:
        """The layer's reuse factor: its `layers` entry, else the global one (at least 1)."""
        return max(1, int(self.layers.get(layer, {}).get("reuse_factor", self.reuse_factor)))

    def layer_strategy(self, layer: str) -> str:
        return str(self.layers.get(layer, {}).get("strategy", self.strategy))

    def check_backend(self) -> None:
        """Refuse an interface the chosen backend cannot build, before any work is done.

        Raises ConfigError: the Verilog backend writes io_parallel designs only (docs/verilog.md)."""
        if self.backend == "verilog" and self.io_type != "io_parallel":
            raise ConfigError(f"io_type {self.io_type!r} is not supported by the Verilog backend; use 'io_parallel'")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
