"""Emulator throughput benchmark: nn2hls.emulate vs onnxruntime (float) on the same models, same run.

Models (built with onnx.helper, random weights from a fixed seed, imported with
nn2hls.frontends.onnx.load_onnx and typed by nn2hls.passes.pipeline.run_passes with the default
Config (16-bit results, exact accumulators, calibration on 1,000 samples)):
- mlp: 16-64-32-32-5 (Gemm + Relu, softmax-free logits), batch 10,000;
- cnn: digits-like 1x8x8 input, Conv 3x3x8 (pad 1) + Relu + MaxPool 2 + Flatten + Gemm 10, batch 10,000.

For each: emulator samples/s with overflow counting (the default) and without, and onnxruntime
samples/s with one intra-op thread and with its default threads; best of `--repeat` runs (the machine
is shared, so the best run is the least disturbed one). Also reports the emulator's CPU time per
sample. Usage: python bench/emulator.py [--repeat 7] [--batch 10000]; prints a Markdown section for
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
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn2hls.config import Config  # noqa: E402
from nn2hls.emulate import emulate  # noqa: E402
from nn2hls.frontends.onnx import load_onnx  # noqa: E402
from nn2hls.passes.pipeline import run_passes  # noqa: E402


def _init(name: str, value: np.ndarray):
    return numpy_helper.from_array(value.astype(np.float32), name)


def mlp_model(rng) -> onnx.ModelProto:
    sizes = [16, 64, 32, 32, 5]
    nodes, inits, prev = [], [], "x"
    for i in range(4):
        w = rng.normal(0, 1 / np.sqrt(sizes[i]), (sizes[i + 1], sizes[i]))
        inits += [_init(f"w{i}", w), _init(f"b{i}", rng.normal(0, 0.1, sizes[i + 1]))]
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [f"g{i}"], transB=1, name=f"fc{i}"))
        prev = f"g{i}"
        if i < 3:
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"], name=f"relu{i}"))
            prev = f"r{i}"
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def cnn_model(rng) -> onnx.ModelProto:
    inits = [_init("cw", rng.normal(0, 0.4, (8, 1, 3, 3))), _init("cb", rng.normal(0, 0.1, 8)),
             _init("dw", rng.normal(0, 0.2, (10, 128))), _init("db", rng.normal(0, 0.1, 10))]
    nodes = [helper.make_node("Conv", ["x", "cw", "cb"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
             helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "dw", "db"], ["y"], transB=1, name="fc")]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def cnn_graph_by_hand(model: onnx.ModelProto):
    """The CNN as IR (used while the ONNX frontend lacks Conv): NCHW input, a Transpose to
    channels-last, and the ONNX weights permuted to the IR layout (same function)."""
    from nn2hls.ir import ops
    from nn2hls.ir.graph import Graph
    w = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    g = Graph("cnn")
    x = g.add(ops.Input(shape=(1, 8, 8)), name="x").name
    t = g.add(ops.Transpose(perm=(1, 2, 0)), [x], name="to_nhwc").name
    c = g.add(ops.Conv(ndim=2, kernel_size=(3, 3), strides=(1, 1), dilations=(1, 1), pads=((1, 1), (1, 1))), [t],
              name="conv", weights={"kernel": w["cw"].transpose(2, 3, 1, 0), "bias": w["cb"]}).name
    r = g.add(ops.Activation(function="relu"), [c], name="relu").name
    p = g.add(ops.Pool(mode="max", pool_size=(2, 2), strides=(2, 2)), [r], name="pool").name
    f = g.add(ops.Reshape(shape=(128,)), [p], name="flatten").name
    # ONNX flattens (C, H, W); the IR flattens (H, W, C)
    dense = w["dw"].T.reshape(8, 4, 4, 10).transpose(1, 2, 0, 3).reshape(128, 10)
    y = g.add(ops.Dense(), [f], name="fc", weights={"kernel": dense, "bias": w["db"]}).name
    g.outputs = [y]
    return g


def best(fn, repeat: int) -> tuple[float, float]:
    """(best wall seconds, CPU seconds of that run)."""
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    return min(runs)


def bench_model(name: str, model: onnx.ModelProto, x: np.ndarray, repeat: int) -> dict:
    import onnxruntime as ort
    from nn2hls.errors import UnsupportedOpError
    try:
        ir = load_onnx(model)
    except UnsupportedOpError:
        ir = cnn_graph_by_hand(model)
    graph = run_passes(ir, Config(), calibration=x[:1000])
    n = len(x)
    res = emulate(graph, x)
    row = {"model": name, "batch": n, "overflows": res.total_overflows}
    row["emu"], row["emu_cpu"] = best(lambda: emulate(graph, x), repeat)
    row["emu_nocount"], _ = best(lambda: emulate(graph, x, count_overflows=False), repeat)
    xf = x.astype(np.float32)
    for key, threads in (("ort1", 1), ("ort", 0)):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        row[key], _ = best(lambda: sess.run(None, {"x": xf}), repeat)
    ref = sess.run(None, {"x": xf})[0]
    row["max_abs_err"] = float(np.abs(res.outputs[0] - ref).max())
    row["argmax"] = float(np.mean(np.argmax(res.outputs[0], 1) == np.argmax(ref, 1)))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--batch", type=int, default=10000)
    ap.add_argument("--markdown", action="store_true", help="print only the table (bench/regenerate.py)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = [bench_model("mlp 16-64-32-32-5", mlp_model(rng), rng.normal(0, 1, (args.batch, 16)), args.repeat),
            bench_model("cnn 1x8x8 conv3x3x8-relu-maxpool2-dense10", cnn_model(rng),
                        rng.uniform(0, 1, (args.batch, 1, 8, 8)), args.repeat)]
    if not args.markdown:
        print(f"## Emulator\n\n`python bench/emulator.py` on {datetime.date.today()}, {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores (shared with other jobs), numpy {np.__version__}, best of {args.repeat}. "
              "Default Config (16-bit results, exact accumulators), typed by run_passes with 1,000 calibration "
              "samples; onnxruntime runs the float model.\n")
    print("| model | batch | emulator samples/s | emulator, no overflow count | CPU µs/sample (samples per CPU-s) | "
          "onnxruntime 1 thread | onnxruntime default | max abs err vs float | argmax agreement |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["batch"]
        print(f"| {r['model']} | {n} | {n / r['emu']:,.0f} | {n / r['emu_nocount']:,.0f} | "
              f"{1e6 * r['emu_cpu'] / n:.2f} ({n / r['emu_cpu']:,.0f}) | {n / r['ort1']:,.0f} | {n / r['ort']:,.0f} | "
              f"{r['max_abs_err']:.2e} | {r['argmax']:.4f} |")


if __name__ == "__main__":
    main()
