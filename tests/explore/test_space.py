"""Space files: validation errors name the file and key; points are the product in file order."""
from __future__ import annotations

from pathlib import Path

import pytest

import nn2hls
from nn2hls.config import Config
from nn2hls.errors import ConfigError
from nn2hls.explore.space import expand, load_space, point_id, space_from_dict

MODEL = Path(__file__).resolve().parents[2] / "example_models" / "jet_mlp.onnx"


@pytest.mark.parametrize("text, message", [
    ("precision.default.weight_widht: [4, 8]\n", "unknown key 'weight_widht' in 'precision.default'"),
    ("reuse_factr: [1, 2]\n", "unknown key 'reuse_factr'"),
    ("precision.default.weight_width: 8\n", "key 'precision.default.weight_width' must map to a non-empty list"),
    ("pruning.threshold: []\n", "key 'pruning.threshold' must map to a non-empty list"),
    ("pruning.sparsity.*: [0.5, 1.5]\n", "'pruning.sparsity.layer' must be a number >= 0.0 and < 1.0, got 1.5"),
    ("precision.default.weight: [ap_fixed<8,3>, ap_fxd<8>]\n", "key 'precision.default.weight'"),
    ("io_type: [io_axi]\n", "'io_type' must be one of io_parallel, io_stream"),
    ("precision.*.weight_width: [4]\n", "'*' may only stand for a layer name"),
    ("precision..weight_width: [4]\n", "has an empty segment"),
    ("- 4\n- 8\n", "must hold a mapping of keys"),
    ("", "give a mapping of dotted config keys"),
    ("precision.default.weight_width: [4\n", "is not valid YAML (line 2)"),
])
def test_bad_space_file_is_one_line_error_naming_file_and_key(tmp_path, text, message):
    path = tmp_path / "space.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    text_of_error = str(info.value)
    assert message in text_of_error
    assert "\n" not in text_of_error
    assert str(path) in text_of_error


def test_missing_space_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_space(tmp_path / "nope.yml")


def test_points_are_the_product_last_key_fastest():
    space = space_from_dict({"precision.default.weight_width": [4, 8], "reuse_factor": [1, 2, 4]})
    assert space.size == 6
    assert space.points() == [
        {"precision.default.weight_width": 4, "reuse_factor": 1},
        {"precision.default.weight_width": 4, "reuse_factor": 2},
        {"precision.default.weight_width": 4, "reuse_factor": 4},
        {"precision.default.weight_width": 8, "reuse_factor": 1},
        {"precision.default.weight_width": 8, "reuse_factor": 2},
        {"precision.default.weight_width": 8, "reuse_factor": 4},
    ]


def test_wildcard_expands_to_the_dense_layers_and_ids_ignore_calibration():
    graph = nn2hls.load(MODEL)
    space = space_from_dict({"pruning.sparsity.*": [0.5], "precision.layers.*.result_width": [10]})
    base = Config(reuse_factor=2)
    (point,) = expand(space, base, graph, calibration="/data/x.npy")
    dense = ["n_0_0_0_Gemm", "n_0_0_2_Gemm", "n_0_0_4_Gemm", "n_0_0_6_Gemm"]  # the four Gemm of jet_mlp
    assert point.config.pruning.sparsity == {name: 0.5 for name in dense}
    assert sorted(point.config.precision_layers) == sorted(dense + ["n_0_0_1_Relu", "n_0_0_3_Relu",
                                                                    "n_0_0_5_Relu", "n_1_Softmax"])
    assert point.config.precision_layers["n_1_Softmax"] == {"result_width": 10}
    assert point.config.reuse_factor == 2  # the base config's value is kept
    assert point.config.calibration == "/data/x.npy"
    (other,) = expand(space, base, graph, calibration="/elsewhere/x.npy")
    assert other.point_id == point.point_id
    assert point_id(Config()) != point.point_id
    assert len(point.point_id) == 16 and int(point.point_id, 16) >= 0
