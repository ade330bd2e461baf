"""nn2hls.ir.ap_modes, the one definition of the rounding and overflow rules, against references that
share no code with it: apytypes (a C++ fixed-point library with its own quantization modes) for the
kernels in every representation the project uses (int64 and Python-int arrays of `nn2hls.ir.fixed`,
the float64 arrays of `nn2hls.emulate.arith`), g++ on the vendor ap_types headers for the bounds of
every (width, signedness, overflow mode), and values written down by hand from UG1399's tables.
"""
from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest

from nn2hls.emulate.arith import Tally, cast
from nn2hls.ir import ap_modes, fixed
from nn2hls.ir.ap_modes import Overflow, Rounding
from nn2hls.ir.types import FixedType

APY_Q = {"AP_TRN": "TRN", "AP_TRN_ZERO": "TRN_ZERO", "AP_RND": "RND", "AP_RND_ZERO": "RND_ZERO",
         "AP_RND_INF": "RND_INF", "AP_RND_MIN_INF": "RND_MIN_INF", "AP_RND_CONV": "RND_CONV"}
APY_O = {"AP_WRAP": "WRAP", "AP_SAT": "SAT"}


def test_modes_keep_their_vivado_spellings():
    t = FixedType.parse("ap_fixed<8,3,rnd_conv,Sat_Sym>")
    assert t.rounding is Rounding.AP_RND_CONV and t.overflow is Overflow.AP_SAT_SYM
    assert str(t) == "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>"
    assert f"{t.rounding},{t.overflow}" == "AP_RND_CONV,AP_SAT_SYM"
    assert json.dumps({"q": t.rounding}) == '{"q": "AP_RND_CONV"}'
    assert t == FixedType.fixed(8, 3, True, "AP_RND_CONV", "AP_SAT_SYM")  # strings still accepted
    assert ap_modes.parse_rounding("trn_zero") is Rounding.AP_TRN_ZERO
    assert ap_modes.parse_overflow("AP_WRAP_SM") is None and ap_modes.parse_rounding(3) is None


@pytest.mark.parametrize("width,signed,overflow,low,high", [
    # written down from the W-bit two's complement range and UG1399's AP_SAT_SYM row
    (8, True, "AP_WRAP", -128, 127), (8, True, "AP_SAT", -128, 127), (8, True, "AP_SAT_SYM", -127, 127),
    (8, True, "AP_SAT_ZERO", -128, 127), (8, False, "AP_SAT_SYM", 0, 255), (1, True, "AP_SAT_SYM", -1, 0),
    (2, True, "AP_SAT_SYM", -1, 1), (128, True, "AP_SAT_SYM", -(2 ** 127) + 1, 2 ** 127 - 1),
    (128, False, "AP_SAT", 0, 2 ** 128 - 1)])
def test_bounds_by_hand(width, signed, overflow, low, high):
    assert ap_modes.min_raw(width, signed, overflow) == low
    assert ap_modes.max_raw(width, signed, overflow) == high
    assert ap_modes.max_abs_raw(width, signed) == max(-low, high, 2 ** (width - 1) if signed else 0)


def _tie_cases(rng: random.Random, width: int, s: int) -> list[int]:
    """Raw integers at a source with s more fractional bits: exact ties, neighbours, range ends, random."""
    top = 1 << (width + s)
    ties = [(2 * k + 1) << (s - 1) for k in range(-6, 6)] if s > 0 else []
    ends = [e + d for e in ((top >> 1) - 1, -(top >> 1), (1 << (width - 1 + s)), -(1 << (width - 1 + s)))
            for d in (-1, 0, 1)]
    return ties + [t + d for t in ties for d in (-1, 1)] + ends + [rng.randint(-top, top) for _ in range(40)]


def _apy_reference(raws: list[int], src_bits: int, src_int: int, dst: FixedType) -> list[int]:
    apy = pytest.importorskip("apytypes")
    out = []
    for r in raws:
        a = apy.APyFixed(r & ((1 << src_bits) - 1), bits=src_bits, int_bits=src_int)
        b = a.cast(int_bits=dst.integer, frac_bits=dst.frac, quantization=getattr(apy.QuantizationMode,
                   APY_Q[dst.rounding]), overflow=getattr(apy.OverflowMode, APY_O[dst.overflow]))
        out.append(int(fixed.from_bits([int(b.to_bits())], dst)[0]))
    return out


