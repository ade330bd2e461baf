"""Shared-weight analysis (nn2hls.report_sharing) and its report columns: hand counts, a brute-force
Conv count with padding, and a k-means shared model."""
from __future__ import annotations

import numpy as np

from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.passes.pipeline import run_passes
from nn2hls.report import build_report, format_report
from nn2hls.report_sharing import grouped_multiplies


def test_dense_counts_distinct_general_magnitudes_per_output():
    kernel = np.array([[0.3, 0.5, 0.0],
                       [-0.3, 1.0, 0.7],
                       [0.3, -0.5, -0.7],
                       [0.7, 0.75, 0.0]])
    # column 0: {0.3, 0.7} -> 2; column 1: 0.5 and 1 are shifts, 0.75 general -> 1; column 2: {0.7} -> 1
    assert grouped_multiplies(kernel) == 4
    assert grouped_multiplies(kernel, positions=5) == 20


def _brute_conv1d(kernel, length, pad, stride=1):
    """Distinct general magnitudes per (output position, filter) over the taps inside the input."""
    k = kernel.shape[0]
    out_len = (length + 2 * pad - k) // stride + 1
    total = 0
    for p in range(out_len):
        for o in range(kernel.shape[-1]):
            seen = set()
            for t in range(k):
                pos = p * stride - pad + t
                if 0 <= pos < length:
                    for v in kernel[t, :, o]:
                        m = abs(float(v))
                        if m != 0 and np.frexp(m)[0] != 0.5:
                            seen.add(m)
            total += len(seen)
    return total


def test_conv_count_matches_brute_force_with_padding():
    rng = np.random.default_rng(0)
    kernel = rng.choice([0.0, 0.3, -0.3, 0.5, 0.9, -0.9, 1.1], size=(5, 3, 4))
    g = Graph("c")
    x = g.add(ops.Input(shape=(9, 3)), name="x")
    c = g.add(ops.Conv(ndim=1, kernel_size=(5,), strides=(1,), dilations=(1,), pads=((2, 2),)), [x.name], name="c",
              weights={"kernel": kernel, "bias": np.zeros(4)})
    g.outputs = [c.name]
    typed = run_passes(g, Config(precision_input="ap_fixed<8,4>"))
    row = next(r for r in build_report(typed, Config())["layers"] if r["name"] == "c")
    assert row["mult_shared"] == _brute_conv1d(typed.nodes["c"].weights["kernel"], 9, 2)
    assert 0 < row["mult_shared"] < row["mult_general"]
    assert row["shared_saving"] == row["mult_general"] - row["mult_shared"]


