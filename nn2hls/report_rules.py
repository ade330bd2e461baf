"""Estimation rules of the resource report: how a product, a sum and a layer map onto FPGA resources.

These are first-order estimates made before synthesis, meant to rank designs and show what pruning
and narrow types buy; the synthesis report of Vivado/Vitis HLS remains the authority.

Products (one per nonzero quantized weight, per output position):
- kind: a weight of exactly +1 or -1 is `pm_one` (a wire or a negation inside the adder tree); a weight
  of +-2^k (k != 0) is `pow2` (a shift: wiring, no logic); anything else is `general`. Zero weights
  produce nothing (DESIGN.md: a pruned weight costs nothing).
- DSP or LUTs: the DSP48E2 slice of UltraScale/UltraScale+ devices has a 27 x 18 two's complement
  multiplier (AMD UG579 "UltraScale Architecture DSP Slice"; the A port is 30 bits of which 27 feed the
  multiplier, the B port 18 bits; UG974 DSP48E2 primitive). A product whose operands fit 27 x 18 (in
  either order) uses one slice; a wider one is tiled, ceil(wide / 27) * ceil(narrow / 18) slices (this
  ignores the sign-bit overlap of cascaded tiles, so it may undercount by one tile at the boundary).
  HLS tools bind multiplications by a narrow constant to fabric logic instead (a constant with few
  significant bits is a couple of shifted adds). nn2hls's rule: a general product goes to LUTs when the
  weight's significant width (bits of |raw| after stripping trailing zero bits, plus sign) or the input
  width is at most `LUT_MULT_MAX_BITS` = 4; otherwise to DSPs. The threshold is nn2hls's heuristic (no
  vendor document fixes it; AMD's synthesis guide UG901 only states that small multipliers may be
  implemented in slice logic); change it here if your synthesis results disagree.

Sums: a neuron (or a conv output) with t terms (nonzero products plus a nonzero bias) needs t - 1
two-input adders, arranged as a balanced tree of depth ceil(log2 t).

Latency (clock cycles, io_parallel, everything unrolled except the loop over conv output positions):
- a DSP product: `DSP_LATENCY` = 3 cycles (input, multiplier and output registers of a fully
  pipelined DSP48E2, UG579); a LUT product: 1 cycle;
- an adder tree of depth d: ceil(d * `ADDER_NS` / clock period) cycles, `ADDER_NS` = 1.0 ns per level (a
  carry chain of a few dozen bits on UltraScale+; an estimate, not a vendor number);
- one output register per layer (+1); table lookups (sigmoid, tanh, softmax exp/inverse) 1 cycle each;
- a conv layer runs its per-position datapath in a loop pipelined with initiation interval = reuse
  factor: latency = (positions - 1) * II + depth of one position; DSPs = ceil(per-position DSPs / II);
- reshape, transpose, flatten and concat are wiring: 0 cycles.

Lookup tables (ROM): one copy of a table of D entries of W bits takes `bram18(D, W)` block RAMs, the
fewest over the BRAM18 aspect ratios 16K x 1, 8K x 2, 4K x 4, 2K x 9, 1K x 18, 512 x 36 (AMD UG573,
"UltraScale Architecture Memory Resources"; 18 Kbit each): 1024 x 18 bits is 1 BRAM18, 4096 x 18 is 4.
HLS may replicate a ROM read in parallel (two reads per BRAM per cycle) or map a small one to LUTs;
the report gives the size of one copy.
"""
from __future__ import annotations

import math

import numpy as np

from nn2hls.ir.types import FixedType

DSP_A_BITS = 27   # DSP48E2 multiplier A input (UG579)
DSP_B_BITS = 18   # DSP48E2 multiplier B input (UG579)
LUT_MULT_MAX_BITS = 4
DSP_LATENCY = 3
LUT_MULT_LATENCY = 1
ADDER_NS = 1.0
TABLE_LATENCY = 1
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))  # depth, width (UG573)

KINDS = ("general", "pm_one", "pow2")


def weight_kinds(values: np.ndarray) -> np.ndarray:
    """Per weight: 0 = zero, 1 = general, 2 = +-1, 3 = +-2^k (k != 0)."""
    values = np.asarray(values, dtype=np.float64)
    mag = np.abs(values)
    mantissa, _ = np.frexp(mag)
    kinds = np.where(mag == 0, 0, 1)
    kinds = np.where((mag != 0) & (mantissa == 0.5), 3, kinds)
    kinds = np.where(mag == 1.0, 2, kinds)
    return kinds


def significant_bits(values: np.ndarray, t: FixedType | None) -> np.ndarray:
    """Signed width a constant really needs: bits of |raw| without trailing zeros, plus a sign bit.

    `raw = value * 2^frac(t)`; without a type the double's own mantissa (53 bits) is used; a raw value
    that is not an integer below 2^62 counts as 54 bits.
    """
    values = np.asarray(values, dtype=np.float64)
    if t is not None:
        raw = np.abs(values * 2.0 ** t.frac)
    else:
        raw = np.frexp(np.abs(values))[0] * 2.0 ** 53
    exact = (raw == np.floor(raw)) & (raw < 2.0 ** 62)
    ints = np.where(exact, raw, 0).astype(np.int64)
    low = ints & -ints
    odd = np.where(ints > 0, ints // np.where(low > 0, low, 1), 0)
    bits = np.frexp(odd.astype(np.float64))[1].astype(np.int64) + 1
    bits = np.where(exact, bits, 54)
    return np.where(raw == 0, 0, bits)


def dsp_per_product(weight_bits: int, input_bits: int) -> int:
    """DSP48E2 slices of one general product of a `weight_bits` constant and an `input_bits` value."""
    if weight_bits <= LUT_MULT_MAX_BITS or input_bits <= LUT_MULT_MAX_BITS:
        return 0
    wide, narrow = max(weight_bits, input_bits), min(weight_bits, input_bits)
    return math.ceil(wide / DSP_A_BITS) * math.ceil(narrow / DSP_B_BITS)


def tree_depth(terms: int) -> int:
    """Depth of a balanced tree of two-input adders over `terms` terms."""
    return math.ceil(math.log2(terms)) if terms > 1 else 0


def adder_cycles(depth: int, clock_ns: float) -> int:
    """Clock cycles an adder tree of `depth` levels needs at the given clock period."""
    return math.ceil(depth * ADDER_NS / clock_ns) if depth > 0 else 0


def mult_latency(uses_dsp: bool, uses_lut_mult: bool) -> int:
    """Cycles of the multiply stage: the slowest kind of product the layer has."""
    if uses_dsp:
        return DSP_LATENCY
    return LUT_MULT_LATENCY if uses_lut_mult else 0


def bram18(depth: int, width: int) -> int:
    """BRAM18 blocks of one ROM copy of `depth` entries of `width` bits (the cheapest aspect ratio)."""
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in BRAM18_SHAPES)
