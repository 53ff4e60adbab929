"""The one table of the course's architectures: torch layer, direction, display name and colour.

Models, comparisons, the audit, the labs' controls and every plot read it, so an architecture is
named and coloured the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    key: str  # what build_model takes: "rnn", "gru", "lstm", "bilstm"
    mode: str  # torch's mode name, as in nn.RNNBase: "RNN_TANH", "GRU", "LSTM"
    bidirectional: bool
    name: str  # what a learner reads: "RNN", "GRU", "LSTM", "BiLSTM"
    color: str  # seaborn "colorblind" palette, one hue per architecture


ARCHITECTURES: dict[str, Architecture] = {
    arch.key: arch
    for arch in (
        Architecture("rnn", "RNN_TANH", False, "RNN", "#0173b2"),
        Architecture("gru", "GRU", False, "GRU", "#de8f05"),
        Architecture("lstm", "LSTM", False, "LSTM", "#029e73"),
        Architecture("bilstm", "LSTM", True, "BiLSTM", "#cc78bc"),
    )
}
ARCHS = tuple(ARCHITECTURES)  # ("rnn", "gru", "lstm", "bilstm")


def display_name(arch: str) -> str:
    """``"bilstm"`` → ``"BiLSTM"``."""
    return ARCHITECTURES[arch].name


def arch_color(arch: str) -> str:
    """The architecture's colour in every figure of the course."""
    return ARCHITECTURES[arch].color
