"""The Python API: load a model, compile it to a typed graph, emulate, write, build and report.

    graph = nn2hls.load("model.onnx")                  # or .keras/.h5, a keras.Model, an onnx.ModelProto,
                                                       # a torch.nn.Module (with example_input),
                                                       # a Keras .json (weights=, else <stem>_weights.h5)
    model = nn2hls.compile(graph, config="cfg.yml", calibration=x)
    y = model.emulate(x)                               # bit-accurate numpy model (float64)
    project = model.write("out/prj")                   # HLS project folder
    sim = model.build(); y_csim = sim.predict(x)       # g++ C simulation, bit-identical to emulate
    model.report()                                     # resources and latency (nn2hls.report)

Data flow (DESIGN.md): frontend -> Graph (float) -> passes (typed, quantized) -> emulator / backend ->
C-sim. `compile` validates what a user controls before the passes run: the config (schema), the layer
names it mentions (against the model's node names and source names) and the calibration data's shape.
A project folder also holds the fully resolved config (`nn2hls_config.yml`) and the typed graph
(`nn2hls.project_io`), so `emulate/report/csim PROJECT` need neither the model nor the calibration data.
"""
from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from nn2hls.config import Config
from nn2hls.errors import ConfigError, InputDataError, ModelLoadError, OutputExistsError
from nn2hls.ir import feeds
from nn2hls.ir.graph import Graph

CONFIG_FILE = "nn2hls_config.yml"
MODEL_SUFFIXES = (".onnx", ".keras", ".h5", ".json", ".pt2", ".pt")


# ---- loading ----------------------------------------------------------------------------------------
def load(source: Any, example_input: Any = None, *, weights: "str | Path | None" = None) -> Graph:
    """A float IR Graph from a model file path, an in-memory model or a Graph (returned as is).

    `weights`: the weights `.h5` of a Keras architecture `.json` (default: `<stem>_weights.h5` beside it).
    """
    if isinstance(source, Graph):
        if weights is not None:
            raise ModelLoadError("weights= goes with a Keras architecture .json path, not a loaded Graph")
        return source
    from nn2hls.frontends.loader import load_model

    return load_model(source, example_input, weights)


def load_npy(path: str | Path, what: str = "input") -> np.ndarray:
    """Read a numpy file of samples (`nn2hls.inputs.load_samples`: .npy, or .npz with one array)."""
    from nn2hls.inputs import load_samples

    return load_samples(path, what)


def load_npz(path: str | Path, what: str = "input") -> dict[str, np.ndarray]:
    """Read an .npz file of samples (one array per input name): `nn2hls.inputs.load_named_samples`."""
    from nn2hls.inputs import load_named_samples

    return load_named_samples(path, what)


