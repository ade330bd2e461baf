"""`nn2hls.check(model, x)`: convert, build the C simulation, and compare it, the emulator and the float model.

What it measures (DESIGN.md, `nn2hls check`; the CLI prints `CheckResult.as_dict()` with --json):
- `bit_exact`, `mismatches`, `first_mismatch`: C-sim outputs against the emulator's, every bit of every
  output of every sample (`nn2hls.compare`);
- `max_abs_err`, `mean_abs_err`, `argmax_agreement`: the emulator (the fixed-point model) against the
  float reference of the source model (`nn2hls.reference`: onnxruntime on the graph as written,
  Keras, PyTorch, or the IR float executor); None when there is no float model (a project folder);
- `overflows`: per layer, the values the emulator saturated or wrapped where the model did not ask for
  it (a layer's result, accumulator or the input type too narrow); `quantizer_clamps`: per quantizer
  node (QONNX Quant, ONNX QuantizeLinear, a Keras quantizer), the values clamped to its range, which is
  the quantizer's definition, not an error (`nn2hls.overflows` states the rule);
- `rtl` (a Verilog config, `backend: verilog`): the project's RTL simulated (`nn2hls.rtl.sim`,
  Verilator or iverilog) on the same samples and compared with the emulator bit for bit:
  {simulator, bit_exact, mismatches, first_mismatch, build_s, samples_per_s}; None for HLS backends;
- gates: `min_agreement` (argmax agreement >= F) and `max_error` (max abs error <= X); a missed gate is
  listed in `failed_gates` with the measured value, and the check fails. Without gates, `warnings`
  says when the agreement is below 99% or any unintended overflow occurred;
- `passed` = bit-exact (C-sim, and RTL when simulated) and no failed gate; the CLI exits 0 when passed, 1 otherwise.
Calibration: the given data, else the config's `calibration` file, else the checked samples x.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from nn2hls import compare
from nn2hls.overflows import split_overflows
from nn2hls.errors import ConfigError, FloatReferenceError
from nn2hls.ir import feeds
from nn2hls.ir.graph import Graph

WARN_AGREEMENT = 0.99
TESTBENCH_SAMPLES = 16
Log = Callable[[str, str], None]  # (kind "note" | "warning", message)


@dataclass
class CheckResult:
    """Everything `check` measured; `as_dict()` is the CLI's JSON object."""

    model: str
    samples: int
    bit_exact: bool
    mismatches: int
    first_mismatch: str | None
    max_abs_err: float | None
    mean_abs_err: float | None
    argmax_agreement: float | None
    overflows: dict[str, int]
    quantizer_clamps: dict[str, int]
    build_s: float
    csim_samples_per_s: float
    emulator_samples_per_s: float
    float_reference: str
    calibration: str
    ap_types: str
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_gates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passed: bool = False
    rtl: dict[str, Any] | None = None
    backend: str = "vivado"  # the config's backend and io_type: which generated design the C-sim ran
    io_type: str = "io_parallel"

    @property
    def unintended_overflows(self) -> int:
        return sum(self.overflows.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_gate_values(min_agreement: float | None, max_error: float | None) -> None:
    if min_agreement is not None and not 0.0 <= float(min_agreement) <= 1.0:
        raise ConfigError(f"min_agreement (--min-agreement) is {min_agreement}: give a fraction in [0, 1], "
                          "e.g. 0.99")
    if max_error is not None and not float(max_error) >= 0.0:
        raise ConfigError(f"max_error (--max-error) is {max_error}: give an absolute error >= 0, e.g. 0.01")


def evaluate_gates(result: CheckResult, min_agreement: float | None, max_error: float | None) -> None:
    """Fill `gates`, `failed_gates`, `warnings` and `passed` of a result from its measurements."""
    if min_agreement is not None:
        value = result.argmax_agreement
        ok = value is not None and value >= min_agreement
        result.gates["min_agreement"] = {"threshold": float(min_agreement), "value": value, "passed": ok}
        if not ok:
            result.failed_gates.append(
                f"argmax agreement {value:.4f} < min_agreement {min_agreement:g}" if value is not None else
                f"min_agreement {min_agreement:g}: no float reference to measure the agreement against")
    if max_error is not None:
        value = result.max_abs_err
        ok = value is not None and value <= max_error
        result.gates["max_error"] = {"threshold": float(max_error), "value": value, "passed": ok}
        if not ok:
            result.failed_gates.append(
                f"max abs error {value:.6g} > max_error {max_error:g}" if value is not None else
                f"max_error {max_error:g}: no float reference to measure the error against")
    if min_agreement is None and max_error is None:
        if result.argmax_agreement is not None and result.argmax_agreement < WARN_AGREEMENT:
            result.warnings.append(
                f"argmax agreement with the float reference is only {100 * result.argmax_agreement:.2f}% "
                f"(< {100 * WARN_AGREEMENT:g}%): the fixed-point types lose accuracy; widen them (precision in a "
                "config file given with -c; see docs/config.md) and gate with --min-agreement / --max-error")
        if result.unintended_overflows:
            worst = sorted(((v, k) for k, v in result.overflows.items() if v), reverse=True)
            listed = ", ".join(f"{k}: {v}" for v, k in worst[:4]) + (", ..." if len(worst) > 4 else "")
            result.warnings.append(
                f"{result.unintended_overflows} values saturated or wrapped where no quantizer asks for it "
                f"({listed}); widen those layers' types (-c config) or calibrate with representative data "
                "(--calibration)")
    result.passed = result.bit_exact and not result.failed_gates and (result.rtl is None or result.rtl["bit_exact"])


def _compiled_and_source(model: Any, x: np.ndarray, config: Any, calibration: Any, log: Log, label: str,
                         weights: Any) -> tuple[Any, Graph | None, str]:
    """(CompiledModel, float graph or None, calibration description)."""
    from nn2hls.pipeline import CompiledModel, check_input, compile, load, resolve_config
    from nn2hls.project_io import is_project

    if isinstance(model, CompiledModel):
        return model, model.source, "the compiled model's own"
    if isinstance(model, (str, Path)) and Path(model).is_dir() and is_project(Path(model)):
        return CompiledModel.from_project(model), None, "the project's own"
    if isinstance(x, dict):
        example: Any = tuple(np.asarray(v)[:1] for v in x.values())
    elif isinstance(x, (list, tuple)):
        example = tuple(np.asarray(v)[:1] for v in x)
    else:
        example = x[:1]
    graph = load(model, example_input=example, weights=weights)
    for message in graph.meta.get("load_notes", []):
        log("note", message)
    x = check_input(graph, x, label)
    cfg = resolve_config(config)
    if calibration is not None:
        if isinstance(calibration, (str, Path)):
            described = str(calibration)
        elif isinstance(calibration, (list, tuple)) and all(isinstance(c, (str, Path)) for c in calibration):
            described = ", ".join(map(str, calibration))
        else:
            described = f"{feeds.n_samples(check_input(graph, calibration, 'calibration data'))} given samples"
    elif cfg.calibration:
        described = str(cfg.calibration)
        log("note", f"using the config's calibration data '{cfg.calibration}'")
    else:
        calibration, described = x, "input"
        log("note", f"using the {feeds.n_samples(x)} input samples as calibration data (give --calibration to use "
                    "other data)")
    compiled = compile(graph, cfg, calibration)
    compiled.source = graph
    for message in compiled.warnings:
        log("warning", message)
    return compiled, graph, described


def _reference(model: Any, compiled: Any, source: Graph | None, x: np.ndarray, log: Log, weights: Any):
    from nn2hls.pipeline import CompiledModel
    from nn2hls.reference import float_reference

    if source is None:
        log("note", "a project folder has no float model: no float reference (check the model file for one)")
        return None

    def ir_executor() -> list[np.ndarray]:
        return compare.as_output_list(compiled.float_reference(x))

    target = source if isinstance(model, CompiledModel) else model
    # integer inputs (Embedding indices) reach the framework as int64 (their values floored, as the
    # hardware's index type does)
    xs = [np.floor(a).astype(np.int64) if node.op.integer else a
          for node, a in zip(compiled.graph.inputs, feeds.as_list(x))]
    return float_reference(target, xs, ir_executor, lambda message: log("note", message), weights=weights)


def _rtl_outputs(compiled: Any, project: Path | None, folder: Path, xs: Any, n: int):
    """(outputs, info) of the RTL simulation of `project` (written into `folder` when None) on xs."""
    from nn2hls import progress
    from nn2hls.backends.verilog import write_project
    from nn2hls.rtl import sim

    if project is None:
        with progress.step("writing Verilog"):
            project = write_project(compiled.graph, compiled.config, folder)
    start = time.perf_counter()
    with progress.step("building RTL simulation"):
        simulator = sim.build(project, graph=compiled.graph)
    build_s = time.perf_counter() - start
    with progress.step(f"running RTL simulation ({simulator.kind}) on {n} samples"):
        start = time.perf_counter()
        out = simulator.run(xs)
        run_s = time.perf_counter() - start
    return out, {"simulator": simulator.kind, "build_s": round(build_s, 3),
                 "samples_per_s": round(n / max(run_s, 1e-9), 1)}


def check(model: Any, x: Any, *, config: Any = None, calibration: Any = None, ap_types: str | Path | None = None,
          min_agreement: float | None = None, max_error: float | None = None, log: Log | None = None,
          input_label: str = "input", weights: str | Path | None = None) -> CheckResult:
    """Compile `model`, build its C simulation and compare C-sim, emulator and float reference on x.

    `model`: anything `nn2hls.compile` accepts (file, in-memory ONNX/Keras/PyTorch model, Graph), a
    CompiledModel or a project folder. `x`: samples (N, *input_shape) in the model's layout. `config`,
    `calibration`: as for `nn2hls.compile` (calibration defaults to the config's, else x). `ap_types`:
    vendor headers for the C-sim (default: $NN2HLS_AP_TYPES, else nn2hls's own). Gates `min_agreement`
    and `max_error` make `passed` False when missed. `log(kind, message)` receives notes and warnings
    as they happen (warnings are also in the result); `input_label` names x in error messages;
    `weights`: the weights .h5 of a Keras architecture .json model (as for `nn2hls.load`).
    """
    from nn2hls import progress

    _check_gate_values(min_agreement, max_error)
    emitted: list[str] = []

    def _log(kind: str, message: str) -> None:
        if kind == "warning":
            emitted.append(message)
        if log is not None:
            log(kind, message)

    x_arr = x if isinstance(x, (list, tuple, dict)) else np.asarray(x)  # several inputs: nn2hls.ir.feeds
    with progress.step("compiling (passes, precision)"):
        compiled, source, calib_name = _compiled_and_source(model, x_arr, config, calibration, _log,
                                                                 input_label, weights)
    from nn2hls.pipeline import check_input

    xs = check_input(compiled.graph, x_arr, input_label)
    n = feeds.n_samples(xs)
    with progress.step("float reference"):
        ref = _reference(model, compiled, source, xs, _log, weights)
    tmp = tempfile.mkdtemp(prefix="nn2hls_check_")
    rtl_project = None
    verilog = compiled.config.backend == "verilog"
    if verilog and compiled.project_dir is not None:  # a Verilog project folder: the C-sim gets its own project
        rtl_project, compiled.project_dir = compiled.project_dir, None
    try:
        project_dir = compiled.project_dir
        if project_dir is None:
            with progress.step("writing project"):
                write = compiled.write_csim_stand_in if verilog else compiled.write
                write(Path(tmp) / compiled.name, tb_input=feeds.take(xs, slice(0, TESTBENCH_SAMPLES)),
                      tb_source="the first checked samples")
        start = time.perf_counter()
        with progress.step("building C simulation"):
            sim = compiled.build(ap_types=ap_types)
        build_s = time.perf_counter() - start
        with progress.step(f"running C simulation on {n} samples"):
            start = time.perf_counter()
            csim_out = compare.as_output_list(sim.predict(xs))
            csim_s = time.perf_counter() - start
        rtl_out = None
        if verilog:
            rtl_out, rtl_info = _rtl_outputs(compiled, rtl_project, Path(tmp) / "rtl", xs, n)
    finally:
        if compiled.project_dir is not None and Path(tmp) in Path(compiled.project_dir).parents:
            compiled.project_dir = None
        shutil.rmtree(tmp, ignore_errors=True)
    with progress.step(f"emulating {n} samples"):
        start = time.perf_counter()
        emulated = compiled.emulate_full(xs)
        emu_s = time.perf_counter() - start
    emu_out = list(emulated.outputs)

    mismatches = int(compare.mismatching_samples(emu_out, csim_out, n).sum())
    if ref is not None:
        if len(ref.outputs) != len(emu_out) or any(r.size != e.size for r, e in zip(ref.outputs, emu_out)):
            raise FloatReferenceError(
                f"the float reference ({ref.name}) gives outputs of shapes {[r.shape for r in ref.outputs]}, "
                f"the compiled model {[e.shape for e in emu_out]}; the model's outputs must keep the batch "
                "as their first axis")
        metrics = compare.reference_metrics(emu_out, ref.outputs)
        max_err, mean_err, agreement = metrics["max_abs_err"], metrics["mean_abs_err"], metrics["argmax_agreement"]
    else:
        max_err = mean_err = agreement = None
    overflows, clamps = split_overflows(compiled.graph, emulated.overflows)
    result = CheckResult(
        model=str(model) if isinstance(model, (str, Path)) else (getattr(compiled, "name", None) or "model"),
        samples=int(n),
        bit_exact=mismatches == 0,
        mismatches=mismatches,
        first_mismatch=compare.first_mismatch(emu_out, csim_out),
        max_abs_err=max_err,
        mean_abs_err=mean_err,
        argmax_agreement=agreement,
        overflows=overflows,
        quantizer_clamps=clamps,
        build_s=round(build_s, 3),
        csim_samples_per_s=round(n / max(csim_s, 1e-9), 1),
        emulator_samples_per_s=round(n / max(emu_s, 1e-9), 1),
        float_reference=ref.name if ref is not None else "none",
        calibration=calib_name,
        ap_types=str(ap_types or os.environ.get("NN2HLS_AP_TYPES", "") or "nn2hls"),
        backend=str(compiled.config.backend),
        io_type=str(compiled.config.io_type),
    )
    if rtl_out is not None:
        rtl_mismatches = int(compare.mismatching_samples(emu_out, rtl_out, n).sum())
        result.rtl = {**rtl_info, "bit_exact": rtl_mismatches == 0, "mismatches": rtl_mismatches,
                      "first_mismatch": compare.first_mismatch(emu_out, rtl_out)}
    evaluate_gates(result, min_agreement, max_error)
    for message in result.warnings:
        _log("warning", message)
    result.warnings = emitted
    return result
