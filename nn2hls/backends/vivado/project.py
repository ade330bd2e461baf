"""Write a complete Vivado/Vitis HLS project for a typed graph (io_parallel).

Each layer is its own function with its own pragmas; the top is pipelined or DATAFLOW as
`schedule.py` decides (reuse factor and strategy per layer, config `layers`).

Layout (all paths relative, files byte-identical for the same graph and config):

    <out>/build_prj.tcl  README.md  nn2hls_project.json  (vitis: hls_config.cfg, the v++/vitis-run flow)
    <out>/firmware/<name>.cpp .h  <name>_types.h  <name>_layers.h  layer_<node>.cpp  nn2hls/*.h
    <out>/tb/<name>_test.cpp   <out>/tb_data/tb_input.dat tb_output.dat   <out>/csim/<name>_batch.cpp

The kernels of hls_lib (`nn2hls_*.h`) are copied into `firmware/nn2hls/` so the project is complete
for the HLS tool, which brings its own `ap_fixed.h`; the C simulation adds hls_lib (or vendor
headers) to the include path for the ap types only. `nn2hls_project.json` records what the C
simulation needs (name, input/output shapes, sources; `input_shapes` and `input_names` when the
model has several inputs, `input_shape` being the first one's).

Several inputs: the top function gets one port per input (`x_in0`, `x_in1`, ... of `input0_t`,
`input1_t`, ..., in the model's input order) before its output ports; a single-input project keeps
`x_in` of `input_t`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import jinja2
import numpy as np

from nn2hls.backends.vivado.context import LayerContext, build_layer, type_name
from nn2hls.backends.vivado import stream
from nn2hls.backends.vivado.cpp import comment_text, cpp_type, literal
from nn2hls.backends.vivado.schedule import layer_pragmas, top_pipelined
from nn2hls.config import Config
from nn2hls.errors import ConfigError, InputDataError
from nn2hls.ir.graph import Graph
from nn2hls.ir.names import safe_identifier
from nn2hls.ir.ops import Conv, Dense, Input
from nn2hls.ir.verify import verify
from nn2hls.resources import hls_lib_dir, templates_dir

MANIFEST = "nn2hls_project.json"
# Margin HLS keeps from the clock period for logic synthesis and routing (set_clock_uncertainty; the
# tools' default is 27%, UG1399; 12.5% is the margin commonly used for trigger firmware).
CLOCK_UNCERTAINTY = "12.5%"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "vivado")),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, autoescape=False)


def _signature(layer: LayerContext) -> str:
    args = [f"const {i['type']} x{k}[{i['size']}]" for k, i in enumerate(layer.inputs)]
    return ", ".join(args + [f"{layer.out_type} y[{layer.out_size}]"])


def _shape_comment(shape: tuple[int, ...]) -> str:
    return " (shape " + "x".join(str(s) for s in shape) + ")" if shape else ""


def project_name(graph: Graph, config: Config) -> str:
    return safe_identifier(config.project_name or graph.name, fallback="model")


def _inputs(graph: Graph) -> list[dict]:
    """One port per model input, in input order: `x_in` of `input_t` for a single input (the layout
    of single-input projects), `x_in<k>` of `input<k>_t` for several; `offset` is where the input's
    values start in a sample's concatenated input vector (testbench data, batch entry point)."""
    nodes = graph.inputs
    single = len(nodes) == 1
    inputs, offset = [], 0
    for k, inp in enumerate(nodes):
        size = int(math.prod(inp.shape))
        inputs.append({"type": type_name(inp.name, "result"), "size": size, "shape": list(inp.shape),
                       "shape_comment": _shape_comment(inp.shape), "node": inp.name,
                       "name": comment_text(inp.source_name or inp.name), "offset": offset,
                       "port": "x_in" if single else f"x_in{k}", "ctype": "input_t" if single else f"input{k}_t"})
        offset += size
    return inputs


