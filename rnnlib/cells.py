"""Recurrent layers written from scratch, one equation per line.

The parameters have exactly the names, shapes and gate order of ``torch.nn.RNN/GRU/LSTM`` so that a
``state_dict`` moves between the two implementations unchanged:

* ``weight_ih_l{k}``: (G*H, input),  ``weight_hh_l{k}``: (G*H, H),
  ``bias_ih_l{k}``: (G*H,),          ``bias_hh_l{k}``: (G*H,),  suffix ``_reverse`` for the backward
  direction, where G is the number of gate blocks: 1 (RNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o).

Every step function takes ``xw_t = W_ih x_t + b_ih`` already computed: the input projection of all time
steps is one big matrix product done before the loop, and the loop walks ``xw.unbind(1)``. (Slicing
``xw[:, t]`` inside the loop would make the backward pass quadratic in T.)

Two GRU variants:

* ``"torch"`` (default, what ``nn.GRU`` computes): the reset gate multiplies ``W_hn h_{t-1} + b_hn``
  *after* the matrix product, and ``h_t = (1 - z_t) * n_t + z_t * h_{t-1}`` (z_t near 1 keeps the past).
* ``"cho"`` (the course text): the reset gate multiplies ``h_{t-1}`` *before* the matrix product, as in
  Cho et al. (2014), and ``h_t = (1 - z_t) * h_{t-1} + z_t * h~_t`` (z_t near 0 keeps the past), as Chung
  et al. (2014) write it; Cho et al. themselves let z_t near 1 keep the past, like PyTorch. That z
  convention is only a relabelling (:func:`rnnlib.initialization.flip_update_gate`); the reset placement
  is a different function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: torch's ``mode`` strings and how many gate blocks each stacks into one weight matrix.
GATE_BLOCKS = {"RNN_TANH": 1, "GRU": 3, "LSTM": 4}
#: gate names in torch's order, per mode.
GATE_NAMES = {"RNN_TANH": (), "GRU": ("r", "z", "n"), "LSTM": ("i", "f", "g", "o")}
GRU_VARIANTS = ("torch", "cho")


def rnn_step(xw_t: Tensor, h_prev: Tensor, w_hh: Tensor, b_hh: Tensor) -> Tensor:
    """One vanilla (tanh) RNN step. ``xw_t, h_prev: (batch, H)`` → ``h_t: (batch, H)``."""
    # h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    return torch.tanh(xw_t + F.linear(h_prev, w_hh, b_hh))


def gru_step(
    xw_t: Tensor, h_prev: Tensor, w_hh: Tensor, b_hh: Tensor, variant: str = "torch"
) -> tuple[Tensor, dict[str, Tensor]]:
    """One GRU step. ``xw_t: (batch, 3H)``, ``h_prev: (batch, H)`` → ``(h_t, {"r", "z", "n"})``."""
    x_r, x_z, x_n = xw_t.chunk(3, dim=-1)
    if variant == "torch":
        h_r, h_z, h_n = F.linear(h_prev, w_hh, b_hh).chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)  # r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = torch.sigmoid(x_z + h_z)  # z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = torch.tanh(x_n + r * h_n)  # n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
        h = (1 - z) * n + z * h_prev  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    else:  # "cho"
        w_hr, w_hz, w_hn = w_hh.chunk(3, dim=0)
        b_hr, b_hz, b_hn = b_hh.chunk(3, dim=0)
        r = torch.sigmoid(x_r + F.linear(h_prev, w_hr, b_hr))  # r_t = σ(W_r [h_{t-1}, x_t] + b_r)
        z = torch.sigmoid(x_z + F.linear(h_prev, w_hz, b_hz))  # z_t = σ(W_z [h_{t-1}, x_t] + b_z)
        n = torch.tanh(x_n + F.linear(r * h_prev, w_hn, b_hn))  # h~_t = tanh(W_h [r_t ⊙ h_{t-1}, x_t] + b_h)
        h = (1 - z) * h_prev + z * n  # h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t
    return h, {"r": r, "z": z, "n": n}


def lstm_step(
    xw_t: Tensor, state: tuple[Tensor, Tensor], w_hh: Tensor, b_hh: Tensor
) -> tuple[tuple[Tensor, Tensor], dict[str, Tensor]]:
    """One LSTM step. ``xw_t: (batch, 4H)``, ``state = (h_{t-1}, c_{t-1})``, each ``(batch, H)``."""
    h_prev, c_prev = state
    pre_i, pre_f, pre_g, pre_o = (xw_t + F.linear(h_prev, w_hh, b_hh)).chunk(4, dim=-1)
    i = torch.sigmoid(pre_i)  # i_t = σ(W_i [h_{t-1}, x_t] + b_i)      input gate
    f = torch.sigmoid(pre_f)  # f_t = σ(W_f [h_{t-1}, x_t] + b_f)      forget gate
    g = torch.tanh(pre_g)  # c~_t = tanh(W_c [h_{t-1}, x_t] + b_c)     candidate cell
    o = torch.sigmoid(pre_o)  # o_t = σ(W_o [h_{t-1}, x_t] + b_o)      output gate
    c = f * c_prev + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t          the conveyor belt
    h = o * torch.tanh(c)  # h_t = o_t ⊙ tanh(c_t)
    return (h, c), {"i": i, "f": f, "g": g, "o": o, "c": c}


def recurrent_mode(rnn: nn.Module) -> str:
    """torch's mode string (``"RNN_TANH"``, ``"GRU"``, ``"LSTM"``) of a torch or scratch layer."""
    mode = getattr(rnn, "mode", None)
    if mode not in GATE_BLOCKS:
        raise ValueError(
            f"rnn must be a tanh nn.RNN, nn.GRU, nn.LSTM or ScratchRecurrent, got {type(rnn).__name__}"
            f" with mode {mode!r}"
        )
    return mode


