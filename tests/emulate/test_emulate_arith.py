"""The emulator's float64 fast paths of cast/quantize agree with nn2hls.ir.fixed on every mode."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from nn2hls.emulate.arith import Tally, cast, quantize_input
from nn2hls.ir import fixed
from nn2hls.ir.types import OVERFLOW_MODES, QUANT_MODES, FixedType


@pytest.mark.parametrize("q,o", list(itertools.product(QUANT_MODES, OVERFLOW_MODES)))
@pytest.mark.parametrize("signed", [True, False])
def test_cast_float_matches_requantize(q, o, signed):
    rng = np.random.default_rng(0)
    t = FixedType.fixed(7, 3, signed, q, o)
    raw = rng.integers(-2 ** 12, 2 ** 12, size=500)
    raw[:40] = np.arange(-20, 20) * 8 + 4  # exact ties at 4 dropped bits
    for frac in (7, 4, 2):  # drop bits, keep, append
        want, mask = fixed.requantize(raw, frac, t, return_overflow=True)
        tally = Tally()
        got = cast(raw.astype(np.float64), frac, int(raw.min()), int(raw.max()), t, tally)
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got.astype(np.int64), want)
        assert tally.count == int(mask.sum())


@pytest.mark.parametrize("q", QUANT_MODES)
def test_quantize_input_matches_quantize(q):
    rng = np.random.default_rng(1)
    t = FixedType.fixed(12, 4, True, q, "AP_SAT")
    x = np.concatenate([rng.normal(0, 5, 400), np.arange(-40, 40) / 16 + 1 / 512,
                        np.arange(-40, 40) / 256, [0.5 - 2 ** -60, -0.5 + 2 ** -60, 1e-300, -1e-300]])
    want, mask = fixed.quantize(x, t, return_overflow=True)
    tally = Tally()
    got = quantize_input(x, t, tally)
    np.testing.assert_array_equal(got.astype(np.int64), want)
    assert tally.count == int(mask.sum()) > 0


def test_int_type_truncates_toward_zero():
    t = FixedType.int_(8)
    got = quantize_input(np.array([-1.5, 1.5, -0.5, 300.0]), t, Tally())
    np.testing.assert_array_equal(got, fixed.quantize(np.array([-1.5, 1.5, -0.5, 300.0]), t))
