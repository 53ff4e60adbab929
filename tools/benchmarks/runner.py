"""Run every benchmark, print the table, write ``results.md`` and ``results.png``
(``python -m tools.benchmarks [--quick] [--out DIR] [--threads N]``).

The full run takes a few minutes on 2 CPU cores; ``--quick`` uses tiny sizes and one repetition
(seconds), writes ``quick-results.*`` so it never overwrites the full results, and is what the smoke
test runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from rnnlib.compare import ARCHS
from rnnlib.data import sentiment_task
from rnnlib.training import set_threads

from . import (
    DEFAULT_OUT,
    clipping_batch,
    diagnostics_cost,
    kernels,
    notebook_run,
    seed_run,
    training_overhead,
    widget_latency,
)
from .report import format_table, write_results
from .threads import thread_note, thread_scaling
from .timing import Row, machine_description


@dataclass(frozen=True)
class Sizes:
    """How big and how often: the full run and the quick smoke run differ only here."""

    repeats: int = 3
    warmup: int = 1
    training_repeats: int = 5  # its ratios sit close to their target: more pairs
    sentences: int = 2000  # sentiment sentences for the training benchmarks
    epochs: int = 2  # per timed fit / bare-loop call
    seed_epochs: int = 20  # the seed's run
    seed_repeats: int = 3
    diag_archs: tuple[str, ...] = ("rnn", "gru", "lstm")
    diag_times: tuple[int, ...] = (50, 100, 200)
    diag_hiddens: tuple[int, ...] = (64, 256)
    batch: int = 64
    time: int = 100
    inputs: int = 32
    hidden: int = 64
    roofline_hiddens: tuple[int, ...] = (64, 256)
    thread_hidden: int = 256
    notebooks: bool = True


FULL = Sizes()
QUICK = Sizes(
    repeats=1, warmup=0, training_repeats=1, sentences=200, epochs=1, seed_epochs=1, seed_repeats=1,
    diag_archs=("lstm",), diag_times=(10,), diag_hiddens=(8,), batch=8, time=10, inputs=4, hidden=8,
    roofline_hiddens=(8,), thread_hidden=8, notebooks=False,
)


def run_benchmarks(
    out: str | Path = DEFAULT_OUT, *, quick: bool = False, threads: int = 1,
    log: Callable[[str], None] = print,
) -> list[Row]:
    """Run every benchmark with ``threads`` torch threads; print and write the results into ``out``.

    Returns the table's rows (each value a positive number: a ratio, seconds or a percentage).
    """
    sizes = QUICK if quick else FULL
    threads = set_threads(threads)
    # the first optimiser a process builds imports torch's compiler stack (about 1.5 s): not timed
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    machine = machine_description(threads)
    task = sentiment_task(n=sizes.sentences)
    notes: list[str] = []
    rows: list[Row] = []

    def section(name: str, make_rows: Callable[[], list[Row]]) -> None:
        start = time.perf_counter()
        new = make_rows()
        rows.extend(new)
        log(f"{name}: {time.perf_counter() - start:.0f} s")
        if new:
            log(format_table(new) + "\n")

    reps = {"repeats": sizes.repeats, "warmup": sizes.warmup}
    # quick: the layer only; a 2-thread training epoch can take seconds when the other core is busy
    section("thread scaling", lambda: thread_scaling(
        None if quick else task, hidden=sizes.thread_hidden, time=sizes.time, **reps))
    notes.append(thread_note(rows, threads))
    section("training-loop overhead", lambda: training_overhead.training_overhead(
        task, ARCHS, epochs=sizes.epochs, repeats=sizes.training_repeats, warmup=sizes.warmup))
    section("diagnostics cost", lambda: diagnostics_cost.diagnostics_cost(
        sizes.diag_archs, times=sizes.diag_times, hiddens=sizes.diag_hiddens, batch=sizes.batch, **reps))
    section("lab latency", lambda: widget_latency.widget_latency(quick=quick, repeats=sizes.repeats))
    section("clipping lab, batched runs", lambda: clipping_batch.clipping_batch(
        time=sizes.time // 2, hidden=sizes.hidden, repeats=sizes.training_repeats, warmup=sizes.warmup))
    if sizes.notebooks:
        def notebooks() -> list[Row]:
            found, note = notebook_run.notebook_times()
            if note:
                notes.append(note)
            return found

        section("notebooks", notebooks)
    else:
        notes.append("notebooks: not run in quick mode")
    section("the seed's run", lambda: seed_run.seed_run(
        sentiment_task() if quick else task, epochs=sizes.seed_epochs, repeats=sizes.seed_repeats, warmup=0))
    section("scratch vs fused", lambda: kernels.scratch_vs_fused(
        ARCHS, batch=sizes.batch, time=sizes.time, inputs=sizes.inputs, hidden=sizes.hidden, **reps))
    section("fused LSTM vs matmul", lambda: kernels.fused_lstm_roofline(
        batch=sizes.batch, time=sizes.time, inputs=sizes.inputs, hiddens=sizes.roofline_hiddens, **reps))

    command = "python -m tools.benchmarks" + (" --quick" if quick else "")
    md_path, png_path = write_results(
        Path(out), "quick-results" if quick else "results", rows, machine, notes, command=command
    )
    log(f"\nwrote {md_path} and {png_path}")
    return rows
