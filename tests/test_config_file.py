"""YAML/dict config validation: every accepted key maps onto Config, every bad key/value has a clear message."""
from __future__ import annotations

from pathlib import Path

import pytest

from nn2hls.config import Config
from nn2hls.config_file import (apply_default_precision, config_to_dict, dump_config, load_config,
                                read_yaml)
from nn2hls.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "example_models" / "jet_mlp.yml"


def test_full_schema_maps_onto_config(tmp_path):
    text = """
project_name: my_net
backend: VITIS
part: xc7z020clg400-1
clock_period_ns: 4
io_type: io_parallel
strategy: latency
reuse_factor: 2
calibration: data/x.npy
precision:
  input: fixed<12,4>
  default: {weight: 'ap_fixed<8, 2>', result_width: 12, rounding: rnd_conv, overflow: sat_sym, table_size: 512}
  op_types: {Dense: {accum: 'ap_fixed<32,12>'}}
  layers: {fc1: {weight: 'int<4>', headroom_bits: 2}}
search: {enabled: true, metric: max_abs, tolerance: 0.01, min_width: 3}
pruning: {threshold: 0.05, layers: {fc1: 0.1}, sparsity: {fc2: 0.75}}
passes: {disable: [fold_scale_shift], add: [search_precision]}
"""
    path = tmp_path / "c.yml"
    path.write_text(text)
    cfg = load_config(path)
    assert (cfg.project_name, cfg.backend, cfg.part) == ("my_net", "vitis", "xc7z020clg400-1")
    assert cfg.clock_period_ns == 4.0 and cfg.strategy == "latency" and cfg.reuse_factor == 2
    assert cfg.calibration == str(tmp_path / "data" / "x.npy")  # relative to the YAML file
    assert cfg.precision_input == "ap_fixed<12,4>"
    assert cfg.precision.weight == "ap_fixed<8,2>" and cfg.precision.result_width == 12
    assert cfg.precision.rounding == "AP_RND_CONV" and cfg.precision.overflow == "AP_SAT_SYM"
    assert cfg.precision_op_types == {"Dense": {"accum": "ap_fixed<32,12>"}}
    assert cfg.precision_layers == {"fc1": {"weight": "ap_int<4>", "headroom_bits": 2}}
    assert cfg.precision_for("fc1", "Dense").weight == "ap_int<4>"
    assert cfg.precision_for("fc1", "Dense").accum == "ap_fixed<32,12>"
    assert cfg.search.enabled and cfg.search.metric == "max_abs" and cfg.search.min_width == 3
    assert cfg.pruning.threshold == 0.05 and cfg.pruning.layers == {"fc1": 0.1}
    assert cfg.pruning.sparsity == {"fc2": 0.75}
    assert cfg.passes_disable == ["fold_scale_shift"] and cfg.passes_add == ["search_precision"]
    # the resolved form reads back to the same Config, also through a written YAML file
    assert load_config(config_to_dict(cfg)) == cfg
    dump_config(cfg, tmp_path / "resolved.yml")
    again = load_config(tmp_path / "resolved.yml")
    assert again == cfg


def test_empty_and_none_give_defaults(tmp_path):
    (tmp_path / "empty.yml").write_text("# nothing\n")
    assert load_config(tmp_path / "empty.yml") == Config()
    assert load_config(None) == Config()
    assert load_config({}) == Config()


def test_example_config_is_valid():
    cfg = load_config(EXAMPLE)
    assert cfg.project_name == "jet_mlp" and cfg.precision.weight_width == 10
    assert cfg.precision_op_types["Softmax"]["result"] == "ap_ufixed<16,0,AP_RND,AP_SAT>"


