"""The pipeline: registry, configured order, verification after every pass, typed copies, real models."""
from pathlib import Path

import numpy as np
import pytest

from nn2hls.config import Config, SearchSpec
from nn2hls.errors import ConfigError, GraphError, InputDataError
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.base import PassResult
from nn2hls.passes.pipeline import DEFAULT_PIPELINE, REGISTRY, pipeline_for, run_passes

ROOT = Path(__file__).resolve().parents[2]


def _graph():
    g = Graph("m")
    x = g.add(ops.Input(shape=(2,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": [[1.0, 2.0], [3.0, -4.0]], "bias": [0.5, 0.0]})
    r = g.add(ops.Activation(function="relu"), [d.name], name="r")
    g.outputs = [r.name]
    return g


def test_default_order_and_config_edits():
    assert DEFAULT_PIPELINE == ["exact_weight_types", "carry_scales", "fold_transpose", "remove_identity", "fold_batchnorm", "fold_scale_shift",
                                "prune", "factor_weights", "fold_into_quantizer", "assign_precision",
                                "quantize_weights"]
    assert set(DEFAULT_PIPELINE) < set(REGISTRY)
    assert pipeline_for(Config()) == DEFAULT_PIPELINE
    cfg = Config(passes_disable=["prune", "fold_transpose"], passes_add=["search_precision"])
    assert pipeline_for(cfg) == ["exact_weight_types", "carry_scales", "remove_identity", "fold_batchnorm", "fold_scale_shift", "factor_weights",
                                 "fold_into_quantizer", "assign_precision", "search_precision", "quantize_weights"]
    assert pipeline_for(Config(search=SearchSpec(enabled=True))).count("search_precision") == 1
    with pytest.raises(ConfigError, match="unknown pass 'fold_everything' in passes_disable/passes_add; known: "):
        pipeline_for(Config(passes_disable=["fold_everything"]))
    with pytest.raises(ConfigError, match="pass 'quantize_weights' cannot be disabled"):
        pipeline_for(Config(passes_disable=["quantize_weights"]))


def test_run_passes_returns_typed_copy_with_log():
    g = _graph()
    before = str(g)
    out = run_passes(g, Config(), np.array([[1.0, 1.0], [-2.0, 0.5]]))
    assert str(g) == before and out is not g
    assert [entry[0] for entry in out.meta["pass_log"]] == DEFAULT_PIPELINE
    assert all(isinstance(entry[1], bool) and isinstance(entry[2], list) for entry in out.meta["pass_log"])
    assert all("result" in n.precision for n in out.topological())
    assert out.meta["pass_warnings"] == []


def test_broken_pass_is_named(monkeypatch):
    class Breaker:
        name = "breaker"

        def run(self, graph, ctx):
            graph["d"].shape = (3,)
            return PassResult(True, ["broke it"])

    monkeypatch.setitem(REGISTRY, "breaker", Breaker)
    with pytest.raises(GraphError, match=r"after pass 'breaker': node 'd': stored shape \(3,\) but Dense gives \(2,\)"):
        run_passes(_graph(), Config(), passes=["breaker"])


def test_calibration_shape_checked():
    with pytest.raises(InputDataError, match=r"calibration data has shape \(4, 3\); input .* expects \(N, 2\)"):
        run_passes(_graph(), Config(), np.zeros((4, 3)))


def test_step_limit_bounds_simplification():
    g = Graph("long")
    prev = g.add(ops.Input(shape=(2,)), name="x")
    for i in range(30):
        prev = g.add(ops.Activation(function="linear"), [prev.name], name=f"lin{i}")
    d = g.add(ops.Dense(), [prev.name], name="d", weights={"kernel": np.eye(2), "bias": [0.0, 0.0]})
    g.outputs = [d.name]
    out = run_passes(g, Config(), passes=["remove_identity"])
    notes = out.meta["pass_log"][0][2]
    assert len(out.nodes) == 2 + 30 - 20
    assert notes[-1] == "step limit of 20 rewrites reached; run the pass again for more"
    again = run_passes(out, Config(), passes=["remove_identity"])
    assert [n.name for n in again.topological()] == ["x", "d"]


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in
                                        list((ROOT / "tests/fixtures/onnx").glob("*.onnx"))
                                        + list((ROOT / "example_models").glob("*.onnx"))))
def test_imported_models_compile_without_overflow(path):
    """Every imported ONNX model: folded, typed, and the emulator (when present) sees no overflow."""
    onnx_front = pytest.importorskip("nn2hls.frontends.onnx")
    from nn2hls.ir.execute import execute

    g = onnx_front.load_onnx(ROOT / path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32,) + tuple(g.input.shape))
    out = run_passes(g, Config(), x)
    assert not any(isinstance(n.op, ops.BatchNorm) for n in out.topological())
    emulate_mod = pytest.importorskip("nn2hls.emulate")
    res = emulate_mod.emulate(out, x)
    assert res.total_overflows == 0
    for fixed_out, float_out in zip(res.outputs, execute(g, x)):
        np.testing.assert_allclose(fixed_out, float_out, atol=0.02)


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/fixtures/keras").glob("*.keras")))
def test_keras_models_compile_without_overflow(path):
    """Keras fixtures cover sigmoid/tanh/elu/clip tables and params, global pools, Concat, residual adds."""
    keras_front = pytest.importorskip("nn2hls.frontends.keras")
    emulate_mod = pytest.importorskip("nn2hls.emulate")
    from nn2hls.ir.execute import execute

    g = keras_front.load_keras(ROOT / path)
    x = np.random.default_rng(1).normal(size=(32,) + tuple(g.input.shape))
    out = run_passes(g, Config(), x)
    res = emulate_mod.emulate(out, x)
    assert res.total_overflows == 0
    for fixed_out, float_out in zip(res.outputs, execute(g, x)):
        np.testing.assert_allclose(fixed_out, float_out, atol=0.02)
