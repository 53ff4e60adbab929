"""Measure how gradients travel back through time: measured, never illustrated.

* :func:`hidden_grad_norms`: ‖∂L/∂h_t‖ for every step t of the top layer, in one backward pass.
* :func:`decay_ratio` and :func:`memory_span`: two numbers that summarise that curve;
  :func:`per_step_factor` and :func:`gradient_regime`: the course's one criterion for "vanishing",
  "held" and "exploding" (every notebook, lab and audit verdict uses it).
* :func:`jacobian_norms`: the largest singular value of ∂h_T/∂h_t, the factor that carries a
  gradient from the last step back to step t (theory's view; ``spectral_radii`` gives W_hh's).
* :func:`gate_traces`: gate activations per step, ready for a heatmap; :func:`gate_path_norms`: the
  factor a keep gate (GRU z, LSTM f) alone carries from step t to the end.

Every function works on a copy of the model in evaluation mode (dropout off), so the model's
parameters, its ``.grad``s and its train/eval mode stay exactly as they were. Gradient statistics are
computed in float64: ratios like ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ ≈ 1e-30 underflow to 0 in float32.

The step-by-step unrolling is :func:`rnnlib.cells.unroll` (the same equations as ``impl="scratch"``,
driven with the weights of either implementation) and the readout is the model's own
:meth:`~rnnlib.models.RecurrentClassifier.readout`, so the loss here is the loss the model trains on.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from .cells import recurrent_mode, unroll
from .initialization import spectral_radii
from .models import RecurrentClassifier
from .training import loss_and_metric
from .validation import check_choice, check_float, check_series

__all__ = [
    "decay_ratio",
    "gate_path_norms",
    "gate_traces",
    "gradient_regime",
    "hidden_grad_norms",
    "jacobian_norms",
    "memory_span",
    "per_step_factor",
    "regime",
    "spectral_radii",
    "state_changes",
]


def _float64_copy(model: nn.Module) -> RecurrentClassifier:
    """A float64 copy of ``model`` in eval mode, with no ``.grad``s: the original is never touched."""
    if not isinstance(model, RecurrentClassifier):
        raise ValueError(
            "model must be an rnnlib model (build_model, SimpleRNN, GRUClassifier, LSTMClassifier, "
            f"BiLSTMClassifier), got {type(model).__name__}"
        )
    clone = copy.deepcopy(model).double().eval()
    for p in clone.parameters():
        p.grad = None
    return clone


def _prepare(model: nn.Module, x: Tensor, lengths) -> tuple[RecurrentClassifier, Tensor, Tensor | None]:
    """Validate the arguments, then return ``(clone, x, lengths)``: the float64 copy of ``model``
    and the inputs on its device (real-valued ``x`` in float64).

    In the copy only the top layer's forward ``W_hh`` requires a gradient: every top-layer ``h_t``
    then depends on it, so autograd records the recurrence that ∂L/∂h_t flows through (even for a
    frozen model), while the lower layers, the backward direction and the readout build no graph.
    """
    clone = _float64_copy(model)
    lengths = clone.check_input(x, lengths)
    for p in clone.parameters():
        p.requires_grad_(False)
    getattr(clone.rnn, f"weight_hh_l{clone.rnn.num_layers - 1}").requires_grad_(True)
    device = next(clone.parameters()).device
    x = x.to(device, torch.float64) if x.is_floating_point() else x.to(device)
    return clone, x, None if lengths is None else lengths.to(device)


def _unroll(clone: RecurrentClassifier, x: Tensor, lengths: Tensor | None, *, keep_gates=False):
    """``clone.rnn`` step by step on the embedded input (see :func:`rnnlib.cells.unroll`)."""
    return unroll(clone.rnn, clone.embed(x), lengths, keep_gates=keep_gates)


def _check_targets(model: RecurrentClassifier, y, batch: int) -> Tensor:
    y = torch.as_tensor(y)
    if y.dim() != 1 or y.shape[0] != batch:
        raise ValueError(
            f"y must have shape (batch,) = ({batch},), one target per sequence; "
            f"got shape {tuple(y.shape)}"
        )
    if y.is_floating_point():
        if model.fc.out_features != 1:
            raise ValueError(
                "float targets (regression) need a model with output_dim=1; this model has "
                f"output_dim={model.fc.out_features}: give integer class ids"
            )
        return y.double()
    classes = model.fc.out_features
    if y.dtype == torch.bool or int(y.min()) < 0 or int(y.max()) >= classes:
        raise ValueError(
            f"integer targets y must be class ids in [0, {classes - 1}] (output_dim={classes}); "
            f"got values from {int(y.min())} to {int(y.max())}"
        )
    return y.long()


def hidden_grad_norms(model: nn.Module, x: Tensor, y, lengths=None) -> Tensor:
    """‖∂L/∂h_t‖ for every step t: a float64 tensor of shape ``(time,)``.

    ``x``: ``(batch, time)`` token ids or ``(batch, time, input_dim)`` values; ``y``: ``(batch,)``
    class ids (cross-entropy) or floats (mean squared error); ``lengths``: ``(batch,)`` true lengths.
    ``L`` is the model's training loss on the batch, with dropout off. ``h_t`` is the top layer's
    hidden state (the LSTM's ``h``, not ``c``; the BiLSTM's forward direction). Entry ``t`` is the L2
    norm of the *total* ∂L/∂h_t (directly from the readout plus everything sent back from later
    steps) over the whole batch and all hidden units. Steps after a sequence's true end do not reach
    the readout, so that sequence adds 0 there.

    One forward pass step by step and one backward pass, in float64, on a copy of the model.
    """
    clone, x, lengths = _prepare(model, x, lengths)
    y = _check_targets(clone, y, x.shape[0]).to(x.device)
    unrolled = _unroll(clone, x, lengths)
    loss, _ = loss_and_metric(clone.readout(unrolled.output, lengths), y)
    # one backward pass from L to every h_t; the weights' gradients are never computed
    grads = torch.autograd.grad(loss, unrolled.hidden)
    return torch.linalg.vector_norm(torch.stack(grads), dim=(1, 2)).cpu()


def _check_norms(norms) -> np.ndarray:
    values = check_series("norms", norms, min_size=2)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("norms must be finite and non-negative (a norm per step)")
    if values[-1] == 0:
        raise ValueError(
            "the last norm ‖∂L/∂h_T‖ is 0, so nothing can be measured relative to it: "
            "give at least one sequence that fills the whole time axis"
        )
    return values


def decay_ratio(norms) -> float:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: how much of the last step's gradient reaches the first step.

    ≪ 1: vanishing (the first token barely influences learning); ≫ 1: exploding.
    """
    values = _check_norms(norms)
    return float(values[0] / values[-1])


