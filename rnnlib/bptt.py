"""Backpropagation through time by hand, for the vanilla tanh RNN classifier.

The forward pass keeps every hidden state; the backward pass walks ``t = T … 1`` and, at each step,
turns the gradient arriving at ``h_t`` into the parameter gradients of that step and the gradient
carried on to ``h_{t-1}``. Plain tensors, no autograd: every line is one equation of the text.

Notation: the text's 1-based ``t`` (code index ``t`` holds step ``t + 1``); parameters named as in
``torch.nn.RNN``, the readout is the classifier's ``fc`` (``W_y``, ``b_y``). Each row of a tensor is
one sequence of the batch, so the text's ``W_ih x_t`` (a column vector) is ``x_t W_ihᵀ`` here:

    a_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh      pre-activation          (batch, H)
    h_t = tanh(a_t)                                     hidden state, h_0 = 0
    z   = h_τ W_yᵀ + b_y                                readout at the true last token τ
    L   = mean cross-entropy (integer y) or mean squared error (float y) of z

The backward step, with ``δ_t = ∂L/∂h_t`` the *total* gradient (direct from the readout plus what
``h_{t+1}`` sends back):

    ∂L/∂a_t     = δ_t ⊙ (1 − h_t²)                      tanh' = 1 − tanh²
    ∂L/∂W_ih   += (∂L/∂a_t)ᵀ x_t                        (sums over the batch)
    ∂L/∂W_hh   += (∂L/∂a_t)ᵀ h_{t-1}
    ∂L/∂b      += Σ_batch ∂L/∂a_t                       (b_ih and b_hh get the same gradient)
    ∂L/∂x_t     = (∂L/∂a_t) W_ih
    δ_{t-1}     = (∂L/∂a_t) W_hh = δ_t diag(1 − h_t²) W_hh
                  (for one column vector: W_hhᵀ diag(1 − h_t²) δ_t)

Unrolled, ``δ_t`` is ``δ_τ`` times ``τ - t`` factors ``diag(1 − h²) W_hh``: why gradients vanish (or
explode) over long distances.

Truncated BPTT with ``k`` steps (``truncate=k``): the gradient entering at the readout ``h_τ`` is carried
back through ``h_τ, h_{τ-1}, …, h_{τ-k+1}`` (``k`` states) and dropped after that, so steps before
``τ - k + 1`` contribute nothing to the parameter gradients. It equals autograd with ``h_{τ-k}``
detached; ``k ≥`` the sequence's length is full BPTT.

Gradients are computed in the model's dtype; for very small ‖∂L/∂h_t‖ (long sequences) use a float64
model, as :func:`rnnlib.diagnostics.hidden_grad_norms` does, since float32 underflows to 0.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cells import recurrent_mode, rnn_step
from .data import NEGATIVE_WORDS, POSITIVE_WORDS, long_range_task
from .device import current_device
from .limits import MAX_BPTT_DISTANCE, MAX_EPOCHS, MAX_LR
from .models import build_model, read_last
from .training import History, evaluate, own_random_state
from .validation import check_float, check_int

#: the model parameters :func:`bptt` returns gradients for, in ``model.named_parameters()`` order
RECURRENT_NAMES = ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0")
READOUT_NAMES = ("fc.weight", "fc.bias")


@dataclass
class RNNCache:
    """What the forward pass keeps for the backward pass.

    ``x: (batch, time, D)`` the layer's input, ``h0: (batch, H)`` the initial state,
    ``h: (batch, time, H)`` every hidden state (``h[:, t]`` is ``h_{t+1}`` in the text).
    """

    x: Tensor
    h0: Tensor
    h: Tensor

    def h_prev(self, t: int) -> Tensor:
        """``h_{t-1}`` for code index ``t``: the initial state at ``t = 0``."""
        return self.h0 if t == 0 else self.h[:, t - 1]


class StepGrads(NamedTuple):
    """One backward step's share of the parameter gradients, and what flows on to the step before.

    ``dW_ih: (H, D)``, ``dW_hh: (H, H)``, ``db: (H,)``, ``dh_prev = ∂L/∂h_{t-1}: (batch, H)``: the
    tuple the notebook's exercise asks for, in its order.
    """

    dW_ih: Tensor
    dW_hh: Tensor
    db: Tensor
    dh_prev: Tensor


@dataclass
class BPTTResult:
    """What :func:`bptt` returns.

    ``loss``: the loss value. ``grads``: parameter name (as in ``model.named_parameters()``) →
    gradient, for the recurrent layer, ``fc`` and, for token models, ``embedding.weight``.
    ``hidden_grads: (batch, time, H)``: ``∂L/∂h_t`` as carried by the loop (zero after a sequence's
    last token and outside the truncation window). ``hidden_grad_norms: (time,)`` float64: its norm
    over batch and hidden units at each step, the quantity of ``rnnlib.diagnostics.hidden_grad_norms``.
    ``input_grads: (batch, time, D)``: ``∂L/∂x_t`` for the recurrent layer's input (the embeddings for
    token models).
    """

    loss: float
    grads: dict[str, Tensor]
    hidden_grads: Tensor
    hidden_grad_norms: Tensor
    input_grads: Tensor


@torch.no_grad()
def rnn_forward(
    x: Tensor, h0: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> RNNCache:
    """Run the tanh recurrence over ``x: (batch, time, D)`` from ``h0: (batch, H)``, keeping every state.

    ``W_ih: (H, D)``, ``W_hh: (H, H)``, ``b_ih, b_hh: (H,)``. Returns an :class:`RNNCache`.
    """
    _check_tensor("x", x, 3)
    batch, _, input_dim = x.shape
    hidden = W_hh.shape[0] if W_hh.dim() == 2 else -1
    _check_shape("W_hh", W_hh, (hidden, hidden))
    _check_shape("W_ih", W_ih, (hidden, input_dim))
    _check_shape("b_ih", b_ih, (hidden,))
    _check_shape("b_hh", b_hh, (hidden,))
    _check_shape("h0", h0, (batch, hidden))
    xw = F.linear(x, W_ih, b_ih)  # x_t W_ihᵀ + b_ih for every t in one matrix product
    h = h0
    states = []
    for xw_t in xw.unbind(1):
        h = rnn_step(xw_t, h, W_hh, b_hh)  # h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)
        states.append(h)
    return RNNCache(x=x, h0=h0, h=torch.stack(states, 1))


def tanh_backward(dh: Tensor, h: Tensor) -> Tensor:
    """``∂L/∂a = ∂L/∂h ⊙ (1 − h²)`` for ``h = tanh(a)``: tanh' = 1 − tanh², and tanh(a) is ``h`` itself."""
    return dh * (1 - h**2)


