"""Locate the data folders shipped with nn2hls (templates, hls_lib, example_models).

Rule: an installed wheel carries them in `nn2hls/_data/<folder>` (copied by setup.py); an editable
install or a source checkout reads them from the repository root next to the package.
"""
from __future__ import annotations

from pathlib import Path

from nn2hls.errors import Nn2hlsError

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(folder: str) -> Path:
    """Return the directory of a shipped data folder ('templates', 'hls_lib' or 'example_models')."""
    for candidate in (_PACKAGE_DIR / "_data" / folder, _PACKAGE_DIR.parent / folder):
        if candidate.is_dir():
            return candidate
    raise Nn2hlsError(f"nn2hls data folder '{folder}' is missing from the installation; reinstall nn2hls")


def templates_dir() -> Path:
    return data_dir("templates")


def hls_lib_dir() -> Path:
    return data_dir("hls_lib")


def example_models_dir() -> Path:
    return data_dir("example_models")
