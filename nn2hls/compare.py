"""How two sets of model outputs are compared (one definition for check, the testing helpers and the passes).

Outputs are a list of arrays, one per model output, each batch first (a single array is one output).
- `first_mismatch(expected, actual)`: the first element that differs, described in one line, or None
  when both sets are identical (NaN equals NaN). Equality of float64 outputs that decode fixed-point raw
  integers is equality of bits.
- `mismatching_samples(expected, actual)`: per sample, whether any element of any output differs.
- `predicted_classes(outputs)`: per sample, the position of the largest element of the first output,
  flattened per sample (the class decision of a classifier; the first position on ties).
- `argmax_agreement(a, b)`: the fraction of samples whose predicted classes are the same in both sets;
  `label_accuracy(outputs, labels)`: the fraction equal to the labels (class indices); 1.0 for no
  samples.
- `abs_errors(a, b)`: |a - b| over every element of every output, b reshaped to a's shapes (a float
  reference may carry the same values in another shape, e.g. without a squeezed axis);
  `max_abs_error` its maximum (0.0 when empty).
- `reference_metrics(outputs, reference)`: `max_abs_err`, `mean_abs_err` and `argmax_agreement` of
  outputs against a float reference (what `nn2hls check` and `nn2hls explore` report).
"""
from __future__ import annotations

from typing import Any

import numpy as np


def as_output_list(outputs: Any) -> list[np.ndarray]:
    """A model's outputs as a list of arrays (one array is a single output)."""
    return [np.asarray(o) for o in outputs] if isinstance(outputs, (list, tuple)) else [np.asarray(outputs)]


def first_mismatch(expected: Any, actual: Any) -> str | None:
    """Description of the first differing value between two output sets, or None when identical."""
    exp, act = as_output_list(expected), as_output_list(actual)
    if len(exp) != len(act):
        return f"{len(exp)} outputs expected, got {len(act)}"
    for k, (e, a) in enumerate(zip(exp, act)):
        if e.shape != a.shape:
            return f"output {k}: shape {a.shape} differs from the expected {e.shape}"
        diff = ~((e == a) | (np.isnan(e) & np.isnan(a)))
        if diff.any():
            flat = diff.reshape(diff.shape[0], -1)
            sample = int(np.argmax(flat.any(axis=1)))
            index = int(np.argmax(flat[sample]))
            n_bad = int(flat.any(axis=1).sum())
            return (f"sample {sample}, output {k}, element {index}: C-sim {float(a.reshape(a.shape[0], -1)[sample, index])!r}"
                    f" != emulator {float(e.reshape(e.shape[0], -1)[sample, index])!r} ({n_bad} of {e.shape[0]} samples differ)")
    return None


def mismatching_samples(expected: Any, actual: Any, n: int) -> np.ndarray:
    """Boolean mask over the n samples: True where any element of any output differs (all True when the
    two sets differ in number or shape of outputs)."""
    exp, act = as_output_list(expected), as_output_list(actual)
    rows = np.zeros(n, dtype=bool)
    if len(exp) != len(act):
        rows[:] = True
        return rows
    for e, a in zip(exp, act):
        if e.shape != a.shape:
            rows[:] = True
        else:
            rows |= (~((e == a) | (np.isnan(e) & np.isnan(a)))).reshape(n, -1).any(axis=1)
    return rows


def predicted_classes(outputs: Any) -> np.ndarray:
    """Per sample, the argmax of the first output flattened per sample."""
    first = as_output_list(outputs)[0]
    return first.reshape(first.shape[0], int(np.prod(first.shape[1:]))).argmax(axis=1)


def argmax_agreement(a: Any, b: Any) -> float:
    """Fraction of samples whose first output has its argmax (flattened per sample) at the same place."""
    classes = predicted_classes(a)
    return float(np.mean(classes == predicted_classes(b))) if classes.size else 1.0


def label_accuracy(outputs: Any, labels: np.ndarray) -> float:
    """Fraction of samples whose first output's argmax (flattened per sample) equals the label."""
    classes = predicted_classes(outputs)
    return float(np.mean(classes == labels)) if classes.size else 1.0


def abs_errors(a: Any, b: Any) -> np.ndarray:
    """|a - b| over all elements of all outputs, flattened (b reshaped to a's shapes)."""
    pairs = list(zip(as_output_list(a), as_output_list(b)))
    if not pairs:
        return np.zeros(0)
    return np.concatenate([np.abs(x.astype(np.float64) - y.astype(np.float64).reshape(x.shape)).ravel()
                           for x, y in pairs])


def max_abs_error(a: Any, b: Any) -> float:
    """The largest |a - b| over all outputs (0.0 when there are no elements)."""
    errors = abs_errors(a, b)
    return float(errors.max()) if errors.size else 0.0


def reference_metrics(outputs: Any, reference: Any) -> dict[str, float]:
    """max_abs_err, mean_abs_err (0.0 when empty) and argmax_agreement of outputs vs a float reference;
    each reference output is reshaped to its output's shape (the same values, maybe a squeezed axis)."""
    outs = as_output_list(outputs)
    ref = [np.asarray(r).reshape(o.shape) for r, o in zip(as_output_list(reference), outs)]
    errors = abs_errors(outs, ref)
    return {"max_abs_err": float(errors.max()) if errors.size else 0.0,
            "mean_abs_err": float(errors.mean()) if errors.size else 0.0,
            "argmax_agreement": argmax_agreement(outs, ref)}
