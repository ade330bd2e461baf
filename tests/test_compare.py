"""nn2hls.compare, the one home of output comparisons, on outputs whose metrics are counted by hand."""
from __future__ import annotations

import numpy as np

from nn2hls import compare


def test_classes_agreement_accuracy_and_errors_by_hand():
    fixed = np.array([[0.0, 2.0, 1.0], [3.0, 3.0, 0.0], [0.5, 0.0, 0.25], [0.0, 0.0, 1.0]])
    ref = np.array([[0.0, 1.5, 1.0], [2.0, 3.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    # argmax per row: fixed 1, 0 (first of the tie), 0, 2; reference 1, 1, 0, 2
    assert compare.predicted_classes(fixed).tolist() == [1, 0, 0, 2]
    assert compare.argmax_agreement(fixed, ref) == 0.75
    assert compare.label_accuracy(fixed, np.array([1, 1, 1, 2])) == 0.5
    # |fixed - ref| = 0.5, 1.0, 0.5, 0.25 and zeros: max 1.0, mean 2.25 / 12
    metrics = compare.reference_metrics([fixed], [ref.reshape(4, 1, 3)])  # reference shape differs: reshaped
    assert metrics == {"max_abs_err": 1.0, "mean_abs_err": 2.25 / 12, "argmax_agreement": 0.75}


def test_no_samples():
    empty = np.zeros((0, 3))
    assert compare.argmax_agreement(empty, empty) == 1.0
    assert compare.label_accuracy(empty, np.zeros(0)) == 1.0
    assert compare.reference_metrics(empty, empty) == {"max_abs_err": 0.0, "mean_abs_err": 0.0,
                                                       "argmax_agreement": 1.0}
