"""Multiplier-free constant matrix-vector products: CSD digits, common subexpressions, adder trees.

Rule (distributed arithmetic as in da4ml, arXiv:2507.04535; the subexpression sharing of Hartley,
IEEE TCAS-II 43(10), 1996, and Potkonjak, Srivastava, Chandrakasan, IEEE TCAD 15(2), 1996): the
outputs ``y_o = sum_i x_i * W[i, o]`` of an integer matrix W are sums of shifted inputs.

1. Every weight in canonical signed digit form (`nn2hls.ir.csd`): output o is the set of terms
   ``sign * (x_i << k)``, one per nonzero digit (each (signal, shift) at most once per output).
2. Common subexpressions, greedily: a two-term pattern ``(x_i << a) +- (x_j << a + d)`` is keyed by
   (i, j, d, relative sign) (the term of lower (shift, signal) first, so d >= 0); the pattern with the
   most occurrences over all outputs becomes one new signal ``t = x_i +- (x_j << d)`` (one adder), and
   each occurrence is replaced by ``sign * (t << a)``; occurrences of one pattern inside one output do
   not overlap (a chain x<<0, x<<d, x<<2d gives one). Repeated, on the new signals too, until no
   pattern occurs twice. Ties go to the pattern whose operands are shallower (adder depth), then to
   the one counted first: the result is deterministic. Pattern counts are kept incrementally (a
   term removed or added updates the pairs it forms in its output), in buckets by count.
3. Each output's remaining terms are summed by a depth-first (Huffman-like) tree: the two shallowest
   terms are added first, which gives the least adder depth for the given leaves.

Each adder computes ``(s_a << sa) + (s_b << sb)`` or its difference; a negative term is folded into a
subtraction (only a sum of negative terms stays negative, its sign carried to the consumer). The
result is a `Plan`; `evaluate` runs it on any values (Verilog signals, numpy integers, depths) with
absent inputs (a Conv tap in the zero padding) propagated as zeros without adders.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Callable, Generic, NamedTuple, Sequence, TypeVar

import numpy as np

from nn2hls.ir.csd import csd_digits

V = TypeVar("V")


@dataclass(frozen=True)
class Adder:
    """Signal value ``(s[a] << sa) + (s[b] << sb)``, or ``-`` when `sub`."""

    a: int
    sa: int
    b: int
    sb: int
    sub: bool


@dataclass(frozen=True)
class Plan(Generic[V]):
    """An adder graph: signals 0..n_inputs-1 are the inputs, signal n_inputs + k is adders[k];
    output o is ``sign * (signal << shift)`` or None (an all-zero column)."""

    n_inputs: int
    adders: tuple[Adder, ...]
    outputs: tuple[tuple[int, int, int] | None, ...]
    shared: int  # adders made by subexpression elimination (the first `shared` of `adders`)

    def depths(self) -> list[int]:
        d = [0] * self.n_inputs
        for ad in self.adders:
            d.append(max(d[ad.a], d[ad.b]) + 1)
        return d

    @property
    def depth(self) -> int:
        d = self.depths()
        return max((d[o[0]] for o in self.outputs if o is not None), default=0)


def _pair(t1: tuple[int, int], g1: int, t2: tuple[int, int], g2: int) -> tuple[int, int, int, int]:
    """Pattern key (i, j, d, s) of two terms (signal, shift) with signs."""
    (p, sp), (q, sq) = t1, t2
    if (sp, p) > (sq, q):
        p, sp, q, sq = q, sq, p, sp
    return p, q, sq - sp, g1 * g2


class _Terms:
    """Terms of every output and the incremental pattern counts. Patterns seen at least twice sit in
    buckets keyed by (count, operand depth), each an insertion-ordered dict: the next pattern is the
    first of the highest-count, shallowest non-empty bucket (deterministic, no sorting)."""

    def __init__(self, columns: list[dict[tuple[int, int], int]], depth: list[int]) -> None:
        self.columns = columns
        self.depth = depth
        self.count: dict[tuple[int, int, int, int], int] = {}
        self.signals: list[dict[int, int]] = []  # per output: signal -> its number of terms there
        self.buckets: dict[tuple[int, int], dict[tuple[int, int, int, int], None]] = {}
        self.blocked: set[tuple[int, int, int, int]] = set()
        self.top = 0
        for o, col in enumerate(columns):
            sigs: dict[int, int] = {}
            for sig, _ in col:
                sigs[sig] = sigs.get(sig, 0) + 1
            self.signals.append(sigs)
            items = sorted(col.items())
            for a in range(len(items)):
                for b in range(a + 1, len(items)):
                    self._bump(_pair(items[a][0], items[a][1], items[b][0], items[b][1]), o, 1)

    def _bump(self, pat: tuple[int, int, int, int], o: int, delta: int) -> None:
        old = self.count.get(pat, 0)
        c = old + delta
        if c:
            self.count[pat] = c
        else:
            del self.count[pat]
        if (old >= 2 or c >= 2) and pat not in self.blocked:
            level = max(self.depth[pat[0]], self.depth[pat[1]])
            if old >= 2:
                del self.buckets[(old, level)][pat]
            if c >= 2:
                self.buckets.setdefault((c, level), {})[pat] = None
                self.top = max(self.top, c)

    def block(self, pat: tuple[int, int, int, int]) -> None:
        """Never choose pat again (its occurrences overlap: fewer than two usable)."""
        del self.buckets[(self.count[pat], max(self.depth[pat[0]], self.depth[pat[1]]))][pat]
        self.blocked.add(pat)

    def remove(self, o: int, term: tuple[int, int]) -> int:
        col = self.columns[o]
        g = col.pop(term)
        sigs = self.signals[o]
        sigs[term[0]] -= 1
        if not sigs[term[0]]:
            del sigs[term[0]]
        self._pairs(term, g, o, -1)
        return g

    def _pairs(self, term: tuple[int, int], g: int, o: int, delta: int) -> None:
        """Count (delta +-1) the patterns `term` forms with every other term of output o (`_pair` inlined)."""
        p, sp = term
        bump = self._bump
        for (q, sq), g2 in self.columns[o].items():
            if sp < sq or (sp == sq and p < q):
                bump((p, q, sq - sp, g * g2), o, delta)
            else:
                bump((q, p, sp - sq, g * g2), o, delta)

    def add(self, o: int, term: tuple[int, int], g: int) -> None:
        col = self.columns[o]
        self._pairs(term, g, o, 1)
        col[term] = g
        self.signals[o][term[0]] = self.signals[o].get(term[0], 0) + 1

    def matches(self, o: int, pat: tuple[int, int, int, int]) -> list[int]:
        """Base shifts a of the non-overlapping occurrences of pat in output o (ascending, greedy)."""
        i, j, d, s = pat
        col = self.columns[o]
        used: set[tuple[int, int]] = set()
        found = []
        for sa in sorted(k for (sig, k) in col if sig == i):
            other = (j, sa + d)
            if other in col and (i, sa) not in used and other not in used and col[(i, sa)] * col[other] == s:
                used.update(((i, sa), other))
                found.append(sa)
        return found

    def best(self) -> tuple[int, int, int, int] | None:
        """The most frequent pattern (count >= 2; ties: shallowest operands, then first counted), or None."""
        levels = max(self.depth) + 1
        while self.top >= 2:
            for level in range(levels):
                bucket = self.buckets.get((self.top, level))
                if bucket:
                    return next(iter(bucket))
            self.top -= 1
        return None


def optimize(matrix: np.ndarray) -> Plan:
    """The adder graph of y = x @ matrix for an integer matrix (n_in, n_out)."""
    m = np.asarray(matrix, dtype=object)
    n_in, n_out = m.shape
    columns: list[dict[tuple[int, int], int]] = [{} for _ in range(n_out)]
    for i in range(n_in):
        for o in range(n_out):
            for k, g in csd_digits(int(m[i, o])):
                columns[o][(i, k)] = g
    depth = [0] * n_in
    terms = _Terms(columns, depth)
    adders: list[Adder] = []
    while (pat := terms.best()) is not None:
        occurrences = [(o, sa) for o, sigs in enumerate(terms.signals) if pat[0] in sigs and pat[1] in sigs
                       for sa in terms.matches(o, pat)]
        if len(occurrences) < 2:  # overlapping occurrences of x<<a, x<<a+d counted, one usable
            terms.block(pat)
            continue
        i, j, d, s = pat
        t = n_in + len(adders)
        adders.append(Adder(i, 0, j, d, s < 0))
        depth.append(max(depth[i], depth[j]) + 1)
        for o, sa in occurrences:
            g = terms.remove(o, (i, sa))
            terms.remove(o, (j, sa + d))
            terms.add(o, (t, sa), g)
    shared = len(adders)
    memo: dict[Adder, int] = {}

    def emit(ad: Adder) -> int:
        if ad not in memo:
            memo[ad] = n_in + len(adders)
            adders.append(ad)
            depth.append(max(depth[ad.a], depth[ad.b]) + 1)
        return memo[ad]

    outputs: list[tuple[int, int, int] | None] = []
    for col in columns:
        heap = [(depth[sig], n, sig, k, g) for n, ((sig, k), g) in
                enumerate(sorted(col.items(), key=lambda e: (depth[e[0][0]], e[0][0], e[0][1])))]
        heapq.heapify(heap)
        seq = len(heap)
        while len(heap) > 1:
            _, _, p, sp, gp = heapq.heappop(heap)
            _, _, q, sq, gq = heapq.heappop(heap)
            low = min(sp, sq)
            if gp > 0:
                sig, g = emit(Adder(p, sp - low, q, sq - low, gq < 0)), 1
            elif gq > 0:
                sig, g = emit(Adder(q, sq - low, p, sp - low, True)), 1
            else:
                sig, g = emit(Adder(p, sp - low, q, sq - low, False)), -1
            heapq.heappush(heap, (depth[sig], seq, sig, low, g))
            seq += 1
        outputs.append((heap[0][2], heap[0][3], heap[0][4]) if heap else None)
    return Plan(n_in, tuple(adders), tuple(outputs), shared)


_CACHE: dict[tuple, Plan] = {}


def plan_for(matrix: np.ndarray) -> Plan:
    """`optimize`, remembered per matrix (the report and the Verilog backend ask for the same layer)."""
    m = np.asarray(matrix, dtype=object)
    key = (m.shape, tuple(int(v) for v in m.reshape(-1)))
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = optimize(m)
    return _CACHE[key]


AddFn = Callable[[V, int, V, int, bool], V]


def evaluate(plan: Plan, inputs: Sequence[V | None], add: AddFn) -> list[tuple[V, int, int] | None]:
    """Run the plan: ``add(a, ka, b, kb, sub)`` must return (a << ka) + (b << kb) (or -). An input None
    is an absent (zero) input: an adder with one absent operand passes the other one on (no adder).
    Output o is (value, shift, sign) meaning sign * (value << shift), or None (zero)."""
    vals: list[tuple[V, int, int] | None] = [None if x is None else (x, 0, 1) for x in inputs]
    for ad in plan.adders:
        a, b = vals[ad.a], vals[ad.b]
        gb = -1 if ad.sub else 1
        if a is None or b is None:
            if b is not None:
                vals.append((b[0], b[1] + ad.sb, b[2] * gb))
            else:
                vals.append(None if a is None else (a[0], a[1] + ad.sa, a[2]))
            continue
        va, ka, ga = a[0], a[1] + ad.sa, a[2]
        vb, kb, g2 = b[0], b[1] + ad.sb, b[2] * gb
        low = min(ka, kb)
        if ga > 0:
            vals.append((add(va, ka - low, vb, kb - low, g2 < 0), low, 1))
        elif g2 > 0:
            vals.append((add(vb, kb - low, va, ka - low, True), low, 1))
        else:
            vals.append((add(va, ka - low, vb, kb - low, False), low, -1))
    out: list[tuple[V, int, int] | None] = []
    for o in plan.outputs:
        v = None if o is None else vals[o[0]]
        out.append(None if v is None else (v[0], v[1] + o[1], v[2] * o[2]))
    return out


class Cost(NamedTuple):
    adders: int
    depth: int
    outputs: tuple[bool, ...]  # output o is not identically zero


def cost(plan: Plan, present: Sequence[bool] | None = None) -> Cost:
    """Adders, adder depth and nonzero outputs of the plan with only the `present` inputs (default: all)."""
    count = 0

    def add(a: int, ka: int, b: int, kb: int, sub: bool) -> int:
        nonlocal count
        count += 1
        return max(a, b) + 1

    inputs = [0 if present is None or present[i] else None for i in range(plan.n_inputs)]
    outs = evaluate(plan, inputs, add)
    return Cost(count, max((o[0] for o in outs if o is not None), default=0), tuple(o is not None for o in outs))
