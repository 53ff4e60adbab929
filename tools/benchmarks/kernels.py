"""Benchmark 6: rnnlib's from-scratch cells against torch's fused layers, and the fused LSTM against
this CPU's matrix-multiply throughput.

A recurrent layer is mostly matrix products: the input projection of all steps at once,
``(B·T, I) × (I, G·H)``, then one ``(B, H) × (H, G·H)`` product per step. Timing ``torch.mm`` on
exactly those shapes gives what this CPU can do for the layer's arithmetic; the fused layer's share of
that is how close it gets to the hardware limit (the rest is gate arithmetic, memory traffic and
per-step overhead).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from rnnlib.models import build_model

from .timing import CPU_TIME, Row, time_interleaved

SECTION_SCRATCH = "6a. scratch cells ÷ fused layer, forward + backward (CPU time)"
SECTION_ROOFLINE = "6b. fused LSTM, share of matmul throughput (CPU time)"


def _forward_backward(layer: nn.Module, x: torch.Tensor) -> None:
    for p in layer.parameters():
        p.grad = None
    output = layer(x)
    output = output[0] if isinstance(output, tuple) else output  # torch layers return (output, h_n)
    output.sum().backward()


def scratch_vs_fused(archs, *, batch: int, time: int, inputs: int, hidden: int, repeats: int,
                     warmup: int) -> list[Row]:
    """One row per architecture: forward + backward of the ``impl="scratch"`` layer ÷ the fused one with
    the same weights, on ``x: (batch, time, inputs)``, loss = sum of all outputs."""
    rows = []
    for arch in archs:
        torch.manual_seed(0)
        fused = build_model(arch, input_dim=inputs, hidden_dim=hidden).rnn
        scratch = build_model(arch, input_dim=inputs, hidden_dim=hidden, impl="scratch").rnn
        scratch.load_state_dict(fused.state_dict())
        x = torch.randn(batch, time, inputs)
        timings = time_interleaved(
            {"scratch": partial(_forward_backward, scratch, x), "fused": partial(_forward_backward, fused, x)},
            repeats=repeats, warmup=warmup, clock=CPU_TIME,
        )
        rows.append(Row(
            SECTION_SCRATCH, f"{arch} (B={batch}, T={time}, H={hidden})", timings.ratio("scratch", "fused"),
            detail=f"scratch {1e3 * timings.median('scratch'):.1f} ms / fused {1e3 * timings.median('fused'):.1f} ms",
        ))
    return rows


def lstm_gemms(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, backward: bool) -> None:
    """The LSTM's matrix products alone, with its shapes (``G·H = 4H``).

    Forward: ``X W_ihᵀ`` for all steps, then ``h_{t-1} W_hhᵀ`` per step. Backward: ``∂X = ∂G W_ih`` and
    ``∂W_ih = ∂Gᵀ X`` for all steps, ``∂h_{t-1} = ∂G_t W_hh`` per step, ``∂W_hh = ∂Gᵀ H`` once.
    """
    batch, time, _ = x.shape
    flat = x.reshape(batch * time, -1)
    h = x.new_zeros(batch, w_hh.shape[1])
    if not backward:
        torch.mm(flat, w_ih.t())
        for _ in range(time):
            torch.mm(h, w_hh.t())
        return
    d_gates = x.new_ones(batch * time, w_hh.shape[0])
    states = x.new_ones(batch * time, w_hh.shape[1])
    torch.mm(d_gates, w_ih)
    torch.mm(d_gates.t(), flat)
    for d_gates_t in d_gates.view(batch, time, -1).unbind(1):
        torch.mm(d_gates_t, w_hh)
    torch.mm(d_gates.t(), states)


def lstm_flops(batch: int, time: int, inputs: int, hidden: int) -> float:
    """Floating-point operations of the LSTM forward's matrix products: ``2·B·T·4H·(I + H)``
    (the backward does twice as many)."""
    return 2.0 * batch * time * 4 * hidden * (inputs + hidden)


def fused_lstm_roofline(*, batch: int, time: int, inputs: int, hiddens, repeats: int, warmup: int) -> list[Row]:
    """Per hidden size, forward and backward: time of the bare matrix products ÷ time of ``nn.LSTM``
    (in %), i.e. the fused layer's throughput as a share of the CPU's for the same products.

    The backward's time is (forward + backward) − forward, both medians of interleaved runs.
    """
    rows = []
    for hidden in hiddens:
        torch.manual_seed(0)
        lstm = nn.LSTM(inputs, hidden, batch_first=True)
        x = torch.randn(batch, time, inputs)
        w_ih, w_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()
        timings = time_interleaved(
            {
                # autograd on: the forward of a training step, keeping what the backward needs
                "lstm forward": partial(lstm, x),
                "lstm forward+backward": partial(_forward_backward, lstm, x),
                "mm forward": partial(lstm_gemms, x, w_ih, w_hh, backward=False),
                "mm backward": partial(lstm_gemms, x, w_ih, w_hh, backward=True),
            },
            repeats=repeats, warmup=warmup, clock=CPU_TIME,
        )
        flops = lstm_flops(batch, time, inputs, hidden)
        passes = {
            "forward": (timings.median("lstm forward"), timings.median("mm forward"), flops),
            "backward": (
                max(timings.median("lstm forward+backward") - timings.median("lstm forward"), 1e-9),
                timings.median("mm backward"), 2 * flops,
            ),
        }
        for name, (lstm_s, mm_s, work) in passes.items():
            rows.append(Row(
                SECTION_ROOFLINE, f"{name} (B={batch}, T={time}, I={inputs}, H={hidden})",
                100.0 * mm_s / lstm_s, unit="%",
                detail=f"nn.LSTM {work / lstm_s / 1e9:.1f} GFLOP/s, torch.mm {work / mm_s / 1e9:.1f} GFLOP/s",
            ))
    return rows
