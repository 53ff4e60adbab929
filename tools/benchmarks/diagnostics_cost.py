"""Benchmark 2: what measuring ‖∂L/∂h_t‖ costs next to the training step it explains.

``hidden_grad_norms`` must expose every ``h_t``, so it cannot use the fused layer's single call; it
unrolls step by step (in float64, on a copy of the model) and runs one backward pass. The reference is
one plain training forward + backward of the same model on the same batch.

The float64 floor: the comparison is honest only at the precision the diagnostic needs (it must
equal a float64 reference to 1e-9 relative, and ratios like 1e-30 underflow in float32). Each row
also times torch's own fused forward + backward of the same model in float64: no float64 method that
yields every ∂L/∂h_t (one forward and one backward through the recurrence) can cost less. Where
that floor is above the 2× target (the LSTM at H = 64: the float64 fused kernel costs about 3× the
float32 one), the target cannot be reached at float64 precision and the row says so.
"""

from __future__ import annotations

import copy

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

    double = copy.deepcopy(model).double()
    x64, y64 = data.x.double(), data.y.double()

    def train_step(net=model, x=data.x, y=data.y) -> None:
        net.zero_grad(set_to_none=True)
        loss, _ = loss_and_metric(net(x, data.lengths), y)
        loss.backward()

    timings = time_interleaved(
        {"norms": lambda: hidden_grad_norms(model, data.x, data.y, data.lengths), "step": train_step,
         "float64 step": lambda: train_step(double, x64, y64)},
        repeats=repeats, warmup=warmup, clock=CPU_TIME,
    )
    floor = timings.ratio("float64 step", "step")
    verdict = f"; the float64 floor is {floor:.2f}×" + (
        f": above the {TARGET:g}× target, which float64 cannot reach" if floor > TARGET else "")
    return Row(
        SECTION, f"{arch} T={time} H={hidden}", timings.ratio("norms", "step"), target=TARGET, floor=floor,
        detail=f"hidden_grad_norms {1e3 * timings.median('norms'):.1f} ms / "
               f"forward+backward {1e3 * timings.median('step'):.1f} ms (batch {batch}); torch's fused "
               f"forward+backward in float64 {1e3 * timings.median('float64 step'):.1f} ms{verdict}",
    )
