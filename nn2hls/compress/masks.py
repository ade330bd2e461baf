"""Pruning masks for PyTorch models that survive copying, pickling and plain state dicts.

Rule: every prunable layer (`nn.Linear`, `nn.Conv1d/2d`; weights only, biases are never pruned) keeps
its ordinary `weight` Parameter and gains a `weight_mask` buffer (1 keeps, 0 prunes) plus a forward
pre-hook and a state-dict pre-hook (`_ZeroMasked`) that zero the masked entries of `weight` in place.
A pruned weight therefore is exactly zero in every forward pass and in every saved state, whatever an
optimizer did to it in between (SGD momentum, Adam's moments, AdamW's decay), and masks only shrink: a
new mask is multiplied into the old one. So that `layer.weight` read between steps shows the zeros too,
one global optimizer step post-hook (`torch.optim.optimizer.register_optimizer_step_post_hook`,
installed when this module is imported) re-zeroes the masked layers whose weight the optimizer updated.

Why not `torch.nn.utils.prune`: it replaces `weight` by a non-leaf tensor recomputed from
`weight_orig * weight_mask`, so `copy.deepcopy` refuses the model and its state dict has keys a plain
model does not. Here the mask buffer is non-persistent: `state_dict()` has exactly the plain model's
keys (pruned weights saved as zeros), a plain `load_state_dict` into a masked model re-derives each
mask from the loaded zeros (`_ZeroMasked` as load-state-dict pre-hook), and `copy.deepcopy` and
`torch.save(model)` keep masks and hooks (the hook is a module-level class, so it pickles).

Magnitude rules: `threshold_for_fraction` reads a threshold from the distribution of the still-nonzero
|w| (its quantile), per layer or over all layers at once ("global"); `prune_below` zeroes every |w|
below a threshold. `finalize` removes masks and hooks (plain weights containing the zeros) for export.

Scope and multiplies: a Dense weight is used once per sample, a Conv tap once per output position whose
window puts it inside the input (`reuse_counts`). "global" magnitude pruning compares raw |w| across
layers, so it removes mostly the small, numerous Dense weights and the multiply count falls more slowly
than the weight count; "layer" prunes the same fraction of every layer, so the multiply-weighted
sparsity (`multiply_sparsity`: zeros counted once per multiply they save) follows the weight sparsity.
"""
from __future__ import annotations

import copy
import weakref
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from nn2hls.errors import ConfigError

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)
MASK = "weight_mask"


_MASKED_LAYERS: "weakref.WeakSet[nn.Module]" = weakref.WeakSet()


def _zero(module: nn.Module) -> None:
    # Only write when an optimizer step moved a masked weight: an in-place write bumps the tensor's
    # version, which would break a backward pass through an earlier forward of the same step.
    with torch.no_grad():
        mask = getattr(module, MASK)
        if bool((module.weight * (1 - mask)).any()):
            module.weight.mul_(mask)


def _after_optimizer_step(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
    updated = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for module in list(_MASKED_LAYERS):
        if id(module.weight) in updated and isinstance(getattr(module, MASK, None), torch.Tensor):
            _zero(module)


register_optimizer_step_post_hook(_after_optimizer_step)


class _ZeroMasked:
    """Forward pre-hook and state-dict pre-hook: zero the masked entries of `module.weight` in place.

    As load-state-dict pre-hook it re-derives the mask from the incoming weight's zeros (a plain state
    dict carries pruning as zeros)."""

    def __call__(self, module: nn.Module, *args: Any) -> None:
        _MASKED_LAYERS.add(module)  # copies and unpickled models join at their first forward pass
        _zero(module)

    def load(self, module: nn.Module, state_dict: dict, prefix: str, *args: Any) -> None:
        weight = state_dict.get(prefix + "weight")
        if weight is not None and tuple(weight.shape) == tuple(module.weight.shape):
            getattr(module, MASK).copy_((weight != 0).to(module.weight.dtype))


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of every layer whose weight can be pruned, in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, PRUNABLE)]


def _layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    layers = prunable_layers(model)
    if not layers:
        raise ConfigError(f"model {type(model).__name__} has no Linear/Conv layer to prune")
    return layers


def is_pruned(module: nn.Module) -> bool:
    """True when the module carries an nn2hls pruning mask on its weight."""
    return isinstance(getattr(module, MASK, None), torch.Tensor) and any(
        isinstance(h, _ZeroMasked) for h in module._forward_pre_hooks.values())


