"""Do LSTMs learn dependencies of hundreds of steps? Measured on the long-range task, outside the notebooks.

Each run trains one model (``rnnlib.audit.memory_run``: embedding 16, hidden 32, Adam 1e-2, clipping
at 1.0, batch 64; the LSTM with forget-gate bias 3) with the deciding word ``d`` steps before the end,
and records its test accuracy every ``--eval-every`` steps. A run counts as solved at 90 % test accuracy
(chance is 50 %). Results go to ``tools/results/long_range.md`` (the table, with the command, date, run
time and versions) and ``long_range.csv`` (every checkpoint); notebook 05 reads and shows them.

Run from a checkout (minutes on two CPU cores)::

    python tools/long_range.py                        # the committed results
    python tools/long_range.py --distances 100 --seeds 0 --max-steps 200   # a quick look
"""

from __future__ import annotations

import argparse
import csv
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from rnnlib import __version__, set_threads
from rnnlib.audit import MEMORY_COLUMNS, memory_rows, memory_run, memory_table

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="+", default=["lstm"], choices=["rnn", "gru", "lstm", "bilstm"])
    parser.add_argument("--distances", nargs="+", type=int, default=[50, 100])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--n-train", type=int, default=3200)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these sizes)")
    parser.add_argument("--out", type=Path, default=RESULTS / "long_range", help="path without suffix: .md and .csv")
    args = parser.parse_args(argv)

    threads = set_threads(args.threads)
    start = time.perf_counter()
    runs = []
    for distance in args.distances:
        for arch in args.archs:
            for seed in args.seeds:
                run = memory_run(arch, distance, seed=seed, max_steps=args.max_steps, eval_every=args.eval_every,
                                 n_train=args.n_train, progress=True)
                runs.append(run)
                print(f"{arch} d={distance} seed={seed}: solved at {run.solved_at}, final {run.final:.1%}, "
                      f"{run.seconds:.0f} s", flush=True)
    total = time.perf_counter() - start

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.with_suffix(".csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MEMORY_COLUMNS)
        writer.writeheader()
        writer.writerows(memory_rows(runs))
    command = "python tools/long_range.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    settings = runs[0].settings
    args.out.with_suffix(".md").write_text(
        "**Long-range task: can an LSTM carry the deciding word across d steps?**\n\n"
        f"- command: `{command.strip()}` (from a checkout of the repository)\n"
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; run time {total / 60:.1f} min "
        f"on {threads} thread(s) of a shared {platform.machine()} machine (other jobs were running: "
        "times are not benchmarks)\n"
        f"- rnnlib {__version__}, torch {torch.__version__}, Python {platform.python_version()}\n"
        f"- each run: embedding {settings['embed_dim']}, hidden {settings['hidden_dim']}, Adam lr {settings['lr']:g}, "
        f"clipping at {settings['max_norm']:g}, batch {settings['batch_size']}, {settings['n_train']} training and "
        f"{settings['n_test']} test sentences, test accuracy every {settings['eval_every']} steps up to "
        f"{settings['max_steps']}; solved = test accuracy ≥ 90 % (chance 50 %)\n\n"
        + memory_table(runs) + "\n"
    )
    print(f"\nwrote {args.out.with_suffix('.md')} and .csv in {total / 60:.1f} min")


if __name__ == "__main__":
    main()
