"""Save and load a typed graph inside a project folder, exactly (so `emulate PROJECT` == the C-sim).

Files: `nn2hls_graph.json` (structure: nodes in order, op kind and attributes, inputs, shape, precision
types in Vivado spelling, table specs, node annotations under "meta" in their plain-dict spelling
`NodeAnnotations.to_meta`, graph notes) and `nn2hls_weights.npz` (every weight array, float64,
bit-exact). No pickle: loading a project never executes code from it. Frozen dataclasses (op attributes,
table specs) are stored as `{"__dataclass__": "module:Class", fields...}` and rebuilt only from
classes inside the `nn2hls` package; tuples are stored as `{"__tuple__": [...]}` so nested tuples (conv
pads) come back as tuples.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from nn2hls.errors import GraphError, ModelLoadError
from nn2hls.ir.annotations import NodeAnnotations
from nn2hls.ir.graph import Graph, Node
from nn2hls.ir.ops import ALL_OPS
from nn2hls.ir.types import FixedType

GRAPH_FILE = "nn2hls_graph.json"
WEIGHTS_FILE = "nn2hls_weights.npz"
FORMAT_VERSION = 2  # 2: table sampling and default table sizes changed (version 1 emulates differently)
_OPS = {op.kind: op for op in ALL_OPS}


def _encode(value: Any) -> Any:
    if isinstance(value, FixedType):
        return {"__fixed__": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        out = {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}"}
        out.update({f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)})
        return out
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": _encode(value.tolist())}
    if isinstance(value, np.generic):
        return _encode(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__repr__": repr(value)}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__fixed__" in value:
        return FixedType.parse(value["__fixed__"])
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__array__" in value:
        return np.asarray(_decode(value["__array__"]))
    if "__float__" in value:
        return float(value["__float__"])
    if "__repr__" in value:
        return value["__repr__"]
    if "__dataclass__" in value:
        module, _, name = value["__dataclass__"].partition(":")
        if not (module == "nn2hls" or module.startswith("nn2hls.")):
            raise ModelLoadError(f"project graph refers to class {value['__dataclass__']!r} outside nn2hls")
        cls = getattr(importlib.import_module(module), name)
        kwargs = {k: _decode(v) for k, v in value.items() if k != "__dataclass__"}
        return cls(**kwargs)
    return {k: _decode(v) for k, v in value.items()}


def save_graph(graph: Graph, folder: str | Path) -> Path:
    """Write `nn2hls_graph.json` and `nn2hls_weights.npz` into `folder`; returns the JSON path."""
    folder = Path(folder)
    arrays: dict[str, np.ndarray] = {}
    nodes = []
    for index, node in enumerate(graph.nodes.values()):
        weights = {}
        for key, value in node.weights.items():
            slot = f"w{index}_{key}"
            arrays[slot] = np.asarray(value, dtype=np.float64)
            weights[key] = slot
        op_fields = {f.name: _encode(getattr(node.op, f.name)) for f in dataclasses.fields(node.op)}
        nodes.append({"name": node.name, "op": node.op.kind, "attrs": op_fields, "inputs": list(node.inputs),
                      "shape": list(node.shape), "weights": weights,
                      "precision": {k: str(v) for k, v in node.precision.items()},
                      "tables": _encode(node.tables), "source_name": node.source_name,
                      "meta": _encode(node.annotations.to_meta())})
    doc = {"format": "nn2hls-graph", "version": FORMAT_VERSION, "name": graph.name,
           "outputs": list(graph.outputs), "meta": _encode(graph.meta), "nodes": nodes}
    path = folder / GRAPH_FILE
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    with open(folder / WEIGHTS_FILE, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def is_project(folder: str | Path) -> bool:
    return (Path(folder) / GRAPH_FILE).is_file()


def _annotations(item: dict, path: Path) -> NodeAnnotations:
    try:
        return NodeAnnotations.from_meta(_decode(item.get("meta", {})), f"'{path}': node '{item['name']}'")
    except GraphError as exc:
        raise ModelLoadError(str(exc)) from None


def load_graph(folder: str | Path) -> Graph:
    """Rebuild the typed graph saved by `save_graph` (ModelLoadError when missing or damaged)."""
    folder = Path(folder)
    path = folder / GRAPH_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError as exc:
        raise ModelLoadError(f"'{folder}' is not a complete nn2hls project: {Path(exc.filename).name} is "
                             "missing; convert the model again") from None
    except (ValueError, OSError) as exc:
        raise ModelLoadError(f"project '{folder}' has a damaged {GRAPH_FILE} or {WEIGHTS_FILE} ({exc}); "
                             "convert the model again") from None
    version = doc.get("version")
    if doc.get("format") == "nn2hls-graph" and isinstance(version, int) and version < FORMAT_VERSION:
        raise ModelLoadError(f"'{path}' was written by an older nn2hls (format version {version}, now "
                             f"{FORMAT_VERSION}: its lookup tables are sampled differently); re-convert the "
                             "model with this nn2hls")
    if doc.get("format") != "nn2hls-graph" or version != FORMAT_VERSION:
        raise ModelLoadError(f"'{path}' is not an nn2hls graph of format version {FORMAT_VERSION}; "
                             "convert the model again with this nn2hls")
    graph = Graph(doc["name"])
    for item in doc["nodes"]:
        op_cls = _OPS.get(item["op"])
        if op_cls is None:
            raise ModelLoadError(f"'{path}': unknown op '{item['op']}' in node '{item['name']}'")
        op = op_cls(**{k: _decode(v) for k, v in item["attrs"].items()})
        node = Node(item["name"], op, tuple(item["inputs"]), tuple(item["shape"]),
                    {k: arrays[slot] for k, slot in item["weights"].items()},
                    {k: FixedType.parse(v) for k, v in item["precision"].items()},
                    item.get("source_name", ""), _decode(item.get("tables", {})), _annotations(item, path))
        graph.nodes[node.name] = node
    graph.outputs = list(doc["outputs"])
    graph.meta = _decode(doc.get("meta", {}))
    return graph