def test_kmeans_shared_model_report_shows_saving():
    rng = np.random.default_rng(1)
    codebook = np.array([-0.83, -0.41, 0.37, 0.79])
    g = Graph("s")
    x = g.add(ops.Input(shape=(32,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": rng.choice(codebook, size=(32, 16)),
                                                         "bias": np.zeros(16)})
    g.outputs = [d.name]
    typed = run_passes(g, Config(), rng.normal(size=(100, 32)))
    report = build_report(typed, Config())
    row = report["layers"][0]
    kernel = typed.nodes["d"].weights["kernel"]
    assert np.unique(np.abs(kernel)).size == 4  # the 16-bit weight type keeps the four magnitudes apart
    assert row["mult_general"] == 32 * 16
    assert row["mult_shared"] == sum(np.unique(np.abs(kernel[:, o])).size for o in range(16)) == 16 * 4
    assert report["totals"]["shared_saving"] == 32 * 16 - 64
    assert "grouping equal weights per output would leave 64 general multiplies (saving 448)" in format_report(report)


def test_no_saving_line_for_general_weights():
    rng = np.random.default_rng(2)
    g = Graph("n")
    x = g.add(ops.Input(shape=(8,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": rng.normal(size=(8, 4)), "bias": np.zeros(4)})
    g.outputs = [d.name]
    report = build_report(run_passes(g, Config(), rng.normal(size=(50, 8))), Config())
    assert report["totals"]["shared_saving"] == 0
    assert "weight sharing" not in format_report(report)


def test_other_ops_carry_their_general_multiplies():
    g = Graph("e")
    x = g.add(ops.Input(shape=(4,)), name="x")
    s = g.add(ops.ScaleShift(), [x.name], name="s", weights={"scale": np.array([0.3, 0.7, 0.3, 0.9]),
                                                               "shift": np.zeros(4)})
    g.outputs = [s.name]
    row = build_report(run_passes(g, Config(precision_input="ap_fixed<8,4>")), Config())["layers"][0]
    assert row["mult_shared"] == row["mult_general"] == 4 and row["shared_saving"] == 0


SHARED_KERNEL = np.array([[0.375, 0.625],
                          [0.375, 0.625],
                          [-0.375, 0.625],
                          [0.625, 0.0]])


def _shared_dense_row(**config_args):
    """(the typed graph, the report row) of a 4 -> 2 Dense with SHARED_KERNEL, 8-bit weights and inputs."""
    from nn2hls.config import PrecisionSpec

    g = Graph("e")
    x = g.add(ops.Input(shape=(4,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": SHARED_KERNEL, "bias": np.zeros(2)})
    g.outputs = [d.name]
    config = Config(precision_input="ap_fixed<8,4>",
                    precision=PrecisionSpec(weight="ap_fixed<8,2>", bias="ap_fixed<8,2>", accum="ap_fixed<24,12>",
                                            result="ap_fixed<16,6>"), **config_args)
    typed = run_passes(g, config)
    return typed, build_report(typed, config)["layers"][0]


def test_energy_of_shared_dense_counts_the_group_products_by_hand():
    """energy_pj of a Dense the backend builds shared-weight (one product per weight group, of the group
    sum), from the constants of docs/report.md "Energy per inference" (Horowitz ISSCC 2014)."""
    kernel = SHARED_KERNEL
    typed, row = _shared_dense_row()
    assert np.array_equal(typed.nodes["d"].weights["kernel"], kernel)  # exact in ap_fixed<8,2>
    # 7 general weights, 3 groups (column 0: 0.375 on inputs 0, 1, -2 and 0.625 on input 3; column 1: 0.625 on
    # inputs 0, 1, 2): grouping more than halves the products, so the backend builds the shared kernel.
    # The largest group sums 3 inputs: group sum width 8 + ceil(log2(3 + 1)) + 1 sign bit = 11 bits.
    multiply = 3.1 * 11 * 8 / 32**2      # one 11 x 8-bit product: 0.26640625 pJ
    add = 0.1 * 24 / 32                  # one 24-bit (accumulator) addition: 0.075 pJ
    adders = (4 - 1) + (3 - 1)           # each weight enters one sum: as many additions as the plain sums
    assert row["mult_general"] == 7 and row["mult_shared"] == 3 and row["adders"] == adders
    assert row["energy_pj"] == round(3 * multiply + adders * add, 3) == 1.174
    # one product per weight (7 x 0.19375 pJ at 8 x 8 bits) would have given 1.731 pJ


def test_verilog_backend_energy_and_dsp_count_one_product_per_weight():
    """The Verilog backend builds no shared-weight groups (one constant product per weight): the same
    Dense costs 7 products of 8 x 8 bits (the HLS backends: 3 group products, 1.174 pJ)."""
    _, row = _shared_dense_row(backend="verilog")
    multiply = 3.1 * 8 * 8 / 32**2       # one 8 x 8-bit product: 0.19375 pJ
    add = 0.1 * 24 / 32
    assert row["mult_general"] == 7 and row["mult_shared"] == 3
    assert row["energy_pj"] == round(7 * multiply + 5 * add, 3) == 1.731


def test_distributed_arithmetic_energy_is_its_adders_only():
    """An adder graph (strategy distributed_arithmetic) builds no products: its energy is its adders at
    the accumulator width, not the 7 products plus the plain sum's 5 additions (1.731 pJ)."""
    _, row = _shared_dense_row(backend="verilog", strategy="distributed_arithmetic")
    assert row["dsp"] == 0 and row["da_adders"] > 0
    assert row["multiplies"] == row["mult_general"] == row["mult_pm_one"] == row["mult_pow2"] == 0
    assert row["energy_pj"] == round(row["adders"] * 0.1 * 24 / 32, 3)
