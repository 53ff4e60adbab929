"""Side-by-side timing: every benchmark figure is a ratio of two things timed in the same run.

Shared machines are noisy: another process can slow a run by 2× or more for a few seconds. So the
candidates of one comparison are timed in alternating order (A B B A A B ...), each several times,
and each is summarised by its median. A slow spell then hits both sides alike and one outlier does
not move the median.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from rnnlib.validation import check_int

#: The clock for ratios of single-threaded work: the CPU time of the calling thread, where torch does
#: all the work with one thread (forward, autograd's backward, the optimiser). On a shared machine a
#: neighbour that takes the core away for a while adds wall time to whichever side happens to run
#: then, but not CPU time; with one thread, CPU time is the wall time of a quiet machine. Not the
#: process's CPU time: an idle OpenMP worker left from a 2-thread run spins and would be counted.
#: Latencies, notebooks (other processes) and the thread comparison use wall time.
CPU_TIME = time.thread_time


@dataclass
class Row:
    """One line of the results table.

    ``value`` is a ratio (``unit="×"``), a time (``"s"``) or a share of a hardware limit (``"%"``).
    ``target``: the goal for ``value`` (``None``: reported, no target); ``higher_is_better`` says on
    which side of it a value passes. ``detail``: the measured times behind a ratio, in words.
    ``floor``: the best value any method can reach, measured beside it (e.g. torch's own kernel at the
    precision the result needs); a floor beyond the target says why the target cannot be met.
    """

    section: str
    case: str
    value: float
    unit: str = "×"
    target: float | None = None
    higher_is_better: bool = False
    detail: str = ""
    floor: float | None = None

    @property
    def unreachable(self) -> bool:
        """Is the target beyond the measured floor (so no method meets it)?"""
        if self.target is None or self.floor is None:
            return False
        return self.floor < self.target if self.higher_is_better else self.floor > self.target

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        return f"{'≥' if self.higher_is_better else '≤'} {self.target:g}{'' if self.unit == '×' else ' '}{self.unit}"


@dataclass
class Timings:
    """Seconds per repetition for each candidate, in the order they were measured."""

    seconds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def ratio(self, numerator: str, denominator: str) -> float:
        """The median over rounds of numerator ÷ denominator, each pair timed back to back.

        A pair shares the machine's state of the moment (a neighbour's load, the clock speed), so
        its ratio is steadier than the ratio of two medians taken over the whole run.
        """
        pairs = zip(self.seconds[numerator], self.seconds[denominator], strict=True)
        return statistics.median(a / b for a, b in pairs)


def time_interleaved(
    candidates: dict[str, Callable[[], object]],
    *,
    repeats: int,
    warmup: int = 1,
    setup: Callable[[str], object] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Timings:
    """Time each zero-argument callable ``repeats`` times, alternating the order every round.

    Round ``r`` runs the candidates forwards when ``r`` is even and backwards when odd, so neither
    side always runs first (warm caches, a neighbour's load that comes and goes). ``warmup`` untimed
    rounds come first (first-call allocations, lazy imports). ``setup`` runs untimed before every
    call with the candidate's name, e.g. to give it a freshly initialised model. ``clock``: wall time
    by default; :data:`CPU_TIME` for single-threaded work in this process (see there).
    """
    repeats = check_int("repeats", repeats, low=1)
    warmup = check_int("warmup", warmup, low=0)
    names = list(candidates)
    timings = Timings({name: [] for name in names})
    for round_ in range(warmup + repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            if setup is not None:
                setup(name)
            start = clock()
            candidates[name]()
            elapsed = clock() - start
            if round_ >= warmup:
                timings.seconds[name].append(elapsed)
    return timings


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(threads: int) -> dict[str, str]:
    """What the numbers were measured on: CPU, cores, load, library versions, threads, date."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "CPU": cpu_model(),
        "CPU cores": str(os.cpu_count()),
        "load average (1, 5, 15 min) at start": load,
        "torch threads": str(threads),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
