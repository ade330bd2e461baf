"""Generated HLS project: layout, determinism, relocatability, sparsity of the emitted arrays,
escaping of source names, golden files, build_prj.tcl under tclsh, and the C++ testbench."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import backend_models  # noqa: E402
from nn2hls.backends.vivado import write_project  # noqa: E402
from nn2hls.config import Config  # noqa: E402
from nn2hls.errors import ConfigError  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "tiny"
REGEN = os.environ.get("NN2HLS_REGEN_GOLDEN") == "1"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _array(text: str, name: str) -> list[str]:
    m = re.search(r"NN2HLS_CONST \S+ " + name + r"\[(\d+)\] = \{(.*?)\};", text, re.S)
    assert m, f"array {name} not found"
    values = [v.strip() for v in m.group(2).replace("\n", " ").split(",") if v.strip()]
    assert len(values) == int(m.group(1))
    return values


def test_layout_and_determinism(tmp_path):
    g = backend_models.tiny_mlp()
    a = write_project(g, Config(), tmp_path / "a", tb_input=np.zeros((2, 4)), tb_output=np.zeros((2, 2)))
    b = write_project(g.copy(), Config(), tmp_path / "deeper" / "b", tb_input=np.zeros((2, 4)),
                      tb_output=np.zeros((2, 2)))
    fa, fb = _files(a), _files(b)
    assert fa == fb  # byte-identical wherever it is written
    expected = {"build_prj.tcl", "README.md", "nn2hls_project.json", "firmware/tiny.cpp", "firmware/tiny.h",
                "firmware/tiny_types.h", "firmware/tiny_layers.h", "firmware/layer_fc1.cpp",
                "firmware/layer_relu1.cpp", "firmware/layer_fc2.cpp", "firmware/nn2hls/nn2hls_dense.h",
                "tb/tiny_test.cpp", "tb_data/tb_input.dat", "tb_data/tb_output.dat", "csim/tiny_batch.cpp"}
    assert expected <= set(fa)
    assert not any(name.startswith("firmware/") and name.endswith(("ap_fixed.h", "ap_int.h")) for name in fa)
    for name, data in fa.items():
        text = data.decode()
        assert str(tmp_path) not in text and "/work/" not in text and "/tmp/" not in text, name
    types = fa["firmware/tiny_types.h"].decode()
    assert "typedef ap_fixed<10,4,AP_RND,AP_SAT> x_result_t;" in types
    assert "typedef ap_fixed<24,9> fc1_accum_t;" in types


def test_golden_project(tmp_path):
    project = write_project(backend_models.tiny_mlp(), Config(), tmp_path / "tiny")
    files = {k: v for k, v in _files(project).items() if not k.startswith("firmware/nn2hls/")}
    if REGEN:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, data in files.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    golden = _files(GOLDEN)
    assert set(files) == set(golden), "regenerate with NN2HLS_REGEN_GOLDEN=1 after an intended change"
    for name in files:
        assert files[name].decode() == golden[name].decode(), name


def test_sparse_lists_hold_exactly_the_nonzero_weights(tmp_path):
    rng = np.random.default_rng(5)
    g = backend_models.pruned_dense(rng)
    kernel = g["dense"].weights["kernel"]
    project = write_project(g, Config(), tmp_path / "p")
    text = (project / "firmware" / "layer_dense.cpp").read_text()
    nz = kernel[kernel != 0]
    mant = np.frexp(np.abs(nz))[0]
    n_add, n_sub = int(np.sum(nz == 1)), int(np.sum(nz == -1))
    n_p2 = int(np.sum((mant == 0.5) & (np.abs(nz) != 1)))
    n_mul = nz.size - n_add - n_sub - n_p2
    assert n_add > 0 and n_sub > 0 and n_p2 > 0 and n_mul > 0
    assert nz.size < 0.3 * kernel.size
    counts = {k: len(_array(text, f"{k}_idx")) if n else 0 for k, n in
              (("mul", n_mul), ("p2", n_p2), ("add", n_add), ("sub", n_sub))}
    assert counts == {"mul": n_mul, "p2": n_p2, "add": n_add, "sub": n_sub}
    weights = [float(v) for v in _array(text, "mul_w")]
    assert len(weights) == n_mul  # one general product per nonzero non-trivial weight, no more
    assert all(w != 0 and abs(w) != 1 and np.frexp(abs(w))[0] != 0.5 for w in weights)
    assert all(np.frexp(abs(float(v)))[0] == 0.5 for v in _array(text, "p2_w"))
    # the block calls walk every row once, entries in increasing input index: rebuild the kernel
    rebuilt = _rebuild_dense(text, kernel.shape)
    np.testing.assert_array_equal(rebuilt, kernel)
    import json
    manifest = json.loads((project / "nn2hls_project.json").read_text())
    assert manifest["layer_products"]["dense"] == n_mul


BLOCK_CALL = re.compile(r"nn2hls::(mac_full_rows|add_full_rows|mac_rows|add_rows)<([^>]*)>"
                        r"\(acc, xp, (\w+?)_out \+ (\d+)"
                        r"(?:, \w+_chunks \+ (\d+))?(?:, \w+_idx \+ (\d+))?(?:, \w+_w \+ (\d+))?\);")


def _rebuild_dense(text: str, shape: tuple[int, int]) -> np.ndarray:
    """The kernel a Dense layer's emitted block calls and arrays add up to (nn2hls_dense.h semantics)."""
    rebuilt = np.zeros(shape)
    calls = BLOCK_CALL.findall(text)
    assert calls
    for function, args, kind, row0, chunk0, idx0, w0 in calls:
        values = [v.strip() for v in args.split(",")]
        sign = {"false": 1.0, "true": -1.0}.get(values[0])
        numbers = [int(v) for v in values[1 if sign is not None else 0:]]
        out = [int(v) for v in _array(text, f"{kind}_out")]
        w = [float(v) for v in _array(text, f"{kind}_w")] if sign is None else None
        full = function.endswith("full_rows")
        idx = None if full else [int(v) for v in _array(text, f"{kind}_idx")]
        chunks = None if full else [int(v) for v in _array(text, f"{kind}_chunks")]
        count = numbers[-1]
        k_idx, k_w = int(idx0 or 0), int(w0 or 0)
        for r in range(count):
            o = out[int(row0) + r]
            if full:
                n_in = numbers[0]
                inputs = list(range(n_in))
            else:
                t, rest, q_min, q_max = numbers[:4]
                q = chunks[int(chunk0) + r]
                assert q_min <= q <= q_max
                length = q * t + rest
                inputs = idx[k_idx:k_idx + length]
                k_idx += length
                assert inputs == sorted(inputs) and len(set(inputs)) == length
            for i in inputs:
                assert rebuilt[i, o] == 0, "an entry appears twice"
                rebuilt[i, o] = w[k_w] if w is not None else sign
                k_w += 1
    return rebuilt