@pytest.mark.parametrize("q,o", list(itertools.product(APY_Q, APY_O)))
def test_kernels_match_apytypes_in_every_representation(q, o):
    """round_shift + overflow on int64 and on Python ints, round_float + overflow on doubles (both
    with and without the half_exact shortcut), and the two callers (fixed.requantize, arith.cast)
    give apytypes' answer for signed casts that drop 1, 3 or 9 bits into 6- and 20-bit types."""
    pytest.importorskip("apytypes")
    rng = random.Random(f"{q} {o}")
    for width, s in itertools.product((6, 20), (1, 3, 9)):
        dst = FixedType.fixed(width, 2, True, q, o)
        src_bits, frac = width + s + 2, dst.frac + s
        raws = [r for r in _tie_cases(rng, width, s) if -(1 << (src_bits - 1)) <= r < (1 << (src_bits - 1))]
        want = _apy_reference(raws, src_bits, src_bits - frac, dst)

        def finish(n):
            above, below = ap_modes.overflow_masks(n, width, True, o)
            return [int(v) for v in ap_modes.apply_overflow(n, above, below, width, True, o).tolist()]

        as_int64 = np.array(raws, dtype=np.int64)
        as_object = np.array(raws, dtype=object)
        assert finish(ap_modes.round_shift(as_int64, s, q)) == want, ("int64", width, s)
        assert finish(ap_modes.round_shift(as_object, s, q)) == want, ("object", width, s)
        for half_exact in (False, True):
            y = np.ldexp(as_int64.astype(np.float64), -s)
            assert finish(ap_modes.round_float(y, q, half_exact=half_exact)) == want, ("float", half_exact)
        assert fixed.requantize(as_int64, frac, dst).tolist() == want
        assert fixed.requantize(as_object, frac, dst).tolist() == want
        got = cast(as_int64.astype(np.float64), frac, min(raws), max(raws), dst, Tally())
        assert got.astype(np.int64).tolist() == want


def test_round_float_on_doubles_that_are_not_scaled_integers():
    """Ties and their neighbours one ulp away at magnitudes where y + 1/2 is inexact (hand values)."""
    below_half = np.nextafter(0.5, 0.0)  # 0.5 - 2^-54: y + 0.5 rounds to 1.0 in double arithmetic
    y = np.array([below_half, -below_half, 2.5, -2.5, 2.0 ** 52 + 1, -(2.0 ** 60), 3.5])
    want = {"AP_RND": [0, 0, 3, -2, 2 ** 52 + 1, -(2 ** 60), 4],
            "AP_RND_MIN_INF": [0, 0, 2, -3, 2 ** 52 + 1, -(2 ** 60), 3],
            "AP_RND_ZERO": [0, 0, 2, -2, 2 ** 52 + 1, -(2 ** 60), 3],
            "AP_RND_INF": [0, 0, 3, -3, 2 ** 52 + 1, -(2 ** 60), 4],
            "AP_RND_CONV": [0, 0, 2, -2, 2 ** 52 + 1, -(2 ** 60), 4],
            "AP_TRN": [0, -1, 2, -3, 2 ** 52 + 1, -(2 ** 60), 3],
            "AP_TRN_ZERO": [0, 0, 2, -2, 2 ** 52 + 1, -(2 ** 60), 3]}
    for mode, expected in want.items():
        assert [int(v) for v in ap_modes.round_float(y.copy(), mode)] == expected, mode


@pytest.mark.csim
@pytest.mark.vendor
def test_bounds_match_vendor_headers(run_vendor_cpp):
    """For every overflow mode, signedness and a spread of widths up to 128: the raw values just
    inside and outside min_raw/max_raw, assigned from a wider ap_fixed with g++ on the vendor headers,
    stay unchanged exactly when ap_modes' bounds say they are kept, and otherwise become what
    apply_overflow says."""
    lines = ["#include <ap_fixed.h>", "#include <cstdio>",
             "template<class T> void pb(const T& v) { ap_uint<T::width> b = v.range(T::width - 1, 0);",
             "  std::printf(\"%s\\n\", b.to_string(16, false).c_str()); }",
             "template<class T> T mk(const char* bits) { T v; v.range(T::width - 1, 0) = ",
             "  ap_uint<T::width>(bits, 16); return v; }", "int main() {"]
    expected: list[tuple[str, str]] = []
    for width, signed, o in itertools.product((1, 2, 7, 16, 52, 53, 63, 64, 65, 127, 128), (True, False),
                                              ap_modes.OVERFLOW_MODES):
        src_w = width + 3
        top, low = ap_modes.max_raw(width, signed, o), ap_modes.min_raw(width, signed, o)
        two_min = ap_modes.min_raw(width, signed)
        values = sorted({v for e in (top, low, two_min) for v in (e - 1, e, e + 1)})
        u = "" if signed else "u"
        lines.append(f"{{ typedef ap_fixed<{src_w},{src_w}> S; typedef ap_{u}fixed<{width},{width},AP_TRN,{o}> T;")
        n = np.array(values, dtype=object)
        above, below = ap_modes.overflow_masks(n, width, signed, o)
        result = ap_modes.apply_overflow(n, above, below, width, signed, o)
        for v, r, ovf in zip(values, result.tolist(), (above | below).tolist()):
            assert ovf == (not low <= v <= top)
            lines.append(f"  {{ T t = mk<S>(\"{v & ((1 << src_w) - 1):x}\"); pb(t); }}")
            expected.append((format(int(r) & ((1 << width) - 1), "x"), f"ap_{u}fixed<{width},{width},{o}> <- {v}"))
        lines.append("}")
    lines += ["return 0; }"]
    got = [line.lower().removeprefix("0x").lstrip("0") or "0" for line in run_vendor_cpp(lines)]
    assert len(got) == len(expected)
    bad = [(why, g, w) for g, (w, why) in zip(got, expected) if g != (w.lstrip("0") or "0")]
    assert not bad, bad[:10]