def _install(module: nn.Module) -> None:
    hook = _ZeroMasked()
    module.register_buffer(MASK, torch.ones_like(module.weight.detach()), persistent=False)
    module.register_forward_pre_hook(hook)
    module.register_state_dict_pre_hook(hook)
    module.register_load_state_dict_pre_hook(hook.load)
    _MASKED_LAYERS.add(module)


def install_masks(model: nn.Module) -> None:
    """Give every prunable layer a mask (idempotent); already-zero weights start masked, so a pruned
    model saved as a plain state dict and reloaded keeps its pruning."""
    for _, module in _layers(model):
        if not is_pruned(module):
            _install(module)
            getattr(module, MASK).copy_((module.weight.detach() != 0).to(module.weight.dtype))


def effective_weight(module: nn.Module) -> torch.Tensor:
    """The weight the layer computes with (masked when pruned), detached."""
    if is_pruned(module):
        return (module.weight * getattr(module, MASK)).detach()
    return module.weight.detach()


def apply_mask(module: nn.Module, mask: torch.Tensor) -> None:
    """Combine `mask` (1 keeps, 0 prunes; same shape as the weight) with the layer's current mask."""
    if not is_pruned(module):
        _install(module)
    current = getattr(module, MASK)
    current.mul_(mask.to(current.dtype))
    with torch.no_grad():
        module.weight.mul_(current)


def mask_of(module: nn.Module) -> torch.Tensor | None:
    """A copy of the layer's mask (1 keeps, 0 prunes), None when it is not pruned."""
    return getattr(module, MASK).detach().clone() if is_pruned(module) else None


def threshold_for_fraction(model: nn.Module, fraction: float, scope: str = "layer") -> dict[str, float]:
    """Per layer, the |w| threshold below which `fraction` of its still-nonzero weights lie.

    scope "layer": each layer's own quantile; "global": one quantile over all layers' nonzero |w|.
    """
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"pruning fraction {fraction} must be in [0, 1)")
    layers = _layers(model)
    alive = {name: effective_weight(m).abs().flatten() for name, m in layers}
    alive = {name: w[w > 0] for name, w in alive.items()}
    if scope == "global":
        pool = torch.cat([w for w in alive.values()])
        thr = float(torch.quantile(pool.double(), fraction)) if pool.numel() and fraction > 0 else 0.0
        return {name: thr for name in alive}
    if scope != "layer":
        raise ConfigError(f"pruning scope '{scope}' is unknown; use 'layer' or 'global'")
    return {name: (float(torch.quantile(w.double(), fraction)) if w.numel() and fraction > 0 else 0.0)
            for name, w in alive.items()}


def prune_below(model: nn.Module, thresholds: float | dict[str, float]) -> None:
    """Zero (mask) every weight with |w| <= threshold (a float for all layers, or name -> float).

    A threshold of 0 only keeps already-zero weights masked."""
    for name, module in _layers(model):
        thr = thresholds if isinstance(thresholds, (int, float)) else thresholds.get(name, 0.0)
        w = effective_weight(module)
        apply_mask(module, (w.abs() > thr) & (w != 0))


def prune_fraction(model: nn.Module, fraction: float, scope: str = "layer") -> None:
    """Prune `fraction` of the remaining nonzero weights (the smallest in magnitude)."""
    prune_below(model, threshold_for_fraction(model, fraction, scope))


def layer_sparsity(model: nn.Module) -> dict[str, float]:
    """Fraction of exactly-zero effective weights per prunable layer."""
    out = {}
    for name, module in _layers(model):
        w = effective_weight(module)
        out[name] = float((w == 0).sum()) / w.numel()
    return out


def sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero effective weights over all prunable layers (weights only)."""
    zeros = total = 0
    for _, module in _layers(model):
        w = effective_weight(module)
        zeros += int((w == 0).sum())
        total += w.numel()
    return zeros / total


def copy_model(model: nn.Module) -> nn.Module:
    """A deep copy of a (possibly pruned) model, masks included (`copy.deepcopy` works as well)."""
    new = copy.deepcopy(model)
    for _, module in prunable_layers(new):
        if is_pruned(module):
            _MASKED_LAYERS.add(module)
    return new


def _remove_hooks(module: nn.Module) -> None:
    for hooks in (module._forward_pre_hooks, module._state_dict_pre_hooks):
        for key in [k for k, h in hooks.items() if isinstance(h, _ZeroMasked)]:
            del hooks[key]
    loaders = module._load_state_dict_pre_hooks
    for key in [k for k, h in loaders.items() if isinstance(getattr(h, "hook", h), _ZeroMasked)
                or isinstance(getattr(getattr(h, "hook", h), "__self__", None), _ZeroMasked)]:
        del loaders[key]


def finalize(model: nn.Module) -> nn.Module:
    """Make the masks permanent in place: plain `weight` parameters holding the zeros, no mask buffer
    and no hooks left. Returns model."""
    for _, module in prunable_layers(model):
        if is_pruned(module):
            with torch.no_grad():
                module.weight.mul_(getattr(module, MASK))
            _remove_hooks(module)
            del module._buffers[MASK]
    return model


def masked_parameters(model: nn.Module) -> Iterator[torch.Tensor]:
    """The effective weights (differentiable) of every prunable layer, e.g. for a penalty."""
    for _, module in prunable_layers(model):
        yield module.weight * getattr(module, MASK) if is_pruned(module) else module.weight


def reuse_counts(model: nn.Module, example_input: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per prunable layer, a tensor shaped like its weight: the multiplies each weight takes part in for
    one sample of `example_input`'s shape (Dense: 1 per input row; Conv: the output positions whose
    window puts that tap inside the input, zero padding excluded)."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=name: shapes.__setitem__(name, tuple(args[0].shape)))
             for name, m in _layers(model)]
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(example_input[:1])
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    out = {}
    for name, m in _layers(model):
        if name not in shapes:
            raise ConfigError(f"layer '{name}' is not used by the forward pass; cannot count its multiplies")
        shape = shapes[name]
        w = effective_weight(m)
        if isinstance(m, nn.Linear):
            rows = int(torch.tensor(shape[1:-1]).prod()) if len(shape) > 2 else 1
            out[name] = torch.full_like(w, float(rows))
            continue
        conv1d = isinstance(m, nn.Conv1d)
        spatial = (1,) + shape[2:] if conv1d else shape[2:]
        cin = m.in_channels // m.groups
        k = (1,) + tuple(m.kernel_size) if conv1d else tuple(m.kernel_size)
        pad = (0,) + tuple(m.padding) if conv1d else tuple(m.padding)
        stride = (1,) + tuple(m.stride) if conv1d else tuple(m.stride)
        dil = (1,) + tuple(m.dilation) if conv1d else tuple(m.dilation)
        if isinstance(m.padding, str):
            raise ConfigError(f"layer '{name}': padding='{m.padding}' is not supported by reuse_counts; "
                              "give explicit padding")
        cols = F.unfold(torch.ones(1, cin, *spatial, dtype=torch.float64), k, dilation=dil, padding=pad, stride=stride)
        per_tap = cols.sum(-1).reshape(cin, *k)
        if conv1d:
            per_tap = per_tap.reshape(cin, k[1])
        out[name] = per_tap.unsqueeze(0).expand_as(w).to(w.dtype).clone()
    return out


def auto_scope(reuse: dict[str, torch.Tensor]) -> str:
    """The pruning scope that makes multiplies fall with the weights: "global" when every weight is used
    equally often (then multiplies = nonzero weights times one constant whatever the scope, and one
    global threshold keeps the most important weights), else "layer" (module docstring)."""
    values = torch.cat([r.flatten() for r in reuse.values()]) if reuse else torch.zeros(0)
    return "global" if values.numel() == 0 or bool((values == values[0]).all()) else "layer"


def effective_sparsity(model: nn.Module, weight_width: int = 16) -> float:
    """Fraction of the prunable layers' weights that are zero once quantized to the compiler's automatic
    weight type of that width (`nn2hls.passes.assign_precision.auto_weight_type`: per layer, the fewest
    integer bits holding max|w|, round to nearest): pruned weights plus those too small for the type's
    LSB, i.e. what the compiled design will not multiply by. Measured on the weights as they are in
    torch (a following BatchNorm folded by the compiler can change a layer's scale)."""
    from nn2hls.ir import fixed
    from nn2hls.passes.assign_precision import auto_weight_type

    zeros = total = 0
    for _, module in _layers(model):
        w = effective_weight(module).double().cpu().numpy()
        raw = fixed.quantize(w, auto_weight_type(w, weight_width))
        zeros += int((raw == 0).sum())
        total += w.size
    return zeros / total


def multiply_sparsity(model: nn.Module, reuse: dict[str, torch.Tensor]) -> float:
    """Fraction of the dense model's multiplies that the zero weights remove: sum(reuse * [w == 0]) /
    sum(reuse) over all prunable layers (`reuse` from `reuse_counts`)."""
    saved = total = 0.0
    for name, module in _layers(model):
        w = effective_weight(module)
        r = reuse[name].to(torch.float64)
        saved += float((r * (w == 0)).sum())
        total += float(r.sum())
    return saved / total if total else 0.0
