"""Keras frontend: a `.keras` archive, a legacy `.h5` file, an architecture `.json` with its weights
`.h5`, or a live `keras.Model` -> IR Graph.

Files are read with json + h5py only (no Keras, no TensorFlow; `keras_files`), the config is
normalized to one topology (`keras_config`), and each layer call is converted by its class's
converter (`keras_layers`) in dependency order. The IR is channels-last like Keras: the Input node has
the Keras input shape without the batch, Dense and Conv kernels are used as stored, and
channels_first layers read and write channels-last views joined by Transposes (`keras_build`), so the
graph outputs are in the Keras model's own layout. Every IR node keeps its Keras layer name as
`source_name`. Several inputs: the Input nodes are created first, in the model's `input_layers` order
(the model's input order). A layer called several times (shared, e.g. one Dense applied to two inputs)
becomes one IR node per call, each with the layer's weights (calls after the first are named
`<layer>_call<k>`). Nested models are inlined (`keras_config`); their layers' weights are looked up
by the inner layer's name. An InputLayer of an integer dtype is an integer Input (Embedding indices only).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nn2hls.errors import ModelLoadError, UnsupportedOpError
from nn2hls.frontends.keras_build import Builder, KTensor
from nn2hls.frontends.keras_config import LayerCall, Topology, parse_topology
from nn2hls.frontends.keras_files import (KerasModelSource, read_keras_file, read_keras_json,
                                          read_live_model)
from nn2hls.frontends.hgq import HGQ_CONVERTERS, declare_hgq_weights
from nn2hls.frontends.keras_layers import CONVERTERS as KERAS_CONVERTERS
from nn2hls.frontends.keras_qlayers import QKERAS_CONVERTERS
from nn2hls.frontends.keras_wrappers import WRAPPER_CONVERTERS
from nn2hls.ir.graph import Graph
from nn2hls.ir.lookup import check_integer_inputs
from nn2hls.ir.ops import Input
from nn2hls.ir.verify import verify

_ALIASES = {"Convolution1D", "Convolution2D", "SeparableConvolution1D", "SeparableConvolution2D", "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D",
            "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D"}
CONVERTERS = {**KERAS_CONVERTERS, **WRAPPER_CONVERTERS, **QKERAS_CONVERTERS, **HGQ_CONVERTERS}
SUPPORTED_LAYERS: tuple[str, ...] = ("InputLayer",) + tuple(k for k in CONVERTERS if k not in _ALIASES)


def is_keras_model(obj: Any) -> bool:
    """True for a live Keras 3 model (without importing Keras when it was never imported)."""
    import sys
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, getattr(keras, "Model", ()))


def load_keras(source: "str | Path | Any", weights: "str | Path | None" = None) -> Graph:
    """Load a Keras model (a `.keras` / `.h5` path, an architecture `.json` path with its weights file
    `weights` or `<stem>_weights.h5` beside it, or a live `keras.Model`) as an IR Graph."""
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() == ".json":
        model = read_keras_json(source, weights)
    elif weights is not None:
        raise ModelLoadError(f"a weights file ('{weights}') goes with a Keras architecture .json only; "
                             f"{'the live model' if not isinstance(source, (str, Path)) else repr(str(source))} "
                             "carries its own weights")
    elif isinstance(source, (str, Path)):
        model = read_keras_file(source)
    elif is_keras_model(source):
        model = read_live_model(source)
    else:
        raise ModelLoadError(f"load_keras expects a .keras/.h5 path or a keras.Model, got "
                             f"{type(source).__name__}")
    return build_graph(model)


def build_graph(model: KerasModelSource) -> Graph:
    """Convert a format-independent Keras model (config + weights) to an IR Graph."""
    topology = parse_topology(model.config, model.origin)
    weights = dict(model.weights)
    if model.unnamed_weights:
        weights.update(_match_unnamed(topology, model.unnamed_weights, set(weights)))
    weights.update(_nested_weights(topology, weights))
    graph = Graph(topology.name)
    builder = Builder(graph, weights, model.keras_major, model.origin)
    tensors: dict[tuple[str, int, int], KTensor] = {}
    pending = list(topology.layers)
    if len(topology.inputs) > 1:  # Input nodes in the model's input order, before any layer
        calls = {(layer.name, layer.call, 0): layer for layer in pending}
        for ref in topology.inputs:
            layer = calls.get(ref)
            if layer is None or layer.class_name != "InputLayer":
                raise ModelLoadError(f"{model.origin}: model input '{ref[0]}' is not an InputLayer; the config "
                                     "is corrupt")
            tensors[ref] = _input(builder, layer, model.origin)
        pending = [layer for layer in pending if (layer.name, layer.call, 0) not in tensors]
    while pending:
        remaining = []
        for layer in pending:
            if all(ref in tensors for ref in layer.inputs):
                tensors[(layer.name, layer.call, 0)] = _convert(
                    builder, layer, [tensors[r] for r in layer.inputs], topology, model.origin)
            else:
                remaining.append(layer)
        if len(remaining) == len(pending):
            missing = sorted({r[0] for layer in remaining for r in layer.inputs if r not in tensors})
            raise ModelLoadError(f"{model.origin}: layer '{remaining[0].name}' reads tensors of "
                                 f"{', '.join(missing)} that no layer produces; the config is corrupt")
        pending = remaining
    outputs = []
    for ref in topology.outputs:
        if ref not in tensors:
            raise ModelLoadError(f"{model.origin}: output layer '{ref[0]}' does not exist; the config is corrupt")
        outputs.append(builder.keras_view(tensors[ref], LayerCall("output", ref[0], {})))
    graph.outputs = outputs
    graph.meta.update(source="keras", keras_major=model.keras_major)
    if len(outputs) > 1:
        graph.meta["output_names"] = [ref[0] for ref in topology.outputs]
    declare_hgq_weights(builder)
    check_integer_inputs(graph, model.origin)
    verify(graph)
    return graph


def _convert(builder: Builder, layer: LayerCall, inputs: list[KTensor], topology: Topology,
             origin: str) -> KTensor:
    if layer.class_name == "InputLayer":
        if (layer.name, 0, 0) not in topology.inputs:
            raise UnsupportedOpError(f"{origin}: input '{layer.name}' is not listed among the model's inputs "
                                     f"({', '.join(ref[0] for ref in topology.inputs)}); save the model with "
                                     "every InputLayer as a model input")
        return _input(builder, layer, origin)
    converter = CONVERTERS.get(layer.class_name.split(">")[-1])  # "HGQ>FixedPointQuantizer": registered name
    if converter is None:
        raise UnsupportedOpError(f"layer '{layer.name}' of class {layer.class_name} is not supported; "
                                 f"supported layers: {', '.join(SUPPORTED_LAYERS)}")
    if not inputs:
        raise ModelLoadError(f"{origin}: layer '{layer.name}' ({layer.class_name}) has no inputs")
    return converter(builder, layer, inputs)


def _input(builder: Builder, layer: LayerCall, origin: str) -> KTensor:
    config = layer.config
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None and config.get("input_shape") is not None:
        shape = [None] + list(config["input_shape"])
    if shape is None:
        raise ModelLoadError(f"{origin}: input '{layer.name}' has no shape")
    dims = list(shape)[1:]
    if any(d is None for d in dims) or not dims:
        raise UnsupportedOpError(f"{origin}: input '{layer.name}' has shape {tuple(shape)} with unknown "
                                 "dimensions; give the model a fixed input shape (keras.Input(shape=...))")
    dtype = config.get("dtype")
    integer = isinstance(dtype, str) and dtype.startswith(("int", "uint"))  # Embedding indices
    node = builder.graph.add(Input(shape=tuple(int(d) for d in dims), integer=integer), [], name=layer.name,
                             source_name=layer.name)
    return KTensor(node.shape, keras=node.name)


def _snake(class_name: str) -> str:
    import re
    text = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", text).lower()


def _match_unnamed(topology: Topology, unnamed: dict, named: set[str]) -> dict:
    """Map `.keras` weight keys (snake_case class name + per-class counter) to layer names."""
    counts: dict[str, int] = {}
    result = {}
    for layer in topology.layers:
        if layer.call:  # a shared layer's later calls own no weights of their own
            continue
        base = _snake(layer.class_name)
        index = counts.get(base, 0)
        counts[base] = index + 1
        key = base if index == 0 else f"{base}_{index}"
        if key in unnamed and layer.name not in named:
            result[layer.name] = unnamed[key]
    return result


def _nested_weights(topology: Topology, weights: dict) -> dict:
    """Weights of inlined layers of nested models that a legacy .h5 (or a live model) stores under the
    nested model's name, each named `[model/]layer/weight`: picked by the layer-name path component."""
    found = {}
    for layer, model in topology.nested.items():
        if layer in weights:
            continue
        while model not in weights and model in topology.nested:  # the outermost nested model holds them
            model = topology.nested[model]
        mine = [(n, a) for n, a in weights.get(model, []) if layer in n.split("/")[:-1]]
        if mine:
            found[layer] = mine
    return found