#: The one criterion, on the decay ratio r = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ = γ^(T-1) over the T - 1 steps that
#: separate step 1 from the readout: the gradient has *vanished* when less than 1 % of the readout's
#: reaches step 1 (the level :func:`memory_span` counts steps above, so "held" means step 1 is within
#: reach), and *exploded* when step 1 receives more than 100 times the readout's (the same two orders of
#: magnitude, the other way); in between it is *held*.
VANISHING_BELOW, EXPLODING_ABOVE = 1e-2, 1e2
REGIMES = ("vanishing", "held", "exploding")


def per_step_factor(norms) -> float:
    """γ = (‖∂L/∂h_1‖ / ‖∂L/∂h_T‖)^(1/(T-1)): the geometric mean of the per-step ratio
    ‖∂L/∂h_t‖ / ‖∂L/∂h_{t+1}‖, the factor one step back multiplies the gradient by on average.

    γ < 1 shrinks, γ > 1 grows; unlike the decay ratio it does not depend on T, so curves of different
    lengths compare. Over a dependency of d steps the gradient is multiplied by γ^d.
    """
    values = _check_norms(norms)
    return float((values[0] / values[-1]) ** (1.0 / (len(values) - 1)))


def regime(ratio: float) -> str:
    """``"vanishing"``, ``"held"`` or ``"exploding"`` for a decay ratio (see ``VANISHING_BELOW``)."""
    ratio = check_float("ratio", ratio, low=0.0)
    return "vanishing" if ratio < VANISHING_BELOW else "exploding" if ratio > EXPLODING_ABOVE else "held"


def gradient_regime(norms) -> str:
    """The course's one criterion, on a curve ‖∂L/∂h_t‖, t = 1 … T: ``"vanishing"`` when
    γ^(T-1) = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ < 1 % (``VANISHING_BELOW``), ``"exploding"`` when it is
    > 100 (``EXPLODING_ABOVE``), ``"held"`` in between. γ is :func:`per_step_factor`."""
    return regime(decay_ratio(norms))


def memory_span(norms, threshold: float = VANISHING_BELOW) -> int:
    """How many steps back from T the gradient norm stays ≥ ``threshold`` × ‖∂L/∂h_T‖.

    Counts consecutive steps T-1, T-2, … (so 0 … T-1); the first step below the threshold ends the
    count. ``T - 1`` means the gradient reaches the first step at that strength.
    """
    values = _check_norms(norms)
    threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    below = np.flatnonzero(values[:-1] < threshold * values[-1])
    return int(len(values) - 1 if below.size == 0 else len(values) - 2 - below[-1])


