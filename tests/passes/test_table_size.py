"""precision.table_size auto: each table node gets the smallest power-of-two table whose error is within
max(result LSB, L * input LSB) (nn2hls.ir.tables.auto_table_size), checked against numpy's float
functions on every representable input; an explicit table_size still wins."""
import math

import numpy as np
import pytest

from nn2hls.config import Config, PrecisionSpec
from nn2hls.emulate import emulate
from nn2hls.ir import ops, tables
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType
from nn2hls.passes.pipeline import run_passes

IN_TYPE = "ap_fixed<12,4,AP_RND,AP_SAT>"  # every value in [-8, 8) at LSB 2**-8: the whole sigmoid table


def _sigmoid_model() -> Graph:
    g = Graph("sig")
    x = g.add(ops.Input(shape=(1,)), name="x")
    s = g.add(ops.Activation(function="sigmoid"), [x.name], name="sig")
    g.outputs = [s.name]
    return g


def _every_input(t: FixedType) -> np.ndarray:
    raw = np.arange(-(1 << (t.width - 1)), 1 << (t.width - 1), dtype=np.float64)
    return (raw * t.lsb).reshape(-1, 1)


# result width -> (entries written down by hand from the rule, the tolerance it promises)
# width 8:  result ap_ufixed<8,1>, LSB 2**-7:  step 2**-4, 256 entries
# width 10: LSB 2**-9: step 2**-6, 1024 entries
# width 12: LSB 2**-11 is finer than 1/4 * 2**-8 = 2**-10 (what the input resolves): tol 2**-10, step 2**-7
@pytest.mark.parametrize("width, size, tol", [(8, 256, 2.0 ** -7), (10, 1024, 2.0 ** -9), (12, 2048, 2.0 ** -10)])
def test_auto_sigmoid_table_error_within_one_result_lsb(width, size, tol):
    cfg = Config(precision_input=IN_TYPE, precision=PrecisionSpec(result_width=width))
    x = _every_input(FixedType.parse(IN_TYPE))
    g = run_passes(_sigmoid_model(), cfg, x)
    node = g.nodes["sig"]
    spec, result = node.tables["table"], node.precision["result"]
    assert str(result) == f"ap_ufixed<{width},1,AP_RND,AP_SAT>"
    assert spec.size == size
    y = emulate(g, x).outputs[0][:, 0]
    v = x[:, 0]
    expect = 1.0 / (1.0 + np.exp(-v))  # numpy float sigmoid, not the table code
    # interior buckets (the first and last also hold the clamped tails): v in [-8 + step, 8 - step)
    inner = (v >= -8.0 + spec.step) & (v < 8.0 - spec.step)
    err = np.abs(y - expect)[inner]
    # the table's own error is <= tol; the cast to the result type rounds by half its LSB on top
    assert err.max() <= tol + result.lsb / 2
    # and the bound is not loose by more than a factor 4 (the table really is sized for this result)
    assert err.max() > tol / 4


def test_explicit_table_size_wins():
    cfg = Config(precision_input=IN_TYPE, precision=PrecisionSpec(result_width=8, table_size=512))
    g = run_passes(_sigmoid_model(), cfg, _every_input(FixedType.parse(IN_TYPE)))
    assert g.nodes["sig"].tables["table"].size == 512


def test_wide_result_is_capped():
    # ap_ufixed<16,1>: LSB 2**-15 would need 2**16 entries over [-8, 8); the cap is 4096 (4 BRAM18)
    cfg = Config(precision_input="ap_fixed<16,4,AP_RND,AP_SAT>", precision=PrecisionSpec(result_width=16))
    g = run_passes(_sigmoid_model(), cfg)
    assert tables.MAX_AUTO_TABLE_SIZE == 4096
    assert g.nodes["sig"].tables["table"].size == 4096


def test_coarse_input_gets_a_table_at_its_resolution():
    # input LSB 1/16: sigmoid moves by up to 1/64 per input step, coarser than the 16-bit result's LSB;
    # tol 2**-6 allows buckets of 2 inputs (w = 1/16, error 1/4 * 1/32 = 1/128): step 1/8, 128 entries
    cfg = Config(precision_input="ap_fixed<8,4,AP_RND,AP_SAT>", precision=PrecisionSpec(result_width=16))
    g = run_passes(_sigmoid_model(), cfg)
    spec = g.nodes["sig"].tables["table"]
    assert (spec.size, spec.step) == (128, 1 / 8)


def _residual(f):
    return lambda v: f(v) - np.maximum(v, 0.0)


_ERF = np.vectorize(math.erf)
FLOAT_FUNCTIONS = {  # numpy float forms (an independent path from nn2hls.ir.tables)
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "tanh": np.tanh,
    "celu": lambda v: np.expm1(np.minimum(v, 0.0)),
    "softsign": lambda v: v / (1.0 + np.abs(v)),
    "exp": lambda v: np.exp(np.minimum(v, 0.0)),
    "inv": lambda v: 1.0 / np.maximum(v, 1.0),
    "softplus": _residual(lambda v: np.logaddexp(0.0, v)),
    "swish": _residual(lambda v: v / (1.0 + np.exp(-v))),
    "mish": _residual(lambda v: v * np.tanh(np.logaddexp(0.0, v))),
    "gelu": _residual(lambda v: 0.5 * v * (1.0 + _ERF(v / math.sqrt(2.0)))),
    "gelu_tanh": _residual(lambda v: 0.5 * v * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))),
}


@pytest.mark.parametrize("function", sorted(FLOAT_FUNCTIONS))
def test_max_slope_bounds_the_float_function(function):
    v = np.linspace(-16.0, 16.0, 320_001) if function != "inv" else np.linspace(1.0, 64.0, 320_001)
    f = FLOAT_FUNCTIONS[function](v)
    slope = np.abs(np.diff(f) / np.diff(v)).max()
    assert slope <= tables.max_slope(function) * (1 + 1e-9)
    assert slope >= tables.max_slope(function) * 0.99  # the bound is the real maximum, not loose
