"""Quantization-aware training of weights: fixed point, ternary (+s, 0, -s) and binary (+s, -s).

`quantize_model(model, spec)` returns a copy of the model whose Linear/Conv1d/Conv2d layers compute with
quantized weights in the forward pass while the float "shadow" weights keep receiving gradients
(straight-through estimator). Two interchangeable implementations of the same quantizers:
  - Brevitas (when installed; `backend="brevitas"` or "auto"): `QuantLinear/QuantConv1d/QuantConv2d` with
    `Int8WeightPerTensorFixedPoint` (bit width set), `SignedTernaryWeightPerTensorConst` and
    `SignedBinaryWeightPerTensorConst` (constant per-layer scale); exportable as QONNX;
  - nn2hls's own STE layers (`backend="ste"`), always available, same forward maths.

The maths (s is a power of two, so a quantized product is a shift in hardware):
  fixed<W>: F = W - 1 - ceil(log2 max|w|);  q = clamp(round(w 2^F), -(2^(W-1)-1), 2^(W-1)-1) / 2^F
            (Brevitas re-derives F from max|w| at every step; the STE layer does the same).
  ap_fixed<W,I>: the same with F = W - I fixed (Brevitas: a constant scale 2^(I - W)); values beyond
            the range saturate to the symmetric limit +-(2^(W-1) - 1) 2^-F.
  ternary:  s = 2^round(log2 mean{|w| : |w| > 0.7 mean|w|}) fixed when the layer is made;
            q = s * clamp(round(w / s), -1, 1)   (zero when |w| <= s/2).
  binary:   s = 2^round(log2 mean|w|) fixed when the layer is made;  q = s * (+1 if w >= 0 else -1).
Biases and activations stay float (the compiler chooses their fixed-point types). `freeze(model)`
gives a plain torch model holding the quantized weights, exactly representable, for plain ONNX export.
"""
from __future__ import annotations

import importlib.util
import math
import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nn2hls.errors import ConfigError

KINDS = ("fixed", "ternary", "binary")


@dataclass(frozen=True)
class QuantSpec:
    """What to quantize weights to: kind "fixed" (width bits; `integer` bits fixed, or None to derive
    them per layer from max|w|), "ternary" or "binary"."""

    kind: str
    width: int = 8
    integer: int | None = None

    @classmethod
    def parse(cls, text: "str | QuantSpec") -> "QuantSpec":
        """"ternary", "binary", "fixed8" / "fixed<8>" / "fixed:8", or "ap_fixed<8,3>" / "fixed<8,3>" (8 bits,
        3 of them integer bits sign included, as Vivado HLS's ap_fixed<W,I>)."""
        if isinstance(text, QuantSpec):
            return text
        t = str(text).strip().lower().replace(" ", "")
        if t in ("ternary", "binary"):
            return cls(t)
        m = re.fullmatch(r"fixed[<:]?(\d+)>?", t)
        if m and 2 <= int(m.group(1)) <= 32:
            return cls("fixed", int(m.group(1)))
        m = re.fullmatch(r"(?:ap_)?fixed<(\d+),(-?\d+)>", t)
        if m and 2 <= int(m.group(1)) <= 32 and -32 <= int(m.group(2)) <= 32:
            return cls("fixed", int(m.group(1)), int(m.group(2)))
        raise ConfigError(f"quantization spec '{text}' is unknown; use 'ternary', 'binary', 'fixed<W>' or "
                          "'ap_fixed<W,I>' with 2 <= W <= 32")


def has_brevitas() -> bool:
    return importlib.util.find_spec("brevitas") is not None


def _pow2(value: float) -> float:
    return 2.0 ** round(math.log2(value)) if value > 0 else 1.0


def initial_scale(weight: torch.Tensor, kind: str) -> float:
    """The constant per-layer power-of-two scale of a ternary or binary layer (module docstring)."""
    a = weight.detach().abs().flatten().double()
    if kind == "binary":
        return _pow2(float(a.mean()))
    big = a[a > 0.7 * a.mean()]
    return _pow2(float(big.mean()) if big.numel() else float(a.mean()))


def quantize_tensor(w: torch.Tensor, spec: QuantSpec, scale: float | None = None) -> torch.Tensor:
    """The quantized values of w (no gradient rule; see `_ste`)."""
    if spec.kind == "fixed":
        if spec.integer is not None:
            frac = spec.width - spec.integer
        else:
            m = float(w.detach().abs().max())
            frac = spec.width - 1 - (math.ceil(math.log2(m)) if m > 0 else 0)
        lim = 2 ** (spec.width - 1) - 1
        return torch.clamp(torch.round(w * 2.0 ** frac), -lim, lim) / 2.0 ** frac
    if scale is None:
        raise ConfigError(f"a {spec.kind} quantizer needs its scale")
    if spec.kind == "ternary":
        return torch.clamp(torch.round(w / scale), -1, 1) * scale
    return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w)) * scale


