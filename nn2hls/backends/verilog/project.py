"""Write a Verilog project for a typed graph (io_parallel, latency: every product unrolled).

Layout (all files byte-identical for the same graph and config):

    <out>/rtl/<project>.v             top module: ports, layer instances, delay lines, valid pipeline
    <out>/rtl/<project>_<node>.v      one module per layer (`nn2hls.backends.verilog.layers`)
    <out>/tb/<project>_tb.v           batch testbench used by `nn2hls rtlsim`
    <out>/README.md  nn2hls_project.json

Timing: with `rtl_pipeline` (default) every computing layer registers its output, so a layer's
output is ready `stage` cycles after the input, stage = max(stage of its inputs) + 1 (Reshape and
Transpose are wiring: + 0). An input that is ready earlier than the others of its layer goes through a
delay line of registers, so every sample stays aligned; the top's latency is the largest output stage.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import jinja2

from nn2hls.backends.verilog import da
from nn2hls.backends.verilog.layers import WIRING, builder_for
from nn2hls.backends.verilog.netlist import Body
from nn2hls.backends.vivado.project import project_name
from nn2hls.config import Config
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.ir.names import safe_identifier
from nn2hls.ir.verify import verify
from nn2hls.resources import templates_dir

MANIFEST = "nn2hls_project.json"
# IEEE 1364-2005 reserved words plus SystemVerilog's (IEEE 1800), which yosys and Verilator also reserve
_KEYWORDS = frozenset("""
always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default defparam
design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive endspecify endtable
endtask event for force forever fork function generate genvar highz0 highz1 if ifnone incdir include initial inout
input instance integer join large liblist library localparam macromodule medium module nand negedge nmos nor
noshowcancelled not notif0 notif1 or output parameter pmos posedge primitive pull0 pull1 pulldown pullup
pulsestyle_ondetect pulsestyle_onevent rcmos real realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1
scalared showcancelled signed small specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0
tranif1 tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
alias always_comb always_ff always_latch assert assume before bind bins binsof bit break byte chandle class clocking
const constraint context continue cover covergroup coverpoint cross dist do endclass endclocking endgroup
endinterface endpackage endprogram endproperty endsequence enum expect export extends extern final first_match
foreach forkjoin iff ignore_bins illegal_bins import inside int interface intersect join_any join_none local logic
longint matches modport new null package packed priority program property protected pure rand randc randcase
randsequence ref return sequence shortint shortreal solve static string struct super tagged this throughout
timeprecision timeunit type typedef union unique var virtual void wait_order wildcard with within
""".split())


def top_name(graph: Graph, config: Config) -> str:
    """The top module's name: the project name, with `_top` added when it is a Verilog keyword."""
    name = project_name(graph, config)
    return f"{name}_top" if name in _KEYWORDS else name


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "verilog")),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, autoescape=False)


def _shape_comment(shape) -> str:
    return " (shape " + "x".join(str(s) for s in shape) + ")" if shape else ""


