"""io_stream: the top function's ports, inter-layer FIFOs and per-layer stream processes (docs/io_stream.md).

Rules:
- Element layout: a tensor of channels-last shape (..., C) is streamed as prod(...) elements in raster
  (row-major) order, each element one position's C channel values (`nn2hls::pixel<T, C>`,
  hls_lib/nn2hls_stream.h); a flat tensor (N,) is one element of N values, a scalar one element of 1.
  The elements concatenated are the io_parallel array, so outputs are the same values in the same order.
- Ports: one `hls::stream` per model input and output (`#pragma HLS INTERFACE axis`). When an input's
  only reader is a layout op (Transpose or Reshape, e.g. the NCHW -> channels-last transpose ONNX
  models start with) of the same type, the port carries that op's output (H*W pixels of C channels) and
  the op is not emitted: the testbench and the batch entry point reorder the source-layout sample
  (`order`: the source index of every port value).
- Processes (one function per layer under `#pragma HLS DATAFLOW`; `stream_mode`):
  `conv`  Conv, line buffer over the padded raster scan (hls_lib/nn2hls_window.h) and the same sparse
          row-block products as io_parallel (zero weights absent, output positions at II = RF);
  `pool`  Pool max/avg, the same line buffer; `global_pool` GlobalPool, a running max / exact sum;
  `pixel` element-wise layers (activations, Quant, a Reshape keeping the last axis, same-shape
          Elementwise, PReLU with per-channel slopes): the io_parallel kernel per pixel;
  `tensor` every other layer (Dense, Flatten, Softmax, Concat, Transpose, ...): an adapter reads the
          whole input tensor into an array, calls the io_parallel layer function, writes the result out.
- FIFO depths (`fifo_depths`): a stream read by one process only has depth 2. Whatever the rates, a
  chain cannot deadlock: each process reads its only input in order, so the depth sets throughput only,
  and 2 lets producer and consumer overlap (the DATAFLOW interval is the slowest process's per-image
  time, which deeper FIFOs do not shorten). A tensor read by several processes (or several times) is
  copied by a split process into one FIFO per reader, each as deep as the tensor has elements: the
  readers' branches meet again at a layer reading them in lockstep, and the longer branch may hold
  back up to its whole input (an adapter reads the whole tensor before it writes), so the split
  must be able to write the whole tensor without waiting for any reader. The same holds for the ports
  of a multi-input model (copied through a split into a full-depth FIFO).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nn2hls.backends.vivado.layer_context import flat_size, type_name
from nn2hls.errors import ConfigError
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import Activation, Conv, Elementwise, GlobalPool, Input, Pool, Quant, Reshape, Transpose

PIXEL_KINDS = frozenset({"relu", "clip", "leaky_relu", "hard_sigmoid", "table_activation", "elu", "selu", "steps",
                         "thresholded_relu", "hard_swish", "relu_plus_table", "copy"})
CHAIN_DEPTH = 2


def channels(shape: tuple[int, ...]) -> int:
    """Values per stream element: the last axis (1 for a scalar)."""
    return int(shape[-1]) if len(shape) else 1


def elements(shape: tuple[int, ...]) -> int:
    """Stream elements of a tensor: its positions (all axes but the last)."""
    return flat_size(shape) // max(channels(shape), 1)


def stream_type(ctype: str, shape: tuple[int, ...]) -> str:
    return f"hls::stream<nn2hls::pixel<{ctype}, {channels(shape)}> >"


def stream_mode(graph: Graph, node: Node) -> str:
    """How the layer runs on streams (module doc): conv, pool, global_pool, pixel or tensor. Decided from
    the node alone, so the report (`nn2hls.report`) and the backend agree."""
    from nn2hls.backends.vivado.context import ACTIVATION_TABLE, broadcast_period
    op = node.op
    shapes = [tuple(graph[i].shape) for i in node.inputs]
    if isinstance(op, Conv):
        return "conv"
    if isinstance(op, Pool):
        return "pool"
    if isinstance(op, GlobalPool) and len(shapes[0]) >= 2:
        return "global_pool"
    out = tuple(node.shape)
    if not out or not all(s and s[-1] == out[-1] and flat_size(s) == flat_size(out) for s in shapes):
        return "tensor"
    if isinstance(op, (Quant, Reshape)) and len(shapes) == 1:
        return "pixel"
    if isinstance(op, Elementwise) and all(s == out for s in shapes):
        return "pixel"
    if isinstance(op, Activation) and op.function in ACTIVATION_TABLE:
        kind = ACTIVATION_TABLE[op.function].kind
        if kind in PIXEL_KINDS:
            return "pixel"
        if kind == "prelu":
            _, period = broadcast_period(np.asarray(node.weights["alpha"], dtype=np.float64), out)
            return "pixel" if period == channels(out) else "tensor"
    return "tensor"


def padded_scan(graph: Graph, node: Node) -> tuple[int, int]:
    """(PH, PW): the padded raster scan of a Conv/Pool line buffer (hls_lib/nn2hls_window.h)."""
    p = window_params(graph, node)
    return p["ph"], p["pw"]


def window_params(graph: Graph, node: Node) -> dict[str, int]:
    """Line-buffer parameters of a Conv or Pool: input/output size, window extent, strides, padding and
    the padded scan PH = max(PT + IH, (OH - 1) * SH + EH), PW likewise."""
    from nn2hls.backends.vivado.layer_context import pair, spatial_2d
    op = node.op
    ih, iw, c = spatial_2d(tuple(graph[node.inputs[0]].shape), op.ndim)
    oh, ow, _ = spatial_2d(tuple(node.shape), op.ndim)
    if isinstance(op, Conv):
        k = tuple(node.weights["kernel"].shape[:op.ndim])
        kh, kw = pair(k, op.ndim, 1)
        dh, dw = pair(op.dilations, op.ndim, 1)
    else:
        kh, kw = pair(op.pool_size, op.ndim, 1)
        dh = dw = 1
    sh, sw = pair(op.strides, op.ndim, 1)
    pt, pl = pair(tuple(p[0] for p in op.pads), op.ndim, 0)
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    ph = max(pt + ih, (oh - 1) * sh + eh)
    pw = max(pl + iw, (ow - 1) * sw + ew)
    return dict(ih=ih, iw=iw, c=c, oh=oh, ow=ow, kh=kh, kw=kw, dh=dh, dw=dw, sh=sh, sw=sw, pt=pt, pl=pl,
                eh=eh, ew=ew, ph=ph, pw=pw, lines=max(eh - 1, 1))


def absorbed_layout(graph: Graph, inp: Node) -> Node | None:
    """The layout op (Transpose/Reshape) an input port carries the output of, or None (module doc)."""
    readers = graph.consumers(inp.name)
    if len(readers) != 1 or inp.name in graph.outputs:
        return None
    node = graph[readers[0]]
    if not isinstance(node.op, (Transpose, Reshape)) or node.name in graph.outputs or len(node.inputs) != 1:
        return None
    if node.precision.get("result") != inp.precision.get("result"):
        return None
    return node


def port_order(graph: Graph, inp: Node, layout: Node | None) -> list[int] | None:
    """Source index of each port value (None: the identity)."""
    if layout is None or isinstance(layout.op, Reshape):
        return None
    src = np.arange(flat_size(inp.shape)).reshape(inp.shape).transpose(layout.op.perm).reshape(-1)
    return None if np.array_equal(src, np.arange(src.size)) else [int(v) for v in src]


def build_stream_context(graph: Graph, ctx: dict[str, Any], layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Ports, FIFOs, splits and the DATAFLOW call sequence of an io_stream top (module doc).

    `ctx` is the io_parallel context (inputs, outputs); `layers` its layer dicts, which gain `mode`,
    `stream_args`/`stream_signature` and, for adapters, `tensor_signature`."""
    for out in graph.outputs:
        if isinstance(graph[out].op, Input):
            raise ConfigError(f"io_stream: output {graph[out].label()} is a model input; a stream design needs "
                              "at least one layer between them (use io_parallel)")
    skipped: set[str] = set()
    tensor_of: dict[str, str] = {}  # port tensor name per input node
    inputs = []
    for i in ctx["inputs"]:
        inp = graph[i["node"]]
        layout = absorbed_layout(graph, inp)
        tensor = layout.name if layout is not None else inp.name
        if layout is not None:
            skipped.add(layout.name)
        tensor_of[inp.name] = tensor
        shape = tuple(graph[tensor].shape)
        inputs.append({**i, "c": channels(shape), "pixels": elements(shape), "order": port_order(graph, inp, layout),
                       "tensor": tensor, "stream": stream_type(i["ctype"], shape),
                       "layout": (graph[tensor].op.kind if layout is not None else "")})
    several_inputs = len(inputs) > 1
    emitted = [l for l in layers if l["name"] not in skipped]
    # readers of every tensor: (layer, input slot) in call order, then output ports
    readers: dict[str, list[tuple[str, int]]] = {}
    for l in emitted:
        for k, src in enumerate(graph[l["name"]].inputs):
            readers.setdefault(src, []).append((l["name"], k))
    outputs = []
    for k, (o, out) in enumerate(zip(ctx["outputs"], graph.outputs)):
        shape = tuple(graph[out].shape)
        outputs.append({**o, "port": f"y_out{k}", "c": channels(shape), "pixels": elements(shape),
                        "stream": stream_type(f"result{k}_t", shape)})
        readers.setdefault(out, []).append(("", k))
    streams: list[dict[str, Any]] = []
    splits: list[dict[str, Any]] = []
    arg_of: dict[tuple[str, int], str] = {}   # (reader layer or "" for an output port, slot) -> stream
    head_of: dict[str, str] = {}              # tensor -> the stream its producer writes

    def fifo(name: str, tensor: str, depth: int) -> str:
        node = graph[tensor]
        streams.append({"name": name, "type": stream_type(type_name(tensor, "result"), tuple(node.shape)),
                        "depth": depth})
        return name

    producers = [(i["tensor"], i["port"]) for i in inputs] + [(l["name"], None) for l in emitted]
    for tensor, port in producers:
        rs = readers.get(tensor, [])
        shape = tuple(graph[tensor].shape)
        if port is not None and not rs:
            raise ConfigError(f"io_stream: input '{tensor}' is read by no layer; remove it from the model")
        split = len(rs) > 1 or (port is not None and several_inputs)
        if not split:
            reader = rs[0]
            if reader[0] == "":
                head_of[tensor] = outputs[reader[1]]["port"]
            elif port is not None:
                head_of[tensor] = port
            else:
                head_of[tensor] = fifo(f"s_{tensor}", tensor, CHAIN_DEPTH)
            arg_of[reader] = head_of[tensor]
            continue
        head_of[tensor] = port if port is not None else fifo(f"s_{tensor}", tensor, CHAIN_DEPTH)
        outs = []
        for j, reader in enumerate(rs):
            if reader[0] == "":
                name = outputs[reader[1]]["port"]
            else:
                name = fifo(f"s_{tensor}_{j}", tensor, elements(shape))
            arg_of[reader] = name
            outs.append(name)
        ctype = port_type = type_name(tensor, "result")
        if port is not None:
            port_type = next(i["ctype"] for i in inputs if i["port"] == port)
            ctype = port_type
        splits.append({"name": f"split_{tensor}", "tensor": tensor, "in": head_of[tensor], "outs": outs,
                       "stream": stream_type(ctype, shape), "ctype": ctype, "c": channels(shape),
                       "pixels": elements(shape)})
    calls = []
    split_of = {s["tensor"]: s for s in splits}
    for i in inputs:
        if i["tensor"] in split_of:
            s = split_of[i["tensor"]]
            calls.append({"function": s["name"], "args": [s["in"]] + s["outs"], "comment": "copies of " + i["port"]})
    for l in emitted:
        node = graph[l["name"]]
        mode = stream_mode(graph, node)
        srcs = [tensor_of.get(s, s) for s in node.inputs]
        in_shapes = [tuple(graph[s].shape) for s in srcs]
        out_shape = tuple(node.shape)
        l["mode"] = mode
        l["in_streams"] = [{"type": stream_type(t["type"], s), "c": channels(s), "pixels": elements(s),
                            "ctype": t["type"], "size": t["size"]} for t, s in zip(l["inputs"], in_shapes)]
        l["out_stream"] = {"type": stream_type(l["out_type"], out_shape), "c": channels(out_shape),
                           "pixels": elements(out_shape)}
        l["stream_signature"] = ", ".join([f"{s['type']} &x{k}_s" for k, s in enumerate(l["in_streams"])]
                                          + [f"{l['out_stream']['type']} &y_s"])
        l["tensor_signature"] = l["signature"]
        if mode in ("conv", "pool"):
            l["window"] = window_params(graph, node)
        l["stream_args"] = [arg_of[(l["name"], k)] for k in range(len(node.inputs))] + [head_of[l["name"]]]
        calls.append({"function": f"layer_{l['name']}", "args": l["stream_args"], "comment": l["comment"]})
        if l["name"] in split_of:
            s = split_of[l["name"]]
            calls.append({"function": s["name"], "args": [s["in"]] + s["outs"], "comment": "copies of " + l["name"]})
    for l in emitted:
        l["pragmas"] = stream_pragmas(l)
    return {"inputs": inputs, "outputs": outputs, "input": inputs[0], "layers": emitted, "streams": streams,
            "splits": splits, "calls": calls, "io_type": "io_stream",
            "sources": [f"{ctx['project']}.cpp"] + [f"layer_{l['name']}.cpp" for l in emitted]}


def stream_pragmas(layer: dict[str, Any]) -> list[str]:
    """Function-level pragmas of a stream process: the io_parallel ALLOCATION limit of a Conv (its
    products per output position shared over RF cycles); the other modes pipeline their own loops, and
    an adapter's io_parallel function keeps its io_parallel pragmas (`tensor_pragmas`)."""
    if layer["mode"] == "conv":
        return [p for p in layer["pragmas"] if "ALLOCATION" in p]
    return []