def _ste(w: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Forward q, backward identity to w (straight-through estimator)."""
    return w + (q - w).detach()


class _STEMixin:
    spec: QuantSpec

    def _init_quant(self, spec: QuantSpec) -> None:
        self.spec = spec
        scale = initial_scale(self.weight, spec.kind) if spec.kind != "fixed" else 1.0
        self.register_buffer("weight_scale", torch.tensor(scale, dtype=torch.float64))

    def quantized_weight(self) -> torch.Tensor:
        q = quantize_tensor(self.weight.detach(), self.spec, float(self.weight_scale))
        return _ste(self.weight, q)


class STELinear(_STEMixin, nn.Linear):
    """nn.Linear computing with quantized weights (own straight-through quantizer)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight(), self.bias)


class STEConv1d(_STEMixin, nn.Conv1d):
    """nn.Conv1d computing with quantized weights (own straight-through quantizer)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.quantized_weight(), self.bias)


class STEConv2d(_STEMixin, nn.Conv2d):
    """nn.Conv2d computing with quantized weights (own straight-through quantizer)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.quantized_weight(), self.bias)


def _brevitas_layer(layer: nn.Module, spec: QuantSpec) -> nn.Module:
    import brevitas.nn as qnn
    from brevitas.quant import (Int8WeightPerTensorFixedPoint, SignedBinaryWeightPerTensorConst,
                                SignedTernaryWeightPerTensorConst)

    if spec.kind == "fixed":
        kw = dict(weight_quant=Int8WeightPerTensorFixedPoint, weight_bit_width=spec.width)
        if spec.integer is not None:  # constant scale 2^(I - W): threshold 2^(I - 1) over 2^(W - 1) levels
            kw.update(weight_scaling_impl_type="const", weight_scaling_const=2.0 ** (spec.integer - 1))
    else:
        quant = SignedTernaryWeightPerTensorConst if spec.kind == "ternary" else SignedBinaryWeightPerTensorConst
        kw = dict(weight_quant=quant, weight_scaling_const=initial_scale(layer.weight, spec.kind))
    bias = layer.bias is not None
    if isinstance(layer, nn.Linear):
        new = qnn.QuantLinear(layer.in_features, layer.out_features, bias=bias, **kw)
    elif isinstance(layer, nn.Conv1d):
        new = qnn.QuantConv1d(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                              padding=layer.padding, dilation=layer.dilation, groups=layer.groups, bias=bias, **kw)
    else:
        new = qnn.QuantConv2d(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                              padding=layer.padding, dilation=layer.dilation, groups=layer.groups, bias=bias, **kw)
    return new


def _ste_layer(layer: nn.Module, spec: QuantSpec) -> nn.Module:
    if isinstance(layer, nn.Linear):
        new = STELinear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    else:
        cls = STEConv1d if isinstance(layer, nn.Conv1d) else STEConv2d
        new = cls(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                  padding=layer.padding, dilation=layer.dilation, groups=layer.groups, bias=layer.bias is not None)
    return new


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


LAYER_SETS = ("all", "hidden", "all_but_last", "all_but_first")


def _targets(model: nn.Module, layers: str) -> tuple[list[tuple[str, nn.Module]], list[tuple[str, nn.Module]]]:
    """(layers quantized with the spec, the others) in module order."""
    found = [(n, m) for n, m in model.named_modules() if type(m) in (nn.Linear, nn.Conv1d, nn.Conv2d)]
    if not found:
        raise ConfigError(f"model {type(model).__name__} has no Linear/Conv1d/Conv2d layer to quantize")
    if layers not in LAYER_SETS:
        raise ConfigError(f"layers='{layers}' is unknown; use one of {', '.join(LAYER_SETS)}")
    first = layers in ("all", "all_but_last")
    last = layers in ("all", "all_but_first")
    picked = [(i, nm) for i, nm in enumerate(found)
              if (0 < i < len(found) - 1) or (i == 0 and first) or (i == len(found) - 1 and last)]
    keep = {i for i, _ in picked}
    return [nm for _, nm in picked], [nm for i, nm in enumerate(found) if i not in keep]


