"""Canonical signed digit (CSD) form of an integer: the non-adjacent form (NAF).

Rule (Reitwiesner 1960; Hartley, "Subexpression sharing in filters using canonic signed digit
multipliers", IEEE TCAS-II 43(10), 1996): every integer n has exactly one representation
``n = sum_k d_k * 2**k`` with digits d_k in {-1, 0, +1} and no two adjacent nonzero digits
(d_k * d_{k+1} == 0). It has the fewest nonzero digits of all signed-digit forms (on average a third
of the bits), so a constant product ``x * n`` costs (nonzero digits - 1) adders of shifted ``x``.
Computed from the low end: while n != 0, an odd n takes the digit ``2 - (n mod 4)`` (+1 when
n = 1 mod 4, -1 when n = 3 mod 4), which leaves n - d divisible by 4, hence the zero above it.
"""
from __future__ import annotations


def csd_digits(n: int) -> list[tuple[int, int]]:
    """The nonzero CSD digits of n as (shift k, sign +-1), ascending k: n == sum(sign << k)."""
    n = int(n)
    digits = []
    k = 0
    while n != 0:
        if n & 1:
            d = 2 - (n & 3)  # n mod 4 (Python's & is two's complement for negative n too)
            digits.append((k, d))
            n -= d
        n >>= 1
        k += 1
    return digits


def csd_value(digits: list[tuple[int, int]]) -> int:
    """The integer a digit list stands for."""
    return sum(sign << k for k, sign in digits)