@torch.no_grad()
def rnn_step_backward(dh_t: Tensor, h_t: Tensor, h_prev: Tensor, x_t: Tensor, W_hh: Tensor) -> StepGrads:
    """One step of BPTT: from ``δ_t = ∂L/∂h_t`` to this step's gradients and ``δ_{t-1}``.

    ``dh_t, h_t, h_prev: (batch, H)``, ``x_t: (batch, D)``, ``W_hh: (H, H)``.
    """
    _check_tensor("dh_t", dh_t, 2)
    _check_shape("h_t", h_t, dh_t.shape)
    _check_shape("h_prev", h_prev, dh_t.shape)
    _check_tensor("x_t", x_t, 2)
    _check_shape("x_t", x_t, (dh_t.shape[0], x_t.shape[1]))
    _check_shape("W_hh", W_hh, (dh_t.shape[1], dh_t.shape[1]))
    da = tanh_backward(dh_t, h_t)  # ∂L/∂a_t = δ_t ⊙ (1 − h_t²)
    return StepGrads(
        dW_ih=da.T @ x_t,  # ∂L/∂W_ih = (∂L/∂a_t)ᵀ x_t
        dW_hh=da.T @ h_prev,  # ∂L/∂W_hh = (∂L/∂a_t)ᵀ h_{t-1}
        db=da.sum(0),  # ∂L/∂b = Σ_batch ∂L/∂a_t
        dh_prev=da @ W_hh,  # δ_{t-1} = (∂L/∂a_t) W_hh = δ_t diag(1 − h_t²) W_hh
    )


def truncation_window(lengths: Tensor, time: int, truncate: int | None) -> Tensor:
    """``(batch, time)`` bool: where ``∂L/∂h_t`` is carried when the readout of sequence ``b`` sits at
    ``τ_b = lengths[b] - 1`` and BPTT is truncated to ``truncate`` steps (``None``: full BPTT).

    Code index ``t`` is inside iff ``τ_b - truncate < t ≤ τ_b``.
    """
    t = torch.arange(time, device=lengths.device).unsqueeze(0)  # (1, T)
    last = (lengths - 1).unsqueeze(1)  # τ_b: (B, 1)
    first = last - truncate + 1 if truncate is not None else torch.zeros_like(last)
    return (t >= first) & (t <= last)


