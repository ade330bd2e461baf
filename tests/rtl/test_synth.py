"""yosys synthesis of one small pruned layer: every general product (a weight that is not 0, +-1 or
+-2^k, counted here by hand from the kernel) becomes one DSP48E2 (the same input times the same odd
constant in two outputs is one shared product), and nothing else does."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "backends"))
import backend_models  # noqa: E402
from rtl_models import needs_yosys  # noqa: E402

from nn2hls.backends.verilog import write_project  # noqa: E402
from nn2hls.config import Config  # noqa: E402
from nn2hls.rtl import synth  # noqa: E402


def test_family_of_parts():
    assert synth.family("xcvu13p-flga2577-2-e") == "xcup"
    assert synth.family("xczu9eg-ffvb1156-2-e") == "xcup"
    assert synth.family("xcku115-flvb2104-2-e") == "xcu"
    assert synth.family("xc7a35tcpg236-1") == "xc7"
    assert synth.family("5CSEMA5F31C6") is None


def test_classify_cells():
    counts = synth.classify({"DSP48E2": 3, "LUT2": 4, "LUT6": 1, "FDRE": 7, "CARRY8": 2, "MUXF7": 5})
    assert counts == {"DSP": 3, "LUT": 5, "FF": 7, "CARRY": 2}


@needs_yosys
def test_dsp_count_equals_general_products(tmp_path):
    g = backend_models.pruned_dense(np.random.default_rng(7), n_in=10, n_out=6, sparsity=0.5)
    kernel = g["dense"].weights["kernel"]
    nz = kernel[kernel != 0]
    general = int(np.sum(np.frexp(np.abs(nz))[0] != 0.5))
    assert 0 < general < nz.size  # some weights are shifts, some products
    distinct = set()  # (input, odd part of the raw 8-bit weight): weight 0.1875 = 3 * 2^-4 -> (i, 3)
    for i, o in zip(*np.nonzero(kernel)):
        m = abs(int(kernel[i, o] * 16))
        m //= m & -m
        if m > 1:
            distinct.add((i, m))
    assert len(distinct) == general - 1  # this kernel repeats one (input, constant) pair
    project = write_project(g, Config(backend="verilog"), tmp_path / "p")
    result = synth.synthesize(project, part="xcvu13p-flga2577-2-e")
    layer = result["layers"]["dense"]
    assert result["layer_products"]["dense"] == general
    assert layer["DSP"] == len(distinct) == result["layer_multipliers"]["dense"]
    assert 0 < layer["FF"] <= 6 * 16  # the output register, 6 x ap_fixed<16,8> (constant bits dropped)
    assert layer["LUT"] > 0 and layer["CARRY"] > 0
    assert json.loads((project / "synth" / "synth.json").read_text())["totals"]["DSP"] == len(distinct)
