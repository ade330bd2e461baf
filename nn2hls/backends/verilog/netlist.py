"""Exact integer datapaths written as Verilog-2001 `wire` statements, with proven value bounds.

Every signal is a signed wire holding an integer ``raw`` that means ``raw * 2**-frac``; `Sig` keeps
its name, fractional bits and a proven range ``[lo, hi]`` of raw values, and the wire is exactly as
wide as that range needs (two's complement, `signed_width`). Because every operand of an expression
is signed and every result wire is wide enough for its range, Verilog's sign extension makes each
`+`, `-`, `*` exact (IEEE 1364-2001 4.4/4.5: an expression is signed when all its operands are, and
operands are extended to the width of the assignment before the operation). Bit selections and
concatenations (unsigned in Verilog) only appear as a whole right-hand side: zero extension goes
through an unsigned wire and no zero bit is concatenated onto a signed value. Verilator 5.006
computes `f + i` as f - 1 for `wire signed [1:0] i = {1'b0, b}` with b = 1 (iverilog and yosys: f + 1),
which the first version of this backend tripped over.

`Body.requant` assigns a value to a fixed-point type with that type's quantization and overflow
modes, the rule of `nn2hls.ir.fixed` (``effective_rounding`` for ap_int, AP_SAT_SYM's -max_raw):
floor((a + c) / 2**d) by dropping the low ``d`` bits, with a rounding constant c per mode (AP_RND:
half; AP_RND_CONV: half or half - 1 by the floor's parity; see `_rounding_offset`), then overflow
logic only where the proven range can leave the type's range.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from nn2hls.ir.fixed import effective_rounding
from nn2hls.ir.types import FixedType


def signed_width(lo: int, hi: int) -> int:
    """Bits of the narrowest two's complement integer holding every value of [lo, hi]."""
    def one(v: int) -> int:
        return (v.bit_length() if v >= 0 else (-v - 1).bit_length()) + 1
    return max(one(int(lo)), one(int(hi)))


def literal(value: int, width: int) -> str:
    """A sized signed Verilog literal of `value` (two's complement pattern, so -2**(w-1) works)."""
    value = int(value)
    width = max(width, signed_width(value, value))
    return f"{width}'sh{value & ((1 << width) - 1):x}"


@dataclass(frozen=True)
class Sig:
    """A signed wire `name` of `width` bits: raw value in [lo, hi], meaning raw * 2**-frac."""

    name: str
    width: int
    frac: int
    lo: int
    hi: int

    def __str__(self) -> str:
        return self.name


def type_range(t: FixedType) -> tuple[int, int]:
    return t.min_raw, t.max_raw


