"""Keras layers that are other layers in disguise, flattened into the IR graph.

Registered by `nn2hls.frontends.keras` beside the plain layers of `keras_layers` (whose converters
TimeDistributed reuses for the wrapped layer).
- TimeDistributed(layer) on an input (T, *rest) applies `layer` to every x[t]:
  TimeDistributed(Dense) is the Dense itself (a Dense already acts on the last axis of each step,
  exactly); any other wrapped layer (Conv1D, Conv2D, pooling, ...) becomes T copies of it, one per time
  step: Slice x[t] -> the layer -> Reshape (1, *out), then a Concat over the T steps (io_parallel
  computes the T steps in parallel, so T copies is what the hardware is). Copy t is named
  `<wrapper>_t<t>`; every copy uses the wrapper's stored weights.
- EinsumDense(equation, bias_axes) in the forms a Dense computes: `P c, c d -> P d` (P: the batch and
  any other leading subscripts, or `...`; the kernel also as `d c`, transposed), bias_axes empty or `d`:
  y = x @ kernel + bias over the last axis, then its `activation`. Any other equation is refused in one
  line naming the layer and the equation.
"""
from __future__ import annotations

import re

from nn2hls.frontends.keras_build import Builder, KTensor, refuse
from nn2hls.frontends.keras_config import LayerCall
from nn2hls.frontends.keras_layers import CONVERTERS as LAYER_CONVERTERS
from nn2hls.frontends.keras_layers import activation_name, apply_activation
from nn2hls.ir import ops


def time_distributed(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    wrapped = layer.config.get("layer") or {}
    class_name = str(wrapped.get("class_name", ""))
    config = dict(wrapped.get("config", {}))
    convert = LAYER_CONVERTERS.get(class_name)
    if convert is None or class_name in ("Add", "Subtract", "Multiply", "Maximum", "Minimum", "Average", "Dot",
                                         "Concatenate"):
        raise refuse(layer, f"wrapping {class_name or 'an unknown layer'} is not supported; supported: Dense, "
                             "Conv1D, Conv2D and other single-input layers")
    if t.rank < 2:
        raise refuse(layer, f"needs an input (time, ...) of rank >= 2, got shape {t.shape}")
    if class_name == "Dense":
        return convert(b, LayerCall(class_name, layer.name, config, layer.inputs, layer.call), [t])
    steps, rest = t.shape[0], t.shape[1:]
    source = b.keras_view(t, layer)
    stored = b.weights.get(layer.name, [])
    parts, out_shape = [], None
    for step in range(steps):
        picked = b.add(ops.Slice(starts=(step,) + (0,) * len(rest), steps=(1,) * t.rank, sizes=(1,) + rest),
                       [source], layer, suffix=f"t{step}_in")
        picked = b.add(ops.Reshape(shape=rest), [picked], layer, suffix=f"t{step}_step")
        name = f"{layer.name}_t{step}"
        b.weights[name] = stored
        copy = LayerCall(class_name, name, config, layer.inputs, layer.call)
        out = convert(b, copy, [KTensor(rest, keras=picked)])
        out_shape = out.shape
        parts.append(b.add(ops.Reshape(shape=(1,) + out.shape), [b.keras_view(out, copy)], layer,
                           suffix=f"t{step}_out"))
    node = b.add(ops.Concat(axis=0), parts, layer) if len(parts) > 1 else parts[0]
    return KTensor((steps,) + tuple(out_shape), keras=node)


_EQUATION = re.compile(r"^([a-z.]+),([a-z]{2})->([a-z.]+)$")


def einsum_dense(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    equation = str(layer.config.get("equation", "")).replace(" ", "")
    bias_axes = layer.config.get("bias_axes") or ""
    supported = ("supported: the forms a Dense computes, '...c,cd->...d' (e.g. 'ab,bc->ac', 'abc,cd->abd'), "
                 "with bias_axes empty or the output letter")
    m = _EQUATION.match(equation)
    ok = m is not None
    if ok:
        x_sub, k_sub, out = m.groups()
        prefix, c = x_sub[:-1], x_sub[-1:]
        d = k_sub.replace(c, "", 1) if c in k_sub else ""
        ok = (len(d) == 1 and d != c and d not in prefix and out == prefix + d
              and ("." not in prefix or prefix == "...") and len(set(prefix.replace(".", ""))) == len(prefix.replace(".", ""))
              and bias_axes in ("", d)
              and (prefix == "..." or len(prefix) == t.rank))  # prefix: batch + the leading axes
    if not ok:
        raise refuse(layer, f"equation '{equation}' with bias_axes '{bias_axes}' is not supported; {supported}")
    names = ["kernel", "bias"] if bias_axes else ["kernel"]
    weights = b.layer_weights(layer, names)
    kernel = weights["kernel"]
    if k_sub != c + d:
        kernel = kernel.T
    if kernel.ndim != 2 or kernel.shape[0] != t.shape[-1]:
        raise refuse(layer, f"kernel of shape {weights['kernel'].shape} does not match an input of {t.shape[-1]} "
                             f"features for equation '{equation}'")
    dense_weights = {"kernel": kernel}
    if bias_axes:
        dense_weights["bias"] = weights["bias"].reshape(-1)
    node = b.add(ops.Dense(), [b.keras_view(t, layer)], layer, weights=dense_weights)
    out_t = KTensor(b.shape_of(node), keras=node)
    return apply_activation(b, layer, out_t, activation_name(layer.config.get("activation")))


WRAPPER_CONVERTERS = {"TimeDistributed": time_distributed, "EinsumDense": einsum_dense}