@pytest.mark.parametrize("data, message", [
    ({"bogus": 1}, "unknown key 'bogus'; valid keys: project_name, backend, part, clock_period_ns"),
    ({"precision": {"defaults": {}}}, "unknown key 'defaults' in 'precision'; valid keys: input, integer_input, default, "
                                      "op_types, layers"),
    ({"precision": {"default": {"widht": 3}}}, "unknown key 'widht' in 'precision.default'; valid keys: weight,"),
    ({"precision": {"op_types": {"Dens": {}}}}, "unknown key 'Dens' in 'precision.op_types'; valid keys: Input, "
                                                "Dense, Conv"),
    ({"search": {"enable": True}}, "unknown key 'enable' in 'search'; valid keys: enabled, metric, tolerance"),
    ({"pruning": {"sparsity": {"fc": 1.5}}}, "'pruning.sparsity.fc' must be a number >= 0.0 and < 1.0, got 1.5"),
    ({"passes": {"remove": ["x"]}}, "unknown key 'remove' in 'passes'; valid keys: disable, add"),
    ({"backend": "quartus"}, "'backend' must be one of vivado, vitis, verilog, got 'quartus'"),
    ({"io_type": "io_axi"}, "'io_type' must be one of io_parallel, io_stream, got 'io_axi'"),
    ({"strategy": 3}, "'strategy' must be one of latency, resource, distributed_arithmetic, got 3"),
    ({"reuse_factor": 0}, "'reuse_factor' must be an integer >= 1, got 0"),
    ({"reuse_factor": True}, "'reuse_factor' must be an integer >= 1, got True"),
    ({"clock_period_ns": -1}, "'clock_period_ns' must be a number > 0.0, got -1.0"),
    ({"precision": {"default": {"weight": "ap_fixed<8"}}},
     "'precision.default.weight': invalid fixed-point type 'ap_fixed<8': expected ap_fixed<W,I[,Q[,O[,N]]]>"),
    ({"precision": {"layers": {"fc1": {"result": "ap_fixed<200,2>"}}}},
     "'precision.layers.fc1.result': invalid fixed-point type 'ap_fixed<200,2>': width 200 must be in 1..128"),
    ({"precision": {"default": {"rounding": "nearest"}}},
     "'precision.default.rounding' must be one of AP_TRN, AP_TRN_ZERO, AP_RND"),
    ({"precision": {"default": {"table_size": 1000}}},
     "'precision.default.table_size' must be a power of two (e.g. 256, 1024), got 1000"),
    ({"precision": {"default": {"table_size": "big"}}},
     "'precision.default.table_size' must be auto or a power of two (e.g. 256, 1024), got 'big'"),
    ({"precision": {"default": {"weight_width": 0}}}, "'precision.default.weight_width' must be an integer 1..128"),
    ({"search": {"metric": "f1"}}, "'search.metric' must be one of argmax, max_abs, got 'f1'"),
    ({"search": {"enabled": "yes"}}, "'search.enabled' must be true or false, got 'yes'"),
    ({"passes": {"disable": ["fold_everything"]}}, "unknown pass 'fold_everything' in 'passes.disable'; valid "
                                                    "passes: exact_weight_types, carry_scales, fold_transpose,"),
    ({"passes": {"add": "prune"}}, "'passes.add' must be a list of pass names, got 'prune'"),
    ({"precision": ["a"]}, "'precision' must be a mapping, got list"),
])
def test_bad_keys_and_values(data, message):
    with pytest.raises(ConfigError) as info:
        load_config(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file '.*missing.yml' does not exist"):
        load_config(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("backend: vivado\n  part: [unclosed\n")
    with pytest.raises(ConfigError, match=r"config file '.*bad.yml' is not valid YAML \(line \d+\)"):
        read_yaml(bad)
    listy = tmp_path / "list.yml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping of keys, got list"):
        load_config(listy)
    keyed = tmp_path / "key.yml"
    keyed.write_text("precision:\n  default:\n    wieght: auto\n")
    with pytest.raises(ConfigError, match=r"^config '.*key.yml': unknown key 'wieght' in 'precision.default'"):
        load_config(keyed)


def test_default_precision_option():
    cfg = load_config({"precision": {"layers": {"fc1": {"weight": "ap_fixed<4,1>"}}}})
    apply_default_precision(cfg, "fixed<10, 3, RND>")
    assert (cfg.precision.weight, cfg.precision.bias, cfg.precision.result) == ("ap_fixed<10,3,AP_RND>",) * 3
    assert cfg.precision_input == "ap_fixed<10,3,AP_RND>" and cfg.precision.accum == "auto"
    assert cfg.precision_for("fc1", "Dense").weight == "ap_fixed<4,1>"  # per-layer entries still win
    with pytest.raises(ConfigError, match="--precision: '--precision': invalid fixed-point type 'fixed<10>'"):
        apply_default_precision(cfg, "fixed<10>")


def test_table_size_defaults_to_auto_and_round_trips():
    assert Config().precision.table_size == "auto"
    cfg = load_config({"precision": {"default": {"table_size": "AUTO"}, "layers": {"sig": {"table_size": 256}}}})
    assert cfg.precision.table_size == "auto" and cfg.precision_for("sig", "Activation").table_size == 256
    assert load_config(config_to_dict(cfg)) == cfg
