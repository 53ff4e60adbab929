"""Benchmark 1: what ``fit`` costs on top of the loop a PyTorch user would write by hand.

The bare loop below does only what training needs: draw the same shuffled, trimmed batches, run the
same network (embedding → fused ``nn.RNN/GRU/LSTM`` → state at the true last token → linear),
cross-entropy, Adam, gradient clipping. It starts from the rnnlib model's weights, so after the run
both hold the same weights when they did the same work, which the benchmark checks.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlib.data import SequenceDataset, Task
from rnnlib.models import build_model
from rnnlib.training import fit, flush_denormals, set_seed

from .timing import CPU_TIME, Row, time_interleaved

SECTION = "1. training loop: fit ÷ bare loop (CPU time)"
TARGET = 1.10


class BareClassifier(nn.Module):
    """Embedding → fused recurrent layer → state at the true last token → linear, written plainly.

    Built from an rnnlib model (same parameter names), so both start from identical weights.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.embedding = copy.deepcopy(model.embedding)
        self.rnn = copy.deepcopy(model.rnn)
        self.fc = copy.deepcopy(model.fc)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """``x: (batch, time)`` ids, ``lengths: (batch,)`` → ``(batch, classes)``."""
        inputs = self.embedding(x)
        if self.rnn.bidirectional:
            packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
            h_n = self.rnn(packed)[1][0]  # LSTM: (h_n, c_n); h_n: (directions, batch, H)
            last = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # [h_T→ ; h_1←]
        else:
            output = self.rnn(inputs)[0]
            last = output[torch.arange(len(x)), lengths - 1]
        return self.fc(last)


def bare_loop(
    model: nn.Module, data: SequenceDataset, *, epochs: int, lr: float, max_norm: float, batch_size: int,
    seed: int,
) -> None:
    """Train ``model`` the way a short PyTorch script would, with the batches ``fit`` draws (and, as
    ``fit`` does, float32 subnormals counted as 0: the same arithmetic)."""
    generator = torch.Generator().manual_seed(seed)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    model.train()
    with flush_denormals():
        for _ in range(epochs):
            order = torch.randperm(len(data), generator=generator)
            for start in range(0, len(data), batch_size):
                index = order[start : start + batch_size]
                lengths = data.lengths[index]
                x = data.x[index, : int(lengths.max())]
                loss = F.cross_entropy(model(x, lengths), data.y[index])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, max_norm)
                opt.step()


def training_overhead(
    task: Task, archs, *, epochs: int, repeats: int, warmup: int, lr: float = 1e-3, max_norm: float = 5.0,
    batch_size: int = 64,
) -> list[Row]:
    """One row per architecture: seconds per epoch of ``fit`` ÷ of :func:`bare_loop`."""
    settings = {"epochs": epochs, "lr": lr, "max_norm": max_norm, "batch_size": batch_size, "seed": 0}
    return [_overhead_row(task, arch, settings, repeats=repeats, warmup=warmup) for arch in archs]


def _overhead_row(task: Task, arch: str, settings: dict, *, repeats: int, warmup: int) -> Row:
    set_seed(0)
    initial = build_model(arch, **task.model_kwargs())
    models: dict[str, nn.Module] = {}

    def fresh_model(name: str) -> None:
        models[name] = copy.deepcopy(initial) if name == "fit" else BareClassifier(initial)

    timings = time_interleaved(
        {
            "fit": lambda: fit(models["fit"], task.train, progress=False, **settings),
            "bare": lambda: bare_loop(models["bare"], task.train, **settings),
        },
        repeats=repeats, warmup=warmup, setup=fresh_model, clock=CPU_TIME,
    )
    same = all(
        torch.allclose(p, q, atol=1e-5)
        for p, q in zip(models["fit"].parameters(), models["bare"].parameters(), strict=True)
    )
    epochs = settings["epochs"]
    fit_s, bare_s = timings.median("fit") / epochs, timings.median("bare") / epochs
    return Row(
        SECTION, arch, timings.ratio("fit", "bare"), target=TARGET,
        detail=f"fit {1e3 * fit_s:.0f} ms / bare {1e3 * bare_s:.0f} ms per epoch "
               f"({len(task.train)} sequences); same final weights: {'yes' if same else 'NO'}",
    )
