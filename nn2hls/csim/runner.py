"""Run a built C simulation library on batches of samples through ctypes.

Rule: `Simulator.predict(x)` takes x of shape (N, *input_shape) in the source model's layout, any
real numeric dtype (converted to float64, C-contiguous; NaN/inf refused), calls
`<name>_batch(in, out, N)` once, and returns the outputs as float64 arrays (N, *output_shape): one
array for a single-output model, a list in graph.outputs order otherwise. A model with several inputs
takes a tuple/list of arrays in input order or a dict keyed by input name (nn2hls.ir.feeds); their
samples are concatenated side by side into `in` (the batch entry point's layout).
"""
from __future__ import annotations

import ctypes
import math
from pathlib import Path

import numpy as np

from nn2hls.errors import BuildError, InputDataError
from nn2hls.inputs import validate_feed
from nn2hls.ir import feeds

_DOUBLE_P = ctypes.POINTER(ctypes.c_double)


STACK_BYTES = 1 << 30
"""Stack of the thread running the C simulation. The io_parallel top function keeps every layer's
output in a local array, so a large model (a 128 x 128 x 64 feature map is 2 MB at 16 bits per layer)
overflows the default 8 MB stack. The stack is virtual memory: pages are only touched as used."""


def _with_large_stack(fn, *args) -> None:
    """fn(*args) in a thread with a STACK_BYTES stack (ctypes releases the GIL during the call); in the
    calling thread when the system refuses such a thread."""
    import threading

    error: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:  # pragma: no cover - ctypes calls do not raise
            error.append(exc)
    try:
        previous = threading.stack_size(STACK_BYTES)
    except (ValueError, RuntimeError):  # pragma: no cover - platform without settable stacks
        fn(*args)
        return
    try:
        worker = threading.Thread(target=target, name="nn2hls-csim")
        worker.start()
    except RuntimeError:  # pragma: no cover - e.g. a virtual memory limit
        fn(*args)
        return
    finally:
        threading.stack_size(previous)
    worker.join()
    if error:  # pragma: no cover
        raise error[0]


class Simulator:
    """A loaded C simulation of one project."""

    def __init__(self, library: Path, manifest: dict, *, cached: bool = False, build_seconds: float = 0.0):
        self.library = Path(library)
        self.name = manifest["project"]
        self.input_shape = tuple(manifest["input_shape"])
        shapes = manifest.get("input_shapes") or [manifest["input_shape"]]
        names = manifest.get("input_names") or ["input"]
        self.inputs = [feeds.InputSpec(n, n, tuple(s)) for n, s in zip(names, shapes)]
        self.output_shapes = [tuple(s) for s in manifest["output_shapes"]]
        self.cached = cached
        self.build_seconds = build_seconds
        try:
            self._lib = ctypes.CDLL(str(self.library))
            self._batch = getattr(self._lib, f"{self.name}_batch")
        except (OSError, AttributeError) as exc:
            raise BuildError(f"cannot load the C simulation library '{self.library}': {exc}; delete the "
                             "project's build/ folder and rebuild") from None
        self._batch.argtypes = (_DOUBLE_P, _DOUBLE_P, ctypes.c_int)
        self._batch.restype = ctypes.c_int
        self._n_in = sum(math.prod(spec.shape) for spec in self.inputs)
        self._sizes = [math.prod(s) for s in self.output_shapes]

    def predict(self, x) -> np.ndarray | list[np.ndarray]:
        arrays = validate_feed(self.inputs, x, what="C simulation input", owner=f"project '{self.name}'",
                               allow_empty=True)
        arr = arrays[0] if len(arrays) == 1 else np.ascontiguousarray(
            np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=1))
        n = arr.shape[0]
        if n >= 2 ** 31:
            raise InputDataError(f"batch of {n} samples is too large; split it below 2**31")
        out = np.empty((n, sum(self._sizes)), dtype=np.float64)
        if n:
            _with_large_stack(self._batch, arr.ctypes.data_as(_DOUBLE_P), out.ctypes.data_as(_DOUBLE_P), n)
        results, offset = [], 0
        for size, shape in zip(self._sizes, self.output_shapes):
            results.append(out[:, offset:offset + size].reshape((n, *shape)))
            offset += size
        return results[0] if len(results) == 1 else results