@torch.no_grad()
def rnn_backward(
    cache: RNNCache, dh_direct: Tensor, W_ih: Tensor, W_hh: Tensor, window: Tensor | None = None
) -> tuple[dict[str, Tensor], Tensor, Tensor]:
    """Walk ``t = T … 1`` accumulating the recurrent layer's gradients.

    ``dh_direct: (batch, time, H)`` is the gradient the loss sends *straight* into each ``h_t`` (for
    the classifier: nonzero only at the readout step). ``window: (batch, time)`` bool, where the
    carried gradient is kept (``None``: everywhere; see :func:`truncation_window`).
    Returns ``(grads, dh, dx)``: ``grads`` with keys ``W_ih, W_hh, b_ih, b_hh``; ``dh: (batch, time,
    H)`` the total ``∂L/∂h_t``; ``dx: (batch, time, D)``.
    """
    _check_shape("dh_direct", dh_direct, cache.h.shape)
    if window is not None:
        _check_shape("window", window, cache.h.shape[:2])
    dW_ih = torch.zeros_like(W_ih)
    dW_hh = torch.zeros_like(W_hh)
    db = torch.zeros_like(W_hh[0])
    carried = torch.zeros_like(cache.h0)  # δ_{T+1} = 0: nothing comes from beyond the last step
    dhs = []
    for t in reversed(range(cache.h.shape[1])):
        dh = dh_direct[:, t] + carried  # δ_t = ∂ℓ/∂h_t (direct) + δ_{t+1} ∂h_{t+1}/∂h_t (carried)
        if window is not None:
            dh = dh * window[:, t, None]  # truncation: outside the window h_t receives nothing
        step = rnn_step_backward(dh, cache.h[:, t], cache.h_prev(t), cache.x[:, t], W_hh)
        dW_ih += step.dW_ih
        dW_hh += step.dW_hh
        db += step.db
        carried = step.dh_prev
        dhs.append(dh)
    dh = torch.stack(dhs[::-1], 1)
    dx = tanh_backward(dh, cache.h) @ W_ih  # ∂L/∂x_t = (∂L/∂a_t) W_ih, every t in one product
    grads = {"W_ih": dW_ih, "W_hh": dW_hh, "b_ih": db, "b_hh": db.clone()}
    return grads, dh, dx


@torch.no_grad()
def readout_backward(h_last: Tensor, W_y: Tensor, b_y: Tensor, y: Tensor) -> tuple[float, dict, Tensor]:
    """Loss of the readout ``z = h_τ W_yᵀ + b_y`` and its gradients.

    ``h_last: (batch, H)``; ``y: (batch,)`` class ids (mean cross-entropy) or floats (mean squared
    error, ``output_dim`` 1). Returns ``(loss, {"W_y", "b_y"}, ∂L/∂h_τ: (batch, H))``.
    """
    z = F.linear(h_last, W_y, b_y)  # z = h_τ W_yᵀ + b_y: (B, C)
    batch = z.shape[0]
    if y.is_floating_point():
        error = z.squeeze(-1) - y
        loss = (error**2).mean()  # L = (1/B) Σ_b (z_b − y_b)²
        dz = (2 * error / batch).unsqueeze(-1)  # ∂L/∂z = 2 (z − y) / B
    else:
        log_p = torch.log_softmax(z, -1)  # log p = log softmax(z), without overflow
        loss = -log_p[torch.arange(batch, device=z.device), y].mean()  # L = −(1/B) Σ_b log p_b[y_b]
        dz = (log_p.exp() - F.one_hot(y, z.shape[1]).to(z.dtype)) / batch  # ∂L/∂z = (p − onehot(y)) / B
    grads = {"W_y": dz.T @ h_last, "b_y": dz.sum(0)}  # ∂L/∂W_y = (∂L/∂z)ᵀ h_τ, ∂L/∂b_y = Σ ∂L/∂z
    return float(loss), grads, dz @ W_y  # ∂L/∂h_τ = (∂L/∂z) W_y


