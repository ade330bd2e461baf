"""Weight sharing by k-means per layer, codebook fine-tuning, and Deep Compression's size accounting.

Sharing (Han et al., Deep Compression): the nonzero weights of each Linear/Conv layer are clustered
into k = 2^bits values by 1-D k-means (scikit-learn, linear initialisation between min and max w, as
the paper found best); every weight is replaced by its centroid, zeros stay zero. Fine-tuning keeps
the cluster assignment and trains the k centroids: the gradient of a centroid is the sum of the
gradients of the weights sharing it (a `torch.nn.utils.parametrize` parametrization computes
weight = codebook[index] * mask, so autograd does exactly that sum).

Storage accounting per layer (bits):
  dense      = n_weights * 32                                   (float32)
  codebook   = k * 32
  indices    = Huffman-coded cluster index of every stored entry
  positions  = Huffman-coded gap to the previous stored entry in `pos_bits`-bit relative indexing;
               a gap larger than 2^pos_bits - 1 is bridged by filler entries (a stored zero), which
               also take an index symbol
  compressed = codebook + indices + positions;  ratio = dense / compressed.
`fixed_bits` is the same without Huffman coding (bits * entries + pos_bits * entries + codebook).
"""
from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Iterable

import numpy as np
import torch
from torch import nn
from torch.nn.utils import parametrize

from nn2hls.errors import ConfigError


