"""``python -m rnnlib <command>``: the command line.

Each subcommand is one ``add_<name>_parser(subparsers)`` function that adds its parser and sets
``handler`` (``args → exit status``) with ``set_defaults``; :func:`build_parser` lists them.
Errors a learner can fix end with ``error: ...``: exit status 2 for bad options or data (argparse's
own errors too), 1 for a training run that diverged.
A subcommand imports what it needs inside its own functions, so one command never loads another's modules.
The benchmarks and course-maintenance commands are not here: they run from a checkout (``tools/``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .training import TrainingDiverged, set_threads


def positive_int(text: str) -> int:
    return _integer(text, low=1)


def non_negative_int(text: str) -> int:
    return _integer(text, low=0)


def optional_float(text: str) -> float | None:
    """A number, or ``none`` for PyTorch's default initialisation."""
    if text.lower() in ("none", "default"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'none', got {text!r}") from None


def _integer(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}")
    return value


def add_compare_parser(subparsers) -> argparse.ArgumentParser:
    """``compare``: train the four architectures on one task and compare them (the seed's run)."""
    from .compare import ARCHS, TASKS

    parser = subparsers.add_parser(
        "compare",
        help="train RNN, GRU, LSTM and BiLSTM on one task and compare them (the seed's run)",
        description=(
            "Train each architecture with the same settings (the seed reset before each model), print "
            "per-epoch train/test loss and accuracy (or MSE), a final table, and save a chart. "
            "sentiment repeats the original script; long-range and adding use settings measured to "
            "separate the architectures. Options left out take the task's default (table below)."
        ),
        epilog=task_defaults_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--task", choices=TASKS, default="sentiment", help="which data set (default: sentiment)")
    parser.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS), metavar="ARCH",
                        help=f"architectures to train, in this order (default: {' '.join(ARCHS)})")
    parser.add_argument("--epochs", type=positive_int, help="epochs per model")
    parser.add_argument("--distance", type=non_negative_int, help="long-range: filler words after the deciding word")
    parser.add_argument("--length", type=positive_int, help="adding: sequence length T")
    parser.add_argument("--n-train", type=positive_int, help="long-range/adding: number of training sequences")
    parser.add_argument("--hidden", type=positive_int, help="hidden units")
    parser.add_argument("--embed", type=positive_int, help="embedding size (token tasks)")
    parser.add_argument("--lr", type=float, help="Adam learning rate")
    parser.add_argument("--clip", type=float, help="clip the global gradient norm to this value (0: off)")
    parser.add_argument("--forget-bias", type=optional_float, default=argparse.SUPPRESS,
                        help="LSTM/BiLSTM forget-gate bias, or 'none' for PyTorch's initialisation")
    parser.add_argument("--batch-size", type=positive_int, help="sequences per batch")
    parser.add_argument("--seed", type=non_negative_int, help="seed for model initialisation and batch order")
    parser.add_argument("--out", type=Path, default=Path("model_comparison.png"),
                        help="where to save the comparison chart (default: model_comparison.png)")
    parser.add_argument("--quiet", action="store_true", help="print only the final table")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (default: 1)")
    parser.set_defaults(handler=compare_command)
    return parser


#: CLI option → CompareSettings field, for the options that override a task default
COMPARE_OPTIONS = {
    "epochs": "epochs", "distance": "distance", "length": "length", "n_train": "n_train",
    "hidden": "hidden_dim", "embed": "embed_dim", "lr": "lr", "clip": "clip", "forget_bias": "forget_bias",
    "batch_size": "batch_size", "seed": "seed",
}


def task_defaults_table() -> str:
    """The per-task defaults, generated from :data:`rnnlib.compare.TASK_DEFAULTS`."""
    from .compare import TASKS

    rows = ["task defaults:" + "".join(f"{task:>12}" for task in TASKS)]
    for option, name in COMPARE_OPTIONS.items():
        cells = "".join(f"{_default(task, name):>12}" for task in TASKS)
        rows.append(f"  --{option.replace('_', '-'):<12}" + cells)
    return "\n".join(rows) + "\n(clip -: off; forget-bias -: PyTorch's initialisation)"


