"""The package ships its data folders, so a regular (non-editable) install works.

Two independent checks: the wheel built from this checkout contains templates/, hls_lib/ and
example_models/ under nn2hls/_data; and when CI runs against its non-editable install
(NN2HLS_EXPECT_INSTALLED=1), nn2hls is imported from site-packages and finds its data there.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nn2hls
from nn2hls import resources

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_data_folders(tmp_path: Path) -> None:
    if not (REPO / "pyproject.toml").is_file():
        pytest.skip("not running from a source checkout")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("nn2hls-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for folder in ("templates", "hls_lib", "example_models"):
        repo_files = sorted(p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*")
                            if p.is_file() and "__pycache__" not in p.parts)
        assert repo_files, f"{folder}/ is empty in the checkout"
        for path in repo_files:
            assert f"nn2hls/_data/{path}" in names, f"{path} missing from the wheel"
    assert "nn2hls/cli.py" in names


def test_installed_package_finds_its_data() -> None:
    if os.environ.get("NN2HLS_EXPECT_INSTALLED") != "1":
        pytest.skip("NN2HLS_EXPECT_INSTALLED not set (only CI checks its non-editable install)")
    package_dir = Path(nn2hls.__file__).resolve().parent
    assert "site-packages" in package_dir.parts, f"nn2hls imported from {package_dir}, not the install"
    for folder in ("templates", "hls_lib", "example_models"):
        found = resources.data_dir(folder)
        assert found == package_dir / "_data" / folder
        assert any(found.iterdir())