def build_context(graph: Graph, config: Config) -> dict:
    """The plain data all templates of one project render from."""
    if config.backend not in ("vivado", "vitis"):
        raise ConfigError(f"backend {config.backend!r} is not supported; use 'vivado' or 'vitis'")
    if config.io_type not in ("io_parallel", "io_stream"):
        raise ConfigError(f"io_type {config.io_type!r} is not supported; use 'io_parallel' or 'io_stream'")
    verify(graph, typed=True)
    for node in graph.topological():
        if isinstance(node.op, (Dense, Conv)) and config.layer_strategy(node.name) == "distributed_arithmetic":
            raise ConfigError(f"layer {node.name}: strategy 'distributed_arithmetic' is built by the Verilog backend "
                              f"only; use --backend verilog (or strategy latency/resource for {config.backend})")
    name = project_name(graph, config)
    inputs = _inputs(graph)
    typedefs = []
    layers = []
    for node in graph.topological():
        typedefs.append({"name": type_name(node.name, "result"), "cpp": cpp_type(node.precision["result"])})
        if isinstance(node.op, Input):
            continue
        layer = build_layer(graph, node, config.layer_reuse(node.name))
        typedefs.extend(layer.typedefs)
        layers.append(layer)
    var = {n: f"v_{n}" for n in graph.nodes}
    var.update({i["node"]: i["port"] for i in inputs})
    pipelined = top_pipelined(graph, config)
    vitis = config.backend == "vitis"
    layer_dicts = []
    for layer in layers:
        d = dict(vars(layer))
        d["pragmas"] = layer_pragmas(layer.kind, layer.products, layer.params, config.layer_reuse(layer.name),
                                     config.layer_strategy(layer.name), pipelined, vitis)
        d["signature"] = _signature(layer)
        d["args"] = [var[i] for i in graph[layer.name].inputs]
        layer_dicts.append(d)
    outputs, offset = [], 0
    for k, out in enumerate(graph.outputs):
        size = int(math.prod(graph[out].shape))
        outputs.append({"type": type_name(out, "result"), "size": size, "var": var[out], "offset": offset,
                        "shape": list(graph[out].shape), "shape_comment": _shape_comment(graph[out].shape)})
        offset += size
    tool = "Vitis HLS" if vitis else "Vivado HLS"
    ctx = {
        "project": name, "guard": name.upper(), "typedefs": typedefs, "layers": layer_dicts,
        "input": inputs[0], "inputs": inputs, "total_in": sum(i["size"] for i in inputs),
        "outputs": outputs, "total_out": offset, "vitis": vitis, "tool_name": tool, "top_pipeline": pipelined,
        "run_command": "vitis_hls -f build_prj.tcl" if vitis else "vivado_hls -f build_prj.tcl",
        "part": config.part, "clock": literal(config.clock_period_ns), "clock_uncertainty": CLOCK_UNCERTAINTY,
        "sources": [f"{name}.cpp"] + [f"layer_{l['name']}.cpp" for l in layer_dicts], "io_type": "io_parallel",
    }
    if config.io_type == "io_stream":
        for d in layer_dicts:
            d["tensor_pragmas"] = d["pragmas"]
            d["rf"] = config.layer_reuse(d["name"])
            c = stream.channels(tuple(graph[d["name"]].shape))
            d["pixel_view"] = {**d, "out_size": c, "inputs": [{**i, "size": c} for i in d["inputs"]]}
        ctx.update(stream.build_stream_context(graph, ctx, layer_dicts))
    return ctx


def _data_lines(arr: np.ndarray, per_sample: int, what: str) -> str:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size % max(per_sample, 1) != 0:
        raise InputDataError(f"{what}: {arr.size} values do not split into samples of {per_sample}")
    rows = arr.reshape(-1, per_sample)
    return "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in rows)