@torch.no_grad()
def bptt(model: nn.Module, x: Tensor, y: Tensor, lengths=None, truncate: int | None = None) -> BPTTResult:
    """The vanilla RNN classifier's gradients by hand: forward with a cache, backward through time.

    ``model``: a one-layer ``"rnn"`` model from :func:`rnnlib.build_model` (either ``impl``; token or
    real-valued input; no active dropout). ``x``: ``(batch, time)`` ids or ``(batch, time, input_dim)``
    values; ``y: (batch,)`` class ids or floats; ``lengths: (batch,)`` true lengths (``None``: all
    ``time``). ``truncate``: BPTT through at most this many states back from the readout (``None``:
    full). Gives what ``loss.backward()`` on the model gives (and the per-step ``∂L/∂h_t``).
    """
    lengths = _check_model_and_input(model, x, y, lengths)
    if truncate is not None:
        truncate = check_int("truncate", truncate, low=1)
    W_ih, W_hh, b_ih, b_hh = (model.get_parameter(name).detach() for name in RECURRENT_NAMES)
    W_y, b_y = (model.get_parameter(name).detach() for name in READOUT_NAMES)
    device = W_hh.device  # every tensor of the computation lives where the model does
    x, y = x.to(device), y.to(device)
    batch, time = x.shape[:2]
    lengths = torch.full((batch,), time, device=device) if lengths is None else lengths.to(device)

    inputs = model.embed(x)  # x_t: the embedding of token t, or the input itself
    cache = rnn_forward(inputs, inputs.new_zeros(batch, W_hh.shape[0]), W_ih, W_hh, b_ih, b_hh)
    h_last = read_last(cache.h, lengths, W_hh.shape[0], False)  # h_τ, τ = each true last token
    loss, readout_grads, dh_last = readout_backward(h_last, W_y, b_y, y)

    dh_direct = torch.zeros_like(cache.h)  # the loss reaches h_t directly only at t = τ
    dh_direct[torch.arange(batch, device=device), lengths - 1] = dh_last
    window = truncation_window(lengths, time, truncate) if truncate is not None else None
    rnn_grads, dh, dx = rnn_backward(cache, dh_direct, W_ih, W_hh, window)

    grads = dict(zip(RECURRENT_NAMES, (rnn_grads[k] for k in ("W_ih", "W_hh", "b_ih", "b_hh"))))
    grads |= dict(zip(READOUT_NAMES, (readout_grads["W_y"], readout_grads["b_y"])))
    if model.uses_tokens:
        # the embedding is a lookup: row v collects ∂L/∂x_t of every position holding token v
        d_embedding = torch.zeros_like(model.embedding.weight)
        d_embedding.index_add_(0, x.reshape(-1), dx.reshape(-1, dx.shape[-1]))
        if model.embedding.padding_idx is not None:
            d_embedding[model.embedding.padding_idx] = 0  # nn.Embedding never updates its padding row
        grads = {"embedding.weight": d_embedding} | grads
    norms = dh.double().pow(2).sum((0, 2)).sqrt()  # ‖∂L/∂h_t‖ over batch and hidden units
    return BPTTResult(loss, grads, dh, norms, dx)


