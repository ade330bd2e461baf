"""The 48-point jet MLP scan on Ray gives, point for point, the serial engine's numbers.

Local: a Ray instance of the test's own (2 CPUs). Slow: a two-node cluster started on this machine
with `ray start --head` and a second `ray start --address=...` (one CPU each, token authentication
with a token made for the test), reached through RAY_ADDRESS by the CLI; both nodes are stopped in
teardown by signalling the `ray start --block` processes the test started (and their process groups).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'nn2hls[explore]')")

import nn2hls  # noqa: E402


def _comparable(row):
    return {k: v for k, v in row.items() if k != "eval_s"}


def test_local_ray_matches_serial_point_for_point(serial_scan, jet, tmp_path):
    result = nn2hls.explore(jet["model"], jet["x_path"], jet["space"], tmp_path / "ray", labels=jet["y_path"],
                            engine="ray", num_cpus=2)
    assert result.engine == "ray" and result.cpus == 2
    assert (result.evaluated, result.failed, len(result.rows)) == (48, 0, 48)
    assert [_comparable(r) for r in result.rows] == [_comparable(r) for r in serial_scan.rows]
    assert result.pareto_front == serial_scan.pareto_front and result.best == serial_scan.best
    assert (tmp_path / "ray" / "best_config.yml").read_text() == (serial_scan.out_dir / "best_config.yml").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_node_cluster(tmp_path, monkeypatch):
    """A head and a worker node on this machine; yields the head's address."""
    ray_exe = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    if not Path(ray_exe).exists():
        pytest.skip("the `ray` command is not installed beside this Python")
    token = tmp_path / "ray_token"
    token.write_text(secrets.token_hex(32))
    root = str(Path(nn2hls.__file__).resolve().parents[1])  # the workers import this nn2hls
    env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    address = f"127.0.0.1:{_free_port()}"
    common = ["--num-cpus=1", "--block", "--disable-usage-stats"]
    procs: list[subprocess.Popen] = []
    logs = []

    def start(args: list[str], log: str) -> None:
        logs.append(open(tmp_path / log, "w"))
        procs.append(subprocess.Popen([ray_exe, "start", *args, *common], stdout=logs[-1], stderr=subprocess.STDOUT,
                                      start_new_session=True))

    # one process (Ray imported once) waits for both nodes: connect when the head is up, then poll
    wait = ("import sys, time, ray\n"
            "deadline = time.monotonic() + 150\n"
            "while True:\n"
            "    try:\n"
            "        ray.init(address=%r, logging_level='ERROR', log_to_driver=False); break\n"
            "    except Exception:\n"
            "        if time.monotonic() > deadline: sys.exit(1)\n"
            "        time.sleep(2)\n"
            "while sum(n['Alive'] for n in ray.nodes()) < 2:\n"
            "    if time.monotonic() > deadline: sys.exit(1)\n"
            "    time.sleep(1)\n" % address)

    try:
        start(["--head", f"--port={address.split(':')[1]}", "--include-dashboard=false"], "head.log")
        start([f"--address={address}"], "worker.log")
        done = subprocess.run([sys.executable, "-c", wait], capture_output=True, text=True, timeout=200)
        if done.returncode != 0 or any(p.poll() is not None for p in procs):
            pytest.fail("the two-node Ray cluster did not come up: " + (tmp_path / "head.log").read_text()[-800:])
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)  # whatever of this node's own process group is left
            except ProcessLookupError:
                pass
        for handle in logs:
            handle.close()


@pytest.mark.slow
def test_two_node_cluster_matches_serial(serial_scan, jet, tmp_path, two_node_cluster):
    # the CLI in a process of its own: Ray reads the authentication settings once per process
    space = tmp_path / "space.yml"
    space.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in jet["space"].items()))
    done = subprocess.run([sys.executable, "-m", "nn2hls", "explore", str(jet["model"]), "--input", str(jet["x_path"]),
                           "--labels", str(jet["y_path"]), "--space", str(space), "-o", str(tmp_path / "cluster"),
                           "--json", "-q"], env=dict(os.environ, RAY_ADDRESS=two_node_cluster),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["cpus"] == 2 and summary["evaluated"] == 48 and summary["failed"] == 0
    rows = json.loads((tmp_path / "cluster" / "results.json").read_text())["points"]
    assert [_comparable(r) for r in rows] == [_comparable(r) for r in serial_scan.rows]