def layer_weights(rnn: nn.Module, layer: int, reverse: bool = False) -> tuple[Tensor, ...]:
    """``(W_ih, W_hh, b_ih, b_hh)`` of one layer and direction, read by torch's parameter names."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return tuple(getattr(rnn, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def reverse_within_length(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence's first ``lengths[b]`` steps, leave its padding where it is.

    ``x: (batch, time, ...)``. Applied twice it is the identity. This is how the backward direction
    starts at the true last token instead of at the padding.
    """
    if lengths is None:
        return x.flip(1)
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, T)
    last = (lengths.to(x.device) - 1).unsqueeze(1)  # (B, 1)
    index = torch.where(steps <= last, last - steps, steps)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


@dataclass
class Unrolled:
    """What :func:`unroll` returns.

    ``output``: (batch, time, directions*H), the top layer's states as ``nn.RNN`` returns them.
    ``hidden``: the top layer's forward-direction ``h_t``, one (batch, H) tensor per step; each is a node
    of the autograd graph, so ``torch.autograd.grad(loss, hidden)`` gives the total ∂L/∂h_t.
    ``gates``: the top layer's forward-direction gate activations, name → (batch, time, H), when asked.
    """

    output: Tensor
    hidden: list[Tensor]
    gates: dict[str, Tensor] | None = None