def truncation_experiment(
    distance: int = 8,
    ks=None,
    *,
    steps: int = 200,
    seed: int = 0,
    hidden_dim: int = 32,
    embed_dim: int = 16,
    batch_size: int = 64,
    lr: float = 1e-2,
    max_norm: float = 1.0,
) -> dict[int | None, dict]:
    """Train a vanilla RNN on the long-range task with :func:`bptt`'s gradients, once per truncation.

    The deciding word sits ``distance`` steps before the readout, so only ``k > distance`` carries the
    gradient back to it. For each ``k`` in ``ks`` (``None``: full BPTT; default ``distance // 2,
    distance, distance + 1, None``) the same initial model sees the same batches for ``steps`` Adam
    steps (global norm clipped to ``max_norm``). Returns ``k → {"history", "test_accuracy",
    "word_grad_norm"}``: a :class:`~rnnlib.training.History` with per-step loss and gradient norm
    (for :func:`rnnlib.plots.plot_step_stats`) and the final test loss and accuracy; the test
    accuracy; and the norm of the gradient that reached the sentiment words' embeddings, summed over
    the run (exactly 0.0 when the truncation cuts them off).
    """
    distance = check_int("distance", distance, low=0, high=MAX_BPTT_DISTANCE)
    steps = check_int("steps", steps, low=1, high=MAX_EPOCHS)
    lr = check_float("lr", lr, low=0.0, high=MAX_LR, low_open=True)
    max_norm = check_float("max_norm", max_norm, low=0.0, low_open=True)
    if ks is None:
        ks = (max(distance // 2, 1), max(distance, 1), distance + 1, None)
    if isinstance(ks, int | str) or not hasattr(ks, "__iter__"):
        raise ValueError(f"ks must be a list of truncation lengths ≥ 1 (None: full BPTT); got {ks!r}")
    ks = list(dict.fromkeys(None if k is None else check_int("ks", k, low=1) for k in ks))
    task = long_range_task(distance, seed=seed)
    device = current_device()
    word_ids = torch.tensor([task.vocab.stoi[w] for w in POSITIVE_WORDS + NEGATIVE_WORDS], device=device)
    with own_random_state(seed):  # the model's own seed; the caller's random state is left alone
        initial = build_model("rnn", embed_dim=embed_dim, hidden_dim=hidden_dim, **task.model_kwargs()).to(device)
    results: dict[int | None, dict] = {}
    for k in ks:
        model = copy.deepcopy(initial)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loader = task.train.batches(batch_size, shuffle=True, seed=seed)  # a new order every pass
        batches = itertools.islice(itertools.chain.from_iterable(itertools.repeat(loader)), steps)
        history = History(metric="accuracy", max_norm=max_norm)
        word_grad = 0.0
        for x, y, lengths in batches:
            result = bptt(model, x, y, lengths, truncate=k)
            for name, p in model.named_parameters():
                p.grad = result.grads[name]  # the hand-made gradient takes autograd's place
            norm = float(nn.utils.clip_grad_norm_(model.parameters(), max_norm))
            opt.step()
            history.step_loss.append(result.loss)
            history.step_grad_norm.append(norm)
            history.step_grad_norm_clipped.append(min(norm, max_norm))
            word_grad += float(result.grads["embedding.weight"][word_ids].norm())
        test_loss, test_accuracy = evaluate(model, task.test)
        history.test_loss.append(test_loss)
        history.test_metric.append(test_accuracy)
        results[k] = {"history": history, "test_accuracy": test_accuracy, "word_grad_norm": word_grad}
    return results


def _check_model_and_input(model: nn.Module, x: Tensor, y: Tensor, lengths) -> Tensor | None:
    if getattr(model, "arch", None) != "rnn" or not hasattr(model, "rnn"):
        raise ValueError(
            f"model must be a vanilla RNN classifier (rnnlib.build_model('rnn', ...)); got "
            f"{type(model).__name__} with arch {getattr(model, 'arch', None)!r}"
        )
    recurrent_mode(model.rnn)
    if model.rnn.num_layers != 1:
        raise ValueError(f"model must have num_layers=1 for bptt; got {model.rnn.num_layers}")
    if model.training and model.dropout.p > 0:
        raise ValueError(
            f"model has dropout={model.dropout.p} and is in training mode: bptt computes the "
            "deterministic model's gradients; call model.eval() or build it with dropout=0.0"
        )
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise ValueError(f"x and y must be tensors; got {type(x).__name__} and {type(y).__name__}")
    lengths = model.check_input(x, lengths)
    dtype = model.fc.weight.dtype
    if x.is_floating_point() and x.dtype != dtype:
        raise ValueError(f"x must have the model's dtype {dtype}; got {x.dtype} (convert one of them)")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape (batch,) = ({x.shape[0]},); got {tuple(y.shape)}")
    classes = model.fc.out_features
    if y.is_floating_point():
        if classes != 1:
            raise ValueError(f"float targets y (regression) need output_dim=1; the model has {classes}")
    elif y.dtype == torch.bool or (y.numel() and (int(y.min()) < 0 or int(y.max()) >= classes)):
        raise ValueError(f"y must hold class ids in [0, {classes - 1}] or floats; got {y}")
    return lengths


def _check_tensor(name: str, value, dim: int) -> None:
    if not isinstance(value, Tensor) or value.dim() != dim or not value.is_floating_point():
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"{name} must be a {dim}-D floating-point tensor; got {shape}")


def _check_shape(name: str, value, shape) -> None:
    if not isinstance(value, Tensor) or tuple(value.shape) != tuple(shape):
        got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {got}")
