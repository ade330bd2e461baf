"""Fixed-point arithmetic benchmark: numpy model throughput, C++ multiply-accumulate speed and
compile time of hls_lib's ap_fixed against plain int64 and the vendor headers.

Measures, in one run:
- `nn2hls.ir.fixed.quantize` throughput (elements/s) for ap_fixed<16,6,AP_RND,AP_SAT>;
- ns per multiply-accumulate of `acc += x[i] * w[i]` over 4096-element arrays (x, w ap_fixed<16,6>,
  acc ap_fixed<48,24>), repeated; the same loop on raw int16 operands with an int64 accumulator
  (the floor), and against the vendor headers. Data come from a volatile seed and the sum is
  printed, so the compiler can neither precompute nor drop the loop; all three build at -O2;
- wall time of `g++ -O2 -c` on a small file using ap_fixed, per header set (best of 3).

Usage: python bench/fixed_point.py [--ap-types DIR] (default: $NN2HLS_AP_TYPES; vendor rows are
skipped without it). Prints a Markdown section to paste into bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HLS_LIB = ROOT / "hls_lib"

MAC_SRC = r"""
#include <chrono>
#include <cstdint>
#include <cstdio>
#ifdef PLAIN
typedef int16_t x_t; typedef int16_t w_t; typedef int64_t acc_t;
static x_t make(int r) { return (x_t)r; }
static double out(acc_t a) { return (double)a; }
#define MAC(acc, x, w) acc += (int32_t)(x) * (int32_t)(w)
#else
#include "ap_fixed.h"
typedef ap_fixed<16, 6> x_t; typedef ap_fixed<16, 6> w_t; typedef ap_fixed<48, 24> acc_t;
static x_t make(int r) { return x_t(r * (1.0 / 1024)); }
static double out(acc_t a) { return a.to_double(); }
#define MAC(acc, x, w) acc += (x) * (w)
#endif
volatile int seed = 12345;
enum { N = 4096, REPS = 20000 };
static x_t xs[N];
static w_t ws[N];
int main() {
  uint32_t s = (uint32_t)seed;
  for (int i = 0; i < N; ++i) {
    s = s * 1664525u + 1013904223u; xs[i] = make((int)(s >> 16) - 32768);
    s = s * 1664525u + 1013904223u; ws[i] = make((int)(s >> 20) - 2048);
  }
  acc_t total = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < REPS; ++r) {
    acc_t acc = 0;
    for (int i = 0; i < N; ++i) MAC(acc, xs[i], ws[(i + r) & (N - 1)]);
    total += acc;
  }
  auto t1 = std::chrono::steady_clock::now();
  double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / ((double)N * REPS);
  std::printf("%.4f %.6g\n", ns, out(total));
  return 0;
}
"""

SMALL_SRC = r"""
#include "ap_fixed.h"
typedef ap_fixed<16, 6> data_t;
typedef ap_fixed<32, 12, AP_RND, AP_SAT> acc_t;
data_t layer(const data_t x[4], const data_t w[4]) {
  acc_t acc = 0;
  for (int i = 0; i < 4; ++i) acc += x[i] * w[i];
  return acc;
}
"""


def _compile(src: Path, exe: Path, include: Path | None, extra: list[str]) -> float:
    cmd = ["g++", "-std=c++17", "-O2", "-w", *extra, str(src), "-o", str(exe)]
    if include is not None:
        cmd.insert(1, f"-I{include}")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def mac_ns(tmp: Path, name: str, include: Path | None) -> float:
    src = tmp / "mac.cpp"
    src.write_text(MAC_SRC)
    exe = tmp / f"mac_{name}"
    _compile(src, exe, include, ["-DPLAIN"] if include is None else [])
    runs = [float(subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()[0])
            for _ in range(3)]
    return min(runs)


def compile_s(tmp: Path, include: Path) -> float:
    src = tmp / "small.cpp"
    src.write_text(SMALL_SRC)
    return min(_compile(src, tmp / "small.o", include, ["-c"]) for _ in range(3))


def quantize_rate() -> float | None:
    try:
        import numpy as np
        sys.path.insert(0, str(ROOT))
        from nn2hls.ir import fixed
        from nn2hls.ir.types import FixedType
    except ImportError:
        return None
    t = FixedType(16, 6, True, "AP_RND", "AP_SAT")
    x = np.random.default_rng(0).normal(0, 8, size=2_000_000)
    fixed.quantize(x[:1000], t)
    best = min(_timed(lambda: fixed.quantize(x, t)) for _ in range(3))
    return len(x) / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ap-types", default=os.environ.get("NN2HLS_AP_TYPES"),
                    help="vendor ap_types directory (default: $NN2HLS_AP_TYPES)")
    ap.add_argument("--markdown", action="store_true", help="print only the table and the quantizer line "
                    "(bench/regenerate.py)")
    args = ap.parse_args()
    vendor = Path(args.ap_types) if args.ap_types else None
    if vendor is not None and not (vendor / "ap_fixed.h").is_file():
        print(f"error: --ap-types {vendor} has no ap_fixed.h", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        plain = mac_ns(tmp, "plain", None)
        ours = mac_ns(tmp, "hls_lib", HLS_LIB)
        theirs = mac_ns(tmp, "vendor", vendor) if vendor else None
        c_ours = compile_s(tmp, HLS_LIB)
        c_theirs = compile_s(tmp, vendor) if vendor else None
    rate = quantize_rate()
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gxx = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    if not args.markdown:
        print("## Fixed-point arithmetic\n")
        print(f"Measured {datetime.date.today().isoformat()} with `python bench/fixed_point.py` on {cpu} "
              f"({os.cpu_count()} cores, {platform.system()}), {gxx}, -O2.\n")
    print("| measurement | hls_lib | plain int64 | vendor headers |")
    print("|---|---|---|---|")
    v = f"{theirs:.3f}" if theirs else "n/a"
    print(f"| ns per MAC `acc += x*w` (ap_fixed<16,6> into ap_fixed<48,24>) | {ours:.3f} | {plain:.3f} | {v} |")
    ratio_v = f"{theirs / ours:.1f}x slower than hls_lib" if theirs else "n/a"
    print(f"| ratio | {ours / plain:.2f}x plain | 1 | {ratio_v} |")
    cv = f"{c_theirs:.2f} s ({c_theirs / c_ours:.1f}x hls_lib)" if c_theirs else "n/a"
    print(f"| compile time, small file (`g++ -O2 -c`) | {c_ours:.2f} s | - | {cv} |")
    if rate is not None:
        print(f"\nnumpy model `nn2hls.ir.fixed.quantize` to ap_fixed<16,6,AP_RND,AP_SAT>: "
              f"{rate / 1e6:.1f} M elements/s (2M float64 values).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
