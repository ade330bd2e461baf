"""Typed node annotations: printed when set, checked by verify, stored in project files unchanged.

Expected texts and values are written by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nn2hls.errors import GraphError
from nn2hls.ir import ops
from nn2hls.ir.annotations import (Dequant, ExactAffine, NodeAnnotations, PruningStats, Requant, Role,
                                   WeightQuantizer)
from nn2hls.ir.graph import Graph
from nn2hls.ir.types import FixedType
from nn2hls.ir.verify import verify
from nn2hls.project_io import load_graph, save_graph


def _graph() -> Graph:
    g = Graph("a")
    x = g.add(ops.Input(shape=(2,)), name="x")
    d = g.add(ops.Dense(), [x.name], name="d", weights={"kernel": [[1.0, 2.0], [3.0, 4.0]]})
    s = g.add(ops.ScaleShift(), [d.name], name="s", weights={"scale": [0.5, 0.5], "shift": [0.0, 0.0]})
    g.outputs = [s.name]
    return g


def test_role_keeps_its_spelling():
    assert Role.RESULT == "result" and f"{Role.ACCUM}" == "accum" and str(Role.WEIGHT) == "weight"
    assert {Role.BIAS: 1}["bias"] == 1 and {"bias": 1}[Role.BIAS] == 1
    assert json.dumps({Role.RESULT: 1}) == '{"result": 1}'


def test_printer_shows_non_default_annotations():
    g = _graph()
    assert str(g).splitlines()[2] == "  %d = Dense (%x) -> (2,)  {kernel: 2x2 nnz=4}"
    g["d"].annotations.forced_precision = {Role.WEIGHT: FixedType.fixed(4, 4)}
    g["d"].annotations.exact_result = True
    g["s"].annotations.requant = Requant(0.5, 3.0, 0, 255)
    g["s"].annotations.folded = ["bn"]
    lines = str(g).splitlines()
    assert lines[2] == "  %d = Dense (%x) -> (2,)  {kernel: 2x2 nnz=4}  [forced_precision={weight=ap_fixed<4,4>}, exact_result]"
    assert lines[3].endswith("  [requant(scale=0.5, zero_point=3, lo=0, hi=255), folded=[bn]]")


@pytest.mark.parametrize("edit, message", [
    (lambda g: g["d"].precision.update(output=FixedType.fixed(8, 4)), "node 'd': unknown precision role 'output'"),
    (lambda g: setattr(g["d"].annotations, "requant", Requant(0.5, 0.0, 0, 3)),
     "node 'd': annotation 'requant' is for a ScaleShift, not a Dense"),
    (lambda g: setattr(g["s"].annotations, "quantized_weights", True),
     "node 's': annotation 'quantized_weights' is for a Dense/Conv, not a ScaleShift"),
    (lambda g: setattr(g["s"].annotations, "dequant", Dequant(-1.0, 0.0)), "node 's': dequant scale -1.0 must be positive"),
    (lambda g: setattr(g["s"].annotations, "requant", Requant(1.0, 0.0, 5, 2)), "requant range [5, 2] is empty"),
    (lambda g: setattr(g["s"].annotations, "exact_affine", ExactAffine(("1", "2"), ("0",))),
     "exact_affine has 2 scales but 1 shifts"),
    (lambda g: setattr(g["d"].annotations, "pruning", PruningStats(4, zeros=5)), "pruning statistics"),
    (lambda g: setattr(g["d"].annotations, "weight_quantizer", WeightQuantizer("tflite")), "needs a source among"),
    (lambda g: g["d"].annotations.forced_precision.update(weight="ap_fixed<4,4>"), "is not a Role and a fixed-point"),
    (lambda g: setattr(g["d"].annotations, "factored_scale", "x"), "factored scale 'x' is not a ScaleShift"),
])
def test_verify_checks_annotations(edit, message):
    g = _graph()
    verify(g)
    edit(g)
    with pytest.raises(GraphError, match=message.replace("[", r"\[").replace("(", r"\(")):
        verify(g)


def test_project_file_keeps_plain_spelling_and_round_trips(tmp_path):
    g = _graph()
    a = g["s"].annotations
    a.requant = Requant(0.25, 2.0, -8, 7)
    a.exact_affine = ExactAffine(("1/3", "2"), ("0", "-1/7"))
    a.forced_precision = {Role.WEIGHT: FixedType.fixed(3, 1), Role.BIAS: FixedType.fixed(2, 2)}
    a.keep_separate = "a reason"
    g["d"].annotations.pruning = PruningStats(4, zeros=1, pruned=1)
    g["d"].annotations.weight_quantizer = WeightQuantizer("qonnx", (0.1, 0.3))
    for node in g.nodes.values():
        node.precision[Role.RESULT] = FixedType.fixed(16, 6)
    path = save_graph(g, tmp_path)
    doc = json.loads(path.read_text())
    meta = {n["name"]: n["meta"] for n in doc["nodes"]}
    assert meta["x"] == {}
    assert meta["d"]["pruning"] == {"weights": 4, "zeros": 1, "pruned": 1}
    assert meta["s"]["requant"] == {"scale": 0.25, "zero_point": 2.0, "lo": -8, "hi": 7}
    assert meta["s"]["exact_affine"] == {"__tuple__": [["1/3", "2"], ["0", "-1/7"]]}
    assert meta["s"]["forced_precision"] == {"weight": {"__fixed__": "ap_fixed<3,1>"},
                                             "bias": {"__fixed__": "ap_fixed<2,2>"}}
    back = load_graph(tmp_path)
    for name in g.nodes:
        assert back[name].annotations == g[name].annotations
    assert back["d"].precision["result"] == FixedType.fixed(16, 6)


def test_unknown_annotation_in_a_project_is_refused():
    with pytest.raises(GraphError, match="node 'n': unknown annotation\\(s\\) colour"):
        NodeAnnotations.from_meta({"colour": "red"}, "node 'n'")
    assert NodeAnnotations.from_meta({}) == NodeAnnotations()
    np.testing.assert_equal(NodeAnnotations.from_meta({"folded": ["a"]}).folded, ["a"])
