"""Benchmark 2: what measuring ‖∂L/∂h_t‖ costs next to the training step it explains.

``hidden_grad_norms`` must expose every ``h_t``, so it cannot use the fused layer's single call; it
unrolls step by step (in float64, on a copy of the model) and runs one backward pass. The reference is
one plain training forward + backward of the same model on the same batch.
"""

from __future__ import annotations

import torch

from rnnlib.data import adding_problem
from rnnlib.diagnostics import hidden_grad_norms
from rnnlib.models import build_model
from rnnlib.training import loss_and_metric

from .timing import CPU_TIME, Row, time_interleaved

SECTION = "2. diagnostics: hidden_grad_norms ÷ forward+backward (CPU time)"
TARGET = 2.0


def diagnostics_cost(archs, *, times, hiddens, batch: int, repeats: int, warmup: int) -> list[Row]:
    """One row per (architecture, T, hidden) on an adding-problem batch ``x: (batch, T, 2)``."""
    return [
        _cost_row(arch, time, hidden, batch, repeats=repeats, warmup=warmup)
        for arch in archs for hidden in hiddens for time in times
    ]


def _cost_row(arch: str, time: int, hidden: int, batch: int, *, repeats: int, warmup: int) -> Row:
    data = adding_problem(batch, time, seed=0)
    torch.manual_seed(0)
    model = build_model(arch, input_dim=2, output_dim=1, hidden_dim=hidden)

    def train_step() -> None:
        model.zero_grad(set_to_none=True)
        loss, _ = loss_and_metric(model(data.x, data.lengths), data.y)
        loss.backward()

    timings = time_interleaved(
        {"norms": lambda: hidden_grad_norms(model, data.x, data.y, data.lengths), "step": train_step},
        repeats=repeats, warmup=warmup, clock=CPU_TIME,
    )
    return Row(
        SECTION, f"{arch} T={time} H={hidden}", timings.ratio("norms", "step"), target=TARGET,
        detail=f"hidden_grad_norms {1e3 * timings.median('norms'):.1f} ms / "
               f"forward+backward {1e3 * timings.median('step'):.1f} ms (batch {batch})",
    )