class Body:
    """The statements of one module body; `wire` names are `prefix` + a counter (deterministic)."""

    def __init__(self, prefix: str = "t") -> None:
        self.lines: list[str] = []
        self.functions: list[str] = []
        self.prefix = prefix
        self._count = 0
        self.adders = 0
        self.general_terms = 0  # terms x * w with w not 0 or +-2**k (before sharing equal products)
        self.multipliers = 0  # distinct products written (general weights, one per (input, constant))
        self._products: dict[tuple[str, int], Sig] = {}
        self.da_depth = 0  # adder depth of a distributed-arithmetic layer's adder graph (backends/verilog/da.py)

    # -- declarations ---------------------------------------------------------------------------------
    def name(self, hint: str = "") -> str:
        self._count += 1
        return f"{hint or self.prefix}{self._count}"

    def wire(self, expr: str, frac: int, lo: int, hi: int, hint: str = "", width: int | None = None) -> Sig:
        w = max(width or 0, signed_width(lo, hi))
        name = self.name(hint)
        self.lines.append(f"wire signed [{w - 1}:0] {name} = {expr};")
        return Sig(name, w, frac, int(lo), int(hi))

    def const(self, value: int, frac: int) -> Sig:
        value = int(value)
        return self.wire(literal(value, signed_width(value, value)), frac, value, value, "c")

    def port_element(self, bus: str, index: int, t: FixedType, hint: str) -> Sig:
        """Element `index` of a bus of `t.width`-bit raw values, as a signed wire of t's range."""
        w = t.width
        bits = f"{bus}[{index * w + w - 1}:{index * w}]"
        lo, hi = type_range(t)
        if not t.signed:
            bits = self.unsigned(bits, w)
        return self.wire(bits, t.frac, lo, hi, hint)

    def bits(self, s: Sig, width: int) -> str:
        """The low `width` bits of s (s's range must fit them): an expression for an output bus."""
        if s.width == width:
            return s.name
        if s.width > width:
            return f"{s.name}[{width - 1}:0]"
        return self.wire(s.name, s.frac, s.lo, s.hi, "e", width=width).name

    # -- exact arithmetic ----------------------------------------------------------------------------
    def unsigned(self, bits: str, width: int) -> str:
        """A `width`-bit unsigned selection as an unsigned wire (zero-extended when assigned to a wider
        signed wire: no concatenation inside a signed expression, see the module docstring)."""
        name = self.name("b")
        self.lines.append(f"wire [{width - 1}:0] {name} = {bits};")
        return name

    def extend(self, a: Sig, width: int) -> Sig:
        if a.width >= width:
            return a
        return self.wire(a.name, a.frac, a.lo, a.hi, "e", width=width)

    def align(self, a: Sig, frac: int) -> Sig:
        """a at `frac` >= a.frac fractional bits (a left shift: exact)."""
        k = frac - a.frac
        if k <= 0:
            return a
        return self.wire(f"{a} <<< {k}", frac, a.lo << k, a.hi << k, "s")

    def floor_shift(self, a: Sig, d: int) -> Sig:
        """floor(a / 2**d) for d > 0, at a.frac - d fractional bits (the low d bits dropped)."""
        a = self.extend(a, d + 2)
        lo, hi = a.lo >> d, a.hi >> d
        w = signed_width(lo, hi)
        return self.wire(f"{a}[{d + w - 1}:{d}]", a.frac - d, lo, hi, "f")

    def add(self, a: Sig, b: Sig, subtract: bool = False) -> Sig:
        frac = max(a.frac, b.frac)
        a, b = self.align(a, frac), self.align(b, frac)
        self.adders += 1
        if subtract:
            return self.wire(f"{a} - {b}", frac, a.lo - b.hi, a.hi - b.lo)
        return self.wire(f"{a} + {b}", frac, a.lo + b.lo, a.hi + b.hi)

    def negate(self, a: Sig) -> Sig:
        return self.wire(f"-{a}", a.frac, -a.hi, -a.lo, "n")

    def mul_const(self, a: Sig, c: int, frac: int) -> Sig:
        """a * c for an integer constant c (a general product); the result has `frac` bits. The same
        (a, c) product is written once per module and shared (a weight repeated in one input's row)."""
        key = (a.name, int(c))
        if key not in self._products:
            self.multipliers += 1
            ends = (a.lo * c, a.hi * c)
            self._products[key] = self.wire(f"{a} * {literal(c, signed_width(c, c))}", 0, min(ends), max(ends), "p")
        p = self._products[key]
        return Sig(p.name, p.width, frac, p.lo, p.hi)

    def mul(self, a: Sig, b: Sig) -> Sig:
        self.multipliers += 1
        ends = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
        return self.wire(f"{a} * {b}", a.frac + b.frac, min(ends), max(ends), "p")

    def maximum(self, a: Sig, b: Sig, minimum: bool = False) -> Sig:
        frac = max(a.frac, b.frac)
        a, b = self.align(a, frac), self.align(b, frac)
        if minimum:
            return self.wire(f"({a} < {b}) ? {a} : {b}", frac, min(a.lo, b.lo), min(a.hi, b.hi), "m")
        return self.wire(f"({a} > {b}) ? {a} : {b}", frac, max(a.lo, b.lo), max(a.hi, b.hi), "m")

    def clamp(self, a: Sig, lo: int | None, hi: int | None) -> Sig:
        """min(max(a, lo), hi) for constants at a's fractional bits (None: no bound)."""
        if lo is not None and a.lo < lo:
            lit = literal(lo, a.width)
            a = self.wire(f"({a} < {lit}) ? {lit} : {a}", a.frac, lo, max(a.hi, lo), "k",
                          width=max(a.width, signed_width(lo, lo)))
        if hi is not None and a.hi > hi:
            lit = literal(hi, a.width)
            a = self.wire(f"({a} > {lit}) ? {lit} : {a}", a.frac, min(a.lo, hi), hi, "k",
                          width=max(a.width, signed_width(hi, hi)))
        return a

    def tree(self, terms: Sequence[tuple[Sig, bool]], frac: int) -> Sig:
        """Exact sum of (signal, negated) terms as a balanced adder tree; 0 for no terms."""
        level = list(terms)
        if not level:
            return self.const(0, frac)
        while len(level) > 1:
            nxt = []
            for i in range(0, len(level) - 1, 2):
                (a, na), (b, nb) = level[i], level[i + 1]
                if na == nb:
                    nxt.append((self.add(a, b), na))
                elif nb:
                    nxt.append((self.add(a, b, subtract=True), False))
                else:
                    nxt.append((self.add(b, a, subtract=True), False))
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        root, negated = level[0]
        return self.negate(root) if negated else root

    # -- assignment to a fixed-point type ------------------------------------------------------------
    def requant(self, a: Sig, t: FixedType) -> Sig:
        """a assigned to type t (quantization, then overflow), as a signal at t.frac within t's range."""
        d = a.frac - t.frac
        mode = effective_rounding(t)
        if d > 0:
            a = self.extend(a, d + 2)
            n = self.floor_shift(self._rounding_offset(a, d, mode), d)
        elif d < 0:
            n = self.align(a, t.frac)
        else:
            n = a
        return self._overflow(n, t)

    def _rounding_offset(self, a: Sig, d: int, mode: str) -> Sig:
        """a plus the offset that turns the floor of (a / 2**d) into t's rounding: round(a / 2**d) =
        floor((a + c) / 2**d) with c = half (AP_RND), half - 1 (AP_RND_MIN_INF), 0 (AP_TRN), and for the
        sign- or parity-dependent modes c chosen by a's sign bit or the LSB of the floor (bit d of a):
        AP_TRN_ZERO 2**d - 1 when negative; AP_RND_ZERO half when negative, else half - 1; AP_RND_INF the
        opposite; AP_RND_CONV half when the floor is odd, else half - 1 (a tie then goes to even)."""
        half = 1 << (d - 1)
        sign, odd = f"{a}[{a.width - 1}]", f"{a}[{d}]"
        choice = {"AP_TRN": None, "AP_RND": (half, half), "AP_RND_MIN_INF": (half - 1, half - 1),
                  "AP_TRN_ZERO": (sign, (1 << d) - 1, 0), "AP_RND_ZERO": (sign, half, half - 1),
                  "AP_RND_INF": (sign, half - 1, half), "AP_RND_CONV": (odd, half, half - 1)}[mode]
        if choice is None or choice[-1] == choice[-2] == 0:
            return a
        if len(choice) == 2:
            c = choice[0]
            if c == 0:
                return a
            return self.wire(f"{a} + {literal(c, signed_width(c, c))}", a.frac, a.lo + c, a.hi + c, "h")
        cond, c1, c0 = choice
        w = signed_width(min(c1, c0), max(c1, c0))
        return self.wire(f"{a} + ({cond} ? {literal(c1, w)} : {literal(c0, w)})", a.frac,
                         a.lo + min(c1, c0), a.hi + max(c1, c0), "h")

    def _overflow(self, n: Sig, t: FixedType) -> Sig:
        sym = t.overflow == "AP_SAT_SYM" and t.signed and t.width > 1
        tmin = -t.max_raw if sym else t.min_raw
        tmax = t.max_raw
        if tmin <= n.lo and n.hi <= tmax:
            return n
        w = t.width
        if t.overflow == "AP_WRAP":
            n = self.extend(n, w)
            low = f"{n}[{w - 1}:0]"
            return self.wire(low if t.signed else self.unsigned(low, w), t.frac, t.min_raw, t.max_raw, "w")
        high = f"({n} > {literal(tmax, n.width)})" if n.hi > tmax else None
        low = f"({n} < {literal(tmin, n.width)})" if n.lo < tmin else None
        lo, hi = max(n.lo, tmin), min(n.hi, tmax)
        width = signed_width(lo, hi)
        if t.overflow == "AP_SAT_ZERO":
            cond = " | ".join(c for c in (high, low) if c)
            return self.wire(f"({cond}) ? {literal(0, width)} : {n}", t.frac, min(lo, 0), max(hi, 0), "z")
        expr = n.name
        if low:
            expr = f"{low} ? {literal(tmin, width)} : {expr}"
        if high:
            expr = f"{high} ? {literal(tmax, width)} : {expr}"
        return self.wire(expr, t.frac, lo, hi, "q")
