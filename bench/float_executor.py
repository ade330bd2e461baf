"""Float executor benchmark: `nn2hls.ir.execute` against the same MLP written as plain numpy.

The IR float executor is the float reference of `check` for files onnxruntime and Keras cannot run
(QONNX) and the precision search's reference; it should cost little more than the matrix products
themselves. Measured: samples/s of `execute` on a 16-64-32-32-5 Dense+ReLU MLP with softmax (random
weights, fixed seed), batch 10,000, and of a hand-written numpy forward pass of the same weights on the
same batch, interleaved (one burst of load hits both), best of `--repeat`. The result is their ratio
(executor time / numpy time), which does not depend on the machine's speed; the outputs are checked
equal first. This replaces a wall-clock assertion that was once in tests/ir/test_execute.py.

Usage: python bench/float_executor.py [--repeat 7] [--batch 10000]; prints a Markdown section for
bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn2hls.ir import ops  # noqa: E402
from nn2hls.ir.execute import execute  # noqa: E402
from nn2hls.ir.graph import Graph  # noqa: E402

SIZES = [16, 64, 32, 32, 5]


def mlp(rng: np.random.Generator) -> tuple[Graph, list[tuple[np.ndarray, np.ndarray]]]:
    g = Graph("mlp")
    prev = g.add(ops.Input(shape=(SIZES[0],)), name="x").name
    layers = []
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        w, bias = rng.normal(size=(a, b)), rng.normal(size=b)
        layers.append((w, bias))
        prev = g.add(ops.Dense(), [prev], name=f"d{i}", weights={"kernel": w, "bias": bias}).name
        prev = g.add(ops.Activation(function="relu"), [prev], name=f"r{i}").name
    g.outputs = [g.add(ops.Softmax(), [prev], name="s").name]
    return g, layers


def numpy_forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    h = x
    for w, b in layers:
        h = np.maximum(h @ w + b, 0.0)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--markdown", action="store_true", help="print only the table (bench/regenerate.py)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    graph, layers = mlp(rng)
    x = rng.normal(size=(args.batch, SIZES[0]))
    np.testing.assert_allclose(execute(graph, x)[0], numpy_forward(layers, x), rtol=1e-12, atol=1e-15)
    t_exec, t_numpy = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        execute(graph, x)
        t_exec.append(time.perf_counter() - start)
        start = time.perf_counter()
        numpy_forward(layers, x)
        t_numpy.append(time.perf_counter() - start)
    best_exec, best_numpy = min(t_exec), min(t_numpy)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if not args.markdown:
        print(f"## Float executor\n\n`python bench/float_executor.py` on {datetime.date.today()}, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (load average {load:.2f}), "
              f"numpy {np.__version__}, best of {args.repeat} interleaved runs, MLP {'-'.join(map(str, SIZES))} "
              f"with softmax, batch {args.batch}.\n")
    print("| path | samples/s | ratio to plain numpy |")
    print("|---|---|---|")
    print(f"| nn2hls.ir.execute | {args.batch / best_exec:,.0f} | {best_exec / best_numpy:.2f}x the time |")
    print(f"| plain numpy forward | {args.batch / best_numpy:,.0f} | 1 |")


if __name__ == "__main__":
    main()