# ---- k-means -------------------------------------------------------------------------------------------
def kmeans_codebook(values: np.ndarray, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(codebook sorted ascending, label per value) of 1-D k-means with linear initialisation.

    k is reduced to the number of distinct values when there are fewer."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    if k < 1:
        raise ConfigError(f"k-means needs k >= 1 clusters, got {k}")
    distinct = np.unique(v)
    if distinct.size <= k:
        return distinct, np.searchsorted(distinct, v).astype(np.int64)
    from sklearn.cluster import KMeans

    init = np.linspace(v.min(), v.max(), k).reshape(-1, 1)
    km = KMeans(n_clusters=k, init=init, n_init=1, random_state=seed, tol=0.0, max_iter=300).fit(v.reshape(-1, 1))
    centers = km.cluster_centers_.reshape(-1)
    order = np.argsort(centers)
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return centers[order], rank[km.labels_]


def snap_to_zero(values: np.ndarray, codebook: np.ndarray, labels: np.ndarray, *, max_iter: int = 50
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd iterations of 1-D k-means with one extra centre pinned at 0: a value nearer to 0 than to every
    centroid joins the zero cluster (label -1, it is pruned); the other centroids move to the mean of their
    members, and a centroid left without members is dropped. Returns (codebook sorted, labels)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    book = np.asarray(codebook, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.int64)
    for _ in range(max_iter):
        centres = np.concatenate([[0.0], book])
        new = np.argmin(np.abs(v[:, None] - centres[None, :]), axis=1) - 1
        kept = sorted(set(int(i) for i in new if i >= 0))
        remap = {old: k for k, old in enumerate(kept)}
        new = np.array([remap.get(int(i), -1) for i in new], dtype=np.int64)
        moved = np.array([v[new == k].mean() for k in range(len(kept))])
        order = np.argsort(moved, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        new = np.where(new >= 0, rank[np.maximum(new, 0)], -1)
        moved = moved[order]
        if moved.shape == book.shape and np.array_equal(new, lab) and np.allclose(moved, book, rtol=0, atol=0):
            break
        book, lab = moved, new
    return book, lab


# ---- Huffman -------------------------------------------------------------------------------------------
def huffman_lengths(counts: "dict[Hashable, int] | Counter") -> dict[Hashable, int]:
    """Code length in bits of each symbol of an optimal prefix code for the given counts.

    A single symbol gets 1 bit (a code needs at least one bit per symbol); zero counts are dropped."""
    items = [(c, s) for s, c in counts.items() if c > 0]
    if not items:
        return {}
    if len(items) == 1:
        return {items[0][1]: 1}
    tie = itertools.count()
    heap = [(c, next(tie), [s]) for c, s in items]
    heapq.heapify(heap)
    lengths = {s: 0 for _, s in items}
    while len(heap) > 1:
        c1, _, s1 = heapq.heappop(heap)
        c2, _, s2 = heapq.heappop(heap)
        for s in s1 + s2:
            lengths[s] += 1
        heapq.heappush(heap, (c1 + c2, next(tie), s1 + s2))
    return lengths


def huffman_bits(symbols: Iterable[Hashable]) -> int:
    """Total bits of a symbol stream Huffman-coded with its own frequencies (the table not counted)."""
    counts = Counter(symbols)
    lengths = huffman_lengths(counts)
    return int(sum(counts[s] * lengths[s] for s in counts))


# ---- storage accounting ------------------------------------------------------------------------------
@dataclass
class LayerStorage:
    name: str
    n_weights: int
    nonzero: int
    clusters: int
    entries: int           # stored entries, filler zeros included
    dense_bits: int
    codebook_bits: int
    index_bits: int
    position_bits: int
    fixed_bits: int

    @property
    def compressed_bits(self) -> int:
        return self.codebook_bits + self.index_bits + self.position_bits

    @property
    def ratio(self) -> float:
        return self.dense_bits / self.compressed_bits if self.compressed_bits else math.inf


def layer_storage(name: str, labels_dense: np.ndarray, k: int, *, pos_bits: int = 5,
                  float_bits: int = 32) -> LayerStorage:
    """Deep Compression's size of one layer; `labels_dense` holds the cluster index of every weight
    in row-major order and -1 for a pruned (zero) weight."""
    lab = np.asarray(labels_dense).reshape(-1)
    n = lab.size
    nz_pos = np.flatnonzero(lab >= 0)
    max_gap = 2 ** pos_bits - 1
    idx_symbols: list[int] = []
    gaps: list[int] = []
    prev = -1
    for p in nz_pos:
        gap = int(p - prev)
        while gap > max_gap:            # filler zero entries
            gaps.append(max_gap)
            idx_symbols.append(-1)
            gap -= max_gap
        gaps.append(gap)
        idx_symbols.append(int(lab[p]))
        prev = int(p)
    entries = len(idx_symbols)
    index_width = max(1, math.ceil(math.log2(k + (1 if -1 in idx_symbols else 0)))) if entries else 0
    return LayerStorage(name=name, n_weights=n, nonzero=int(nz_pos.size), clusters=k, entries=entries,
                        dense_bits=n * float_bits, codebook_bits=k * float_bits,
                        index_bits=huffman_bits(idx_symbols), position_bits=huffman_bits(gaps),
                        fixed_bits=entries * (index_width + pos_bits) + k * float_bits)


# ---- sharing a torch model -----------------------------------------------------------------------------
class _SharedWeight(nn.Module):
    """Parametrization weight = codebook[index] * mask (the original tensor is ignored)."""

    def __init__(self, codebook: torch.Tensor, index: torch.Tensor, mask: torch.Tensor) -> None:
        super().__init__()
        self.codebook = nn.Parameter(codebook)
        self.register_buffer("index", index)
        self.register_buffer("mask", mask)

    def forward(self, original: torch.Tensor) -> torch.Tensor:
        return self.codebook[self.index] * self.mask


@dataclass
class SharingResult:
    layers: dict[str, LayerStorage]
    codebooks: dict[str, np.ndarray]

    @property
    def dense_bits(self) -> int:
        return sum(s.dense_bits for s in self.layers.values())

    @property
    def compressed_bits(self) -> int:
        return sum(s.compressed_bits for s in self.layers.values())

    @property
    def ratio(self) -> float:
        return self.dense_bits / self.compressed_bits


def share_weights(model: nn.Module, bits: "int | dict[str, int]" = 4, *, pos_bits: int = 5,
                  trainable: bool = False, seed: int = 0, zero_cluster: bool = True) -> SharingResult:
    """Cluster each Linear/Conv layer's nonzero weights into 2^bits shared values, in place.

    Pruning masks are made permanent first; zeros stay zero. With `zero_cluster` (default) a nonzero
    weight nearer to 0 than to every centroid becomes zero too (`snap_to_zero`), so tiny weights do not
    grow to the smallest centroid and cost a multiply the unshared model would not have had after
    quantization. With `trainable=True` each layer keeps a parametrization
    whose codebook is an nn.Parameter (the only weight parameter left trainable): fine-tune with any
    loop (e.g. schedule.fit), then call `unshare(model)`. Returns per-layer storage and codebooks.
    """
    from nn2hls.compress.masks import finalize, prunable_layers

    finalize(model)
    result = SharingResult({}, {})
    for name, module in prunable_layers(model):
        b = bits if isinstance(bits, int) else bits.get(name)
        if b is None:
            continue
        if b < 1:
            raise ConfigError(f"weight sharing of layer '{name}' needs bits >= 1, got {b}")
        w = module.weight.detach().cpu().numpy().astype(np.float64)
        nz = w != 0
        codebook, labels = kmeans_codebook(w[nz], 2 ** b, seed=seed)
        if zero_cluster and codebook.size:
            codebook, labels = snap_to_zero(w[nz], codebook, labels)
        dense_labels = np.full(w.shape, -1, dtype=np.int64)
        dense_labels[nz] = labels
        nz = dense_labels >= 0
        result.layers[name] = layer_storage(name, dense_labels, max(len(codebook), 1), pos_bits=pos_bits)
        result.codebooks[name] = codebook
        index = torch.as_tensor(np.where(nz, dense_labels, 0))
        cb = torch.as_tensor(codebook if codebook.size else np.zeros(1), dtype=module.weight.dtype)
        mask = torch.as_tensor(nz, dtype=module.weight.dtype)
        if trainable:
            parametrize.register_parametrization(module, "weight", _SharedWeight(cb, index, mask))
            module.parametrizations.weight.original.requires_grad_(False)
        else:
            with torch.no_grad():
                module.weight.copy_(cb[index] * mask)
    return result


def unshare(model: nn.Module) -> dict[str, np.ndarray]:
    """Bake fine-tuned codebooks into plain weights; returns the final codebook per layer."""
    books = {}
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            books[name] = module.parametrizations.weight[0].codebook.detach().cpu().numpy().astype(np.float64)
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
            module.weight.requires_grad_(True)
    return books
