"""Command-line options `nn2hls explore` and `nn2hls explore-compress` share, in one place.

Both scans write a results folder that a later run with the same scan resumes (`--force` starts over),
and run on Ray (a local instance of `--num-cpus` CPUs, or the cluster at `--address` / $RAY_ADDRESS) or
serially; each point or trial declares the CPUs it needs. DESIGN.md fixes the option names.
"""
from __future__ import annotations

import argparse

from nn2hls.errors import ConfigError


def add_results_folder(p: argparse.ArgumentParser) -> None:
    """-o/--output DIR: the scan's results folder."""
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="results folder (resumed when it holds "
                   "the same scan)")


def add_engine(p: argparse.ArgumentParser, engines: tuple[str, ...], engine_help: str, unit: str,
               unit_help: str) -> None:
    """--engine, --address, --num-cpus and --cpus-per-UNIT (UNIT: what one Ray task runs, a point or a trial)."""
    p.add_argument("--engine", choices=engines, default="ray", help=engine_help)
    p.add_argument("--address", metavar="RAY", help="address of a running Ray cluster (default: $RAY_ADDRESS, "
                   "else a local Ray instance)")
    p.add_argument("--num-cpus", type=int, metavar="N", help="CPUs of the local Ray instance (default: all)")
    p.add_argument(f"--cpus-per-{unit}", type=float, default=1.0, metavar="C", help=unit_help)


def add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="start over in a DIR holding another scan")


def check_num_cpus(num_cpus: int | None) -> None:
    """ConfigError naming --num-cpus when it is given and below 1."""
    if num_cpus is not None and num_cpus < 1:
        raise ConfigError(f"--num-cpus is {num_cpus}: give at least 1")