def run_direction(
    rnn: nn.Module,
    x: Tensor,
    layer: int,
    *,
    reverse: bool = False,
    lengths: Tensor | None = None,
    keep_gates: bool = False,
) -> tuple[list[Tensor], dict[str, Tensor] | None]:
    """Run one layer in one direction over ``x: (batch, time, in)`` step by step.

    Returns the list of ``h_t`` (batch, H) in the time order of ``x`` and, if asked, the gates stacked
    to (batch, time, H).
    """
    mode = recurrent_mode(rnn)
    w_ih, w_hh, b_ih, b_hh = layer_weights(rnn, layer, reverse)
    if reverse:
        x = reverse_within_length(x, lengths)
    xw = F.linear(x, w_ih, b_ih)  # W_ih x_t + b_ih for all t at once: (batch, time, G*H)
    h = x.new_zeros(x.shape[0], w_hh.shape[1])
    state = (h, h) if mode == "LSTM" else h
    variant = getattr(rnn, "gru_variant", "torch")
    hs: list[Tensor] = []
    gate_steps: list[dict[str, Tensor]] = []
    for xw_t in xw.unbind(1):
        if mode == "RNN_TANH":
            state = h = rnn_step(xw_t, state, w_hh, b_hh)
            gates = {}
        elif mode == "GRU":
            state, gates = gru_step(xw_t, state, w_hh, b_hh, variant)
            h = state
        else:
            state, gates = lstm_step(xw_t, state, w_hh, b_hh)
            h = state[0]
        hs.append(h)
        if keep_gates:
            gate_steps.append(gates)
    stacked = None
    if keep_gates:
        stacked = {k: torch.stack([g[k] for g in gate_steps], 1) for k in (gate_steps[0] if gate_steps else {})}
    if reverse:
        hs = list(reverse_within_length(torch.stack(hs, 1), lengths).unbind(1))
        if stacked:
            stacked = {k: reverse_within_length(v, lengths) for k, v in stacked.items()}
    return hs, stacked


def unroll(
    rnn: nn.Module, x: Tensor, lengths: Tensor | None = None, *, keep_gates: bool = False
) -> Unrolled:
    """Run a torch or scratch recurrent layer step by step with its own weights.

    ``x: (batch, time, input)``; ``lengths: (batch,)`` true lengths (the backward direction of a
    bidirectional layer starts at each sequence's true last token). Dropout between layers is applied
    as torch does, only in training mode.
    """
    recurrent_mode(rnn)  # fail early, with a clear message, on a layer we cannot unroll
    layer_input = x
    for layer in range(rnn.num_layers):
        if layer > 0:
            layer_input = F.dropout(layer_input, rnn.dropout, rnn.training)
        top = layer == rnn.num_layers - 1
        hs, gates = run_direction(rnn, layer_input, layer, keep_gates=keep_gates and top)
        outputs = [torch.stack(hs, 1)]
        if rnn.bidirectional:
            hs_back, _ = run_direction(rnn, layer_input, layer, reverse=True, lengths=lengths)
            outputs.append(torch.stack(hs_back, 1))
        layer_input = torch.cat(outputs, -1) if rnn.bidirectional else outputs[0]
    return Unrolled(output=layer_input, hidden=hs, gates=gates)


class ScratchRecurrent(nn.Module):
    """A drop-in for ``nn.RNN(tanh)/nn.GRU/nn.LSTM`` (``batch_first=True``) built from the steps above.

    ``forward(x, lengths=None)`` takes ``x: (batch, time, input_size)`` and returns the top layer's
    output ``(batch, time, directions * hidden_size)``.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        gru_variant: str = "torch",
    ) -> None:
        super().__init__()
        if mode not in GATE_BLOCKS:
            raise ValueError(f"mode must be one of {sorted(GATE_BLOCKS)}, got {mode!r}")
        if gru_variant not in GRU_VARIANTS:
            raise ValueError(f"gru_variant must be one of {GRU_VARIANTS}, got {gru_variant!r}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.gru_variant = gru_variant
        gates = GATE_BLOCKS[mode] * hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * directions
            for suffix in [f"_l{layer}", f"_l{layer}_reverse"][:directions]:
                self.register_parameter("weight_ih" + suffix, nn.Parameter(torch.empty(gates, in_size)))
                self.register_parameter("weight_hh" + suffix, nn.Parameter(torch.empty(gates, hidden_size)))
                self.register_parameter("bias_ih" + suffix, nn.Parameter(torch.empty(gates)))
                self.register_parameter("bias_hh" + suffix, nn.Parameter(torch.empty(gates)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's initialisation: every weight and bias uniform in ±1/√H."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return unroll(self, x, lengths).output

    def extra_repr(self) -> str:
        return (
            f"{self.mode}, {self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"dropout={self.dropout}, bidirectional={self.bidirectional}, gru_variant={self.gru_variant!r}"
        )
