"""What each layer function asks of the HLS scheduler (io_parallel): the pragmas, and the multipliers
and initiation interval they request, which the report (`nn2hls.report`) counts.

Rules (UG1399, "Function Pipelining", "Optimizing for Throughput: DATAFLOW", "pragma HLS allocation"):
- every layer is its own function (not inlined), with its own pragmas and its own csynth report entry;
- the top function is pipelined (`#pragma HLS PIPELINE`) only when every layer is fully unrolled on
  purpose: strategy `latency` and reuse factor 1 for all layers. A pipelined function unrolls every
  loop beneath it, so each output position of a Conv or pooling layer then gets its own datapath:
  products = the per-position products times the positions (taps in the zero padding fold away);
- otherwise the top is `#pragma HLS DATAFLOW` (one process per layer) and each layer keeps its own
  schedule: Conv and pooling keep their output-position loop rolled and pipelined with II = RF
  (one position every RF cycles, all its products unrolled); every other layer is pipelined at
  function level with II = RF. A weighted layer (Dense, Conv) with RF > 1, or with the `resource`
  strategy, also gets `#pragma HLS ALLOCATION ... instances=mul limit=ceil(P / RF)`, P its general
  products per call (per position for Conv; all positions for Dense): each multiplier is shared by
  RF products, so the pragmas request exactly ceil(P / RF) multipliers. Zero weights have no product
  (no entry), so sparsity still reduces P before the division.
- io_stream (`stream.py`): the top is always DATAFLOW; a Conv's position loop (over the padded raster
  scan of its line buffer) keeps II = RF and the same ALLOCATION limit, element-wise layers pipeline
  their pixel loop at II = RF, and every other layer keeps the pragmas above on its io_parallel function.
- strategy `resource` differs from `latency` only at RF 1: the layer stays rolled (its own DATAFLOW
  process with an ALLOCATION limit) instead of joining a fully unrolled, pipelined top.
"""
from __future__ import annotations

import math
from typing import Any

from nn2hls.config import Config
from nn2hls.ir.graph import Graph
from nn2hls.ir.ops import Input

POSITION_LOOP_KINDS = ("conv_rows", "pool_max", "pool_avg")  # kernels with a rolled output-position loop
WEIGHTED_KINDS = ("dense", "dense_shared", "conv_rows")


def top_pipelined(graph: Graph, config: Config) -> bool:
    """True when every layer is fully unrolled on purpose (latency strategy, RF 1; distributed_arithmetic,
    the Verilog backend's adder graphs, is unrolled too); never for io_stream, whose top is DATAFLOW
    over stream processes (backends/vivado/stream.py)."""
    if config.io_type == "io_stream":
        return False
    layers = [n for n in graph.topological() if not isinstance(n.op, Input)]
    return all(config.layer_reuse(n.name) == 1 and config.layer_strategy(n.name) in ("latency", "distributed_arithmetic")
               for n in layers)


def multiplier_limit(products: int, reuse: int) -> int:
    """Multipliers requested for `products` products shared over `reuse` cycles."""
    return math.ceil(products / max(reuse, 1))


def layer_calls(kind: str, params: dict[str, Any]) -> int:
    """Products of the layer's code per call of its pipelined body (per position for the position-loop
    kernels, all positions for Dense) per general product listed."""
    return 1 if kind in POSITION_LOOP_KINDS else int(params.get("positions", 1))


def layer_pragmas(kind: str, products: int, params: dict[str, Any], reuse: int, strategy: str,
                  pipelined_top: bool, vitis: bool) -> list[str]:
    """Function-level pragmas of one layer function (module doc)."""
    if pipelined_top:
        return []
    pragmas = []
    if kind not in POSITION_LOOP_KINDS:
        pragmas.append(f"#pragma HLS PIPELINE II = {reuse}")
    per_call = products * layer_calls(kind, params)
    if kind in WEIGHTED_KINDS and per_call and (reuse > 1 or strategy == "resource"):
        limit = multiplier_limit(per_call, reuse)
        pragmas.append(f"#pragma HLS ALLOCATION operation instances=mul limit={limit}" if vitis
                       else f"#pragma HLS ALLOCATION instances=mul limit={limit} operation")
    return pragmas
