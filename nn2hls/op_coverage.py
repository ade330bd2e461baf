"""Which IR ops each compiler stage handles: the "adding an op" checklist of docs/architecture.md.

Rule: every op class of `nn2hls.ir.ops` (every `Op` subclass defined there, and all of them listed in
`ops.ALL_OPS`) has, in each stage, either an entry in the stage's `OP_TABLE` or a reason in its
`NOT_APPLICABLE` (never both, never an empty reason). Where a stage handles Activation, every function
of `ops.ACTIVATIONS` has an entry in its `ACTIVATION_TABLE`; where it handles Elementwise, every
operation of `ops.ELEMENTWISE_OPERATIONS` one in its `ELEMENTWISE_TABLE`. A table key that is no IR
op (or function, or operation) is reported too: a renamed op must not leave a dead entry behind.

The stages (`STAGES`): the float executor, the bit-accurate emulator, precision assignment, the
Vivado backend's layer contexts and the resource report. The template stage: every template kind the
backend declares (`LayerCode.kinds`, `ActivationCode.kind`) has its `templates/vivado/layers/<kind>.cpp.j2`,
and every file there is declared by some op.

`coverage_problems()` returns one line per gap, naming the stage and the op; tests/ir/test_op_coverage.py
asserts it is empty.
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from types import ModuleType

from nn2hls.ir import ops
from nn2hls.resources import templates_dir


@dataclass(frozen=True)
class Stage:
    """A compiler stage and the modules holding its tables (module paths, imported when checked)."""

    name: str
    ops_module: str                      # OP_TABLE and NOT_APPLICABLE
    activation_module: str = ""          # ACTIVATION_TABLE (default: ops_module)
    elementwise_module: str = ""         # ELEMENTWISE_TABLE (default: ops_module)


STAGES: tuple[Stage, ...] = (
    Stage("executor", "nn2hls.ir.execute"),
    Stage("emulator", "nn2hls.emulate.runner", "nn2hls.emulate.activations", "nn2hls.emulate.wiring"),
    Stage("precision", "nn2hls.passes.assign_precision"),
    Stage("backend", "nn2hls.backends.vivado.context"),
    Stage("report", "nn2hls.report"),
)

BACKEND_MODULE = "nn2hls.backends.vivado.context"
LAYER_TEMPLATES = ("vivado", "layers")  # templates/vivado/layers/<kind>.cpp.j2


def ir_ops() -> list[type[ops.Op]]:
    """Every op class defined in `nn2hls.ir.ops` (Op subclasses, Op itself excluded), by name."""
    found = [cls for _, cls in inspect.getmembers(ops, inspect.isclass)
             if issubclass(cls, ops.Op) and cls is not ops.Op and cls.__module__ == ops.__name__]
    return sorted(found, key=lambda cls: cls.__name__)


def _table(module: ModuleType, name: str) -> dict:
    table = getattr(module, name, None)
    return table if isinstance(table, dict) else {}


def _check_keys(stage: str, what: str, where: str, table: dict, expected: list, label) -> list[str]:
    problems = [f"{stage}: {what} {label(key)} has no entry in {where}" for key in expected if key not in table]
    problems += [f"{stage}: {where} has an entry for {label(key)}, which is no IR {what}"
                 for key in table if key not in expected]
    return problems


def stage_problems(stage: Stage) -> list[str]:
    """The gaps of one stage's tables (see the module docstring)."""
    module = importlib.import_module(stage.ops_module)
    table, skipped = _table(module, "OP_TABLE"), _table(module, "NOT_APPLICABLE")
    all_ops = ir_ops()
    problems = []
    for cls in all_ops:
        if cls in table and cls in skipped:
            problems.append(f"{stage.name}: op {cls.kind} is both in {stage.ops_module}.OP_TABLE and "
                            "declared NOT_APPLICABLE")
        elif cls in skipped and not str(skipped[cls]).strip():
            problems.append(f"{stage.name}: op {cls.kind} is declared NOT_APPLICABLE without a reason")
        elif cls not in table and cls not in skipped:
            problems.append(f"{stage.name}: op {cls.kind} has no entry in {stage.ops_module}.OP_TABLE and no "
                            f"reason in {stage.ops_module}.NOT_APPLICABLE")
    known = set(all_ops)
    problems += [f"{stage.name}: {stage.ops_module} has an entry for {getattr(cls, '__name__', cls)}, which is "
                 "no op class of nn2hls.ir.ops" for cls in list(table) + list(skipped) if cls not in known]
    for op_class, attribute, values, path in (
            (ops.Activation, "ACTIVATION_TABLE", ops.ACTIVATIONS, stage.activation_module),
            (ops.Elementwise, "ELEMENTWISE_TABLE", ops.ELEMENTWISE_OPERATIONS, stage.elementwise_module)):
        if op_class not in table:
            continue
        path = path or stage.ops_module
        sub = _table(importlib.import_module(path), attribute)
        what = "activation" if op_class is ops.Activation else "element-wise operation"
        problems += _check_keys(stage.name, what, f"{path}.{attribute}", sub, list(values), lambda k: repr(k))
    return problems


def template_problems() -> list[str]:
    """Template kinds declared by the backend without a template file, and template files no op declares."""
    backend = importlib.import_module(BACKEND_MODULE)
    folder = templates_dir().joinpath(*LAYER_TEMPLATES)
    files = {p.name[:-len(".cpp.j2")] for p in folder.glob("*.cpp.j2")}
    declared: dict[str, str] = {}
    for cls, code in _table(backend, "OP_TABLE").items():
        for kind in code.kinds:
            declared.setdefault(kind, f"op {cls.kind}")
    for function, code in _table(backend, "ACTIVATION_TABLE").items():
        declared.setdefault(code.kind, f"activation {function!r}")
    where = "templates/" + "/".join(LAYER_TEMPLATES)
    problems = [f"template: {owner} emits layer kind '{kind}', which has no {where}/{kind}.cpp.j2"
                for kind, owner in sorted(declared.items()) if kind not in files]
    problems += [f"template: {where}/{kind}.cpp.j2 is no layer kind the backend declares"
                 for kind in sorted(files - set(declared))]
    return problems


def coverage_problems() -> list[str]:
    """Every gap: ops missing from ops.ALL_OPS, each stage's table gaps, the template gaps."""
    listed = set(ops.ALL_OPS)
    problems = [f"ir: op {cls.kind} is missing from nn2hls.ir.ops.ALL_OPS" for cls in ir_ops() if cls not in listed]
    for stage in STAGES:
        problems += stage_problems(stage)
    return problems + template_problems()