#: at most this many Jacobian entries (float64) are held at once: 2**25 is 256 MiB
JACOBIAN_ENTRIES = 2**25


def jacobian_norms(model: nn.Module, x: Tensor, lengths=None, *, reduce: str = "mean") -> Tensor:
    """Largest singular value of ∂h_τ/∂h_t for every step t: float64 ``(time,)`` (``reduce="mean"``)
    or ``(batch, time)`` (``reduce="none"``).

    Per sequence, τ is its true last step (``lengths - 1``) and h the top layer's forward hidden
    state; for the LSTM, ∂h_τ/∂h_t is the path through the hidden state (c_t held fixed). The
    Jacobian is ``I`` at t = τ and 0 after τ (later states cannot change h_τ). ``"mean"`` averages
    σ_max at step t over the sequences that reach step t; with padding the same t is a different
    distance from each sequence's end, so ``"none"`` shows sequences one by one.

    Cost: one backward pass per hidden unit (batched with ``vmap``) and one SVD per sequence and
    step: about a second for hidden 64, a few seconds for hidden 256, at T = 100 on one CPU core.
    """
    check_choice("reduce", reduce, ("mean", "none"))
    clone, x, lengths = _prepare(model, x, lengths)
    batch, time = x.shape[:2]
    per_sequence = clone.hidden_dim**2 * time
    chunk = max(1, JACOBIAN_ENTRIES // per_sequence)  # sequences per pass, to bound memory
    sigma = torch.cat([
        _jacobian_sigma(clone, x[i:i + chunk], None if lengths is None else lengths[i:i + chunk])
        for i in range(0, batch, chunk)
    ])
    if reduce == "none":
        return sigma
    # average over the sequences that reach step t, so entry τ is 1 whatever the other lengths are
    ends = torch.full((batch,), time) if lengths is None else lengths.cpu()
    present = (torch.arange(time)[None, :] < ends[:, None]).double()
    return (sigma * present).sum(0) / present.sum(0).clamp(min=1)


def _jacobian_sigma(clone: RecurrentClassifier, x: Tensor, lengths: Tensor | None) -> Tensor:
    """σ_max(∂h_τ/∂h_t) per sequence and step, ``(batch, time)``, for a batch small enough to hold
    its Jacobians ``(batch, time, H, H)``."""
    unrolled = _unroll(clone, x, lengths)
    states = torch.stack(unrolled.hidden, 1)  # (batch, time, H)
    batch, _, hidden = states.shape
    last = states[:, -1] if lengths is None else states[torch.arange(batch), lengths - 1]
    # row k of every sequence's Jacobian at once: sequences never interact, so seeding e_k in each
    # sequence's h_τ gives ∂h_τ[k]/∂h_t per sequence; vmap runs the H seeds as one batched backward
    seeds = torch.eye(hidden, dtype=last.dtype, device=last.device)
    seeds = seeds.unsqueeze(1).expand(hidden, batch, hidden)
    rows = torch.autograd.grad(last, unrolled.hidden, seeds, is_grads_batched=True)
    jac = torch.stack(rows, 2).permute(1, 2, 0, 3)  # (batch, time, k, j) = ∂h_τ[k]/∂h_t[j]
    return torch.linalg.matrix_norm(jac, ord=2).cpu()


@torch.no_grad()
def gate_traces(model: nn.Module, x: Tensor, lengths=None) -> dict[str, np.ndarray]:
    """Gate activations of the top layer's forward direction, name → array ``(batch, time, H)``.

    LSTM: ``"i"`` input, ``"f"`` forget, ``"g"`` candidate cell, ``"o"`` output gate and ``"c"`` the
    cell state; GRU: ``"r"`` reset, ``"z"`` update gate, ``"n"`` candidate state. Gates lie in
    (0, 1) (``g``, ``n`` in (-1, 1); ``c`` is unbounded). Steps after a sequence's true length are
    NaN (they are padding, not part of the sequence; a seaborn heatmap leaves them blank). A vanilla
    RNN has no gates: ValueError.
    """
    if isinstance(model, RecurrentClassifier) and recurrent_mode(model.rnn) == "RNN_TANH":
        raise ValueError("gate_traces needs a GRU, LSTM or BiLSTM model: a vanilla RNN has no gates")
    clone, x, lengths = _prepare(model, x, lengths)
    unrolled = _unroll(clone, x, lengths, keep_gates=True)
    traces = {}
    for name, values in unrolled.gates.items():
        array = values.cpu().numpy()
        if lengths is not None:
            padding = np.arange(array.shape[1])[None, :] >= lengths.cpu().numpy()[:, None]
            array[padding] = np.nan
        traces[name] = array
    return traces


def gate_path_norms(gate, *, reduce: str = "mean") -> np.ndarray:
    """The largest factor a keep gate alone carries from step t to the last step: for every step t,
    ``σ_max(∏_{s=t+1}^{τ} diag(g_s)) = max_j ∏_{s=t+1}^{τ} g_{s,j}``, float64 ``(time,)`` (``reduce="mean"``)
    or ``(batch, time)`` (``reduce="none"``).

    ``gate``: ``(batch, time, hidden)`` activations in [0, 1] of the gate that multiplies the old state,
    as :func:`gate_traces` returns them (NaN after a sequence's true end τ): the GRU's ``z`` (PyTorch's
    variant; ``1 - z`` for the course text's) or the LSTM's ``f``. For an LSTM this *is* σ_max of
    ∂c_τ/∂c_t along the cell state; for a GRU, ∂h_t/∂h_{t-1} = diag(z_t) plus terms through n_t and
    z_t that shrink as z_t → 1, so it is the part of :func:`jacobian_norms` the skip connection carries.
    Entry τ is 1 (no step in between) and steps after τ are 0, as in :func:`jacobian_norms`; ``"mean"``
    averages over the sequences that reach step t.
    """
    check_choice("reduce", reduce, ("mean", "none"))
    values = torch.as_tensor(gate, dtype=torch.float64).detach().cpu().numpy().copy()  # never edit the input
    if values.ndim != 3 or 0 in values.shape:
        raise ValueError(f"gate must be a non-empty array (batch, time, hidden), got shape {values.shape}")
    padding = np.isnan(values).all(-1)  # (batch, time): steps after the true end
    known = values[~np.isnan(values)]
    if padding.all() or np.isnan(values[~padding]).any() or known.min() < 0 or known.max() > 1:
        raise ValueError("gate must hold activations in [0, 1], NaN only for whole padding steps after a "
                         "sequence's end, and at least one step that is not padding")
    values[padding] = 1.0  # padding steps do not act on the state: they multiply by 1
    # suffix[:, t] = ∏_{s ≥ t} g_s, so the product over s = t+1 … is suffix[:, t+1] (1 at the last step)
    suffix = np.flip(np.cumprod(np.flip(values, 1), 1), 1)
    products = np.concatenate([suffix[:, 1:], np.ones_like(suffix[:, :1])], 1)
    norms = np.where(padding, 0.0, products.max(-1))  # σ_max of a diagonal matrix: its largest entry
    if reduce == "none":
        return norms
    present = ~padding
    return norms.sum(0) / np.maximum(present.sum(0), 1)


@torch.no_grad()
def state_changes(model: nn.Module, x: Tensor, edited: Tensor, lengths=None) -> Tensor:
    """How far each top-layer state moves when the input ``x`` is replaced by ``edited``: float64
    ``(batch, directions, time)``, the largest |Δh_t| over the hidden units of each state.

    A state that has read none of the changed inputs does not move at all (exactly 0). So for a
    unidirectional model every state before the first changed step stays put (it is *causal*), while
    a bidirectional model's backward states before it move: they have read the future. ``x`` and
    ``edited``: the same shape, ``(batch, time)`` token ids or ``(batch, time, input_dim)`` values;
    ``lengths: (batch,)`` true lengths, shared by both. Runs the model's own ``encode`` in float64.
    """
    clone = _float64_copy(model)
    if not isinstance(edited, Tensor) or tuple(edited.shape) != tuple(x.shape):
        shape = tuple(edited.shape) if isinstance(edited, Tensor) else type(edited).__name__
        raise ValueError(f"edited must be a tensor of the same shape as x {tuple(x.shape)}; got {shape}")
    lengths = clone.check_input(x, lengths)
    clone.check_input(edited, lengths)
    device = next(clone.parameters()).device
    if lengths is not None:
        lengths = lengths.to(device)
    before, after = (
        clone.encode(v.to(device).double() if v.is_floating_point() else v.to(device), lengths) for v in (x, edited)
    )
    batch, time, _ = before.shape
    change = (after - before).abs().view(batch, time, -1, clone.hidden_dim).amax(-1)  # (batch, time, directions)
    return change.transpose(1, 2).cpu()
