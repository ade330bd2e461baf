"""The `nn2hls` command line (DESIGN.md fixes the commands, options and exit codes).

    nn2hls convert MODEL [-o OUT] [-c CONFIG.yml] [--backend vivado|vitis|verilog] [--io-type io_parallel|io_stream]
                         [--precision TYPE]
                         [--integer-input TYPE]
                         [--calibration X.npy] [--force] [--weights FILE]
    nn2hls check   MODEL --input X.npy [-c CONFIG.yml] [--backend B] [--io-type T] [--calibration X.npy] [--json]
                         [--weights FILE]
                         [--min-agreement F] [--max-error X]
    nn2hls csim    PROJECT --input X.npy --output Y.npy [--ap-types DIR] [--force]
    nn2hls emulate MODEL|PROJECT --input X.npy --output Y.npy [-c CONFIG.yml] [--calibration X.npy] [--force]
    nn2hls report  MODEL|PROJECT [--json] [-c CONFIG.yml] [--calibration X.npy]
    nn2hls explore MODEL --input X.npy [--labels Y.npy] --space SPACE.yml -o DIR [-c BASE.yml]
                         [--calibration X.npy] [--engine ray|serial] [--address RAY] [--num-cpus N]
                         [--cpus-per-point C] [--csim] [--ap-types DIR] [--tolerance T] [--json]
                         [--force] [--weights FILE]
    nn2hls explore-compress MODEL --data DATA.npz --space SPACE.yml -o DIR [--engine ray|serial]
                         [--address RAY] [--samples N] [--no-early-stop] ... (nn2hls/explore/compress_command.py)
    nn2hls rtlsim  PROJECT --input X.npy --output Y.npy [--simulator verilator|iverilog] [--force]
    nn2hls synth   PROJECT [--json]

`--weights FILE` (convert, check, emulate, report) is the weights .h5 of a Keras architecture .json
MODEL (default: <stem>_weights.h5 beside it).

Several inputs (DESIGN.md): `--input` / `--calibration` once per input in the model's input order, or
one .npz keyed by input name (`_input`); several outputs are saved as one .npz keyed by output name, a
single output as a plain .npy (`_save_outputs`).

Exit codes: 0 success; 1 `check` found a C-sim/emulator difference or missed a gate; 2 an error the user can fix,
printed as one line `error: ...` on stderr (a traceback only with `--debug`); 3 an internal error (a
bug in nn2hls: one line plus a request to rerun with --debug and report it); 141 (quietly) when the reader
of stdout closed it (`| head`). Results go to stdout;
notes, warnings and progress to stderr (progress only on a terminal, never with --quiet). Nothing the
user owns is overwritten without `--force` (project folders, output .npy files).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nn2hls.errors import InputDataError, ModelLoadError, Nn2hlsError, OutputExistsError
from nn2hls.progress import log, note, warn

EXIT_OK, EXIT_MISMATCH, EXIT_USER, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose output pipe closed


class _State:
    quiet = False




# ---- argument parsing -------------------------------------------------------------------------------
_SEVERAL = ("several inputs: repeat the option once per input in the model's input order, or give one .npz "
            "keyed by input name")
_INPUT_HELP = "samples (N, *input_shape), model layout (" + _SEVERAL + ")"
_OUTPUT_HELP = "where to save the outputs (float64; several outputs: one .npz keyed by output name)"
_MODEL_HELP = "model file (.onnx, .keras, .h5, Keras .json, .pt2, TorchScript .pt)"


def _add_model(p: argparse.ArgumentParser, dest: str = "model", metavar: str = "MODEL",
               help: str = _MODEL_HELP) -> None:
    """The model positional and --weights (its weights when it is a Keras architecture .json)."""
    p.add_argument(dest, metavar=metavar, help=help)
    p.add_argument("--weights", metavar="FILE", help="weights .h5 of a Keras architecture .json MODEL "
                   "(default: <stem>_weights.h5 beside it)")


def _add_samples(p: argparse.ArgumentParser, output: bool = True) -> None:
    """--input X.npy (repeatable: one per model input) and, when the command saves outputs, --output Y.npy."""
    p.add_argument("--input", required=True, metavar="X.npy", action="append", help=_INPUT_HELP)
    if output:
        p.add_argument("--output", required=True, metavar="Y.npy", help=_OUTPUT_HELP)


def _add_config_calibration(p: argparse.ArgumentParser, model_only: bool = False, config_help: str | None = None,
                            config_metavar: str = "CONFIG.yml") -> None:
    """-c/--config and --calibration of a command that compiles a model: with model_only, a command that also
    takes a project (which carries its own config and types); otherwise calibration defaults to --input."""
    p.add_argument("-c", "--config", metavar=config_metavar,
                   help=config_help or f"YAML configuration ({'MODEL only' if model_only else 'docs/config.md'})")
    p.add_argument("--calibration", metavar="X.npy", action="append",
                   help=f"calibration samples ({'MODEL only' if model_only else 'default: the --input data'}; "
                        + _SEVERAL + ")")


def _add_force_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")


def _refuse_existing_output(args: argparse.Namespace) -> None:
    """OutputExistsError when --output names an existing file and --force is not given."""
    out = Path(args.output)
    if out.exists() and not args.force:
        raise OutputExistsError(f"output file '{out}' already exists; use --force to overwrite it")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks and pass logs")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress lines or notes (warnings and errors still print)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="nn2hls", parents=[common],
        description="Compile trained neural networks (ONNX, Keras) into bit-exact, sparse Vivado/Vitis HLS "
                    "projects, with a numpy emulator and a g++ C simulation that agree bit for bit.",
        epilog="exit codes: 0 ok, 1 check not bit-exact or a gate missed, 2 user error, 3 internal error. "
               "Run `nn2hls COMMAND --help` for a command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("convert", parents=[common], help="convert a model into an HLS project",
                       description="Compile MODEL (.onnx, .keras, .h5, Keras .json, .pt2, TorchScript .pt) and "
                                   "write an HLS project folder with the fully resolved config "
                                   "(nn2hls_config.yml) and the typed graph.")
    _add_model(p)
    p.add_argument("-o", "--output", metavar="OUT", help="project folder (default: ./<model name>_hls)")
    p.add_argument("-c", "--config", metavar="CONFIG.yml", help="YAML configuration (docs/config.md)")
    p.add_argument("--backend", choices=("vivado", "vitis", "verilog"),
                   help="HLS tool flavour, or verilog for RTL written by nn2hls (docs/verilog.md; overrides the "
                        "config)")
    p.add_argument("--io-type", choices=("io_parallel", "io_stream"),
                   help="top-level interface (default io_parallel; io_stream: hls::stream ports, docs/io_stream.md)")
    p.add_argument("--precision", metavar="TYPE",
                   help="default weight, bias, result and input type, e.g. 'ap_fixed<16,6>' (accumulators "
                        "stay exact; per-op-type and per-layer config entries still win)")
    p.add_argument("--integer-input", metavar="TYPE",
                   help="type of the model's integer inputs (Embedding indices), e.g. 'ap_uint<8>': no "
                        "fractional bits, at most 32 bits (default: auto, docs/config.md)")
    p.add_argument("--calibration", metavar="X.npy", action="append",
                   help="samples (N, *input_shape) used to size the types and as testbench data (" + _SEVERAL + ")")
    p.add_argument("--force", action="store_true", help="overwrite an existing output folder")
    p.set_defaults(handler=cmd_convert)

    p = sub.add_parser("check", parents=[common], help="convert, build the C-sim and compare everything",
                       description="Convert MODEL in a temporary folder, build the C simulation and run it, the "
                                   "emulator and the float reference on X. Exit 0 when C-sim == emulator on "
                                   "every bit and every gate (--min-agreement, --max-error) holds, 1 otherwise. "
                                   "X is also the calibration data unless --calibration (or the config's "
                                   "calibration) is given.")
    _add_model(p)
    _add_samples(p, output=False)
    _add_config_calibration(p)
    p.add_argument("--backend", choices=("vivado", "vitis", "verilog"),
                   help="as convert's (overrides the config); verilog adds the RTL simulation to the comparison")
    p.add_argument("--io-type", choices=("io_parallel", "io_stream"),
                   help="as convert's (overrides the config; docs/io_stream.md)")
    p.add_argument("--ap-types", metavar="DIR", help="build against vendor ap_types headers in DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    p.add_argument("--min-agreement", type=float, metavar="F",
                   help="fail (exit 1) when the argmax agreement with the float reference is below F (0..1)")
    p.add_argument("--max-error", type=float, metavar="X",
                   help="fail (exit 1) when the max abs error against the float reference exceeds X")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("csim", parents=[common], help="run a project's C simulation on samples",
                       description="Build (or reuse) PROJECT's C simulation and write its outputs for X to Y.")
    p.add_argument("project", metavar="PROJECT", help="project folder made by `nn2hls convert`")
    _add_samples(p)
    p.add_argument("--ap-types", metavar="DIR",
                   help="build against vendor ap_types headers in DIR (default: $NN2HLS_AP_TYPES, else "
                        "nn2hls's own headers)")
    _add_force_output(p)
    p.set_defaults(handler=cmd_csim)

    p = sub.add_parser("rtlsim", parents=[common], help="run a Verilog project's RTL simulation on samples",
                       description="Build (or reuse) the RTL simulation of PROJECT (made with --backend verilog) "
                                   "with Verilator (iverilog as a fallback) and write its outputs for X to Y.")
    p.add_argument("project", metavar="PROJECT", help="Verilog project folder made by `nn2hls convert --backend "
                   "verilog`")
    _add_samples(p)
    p.add_argument("--simulator", choices=("verilator", "iverilog"),
                   help="use this simulator (default: Verilator when installed, else iverilog)")
    _add_force_output(p)
    p.set_defaults(handler=cmd_rtlsim)

    p = sub.add_parser("synth", parents=[common], help="synthesize a Verilog project with yosys",
                       description="Run yosys on PROJECT (made with --backend verilog): synth_xilinx for Xilinx "
                                   "parts (the part's family), generic synth otherwise; print DSP, LUT, FF and "
                                   "CARRY cells per layer.")
    p.add_argument("project", metavar="PROJECT", help="Verilog project folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=cmd_synth)

    p = sub.add_parser("emulate", parents=[common], help="run the bit-accurate numpy emulator",
                       description="Emulate a PROJECT (exactly its C-sim's numbers) or a MODEL (compiled first, "
                                   "with X as calibration data unless --calibration is given) on X.")
    _add_model(p, "target", "MODEL|PROJECT", "model file or project folder")
    _add_samples(p)
    _add_config_calibration(p, model_only=True)
    _add_force_output(p)
    p.set_defaults(handler=cmd_emulate)

    p = sub.add_parser("report", parents=[common], help="estimated resources and latency per layer",
                       description="Per-layer weights, sparsity, types, multiplies by kind, DSPs, adders and "
                                   "latency (rules: docs/report.md), for a PROJECT or a MODEL (compiled with "
                                   "the default or given config).")
    _add_model(p, "target", "MODEL|PROJECT", "model file or project folder")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    _add_config_calibration(p, model_only=True)
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("lint", parents=[common], help="synthesizability lint of a project (clang LLVM IR)",
                       description="Compile the project's synthesis view with clang -O1 and report recursion, "
                                   "loops without a constant trip count and weight/index array reads at "
                                   "run-time addresses (criteria: nn2hls/backends/vivado/lint.py). Exit 1 "
                                   "when something is found.")
    p.add_argument("project", metavar="PROJECT", help="project folder made by nn2hls convert")
    p.add_argument("--ap-types", metavar="DIR", help="ap types headers (default $NN2HLS_AP_TYPES, else hls_lib)")
    p.set_defaults(handler=cmd_lint)

    p = sub.add_parser("profile", parents=[common], help="per-layer weight distributions and sparsity",
                       description="Per-layer log-scale |w| histograms (PNG, needs matplotlib), sparsity, "
                                   "summary.txt and profile.json in DIR; --compare overlays another version.")
    p.add_argument("model", metavar="MODEL", nargs="?", help="model file (.onnx, .keras, .h5, .pt2, TorchScript .pt)")
    p.add_argument("--compare", metavar="OTHER", help="another version of the model to overlay (e.g. unpruned)")
    p.add_argument("-o", "--output", metavar="DIR", help="output folder")
    p.set_defaults(handler=cmd_profile)

    from nn2hls.compress.command import add_parser as add_compress_parser
    from nn2hls.explore import options

    add_compress_parser(sub, common)

    p = sub.add_parser("explore", parents=[common], help="scan config values (widths, pruning, ...) on Ray",
                       description="Convert, emulate and report MODEL for every point of the Cartesian product "
                                   "in SPACE.yml (dotted config keys -> lists of values; docs/explore.md), "
                                   "as Ray tasks (or serially), and write results.csv/.json (+ .parquet), the "
                                   "Pareto front (accuracy vs DSP vs latency) as pareto.png and the best point's "
                                   "config as best_config.yml into DIR. A scan in DIR is resumed.")
    _add_model(p)
    _add_samples(p, output=False)
    p.add_argument("--labels", metavar="Y.npy", help="class indices (N,) or one-hot rows (N, C): accuracy per point")
    p.add_argument("--space", required=True, metavar="SPACE.yml", help="dotted config keys -> lists of values")
    options.add_results_folder(p)
    _add_config_calibration(p, config_help="base configuration the points modify", config_metavar="BASE.yml")
    options.add_engine(p, ("ray", "serial"), "ray (default; local unless --address/RAY_ADDRESS) or serial (this "
                       "process, no Ray)", "point", "CPUs each point's Ray task declares (default 1)")
    p.add_argument("--csim", action="store_true", help="also build and run each point's C simulation")
    p.add_argument("--ap-types", metavar="DIR", help="with --csim: build against vendor ap_types headers in DIR")
    p.add_argument("--tolerance", type=float, default=0.01, metavar="T",
                   help="accuracy drop from the float model the best point may have (default 0.01)")
    p.add_argument("--json", action="store_true", help="print results.json's summary as one JSON object")
    options.add_force(p)
    p.set_defaults(handler=cmd_explore)

    from nn2hls.explore.compress_command import add_parser as add_explore_compress_parser

    add_explore_compress_parser(sub, common)
    return parser


# ---- helpers ----------------------------------------------------------------------------------------
def _compile(model: str, config: Any, calibration: np.ndarray | str | None):
    from nn2hls import progress
    from nn2hls.pipeline import compile

    with progress.step("compiling (passes, precision)"):
        compiled = compile(model, config, calibration)
    for message in compiled.warnings:
        warn(message)
    return compiled


def _load(model: str, weights: str | None = None, example_input: "np.ndarray | None" = None):
    """The float graph of a model file, printing the frontend's notes (e.g. an opset upgrade)."""
    from nn2hls.pipeline import load

    graph = load(model, example_input, weights=weights)
    for message in graph.meta.get("load_notes", []):
        note(message)
    return graph


