"""HGQ2 (Keras 3) quantized layers in the Keras frontend: the declared fixed-point types, exactly.

An HGQ2 layer (`hgq.layers`) carries fixed-point quantizers as sub-layers, each with a config
(`QuantizerConfig`: q_type "kif" or "kbi", round_mode, overflow_mode) and per-element bit widths stored
as weights: KIF `k` (sign, uint8), `i` (integer bits without the sign), `f` (fractional bits); KBI `k`,
`b` (bits without the sign), `i`, with f = b - i. The stored floats are rounded half to even. Rules
(HGQ2 `FixedPointQuantizerBase.call`, `quantizers.fixed_point` `FixedPointQuantizer`, inference):

- x -> RND(SAT(x)) for SAT / SAT_SYM, SAT(RND(x)) for WRAP, where i is first raised to -f, RND is at
  2^-f (TRN floor, RND floor(v + 1/2), RND_CONV half to even, ...; S_ stochastic modes round as their
  plain mode at inference) and SAT is the ap_fixed overflow of k + i + f bits with k + i integer bits
  (signed when k): exactly the assignment to ap_fixed<k + i + f, k + i, AP_<RND>, AP_<SAT>>
  (`hgq.py` builds those casts, per channel). An element with k + i + f <= 0 is 0.
- A weight quantizer (config is_weight, trainable) with overflow WRAP only rounds at 2^-f (KBI: in
  round mode RND only); every other quantizer applies the full rule.
  Both are applied here, at compile time, in float32 like HGQ2; the Dense then gets the weights' exact
  types, so a weight with zero bits is 0 and costs nothing.
- QDense, QConv1D, QConv2D: iq (when enable_iq) -> the Keras layer with q(kernel), q(bias) ->
  activation -> oq (when enable_oq). Quantizer: the layer's own quantizer. Bit widths that vary along
  positions as well as channels (HGQ2's default for convolution inputs) are applied to the flattened
  tensor, its every element a channel (`hgq.quantize_channels`), then reshaped back. Other HGQ2 layers, scalers, affine maps, float quantizers and
  WRAP_SM are refused with the reason.
- Weights by name: a Keras 3 legacy `.h5` names them `<layer>/<layer>_<role>/fixed_point_quantizer_*/<var>`;
  a `.keras` archive numbers them (`keras_files`: `hgq2:<role>/<i>`), trainable weights first then the
  others, each in creation order (KBI: k, b, i; KIF: k, i, f; then i_decay_speed for WRAP), where b or
  f is trainable and i is unless the overflow is WRAP (none when the quantizer is not trainable).
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends import keras_layers as kl
from nn2hls.frontends.hgq import ROUNDING, quantize_channels
from nn2hls.frontends.keras_build import Builder, KTensor
from nn2hls.frontends.keras_config import LayerCall
from nn2hls.ir import ops
from nn2hls.ir.annotations import WeightQuantizer

_F32 = np.float32
_ROLES = ("iq", "kq", "bq", "oq")
OVERFLOW = ("WRAP", "SAT", "SAT_SYM")


def _refuse(layer: LayerCall, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"layer '{layer.name}' ({layer.class_name}): {what}")


def is_hgq2_layer(layer: LayerCall) -> bool:
    return any(f"{r}_conf" in layer.config for r in _ROLES) or "enable_iq" in layer.config


def _conf(layer: LayerCall, value) -> dict:
    if isinstance(value, dict) and "config" in value and "class_name" in value:
        value = value["config"]
    if not isinstance(value, dict):
        raise _refuse(layer, f"quantizer config {value!r} is not a serialized QuantizerConfig")
    return value


def _modes(layer: LayerCall, conf: dict) -> tuple[str, str, str]:
    q_type = str(conf.get("q_type", "")).lower()
    if q_type not in ("kif", "kbi"):
        raise _refuse(layer, f"quantizer type {q_type!r} is not supported; only fixed-point 'kif' and 'kbi'")
    for key in ("scaler", "affine"):
        if conf.get(key) is not None:
            raise _refuse(layer, f"a quantizer with {key}={conf[key]!r} is not supported")
    rnd = str(conf.get("round_mode", "RND")).upper()
    rnd = rnd[2:] if rnd.startswith("S_") else rnd
    sat = str(conf.get("overflow_mode", "WRAP")).upper()
    if sat == "SYM":
        sat = "SAT_SYM"
    if rnd not in ROUNDING or sat not in OVERFLOW:
        raise _refuse(layer, f"round_mode {rnd} / overflow_mode {sat} is not supported; round one of "
                             f"{', '.join(ROUNDING)}, overflow one of {', '.join(OVERFLOW)}")
    return q_type, rnd, sat


def _var_order(q_type: str, sat: str, trainable: bool) -> list[str]:
    created = ["k", "b", "i"] if q_type == "kbi" else ["k", "i", "f"]
    if sat == "WRAP":
        created.append("i_decay_speed")
    learned = {"b", "f"} | ({"i"} if sat != "WRAP" else set())
    if not trainable:
        learned = set()
    return [v for v in created if v in learned] + [v for v in created if v not in learned]


def _split(layer: LayerCall, stored: list[tuple[str, np.ndarray]]) -> tuple[dict, dict[str, list]]:
    """(the layer's own weights by position or name, {role: [(var or index, array)]})."""
    own: dict = {}
    roles: dict[str, list] = {}
    for position, (name, array) in enumerate(stored):
        if name.startswith("hgq2:"):
            role, index = name[5:].rsplit("/", 1)
            roles.setdefault(role, []).append((int(index), array))
            continue
        parts = name.split("/")
        if len(parts) >= 3 and parts[-2].startswith("fixed_point_quantizer"):
            role = parts[-3]
            role = "" if role == layer.name else role[len(layer.name) + 1:] if role.startswith(layer.name + "_") \
                else role
            roles.setdefault(role, []).append((parts[-1].split(":")[0], array))
        elif parts[-2:-1] and parts[-2].startswith(("float_point_quantizer", "float_quantizer")):
            raise _refuse(layer, "floating-point quantizers are not supported")
        else:
            own[parts[-1].split(":")[0] if len(parts) > 1 or not name.isdigit() else int(name)] = array
    return own, roles


def _kif(layer: LayerCall, role: str, conf: dict, entries: list) -> tuple[str, str, np.ndarray, np.ndarray,
                                                                         np.ndarray]:
    """(rnd, sat, k, i, f) of one quantizer from its stored weights."""
    q_type, rnd, sat = _modes(layer, conf)
    if entries and isinstance(entries[0][0], int):
        order = _var_order(q_type, sat, bool(conf.get("trainable", True)))
        named = {order[i]: a for i, a in entries if i < len(order)}
    else:
        named = dict(entries)
    need = ("k", "b", "i") if q_type == "kbi" else ("k", "i", "f")
    missing = [v for v in need if v not in named]
    if missing:
        raise _refuse(layer, f"quantizer {role or 'quantizer'}: stored weights {', '.join(missing)} not found")
    k = np.asarray(named["k"], dtype=np.float64)
    i = np.round(np.asarray(named["i"], dtype=np.float64))
    if q_type == "kbi":
        f = np.round(np.asarray(named["b"], dtype=np.float64)) - i
    else:
        f = np.round(np.asarray(named["f"], dtype=np.float64))
    return rnd, sat, k, i, f


def _round(v: np.ndarray, rnd: str) -> np.ndarray:
    if rnd == "TRN":
        return np.floor(v)
    if rnd == "RND":
        return np.floor(v + _F32(0.5))
    if rnd == "RND_CONV":
        return np.round(v)
    if rnd == "TRN_ZERO":
        return np.sign(v) * np.floor(np.abs(v))
    if rnd == "RND_ZERO":
        return -np.floor(-np.abs(v) + _F32(0.5)) * np.sign(v)
    if rnd == "RND_MIN_INF":
        return -np.floor(-v + _F32(0.5))
    return np.floor(np.abs(v) + _F32(0.5)) * np.sign(v)  # RND_INF


def quantize_weight(x: np.ndarray, rnd: str, sat: str, k, i, f, weight_rnd_only: bool) -> np.ndarray:
    """HGQ2's quantizer on a stored weight tensor, float32 as HGQ2 computes it."""
    x = np.asarray(x, dtype=_F32)
    k, i, f = (np.broadcast_to(np.asarray(a, dtype=_F32), x.shape) for a in (k, i, f))
    scale = np.power(_F32(2), f)
    if weight_rnd_only:
        return (_round(x * scale, rnd) / scale).astype(np.float64)
    zero = (k + i + f) <= 0
    i = np.maximum(i, -f)
    hi = np.power(_F32(2), i)
    if sat == "WRAP":
        q = _round(x * scale, rnd) / scale
        bias = k * np.power(_F32(2), i + k - 1)
        q = np.mod(q + bias, np.power(_F32(2), i + k)) - bias
    else:
        eps = np.power(_F32(2), -f)
        low = -(hi - eps) * k if sat == "SAT_SYM" else -hi * k
        q = _round(np.clip(x, low, hi - eps) * scale, rnd) / scale
    return np.where(zero, _F32(0), q).astype(np.float64)


def _round_only(q_type: str, conf: dict, rnd: str, sat: str) -> bool:
    return (bool(conf.get("is_weight")) and bool(conf.get("trainable", True)) and sat == "WRAP"
            and (q_type == "kif" or rnd == "RND"))


def _quantized(layer: LayerCall, role: str, conf: dict, entries: list, values: np.ndarray) -> np.ndarray:
    rnd, sat, k, i, f = _kif(layer, role, conf, entries)
    q_type = str(conf.get("q_type", "")).lower()
    return quantize_weight(values, rnd, sat, k, i, f, _round_only(q_type, conf, rnd, sat))


def _activation_quantizer(b: Builder, layer: LayerCall, t: KTensor, role: str, conf: dict, entries: list
                          ) -> KTensor:
    rnd, sat, k, i, f = _kif(layer, role, conf, entries)
    i = np.maximum(i, -f)
    bits = np.where(k + i + f > 0, k + i + f, 0)
    kbi = {"keep_negative": k, "bits": bits, "integers": k + i}
    try:
        full = {key: np.broadcast_to(a, (1,) + tuple(t.shape))[0] for key, a in kbi.items()}
    except ValueError:
        raise _refuse(layer, f"quantizer {role or 'quantizer'}: bit widths of shape {k.shape} do not broadcast to "
                             f"the input {t.shape}") from None
    per_channel = all(np.all(a.reshape(-1, t.shape[-1] if t.shape else 1) == a.reshape(-1, t.shape[-1] if t.shape
                                                                                       else 1)[:1])
                      for a in full.values())
    if per_channel or len(t.shape) <= 1:
        return quantize_channels(b, layer, t, kbi, rnd, sat, suffix=role)
    # types varying along positions too: the flat tensor's elements are its channels
    size = int(np.prod(t.shape))
    flat = KTensor((size,), keras=b.add(ops.Reshape(shape=(size,)), [b.keras_view(t, layer)], layer,
                                        suffix=f"{role}_flat" if role else "flat"))
    out = quantize_channels(b, layer, flat, {key: a.reshape(1, size) for key, a in full.items()}, rnd, sat,
                            suffix=role)
    node = b.add(ops.Reshape(shape=tuple(t.shape)), [b.keras_view(out, layer)], layer,
                 suffix=f"{role}_unflat" if role else "unflat")
    return KTensor(t.shape, keras=node)


def quantizer_layer(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    """HGQ2's standalone Quantizer layer."""
    (t,) = inputs
    _, roles = _split(layer, b.weights.get(layer.name, []))
    conf = _conf(layer, layer.config.get("config"))
    return _activation_quantizer(b, layer, t, "", conf, roles.get("", []))


def qdense(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    return _weighted(b, layer, inputs, "Dense", kl.dense)


def qconv(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    return _weighted(b, layer, inputs, layer.class_name[1:], kl.conv)


def _weighted(b: Builder, layer: LayerCall, inputs: list[KTensor], keras_class: str, base) -> KTensor:
    (t,) = inputs
    own, roles = _split(layer, b.weights.get(layer.name, []))
    cfg = layer.config
    if cfg.get("enable_iq", True):
        t = _activation_quantizer(b, layer, t, "iq", _conf(layer, cfg.get("iq_conf")), roles.get("iq", []))
    kernel = own.get("kernel", own.get(0))
    bias = own.get("bias", own.get(1)) if cfg.get("use_bias", True) else None
    if kernel is None:
        raise _refuse(layer, "the kernel is not among the stored weights")
    weights = [("kernel", _quantized(layer, "kq", _conf(layer, cfg.get("kq_conf")), roles.get("kq", []), kernel))]
    if bias is not None:
        weights.append(("bias", _quantized(layer, "bq", _conf(layer, cfg.get("bq_conf")), roles.get("bq", []), bias)))
    b.weights[layer.name] = weights
    plain = LayerCall(keras_class, layer.name, {**cfg, "activation": "linear"}, layer.inputs)
    before = set(b.graph.nodes)
    out = base(b, plain, [t])
    for name in b.graph.nodes:  # weights on their quantized grid, acted on by exact_weight_types (as QKeras)
        node = b.graph.nodes[name]
        if name not in before and isinstance(node.op, (ops.Dense, ops.Conv)):
            node.annotations.weight_quantizer = WeightQuantizer("qkeras", quantized_bias=True)
    act = kl.activation_name(cfg.get("activation"))
    if act != "linear":
        out = kl.apply_activation(b, layer, out, act, suffix="act")
    if cfg.get("enable_oq"):
        out = _activation_quantizer(b, layer, out, "oq", _conf(layer, cfg.get("oq_conf")), roles.get("oq", []))
    return out
