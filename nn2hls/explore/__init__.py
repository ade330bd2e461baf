"""Design-space exploration: `nn2hls.explore(model, x, space, out_dir, ...)` and `nn2hls explore`.

Modules, one job each: `space` (space file -> validated points), `evaluate` (one point -> one row),
`engine` (serial or Ray), `table` (the scan folder's files), `pareto` (front and best point), `plot`
(the PNG), `run` (the scan from start to end). docs/explore.md describes the space file and outputs.

The package is callable: `nn2hls.explore(...)` is `nn2hls.explore.run.explore(...)` (Python binds a
subpackage to its parent's attribute of the same name once imported, so the function and the
package share the name `nn2hls.explore`; the module's class is given a `__call__` for that).
"""
from __future__ import annotations

import sys
import types

from nn2hls.explore.run import ExploreResult, explore

__all__ = ["explore", "ExploreResult"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003 - the signature is explore's
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
