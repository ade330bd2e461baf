"""The pass pipeline: the explicit registry, the default order, and `run_passes`.

DEFAULT_PIPELINE, top to bottom:

    exact_weight_types  weights a frontend marked quantized (annotations.weight_quantizer) keep exact
                        types; non-power-of-two quantizer scales are factored out of integer weights
    carry_scales        dequantizing ScaleShifts move past the next layer; merged into requantizations
    fold_transpose      Transpose -> Flatten -> Dense: permute the Dense rows instead
    remove_identity     linear activations, identity reshapes/transposes/scale-shifts, Reshape chains
    fold_batchnorm      BatchNorm into the preceding Dense/Conv, else a ScaleShift (none remains)
    fold_scale_shift    ScaleShift into a neighbouring Dense/Conv where exact
    prune               magnitude pruning (config.pruning)
    factor_weights      ternary/binary float weights -> +-1 weights and one scale per output
    fold_into_quantizer scale/shift chains (BatchNorm, requantization) before a quantizer -> one, exact
    assign_precision    every node's fixed-point types (needs the final float weights)
    quantize_weights    weights -> their exactly representable quantized values

Optional passes (REGISTRY entries outside the default list) are inserted by `config.passes_add` at a
fixed place, `OPTIONAL_AFTER[name]`: `search_precision` goes right after `assign_precision` (it is
also added when `config.search.enabled`). `config.passes_disable` removes names from the list
(disabling assign_precision or quantize_weights is refused: the result must be typed). Unknown names
are a ConfigError listing the known ones.

`run_passes` works on a copy, verifies the IR after every pass (a failure names the pass and the
node), then verifies the result as a typed graph. The log is `graph.meta['pass_log']`, a list of
(pass name, changed, notes); warnings are in `graph.meta['pass_warnings']`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from nn2hls.config import Config
from nn2hls.errors import ConfigError, GraphError
from nn2hls.inputs import validate_feed
from nn2hls.ir import feeds
from nn2hls.ir.graph import Graph
from nn2hls.ir.verify import verify
from nn2hls.passes.assign_precision import AssignPrecision
from nn2hls.passes.base import Pass, PassContext, log
from nn2hls.passes.carry_scales import CarryScales
from nn2hls.passes.exact_weight_types import ExactWeightTypes
from nn2hls.passes.factor_weights import FactorWeights
from nn2hls.passes.fold_batchnorm import FoldBatchNorm
from nn2hls.passes.fold_into_quantizer import FoldIntoQuantizer
from nn2hls.passes.fold_scale_shift import FoldScaleShift
from nn2hls.passes.fold_transpose import FoldTranspose
from nn2hls.passes.prune import Prune
from nn2hls.passes.quantize_weights import QuantizeWeights
from nn2hls.passes.remove_identity import RemoveIdentity
from nn2hls.passes.search_precision import SearchPrecision

REGISTRY: dict[str, Callable[[], Pass]] = {
    "exact_weight_types": ExactWeightTypes,
    "carry_scales": CarryScales,
    "fold_transpose": FoldTranspose,
    "remove_identity": RemoveIdentity,
    "fold_batchnorm": FoldBatchNorm,
    "fold_scale_shift": FoldScaleShift,
    "prune": Prune,
    "factor_weights": FactorWeights,
    "fold_into_quantizer": FoldIntoQuantizer,
    "assign_precision": AssignPrecision,
    "search_precision": SearchPrecision,
    "quantize_weights": QuantizeWeights,
}

DEFAULT_PIPELINE: list[str] = [
    "exact_weight_types",
    "carry_scales",
    "fold_transpose",
    "remove_identity",
    "fold_batchnorm",
    "fold_scale_shift",
    "prune",
    "factor_weights",
    "fold_into_quantizer",
    "assign_precision",
    "quantize_weights",
]

OPTIONAL_AFTER: dict[str, str] = {"search_precision": "assign_precision"}
REQUIRED = ("assign_precision", "quantize_weights")


def pipeline_for(config: Config) -> list[str]:
    """The pass names run for `config`, in order."""
    for name in list(config.passes_disable) + list(config.passes_add):
        if name not in REGISTRY:
            raise ConfigError(f"unknown pass {name!r} in passes_disable/passes_add; known: {', '.join(REGISTRY)}")
    for name in config.passes_disable:
        if name in REQUIRED:
            raise ConfigError(f"pass {name!r} cannot be disabled: the compiled graph must be typed and quantized")
    names = list(DEFAULT_PIPELINE)
    extra = list(config.passes_add)
    if config.search.enabled and "search_precision" not in extra:
        extra.append("search_precision")
    for name in extra:
        if name in names:
            continue
        anchor = OPTIONAL_AFTER.get(name)
        if anchor is None:
            raise ConfigError(f"pass {name!r} is already in the default pipeline or has no insertion point")
        names.insert(names.index(anchor) + 1, name)
    return [n for n in names if n not in config.passes_disable]


def _check_calibration(graph: Graph, calibration) -> "np.ndarray | list[np.ndarray] | None":
    if calibration is None:
        return None
    arrays = validate_feed(feeds.specs(graph), calibration, what="calibration data",
                           owner=[f"input {inp.label()}" for inp in graph.inputs],
                           labels=["calibration data"] * len(graph.inputs))
    return feeds.canonical(arrays)


def run_passes(graph: Graph, config: Config | None = None, calibration: np.ndarray | None = None, *,
               passes: list[str] | None = None) -> Graph:
    """Run the pipeline on a copy of `graph`; return the typed, verified copy.

    `passes` replaces the configured list (tests, tools); the result is then verified typed only
    when it contains assign_precision.
    """
    config = config or Config()
    names = pipeline_for(config) if passes is None else list(passes)
    for name in names:
        if name not in REGISTRY:
            raise ConfigError(f"unknown pass {name!r}; known: {', '.join(REGISTRY)}")
    out = graph.copy()
    verify(out)
    ctx = PassContext(config, _check_calibration(out, calibration))
    pass_log: list[tuple[str, bool, list[str]]] = list(out.meta.get("pass_log", []))
    for name in names:
        p = REGISTRY[name]()
        result = p.run(out, ctx)
        pass_log.append((name, result.changed, list(result.notes)))
        log.info("pass %s: changed=%s", name, result.changed)
        try:
            verify(out)
        except GraphError as exc:
            raise GraphError(f"after pass {name!r}: {exc}") from None
    if "assign_precision" in names:
        verify(out, typed=True)
    out.meta["pass_log"] = pass_log
    out.meta["pass_warnings"] = list(ctx.warnings)
    return out
