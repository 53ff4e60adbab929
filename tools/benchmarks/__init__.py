"""``python -m tools.benchmarks`` (``make bench``): what learners feel, measured as ratios side by side in one run.

Sections (one module each): 0 :mod:`.threads`, 1 :mod:`.training_overhead`, 2 :mod:`.diagnostics_cost`,
3 :mod:`.widget_latency` and :mod:`.clipping_batch`, 4 :mod:`.notebook_run`, 5 :mod:`.seed_run`,
6 :mod:`.kernels`; :mod:`.timing` times candidates alternately, :mod:`.report` writes the table,
``results.md`` and the figure, and :mod:`.runner` runs them all (:func:`~tools.benchmarks.runner.run_benchmarks`).

Run from a checkout (the benchmarks are not part of the installed package); this module stays light,
the benchmarks load on use.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("benchmarks")


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m tools.benchmarks`` command line."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.benchmarks",
        description="Run the benchmarks (a few minutes on 2 CPU cores), print the table and write "
                    "results.md and results.png into --out. --quick: tiny sizes, one repetition, "
                    "written as quick-results.* (a smoke run; its numbers mean little).",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (a smoke run)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the results (default: benchmarks)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: section 0 of the results shows why)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .runner import run_benchmarks

    run_benchmarks(args.out, quick=args.quick, threads=args.threads)
    return 0
