"""Initialisation choices that decide whether a recurrent network can remember at all.

PyTorch's default (every weight uniform in ±1/√H) stays the default everywhere; these functions let a
learner change one thing and measure what it does:

* :func:`set_forget_bias`: the LSTM forget-gate bias (Gers et al. 2000; Jozefowicz et al. 2015 use 1),
  or the GRU update gate in its "keep the past" direction.
* :func:`set_spectral_radius`: rescale each recurrent matrix ``W_hh`` (each gate block for GRU/LSTM) to
  a chosen spectral radius, to push a vanilla RNN from vanishing (< 1) to exploding (> 1).
* :func:`flip_update_gate`: move GRU weights between the two conventions for the update gate z.
"""

from __future__ import annotations

import torch
from torch import nn

from .cells import GATE_BLOCKS, GATE_NAMES, recurrent_mode
from .limits import GATE_BIAS_LIMIT, MAX_SPECTRAL_RADIUS
from .validation import check_float


def recurrent_layer(model: nn.Module) -> nn.Module:
    """The recurrent layer of a model (``model.rnn``), or the layer itself."""
    rnn = getattr(model, "rnn", model)
    recurrent_mode(rnn)
    return rnn


def _parameters(rnn: nn.Module, prefix: str):
    return [(name, p) for name, p in rnn.named_parameters() if name.startswith(prefix)]


def gate_blocks(matrix: torch.Tensor, mode: str) -> dict[str, torch.Tensor]:
    """Split a stacked ``(G*H, ...)`` weight or bias into its gate blocks, named in torch's order."""
    names = GATE_NAMES[mode] or ("h",)
    return dict(zip(names, matrix.chunk(GATE_BLOCKS[mode], dim=0)))


def spectral_radii(model: nn.Module) -> dict[str, float]:
    """Spectral radius (largest |eigenvalue|) of every recurrent block ``W_hh``.

    Keys look like ``"l0"`` (RNN) or ``"l0.f"`` (gate f of layer 0), ``"l0_reverse.f"``, ...
    """
    rnn = recurrent_layer(model)
    mode = recurrent_mode(rnn)
    radii = {}
    for name, weight in _parameters(rnn, "weight_hh"):
        where = name.removeprefix("weight_hh_")
        for gate, block in gate_blocks(weight.detach(), mode).items():
            key = where if mode == "RNN_TANH" else f"{where}.{gate}"
            radii[key] = float(torch.linalg.eigvals(block.double()).abs().max())
    return radii


@torch.no_grad()
def set_spectral_radius(model: nn.Module, radius: float) -> nn.Module:
    """Rescale every recurrent block ``W_hh`` so its spectral radius equals ``radius`` (> 0).

    Returns the model. Only the direction of each matrix's spectrum is kept from the initialisation;
    its scale becomes ``radius``.
    """
    radius = check_float("radius", radius, low=0.0, high=MAX_SPECTRAL_RADIUS, low_open=True)
    rnn = recurrent_layer(model)
    mode = recurrent_mode(rnn)
    for _, weight in _parameters(rnn, "weight_hh"):
        for block in gate_blocks(weight, mode).values():
            current = torch.linalg.eigvals(block.double()).abs().max().item()
            if current > 0:
                block.mul_(radius / current)
    return model


@torch.no_grad()
def set_forget_bias(model: nn.Module, value: float) -> nn.Module:
    """Bias the memory gate towards keeping the past; returns the model.

    LSTM: the forget gate's total bias ``b_if + b_hf`` becomes ``value`` (``σ(1) ≈ 0.73``,
    ``σ(3) ≈ 0.95`` of the cell state kept per step before any input arrives).
    GRU: the update gate z in its keep direction: ``+value`` for PyTorch's variant (z near 1 keeps),
    ``-value`` for the Cho et al. variant (z near 0 keeps). A vanilla RNN has no gate: ValueError.
    """
    value = check_float("value", value, low=-GATE_BIAS_LIMIT, high=GATE_BIAS_LIMIT)
    rnn = recurrent_layer(model)
    mode = recurrent_mode(rnn)
    if mode == "RNN_TANH":
        raise ValueError("model must be a GRU or LSTM for set_forget_bias: a vanilla RNN has no gate to bias")
    gate = "f" if mode == "LSTM" else "z"
    if mode == "GRU" and getattr(rnn, "gru_variant", "torch") == "cho":
        value = -value
    for name, bias in _parameters(rnn, "bias_"):
        block = gate_blocks(bias, mode)[gate]
        block.fill_(value if name.startswith("bias_ih") else 0.0)
    return model


@torch.no_grad()
def flip_update_gate(model: nn.Module) -> nn.Module:
    """Negate every GRU update-gate block (``W_iz``, ``W_hz``, ``b_iz``, ``b_hz``) in place; returns
    the model.

    Since ``σ(-a) = 1 - σ(a)``, the flipped layer computes ``1 - z_t`` wherever it computed ``z_t``. That
    converts weights between the two conventions of :data:`rnnlib.cells.GRU_VARIANTS`: PyTorch's keeps the
    past where ``z_t`` is near 1, the course text's where it is near 0. (Where the reset gate acts is the
    other difference between the variants: it makes them different functions, and flipping leaves it.)
    Applied twice it is the identity. Needs a GRU: ValueError otherwise.
    """
    rnn = recurrent_layer(model)
    if recurrent_mode(rnn) != "GRU":
        raise ValueError(f"flip_update_gate needs a GRU, got a {recurrent_mode(rnn)} layer")
    for weight_or_bias in rnn.parameters():  # every layer and direction stacks r, z, n the same way
        gate_blocks(weight_or_bias, "GRU")["z"].neg_()
    return model