def _default(task: str, name: str) -> str:
    from .compare import TASK_DEFAULTS, UNUSED_SETTINGS

    if name in UNUSED_SETTINGS[task]:
        return ""
    value = getattr(TASK_DEFAULTS[task], name)
    return "-" if value is None else f"{value:g}"


def compare_command(args: argparse.Namespace) -> int:
    from .compare import comparison_chart, run_comparison, summary_table

    overrides = {
        name: getattr(args, option) for option, name in COMPARE_OPTIONS.items()
        if option in args and getattr(args, option) is not None
    }
    if "forget_bias" in args:  # given on the command line: 'none' (PyTorch's init) is a value too
        overrides["forget_bias"] = args.forget_bias
    if not args.out.parent.is_dir():  # fail before training, not after
        raise ValueError(f"--out: folder {str(args.out.parent)!r} does not exist")
    from .device import get_device, use_device

    use_device(get_device())  # the GPU when there is one, as setup() does in a notebook
    result = run_comparison(args.task, args.archs, log=None if args.quiet else print,
                            progress=not args.quiet, **overrides)
    if args.quiet:
        print(summary_table(result))
    comparison_chart(result, path=args.out)
    print(f"saved {args.out}")
    return 0


def add_lm_parser(subparsers) -> argparse.ArgumentParser:
    """``lm``: train a character language model on the standard library's sources, report and sample."""
    parser = subparsers.add_parser(
        "lm",
        help="train a character language model (notebook 06, longer) and write a report with samples",
        description=(
            "Train a character language model on the 'python' corpus (the installed standard library's "
            "sources) with truncated BPTT, then write a Markdown report: the command, date, run time, "
            "validation perplexity at each checkpoint, and samples at several temperatures."
        ),
    )
    parser.add_argument("--arch", choices=("rnn", "gru", "lstm"), default="lstm", help="architecture (default: lstm)")
    parser.add_argument("--corpus", choices=("python", "brackets"), default="python", help="text (default: python)")
    parser.add_argument("--n-chars", type=positive_int, default=2_000_000, help="characters of text (default: 2000000)")
    parser.add_argument("--steps", type=positive_int, default=3000, help="optimiser steps (default: 3000)")
    parser.add_argument("--hidden", type=positive_int, default=256, help="hidden units (default: 256)")
    parser.add_argument("--embed", type=positive_int, default=32, help="embedding size (default: 32)")
    parser.add_argument("--layers", type=positive_int, default=1, help="recurrent layers (default: 1)")
    parser.add_argument("--seq-len", type=positive_int, default=100, help="BPTT chunk length (default: 100)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="parallel streams (default: 32)")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default: 0.003)")
    parser.add_argument("--clip", type=float, default=1.0, help="clip the global gradient norm (0: off; default: 1.0)")
    parser.add_argument("--eval-every", type=positive_int, default=500, help="steps between checkpoints (default: 500)")
    parser.add_argument("--prompt", default="def ", help="text the samples start from (default: 'def ')")
    parser.add_argument("--length", type=positive_int, default=600, help="characters per sample (default: 600)")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.5, 0.8, 1.0],
                        help="sampling temperatures (default: 0.5 0.8 1.0)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("lm_report.md"), help="report file (default: lm_report.md)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (default: 1)")

    def handler(args: argparse.Namespace) -> int:
        from .lm_run import lm_command  # imported when the command runs: the CLI starts fast

        return lm_command(args)

    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rnnlib", description="rnnlib: recurrent networks, from the course notebooks."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="command", required=True)
    add_compare_parser(subparsers)
    add_lm_parser(subparsers)
    # Further subcommands register here, one add_<name>_parser(subparsers) call each.
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for an error the user can fix)."""
    args = build_parser().parse_args(argv)
    try:
        set_threads(args.threads if "threads" in args else None)
        return args.handler(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