def quantize_model(model: nn.Module, spec: "str | QuantSpec", *, backend: str = "auto",
                   layers: str = "all", edge: "str | QuantSpec | None" = None,
                   per_layer: "dict[str, str | QuantSpec | None] | None" = None) -> nn.Module:
    """A copy of `model` with its Linear/Conv1d/Conv2d layers replaced by quantized ones (weights copied).

    backend: "auto" (Brevitas when installed, else "ste"), "brevitas" or "ste". layers: "all",
    "hidden" (all but the first and the last layer), "all_but_last" or "all_but_first"; the layers left
    out are quantized with `edge` (e.g. "fixed8": the common practice of keeping the input and output
    layers at higher precision) or stay float when `edge` is None. `per_layer` maps layer names (as
    `model.named_modules()` gives them) to their own spec, or None to keep that layer float: mixed
    precision per layer, winning over `spec`, `layers` and `edge`. Train the result with any loop
    (e.g. schedule.fit). Pruning masks (`nn2hls.compress.masks`) are carried onto the quantized layers,
    so pruned weights stay exactly zero through QAT (a zero quantizes to zero for fixed and ternary).
    Raises ConfigError for an unknown spec/backend/layer set, and for binary weights on a pruned layer
    (binary has no zero).
    """
    spec = QuantSpec.parse(spec)
    edge_spec = QuantSpec.parse(edge) if edge is not None else None
    if backend == "auto":
        backend = "brevitas" if has_brevitas() else "ste"
    if backend not in ("brevitas", "ste"):
        raise ConfigError(f"QAT backend '{backend}' is unknown; use 'auto', 'brevitas' or 'ste'")
    if backend == "brevitas" and not has_brevitas():
        raise ConfigError("QAT backend 'brevitas' needs Brevitas: pip install brevitas (or use backend='ste')")
    from nn2hls.compress import masks

    model = masks.copy_model(model)
    inner, outer = _targets(model, layers)
    jobs = [(n, m, spec) for n, m in inner] + ([(n, m, edge_spec) for n, m in outer] if edge_spec else [])
    if per_layer:
        known = {n: m for n, m in inner + outer}
        unknown = sorted(set(per_layer) - set(known))
        if unknown:
            raise ConfigError(f"per_layer names unknown layer(s) {', '.join(unknown)}; quantizable layers: "
                              f"{', '.join(known)}")
        jobs = [(n, m, s) for n, m, s in jobs if n not in per_layer]
        jobs += [(n, known[n], QuantSpec.parse(s)) for n, s in per_layer.items() if s is not None]
    for name, layer, lspec in jobs:
        mask = masks.mask_of(layer)
        if lspec.kind == "binary" and mask is not None and not bool(mask.all()):
            raise ConfigError(f"layer '{name}' is pruned ({100 * float((mask == 0).float().mean()):.1f}% zeros) "
                              "but binary weights are +-s and cannot be zero; use 'ternary' or 'fixed<W>' for "
                              "pruned layers (e.g. layers='hidden' with edge='fixed8')")
        new = _brevitas_layer(layer, lspec) if backend == "brevitas" else _ste_layer(layer, lspec)
        with torch.no_grad():
            new.weight.copy_(masks.effective_weight(layer))
            if layer.bias is not None:
                new.bias.copy_(layer.bias)
        if backend == "ste":
            new._init_quant(lspec)
        if mask is not None:
            masks.apply_mask(new, mask)  # pruning survives QAT: masked weights stay zero while training
        _set(model, name, new)
    return model


def quantized_weight(layer: nn.Module) -> torch.Tensor | None:
    """The weights a quantized layer computes with (Brevitas or STE), None for a plain layer."""
    if isinstance(layer, _STEMixin):
        return layer.quantized_weight().detach()
    if hasattr(layer, "quant_weight") and callable(layer.quant_weight):
        return layer.quant_weight().value.detach()
    return None


def freeze(model: nn.Module) -> nn.Module:
    """A plain torch copy of a QAT model: every quantized layer becomes nn.Linear/nn.Conv1d/nn.Conv2d holding
    its quantized weights (exact multiples of a power of two, so a float32 ONNX carries them exactly)."""
    from nn2hls.compress.masks import copy_model, finalize

    model = finalize(copy_model(model)).eval()
    swaps = []
    for name, layer in model.named_modules():
        q = quantized_weight(layer)
        if q is None:
            continue
        if isinstance(layer, nn.Linear):
            plain = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
        else:
            cls = nn.Conv1d if isinstance(layer, nn.Conv1d) else nn.Conv2d
            plain = cls(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                        padding=layer.padding, dilation=layer.dilation, groups=layer.groups,
                        bias=layer.bias is not None)
        with torch.no_grad():
            plain.weight.copy_(q)
            if layer.bias is not None:
                plain.bias.copy_(layer.bias.detach())
        swaps.append((name, plain))
    for name, plain in swaps:
        _set(model, name, plain)
    return model
