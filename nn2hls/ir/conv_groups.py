"""Grouped convolution layout: which input channel each stored Conv weight reads.

Rule (ONNX Conv `group`, Keras Conv `groups`, DepthwiseConv): a Conv with G groups, C input channels
and F filters stores its kernel as (*kernel_size, C/G, F). Filter o belongs to group
g = o // (F/G) and its weight kernel[k, c, o] multiplies input channel g * C/G + c. Depthwise is
G = C (one input channel per group, F = C * depth multiplier, filter o reads channel o // multiplier).

`expand_groups` writes the same convolution as an ordinary (groups = 1) kernel (*kernel_size, C, F)
whose weights outside a filter's group are 0; zeros cost nothing downstream (no product, no constant
entry), so the sparse kernels and the exact emulator product run a grouped Conv unchanged.
"""
from __future__ import annotations

import numpy as np


def filter_groups(groups: int, filters: int) -> np.ndarray:
    """group index of every filter o: o // (filters / groups)."""
    return np.arange(filters) // (filters // groups)


def input_channels(groups: int, kernel_shape: tuple[int, ...]) -> np.ndarray:
    """(C/G, F) int array: the input channel that kernel[..., c, o] reads."""
    per_group, filters = kernel_shape[-2], kernel_shape[-1]
    return filter_groups(groups, filters)[None, :] * per_group + np.arange(per_group)[:, None]


def expand_groups(kernel: np.ndarray, groups: int) -> np.ndarray:
    """(*k, C/G, F) grouped kernel -> the equivalent (*k, C, F) kernel with zeros across groups."""
    kernel = np.asarray(kernel)
    if groups == 1:
        return kernel
    per_group, filters = kernel.shape[-2:]
    full = np.zeros(kernel.shape[:-2] + (per_group * groups, filters), dtype=kernel.dtype)
    channels = input_channels(groups, kernel.shape)
    columns = np.broadcast_to(np.arange(filters)[None, :], channels.shape)
    full[..., channels, columns] = kernel
    return full


def group_slices(groups: int, in_channels: int, filters: int) -> list[tuple[slice, slice]]:
    """(input channel slice, filter slice) of each group, in group order."""
    cg, fg = in_channels // groups, filters // groups
    return [(slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)) for g in range(groups)]