def _torch_example(model: str, *data: "str | None") -> "np.ndarray | None":
    """One sample for a TorchScript MODEL (the file records no input shape): from the first data file given."""
    if Path(model).suffix.lower() not in (".pt", ".pth"):
        return None
    from nn2hls.pipeline import load_npy

    paths = [q for p in data if p for q in ([p] if isinstance(p, (str, Path)) else p)]  # --input may repeat
    return load_npy(paths[0], "input")[:1] if paths else None


def _config(path: str | None):
    from nn2hls.config_file import load_config

    return load_config(path) if path else load_config(None)


def _save_outputs(path: str, outputs: Any, force: bool, names: list[str] | None = None) -> Path:
    """Save one output as a plain .npy; several as one .npz keyed by output name (DESIGN.md)."""
    several = isinstance(outputs, list)
    suffix = ".npz" if several else ".npy"
    out = Path(path)
    if out.suffix == "":
        out = out.with_name(out.name + suffix)
    elif several and out.suffix == ".npy":
        out = out.with_suffix(".npz")
        note(f"the model has {len(outputs)} outputs; writing them to '{out}', one array per output name")
    if out.suffix != suffix:
        why = f" (the model has {len(outputs)} outputs, saved as one .npz keyed by output name)" if several else ""
        raise InputDataError(f"output file '{path}' must end in {suffix}{why}")
    if out.exists() and not force:
        raise OutputExistsError(f"output file '{out}' already exists; use --force to overwrite it")
    if not out.parent.exists():
        raise InputDataError(f"folder '{out.parent}' of the output file does not exist; create it first")
    if several:
        keys = list(names) if names and len(names) == len(outputs) else [f"output{k}" for k in range(len(outputs))]
        _write_npz(out, {k: np.asarray(o, dtype=np.float64) for k, o in zip(keys, outputs)})
    else:
        np.save(out, np.asarray(outputs, dtype=np.float64))
    return out


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz archive (one `<key>.npy` member per array, as np.savez writes), for any key text
    (np.savez(**arrays) would clash with its own parameter names such as 'file')."""
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(value), allow_pickle=False)


def _input(paths: "str | list[str]", graph, what: str = "input", option: str = "--input"):
    """The samples of every model input from the files given (one per input, or one .npz by name);
    the one place the CLI reads them (`nn2hls.inputs` validates them)."""
    from nn2hls.pipeline import load_feed

    return load_feed(paths, graph, what, option)


def _summary_table(compiled) -> str:
    from nn2hls.progress import format_table

    report = compiled.report()
    rows = []
    for r in report["layers"]:
        rows.append([r["name"], r["op"], "x".join(map(str, r["output_shape"])),
                     f"{r['nonzero_weights']}/{r['weights']}" if r["weights"] else "-",
                     f"{100 * r['sparsity']:.1f}%" if r["weights"] else "-", r["weight_type"] or "-",
                     r["accum_type"] or "-", r["result_type"] or "-", r["dsp"]])
    t = report["totals"]
    rows.append(["total", "", "", f"{t['nonzero_weights']}/{t['weights']}",
                 f"{100 * t['sparsity']:.1f}%" if t["weights"] else "-", "", "", "", t["dsp"]])
    header = ["layer", "op", "output", "nonzero/weights", "sparsity", "weight_t", "accum_t", "result_t", "DSP"]
    return format_table(header, rows)


# ---- commands ---------------------------------------------------------------------------------------
def cmd_convert(args: argparse.Namespace) -> int:
    from nn2hls.config_file import apply_default_precision, apply_integer_input

    cfg = _config(args.config)
    if args.backend:
        cfg.backend = args.backend
    if getattr(args, "io_type", None):
        cfg.io_type = args.io_type
    cfg.check_backend()
    if args.precision:
        apply_default_precision(cfg, args.precision)
    if args.integer_input:
        apply_integer_input(cfg, args.integer_input)
    model_path = Path(args.model)
    out = Path(args.output) if args.output else Path.cwd() / f"{model_path.stem}_hls"
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise OutputExistsError(f"output folder '{out}' already exists; use --force to overwrite it or choose "
                                "another -o path")
    example = _torch_example(args.model, args.calibration, cfg.calibration)
    compiled = _compile(_load(args.model, args.weights, example), cfg, args.calibration)
    if compiled.testbench is None:
        from nn2hls.ir.feeds import n_samples
        from nn2hls.testbench import drawn_inputs

        note(f"no calibration data: the testbench holds {n_samples(drawn_inputs(compiled.graph).samples)} samples "
             "drawn across the input type's range (give --calibration X.npy for real test vectors)")
    from nn2hls import progress

    with progress.step("writing project"):
        project = compiled.write(out, force=args.force)
    print(f"model {compiled.graph.name} -> project {project} ({compiled.config.backend}, part "
          f"{compiled.config.part}, clock {compiled.config.clock_period_ns:g} ns)")
    print()
    print(_summary_table(compiled))
    print()
    print(f"resolved config: {project / 'nn2hls_config.yml'}")
    n_inputs = len(compiled.graph.inputs)
    inputs = " ".join(["--input X.npy"] if n_inputs == 1 else [f"--input X{i}.npy" for i in range(n_inputs)])
    if compiled.config.backend == "verilog":
        print(f"next: nn2hls rtlsim {project} {inputs} --output Y.npy   |   nn2hls synth {project}")
    else:
        print(f"next: nn2hls csim {project} {inputs} --output Y.npy   |   nn2hls report {project}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from nn2hls.checker import check
    from nn2hls.pipeline import load

    graph = load(args.model, _torch_example(args.model, args.input), weights=args.weights)
    x = _input(args.input, graph)  # its inputs say how to read the files
    label = f"input '{args.input[0]}'" if len(args.input) == 1 else "input"
    cfg = _config(args.config)
    if args.backend:
        cfg.backend = args.backend
    if args.io_type:
        cfg.io_type = args.io_type
    cfg.check_backend()
    result = check(args.model, x, config=cfg, calibration=args.calibration,
                   ap_types=args.ap_types, min_agreement=args.min_agreement, max_error=args.max_error, log=log,
                   input_label=label, weights=args.weights)
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        _print_check(result)
    return EXIT_OK if result.passed else EXIT_MISMATCH


def _print_check(r) -> None:
    verdict = "BIT-EXACT" if r.bit_exact else f"NOT BIT-EXACT ({r.mismatches} samples differ)"
    overflowing = {k: v for k, v in r.overflows.items() if v}
    clamping = {k: v for k, v in r.quantizer_clamps.items() if v}
    lines = [
        f"check {r.model}: {r.samples} samples" + (f" ({r.io_type})" if r.io_type != "io_parallel" else ""),
        f"  C-sim vs emulator:   {verdict}",
    ]
    if r.first_mismatch:
        lines.append(f"  first difference:    {r.first_mismatch}")
    if r.rtl is not None:
        rtl = r.rtl
        lines.append("  RTL vs emulator:     " + ("BIT-EXACT" if rtl["bit_exact"] else
                                                 f"NOT BIT-EXACT ({rtl['mismatches']} samples differ)") +
                     f" ({rtl['simulator']}, build {rtl['build_s']:.1f} s)")
        if rtl["first_mismatch"]:
            lines.append(f"  first RTL difference: {rtl['first_mismatch']}")
    if r.max_abs_err is None:
        lines.append("  fixed vs float:      no float reference")
    else:
        lines += [
            f"  fixed vs float:      max abs err {r.max_abs_err:.6g}, mean abs err {r.mean_abs_err:.6g} "
            f"(float reference: {r.float_reference})",
            f"  argmax agreement:    {100 * r.argmax_agreement:.2f}%",
        ]
    lines += [
        "  overflows:           " + (", ".join(f"{k}: {v}" for k, v in overflowing.items()) +
                                     " (saturated or wrapped where no quantizer asks for it)" if overflowing
                                     else "none (no value saturated or wrapped unintentionally)"),
        "  quantizer clamps:    " + (", ".join(f"{k}: {v}" for k, v in clamping.items()) +
                                     " (clamped to the quantizer's range, as the model defines)" if clamping
                                     else "none"),
        f"  C-sim build:         {r.build_s:.2f} s",
        f"  C-sim speed:         {r.csim_samples_per_s:,.0f} samples/s",
        f"  emulator speed:      {r.emulator_samples_per_s:,.0f} samples/s",
    ]
    for gate, info in r.gates.items():
        lines.append(f"  gate {gate}:".ljust(23) + f"{'passed' if info['passed'] else 'FAILED'} "
                     f"(threshold {info['threshold']:g})")
    for reason in r.failed_gates:
        lines.append(f"  FAILED: {reason}")
    for message in r.warnings:
        lines.append(f"  WARNING: {message}")
    print("\n".join(lines))


def cmd_csim(args: argparse.Namespace) -> int:
    from nn2hls import progress
    from nn2hls.ir.feeds import n_samples
    from nn2hls.pipeline import CompiledModel

    compiled = CompiledModel.from_project(args.project)
    x = _input(args.input, compiled.graph)
    n = n_samples(x)
    _refuse_existing_output(args)
    with progress.step("building C simulation"):
        sim = compiled.build(ap_types=args.ap_types)
    with progress.step(f"running C simulation on {n} samples"):
        y = sim.predict(x)
    saved = _save_outputs(args.output, y, args.force, compiled.output_names)
    note(f"wrote {saved}")
    return EXIT_OK


def _target(path: str, config: str | None, calibration: Any, weights: str | None = None,
            data: str | None = None):
    from nn2hls.pipeline import CompiledModel
    from nn2hls.project_io import is_project

    target = Path(path)
    if target.is_dir():
        if not is_project(target):
            raise ModelLoadError(f"'{target}' is a folder but not an nn2hls project (no nn2hls_graph.json); "
                                 "give a model file or a folder made by `nn2hls convert`")
        if config or calibration is not None:
            note("-c/--calibration are ignored for a project: it carries its own resolved config and types")
        if weights:
            note("--weights is ignored for a project: it carries its own weights")
        return CompiledModel.from_project(target), None
    return None, _load(path, weights, _torch_example(path, data, calibration))


def cmd_rtlsim(args: argparse.Namespace) -> int:
    from nn2hls import progress
    from nn2hls.ir.feeds import n_samples
    from nn2hls.pipeline import CompiledModel
    from nn2hls.rtl import sim

    sim.read_manifest(Path(args.project))
    compiled = CompiledModel.from_project(args.project)
    x = _input(args.input, compiled.graph)
    n = n_samples(x)
    _refuse_existing_output(args)
    with progress.step("building RTL simulation"):
        simulator = sim.build(args.project, args.simulator)
    with progress.step(f"running RTL simulation ({simulator.kind}) on {n} samples"):
        y = simulator.run(x)
    saved = _save_outputs(args.output, y[0] if len(y) == 1 else y, args.force, compiled.output_names)
    note(f"wrote {saved}")
    return EXIT_OK


def cmd_synth(args: argparse.Namespace) -> int:
    from nn2hls import progress
    from nn2hls.progress import format_table
    from nn2hls.rtl import synth

    with progress.step("synthesizing with yosys"):
        result = synth.synthesize(args.project)
    if args.json:
        print(json.dumps(result, indent=1, sort_keys=True))
        return EXIT_OK
    rows = [[name, *(r[k] for k in synth.CELL_KEYS)] for name, r in result["layers"].items()]
    rows.append(["total", *(result["totals"][k] for k in synth.CELL_KEYS)])
    print(f"yosys {result['command']} ({result['target']}), {result['seconds']:.1f} s")
    print(format_table(["layer", *synth.CELL_KEYS], rows))
    return EXIT_OK


def cmd_emulate(args: argparse.Namespace) -> int:
    from nn2hls import progress
    from nn2hls.ir.feeds import n_samples

    _refuse_existing_output(args)
    compiled, graph = _target(args.target, args.config, args.calibration, args.weights, args.input)
    if compiled is None:
        x = _input(args.input, graph)
        calibration = args.calibration
        if calibration is None:
            calibration = x
            note(f"using the {n_samples(x)} input samples as calibration data (give --calibration to use other "
                 "data)")
        compiled = _compile(graph, _config(args.config), calibration)
    else:
        x = _input(args.input, compiled.graph)
    with progress.step(f"emulating {n_samples(x)} samples"):
        y = compiled.emulate(x)
    saved = _save_outputs(args.output, y, args.force, compiled.output_names)
    note(f"wrote {saved}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from nn2hls.report import format_report

    compiled, graph = _target(args.target, args.config, args.calibration, args.weights)
    if compiled is None:
        if args.calibration is None:
            note("no calibration data: types are derived by interval arithmetic (give --calibration X.npy "
                 "or report a converted project)")
        compiled = _compile(graph, _config(args.config), args.calibration)
    report = compiled.report()
    synthesis = None
    if compiled.project_dir is not None:  # a Verilog project synthesized by `nn2hls synth`
        from nn2hls.rtl import synth

        synthesis = synth.load_result(compiled.project_dir)
        if synthesis is not None:
            report["synthesis"] = synthesis
    if graph is None and synthesis is None:  # an HLS project: beside the estimate, its csynth reports if any
        report = _with_synthesis(Path(args.target), report)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_report(report), end="")
        if synthesis is not None:
            print()
            print(synth.side_by_side(report, synthesis), end="")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    from nn2hls.backends.vivado.lint import lint_project

    findings = lint_project(args.project, args.ap_types)
    for finding in findings:
        print(finding)
    if findings:
        return EXIT_MISMATCH
    print(f"{args.project}: no recursion, constant trip counts, constant-address weight/index reads")
    return EXIT_OK


def _with_synthesis(project: Path, report: dict) -> dict:
    from nn2hls.backends.vivado.project import MANIFEST
    from nn2hls.csynth import project_synthesis
    from nn2hls.report import add_synthesis

    manifest = project / MANIFEST
    if not manifest.is_file():
        return report
    name = json.loads(manifest.read_text())["project"]
    synthesis = project_synthesis(project, name, [r["name"] for r in report["layers"]])
    return add_synthesis(report, synthesis) if synthesis else report


def cmd_profile(args: argparse.Namespace) -> int:
    from nn2hls.profile import run_profile, summary_text

    if not args.model or not args.output:
        raise Nn2hlsError("`nn2hls profile` needs a model and an output folder: nn2hls profile MODEL -o DIR")
    result = run_profile(args.model, args.output, compare=args.compare)
    if not _State.quiet:
        print(summary_text(result), end="")
    return EXIT_OK


def cmd_explore(args: argparse.Namespace) -> int:
    from nn2hls.explore.options import check_num_cpus
    from nn2hls.explore.run import explore, summary_rows
    from nn2hls.progress import format_table

    check_num_cpus(args.num_cpus)
    if not args.cpus_per_point > 0:
        raise Nn2hlsError(f"--cpus-per-point is {args.cpus_per_point}: give a number of CPUs > 0, e.g. 1 or 0.5")

    result = explore(args.model, args.input if len(args.input) > 1 else args.input[0], args.space, args.output,
                     labels=args.labels, config=args.config, calibration=args.calibration, engine=args.engine,
                     address=args.address, num_cpus=args.num_cpus, cpus_per_point=args.cpus_per_point,
                     csim=args.csim, ap_types=args.ap_types, tolerance=args.tolerance, force=args.force,
                     weights=args.weights, log=log)
    if args.json:
        summary = {k: getattr(result, k) for k in ("evaluated", "resumed", "failed", "engine", "cpus", "elapsed_s",
                                                   "pareto_front", "best", "accuracy_key", "float_accuracy")}
        summary.update(out_dir=str(result.out_dir), points=len(result.rows), files=result.files)
        print(json.dumps(summary))
        return EXIT_OK
    where = f"{result.engine}, {result.cpus} CPU{'s' if result.cpus != 1 else ''}"
    print(f"explore {args.model}: {len(result.rows)} points ({result.evaluated} evaluated, {result.resumed} "
          f"resumed, {result.failed} failed) in {result.elapsed_s:.1f} s ({where})")
    if result.float_accuracy is not None:
        print(f"float model accuracy on the labels: {result.float_accuracy:.4f}")
    for row in result.rows:
        if row["status"] != "ok":
            print(f"  failed {row['point_id']}: {row['error']}")
    if result.pareto_front:
        header, rows = summary_rows(result)
        print(f"\nPareto front ({len(rows)} points; * = best, config in best_config.yml):")
        print(format_table(header, rows, indent="  "))
    print()
    for name in ("csv", "parquet", "json", "pareto_png", "best_config"):
        if name in result.files:
            print(f"{name}: {result.files[name]}")
    if result.best is not None:
        print(f"next: nn2hls convert {args.model} -c {result.files['best_config']} -o OUT")
    return EXIT_OK


# ---- entry point ------------------------------------------------------------------------------------
def _os_error_message(exc: OSError) -> str:
    name = f" '{exc.filename}'" if exc.filename else ""
    return f"cannot access{name}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    _State.quiet = getattr(args, "quiet", False)
    from nn2hls import progress

    progress.set_quiet(_State.quiet)
    logger = logging.getLogger("nn2hls")
    logger.handlers = [logging.StreamHandler(sys.stderr) if debug else logging.NullHandler()]
    logger.setLevel(logging.INFO if debug else logging.WARNING)
    logger.propagate = False
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USER
    try:
        return args.handler(args)
    except Nn2hlsError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER
    except BrokenPipeError:  # stdout's reader left (`nn2hls report P | head`): stop quietly, as SIGPIPE would
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush must not fail again
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # unreadable/unwritable user paths
        if debug:
            traceback.print_exc()
        print(f"error: {_os_error_message(exc)}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in nn2hls
        if debug:
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              "(a bug in nn2hls; rerun with --debug and report the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
