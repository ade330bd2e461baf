"""Generator, builder and reader of the C++ probe that exercises ap_fixed/ap_int header sets.

One probe translation unit holds many cases (a case = one operation on fixed type parameters), so
each header set costs a single compile. The probe reads a binary input file (N doubles, then two
arrays of N 128-bit patterns A and B, each as lo/hi uint64 words) and, for each case in order,
writes a header word pair (0xCA5E, result width) followed by one result per input: the result's raw
bits (1 uint64 word for widths <= 64, 2 words lo/hi above). Raw bits are set and read only through
`x.range(hi, lo)` and `x.length()`, which both the vendor headers and hls_lib provide, so the same
source compiles against either.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HLS_LIB = Path(__file__).resolve().parents[2] / "hls_lib"
PROBE_CPP = Path(__file__).resolve().parent / "probe.cpp"
MAGIC = 0xCA5E

Q_MODES = ("AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_INF", "AP_RND_MIN_INF", "AP_RND_CONV")
O_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")  # AP_WRAP_SM: refused by hls_lib


@dataclass(frozen=True)
class T:
    """A type spelling: ap_fixed/ap_ufixed (kind 'f') or ap_int/ap_uint (kind 'i')."""

    width: int
    integer: int
    signed: bool = True
    q: str = "AP_TRN"
    o: str = "AP_WRAP"
    is_int: bool = False

    def cpp(self) -> str:
        if self.is_int:
            return f"ap_{'' if self.signed else 'u'}int<{self.width}>"
        name = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{name}<{self.width},{self.integer},{self.q},{self.o}>"

    @property
    def frac(self) -> int:
        return self.width - self.integer

    def with_modes(self, q: str, o: str) -> "T":
        return T(self.width, self.integer, self.signed, q, o, False)


def I(width: int, signed: bool = True) -> T:  # noqa: E743 - mirrors ap_int<W>
    return T(width, width, signed, is_int=True)


@dataclass(frozen=True)
class Case:
    """One probe case: op in from_double, convert, mul, add, sub, neg, cmp, addi, muli, isub, dot, outs."""

    op: str
    types: tuple
    n: int

    def cpp_call(self) -> str:
        args = ", ".join(t.cpp() for t in self.types)
        return f"  case_{self.op}<{args}>({self.n});"


def probe_source(cases: list[Case]) -> str:
    """The probe's C++ source: the fixed driver (probe.cpp) followed by main() calling each case."""
    body = "\n".join(c.cpp_call() for c in cases)
    return PROBE_CPP.read_text() + "\nint main(int argc, char** argv) {\n  if (!probe_init(argc, argv)) return 2;\n" \
        + body + "\n  return probe_done();\n}\n"


