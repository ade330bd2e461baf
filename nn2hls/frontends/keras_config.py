"""Normalize a serialized Keras model config (Sequential or Functional, Keras 2 or 3) to one topology.

Rules:
- Sequential: the layers form a chain. The input shape comes from a leading InputLayer (`batch_shape`
  in Keras 3, `batch_input_shape` in Keras 2), else from the first layer's `batch_input_shape`, else
  from the model's `build_config.input_shape`; a synthetic InputLayer is added when none is listed.
- Functional: every layer lists its calls in `inbound_nodes`. Keras 3 writes each call as
  `{"args": [...], "kwargs": {...}}` whose Keras tensors are `{"class_name": "__keras_tensor__",
  "config": {"keras_history": [layer, node_index, tensor_index]}}` (nested in lists for merge layers);
  Keras 2 writes each call as a list of `[layer, node_index, tensor_index, kwargs]`. The model's
  `input_layers` / `output_layers` list `[layer, node_index, tensor_index]` (Keras 3 writes a single
  one unnested, and a dict by name for a model built on dicts: taken in sorted key order, as Keras
  orders `model.inputs`).
- A tensor is identified by (layer name, node index, tensor index). A layer called more than once
  (a shared layer) gives one LayerCall per call (`call` = its node index), which the IR turns into one
  node per call sharing the layer's weights.
- A nested model (a Sequential/Functional used as a layer, at any depth) is inlined: its layers join
  the outer topology under their own names, its InputLayers are replaced by the tensors it is called
  on and references to its outputs by its own output tensors (`Topology.nested` maps each inlined
  layer to the nested model that holds its weights in a legacy .h5). A nested model called more than
  once, or whose inner layer names clash with outer ones, is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nn2hls.errors import ModelLoadError, UnsupportedOpError

TensorRef = tuple[str, int, int]


@dataclass
class LayerCall:
    """One call of one Keras layer: its class, name, config and the tensors it reads."""

    class_name: str
    name: str
    config: dict[str, Any]
    inputs: list[TensorRef] = field(default_factory=list)
    call: int = 0  # which call of a shared layer (its Keras node index)


@dataclass
class Topology:
    """A Keras model as a list of layer calls plus its input and output tensors."""

    name: str
    layers: list[LayerCall]
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    nested: dict[str, str] = field(default_factory=dict)  # inlined layer -> the nested model it came from


MODEL_CLASSES = ("Sequential", "Functional", "Model")


def _layer_name(layer: dict[str, Any]) -> str:
    return str(layer.get("config", {}).get("name") or layer.get("name") or "")


def _input_shape_of(config: dict[str, Any]) -> list | None:
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return list(config[key])
    return None


def parse_topology(model_config: dict[str, Any], origin: str) -> Topology:
    """The topology of a serialized model (`{"class_name": ..., "config": ...}`)."""
    if not isinstance(model_config, dict) or "class_name" not in model_config:
        raise ModelLoadError(f"{origin}: the model config has no 'class_name'; the file is corrupt")
    class_name = model_config["class_name"]
    config = model_config.get("config", {})
    if class_name == "Sequential":
        return _inline_nested(_sequential(model_config, config, origin), origin)
    if class_name in ("Functional", "Model") or (isinstance(config, dict) and "input_layers" in config):
        return _inline_nested(_functional(config, origin), origin)
    raise UnsupportedOpError(f"{origin}: a model of class '{class_name}' is not supported; save a "
                             "Sequential or Functional model (subclassed models have no config)")


def _sequential(model_config: dict[str, Any], config: Any, origin: str) -> Topology:
    layers_cfg = config if isinstance(config, list) else config.get("layers", [])
    name = "sequential" if isinstance(config, list) else str(config.get("name", "sequential"))
    if not layers_cfg:
        raise ModelLoadError(f"{origin}: the Sequential model has no layers")
    layers: list[LayerCall] = []
    first = layers_cfg[0]
    if first.get("class_name") == "InputLayer":
        input_layer = LayerCall("InputLayer", _layer_name(first), dict(first.get("config", {})))
        rest = layers_cfg[1:]
    else:
        shape = _input_shape_of(first.get("config", {}))
        if shape is None:
            build = model_config.get("build_config") or {}
            shape = build.get("input_shape")
        if shape is None:
            raise ModelLoadError(f"{origin}: the Sequential model has no input shape; build it (e.g. with "
                                 "keras.Input(shape=...)) before saving")
        input_layer = LayerCall("InputLayer", "input", {"batch_shape": list(shape), "name": "input"})
        rest = layers_cfg
    layers.append(input_layer)
    previous = input_layer.name
    for layer in rest:
        call = LayerCall(str(layer.get("class_name")), _layer_name(layer), dict(layer.get("config", {})),
                         [(previous, 0, 0)])
        layers.append(call)
        previous = call.name
    return Topology(name, layers, [(input_layer.name, 0, 0)], [(previous, 0, 0)])


def _refs(value: Any) -> list[TensorRef]:
    """All tensor references in a model's input_layers/output_layers entry (a dict, from a model built
    on a dict of inputs or outputs, in sorted key order: the order of Keras's `model.inputs`)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [(value[0], int(value[1]), int(value[2]))]
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value)]
    refs: list[TensorRef] = []
    for item in value or []:
        refs.extend(_refs(item))
    return refs