NASTY = ('in"put*/', "fc;1\n/*x*/", "relu\\n'1", "out */ ;\r\nint main(){}")


def test_names_are_escaped(tmp_path):
    g = backend_models.tiny_mlp(names=NASTY, model='my "model"*/')
    project = write_project(g, Config(), tmp_path / "n")
    for name, data in _files(project).items():
        text = data.decode()
        for raw in NASTY:
            assert raw not in text, (name, raw)
        if name.endswith((".cpp", ".h")):
            assert "*/" not in text and "/*" not in text, name
            code = "\n".join(line.split("//")[0] for line in text.splitlines())
            if not name.startswith("tb/"):
                assert not re.search(r"\bmain\s*\(", code), name  # the injected text only survives inside // comments


def _tcl_commands(project: Path, edits: dict[str, str] | None = None, argv: str = "") -> list[str]:
    script = (project / "build_prj.tcl").read_text()
    for old, new in (edits or {}).items():
        assert old in script
        script = script.replace(old, new)
    (project / "edited.tcl").write_text(script)
    stubs = "\n".join(f"proc {p} {{args}} {{ puts \"{p} $args\" }}" for p in (
        "open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock", "csim_design",
        "csynth_design", "cosim_design", "export_design", "config_export", "set_clock_uncertainty",
        "config_schedule", "config_array_partition"))
    driver = (stubs + f"\nset argv [list {{{argv}}}]\nrename exit real_exit\nproc exit {{{{code 0}}}} {{ puts [expr {{$code ? \"exit $code\" : \"exit\"}}] }}"
              "\nsource edited.tcl\n")
    run = subprocess.run(["tclsh"], input=driver, capture_output=True, text=True, cwd=project, timeout=60)
    assert run.returncode == 0, run.stderr
    return [line.strip() for line in run.stdout.splitlines()]


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
def test_build_prj_tcl_under_tclsh(tmp_path):
    cfg = Config(part="xc7z020clg400-1", clock_period_ns=4.0)
    project = write_project(backend_models.tiny_mlp(), cfg, tmp_path / "t")
    cmds = _tcl_commands(project)
    assert cmds[0] == "open_project -reset tiny_prj"
    assert cmds[1] == "set_top tiny"
    adds = [c for c in cmds if c.startswith("add_files")]
    assert adds[0].startswith("add_files firmware/tiny.cpp")
    assert {a.split()[1] for a in adds} >= {"firmware/layer_fc1.cpp", "firmware/layer_relu1.cpp",
                                            "firmware/layer_fc2.cpp", "-tb"}
    assert any(a.startswith("add_files -tb tb/tiny_test.cpp") for a in adds)
    assert "open_solution -reset solution1" in cmds
    assert "set_part xc7z020clg400-1" in cmds
    assert "create_clock -period 4 -name default" in cmds
    steps = [c for c in cmds if c.endswith("_design") or c.startswith("export_design")]
    assert steps == ["csim_design", "csynth_design"]
    assert cmds[-1] == "exit"
    steps = [c.split()[0] for c in _tcl_commands(project, {"set CSIM 1": "set CSIM 0", "set COSIM 0": "set COSIM 1",
                                                           "set EXPORT 0": "set EXPORT 1"})
             if "_design" in c]
    assert steps == ["csynth_design", "cosim_design", "export_design"]
    vitis = write_project(backend_models.tiny_mlp(), Config(backend="vitis"), tmp_path / "v")
    vcmds = _tcl_commands(vitis)
    assert "open_solution -reset -flow_target vivado solution1" in vcmds
    assert "config_export -format ip_catalog" in vcmds
    assert "mode=ap_vld" in (vitis / "firmware" / "tiny.cpp").read_text()
    assert "vitis_hls -f build_prj.tcl" in (vitis / "README.md").read_text()


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
def test_build_prj_tcl_steps_from_argv_and_production_settings(tmp_path):
    """`vivado_hls -f build_prj.tcl "csim=0 synth=1 ..."`: the steps come from argv; clock uncertainty,
    full DSP registers off, array partition limit on Vivado HLS only; the Vitis project also gets the
    v++ / vitis-run configuration of the same flow."""
    project = write_project(backend_models.tiny_mlp(), Config(part="xc7z020clg400-1", clock_period_ns=4.0),
                            tmp_path / "t")
    steps = [c for c in _tcl_commands(project, argv="csim=0 synth=1 cosim=1 export=0 vsynth=1")
             if c.startswith(("csim_design", "csynth_design", "cosim_design", "export_design"))]
    assert steps == ["csynth_design", "cosim_design", "export_design -flow syn -rtl verilog -format ip_catalog"]
    cmds = _tcl_commands(project)
    assert "set_clock_uncertainty 12.5% default" in cmds
    assert "config_schedule -enable_dsp_full_reg=false" in cmds
    assert "config_array_partition -maximum_size 65536" in cmds
    bad = _tcl_commands(project, argv="csim=0 synthesis=1")
    assert any("unknown argument 'synthesis=1'" in line for line in bad) and "exit 2" in bad
    vitis = write_project(backend_models.tiny_mlp(), Config(backend="vitis", part="xc7z020clg400-1"), tmp_path / "v")
    vcmds = _tcl_commands(vitis)
    assert not any(c.startswith("config_array_partition") for c in vcmds)
    assert "config_schedule -enable_dsp_full_reg=false" in vcmds
    cfg = (vitis / "hls_config.cfg").read_text().splitlines()
    assert "part=xc7z020clg400-1" in cfg and "syn.top=tiny" in cfg and "clock_uncertainty=12.5%" in cfg
    assert "syn.file=firmware/layer_fc1.cpp" in cfg and "tb.file=tb/tiny_test.cpp" in cfg
    assert not (project / "hls_config.cfg").exists()


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="backend"):
        write_project(backend_models.tiny_mlp(), Config(backend="quartus"), tmp_path / "q")
    with pytest.raises(ConfigError, match="io_type"):
        write_project(backend_models.tiny_mlp(), Config(io_type="io_axi"), tmp_path / "q")


