"""FixedType parsing/printing, derived ranges (hand-computed) and TensorType."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn2hls.errors import FixedTypeError, GraphError
from nn2hls.ir.types import MAX_WIDTH, OVERFLOW_MODES, QUANT_MODES, FixedType, TensorType


@pytest.mark.parametrize("text, canonical, fields", [
    ("ap_fixed<16,6>", "ap_fixed<16,6>", (16, 6, True, "AP_TRN", "AP_WRAP", 0, False)),
    ("ap_fixed<16,6,AP_RND>", "ap_fixed<16,6,AP_RND>", (16, 6, True, "AP_RND", "AP_WRAP", 0, False)),
    ("ap_fixed<16,6,AP_RND,AP_SAT>", "ap_fixed<16,6,AP_RND,AP_SAT>", (16, 6, True, "AP_RND", "AP_SAT", 0, False)),
    ("ap_fixed<16,6,AP_TRN,AP_SAT_SYM,3>", "ap_fixed<16,6,AP_TRN,AP_SAT_SYM,3>",
     (16, 6, True, "AP_TRN", "AP_SAT_SYM", 3, False)),
    ("ap_fixed<16,6,AP_TRN,AP_WRAP>", "ap_fixed<16,6>", (16, 6, True, "AP_TRN", "AP_WRAP", 0, False)),
    ("ap_fixed<8,6,AP_TRN,AP_SAT_ZERO,0>", "ap_fixed<8,6,AP_TRN,AP_SAT_ZERO>",
     (8, 6, True, "AP_TRN", "AP_SAT_ZERO", 0, False)),
    ("ap_ufixed<8,0>", "ap_ufixed<8,0>", (8, 0, False, "AP_TRN", "AP_WRAP", 0, False)),
    ("ap_int<8>", "ap_int<8>", (8, 8, True, "AP_TRN", "AP_WRAP", 0, True)),
    ("ap_uint<4>", "ap_uint<4>", (4, 4, False, "AP_TRN", "AP_WRAP", 0, True)),
    ("fixed<16,6>", "ap_fixed<16,6>", (16, 6, True, "AP_TRN", "AP_WRAP", 0, False)),
    ("ufixed<8,0,rnd_conv,sat>", "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>", (8, 0, False, "AP_RND_CONV", "AP_SAT", 0, False)),
    ("int<8>", "ap_int<8>", (8, 8, True, "AP_TRN", "AP_WRAP", 0, True)),
    ("uint<4>", "ap_uint<4>", (4, 4, False, "AP_TRN", "AP_WRAP", 0, True)),
    ("  AP_FIXED < 4 , -2 , Ap_Rnd_Min_Inf , sat_sym > ", "ap_fixed<4,-2,AP_RND_MIN_INF,AP_SAT_SYM>",
     (4, -2, True, "AP_RND_MIN_INF", "AP_SAT_SYM", 0, False)),
    ("ap_fixed<4,8>", "ap_fixed<4,8>", (4, 8, True, "AP_TRN", "AP_WRAP", 0, False)),
    ("ap_fixed<128,1>", "ap_fixed<128,1>", (128, 1, True, "AP_TRN", "AP_WRAP", 0, False)),
])
def test_parse_and_print(text, canonical, fields):
    t = FixedType.parse(text)
    assert (t.width, t.integer, t.signed, t.rounding, t.overflow, t.sat_bits, t.is_int) == fields
    assert str(t) == canonical
    assert FixedType.parse(str(t)) == t


@settings(max_examples=300, deadline=None)
@given(st.integers(1, MAX_WIDTH), st.integers(-200, 200), st.booleans(), st.sampled_from(QUANT_MODES),
       st.sampled_from(OVERFLOW_MODES), st.integers(0, 5), st.booleans())
def test_round_trip_any_type(width, integer, signed, q, o, n, as_int):
    t = FixedType.int_(width, signed) if as_int else FixedType.fixed(width, integer, signed, q, o, n)
    assert FixedType.parse(str(t)) == t
    assert FixedType.parse(str(t).replace("ap_", "").lower()) == t  # short, lower-case form


def test_known_ranges():
    t = FixedType.parse("ap_fixed<8,3>")
    assert (t.frac, t.min_value, t.max_value, t.lsb) == (5, -4.0, 3.96875, 1 / 32)
    assert (t.min_raw, t.max_raw) == (-128, 127)
    assert (t.min_exact, t.max_exact, t.lsb_exact) == (Fraction(-4), Fraction(127, 32), Fraction(1, 32))
    u = FixedType.parse("ap_ufixed<8,0>")
    assert (u.min_value, u.max_value, u.lsb, u.min_raw, u.max_raw) == (0.0, 255 / 256, 1 / 256, 0, 255)
    big = FixedType.parse("ap_fixed<4,8>")  # I > W: lsb 16, range [-128, 112]
    assert (big.frac, big.lsb, big.min_value, big.max_value) == (-4, 16.0, -128.0, 112.0)
    neg = FixedType.parse("ap_fixed<4,-2>")  # I < 0: lsb 2^-6, range [-1/8, 7/64]
    assert (neg.frac, neg.lsb, neg.min_value, neg.max_value) == (6, 1 / 64, -0.125, 7 / 64)
    i = FixedType.parse("ap_int<8>")
    assert (i.frac, i.lsb, i.min_value, i.max_value) == (0, 1.0, -128.0, 127.0)
    ui = FixedType.parse("ap_uint<4>")
    assert (ui.min_value, ui.max_value) == (0.0, 15.0)
    one = FixedType.parse("ap_fixed<1,1>")
    assert (one.min_value, one.max_value) == (-1.0, 0.0)
    w = FixedType.parse("ap_ufixed<128,64>")
    assert w.max_exact == Fraction(2 ** 128 - 1, 2 ** 64) and w.max_raw == 2 ** 128 - 1


def test_constructors_and_equality():
    assert FixedType.fixed(16, 6) == FixedType.parse("ap_fixed<16,6>")
    assert FixedType.fixed(8, 0, signed=False, rounding="AP_RND", overflow="AP_SAT") == \
        FixedType.parse("ap_ufixed<8,0,AP_RND,AP_SAT>")
    assert FixedType.int_(8) == FixedType.parse("ap_int<8>")
    assert FixedType.int_(8) != FixedType.fixed(8, 8)  # spelled differently, rounds differently
    assert hash(FixedType.parse("fixed<16,6>")) == hash(FixedType.fixed(16, 6))
    with pytest.raises(AttributeError):
        FixedType.fixed(16, 6).width = 3  # frozen


VALID = ("expected ap_fixed<W,I[,Q[,O[,N]]]>, ap_ufixed<...>, ap_int<W>, ap_uint<W> "
         "or fixed<W,I>/ufixed/int/uint")


@pytest.mark.parametrize("text, why", [
    ("ap_fixd<16,6>", ""),
    ("ap_fixed<16>", "ap_fixed takes 2 to 5 parameters; "),
    ("ap_fixed<16,6,AP_RND,AP_SAT,0,1>", "ap_fixed takes 2 to 5 parameters; "),
    ("ap_fixed<a,6>", "W and I must be integers; "),
    ("ap_fixed<0,0>", "width 0 must be in 1..128; "),
    ("ap_fixed<129,6>", "width 129 must be in 1..128; "),
    ("ap_int<8,3>", "ap_int takes exactly one integer parameter W; "),
    ("ap_uint<200>", "width 200 must be in 1..128; "),
    ("ap_fixed<16,6,AP_FOO>", "unknown quantization mode 'AP_FOO' (use " + "/".join(QUANT_MODES) + "); "),
    ("ap_fixed<16,6,AP_RND,AP_WRAP_SM>", "unknown overflow mode 'AP_WRAP_SM' (use " + "/".join(OVERFLOW_MODES) + "); "),
    ("ap_fixed<16,6,AP_RND,AP_SAT,-1>", "N must be a non-negative integer; "),
    ("float", ""),
    ("ap_fixed<16,6", ""),
])
def test_parse_errors(text, why):
    with pytest.raises(FixedTypeError) as info:
        FixedType.parse(text)
    assert str(info.value) == f"invalid fixed-point type {text!r}: {why}{VALID}"
    assert "\n" not in str(info.value)


def test_constructor_errors():
    with pytest.raises(FixedTypeError, match="width 200 out of range: use 1..128 bits"):
        FixedType.fixed(200, 3)
    with pytest.raises(FixedTypeError, match="unknown quantization mode 'RND'"):
        FixedType.fixed(8, 3, rounding="RND")
    with pytest.raises(FixedTypeError, match="unknown overflow mode"):
        FixedType.fixed(8, 3, overflow="AP_SATURATE")
    with pytest.raises(FixedTypeError, match="integer == width"):
        FixedType(8, 3, is_int=True)
    with pytest.raises(FixedTypeError, match="width must be an integer"):
        FixedType(8.0, 3)
    with pytest.raises(FixedTypeError, match="saturation bits"):
        FixedType.fixed(8, 3, sat_bits=-1)


def test_tensor_type():
    t = TensorType((1, 28, 28), FixedType.parse("ap_fixed<8,3>"))
    assert t.shape == (1, 28, 28) and t.size == 784
    assert str(t) == "ap_fixed<8,3>[1,28,28]"
    f = TensorType([4, 5])
    assert f.shape == (4, 5) and f.dtype is None and str(f) == "float[4,5]"
    assert TensorType((4, 5)) == f and hash(TensorType((4, 5))) == hash(f)
    with pytest.raises(GraphError, match="negative dimension"):
        TensorType((3, -1))
