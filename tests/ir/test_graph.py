"""The IR graph: printer text, verify errors naming nodes, safe names, graph editing."""
from __future__ import annotations

import re

import numpy as np
import pytest

from nn2hls.errors import GraphError
from nn2hls.ir import ops
from nn2hls.ir.graph import Graph
from nn2hls.ir.names import safe_identifier
from nn2hls.ir.verify import verify


def _small() -> Graph:
    g = Graph("tiny net")
    x = g.add(ops.Input(shape=(2, 4, 4)), name="x").name
    t = g.add(ops.Transpose(perm=(1, 2, 0)), [x], name="to_cl").name
    kernel = np.zeros((3, 3, 2, 3))
    kernel[1, 1, 0, :] = 1.0
    c = g.add(ops.Conv(kernel_size=(3, 3), pads=((1, 1), (1, 1))), [t], name="/conv/Conv",
              weights={"kernel": kernel, "bias": np.array([0.0, 1.0, 2.0])}).name
    r = g.add(ops.Reshape(shape=(48,)), [c], name="flat").name
    d = g.add(ops.Dense(), [r], name="fc", weights={"kernel": np.ones((48, 2))}).name
    g.outputs = [d]
    return g


def test_printer_text_is_exact():
    assert str(_small()) == (
        "graph tiny_net\n"
        "  %x = Input(shape=(2,4,4)) () -> (2, 4, 4)\n"
        "  %to_cl = Transpose(perm=(1,2,0)) (%x) -> (4, 4, 2)\n"
        "  %conv_Conv = Conv(ndim=2, kernel_size=(3,3), strides=(1,1), dilations=(1,1), pads=((1,1),(1,1))) "
        "(%to_cl) -> (4, 4, 3)  {bias: 3 nnz=2, kernel: 3x3x2x3 nnz=3}\n"
        "  %flat = Reshape(shape=(48,)) (%conv_Conv) -> (48,)\n"
        "  %fc = Dense (%flat) -> (2,)  {kernel: 48x2 nnz=96}\n"
        "  return %fc\n")


def test_verify_accepts_sound_graph():
    verify(_small())


def test_verify_names_node_with_wrong_shape():
    g = _small()
    g.nodes["fc"].shape = (3,)
    with pytest.raises(GraphError, match=r"node 'fc': stored shape \(3,\) but Dense gives \(2,\)"):
        verify(g)


def test_verify_names_source_name_of_bad_weight():
    g = _small()
    g.nodes["conv_Conv"].weights["bias"] = np.array([0.0, np.nan, 1.0])
    with pytest.raises(GraphError, match=r"node '/conv/Conv' \(conv_Conv\): weight 'bias' has NaN"):
        verify(g)


def test_verify_reports_dangling_node():
    g = _small()
    g.add(ops.Activation(function="relu"), ["flat"], name="unused")
    with pytest.raises(GraphError, match="node 'unused' is dangling"):
        verify(g)


def test_add_rejects_unknown_input_and_bad_shape():
    g = _small()
    with pytest.raises(GraphError, match="reads 'ghost', which does not exist"):
        g.add(ops.Activation(), ["ghost"], name="a")
    with pytest.raises(GraphError, match="node 'bad': Dense kernel expects 5 input features"):
        g.add(ops.Dense(), ["flat"], name="bad", weights={"kernel": np.ones((5, 2))})


@pytest.mark.parametrize("raw,expected", [
    ('a"b', "a_b"), ("x*/y", "x_y"), ("semi;colon", "semi_colon"), ("new\nline", "new_line"),
    ("/conv/Conv", "conv_Conv"), ("1st", "n_1st"), ("int", "int_"), ("", "node"), ("__Init", "Init")])
def test_safe_identifier(raw, expected):
    assert safe_identifier(raw) == expected


def test_add_makes_unique_safe_names_and_keeps_source():
    g = Graph("m")
    x = g.add(ops.Input(shape=(3,)), name="in put").name
    names = []
    for raw in ['q"1', 'q*/1', "q;1", "q\n1"]:
        names.append(g.add(ops.Activation(), [x], name=raw).name)
    assert names == ["q_1", "q_1_1", "q_1_2", "q_1_3"]
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n) for n in g.nodes)
    assert [g.nodes[n].source_name for n in names] == ['q"1', 'q*/1', "q;1", "q\n1"]
    assert g.nodes["q_1_1"].label() == "'q*/1' (q_1_1)"


def test_bypass_and_remove():
    g = _small()
    g.bypass("to_cl")
    assert g.nodes["conv_Conv"].inputs == ("x",)
    with pytest.raises(GraphError, match="still read by"):
        g.remove("flat")


def test_topological_order_is_deterministic():
    g = _small()
    assert [n.name for n in g] == ["x", "to_cl", "conv_Conv", "flat", "fc"]
