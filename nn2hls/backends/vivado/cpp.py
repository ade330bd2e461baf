"""C++ spelling of fixed-point types, constants and comments for the generated HLS code.

Rules:
- `cpp_type(t)` is Vivado's spelling (`ap_fixed<16,6,AP_RND,AP_SAT>`, `ap_uint<8>`), trailing default
  parameters omitted, identical to `str(FixedType)`.
- A constant of type `t` (weights, biases, table entries, parameters) is printed as the shortest
  decimal double literal that parses back to the same double (Python `repr`). The value is a
  multiple of 2^-frac with at most `t.width` <= 53 significant bits, so that double is the value
  itself and `T c = literal;` stores exactly the quantized bits with both header sets (tested).
  A wider constant (up to 128 bits) is spelled from its raw bits, `nn2hls::constant_bits<T>(hi, lo)`
  (`hls_lib/nn2hls_common.h`): exact too, never through a double.
- `comment_text(s)` makes any source text safe inside a `//` comment: no newline, no `*/` or `/*`,
  no backslash (line splice) and no trigraph, no non-printable characters.
"""
from __future__ import annotations

import math
import re

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.ir.fixed import quantize, to_float
from nn2hls.ir.types import FixedType

MAX_LITERAL_WIDTH = 53


def cpp_type(t: FixedType) -> str:
    """The Vivado HLS spelling of `t`."""
    return str(t)


def literal(value: float) -> str:
    """A C++ double literal that parses back to exactly `value` (a finite double)."""
    v = float(value)
    if not math.isfinite(v):
        raise UnsupportedOpError(f"cannot emit the non-finite constant {v!r}; check the model weights")
    if v == 0.0:
        return "0"
    if v.is_integer() and abs(v) < 2 ** 53:
        return str(int(v))
    return repr(v)


def raw_bits_call(raw: int, t: FixedType) -> str:
    """`nn2hls::constant_bits<T>(hi, lo)`: the constant whose raw two's complement bits are `raw`."""
    bits = int(raw) % (1 << t.width)
    return (f"nn2hls::constant_bits<{cpp_type(t)} >(0x{bits >> 64:x}ULL, "
            f"0x{bits & ((1 << 64) - 1):x}ULL)")


def constant_values(values, t: FixedType, what: str) -> list[str]:
    """Quantize `values` to `t` (a no-op for already quantized weights) and print each exactly: a double
    literal up to MAX_LITERAL_WIDTH bits, else its raw bits (`raw_bits_call`)."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    raws = quantize(arr, t)
    if t.width > MAX_LITERAL_WIDTH:
        return [raw_bits_call(int(r), t) for r in np.asarray(raws).reshape(-1).tolist()]
    exact = to_float(raws, t)
    return [literal(v) for v in exact]


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def comment_text(text: str, limit: int = 120) -> str:
    """`text` made safe for a single-line `//` comment."""
    s = _UNPRINTABLE.sub("?", str(text))
    s = s.replace("*/", "* /").replace("/*", "/ *").replace("\\", "/")
    s = re.sub(r"\?{2,}", "?", s)  # no trigraphs (??/ would splice lines in old compilers)
    if len(s) > limit:
        s = s[: limit - 3] + "..."
    return s


def signed_bits(n: int) -> int:
    """Smallest W such that the signed W-bit range holds the integer n."""
    return (n.bit_length() if n >= 0 else (-n - 1).bit_length()) + 1


def index_width(offset: int, size: int) -> int:
    """W1 of `nn2hls::table_index`: a signed width holding offset-1 .. offset+size (see the header)."""
    return max(signed_bits(offset - 1), signed_bits(offset + size), 2)


def exact_sum_type(t: FixedType, n_terms: int) -> FixedType:
    """A type that holds any sum of `n_terms` values of type `t` exactly (AP_TRN, AP_WRAP)."""
    extra = max(1, (max(n_terms, 1) - 1).bit_length())
    return FixedType.fixed(t.width + extra, t.integer + extra, signed=t.signed)