def _keras3_tensors(value: Any, out: list[TensorRef]) -> None:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = value["config"]["keras_history"]
            out.append((str(history[0]), int(history[1]), int(history[2])))
            return
        for item in value.values():
            _keras3_tensors(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _keras3_tensors(item, out)


def _call_inputs(node: Any) -> list[TensorRef]:
    """The tensors read by one entry of a layer's `inbound_nodes`."""
    if isinstance(node, dict):  # Keras 3
        refs: list[TensorRef] = []
        _keras3_tensors(node.get("args", []), refs)
        return refs
    refs = []
    for entry in node:  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
        if isinstance(entry, list) and entry and isinstance(entry[0], str):
            refs.append((entry[0], int(entry[1]), int(entry[2])))
    return refs


def _functional(config: dict[str, Any], origin: str) -> Topology:
    layers: list[LayerCall] = []
    for layer in config.get("layers", []):
        class_name = str(layer.get("class_name"))
        name = _layer_name(layer)
        nodes = layer.get("inbound_nodes") or []
        for call, node in enumerate(nodes or [[]]):
            inputs = _call_inputs(node) if nodes else []
            layers.append(LayerCall(class_name, name, dict(layer.get("config", {})), inputs, call))
    inputs = _refs(config.get("input_layers"))
    outputs = _refs(config.get("output_layers"))
    if not inputs or not outputs:
        raise ModelLoadError(f"{origin}: the Functional model config lists no input or output layers")
    return Topology(str(config.get("name", "model")), layers, inputs, outputs)


def _inline_nested(topology: Topology, origin: str) -> Topology:
    """The topology with every nested model's layers inlined (see the module docstring)."""
    if not any(layer.class_name in MODEL_CLASSES for layer in topology.layers):
        return topology
    alias: dict[TensorRef, TensorRef] = {}
    outputs_of: dict[str, list[TensorRef]] = {}
    layers: list[LayerCall] = []
    nested = dict(topology.nested)
    outer_names = {layer.name for layer in topology.layers if layer.class_name not in MODEL_CLASSES}
    for layer in topology.layers:
        if layer.class_name not in MODEL_CLASSES:
            layers.append(layer)
            continue
        if layer.call or layer.name in outputs_of:
            raise UnsupportedOpError(f"{origin}: nested model '{layer.name}' is called more than once; a nested "
                                     "model called once is supported (call a copy of it for each use)")
        sub = parse_topology({"class_name": layer.class_name, "config": layer.config}, origin)
        if len(sub.inputs) != len(layer.inputs):
            raise ModelLoadError(f"{origin}: nested model '{layer.name}' has {len(sub.inputs)} inputs but is called "
                                 f"on {len(layer.inputs)} tensors; the config is corrupt")
        for inner, outer in zip(sub.inputs, layer.inputs):
            alias[inner] = outer
        inputs = {ref[0] for ref in sub.inputs}
        for inner in sub.layers:
            if inner.name in inputs and inner.class_name == "InputLayer":
                continue
            if inner.name in outer_names:
                raise UnsupportedOpError(f"{origin}: layer '{inner.name}' of nested model '{layer.name}' has the "
                                         "name of another layer of the model; give the layers distinct names")
            outer_names.add(inner.name)
            nested.setdefault(inner.name, sub.nested.get(inner.name, layer.name))
            layers.append(inner)
        outputs_of[layer.name] = list(sub.outputs)

    def resolve(ref: TensorRef) -> TensorRef:
        seen = 0
        while True:
            if ref[0] in outputs_of:
                outs = outputs_of[ref[0]]
                if ref[2] >= len(outs):
                    raise ModelLoadError(f"{origin}: output {ref[2]} of nested model '{ref[0]}' does not exist; "
                                         "the config is corrupt")
                ref = outs[ref[2]]
            elif ref in alias:
                ref = alias[ref]
            else:
                return ref
            seen += 1
            if seen > 10000:
                raise ModelLoadError(f"{origin}: the nested models' tensors refer to each other in a cycle")

    for layer in layers:
        layer.inputs = [resolve(ref) for ref in layer.inputs]
    return Topology(topology.name, layers, [resolve(r) for r in topology.inputs],
                    [resolve(r) for r in topology.outputs], nested)
