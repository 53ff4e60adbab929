"""``python -m rnnlib bench``: what learners feel, measured as ratios side by side in one run.

Sections (one module each): 0 :mod:`.threads`, 1 :mod:`.training_overhead`, 2 :mod:`.diagnostics_cost`,
3 :mod:`.widget_latency`, 4 :mod:`.notebook_run`, 5 :mod:`.seed_run`, 6 :mod:`.kernels`; :mod:`.timing`
times candidates alternately, :mod:`.report` writes the table, ``results.md`` and the figure, and
:mod:`.runner` runs them all (:func:`~rnnlib.benchmarks.runner.run_benchmarks`).

This module stays light (the command line imports it on every call); the benchmarks load on use.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("benchmarks")


def add_bench_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to the ``python -m rnnlib`` parser."""
    parser = subparsers.add_parser(
        "bench", help="measure training, diagnostics, labs, notebooks and the seed's run (ratios)",
        description="Run the benchmarks (a few minutes on 2 CPU cores), print the table and write "
                    "results.md and results.png into --out. --quick: tiny sizes, one repetition, "
                    "written as quick-results.* (a smoke run; its numbers mean little).",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (a smoke run)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the results (default: benchmarks)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: section 0 of the results shows why)")
    parser.set_defaults(handler=bench_command)
    return parser


def bench_command(args: argparse.Namespace) -> int:
    from .runner import run_benchmarks

    run_benchmarks(args.out, quick=args.quick, threads=args.threads)
    return 0
