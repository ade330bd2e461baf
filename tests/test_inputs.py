"""Sample files and batches (nn2hls.inputs): formats recognized by content, one validator everywhere.

Error texts are checked as written; the same bad batch gives the same message from compile, the
emulator, the float executor and the C simulation's input check (all use `validate_batch`).
"""
from __future__ import annotations

import numpy as np
import pytest

from nn2hls.errors import InputDataError
from nn2hls.inputs import load_named_samples, load_samples, validate_batch, validate_feed
from nn2hls.ir.feeds import InputSpec


def test_npy_and_single_array_npz(tmp_path):
    x = np.arange(6.0).reshape(3, 2)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", samples=x)
    np.testing.assert_array_equal(load_samples(tmp_path / "x.npy"), x)
    np.testing.assert_array_equal(load_samples(tmp_path / "x.npz"), x)


def test_csv_names_the_file_and_the_accepted_formats(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("1,2\n3,4\n")
    with pytest.raises(InputDataError) as info:
        load_samples(csv)
    assert str(info.value).startswith(f"input file '{csv}' is a '.csv' file; nn2hls reads samples from .npy "
                                      "(np.save) or .npz (np.savez, one array)")
    assert "allow_pickle" not in str(info.value)


def test_text_named_npy_and_pickle(tmp_path):
    text = tmp_path / "t.npy"
    text.write_text("0.5 0.25\n")
    with pytest.raises(InputDataError, match=r"t.npy' is not a numpy file; nn2hls reads samples from \.npy"):
        load_samples(text)
    pickled = tmp_path / "p.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputDataError, match=r"p.npy' is a damaged \.npy file|has dtype object"):
        load_samples(pickled)


def test_npz_with_several_arrays_and_missing_file(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 2)), b=np.ones((2, 2)))
    with pytest.raises(InputDataError, match=r"two.npz' holds 2 arrays \(a, b\); give one array"):
        load_samples(tmp_path / "two.npz")
    with pytest.raises(InputDataError, match=r"calibration file '.*nope.npy' does not exist"):
        load_samples(tmp_path / "nope.npy", "calibration")


def test_validate_batch_messages():
    with pytest.raises(InputDataError, match=r"^input has shape \(3, 15\); model 'm' expects \(N, 16\) in the "
                                             r"model's own layout$"):
        validate_batch(np.zeros((3, 15)), (16,), owner="model 'm'")
    with pytest.raises(InputDataError, match=r"add a batch axis: x\[None\]"):
        validate_batch(np.zeros(16), (16,))
    with pytest.raises(InputDataError, match="has no samples"):
        validate_batch(np.zeros((0, 16)), (16,))
    assert validate_batch(np.zeros((0, 16)), (16,), allow_empty=True).shape == (0, 16)
    with pytest.raises(InputDataError, match="NaN or infinity"):
        validate_batch(np.array([[np.inf, 0.0]]), (2,))
    with pytest.raises(InputDataError, match="dtype <U1, not numbers"):
        validate_batch(np.array([["a", "b"]]), (2,))
    out = validate_batch(np.asfortranarray(np.ones((2, 3), dtype=np.float32)), (3,))
    assert out.dtype == np.float64 and out.flags.c_contiguous


def test_one_message_from_every_consumer():
    from nn2hls.emulate import emulate
    from nn2hls.ir import ops
    from nn2hls.ir.execute import execute
    from nn2hls.ir.graph import Graph
    from nn2hls.passes.pipeline import run_passes

    g = Graph("m")
    x = g.add(ops.Input(shape=(4,)), name="x").name
    g.outputs = [g.add(ops.Dense(), [x], name="d", weights={"kernel": np.eye(4), "bias": np.zeros(4)}).name]
    typed = run_passes(g, calibration=np.ones((2, 4)))
    bad = np.zeros((2, 5))
    for run in (lambda: execute(g, bad), lambda: emulate(typed, bad), lambda: run_passes(g, calibration=bad)):
        with pytest.raises(InputDataError, match=r"has shape \(2, 5\); .* expects \(N, 4\) in the model's own "
                                                 r"layout"):
            run()


def test_validate_feed_of_two_inputs(tmp_path):
    """One feed validator: input order or names, each batch checked and named, the same N for all."""
    specs = [InputSpec("a", "a", (2,)), InputSpec("b", "b", (3,))]
    a, b = np.ones((4, 2), dtype=np.float32), np.zeros((4, 3))
    for feed in ((a, b), {"b": b, "a": a}):
        out = validate_feed(specs, feed)
        assert [o.shape for o in out] == [(4, 2), (4, 3)] and out[0].dtype == np.float64
    with pytest.raises(InputDataError, match=r"^input 'b' has shape \(4, 2\); the model expects \(N, 3\)"):
        validate_feed(specs, (a, a))
    with pytest.raises(InputDataError, match=r"^x\.npy has shape \(4, 2\); project 'p' expects \(N, 3\)"):
        validate_feed(specs, (a, a), owner=["project 'p'"] * 2, labels=["a.npy", "x.npy"])
    with pytest.raises(InputDataError, match=r"^input: the inputs have different numbers of samples \('a' 4, "
                                             r"'b' 1\); give the same samples N for every input$"):
        validate_feed(specs, (a, b[:1]))
    np.savez(tmp_path / "ab.npz", a=a, b=np.array([["x", "y", "z"]] * 4))
    with pytest.raises(InputDataError, match=r"array 'b' has dtype <U1; give numbers"):
        load_named_samples(tmp_path / "ab.npz")
