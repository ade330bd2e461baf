"""Every IR op is handled (or declared not applicable, with a reason) by every stage: executor, emulator,
precision, backend, report and the layer templates (`nn2hls.op_coverage`, docs/architecture.md).

The failure tests take one entry out of one stage's table and check that the same checker names that
stage and that op; a new Op subclass with no entries is reported by every stage.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from nn2hls import op_coverage, report
from nn2hls.backends.vivado import context
from nn2hls.emulate import activations, runner, wiring
from nn2hls.ir import execute, ops
from nn2hls.passes import assign_precision


def test_every_stage_covers_every_op():
    assert op_coverage.coverage_problems() == []


def test_ir_ops_are_the_op_classes_of_ops_py():
    found = op_coverage.ir_ops()
    # written down by hand from nn2hls/ir/ops.py: a class missed by the enumeration would go unchecked
    for cls in (ops.Input, ops.Dense, ops.Conv, ops.Activation, ops.Elementwise, ops.Pad, ops.SpaceToDepth):
        assert cls in found
    assert ops.Op not in found
    assert set(found) == set(ops.ALL_OPS)


def test_dropped_activation_is_reported_by_stage_and_name(monkeypatch):
    monkeypatch.delitem(activations.ACTIVATION_TABLE, "softsign")
    assert op_coverage.coverage_problems() == [
        "emulator: activation 'softsign' has no entry in nn2hls.emulate.activations.ACTIVATION_TABLE"]


def test_dropped_op_is_reported_by_stage_and_name(monkeypatch):
    monkeypatch.delitem(report.OP_TABLE, ops.Reduce)
    problems = op_coverage.coverage_problems()
    assert problems == ["report: op Reduce has no entry in nn2hls.report.OP_TABLE and no reason in "
                        "nn2hls.report.NOT_APPLICABLE"]


def test_dropped_elementwise_operation_is_reported(monkeypatch):
    monkeypatch.delitem(assign_precision.ELEMENTWISE_TABLE, "min")
    assert op_coverage.coverage_problems() == [
        "precision: element-wise operation 'min' has no entry in "
        "nn2hls.passes.assign_precision.ELEMENTWISE_TABLE"]


def test_every_stage_is_checked(monkeypatch):
    """Taking Softmax out of each stage in turn is reported by exactly that stage."""
    tables = {"executor": execute.OP_TABLE, "emulator": runner.OP_TABLE,
              "precision": assign_precision.OP_TABLE, "backend": context.OP_TABLE, "report": report.OP_TABLE}
    assert set(tables) == {stage.name for stage in op_coverage.STAGES}
    for name, table in tables.items():
        with monkeypatch.context() as m:
            m.delitem(table, ops.Softmax)
            problems = op_coverage.coverage_problems()
        assert len(problems) >= 1 and all(p.startswith(f"{name}: ") or p.startswith("template: ")
                                          for p in problems), (name, problems)
        assert any(p.startswith(f"{name}: op Softmax has no entry") for p in problems), (name, problems)
    assert wiring.ELEMENTWISE_TABLE  # the emulator's second-level table is the one checked
    assert op_coverage.coverage_problems() == []


def test_not_applicable_needs_a_reason(monkeypatch):
    monkeypatch.delitem(runner.OP_TABLE, ops.Quant)
    monkeypatch.setitem(runner.NOT_APPLICABLE, ops.Quant, "")
    assert op_coverage.coverage_problems() == ["emulator: op Quant is declared NOT_APPLICABLE without a reason"]
    monkeypatch.setitem(runner.NOT_APPLICABLE, ops.Quant, "lowered before emulation")
    assert op_coverage.coverage_problems() == []


def test_stale_entry_is_reported(monkeypatch):
    monkeypatch.setitem(execute.ACTIVATION_TABLE, "swishh", execute.ACTIVATION_TABLE["swish"])
    assert op_coverage.coverage_problems() == [
        "executor: nn2hls.ir.execute.ACTIVATION_TABLE has an entry for 'swishh', which is no IR activation"]


def test_new_op_without_entries_is_reported_everywhere(monkeypatch):
    @dataclass(frozen=True)
    class Softsign2(ops.Op):
        kind: ClassVar[str] = "Softsign2"

    Softsign2.__module__ = ops.__name__
    monkeypatch.setattr(ops, "Softsign2", Softsign2, raising=False)
    problems = op_coverage.coverage_problems()
    assert problems[0] == "ir: op Softsign2 is missing from nn2hls.ir.ops.ALL_OPS"
    named = [p.split(":")[0] for p in problems[1:] if "op Softsign2 has no entry" in p]
    assert named == [stage.name for stage in op_coverage.STAGES]


def test_template_kind_without_file_is_reported(monkeypatch):
    code = context.ACTIVATION_TABLE["relu"]
    monkeypatch.setitem(context.ACTIVATION_TABLE, "relu", context.ActivationCode("relu_fused", code.setup))
    problems = op_coverage.coverage_problems()
    assert ("template: activation 'relu' emits layer kind 'relu_fused', which has no "
            "templates/vivado/layers/relu_fused.cpp.j2") in problems


def test_template_file_no_op_declares_is_reported(monkeypatch):
    code = context.OP_TABLE[ops.Transpose]
    monkeypatch.setitem(context.OP_TABLE, ops.Transpose, context.LayerCode(code.build, ("copy",)))
    assert op_coverage.coverage_problems() == [
        "template: templates/vivado/layers/transpose.cpp.j2 is no layer kind the backend declares"]


@pytest.mark.parametrize("stage", op_coverage.STAGES, ids=lambda s: s.name)
def test_not_applicable_ops_are_refused_by_name(stage):
    """An op a stage declares not applicable has no table entry, so the stage cannot silently run it."""
    import importlib
    module = importlib.import_module(stage.ops_module)
    for cls in module.NOT_APPLICABLE:
        assert cls not in module.OP_TABLE
