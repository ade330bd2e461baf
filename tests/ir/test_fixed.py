"""nn2hls.ir.fixed against an independent per-element Fraction oracle, apytypes and the vendor headers.

The oracle below is deliberately scalar and written from the mode definitions (Fraction, math.floor,
Python %), sharing no code with the vectorized implementation.
"""
from __future__ import annotations

import math
import os
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nn2hls.errors import FixedTypeError, InputDataError
from nn2hls.ir import fixed
from nn2hls.ir.types import OVERFLOW_MODES, QUANT_MODES, FixedType

HALF = Fraction(1, 2)


# --------------------------------------------------------------------------------------------------
# oracle
# --------------------------------------------------------------------------------------------------
def oracle(value: Fraction, t: FixedType, from_double: bool = False) -> tuple[int, bool]:
    """Exact value -> (raw of t, whether the overflow mode changed it), from the definitions.

    ``from_double`` adds the vendor's ap_int quirk: a double in (-1/2, 0) becomes bit pattern 1.
    """
    if from_double and t.is_int and -HALF < value < 0:
        return (-1 if t.signed and t.width == 1 else 1), False
    q = value * 2 ** t.frac if t.frac >= 0 else value / 2 ** (-t.frac)
    mode = "AP_TRN_ZERO" if t.is_int else t.rounding
    down = math.floor(q)
    d = q - down
    if mode == "AP_TRN":
        n = down
    elif mode == "AP_TRN_ZERO":
        n = down if q >= 0 else math.ceil(q)
    elif d < HALF:
        n = down
    elif d > HALF:
        n = down + 1
    else:
        n = {"AP_RND": down + 1,
             "AP_RND_ZERO": down + 1 if q < 0 else down,
             "AP_RND_INF": down if q < 0 else down + 1,
             "AP_RND_MIN_INF": down,
             "AP_RND_CONV": down if down % 2 == 0 else down + 1}[mode]
    if t.signed:
        lo, hi = -(2 ** (t.width - 1)), 2 ** (t.width - 1) - 1
    else:
        lo, hi = 0, 2 ** t.width - 1
    sym = t.overflow == "AP_SAT_SYM" and t.signed and t.width > 1
    if lo <= n <= hi and not (sym and n == lo):
        return n, False
    if t.overflow == "AP_WRAP":
        m = n % (2 ** t.width)
        if t.signed and m > hi:
            m -= 2 ** t.width
        return m, True
    if t.overflow == "AP_SAT_ZERO":
        return 0, True
    if t.overflow == "AP_SAT":
        return (hi if n > hi else lo), True
    return (hi if n > hi else (-hi if sym else lo)), True


# --------------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------------
@st.composite
def fixed_types(draw, max_width: int = 64, wide: bool = True) -> FixedType:
    if wide and draw(st.integers(0, 9)) == 0:
        width = draw(st.integers(64, 128))
    else:
        width = draw(st.integers(1, max_width))
    signed = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        return FixedType.int_(width, signed)
    integer = draw(st.integers(-8, width + 8))
    return FixedType.fixed(width, integer, signed, draw(st.sampled_from(QUANT_MODES)),
                           draw(st.sampled_from(OVERFLOW_MODES)))


@st.composite
def doubles_for(draw, t: FixedType) -> float:
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    if kind == 1:  # exact tie (k + 1/2) * lsb
        k = draw(st.integers(-(2 ** min(t.width + 1, 51)), 2 ** min(t.width + 1, 51)))
        return math.ldexp(2 * k + 1, -t.frac - 1)
    if kind == 2:  # near the range ends, a few lsb away
        end = draw(st.sampled_from([t.min_exact, t.max_exact, -t.max_exact, Fraction(0)]))
        k = draw(st.integers(-4, 4))
        return float(end + k * t.lsb_exact / draw(st.sampled_from([1, 2, 4, 3])))
    if kind == 3:  # huge or tiny magnitudes
        return math.ldexp(draw(st.floats(-1.0, 1.0)), draw(st.integers(-1074, 1023)))  # 1.0 * 2^1024 overflows
    if kind == 4:  # arbitrary 53-bit mantissa at a scale around the type
        m = draw(st.integers(-(2 ** 53) + 1, 2 ** 53 - 1))
        return math.ldexp(m, -t.frac - draw(st.integers(0, 60)))
    return float(draw(st.floats(float(t.min_exact) * 2 - 1, float(t.max_exact) * 2 + 1,
                                allow_nan=False, allow_infinity=False)))