def load_feed(paths: "str | Path | list[str | Path]", graph: Graph, what: str = "input",
              option: str = "--input") -> "np.ndarray | list[np.ndarray]":
    """Checked samples for every input of `graph` from files (DESIGN.md, several inputs).

    One numpy file per input in the model's input order, or (several inputs) one `.npz` keyed by input
    name. Returns the array for a single-input model, a list in input order otherwise (nn2hls.ir.feeds).
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    specs = feeds.specs(graph)
    if len(specs) > 1 and len(paths) == 1 and Path(paths[0]).suffix.lower() == ".npz":
        return check_input(graph, load_npz(paths[0], what), f"{what} '{paths[0]}'")
    if len(paths) != len(specs):
        files = ", ".join(f"'{p}'" for p in paths)
        raise InputDataError(f"model '{graph.name}' has {len(specs)} input{'s' if len(specs) != 1 else ''} "
                             f"({feeds.describe(specs)}) but {len(paths)} {what} file"
                             f"{'s were' if len(paths) != 1 else ' was'} given ({files}); give {option} once "
                             "per input in this order, or one .npz keyed by input name")
    if len(specs) == 1:
        return check_input(graph, load_npy(paths[0], what), f"{what} '{paths[0]}'")
    from nn2hls.inputs import validate_feed

    return validate_feed(specs, [load_npy(p, what) for p in paths], what=what, owner=f"model '{graph.name}'",
                         labels=[f"{what} '{p}' (input '{spec.name}')" for spec, p in zip(specs, paths)])


def check_input(graph: Graph, x: Any, what: str = "input") -> "np.ndarray | list[np.ndarray]":
    """x as float64 of shape (N, *input_shape) (source layout), or InputDataError naming the shape.

    Several inputs: x is a tuple/list in input order or a dict keyed by input name; the result is a
    list of checked arrays in input order (nn2hls.ir.feeds).
    """
    from nn2hls.inputs import validate_feed

    return feeds.canonical(validate_feed(feeds.specs(graph), x, what=what, owner=f"model '{graph.name}'"))


def check_layer_names(graph: Graph, config: Config) -> None:
    """Refuse (ConfigError) a config naming a layer the graph does not have, in precision or pruning tables."""
    known = set(graph.nodes) | {n.source_name for n in graph.nodes.values() if n.source_name}
    tables = (("precision.layers", config.precision_layers), ("pruning.layers", config.pruning.layers),
              ("pruning.sparsity", config.pruning.sparsity))
    for key, table in tables:
        for name in table:
            if name not in known:
                names = ", ".join(n.name for n in graph.topological())
                raise ConfigError(f"config '{key}' names layer '{name}', which model '{graph.name}' does not "
                                  f"have; layers: {names}")
    for name in config.layers:  # reuse factor / strategy: by the layer names of the report
        if name not in graph.nodes:
            names = ", ".join(n.name for n in graph.topological())
            raise ConfigError(f"config 'layers' names layer '{name}', which model '{graph.name}' does not "
                              f"have; use a layer name of `nn2hls report`: {names}")


def resolve_config(config: "Config | Mapping[str, Any] | str | Path | None") -> Config:
    from nn2hls.config_file import load_config

    return load_config(config)


# ---- compilation ------------------------------------------------------------------------------------
def compile(model: Any, config: "Config | Mapping[str, Any] | str | Path | None" = None,
            calibration: "np.ndarray | str | Path | None" = None, *, example_input: Any = None,
            weights: "str | Path | None" = None) -> "CompiledModel":
    """Run the pass pipeline on a model (anything `load` accepts) and return a CompiledModel.

    `config`: a Config, a schema dict, a YAML path or None (defaults). `calibration`: samples
    (N, *input_shape) in the model's layout, an .npy path, or None (then `config.calibration` if set,
    else the precision pass derives ranges by interval arithmetic and warns). Several inputs: a
    tuple/list of arrays in input order, a dict keyed by input name, an .npz path keyed by input name
    or a list of .npy paths in input order.
    """
    from nn2hls.passes.pipeline import run_passes

    graph = load(model, example_input, weights=weights)
    cfg = resolve_config(config)
    if not cfg.project_name:
        cfg.project_name = graph.name
    check_layer_names(graph, cfg)
    if calibration is None and cfg.calibration:
        calibration = cfg.calibration
    if isinstance(calibration, (str, Path)) or (isinstance(calibration, (list, tuple)) and calibration
                                                and all(isinstance(c, (str, Path)) for c in calibration)):
        calibration = load_feed(calibration, graph, "calibration", "--calibration")
    elif calibration is not None:
        calibration = check_input(graph, calibration, "calibration data")
    typed = run_passes(graph, cfg, calibration)
    compiled = CompiledModel(typed, cfg, source=graph, calibrated=calibration is not None)
    if calibration is not None:
        from nn2hls import testbench

        compiled.testbench = testbench.from_data(calibration, "the calibration data")
    return compiled


class CompiledModel:
    """A typed, quantized graph plus its resolved config: emulate, write, build, report."""

    def __init__(self, graph: Graph, config: Config, *, source: Graph | None = None,
                 calibrated: bool = False, project_dir: Path | None = None) -> None:
        self.graph = graph
        self.config = config
        self.source = source            # the float graph (None when loaded from a project)
        self.calibrated = calibrated
        self.project_dir = project_dir  # set by write() or when loaded from a project
        self.testbench = None           # nn2hls.testbench.Testbench from the calibration data, if any
        self._tmp: str | None = None

    # -- construction from a project ------------------------------------------------------------
    @classmethod
    def from_project(cls, folder: str | Path) -> "CompiledModel":
        """Reload a project written by `write` (its typed graph and resolved config)."""
        from nn2hls.config_file import load_config
        from nn2hls.project_io import is_project, load_graph

        folder = Path(folder)
        if not folder.exists():
            raise ModelLoadError(f"project folder '{folder}' does not exist")
        if not is_project(folder):
            raise ModelLoadError(f"'{folder}' is not an nn2hls project (no nn2hls_graph.json); "
                                 "create one with `nn2hls convert MODEL -o DIR`")
        cfg = load_config(folder / CONFIG_FILE) if (folder / CONFIG_FILE).is_file() else Config()
        return cls(load_graph(folder), cfg, project_dir=folder)

    # -- queries -----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.project_name or self.graph.name

    @property
    def input_names(self) -> list[str]:
        """The model's input names in input order (the keys of a dict or .npz of samples)."""
        return [spec.name for spec in feeds.specs(self.graph)]

    @property
    def output_names(self) -> list[str]:
        """The model's output names in output order (the keys of an .npz of several outputs)."""
        return feeds.output_names(self.graph)

    @property
    def warnings(self) -> list[str]:
        return list(self.graph.meta.get("pass_warnings", []))

    def _outputs(self, outputs: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def emulate(self, x: Any) -> np.ndarray | list[np.ndarray]:
        """Bit-accurate outputs (float64) for samples x of shape (N, *input_shape); a list if several.

        Several inputs: x is a tuple/list of arrays in input order or a dict keyed by input name.
        """
        return self._outputs(self.emulate_full(x).outputs)

    def emulate_full(self, x: Any, *, return_all: bool = False):
        """The emulator's full result (outputs, per-layer overflow counts, raw values with return_all)."""
        from nn2hls.emulate import emulate

        return emulate(self.graph, check_input(self.graph, x), return_all=return_all)

    def float_reference(self, x: Any) -> np.ndarray | list[np.ndarray]:
        """Float64 outputs of the source (un-quantized) graph by the IR float executor."""
        from nn2hls.ir.execute import execute

        if self.source is None:
            raise ModelLoadError("this compiled model was loaded from a project and has no float model; "
                                 "compile the model file to get a float reference")
        return self._outputs(execute(self.source, check_input(self.source, x)))

    def report(self) -> dict[str, Any]:
        """Resources and latency estimate (see nn2hls.report)."""
        from nn2hls.report import build_report

        return build_report(self.graph, self.config)

    # -- project -----------------------------------------------------------------------------------
    def write(self, out_dir: str | Path, force: bool = False, *, tb_input: np.ndarray | None = None,
              tb_source: str | None = None, backend: str | None = None) -> Path:
        """Write the HLS project (plus nn2hls_config.yml and the typed graph) and return its folder.

        An existing non-empty folder is an error unless `force`; with `force` a previous nn2hls project
        there is replaced, and any other folder's same-named files are overwritten (nothing else is
        deleted). The testbench data are `tb_input` (samples; `tb_source` says where from, for the
        project README), else the first calibration samples, else samples drawn across the input
        type's range (`nn2hls.testbench`); the emulator's outputs are the expected values.
        `backend` ("vivado", "vitis" or "verilog") overrides the config's; "verilog" writes the RTL
        project of docs/verilog.md instead of HLS C++ (it has no testbench data: `nn2hls rtlsim`).
        """
        from nn2hls.backends.vivado import write_project
        from nn2hls.config_file import dump_config
        from nn2hls.project_io import is_project, save_graph

        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise OutputExistsError(f"output path '{out}' exists and is a file; choose another -o path")
        if out.is_dir() and any(out.iterdir()):
            if not force:
                raise OutputExistsError(f"output folder '{out}' already exists; use --force (force=True) to "
                                        "overwrite it or choose another -o path")
            if is_project(out):
                shutil.rmtree(out)
        config = self.config
        if backend is not None:
            import dataclasses

            from nn2hls.config_file import BACKENDS

            if backend not in BACKENDS:
                raise ConfigError(f"backend {backend!r} is not supported; use one of {', '.join(BACKENDS)}")
            config = dataclasses.replace(self.config, backend=backend)
        if config.backend == "verilog":
            from nn2hls.backends import verilog

            project = Path(verilog.write_project(self.graph, config, out))
        else:
            bench = self.testbench_samples(tb_input, tb_source)
            tb_output = self.emulate(bench.samples)
            out.mkdir(parents=True, exist_ok=True)
            project = Path(write_project(self.graph, config, out, tb_input=bench.samples, tb_output=tb_output,
                                         tb_source=bench.source))
        dump_config(config, project / CONFIG_FILE)
        save_graph(self.graph, project)
        self.project_dir = project
        return project

    def testbench_samples(self, tb_input: np.ndarray | None = None, tb_source: str | None = None):
        """The testbench `write` uses (an `nn2hls.testbench.Testbench`): never empty."""
        from nn2hls import testbench

        if tb_input is not None:
            samples = check_input(self.graph, tb_input, "testbench input")
            return testbench.Testbench(samples, tb_source or f"the {feeds.n_samples(samples)} samples given to "
                                                             "write()")
        if self.testbench is not None:
            return self.testbench
        return testbench.drawn_inputs(self.graph)

    def build(self, ap_types: str | Path | None = None):
        """Build (or reuse) the C simulation; returns a simulator with `.predict(x)`.

        Writes the project into a temporary folder first when `write` was not called.
        """
        from nn2hls.csim import build

        if self.project_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="nn2hls_")
            weakref.finalize(self, shutil.rmtree, self._tmp, True)
            if self.config.backend == "verilog":
                self.write_csim_stand_in(Path(self._tmp) / self.name)
            else:
                self.write(Path(self._tmp) / self.name)
        return build(self.project_dir, ap_types=ap_types)

    def write_csim_stand_in(self, out_dir: str | Path, **kwargs: Any) -> Path:
        """Write the HLS project whose C simulation stands in for a Verilog design (`build`, `check`):
        this model with backend vivado and every `distributed_arithmetic` layer as `latency`. Only the
        Verilog backend builds adder graphs, and an adder graph sums exactly what the products sum, with
        the same casts (docs/verilog.md), so the C simulation's numbers are the design's."""
        import dataclasses

        da = "distributed_arithmetic"
        cfg = self.config
        layers = {name: ({**spec, "strategy": "latency"} if spec.get("strategy") == da else spec)
                  for name, spec in cfg.layers.items()}
        self.config = dataclasses.replace(cfg, backend="vivado", layers=layers,
                                          strategy="latency" if cfg.strategy == da else cfg.strategy)
        try:
            return self.write(out_dir, **kwargs)
        finally:
            self.config = cfg

    def __repr__(self) -> str:
        return f"CompiledModel({self.name!r}, {len(self.graph)} nodes, backend={self.config.backend})"