def build_layers(graph: Graph, config: Config) -> dict:
    """The plain data the templates render from (layers, ports, instances, delay lines)."""
    config.check_backend()
    verify(graph, typed=True)
    name = top_name(graph, config)
    pipelined = bool(getattr(config, "rtl_pipeline", True))
    taken: set[str] = {name}
    stage: dict[str, int] = {}
    wire: dict[str, str] = {}
    bits: dict[str, int] = {}
    inputs, layers, instances, delays, wires = [], [], [], [], []
    single = len(graph.inputs) == 1
    for k, inp in enumerate(graph.inputs):
        t = inp.precision["result"]
        count = int(math.prod(inp.shape))
        port = "x_in" if single else f"x_in{k}"
        inputs.append({"port": port, "width": t.width, "count": count, "bits": t.width * count, "type": str(t),
                       "shape": list(inp.shape), "shape_comment": _shape_comment(inp.shape), "node": inp.name})
        stage[inp.name], wire[inp.name], bits[inp.name] = 0, port, t.width * count
    delayed: dict[tuple[str, int], str] = {}

    def at_stage(producer: str, target: int) -> str:
        """The producer's bus delayed to be ready at `target` (a chain of registers, shared)."""
        source, s = wire[producer], stage[producer]
        while s < target:
            key = (producer, s + 1)
            if key not in delayed:
                reg = f"d_{producer}_{s + 1}"
                delays.append({"name": reg, "bits": bits[producer], "source": source})
                delayed[key] = reg
            source, s = delayed[key], s + 1
        return source

    for node in graph.topological():
        if isinstance(node.op, ops.Input):
            continue
        use_da = config.layer_strategy(node.name) == da.STRATEGY and type(node.op) in da.BUILDERS
        builder = da.BUILDERS[type(node.op)] if use_da else builder_for(node)
        body = Body()
        in_sigs, shapes, args, ports = [], [], [], []
        for j, producer in enumerate(node.inputs):
            t = graph[producer].precision["result"]
            count = int(math.prod(graph[producer].shape))
            port = f"x{j}"
            in_sigs.append([body.port_element(port, e, t, f"{port}_{e}_") for e in range(count)])
            shapes.append(tuple(graph[producer].shape))
            ports.append({"port": port, "bits": t.width * count})
        tr = node.precision["result"]
        outs = builder(body, node, in_sigs, shapes)
        registered = pipelined and not isinstance(node.op, WIRING)
        s_in = max(stage[p] for p in node.inputs)
        for j, producer in enumerate(node.inputs):
            args.append({"port": f"x{j}", "wire": at_stage(producer, s_in)})
        module_name = safe_identifier(f"{name}_{node.name}", taken)
        out_bits = tr.width * len(outs)
        products = body.general_terms if isinstance(node.op, (ops.Dense, ops.Conv)) else 0
        layers.append({
            "name": node.name, "module": module_name, "op": node.op.kind,
            "comment": f"{node.label()}: {node.op.describe()} -> {tr}{_shape_comment(node.shape)}",
            "stats": (f"distributed arithmetic: {body.adders} adders, adder depth {body.da_depth}, no multipliers"
                      if use_da else
                      f"{products} general products, {body.multipliers} multipliers, {body.adders} adders"),
            "inputs": ports, "out_bits": out_bits, "registered": registered,
            "functions": body.functions, "lines": body.lines,
            "out_elements": [body.bits(s, tr.width) for s in reversed(outs)],
            "products": products, "multipliers": body.multipliers, "adders": body.adders,
            "da": {"adders": body.adders, "depth": body.da_depth} if use_da else None,
        })
        wire[node.name], bits[node.name] = f"v_{node.name}", out_bits
        stage[node.name] = s_in + int(registered)
        wires.append({"name": wire[node.name], "bits": out_bits})
        instances.append({"module": module_name, "name": node.name, "args": args, "out": wire[node.name]})
    latency = max(stage[o] for o in graph.outputs)
    outputs = []
    for k, out in enumerate(graph.outputs):
        t = graph[out].precision["result"]
        count = int(math.prod(graph[out].shape))
        outputs.append({"port": "y_out" if len(graph.outputs) == 1 else f"y_out{k}", "width": t.width,
                        "count": count, "bits": t.width * count, "type": str(t), "shape": list(graph[out].shape),
                        "shape_comment": _shape_comment(graph[out].shape), "wire": at_stage(out, latency),
                        "node": out})
    return {"project": name, "inputs": inputs, "outputs": outputs, "layers": layers, "instances": instances,
            "delays": delays, "wires": wires, "latency": latency, "pipelined": pipelined}


def write_project(graph: Graph, config: Config, out_dir) -> Path:
    """Write the Verilog project of a typed graph into `out_dir` and return its path."""
    ctx = build_layers(graph, config)
    env = _environment()
    out = Path(out_dir)
    name = ctx["project"]
    files: dict[str, str] = {f"rtl/{name}.v": env.get_template("top.v.j2").render(**ctx)}
    for layer in ctx["layers"]:
        files[f"rtl/{layer['module']}.v"] = env.get_template("layer.v.j2").render(layer=layer)
    files[f"tb/{name}_tb.v"] = env.get_template("tb.v.j2").render(**ctx)
    files["README.md"] = env.get_template("README.md.j2").render(**ctx)
    port_keys = ("port", "width", "count", "type", "shape")
    manifest = {
        "project": name, "backend": "verilog", "top": name, "latency": ctx["latency"],
        "input_shape": ctx["inputs"][0]["shape"], "output_shapes": [o["shape"] for o in ctx["outputs"]],
        "inputs": [{k: p[k] for k in port_keys} for p in ctx["inputs"]],
        "outputs": [{k: p[k] for k in port_keys} for p in ctx["outputs"]],
        "sources": [f"rtl/{name}.v"] + [f"rtl/{l['module']}.v" for l in ctx["layers"]],
        "testbench": f"tb/{name}_tb.v",
        "layer_modules": {l["name"]: l["module"] for l in ctx["layers"]},
        "layer_products": {l["name"]: l["products"] for l in ctx["layers"]},
        "layer_adders": {l["name"]: l["adders"] for l in ctx["layers"]},
        "layer_multipliers": {l["name"]: l["multipliers"] for l in ctx["layers"]},
    }
    if any(l["da"] for l in ctx["layers"]):  # strategy distributed_arithmetic: adders and depth per layer
        manifest["layer_da"] = {l["name"]: l["da"] for l in ctx["layers"] if l["da"]}
    files[MANIFEST] = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    for rel, text in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return out
