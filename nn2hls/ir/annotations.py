"""Typed node annotations: what a frontend declared about a node and what passes decided about it.

Rule: frontends and passes talk about a node only through `Node.annotations` (a `NodeAnnotations`,
one field per concept, defaults meaning "nothing to say"); precision roles are `Role` members
(str-valued, so config files, JSON and `node.precision["result"]` keep their spellings). The printer
shows the non-default fields; `nn2hls.ir.verify` checks them against the node's op.

Fields (who writes them -> who reads them):
- `forced_precision` {Role: FixedType}: types the source declared or an exact rewrite needs
  (frontends, exact_weight_types, carry_scales, factor_weights, fold_into_quantizer) -> assign_precision.
- `exact_result`: the result is kept exact (no rounding between a layer and its factored scale,
  dequantizing ScaleShifts) -> quant_rules.exact_result.
- `keep_separate` (reason text): a ScaleShift that must not be folded into a neighbour -> fold_scale_shift.
- `bipolar_sign`: the sign ScaleShift of a bipolar quantizer (ONNX frontend) -> assign_precision.
- `dequant` / `requant`: a ScaleShift dequantizing an integer tensor, or requantizing to one
  (scale, zero point, integer range) (ONNX frontend) -> carry_scales, fold_into_quantizer, overflows.
- `exact_affine`: the exact rational scale/shift a rounded ScaleShift stands for (carry_scales).
- `quant_affine` / `quant_affine_bits`: scale/shift folded into a quantizer's thresholds
  (fold_into_quantizer) and the constant grid chosen for them (assign_precision).
- `weight_quantizer`: the source declared this Dense/Conv's weights quantized (QONNX constant
  quantizer scales, QKeras quantizers, HGQ) -> exact_weight_types.
- `quantized_weights`, `integer_input`, `factored_scale` (node name), `multiplier_free`: facts set by
  the quantized-weight passes -> fold_batchnorm, factor_weights, backend.
- `folded` (source names), `pruning` (PruningStats): what passes folded into / pruned from the node.

`to_meta` / `from_meta` give the plain-dict spelling stored in a project's `nn2hls_graph.json`
under each node's "meta" (the keys above; unknown keys are refused when loading).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from nn2hls.errors import GraphError
from nn2hls.ir.types import FixedType


class Role(str, Enum):
    """A precision role of a node (a key of `Node.precision`), spelled as in config files and JSON."""

    RESULT = "result"
    WEIGHT = "weight"
    BIAS = "bias"
    ACCUM = "accum"
    RECIP = "recip"
    PARAM = "param"
    TABLE = "table"
    EXP = "exp"
    SUM = "sum"
    INV = "inv"
    THR = "thr"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


ROLES: frozenset[str] = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class Dequant:
    """y = scale * (q - zero_point): a ScaleShift dequantizing the integer tensor q."""

    scale: float
    zero_point: float


@dataclass(frozen=True)
class Requant:
    """q = cast(x / scale + zero_point) into the integers [lo, hi]: a requantizing ScaleShift."""

    scale: float
    zero_point: float
    lo: int
    hi: int


@dataclass(frozen=True)
class ExactAffine:
    """The exact rational scale and shift (as Fraction strings) a rounded ScaleShift stands for."""

    scale: tuple[str, ...]
    shift: tuple[str, ...]


@dataclass(frozen=True)
class QuantAffine:
    """A scale/shift folded into the thresholds of the quantizer it feeds.

    `scale`/`shift` are exact rationals (Fraction strings) per channel; `quant` is the quantizer's
    definition (`bipolar`, or `scale`, `bit_width`, `signed`, `narrow`, `rounding_mode`; and
    `post_low`, the low clamp of a ReLU/clip between them, a Fraction string or None);
    `reads_input` tells whether the node reads a graph Input."""

    scale: tuple[str, ...]
    shift: tuple[str, ...]
    quant: dict[str, Any]
    reads_input: bool


@dataclass(frozen=True)
class WeightQuantizer:
    """What the source file declared about a Dense/Conv's weights (acted on by exact_weight_types).

    `source`: 'qonnx' (a constant QONNX quantizer; `scales` its distinct scales), 'qkeras' (a QKeras
    kernel quantizer; `quantized_bias` when a bias quantizer is set too) or 'hgq' (an HGQ proxy model,
    weights stored on their quantized grid)."""

    source: str
    scales: tuple[float, ...] = ()
    quantized_bias: bool = False

    SOURCES = ("qonnx", "qkeras", "hgq")


@dataclass
class PruningStats:
    """Kernel weights of a node: total, zero now, zeroed by the prune pass, zeroed by quantization."""

    weights: int
    zeros: int = 0
    pruned: int = 0
    quantized_zero: int | None = None

    def as_dict(self) -> dict[str, int]:
        out = {"weights": self.weights, "zeros": self.zeros, "pruned": self.pruned}
        if self.quantized_zero is not None:
            out["quantized_zero"] = self.quantized_zero
        return out


@dataclass
class NodeAnnotations:
    """Everything frontends and passes record about one node (module docstring: who writes what)."""

    forced_precision: dict[Role, FixedType] = field(default_factory=dict)
    exact_result: bool = False
    keep_separate: str = ""
    bipolar_sign: bool = False
    dequant: Dequant | None = None
    requant: Requant | None = None
    exact_affine: ExactAffine | None = None
    quant_affine: QuantAffine | None = None
    quant_affine_bits: int | None = None
    weight_quantizer: WeightQuantizer | None = None
    quantized_weights: bool = False
    integer_input: bool = False
    factored_scale: str = ""
    multiplier_free: bool = False
    folded: list[str] = field(default_factory=list)
    pruning: PruningStats | None = None

    # ---- queries ------------------------------------------------------------------------------
    def set_fields(self) -> list[str]:
        """Names of the fields that differ from their default, in declaration order."""
        default = NodeAnnotations()
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(default, f.name)]

    def carries_quantizer_role(self) -> bool:
        """True when anything besides `folded` and `pruning` is set (a plain ScaleShift has neither)."""
        return bool(set(self.set_fields()) - {"folded", "pruning"})

    def force(self, role: Role | str, t: FixedType | None) -> None:
        """Force `role` to `t`; None removes a forced type."""
        role = Role(role)
        if t is None:
            self.forced_precision.pop(role, None)
        else:
            self.forced_precision[role] = t

    # ---- plain-dict form (project files, printer) ---------------------------------------------
    def to_meta(self) -> dict[str, Any]:
        """The non-default fields as plain values (dicts, lists, tuples, FixedType), old key spellings."""
        out: dict[str, Any] = {}
        for name in self.set_fields():
            value = getattr(self, name)
            if name == "forced_precision":
                value = {str(k): v for k, v in value.items()}
            elif name == "exact_affine":
                value = (list(value.scale), list(value.shift))
            elif name == "pruning":
                value = value.as_dict()
            elif dataclasses.is_dataclass(value):
                value = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            elif isinstance(value, list):
                value = list(value)
            out[name] = value
        return out

    @classmethod
    def from_meta(cls, meta: dict[str, Any], where: str = "node") -> "NodeAnnotations":
        """Rebuild from `to_meta`'s form (GraphError naming `where` for unknown keys or bad values)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(meta) - known)
        if unknown:
            raise GraphError(f"{where}: unknown annotation(s) {', '.join(unknown)}; convert the model again")
        ann = cls()
        try:
            for name, value in meta.items():
                if name == "forced_precision":
                    value = {Role(k): v if isinstance(v, FixedType) else FixedType.parse(str(v))
                             for k, v in value.items()}
                elif name == "exact_affine":
                    value = ExactAffine(tuple(value[0]), tuple(value[1]))
                elif name == "quant_affine":
                    value = QuantAffine(tuple(value["scale"]), tuple(value["shift"]), dict(value["quant"]),
                                        bool(value["reads_input"]))
                elif name == "dequant":
                    value = Dequant(float(value["scale"]), float(value["zero_point"]))
                elif name == "requant":
                    value = Requant(float(value["scale"]), float(value["zero_point"]), int(value["lo"]),
                                    int(value["hi"]))
                elif name == "weight_quantizer":
                    value = WeightQuantizer(str(value["source"]), tuple(float(v) for v in value.get("scales", ())),
                                            bool(value.get("quantized_bias", False)))
                elif name == "pruning":
                    value = PruningStats(**{k: int(v) for k, v in value.items()})
                elif name == "folded":
                    value = [str(v) for v in value]
                setattr(ann, name, value)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise GraphError(f"{where}: damaged annotation ({exc}); convert the model again") from None
        return ann

    def describe(self) -> str:
        """Compact text of the non-default fields (the IR printer's `[...]`), '' when none."""
        parts = []
        for name, value in self.to_meta().items():
            if value is True:
                parts.append(name)
            elif name == "forced_precision":
                parts.append(name + "={" + ", ".join(f"{k}={value[k]}" for k in sorted(value)) + "}")
            elif name == "keep_separate":
                parts.append(name)
            elif name in ("exact_affine", "quant_affine"):
                parts.append(name)
            elif isinstance(value, dict):
                parts.append(name + "(" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()) + ")")
            elif isinstance(value, list):
                parts.append(name + "=[" + ", ".join(str(v) for v in value) + "]")
            else:
                parts.append(f"{name}={value}")
        return ", ".join(parts)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _short(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_short(v) for v in value[:4]) + (",..." if len(value) > 4 else "") + "]"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)