def write_inputs(path: Path, doubles: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> None:
    """Input file: int64 N, N doubles, N x 2 uint64 (pattern A lo/hi), N x 2 uint64 (pattern B)."""
    n = len(doubles)
    assert pa.shape == (n, 2) and pb.shape == (n, 2)
    with open(path, "wb") as f:
        np.array([n], dtype=np.int64).tofile(f)
        np.asarray(doubles, dtype=np.float64).tofile(f)
        np.ascontiguousarray(pa, dtype=np.uint64).tofile(f)
        np.ascontiguousarray(pb, dtype=np.uint64).tofile(f)


def compile_probe(source: str, include_dir: Path, out_dir: Path, name: str) -> Path:
    """Compile the probe with g++ -O1 against one header set; returns the executable.

    -DNDEBUG: the vendor headers assert (abort) when a rounding conversion drops more bits than the
    source has (e.g. ap_fixed<61,1> -> ap_ufixed<3,5,AP_TRN_ZERO>), although the bit they read is
    then not used; hls_lib has no asserts to disable.
    """
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        import pytest
        pytest.skip(f"C++ compiler {cxx!r} not found")
    src = out_dir / f"{name}.cpp"
    src.write_text(source)
    exe = out_dir / name
    cmd = [cxx, "-std=c++17", "-O1", "-w", "-DNDEBUG", f"-I{include_dir}", str(src), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"probe compile failed against {include_dir}:\n{proc.stderr[-4000:]}")
    return exe


def run_probe(exe: Path, inputs: Path, cases: list[Case]) -> list[tuple[int, np.ndarray]]:
    """Run the probe; returns per case (result width, results) where results are Python-int-free:
    uint64 array of shape (n,) for width <= 64, (n, 2) lo/hi words above (cmp: width 0, shape (n,))."""
    out = exe.parent / (exe.name + ".out")
    proc = subprocess.run([str(exe), str(inputs), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, f"probe {exe} failed: {proc.stderr}"
    data = np.fromfile(out, dtype=np.uint64)
    pos, results = 0, []
    for case in cases:
        magic, width = int(data[pos]), int(data[pos + 1])
        assert magic == MAGIC, f"probe output out of sync at {case}"
        pos += 2
        words = 2 if width > 64 else 1
        chunk = data[pos:pos + case.n * words]
        pos += case.n * words
        results.append((width, chunk.reshape(case.n, 2) if words == 2 else chunk))
    assert pos == len(data), "probe wrote more than expected"
    return results


def bits_to_ints(bits: np.ndarray, width: int, signed: bool) -> list[int]:
    """Probe result words -> Python ints (raw values, sign-extended when signed)."""
    if bits.ndim == 1:
        vals = [int(b) for b in bits]
    else:
        vals = [int(lo) | (int(hi) << 64) for lo, hi in bits]
    if signed:
        top = 1 << (width - 1)
        vals = [v - (1 << width) if v & top else v for v in vals]
    return vals


def patterns_to_raw(p: np.ndarray, t: T) -> list[int]:
    """Raw values of type t set from 128-bit patterns (low W bits, sign-extended when signed)."""
    mask = (1 << t.width) - 1
    vals = [(int(lo) | (int(hi) << 64)) & mask for lo, hi in p]
    if t.signed:
        top = 1 << (t.width - 1)
        vals = [v - (1 << t.width) if v & top else v for v in vals]
    return vals


def random_inputs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random doubles (many exact ties at every scale, huge, tiny, subnormal) and bit patterns."""
    rng = np.random.default_rng(seed)
    k = rng.integers(-(1 << 20), 1 << 20, size=n)
    e = rng.integers(-30, 12, size=n)
    ties = np.ldexp(k.astype(np.float64), e)                   # exact ties of every coarser grid
    uni = rng.uniform(-64, 64, size=n)                          # generic values
    wide = np.ldexp(rng.uniform(-1, 1, size=n), rng.integers(-80, 140, size=n))
    which = rng.integers(0, 3, size=n)
    d = np.where(which == 0, ties, np.where(which == 1, uni, wide))
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1e300, -1e300, 5e-324, -5e-324,
                2.0 ** -1030, 127.96875, -128.0, -127.96875, 2.0 ** 63, -2.0 ** 63, 2.0 ** 127]
    d[:len(specials)] = specials

    def patterns() -> np.ndarray:
        lo = rng.integers(0, 2 ** 63, size=n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, size=n, dtype=np.uint64)
        hi = rng.integers(0, 2 ** 63, size=n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, size=n, dtype=np.uint64)
        p = np.stack([lo, hi], axis=1)
        # a third small values (sign-extended from a random bit length), a third exact ties
        kind = rng.integers(0, 3, size=n)
        nbits = rng.integers(1, 128, size=n)
        tie_at = rng.integers(1, 40, size=n)
        for i in np.nonzero(kind > 0)[0]:
            v = int(lo[i]) | (int(hi[i]) << 64)
            b = int(nbits[i])
            v &= (1 << b) - 1
            if kind[i] == 2:
                t = int(tie_at[i])
                v = (v >> t << t) | (1 << (t - 1))
            if v >> (b - 1) & 1:
                v |= ((1 << 128) - 1) ^ ((1 << b) - 1)
            p[i, 0] = v & (2 ** 64 - 1)
            p[i, 1] = v >> 64
        fixed = [0, 1, (1 << 128) - 1, 1 << 127, (1 << 127) - 1, 1 << 63, (1 << 64) - 1, 0x80, 0x7F, 0x8000]
        for i, v in enumerate(fixed):
            p[i, 0] = v & (2 ** 64 - 1)
            p[i, 1] = v >> 64
        return p

    return d, patterns(), patterns()


# Cases where the vendor headers are not exact, so the vendor comparison skips them (the numpy /
# exact-Python comparison still covers them): comparing a signed and an unsigned 128-bit ap_int
# (vendor: bit-pattern equality), comparing a > 64-bit unsigned fixed value with an int (vendor:
# wrong order), ap_int<128>::to_double (vendor: wrong values), and to_int()/to_int64() of a type
# with negative I (vendor: -1 even for the value 0).
VENDOR_DIVERGENT = ("cmp:ap_ufixed<100,99,AP_TRN,AP_WRAP>", "cmp:ap_int<128>", "outs:ap_int<128>",
                    "outs:ap_fixed<100,-5,AP_TRN,AP_WRAP>", "outi:ap_fixed<100,-5,AP_TRN,AP_WRAP>")

# Target types cycled through the (Q, O) combinations: narrow, I > W, negative I, W = 1, unsigned,
# 64-bit and 128-bit. Sources for conversions are paired with them (wider and with more frac bits,
# or the same layout to hit exact minima for AP_SAT_SYM).
TARGETS = (T(8, 3), T(6, 2, False), T(10, -2), T(5, 9), T(1, 1), T(1, 0, False), T(16, 6),
           T(24, 12, False), T(40, 20), T(64, 32), T(70, 10), T(128, 64), T(100, -3, False),
           T(3, 5, False), T(12, 0), T(2, 2), T(7, 7))
SOURCES = (T(20, 8), T(33, 5, False), T(64, 30), T(128, 60), T(90, 40, False), I(16), T(12, -1),
           T(8, 3), T(30, 12, False), T(61, 1), I(9, False), T(127, 100), T(128, 2, False), T(40, 40),
           T(100, 90), T(2, 2), T(64, 0, False))

BINARY_PAIRS = (
    (T(16, 6), T(16, 6)), (T(8, 3), T(6, 2, False)), (T(64, 20), T(64, 40)), (T(1, 1), T(1, 0, False)),
    (T(10, -2), T(5, 9)), (I(10), T(12, 4, False)), (I(7, False), I(9)), (T(33, 3, False), T(31, 30, False)),
    (T(60, 70, False), T(4, -20)), (I(64), I(64, False)), (T(50, 25), I(1, False)),
)
ADD_PAIRS = BINARY_PAIRS[:-3] + ((T(127, 60), T(100, 50)), (T(100, 99, False), T(27, -1, False)),
                                 (I(64), I(63, False)), (T(125, 0, False), T(2, 2)))
CMP_PAIRS = ADD_PAIRS + ((T(128, 64), T(128, 10, False)), (T(128, 0), T(128, 128)), (I(128), I(128, False)))
INT_TYPES = (T(16, 6), T(8, 3, False), I(12), I(20, False), T(70, 60), T(10, -4))
NEG_TYPES = (T(16, 6), T(6, 2, False), I(9), I(9, False), T(127, 3), T(127, 64, False), T(1, 1), T(1, 0, False))
OUT_TYPES = (T(16, 6), T(8, 3, False), T(64, 32), T(64, 1), T(128, 64), T(128, 100, False), T(100, -5),
             T(60, 70), I(64), I(128), I(40, False), T(30, 2))


def _target(k: int, q: str, o: str) -> T:
    """The k-th target type with modes q, o (AP_WRAP_SM exists for signed types only)."""
    while o == "AP_WRAP_SM" and not TARGETS[k % len(TARGETS)].signed:
        k += 1
    return TARGETS[k % len(TARGETS)].with_modes(q, o)


def standard_cases(n_modes: int, n_ops: int) -> list[Case]:
    """Every (Q, O) pair on double->fixed and fixed->fixed (n_modes values each), then exact ops,
    int mixing, comparisons, outputs and dot products (n_ops values each)."""
    cases = []
    k = 0
    for q in Q_MODES:
        for o in O_MODES:
            tgt = _target(k, q, o)
            src = SOURCES[k % len(SOURCES)]
            cases.append(Case("from_double", (tgt,), n_modes))
            cases.append(Case("convert", (src, tgt), n_modes))
            # the same layout again with a different target size, so every mode meets ties and
            # saturation at two scales
            tgt2 = _target(k + 7, q, o)
            cases.append(Case("convert", (SOURCES[(k + 3) % len(SOURCES)], tgt2), n_ops))
            k += 1
    for a, b in BINARY_PAIRS:
        cases.append(Case("mul", (a, b), n_ops))
    for a, b in ADD_PAIRS:
        cases.append(Case("add", (a, b), n_ops))
        cases.append(Case("sub", (a, b), n_ops))
    for a in NEG_TYPES:
        cases.append(Case("neg", (a,), n_ops))
    for a in INT_TYPES:
        for op in ("addi", "muli", "isub"):
            cases.append(Case(op, (a,), n_ops))
    for a, b in CMP_PAIRS:
        cases.append(Case("cmp", (a, b), n_ops))
    for a in OUT_TYPES:
        cases.append(Case("outs", (a,), n_ops))
        cases.append(Case("outi", (a,), n_ops))
    for q, o in (("AP_TRN", "AP_WRAP"), ("AP_RND", "AP_SAT"), ("AP_RND_CONV", "AP_SAT_SYM"),
                 ("AP_TRN_ZERO", "AP_SAT_ZERO")):
        cases.append(Case("dot", (T(16, 6), T(8, 2), T(40, 20), T(16, 6, True, q, o)), n_ops))
        cases.append(Case("dot", (T(16, 6), T(8, 2), T(20, 8, True, q, o), T(10, 3, False, q, o)), n_ops))
    return cases
