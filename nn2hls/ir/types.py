"""Immutable value types of the IR: Vivado-style fixed-point types and tensor types.

`FixedType` mirrors Vivado HLS ``ap_fixed<W,I,Q,O,N>`` / ``ap_ufixed`` / ``ap_int<W>`` / ``ap_uint<W>``:

- ``W`` total bits (1..128), ``I`` integer bits including the sign bit when signed. ``I`` may be
  negative or larger than ``W``; the fractional bit count is ``F = W - I`` (may be negative too).
- A value is stored as a raw integer ``r`` in the two's complement range of ``W`` bits
  (``[-2^(W-1), 2^(W-1)-1]`` signed, ``[0, 2^W-1]`` unsigned) and means ``r * 2^-F``.
- ``Q`` is the quantization (rounding) mode, ``O`` the overflow mode, ``N`` the saturation bit count
  of the vendor's wrap modes (parsed and printed, arithmetic treats it as 0).

Parsing rules (`FixedType.parse`): accepted spellings are ``ap_fixed<W,I[,Q[,O[,N]]]>``,
``ap_ufixed<...>``, ``ap_int<W>``, ``ap_uint<W>`` and the short forms ``fixed<...>``,
``ufixed<...>``, ``int<W>``, ``uint<W>``. Whitespace anywhere is ignored; the type name and the
modes are case-insensitive and the modes may omit the ``AP_`` prefix (``rnd``, ``Sat`` ...).
`str()` prints the canonical Vivado spelling with trailing default parameters omitted, so
``FixedType.parse(str(t)) == t`` for every type.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from nn2hls.errors import FixedTypeError, GraphError
from nn2hls.ir import ap_modes
from nn2hls.ir.ap_modes import OVERFLOW_MODES, QUANT_MODES, Overflow, Rounding

MAX_WIDTH = 128

_VALID_SPELLINGS = ("expected ap_fixed<W,I[,Q[,O[,N]]]>, ap_ufixed<...>, ap_int<W>, ap_uint<W> "
                    "or fixed<W,I>/ufixed/int/uint")
_TYPE_RE = re.compile(r"^(ap_)?(u?)(fixed|int)<(.*)>$")
_INT_RE = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class FixedType:
    """A Vivado ap_fixed/ap_ufixed/ap_int/ap_uint type (see the module docstring)."""

    width: int
    integer: int
    signed: bool = True
    rounding: Rounding = Rounding.AP_TRN
    overflow: Overflow = Overflow.AP_WRAP
    sat_bits: int = 0
    is_int: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.width, bool) or not isinstance(self.width, int):
            raise FixedTypeError(f"fixed-point width must be an integer, got {self.width!r}")
        if isinstance(self.integer, bool) or not isinstance(self.integer, int):
            raise FixedTypeError(f"fixed-point integer bits must be an integer, got {self.integer!r}")
        if not 1 <= self.width <= MAX_WIDTH:
            raise FixedTypeError(f"fixed-point width {self.width} out of range: use 1..{MAX_WIDTH} bits")
        if self.rounding not in QUANT_MODES:
            raise FixedTypeError(f"unknown quantization mode {self.rounding!r}: use one of "
                                 f"{', '.join(QUANT_MODES)}")
        if self.overflow not in OVERFLOW_MODES:
            raise FixedTypeError(f"unknown overflow mode {self.overflow!r}: use one of "
                                 f"{', '.join(OVERFLOW_MODES)}")
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        object.__setattr__(self, "overflow", Overflow(self.overflow))
        if isinstance(self.sat_bits, bool) or not isinstance(self.sat_bits, int) or self.sat_bits < 0:
            raise FixedTypeError(f"saturation bits N must be a non-negative integer, got {self.sat_bits!r}")
        if self.is_int and (self.integer != self.width or self.rounding != Rounding.AP_TRN
                            or self.overflow != Overflow.AP_WRAP or self.sat_bits != 0):
            raise FixedTypeError(f"ap_int/ap_uint type must have integer == width ({self.width}) and default "
                                 "modes; use ap_fixed<W,I,Q,O> for other parameters")
        object.__setattr__(self, "signed", bool(self.signed))

    # -- constructors -------------------------------------------------------------------------------
    @classmethod
    def fixed(cls, width: int, integer: int, signed: bool = True, rounding: str = Rounding.AP_TRN,
              overflow: str = Overflow.AP_WRAP, sat_bits: int = 0) -> "FixedType":
        """ap_fixed<width, integer, rounding, overflow, sat_bits> (ap_ufixed when not signed)."""
        return cls(width, integer, signed, rounding, overflow, sat_bits)

    @classmethod
    def int_(cls, width: int, signed: bool = True) -> "FixedType":
        """ap_int<width> (ap_uint<width> when not signed)."""
        return cls(width, width, signed, is_int=True)

    @classmethod
    def parse(cls, text: str) -> "FixedType":
        """Parse a Vivado type spelling (see the module docstring for the accepted forms)."""
        if not isinstance(text, str):
            raise FixedTypeError(f"invalid fixed-point type {text!r}: {_VALID_SPELLINGS}")

        def bad(why: str = "") -> FixedTypeError:
            return FixedTypeError(f"invalid fixed-point type {text!r}: {why}{_VALID_SPELLINGS}")

        compact = re.sub(r"\s+", "", text).lower()
        m = _TYPE_RE.match(compact)
        if m is None:
            raise bad()
        unsigned, kind, body = m.group(2) == "u", m.group(3), m.group(4)
        args = body.split(",")
        if kind == "int":
            if len(args) != 1 or not _INT_RE.match(args[0]):
                raise bad("ap_int takes exactly one integer parameter W; ")
            width = int(args[0])
            if not 1 <= width <= MAX_WIDTH:
                raise bad(f"width {width} must be in 1..{MAX_WIDTH}; ")
            return cls.int_(width, signed=not unsigned)
        if not 2 <= len(args) <= 5:
            raise bad("ap_fixed takes 2 to 5 parameters; ")
        if not _INT_RE.match(args[0]) or not _INT_RE.match(args[1]):
            raise bad("W and I must be integers; ")
        width, integer = int(args[0]), int(args[1])
        if not 1 <= width <= MAX_WIDTH:
            raise bad(f"width {width} must be in 1..{MAX_WIDTH}; ")
        rounding, overflow, sat_bits = Rounding.AP_TRN, Overflow.AP_WRAP, 0
        if len(args) >= 3:
            rounding = ap_modes.parse_rounding(args[2])
            if rounding is None:
                raise bad(f"unknown quantization mode {args[2].upper()!r} (use {'/'.join(QUANT_MODES)}); ")
        if len(args) >= 4:
            overflow = ap_modes.parse_overflow(args[3])
            if overflow is None:
                raise bad(f"unknown overflow mode {args[3].upper()!r} (use {'/'.join(OVERFLOW_MODES)}); ")
        if len(args) == 5:
            if not re.match(r"^\d+$", args[4]):
                raise bad("N must be a non-negative integer; ")
            sat_bits = int(args[4])
        return cls(width, integer, not unsigned, rounding, overflow, sat_bits)

    # -- printing -----------------------------------------------------------------------------------
    def __str__(self) -> str:
        if self.is_int:
            return f"ap_{'' if self.signed else 'u'}int<{self.width}>"
        params = [str(self.width), str(self.integer), self.rounding, self.overflow, str(self.sat_bits)]
        keep = 2
        if self.sat_bits != 0:
            keep = 5
        elif self.overflow != Overflow.AP_WRAP:
            keep = 4
        elif self.rounding != Rounding.AP_TRN:
            keep = 3
        return f"ap_{'' if self.signed else 'u'}fixed<{','.join(params[:keep])}>"

    # -- derived quantities -------------------------------------------------------------------------
    @property
    def frac(self) -> int:
        """Fractional bits F = W - I (negative when I > W)."""
        return self.width - self.integer

    @property
    def min_raw(self) -> int:
        """Smallest raw integer of the W-bit storage (two's complement; 0 unsigned)."""
        return ap_modes.min_raw(self.width, self.signed)

    @property
    def max_raw(self) -> int:
        """Largest raw integer of the W-bit storage."""
        return ap_modes.max_raw(self.width, self.signed)

    @property
    def max_abs_raw(self) -> int:
        """Largest |raw| of the W-bit storage."""
        return ap_modes.max_abs_raw(self.width, self.signed)

    @property
    def min_kept_raw(self) -> int:
        """Smallest raw integer an assignment to this type keeps (-max_raw under AP_SAT_SYM)."""
        return ap_modes.min_raw(self.width, self.signed, self.overflow)

    @property
    def lsb_exact(self) -> Fraction:
        return Fraction(2) ** (-self.frac)

    @property
    def min_exact(self) -> Fraction:
        return self.min_raw * self.lsb_exact

    @property
    def max_exact(self) -> Fraction:
        return self.max_raw * self.lsb_exact

    @property
    def lsb(self) -> float:
        return float(self.lsb_exact)

    @property
    def min_value(self) -> float:
        return float(self.min_exact)

    @property
    def max_value(self) -> float:
        return float(self.max_exact)


@dataclass(frozen=True)
class TensorType:
    """A tensor's shape (channels-last) and element type; ``dtype=None`` means float."""

    shape: tuple[int, ...]
    dtype: FixedType | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if any(d < 0 for d in self.shape):
            raise GraphError(f"tensor shape {self.shape} has a negative dimension: dimensions must be >= 0")

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __str__(self) -> str:
        return f"{self.dtype if self.dtype is not None else 'float'}[{','.join(map(str, self.shape))}]"