@st.composite
def type_and_doubles(draw):
    t = draw(fixed_types())
    xs = draw(st.lists(doubles_for(t), min_size=1, max_size=20))
    return t, xs


COMMON = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------------
# property tests
# --------------------------------------------------------------------------------------------------
@COMMON
@given(type_and_doubles())
def test_quantize_matches_oracle(case):
    t, xs = case
    raw, ovf = fixed.quantize(np.array(xs), t, return_overflow=True)
    assert raw.dtype == fixed.raw_dtype(t)
    for x, r, o in zip(xs, raw.tolist(), ovf.tolist()):
        want = oracle(Fraction(x), t, from_double=True)
        assert (int(r), bool(o)) == want, (str(t), x.hex())


@pytest.mark.parametrize("q", QUANT_MODES)
@pytest.mark.parametrize("o", OVERFLOW_MODES)
def test_every_mode_pair_on_ties_and_ends(q, o):
    """Deterministic sweep of each (Q, O) pair over every tie and range end of small types."""
    for width, integer, signed in [(1, 1, True), (1, 0, False), (3, 1, True), (4, 6, False),
                                   (5, -2, True), (8, 3, True), (8, 0, False)]:
        t = FixedType.fixed(width, integer, signed, q, o)
        ks = np.arange(-(2 << width) - 3, (2 << width) + 3)
        xs = np.concatenate([np.ldexp(ks.astype(float), -t.frac - 2), [1e300, -1e300, 5e-324, -5e-324]])
        raw, ovf = fixed.quantize(xs, t, return_overflow=True)
        got = list(zip(raw.tolist(), ovf.tolist()))
        assert got == [oracle(Fraction(x), t) for x in xs.tolist()], str(t)


@st.composite
def requant_cases(draw):
    src = draw(fixed_types(max_width=64))
    dst = draw(fixed_types())
    raws = draw(st.lists(st.integers(src.min_raw, src.max_raw), min_size=1, max_size=20))
    return src, dst, raws


@COMMON
@given(requant_cases())
def test_requantize_matches_oracle(case):
    src, dst, raws = case
    arr = fixed.as_raw(raws, src)
    got, ovf = fixed.cast(arr, src, dst, return_overflow=True)
    assert got.dtype == fixed.raw_dtype(dst)
    for r, g, o in zip(raws, got.tolist(), ovf.tolist()):
        assert (int(g), bool(o)) == oracle(r * src.lsb_exact, dst), (str(src), r, str(dst))
    # the object-array path agrees with the int64 path
    obj = np.array(raws, dtype=object)
    assert fixed.requantize(obj, src.frac, dst).tolist() == got.tolist()


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2 ** 63), 2 ** 63 - 1), st.integers(-140, 140), fixed_types(max_width=63, wide=False))
def test_requantize_int64_extreme_shifts(r, frac, dst):
    """Drop or append up to 140 bits of full-range int64 raws (shift corner cases of the int64 path)."""
    got, ovf = fixed.requantize(np.array([r, -r - 1, 0, 1, -1], dtype=np.int64), frac, dst,
                                return_overflow=True)
    for v, g, o in zip([r, -r - 1, 0, 1, -1], got.tolist(), ovf.tolist()):
        assert (g, o) == oracle(Fraction(v) / 2 ** frac if frac >= 0 else Fraction(v * 2 ** -frac), dst)


