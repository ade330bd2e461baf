"""Build hook: ship the repository's data folders inside the wheel.

`templates/`, `hls_lib/` and `example_models/` live at the repository root (see DESIGN.md's layout);
a regular (non-editable) install copies them into the installed package as `nn2hls/_data/<folder>`,
where `nn2hls.resources` finds them. An editable install reads them from the repository directly.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("templates", "hls_lib", "example_models")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "nn2hls" / "_data"
        for folder in DATA_FOLDERS:
            source = root / folder
            if source.is_dir():
                shutil.copytree(source, target / folder, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithData})
