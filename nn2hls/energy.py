"""Energy per inference, estimated from what the compiled design computes: a relative figure of merit
for comparing compressed versions of one network, not a measurement of an FPGA.

Rule (per layer, in picojoules): products by kind and operand width, additions at the accumulator
width, and one lookup-table read per table per output element:
  E = mult_general * E_mult(in_bits, weight_bits) + (mult_pm_one + mult_pow2) * E_add(in_bits)
      + adders * E_add(accum_bits) + sum over tables of elements * E_read(entry_bits)
The general products are those the backend builds: for a shared-weight Dense (one product per weight
group, of the group's magnitude by the group sum; `nn2hls.report` takes the groups and the group sum's
width from the same rule as its DSP count) the first term is groups * E_mult(sum_bits, weight_bits)
instead; its additions are as many as the plain sum's (each weight still enters one sum). A layer built as
an adder graph (`strategy: distributed_arithmetic`, Verilog backend) has no products at all: every CSD
digit is one of its `adders` (its report row counts no products), so E = adders * E_add(accum_bits) +
table reads. The Verilog backend
builds no shared-weight groups: one product per weight.
Constants: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm
at 0.9 V: a 32-bit integer multiply 3.1 pJ and a 32-bit integer add 0.1 pJ (8-bit: 0.2 pJ and 0.03 pJ),
an 8 KB SRAM read of 64 bits 10 pJ. Scaled to other widths as an array multiplier (area and energy grow
with the product of the operand widths: E_mult(a, b) = 3.1 pJ * a * b / 32^2, which gives 0.19 pJ at
8 x 8 bits, close to the quoted 0.2 pJ), a ripple adder (E_add(w) = 0.1 pJ * w / 32) and an SRAM read
(E_read(w) = 10 pJ * w / 64). A power-of-two or +-1 product is a shift (wiring) or a negation (one add);
a zero weight costs nothing. Weights are constants in the fabric (no memory reads for io_parallel).
"""
from __future__ import annotations

from typing import Any, Mapping

MULT_32_PJ = 3.1   # 32-bit integer multiply, Horowitz ISSCC 2014 (45 nm, 0.9 V)
ADD_32_PJ = 0.1    # 32-bit integer add, same source
READ_64_PJ = 10.0  # 64-bit read of an 8 KB SRAM, same source


def multiply_pj(a_bits: int, b_bits: int) -> float:
    """Energy of one a x b-bit integer product (pJ), array-multiplier scaling of the 32-bit figure."""
    return MULT_32_PJ * a_bits * b_bits / (32.0 * 32.0)


def add_pj(bits: int) -> float:
    """Energy of one bits-wide integer addition (pJ), linear scaling of the 32-bit figure."""
    return ADD_32_PJ * bits / 32.0


def read_pj(bits: int) -> float:
    """Energy of reading one bits-wide table entry (pJ), linear scaling of the 64-bit SRAM read."""
    return READ_64_PJ * bits / 64.0


def layer_energy_pj(row: Mapping[str, Any], *, in_bits: int, weight_bits: int, accum_bits: int,
                    out_elements: int, general: tuple[int, int] | None = None) -> float:
    """The rule of the module docstring for one report row (`nn2hls.report` keys).

    general: (count, operand bits) of the general products the backend builds per inference when they
    are not the row's mult_general products of in_bits (a shared-weight Dense: groups, group sum bits).
    """
    count, bits = general if general is not None else (row["mult_general"], in_bits)
    energy = count * multiply_pj(bits, weight_bits)
    energy += (row["mult_pm_one"] + row["mult_pow2"]) * add_pj(in_bits)
    energy += row["adders"] * add_pj(accum_bits)
    for role in row.get("table_sizes", {}):
        energy += out_elements * read_pj(int(row.get("table_widths", {}).get(role, 16)))
    return round(float(energy), 3)
