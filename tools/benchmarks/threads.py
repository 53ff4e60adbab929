"""Benchmark 0: how many CPU threads to run with.

A recurrent layer runs many tiny matrix products, one per step; with two threads each one pays for
waking and synchronising the second thread, and when another process keeps a core busy (a browser, a
second notebook, parallel CI jobs) every product waits for that core. This measures one training
epoch and one larger fused LSTM step with 1 and with 2 threads, interleaved, on the machine as it is
and again while a neighbour process keeps one core busy, so the thread count the benchmarks (and
``set_threads``) use is a measured choice.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch

from rnnlib.data import Task
from rnnlib.models import build_model
from rnnlib.training import fit

from .timing import Row, time_interleaved

SECTION = "0. threads: 2 threads ÷ 1 thread (wall time)"


def with_threads(threads: int, work) -> None:
    """Run ``work()`` with ``threads`` torch threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        work()
    finally:
        torch.set_num_threads(before)


@contextmanager
def busy_neighbour() -> Iterator[None]:
    """Keep one core busy with a separate process (a spinning Python loop) while the block runs."""
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        neighbour.terminate()
        neighbour.wait()


def thread_scaling(task: Task | None, *, hidden: int, time: int, repeats: int, warmup: int) -> list[Row]:
    """Rows: a ``fit`` epoch of the seed-sized LSTM on ``task`` (skipped when ``None``), and forward +
    backward of a fused LSTM with ``hidden`` units on ``(64, time, 32)``; each time with 2 threads ÷
    time with 1."""
    torch.manual_seed(0)
    layer = build_model("lstm", input_dim=32, hidden_dim=hidden).rnn
    x = torch.randn(64, time, 32)

    def layer_step() -> None:
        layer.zero_grad(set_to_none=True)
        layer(x)[0].sum().backward()

    cases = [(f"fused LSTM forward+backward, B=64 T={time} H={hidden}", layer_step)]
    if task is not None:
        classifier = build_model("lstm", **task.model_kwargs())
        cases.insert(0, (f"fit epoch, LSTM H=64 ({len(task.train)} sequences)",
                         lambda: fit(copy.deepcopy(classifier), task.train, epochs=1, max_norm=5.0, progress=False)))
    rows = []
    for condition in ("machine as is", "one core kept busy"):
        for case, work in cases:
            with busy_neighbour() if condition == "one core kept busy" else _nothing():
                timings = time_interleaved(
                    {"2 threads": partial(with_threads, 2, work), "1 thread": partial(with_threads, 1, work)},
                    repeats=repeats, warmup=warmup,
                )
            rows.append(Row(
                SECTION, f"{case}, {condition}", timings.ratio("2 threads", "1 thread"),
                detail=f"2 threads {1e3 * timings.median('2 threads'):.1f} ms / "
                       f"1 thread {1e3 * timings.median('1 thread'):.1f} ms",
            ))
    return rows


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def thread_note(rows: list[Row], threads: int) -> str:
    """The results' note on the thread count, from the rows of :func:`thread_scaling`."""

    def span(condition: str) -> str:
        values = sorted(row.value for row in rows if row.case.endswith(condition))
        return f"{values[0]:.2g}–{values[-1]:.2g}×" if len(values) > 1 else f"{values[0]:.2g}×"

    return (
        f"threads: 2 threads took {span('machine as is')} the time of 1 with the machine as it was (load "
        f"average above), and {span('one core kept busy')} while another process kept one core busy "
        "(section 0). The course's small models gain little from an idle second core and lose much when it "
        "is busy, which on a learner's laptop or a CI runner it usually is: rnnlib.set_threads() defaults to "
        f"1 (RNNLIB_THREADS=2 for a quiet machine and larger models). This run used {threads}."
    )