@pytest.mark.parametrize("width", [52, 53, 54, 62, 63, 64, 65, 127, 128])
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("o", OVERFLOW_MODES)
def test_edge_widths(width, signed, o):
    """Around the float64 mantissa, the int64 limit and the 128-bit limit, for every overflow mode."""
    t = FixedType.fixed(width, width // 2, signed, "AP_RND_CONV", o)
    ends = [t.min_raw, t.max_raw, -t.max_raw, 0]
    raws = [e + d for e in ends for d in (-3, -1, 0, 1, 2)] + [3 << width, -(5 << width)]
    src = FixedType.fixed(128, 128 - t.frac - 2)
    got, ovf = fixed.requantize(np.array([r * 4 + 2 for r in raws], dtype=object), t.frac + 2, t,
                                return_overflow=True)
    assert list(zip(got.tolist(), ovf.tolist())) == [oracle((r * 4 + 2) * src.lsb_exact, t) for r in raws]
    xs = [math.ldexp(float(r), -t.frac) for r in raws] + [1e300, -1e300, 2.0 ** 63, -(2.0 ** 63)]
    got, ovf = fixed.quantize(np.array(xs), t, return_overflow=True)
    assert list(zip(got.tolist(), ovf.tolist())) == [oracle(Fraction(x), t) for x in xs]
    assert fixed.from_bits(fixed.to_bits(got, t), t).tolist() == got.tolist()


@st.composite
def operand_pairs(draw):
    ta = draw(fixed_types(max_width=64))
    tb = draw(fixed_types(max_width=64))
    n = draw(st.integers(1, 10))
    ra = draw(st.lists(st.integers(ta.min_raw, ta.max_raw), min_size=n, max_size=n))
    rb = draw(st.lists(st.integers(tb.min_raw, tb.max_raw), min_size=n, max_size=n))
    return ta, ra, tb, rb


@COMMON
@given(operand_pairs())
def test_mul_add_sub_exact(case):
    ta, ra, tb, rb = case
    ops = [(fixed.mul, lambda a, b: a * b), (fixed.add, lambda a, b: a + b),
           (fixed.sub, lambda a, b: a - b)]
    for op, exact in ops:
        try:
            raw, rt = op(fixed.as_raw(ra, ta), ta, fixed.as_raw(rb, tb), tb)
        except FixedTypeError:
            continue  # result wider than 128 bits
        assert raw.dtype == fixed.raw_dtype(rt)
        for a, b, r in zip(ra, rb, raw.tolist()):
            assert rt.min_raw <= r <= rt.max_raw, (op.__name__, str(ta), str(tb), str(rt))
            assert r * rt.lsb_exact == exact(a * ta.lsb_exact, b * tb.lsb_exact)


def test_result_type_rules():
    p = FixedType.parse
    assert fixed.product_type(p("ap_fixed<8,3>"), p("ap_ufixed<6,2>")) == p("ap_fixed<14,5>")
    assert fixed.product_type(p("ap_ufixed<4,2>"), p("ap_ufixed<6,-1>")) == p("ap_ufixed<10,1>")
    assert fixed.product_type(p("ap_int<8>"), p("ap_uint<4>")) == p("ap_int<12>")
    assert fixed.sum_type(p("ap_fixed<8,3>"), p("ap_ufixed<6,2>")) == p("ap_fixed<9,4>")
    assert fixed.sum_type(p("ap_ufixed<6,2>"), p("ap_ufixed<6,2>")) == p("ap_ufixed<7,3>")
    assert fixed.diff_type(p("ap_ufixed<6,2>"), p("ap_ufixed<6,2>")) == p("ap_fixed<7,3>")
    assert fixed.sum_type(p("ap_fixed<4,8>"), p("ap_fixed<10,-2>")) == p("ap_fixed<21,9>")
    assert fixed.sum_type(p("ap_int<8>"), p("ap_int<8>")) == p("ap_int<9>")
    with pytest.raises(FixedTypeError, match="needs 130 bits"):
        fixed.product_type(p("ap_fixed<65,1>"), p("ap_fixed<65,1>"))


def test_known_values_from_vendor_probes():
    """Values observed with g++ against the vendor ap_types headers (see the module docstring)."""
    p = FixedType.parse
    cases = [("ap_int<8>", -1.5, -1), ("ap_int<8>", 200.7, -56), ("ap_fixed<8,8>", -1.5, -2),
             ("ap_fixed<8,4,AP_TRN,AP_SAT_SYM>", -8.0, -127), ("ap_fixed<8,4,AP_TRN,AP_SAT_ZERO>", -8.0, -128),
             ("ap_fixed<8,4,AP_RND,AP_SAT_ZERO>", 7.99, 0), ("ap_ufixed<8,4,AP_TRN,AP_SAT_SYM>", -3.0, 0),
             ("ap_fixed<8,4,AP_RND_MIN_INF>", -1.03125, -17), ("ap_fixed<8,4,AP_RND_CONV>", -1.09375, -18),
             ("ap_fixed<4,8>", 100.0, 6), ("ap_fixed<4,-2>", 0.3, 3), ("ap_fixed<16,6>", 1e30, 0),
             ("ap_fixed<16,6>", 12345678.123, 0x387D), ("ap_fixed<16,6>", -5e-324, -1),
             ("ap_fixed<1,1,AP_TRN,AP_SAT_SYM>", -1.0, -1), ("ap_fixed<2,1,AP_TRN,AP_SAT_SYM>", -1.0, -1),
             ("ap_int<8>", -0.3, 1), ("ap_int<1>", -0.3, -1), ("ap_uint<4>", -1e-300, 1),
             ("ap_int<8>", -0.5, 0), ("ap_int<70>", -0.25, 1), ("ap_int<8>", -0.75, 0),
             ("ap_int<64>", 1e19, 0x8AC7230489E80000 - 2 ** 64),
             ("ap_int<128>", -1e30, -(10 ** 30 + 19884624838656)),
             ("ap_fixed<128,100>", -3.0000000000000004, -(3 * 2 ** 28) - 1)]
    for text, x, want in cases:
        assert fixed.quantize(np.array([x]), p(text)).tolist() == [want], text


def test_bits_round_trip_and_to_float():
    t = FixedType.parse("ap_fixed<8,3>")
    raw = np.array([-128, -1, 0, 1, 127])
    bits = fixed.to_bits(raw, t)
    assert bits.tolist() == [0x80, 0xFF, 0, 1, 0x7F]
    assert fixed.from_bits(bits, t).tolist() == raw.tolist()
    assert fixed.to_float(raw, t).tolist() == [-4.0, -0.03125, 0.0, 0.03125, 3.96875]
    w = FixedType.parse("ap_ufixed<100,90>")
    rw = fixed.as_raw([2 ** 100 - 1, 3], w)
    assert fixed.from_bits(fixed.to_bits(rw, w), w).tolist() == rw.tolist()
    assert fixed.to_float(rw, w).tolist() == [float(Fraction(2 ** 100 - 1, 2 ** 10)), 3 / 1024]
    s = FixedType.parse("ap_fixed<100,4>")
    assert fixed.from_bits([2 ** 100 - 1], s).tolist() == [-1]


def test_quantize_rejects_nan_and_inf():
    t = FixedType.parse("ap_fixed<16,6>")
    with pytest.raises(InputDataError, match="NaN or infinity"):
        fixed.quantize(np.array([1.0, np.nan]), t)
    with pytest.raises(InputDataError, match="ap_fixed<16,6>"):
        fixed.quantize(np.array([np.inf]), t)


def test_float32_input_and_shape_preserved():
    t = FixedType.parse("ap_fixed<10,2,AP_RND>")
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(2, 3, 4)
    raw = fixed.quantize(x, t)
    assert raw.shape == (2, 3, 4)
    assert raw.reshape(-1).tolist() == [oracle(Fraction(float(v)), t, True)[0] for v in x.reshape(-1)]


# --------------------------------------------------------------------------------------------------
# apytypes (signed types; WRAP and SAT only)
# --------------------------------------------------------------------------------------------------
def test_requantize_matches_apytypes():
    apy = pytest.importorskip("apytypes")
    qmap = {"AP_TRN": "TRN", "AP_TRN_ZERO": "TRN_ZERO", "AP_RND": "RND", "AP_RND_ZERO": "RND_ZERO",
            "AP_RND_INF": "RND_INF", "AP_RND_MIN_INF": "RND_MIN_INF", "AP_RND_CONV": "RND_CONV"}
    omap = {"AP_WRAP": "WRAP", "AP_SAT": "SAT"}
    rng = random.Random(1)
    for _ in range(400):
        q, o = rng.choice(list(qmap)), rng.choice(list(omap))
        # apytypes 0.5.1 saturates wrongly for some wide casts (e.g. ap_fixed<24,19> 125000.0 ->
        # <62,14,TRN_ZERO,SAT> gives -6072; g++ on the vendor headers gives max), so SAT stays <= 32 bits
        max_width = 100 if o == "AP_WRAP" else 32
        sw = rng.randint(2, max_width)
        src = FixedType.fixed(sw, rng.randint(-4, sw + 4))
        dw = rng.randint(1, max_width)
        dst = FixedType.fixed(dw, rng.randint(-4, dw + 4), True, q, o)
        raws = [rng.randint(src.min_raw, src.max_raw) for _ in range(8)] + [src.min_raw, src.max_raw]
        got = fixed.cast(fixed.as_raw(raws, src), src, dst).tolist()
        for r, g in zip(raws, got):
            a = apy.APyFixed(r & ((1 << sw) - 1), bits=sw, int_bits=src.integer)
            b = a.cast(int_bits=dst.integer, frac_bits=dst.frac,
                       quantization=getattr(apy.QuantizationMode, qmap[q]),
                       overflow=getattr(apy.OverflowMode, omap[o]))
            assert fixed.from_bits([int(b.to_bits())], dst).tolist() == [g], (str(src), r, str(dst))


# --------------------------------------------------------------------------------------------------
# vendor headers (bit-exact against Xilinx ap_types compiled with g++)
# --------------------------------------------------------------------------------------------------
def _cxx_type(t: FixedType) -> str:
    if t.is_int:
        return str(t)
    u = "" if t.signed else "u"
    return f"ap_{u}fixed<{t.width},{t.integer},{t.rounding},{t.overflow}>"


def _random_type(rng: random.Random, max_width: int = 128) -> FixedType:
    width = rng.choice([rng.randint(1, 20), rng.randint(1, 64), rng.randint(1, max_width)])
    signed = rng.random() < 0.6
    if rng.random() < 0.1:
        return FixedType.int_(width, signed)
    return FixedType.fixed(width, rng.randint(-8, width + 8), signed, rng.choice(QUANT_MODES),
                           rng.choice(OVERFLOW_MODES))


def _random_double(rng: random.Random, t: FixedType) -> float:
    kind = rng.randint(0, 5)
    if kind == 0:
        return math.ldexp(2 * rng.randint(-2 ** 20, 2 ** 20) + 1, -t.frac - 1)
    if kind == 1:
        return float(rng.choice([t.min_exact, t.max_exact, -t.max_exact]) + rng.randint(-2, 2) * t.lsb_exact / 2)
    if kind == 2:
        return math.ldexp(rng.uniform(-1, 1), rng.randint(-1074, 1023))
    if kind == 3:
        return math.ldexp(rng.randint(-2 ** 53 + 1, 2 ** 53 - 1), -t.frac - rng.randint(-10, 60))
    return rng.uniform(float(t.min_exact) * 2 - 1, float(t.max_exact) * 2 + 1)


@pytest.mark.csim
@pytest.mark.vendor
def test_bit_exact_against_vendor_headers(run_vendor_cpp):
    """quantize, cast, mul/add/sub types and values agree with g++ on the vendor ap_types headers."""
    rng = random.Random(7)
    lines = ["#include <ap_fixed.h>", "#include <ap_int.h>", "#include <cstdio>",
             "template<class T> void pb(const T& v) {",
             "  ap_uint<T::width> b = v.range(T::width - 1, 0);",
             "  std::printf(\"%s\\n\", b.to_string(16, false).c_str()); }",
             "template<int W, int I, bool S, ap_q_mode Q, ap_o_mode O, int N>",
             "void pt(const ap_fixed_base<W, I, S, Q, O, N>&) { std::printf(\"%d %d %d 0\\n\", W, I, (int)S); }",
             "template<int W, bool S>",
             "void pt(const ap_int_base<W, S>&) { std::printf(\"%d %d %d 1\\n\", W, W, (int)S); }",
             "template<class T> T mk(const char* bits) { T v; v.range(T::width - 1, 0) = ",
             "  ap_uint<T::width>(bits, 16); return v; }",
             "int main() {"]
    expected: list[str] = []

    def hexbits(r: int, t: FixedType) -> str:
        return format(r & ((1 << t.width) - 1), "x")

    for _ in range(60):  # double -> type
        t = _random_type(rng)
        xs = [_random_double(rng, t) for _ in range(25)]
        lines.append(f"{{ typedef {_cxx_type(t)} T; static const double xs[] = {{{', '.join(x.hex() for x in xs)}}};")
        lines.append("  for (unsigned i = 0; i < sizeof(xs) / sizeof(xs[0]); ++i) { T v = xs[i]; pb(v); T w; w = xs[i]; pb(w); } }")
        for x, r in zip(xs, fixed.quantize(np.array(xs), t).tolist()):
            expected += [(hexbits(r, t), f"{t} <- {x.hex()}")] * 2
    for _ in range(60):  # type -> type
        src, dst = _random_type(rng), _random_type(rng)
        raws = [rng.randint(src.min_raw, src.max_raw) for _ in range(12)] + [src.min_raw, src.max_raw, 0]
        lines.append(f"{{ typedef {_cxx_type(src)} S; typedef {_cxx_type(dst)} T;")
        for r in raws:
            lines.append(f"  {{ S s = mk<S>(\"{hexbits(r, src)}\"); T v = s; pb(v); T w; w = s; pb(w); }}")
        for r, g in zip(raws, fixed.cast(fixed.as_raw(raws, src), src, dst).tolist()):
            expected += [(hexbits(g, dst), f"{dst} <- {src} raw {r}")] * 2
        lines.append("}")
    for _ in range(60):  # exact operators
        ta, tb = _random_type(rng, 64), _random_type(rng, 64)
        ra = [rng.randint(ta.min_raw, ta.max_raw) for _ in range(4)] + [ta.min_raw]
        rb = [rng.randint(tb.min_raw, tb.max_raw) for _ in range(4)] + [tb.min_raw]
        for op, fn in (("*", fixed.mul), ("+", fixed.add), ("-", fixed.sub)):
            try:
                raw, rt = fn(fixed.as_raw(ra, ta), ta, fixed.as_raw(rb, tb), tb)
            except FixedTypeError:
                continue
            lines.append(f"{{ typedef {_cxx_type(ta)} A; typedef {_cxx_type(tb)} B;")
            for i, (a, b) in enumerate(zip(ra, rb)):
                lines.append(f"  {{ A a = mk<A>(\"{hexbits(a, ta)}\"); B b = mk<B>(\"{hexbits(b, tb)}\");"
                             f" {'pt(a ' + op + ' b); ' if i == 0 else ''}pb(a {op} b); }}")
            lines.append("}")
            expected.append((f"{rt.width} {rt.integer} {int(rt.signed)} {int(rt.is_int)}", f"{ta} {op} {tb}"))
            expected += [(hexbits(r, rt), f"{ta} {op} {tb}: {a} {op} {b}") for a, b, r in zip(ra, rb, raw.tolist())]
    lines += ["return 0; }"]
    got = [line.lower().removeprefix("0x").lstrip("0") or "0" if " " not in line else line
           for line in run_vendor_cpp(lines)]
    want = [e.lstrip("0") or "0" if " " not in e else e for e, _ in expected]
    assert len(got) == len(want)
    mismatches = [(why, g, w) for g, w, (_, why) in zip(got, want, expected) if g != w]
    if mismatches: _dump_mismatches(mismatches)
    assert not mismatches, mismatches[:10]


def _dump_mismatches(items):
    """With FX_DUMP=path set, write every vendor mismatch there (the assertion shows only 10)."""
    if os.environ.get("FX_DUMP"):
        Path(os.environ["FX_DUMP"]).write_text("\n".join(map(repr, items)))


def test_quantize_accepts_scalars_and_0d_arrays():
    t = FixedType.parse("ap_ufixed<16,1,AP_RND>")
    expected = fixed.quantize(np.array([1 / 12]), t)[0]
    for value in (1 / 12, np.float64(1 / 12), np.array(1 / 12)):
        raw = fixed.quantize(value, t)
        assert raw.shape == () and raw == expected
    raw, ovf = fixed.quantize(np.array(3.0), t, return_overflow=True)  # AP_WRAP: 3 * 2^15 mod 2^16
    assert raw.shape == () and bool(ovf) and raw == 32768
