"""HGQ proxy models in the Keras frontend: FixedPointQuantizer layers as exact fixed-point casts.

HGQ (High Granularity Quantization) exports a "proxy" Keras model: plain Keras layers whose weights
already lie on their fixed-point grids, separated by `FixedPointQuantizer` layers. A quantizer stores
per-element int8 arrays `keep_negative` (k), `bits` (b) and `integers` (i, the sign bit counted),
broadcast against the tensor with a leading batch axis, and the modes `RND` and `SAT`. Its
definition (HGQ `gfixed_quantizer`) is, per element, f = b - i, q = SAT(RND(x * 2^f)) / 2^f, and 0
where b = 0, with SAT's integer range [-2^(b-1) k, 2^(b-k) - 1]: exactly the assignment to
ap_fixed<b, i, RND, SAT> (ap_ufixed when k = 0). RND: TRN, RND, RND_CONV, TRN_ZERO, RND_ZERO,
RND_MIN_INF, RND_INF (AP_ names); SAT: WRAP, SAT, SAT_SYM, SAT_ZERO (WRAP_SM is refused: its
reflection differs from AP_WRAP_SM).

Rules:
- One type for every element: one IR `Quant` with that dtype (`rounding_mode` "DTYPE": the float
  executor applies the dtype's own cast, `nn2hls.ir.fixed.quantize`).
- Types varying along the last axis only (other axes broadcast): channels are grouped by their type;
  a pre-cast to the widest type with AP_TRN and one more fractional bit (floor to a finer grid, then
  TRN or RND to the channel's grid, is the direct TRN/RND; wider overflow ranges compose), then per
  group a selecting Dense (0/1 kernel), the group's cast, a Concat, and a Dense putting every channel
  back in place (zero-bit channels get a zero column: they cost nothing). Other rounding modes with
  varying fractional bits, and types varying along other axes, are refused.
- The other layers are the Keras layers; their weights (already quantized) get their exact types
  (`declare_hgq_weights` marks them, the exact_weight_types pass acts), so a zero weight costs nothing and the layer types come from the quantizers.
"""
from __future__ import annotations

import numpy as np

from nn2hls.errors import UnsupportedOpError
from nn2hls.frontends.keras_build import Builder, KTensor
from nn2hls.frontends.keras_config import LayerCall
from nn2hls.ir import ops
from nn2hls.ir.annotations import Role, WeightQuantizer
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType

ROUNDING = ("TRN", "RND", "RND_CONV", "TRN_ZERO", "RND_ZERO", "RND_MIN_INF", "RND_INF")
OVERFLOW = ("WRAP", "SAT", "SAT_SYM", "SAT_ZERO")


def _refuse(layer: LayerCall, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"layer '{layer.name}' ({layer.class_name}): {what}")


def _type(k: int, b: int, i: int, rnd: str, sat: str) -> FixedType:
    return FixedType.fixed(b, i, bool(k), "AP_" + rnd, "AP_" + sat)


def _cast(b: Builder, layer: LayerCall, source: str, t: FixedType, suffix: str) -> str:
    op = ops.Quant(dtype=str(t), scale=2.0 ** -t.frac, zero_point=0.0, bit_width=t.width, signed=t.signed,
                   narrow=False, rounding_mode="DTYPE")
    return b.add(op, [source], layer, suffix=suffix)


