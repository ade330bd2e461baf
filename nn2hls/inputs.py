"""Sample batches: reading them from files and validating them against a model input (one home for both).

Rules:
- `load_samples(path, what)` reads one array of samples from a numpy file (`load_named_samples`: the
  arrays of an `.npz` keyed by input name). The format is recognized by
  its content (the `.npy` magic string `\\x93NUMPY`, or a zip archive for `.npz`), not trusted from the
  suffix; an `.npz` must hold exactly one array. Anything else (a `.csv`, a text file named `.npy`, a
  pickle) is an `InputDataError` naming the file and the accepted formats. Numbers only (bool, int,
  unsigned, float dtypes).
- `validate_batch(x, shape, what=..., owner=...)`: a batch is `(N, *shape)` with N >= 1, numeric and
  finite (the hardware has no NaN or infinity); returned as contiguous float64. One sample without its
  batch axis gets the hint `x[None]`. (The emulator and the C simulation also accept N = 0.)
- `validate_feed(inputs, x, ...)`: the samples of every model input (one array, a tuple/list in input
  order or a dict keyed by input name: `nn2hls.ir.feeds.split`), each through `validate_batch`, with
  the same N for every input. Every consumer of samples (compile's calibration data, the emulator, the
  float executor, the C simulation, `check`) validates through this one function, so a bad batch gets
  the same one-line message everywhere.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nn2hls.errors import InputDataError
from nn2hls.ir import feeds

ACCEPTED_FORMATS = ".npy (np.save) or .npz (np.savez, one array)"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _read_array(path: Path, what: str) -> np.ndarray:
    with open(path, "rb") as handle:
        head = handle.read(len(_NPY_MAGIC))
    if head.startswith(_NPY_MAGIC):
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise InputDataError(f"{what} file '{path}' is a damaged .npy file ({exc}); save it again with "
                                 "np.save") from None
    if head.startswith(_ZIP_MAGIC):
        try:
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.files)
                if len(names) != 1:
                    raise InputDataError(f"{what} file '{path}' holds {len(names)} arrays "
                                         f"({', '.join(names) or 'none'}); give one array (np.save X.npy)")
                return archive[names[0]]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise InputDataError(f"{what} file '{path}' is a damaged .npz file ({exc}); save it again with "
                                 "np.savez") from None
    kind = f"a '{path.suffix}' file" if path.suffix.lower() not in (".npy", ".npz") else "not a numpy file"
    raise InputDataError(f"{what} file '{path}' is {kind}; nn2hls reads samples from {ACCEPTED_FORMATS} "
                         "(e.g. np.save('x.npy', np.loadtxt('x.csv', delimiter=',')))")


def _existing_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{what} file '{path}' does not exist" if not path.exists()
                             else f"{what} path '{path}' is not a file")
    return path


def _numbers(data: np.ndarray, where: str) -> np.ndarray:
    if data.dtype.kind not in "fiub":
        raise InputDataError(f"{where} has dtype {data.dtype}; give numbers (float32/float64)")
    return data


def load_samples(path: str | Path, what: str = "input") -> np.ndarray:
    """The array of samples in a numpy file, or InputDataError naming the file and what to do."""
    path = _existing_file(path, what)
    return _numbers(_read_array(path, what), f"{what} file '{path}'")


def load_named_samples(path: str | Path, what: str = "input") -> dict[str, np.ndarray]:
    """The arrays of an .npz file keyed by name (one per model input), numbers only; else InputDataError."""
    path = _existing_file(path, what)
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, AttributeError, zipfile.BadZipFile) as exc:
        raise InputDataError(f"cannot read {what} file '{path}' as a numpy .npz archive ({exc})") from None
    return {key: _numbers(value, f"{what} file '{path}': array '{key}'") for key, value in data.items()}


def validate_batch(x: Any, shape: Sequence[int], *, what: str = "input", owner: str = "the model",
                   allow_empty: bool = False) -> np.ndarray:
    """x as contiguous float64 of shape (N, *shape), N >= 1, finite; else InputDataError saying why.

    `what` names the data ("input 'x.npy'", "calibration data"), `owner` the model or project;
    `allow_empty` accepts N = 0 (the emulator and the C simulation return empty outputs).
    """
    data = np.asarray(x)
    if data.dtype.kind not in "fiub":
        raise InputDataError(f"{what} has dtype {data.dtype}, not numbers; pass a float array")
    shape = tuple(int(s) for s in shape)
    if data.ndim != len(shape) + 1 or tuple(data.shape[1:]) != shape:
        expected = "(N, " + ", ".join(str(s) for s in shape) + ")"
        hint = " (one sample? add a batch axis: x[None])" if tuple(data.shape) == shape else ""
        raise InputDataError(f"{what} has shape {tuple(data.shape)}; {owner} expects {expected} in the "
                             f"model's own layout{hint}")
    if data.shape[0] == 0 and not allow_empty:
        raise InputDataError(f"{what} has no samples; give at least one")
    data = np.ascontiguousarray(data, dtype=np.float64)
    if not np.all(np.isfinite(data)):
        raise InputDataError(f"{what} contains NaN or infinity; the hardware cannot represent them: remove or "
                             "replace those samples")
    return data


def validate_feed(inputs: Sequence[feeds.InputSpec], x: Any, *, what: str = "input",
                  owner: str | Sequence[str] = "the model", labels: Sequence[str] | None = None,
                  allow_empty: bool = False) -> list[np.ndarray]:
    """Every input's samples of feed x, validated by `validate_batch`, in input order, same N for all.

    `owner` names the model for every input, or is one name per input; `labels` names each input's
    data in messages (default `feeds.label`: `what`, plus the input's name when there are several).
    """
    given = feeds.split(inputs, x, what)
    arrays = [validate_batch(data, spec.shape, what=feeds.label(inputs, k, what) if labels is None else labels[k],
                             owner=owner if isinstance(owner, str) else owner[k], allow_empty=allow_empty)
              for k, (spec, data) in enumerate(zip(inputs, given))]
    feeds.check_samples(inputs, arrays, what)
    return arrays