@pytest.mark.csim
def test_testbench_passes_and_detects_a_flipped_bit(tmp_path):
    from nn2hls.csim.toolchain import find_compiler
    from nn2hls.emulate import emulate
    from nn2hls.resources import hls_lib_dir
    g = backend_models.tiny_mlp()
    x = np.random.default_rng(2).normal(size=(50, 4)) * 3
    expected = emulate(g, x).outputs
    project = write_project(g, Config(), tmp_path / "tb", tb_input=x, tb_output=expected)
    exe = project / "tb_run"
    subprocess.run([*find_compiler(), "-O1", "-std=c++20", "-I", str(hls_lib_dir()), "-o", str(exe),
                    "tb/tiny_test.cpp", *sorted(str(p.relative_to(project)) for p in (project / "firmware").glob("*.cpp"))],
                   cwd=project, check=True, capture_output=True)
    ok = subprocess.run([str(exe)], cwd=project, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    assert "50 samples, 0 mismatching" in ok.stdout
    lines = (project / "tb_data" / "tb_output.dat").read_text().splitlines()
    first = lines[7].split()
    first[1] = repr(float(first[1]) + 2.0 ** -6)  # one LSB of the output type
    lines[7] = " ".join(first)
    (project / "tb_data" / "tb_output.dat").write_text("\n".join(lines) + "\n")
    bad = subprocess.run([str(exe)], cwd=project, capture_output=True, text=True)
    assert bad.returncode == 1 and "1 mismatching" in bad.stdout and "sample 7 output 0[1]" in bad.stdout


@pytest.mark.csim
def test_nasty_names_compile_and_simulate_bit_exact(tmp_path):
    from nn2hls.csim import build
    from nn2hls.emulate import emulate
    g = backend_models.tiny_mlp(names=NASTY, model='my "model"*/')
    project = write_project(g, Config(), tmp_path / "n")
    x = np.random.default_rng(4).normal(size=(1000, 4)) * 3
    got = build(project).predict(x)
    np.testing.assert_array_equal(got, emulate(g, x).outputs[0])
    assert np.unique(got).size > 10
