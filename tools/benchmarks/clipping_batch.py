"""Benchmark 3d: would the clipping lab gain from training its two runs in one batched pass?

The lab trains two tanh RNNs on the same batches, one clipped and one not. They could share one pass:
the two models' weights stacked on a leading axis, each step one batched product ``bmm`` for both
models, one backward pass, each model's gradient norm and clipping on its own slice. This times one
SGD step (forward, backward, clipping, update) of that batched pass against the lab's way, two
separate steps of ``nn.RNN`` (torch's fused layer), at the lab's default sizes. Below 1× the batched
pass would be faster.
"""

from __future__ import annotations

import torch

from rnnlib.data import adding_problem
from rnnlib.models import build_model
from rnnlib.training import loss_and_metric

from .timing import CPU_TIME, Row, time_interleaved

SECTION = "3d. clipping lab: both runs in one batched pass ÷ two separate runs, one SGD step (CPU time)"


def _separate_step(models, optimizers, x, y, max_norms) -> None:
    for model, optimizer, max_norm in zip(models, optimizers, max_norms, strict=True):
        optimizer.zero_grad(set_to_none=True)
        loss, _ = loss_and_metric(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()


def _batched_step(params, x, y, max_norms, lr: float) -> None:
    """Both models at once: ``params`` are ``(2, …)`` stacks of W_ih, W_hh, b_ih, b_hh, W_y, b_y."""
    w_ih, w_hh, b_ih, b_hh, w_y, b_y = params
    for p in params:
        p.grad = None
    xw = torch.einsum("btd,mhd->mbth", x, w_ih) + (b_ih + b_hh)[:, None, None, :]  # (2, B, T, H)
    h = x.new_zeros(2, x.shape[0], w_hh.shape[1])
    for t in range(x.shape[1]):
        h = torch.tanh(xw[:, :, t] + torch.bmm(h, w_hh.transpose(1, 2)))  # h_t = tanh(x_t W_ihᵀ + h_{t-1} W_hhᵀ + b)
    z = torch.bmm(h, w_y.transpose(1, 2)).squeeze(-1) + b_y  # (2, B)
    ((z - y) ** 2).mean(1).sum().backward()  # the sum of the two losses: each model gets its own gradient
    with torch.no_grad():
        norms = torch.stack([p.grad.flatten(1).pow(2).sum(1) for p in params]).sum(0).sqrt()  # (2,)
        scale = torch.clamp(max_norms / (norms + 1e-6), max=1.0)
        for p in params:
            p -= lr * scale.view(-1, *[1] * (p.dim() - 1)) * p.grad


def _stacked(models) -> list[torch.Tensor]:
    """The two models' parameters, stacked in :func:`_batched_step`'s order (leaves of their own)."""
    names = ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "fc.weight", "fc.bias")
    return [torch.stack([m.get_parameter(n).detach() for m in models]).requires_grad_(True) for n in names]


def _models(hidden: int, spectral_radius: float | None) -> list:
    torch.manual_seed(0)
    return [build_model("rnn", input_dim=2, output_dim=1, hidden_dim=hidden, spectral_radius=spectral_radius)
            for _ in range(2)]


def clipping_batch(*, batch: int = 32, time: int = 50, hidden: int = 64, repeats: int, warmup: int) -> list[Row]:
    """One row: the batched step ÷ the two separate steps (unclipped: max_norm ∞, clipped: 1), timed on
    the lab's exploding models (ρ(W_hh) = 2.5). The detail says whether one step of each from the same
    weights gives the same weights (to 1e-5), checked at PyTorch's initialisation: at ρ = 2.5 the
    forward pass multiplies rounding differences by up to 2.5 per step, so two correct ways of summing
    part after a few dozen steps."""
    data = adding_problem(batch, time, seed=0)
    max_norms, lr = (float("inf"), 1.0), 0.05
    checked = _models(hidden, None)
    params = _stacked(checked)
    _batched_step(params, data.x, data.y, torch.tensor(max_norms), lr)
    _separate_step(checked, [torch.optim.SGD(m.parameters(), lr=lr) for m in checked], data.x, data.y, max_norms)
    same = all(torch.allclose(a, b, rtol=1e-5, atol=1e-6) for a, b in zip(params, _stacked(checked), strict=True))
    models = _models(hidden, 2.5)
    params = _stacked(models)
    optimizers = [torch.optim.SGD(m.parameters(), lr=lr) for m in models]
    timings = time_interleaved(
        {"batched": lambda: _batched_step(params, data.x, data.y, torch.tensor(max_norms), lr),
         "separate": lambda: _separate_step(models, optimizers, data.x, data.y, max_norms)},
        repeats=repeats, warmup=warmup, clock=CPU_TIME,
    )
    return [Row(SECTION, f"tanh RNN B={batch} T={time} H={hidden}", timings.ratio("batched", "separate"),
                detail=f"batched {1e3 * timings.median('batched'):.2f} ms / two separate steps "
                       f"{1e3 * timings.median('separate'):.2f} ms; the same update: {'yes' if same else 'NO'}")]