def _per_channel(layer: LayerCall, arrays: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """(C, 3) array of (k, b, i) per last-axis channel; refuses types varying along other axes."""
    stacked = []
    for key in ("keep_negative", "bits", "integers"):
        a = np.asarray(arrays[key])
        try:
            full = np.broadcast_to(a, (1,) + tuple(shape))[0]
        except ValueError:
            raise _refuse(layer, f"{key} of shape {a.shape} does not broadcast to the input {shape}") from None
        flat = full.reshape(-1, shape[-1]) if shape else full.reshape(1, 1)
        if not np.all(flat == flat[:1]):
            raise _refuse(layer, f"{key} varies along axes other than the last; only per-channel (last axis) "
                                 "bit widths are supported")
        stacked.append(flat[0].astype(np.int64))
    return np.stack(stacked, axis=1)


def fixed_point_quantizer(b: Builder, layer: LayerCall, inputs: list[KTensor]) -> KTensor:
    (t,) = inputs
    rnd, sat = str(layer.config.get("RND", "TRN")).upper(), str(layer.config.get("SAT", "WRAP")).upper()
    if rnd not in ROUNDING or sat not in OVERFLOW:
        raise _refuse(layer, f"RND={rnd} SAT={sat} is not supported; RND one of {', '.join(ROUNDING)}, SAT one of "
                             f"{', '.join(OVERFLOW)}")
    stored = b.weights.get(layer.name, [])
    arrays = {n.split("/")[-1].split(":")[0]: a for n, a in stored}
    if set(arrays) != {"keep_negative", "bits", "integers"}:
        raise _refuse(layer, "expected stored weights keep_negative, bits, integers; found "
                             f"{', '.join(arrays) or 'none'}")
    b.hgq_quantizers = True
    return quantize_channels(b, layer, t, arrays, rnd, sat)


def quantize_channels(b: Builder, layer: LayerCall, t: KTensor, arrays: dict[str, np.ndarray], rnd: str, sat: str,
                      suffix: str = "") -> KTensor:
    """`t` through the per-element types keep_negative / bits / integers (broadcast against (1,) + shape)."""
    kbi = _per_channel(layer, arrays, t.shape)
    source = b.keras_view(t, layer)
    kinds = {tuple(r) for r in kbi.tolist() if r[1] > 0}
    if len(kinds) == 1 and all(r[1] > 0 for r in kbi.tolist()):
        k, bits, i = kinds.pop()
        node = _cast(b, layer, source, _type(k, bits, i, rnd, sat), suffix)
        return KTensor(t.shape, keras=node)
    return _heterogeneous(b, layer, t, source, kbi, rnd, sat, suffix + "_" if suffix else "")


def _heterogeneous(b: Builder, layer: LayerCall, t: KTensor, source: str, kbi: np.ndarray, rnd: str,
                   sat: str, prefix: str = "") -> KTensor:
    channels = kbi.shape[0]
    live = [c for c in range(channels) if kbi[c, 1] > 0]
    fracs = {int(kbi[c, 1] - kbi[c, 2]) for c in live}
    if len(fracs) > 1 and rnd not in ("TRN", "RND"):
        raise _refuse(layer, f"per-channel fractional bits with RND={rnd} are not supported exactly; only TRN "
                             "and RND")
    if live:
        k_max = int(kbi[live, 0].max())
        i_max = int((kbi[live, 2] - kbi[live, 0]).max()) + k_max
        f_max = max(fracs) + 1
        pre = _cast(b, layer, source, FixedType.fixed(i_max + f_max, i_max, bool(k_max), "AP_TRN", "AP_" + sat),
                    prefix + "pre")
    groups: dict[tuple[int, int, int], list[int]] = {}
    for c in live:
        groups.setdefault(tuple(int(v) for v in kbi[c]), []).append(c)
    parts, order = [], []
    for g, (key, members) in enumerate(sorted(groups.items())):
        select = np.zeros((channels, len(members)))
        select[members, range(len(members))] = 1.0
        picked = b.add(ops.Dense(), [pre], layer, suffix=f"{prefix}select{g}", weights={"kernel": select})
        _exact_wiring(b.graph, picked)
        parts.append(_cast(b, layer, picked, _type(*key, rnd, sat), f"{prefix}q{g}"))
        order.extend(members)
    if not parts:
        zero = b.add(ops.Dense(), [source], layer, suffix=prefix + "zero", weights={"kernel": np.zeros((channels, channels))})
        _exact_wiring(b.graph, zero)
        return KTensor(t.shape, keras=zero)
    joined = parts[0] if len(parts) == 1 else b.add(ops.Concat(axis=len(t.shape) - 1), parts, layer, suffix=prefix + "join")
    place = np.zeros((len(order), channels))
    place[range(len(order)), order] = 1.0
    node = b.add(ops.Dense(), [joined], layer, suffix=prefix + "place", weights={"kernel": place})
    _exact_wiring(b.graph, node)
    return KTensor(t.shape, keras=node)


def _exact_wiring(graph: Graph, name: str) -> None:
    node = graph.nodes[name]
    node.annotations.forced_precision = {Role.WEIGHT: FixedType.fixed(2, 2)}
    node.annotations.exact_result = True
    node.annotations.keep_separate = "it routes channels of an HGQ per-channel quantizer (0/1 weights)"


def declare_hgq_weights(b: Builder) -> None:
    """In an HGQ proxy model, mark every Dense/Conv (but the channel routing ones) as holding weights on
    their quantized grid (`annotations.weight_quantizer`, source 'hgq'; exact_weight_types acts)."""
    if not b.hgq_quantizers:
        return
    for node in b.graph.nodes.values():
        ann = node.annotations
        if isinstance(node.op, (ops.Dense, ops.Conv)) and not ann.forced_precision and ann.weight_quantizer is None:
            ann.weight_quantizer = WeightQuantizer("hgq")


HGQ_CONVERTERS = {"FixedPointQuantizer": fixed_point_quantizer}
