"""C++ spelling helpers: exact constant literals, comment escaping, type names, index widths."""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.backends.vivado.cpp import (comment_text, constant_values, cpp_type, exact_sum_type, index_width,
                                        literal)
from nn2hls.errors import UnsupportedOpError
from nn2hls.ir import fixed
from nn2hls.ir.types import FixedType


@pytest.mark.parametrize("spelling", ["ap_fixed<16,6,AP_RND,AP_SAT>", "ap_ufixed<8,0>", "ap_fixed<53,-3>",
                                      "ap_fixed<6,12>", "ap_int<9>", "ap_uint<3>", "ap_fixed<40,20,AP_RND_CONV>"])
def test_constant_literals_parse_back_to_the_same_bits(spelling):
    t = FixedType.parse(spelling)
    rng = np.random.default_rng(0)
    span = max(abs(t.min_value), t.max_value)
    values = np.concatenate([rng.uniform(-span, span, 500), [t.min_value, t.max_value, t.lsb, 0.0]])
    raw = fixed.quantize(values, t)
    texts = constant_values(values, t, "test")
    parsed = np.array([float(s) for s in texts])  # what a C++ compiler reads: the nearest double
    np.testing.assert_array_equal(fixed.quantize(parsed, t), raw)
    np.testing.assert_array_equal(parsed, fixed.to_float(raw, t))


def test_literal_forms():
    assert literal(3.0) == "3" and literal(-0.0) == "0" and literal(0.375) == "0.375"
    assert float(literal(2.0 ** -40)) == 2.0 ** -40
    with pytest.raises(UnsupportedOpError):
        literal(float("nan"))



def test_wide_constants_are_spelled_from_their_raw_bits():
    # 0.5 in ap_fixed<60,10>: raw 2^49; -0.5: 2^60 - 2^49 (two's complement on 60 bits)
    assert constant_values([0.5, -0.5], FixedType.fixed(60, 10), "w") == [
        "nn2hls::constant_bits<ap_fixed<60,10> >(0x0ULL, 0x2000000000000ULL)",
        "nn2hls::constant_bits<ap_fixed<60,10> >(0x0ULL, 0xffe000000000000ULL)"]
    # -1 in ap_fixed<128,64>: raw -2^64 -> bits 2^128 - 2^64
    assert constant_values([-1.0], FixedType.fixed(128, 64), "w") == [
        "nn2hls::constant_bits<ap_fixed<128,64> >(0xffffffffffffffffULL, 0x0ULL)"]


def test_comment_text_is_safe():
    nasty = 'a"b*/c;\nd/*e\\\r??/f\x00'
    out = comment_text(nasty)
    for bad in ("*/", "/*", "\n", "\r", "\\", "??", "\x00"):
        assert bad not in out
    assert out.startswith('a"b')


def test_cpp_type_and_helper_types():
    assert cpp_type(FixedType.parse("fixed<16,6,rnd,sat>")) == "ap_fixed<16,6,AP_RND,AP_SAT>"
    assert cpp_type(FixedType.parse("uint<8>")) == "ap_uint<8>"
    s = exact_sum_type(FixedType.parse("ap_ufixed<18,1>"), 10)
    assert (s.width, s.integer, s.signed) == (22, 5, False)
    # signed width holding offset-1 .. offset+size
    assert index_width(-1023, 1024) == 11 and index_width(0, 1024) == 12 and index_width(512, 1024) == 12
