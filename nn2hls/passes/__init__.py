"""Graph passes: folding, pruning, precision assignment, weight quantization (see pipeline.py).

Public entry point: `run_passes(graph, config, calibration=None) -> Graph` (a typed, verified copy);
`DEFAULT_PIPELINE` lists the passes in order and `REGISTRY` maps every pass name to its class.
"""
from nn2hls.passes.pipeline import DEFAULT_PIPELINE, REGISTRY, pipeline_for, run_passes

__all__ = ["run_passes", "pipeline_for", "DEFAULT_PIPELINE", "REGISTRY"]