def write_project(graph: Graph, config: Config, out_dir, *, tb_input=None, tb_output=None,
                  tb_source: str | None = None) -> Path:
    """Write the HLS project of a typed graph into `out_dir` and return its path.

    `tb_input` (N, *input_shape; a list of such arrays in input order for several inputs) and
    `tb_output` (an array or a list of arrays, graph.outputs order: the emulator's outputs for
    tb_input) become the testbench vectors in tb_data/ (one line per sample, inputs and outputs each
    concatenated in order); `tb_source` (where the samples came from) goes into the project README
    with their number.
    """
    ctx = build_context(graph, config)
    env = _environment()
    out = Path(out_dir)
    name = ctx["project"]
    files: dict[str, str] = {}

    def render(template: str, **extra) -> str:
        return env.get_template(template).render(**ctx, **extra)

    suffix = "_stream" if ctx["io_type"] == "io_stream" else ""
    files[f"firmware/{name}_types.h"] = render("types.h.j2")
    files[f"firmware/{name}_layers.h"] = render(f"layers{suffix}.h.j2")
    files[f"firmware/{name}.h"] = render(f"top{suffix}.h.j2")
    files[f"firmware/{name}.cpp"] = render(f"top{suffix}.cpp.j2")
    for layer in ctx["layers"]:
        files[f"firmware/layer_{layer['name']}.cpp"] = render(f"layer{suffix}.cpp.j2", layer=layer,
                                                              signature=layer["signature"])
    files[f"tb/{name}_test.cpp"] = render(f"test{suffix}.cpp.j2")
    files[f"csim/{name}_batch.cpp"] = render(f"batch{suffix}.cpp.j2")
    files["build_prj.tcl"] = render("build_prj.tcl.j2")
    if ctx["vitis"]:
        files["hls_config.cfg"] = render("hls_config.cfg.j2")
    testbench = None
    if tb_input is not None and tb_source:
        first = tb_input[0] if isinstance(tb_input, (list, tuple)) else tb_input
        testbench = {"samples": int(np.asarray(first).shape[0]), "source": tb_source}
    files["README.md"] = render("README.md.j2", testbench=testbench)
    for header in sorted(hls_lib_dir().glob("nn2hls_*.h")):
        if header.name.startswith("nn2hls_ap"):
            continue  # the simulation ap types stay in hls_lib: the HLS tool brings its own
        files[f"firmware/nn2hls/{header.name}"] = header.read_text()
    if tb_input is not None:
        ins = tb_input if isinstance(tb_input, (list, tuple)) else [tb_input]
        x = np.asarray(ins[0], dtype=np.float64)
        n = x.shape[0] if x.ndim else 1
        if len(ins) > 1:  # several inputs: one line per sample, the inputs side by side in input order
            x = np.concatenate([np.asarray(i, dtype=np.float64).reshape(n, -1) for i in ins], axis=1)
        files["tb_data/tb_input.dat"] = _data_lines(x, ctx["total_in"], "tb_input")
        if tb_output is not None:
            outs = tb_output if isinstance(tb_output, (list, tuple)) else [tb_output]
            flat = np.concatenate([np.asarray(o, dtype=np.float64).reshape(n, -1) for o in outs], axis=1)
            files["tb_data/tb_output.dat"] = _data_lines(flat, ctx["total_out"], "tb_output")
    files.setdefault("tb_data/tb_input.dat", "")
    files.setdefault("tb_data/tb_output.dat", "")
    manifest = {"project": name, "backend": config.backend, "input_shape": ctx["input"]["shape"],
                "output_shapes": [o["shape"] for o in ctx["outputs"]],
                "sources": [f"firmware/{s}" for s in ctx["sources"]] + [f"csim/{name}_batch.cpp"],
                "layer_weights": {l["name"]: l["weight_entries"] for l in ctx["layers"]},
                "layer_products": {l["name"]: l["products"] for l in ctx["layers"]}}
    if suffix:
        manifest["io_type"] = ctx["io_type"]
    if len(ctx["inputs"]) > 1:
        manifest["input_shapes"] = [i["shape"] for i in ctx["inputs"]]
        manifest["input_names"] = [inp.source_name or inp.name for inp in graph.inputs]
    files[MANIFEST] = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    for rel, text in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return out
