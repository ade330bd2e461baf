"""k-means codebooks, Huffman code lengths and Deep Compression's storage accounting on known cases."""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.compress.sharing import huffman_bits, huffman_lengths, kmeans_codebook, layer_storage


def test_huffman_lengths_known_case():
    # classic example: counts 45,13,12,16,9,5 -> lengths 1,3,3,3,4,4 ; total 224 bits
    counts = {"a": 45, "b": 13, "c": 12, "d": 16, "e": 9, "f": 5}
    lengths = huffman_lengths(counts)
    assert lengths == {"a": 1, "b": 3, "c": 3, "d": 3, "e": 4, "f": 4}
    assert huffman_bits("a" * 45 + "b" * 13 + "c" * 12 + "d" * 16 + "e" * 9 + "f" * 5) == 224
    assert huffman_lengths({"x": 7}) == {"x": 1} and huffman_bits("xxx") == 3
    assert huffman_bits([]) == 0
    # Kraft equality for a full binary code
    assert sum(2.0 ** -n for n in lengths.values()) == 1.0


def test_kmeans_codebook_on_obvious_clusters():
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    v = np.array([-1.0, -1.1, -0.9, 0.5, 0.45, 0.55, 2.0, 2.2, 1.8])
    book, labels = kmeans_codebook(v, 3)
    np.testing.assert_allclose(book, [-1.0, 0.5, 2.0], atol=1e-12)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # fewer distinct values than clusters: the values themselves
    book, labels = kmeans_codebook(np.array([3.0, 1.0, 3.0]), 4)
    assert book.tolist() == [1.0, 3.0] and labels.tolist() == [1, 0, 1]


def test_layer_storage_hand_computed():
    # 1 x 40 weights, stored entries at positions 0, 1, 2 and 39; pos_bits 3 -> max gap 7
    labels = np.full(40, -1)
    labels[[0, 1, 2, 39]] = [0, 1, 1, 1]
    s = layer_storage("fc", labels, 2, pos_bits=3)
    # gaps: 1, 1, 1, then 37 = 7*5 fillers + 2  -> 9 entries
    assert s.entries == 9 and s.nonzero == 4
    # index symbols: 0 x1, 1 x3, filler x5 -> Huffman lengths filler 1, '1' 2, '0' 2 -> 5 + 6 + 2 = 13
    assert s.index_bits == 13
    # gap symbols: 1 x3, 7 x5, 2 x1 -> lengths 7:1, 1:2, 2:2 -> 5 + 6 + 2 = 13
    assert s.position_bits == 13
    assert s.codebook_bits == 64 and s.dense_bits == 40 * 32
    assert s.compressed_bits == 13 + 13 + 64
    assert s.ratio == pytest.approx(1280 / 90)
    # without Huffman: 9 entries * (2-bit index incl. filler symbol + 3-bit gap) + codebook
    assert s.fixed_bits == 9 * (2 + 3) + 64


def test_share_weights_replaces_by_centroids_and_keeps_zeros():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from torch import nn

    from nn2hls.compress import masks
    from nn2hls.compress.schedule import fit
    from nn2hls.compress.sharing import share_weights, unshare

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    masks.prune_fraction(net, 0.5)
    zeros = [(m.weight == 0).clone() for _, m in masks.prunable_layers(net)]
    res = share_weights(net, bits=2)
    for (_, m), z in zip(masks.prunable_layers(net), zeros):
        w = m.weight.detach()
        assert torch.all(w[z] == 0)
        assert len(torch.unique(w[~z])) <= 4
    assert set(res.layers) == {"0", "2"} and res.ratio > 1
    # fine-tuning moves only the centroids: still <= 4 distinct nonzero values, zeros kept
    net2 = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    net2.load_state_dict({k: v for k, v in net.state_dict().items()})
    share_weights(net2, bits=2, trainable=True)
    before = net2[0].parametrizations.weight[0].codebook.detach().clone()
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    fit(net2, x, y, epochs=3, lr=0.05)
    books = unshare(net2)
    assert not torch.equal(before, torch.as_tensor(books["0"], dtype=before.dtype))
    w = net2[0].weight.detach()
    assert torch.all(w[zeros[0]] == 0) and len(torch.unique(w[~zeros[0]])) <= 4
    assert set(torch.unique(w[~zeros[0]]).tolist()) <= set(torch.as_tensor(books["0"]).float().tolist())


def test_tiny_weights_join_a_zero_cluster_instead_of_the_smallest_centroid():
    from nn2hls.compress.sharing import snap_to_zero

    v = np.array([0.001, 0.3, 0.35, 0.9, 1.0])
    book, labels = kmeans_codebook(v, 2)
    assert book[0] == pytest.approx((0.001 + 0.3 + 0.35) / 3)  # plain k-means lifts 0.001 to 0.217
    book, labels = snap_to_zero(v, book, labels)
    np.testing.assert_allclose(book, [0.325, 0.95])
    assert labels.tolist() == [-1, 0, 0, 1, 1]


def test_share_weights_zero_cluster_prunes_tiny_weights():
    torch = pytest.importorskip("torch")
    from torch import nn

    from nn2hls.compress.sharing import share_weights

    net = nn.Linear(5, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.001, 0.3, 0.35, 0.9, 1.0]]))
    res = share_weights(net, bits=1)
    assert net.weight.detach().numpy().tolist()[0] == pytest.approx([0.0, 0.325, 0.325, 0.95, 0.95])
    assert res.layers[""].nonzero == 4
    net2 = nn.Linear(5, 1, bias=False)
    with torch.no_grad():
        net2.weight.copy_(torch.tensor([[0.001, 0.3, 0.35, 0.9, 1.0]]))
    share_weights(net2, bits=1, zero_cluster=False)
    assert float(net2.weight[0, 0]) == pytest.approx((0.001 + 0.3 + 0.35) / 3)
