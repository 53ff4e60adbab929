"""The four sequence classifiers of the course, with the original module's constructor.

Every model reads each sequence at its **true last token**, so padding never changes a prediction:

* unidirectional models run the fused layer over the padded batch and *gather* the output at
  ``lengths - 1``: a causal recurrence has not seen the padding yet there, and gathering is free;
* the BiLSTM's backward direction must *start* at the true last token. With padding it packs the batch
  (``impl="torch"``) or reverses each sequence within its length (``impl="scratch"``); packing costs
  time on CPU, so it is done only for a bidirectional model whose batch really has padding.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .architectures import ARCHITECTURES
from .cells import GRU_VARIANTS, ScratchRecurrent
from .initialization import set_forget_bias, set_spectral_radius
from .limits import GATE_BIAS_LIMIT, MAX_LAYERS, MAX_SPECTRAL_RADIUS, MAX_WIDTH
from .validation import check_choice, check_float, check_int, check_lengths

IMPLEMENTATIONS = ("torch", "scratch")
_TORCH_LAYERS = {"RNN_TANH": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}


class RecurrentClassifier(nn.Module):
    """Embedding (token input) → recurrent layer(s) → state at the true last token → dropout → Linear.

    ``forward(x, lengths=None)``: ``x`` is ``(batch, time)`` token ids (``0`` is padding) when the model
    was built with ``vocab_size``, or ``(batch, time, input_dim)`` real values when built with
    ``input_dim``; ``lengths: (batch,)`` true lengths (``None``: every sequence fills ``time``).
    Returns ``(batch, output_dim)``.
    """

    arch = "rnn"

    def __init__(
        self,
        vocab_size: int | None = None,
        embed_dim: int = 32,
        hidden_dim: int = 64,
        output_dim: int = 2,
        num_layers: int = 1,
        dropout: float = 0.0,
        *,
        input_dim: int | None = None,
        impl: str = "torch",
        gru_variant: str = "torch",
        forget_bias: float | None = None,
        spectral_radius: float | None = None,
    ) -> None:
        super().__init__()
        if (vocab_size is None) == (input_dim is None):
            raise ValueError(
                "give exactly one of vocab_size (token ids) or input_dim (real-valued input); "
                f"got vocab_size={vocab_size!r}, input_dim={input_dim!r}"
            )
        hidden_dim = check_int("hidden_dim", hidden_dim, low=1, high=MAX_WIDTH)
        output_dim = check_int("output_dim", output_dim, low=1)
        num_layers = check_int("num_layers", num_layers, low=1, high=MAX_LAYERS)
        dropout = check_float("dropout", dropout, low=0.0, high=1.0, high_open=True)
        check_choice("impl", impl, IMPLEMENTATIONS)
        check_choice("gru_variant", gru_variant, GRU_VARIANTS)
        if gru_variant != "torch" and (self.arch != "gru" or impl != "scratch"):
            raise ValueError('gru_variant="cho" exists only for arch "gru" with impl="scratch"')
        mode, bidirectional = ARCHITECTURES[self.arch].mode, ARCHITECTURES[self.arch].bidirectional
        # checked here, under the names the caller used (set_forget_bias calls its argument "value")
        if forget_bias is not None:
            if mode == "RNN_TANH":
                raise ValueError("forget_bias needs a gated arch ('gru', 'lstm', 'bilstm'): a vanilla RNN has no "
                                 "gate; leave forget_bias=None")
            forget_bias = check_float("forget_bias", forget_bias, low=-GATE_BIAS_LIMIT, high=GATE_BIAS_LIMIT)
        if spectral_radius is not None:
            spectral_radius = check_float("spectral_radius", spectral_radius, low=0.0, high=MAX_SPECTRAL_RADIUS,
                                          low_open=True)

        if vocab_size is not None:
            self.vocab_size = check_int("vocab_size", vocab_size, low=2)
            embed_dim = check_int("embed_dim", embed_dim, low=1, high=MAX_WIDTH)
            self.embedding = nn.Embedding(self.vocab_size, embed_dim, padding_idx=0)
            rnn_input = embed_dim
        else:
            self.vocab_size = None
            rnn_input = check_int("input_dim", input_dim, low=1)
        self.input_dim = rnn_input
        self.hidden_dim = hidden_dim
        self.impl = impl
        self.bidirectional = bidirectional
        between_layers = dropout if num_layers > 1 else 0.0  # torch warns on dropout with one layer
        if impl == "torch":
            self.rnn = _TORCH_LAYERS[mode](
                rnn_input, hidden_dim, num_layers=num_layers, dropout=between_layers,
                bidirectional=bidirectional, batch_first=True,
            )
        else:
            self.rnn = ScratchRecurrent(
                mode, rnn_input, hidden_dim, num_layers=num_layers, dropout=between_layers,
                bidirectional=bidirectional, gru_variant=gru_variant,
            )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_dim * (2 if bidirectional else 1), output_dim)
        if forget_bias is not None:
            set_forget_bias(self, forget_bias)
        if spectral_radius is not None:
            set_spectral_radius(self, spectral_radius)

    @property
    def uses_tokens(self) -> bool:
        return self.vocab_size is not None

    def check_input(self, x: Tensor, lengths=None) -> Tensor | None:
        """Validate ``x`` and ``lengths`` against this model; returns ``lengths`` as a long tensor."""
        if self.uses_tokens:
            if x.dim() != 2 or x.is_floating_point():
                raise ValueError(
                    f"x must be integer token ids of shape (batch, time); got dtype {x.dtype} "
                    f"and shape {tuple(x.shape)}"
                )
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.vocab_size):
                raise ValueError(
                    f"x must hold token ids in [0, {self.vocab_size - 1}] (vocab_size={self.vocab_size}); "
                    f"got values from {int(x.min())} to {int(x.max())}"
                )
        elif x.dim() != 3 or x.shape[-1] != self.input_dim or not x.is_floating_point():
            raise ValueError(
                f"x must be real values of shape (batch, time, input_dim={self.input_dim}); got dtype "
                f"{x.dtype} and shape {tuple(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x must hold at least one step of one sequence; got shape {tuple(x.shape)}")
        return check_lengths(lengths, x.shape[0], x.shape[1])

    def embed(self, x: Tensor) -> Tensor:
        """``(batch, time)`` ids → ``(batch, time, embed_dim)``; real-valued input passes unchanged."""
        return self.embedding(x) if self.uses_tokens else x

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Top-layer states ``(batch, time, directions * hidden_dim)``, padding handled."""
        inputs = self.embed(x)
        if self.impl == "scratch":
            return self.rnn(inputs, lengths)
        time = inputs.shape[1]
        if self._packs(lengths, time):
            output, _ = pad_packed_sequence(self.rnn(_pack(inputs, lengths))[0], batch_first=True, total_length=time)
            return output
        return self.rnn(inputs)[0]

    def _packs(self, lengths: Tensor | None, time: int) -> bool:
        """Does this batch go through the torch layer packed? Only a bidirectional one with padding."""
        return self.impl == "torch" and self.bidirectional and lengths is not None and bool((lengths < time).any())

    def features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The vector the classifier reads: ``h_T`` at the true last token (``[h_T→ ; h_1←]`` for BiLSTM)."""
        if self._packs(lengths, x.shape[1]):
            # a packed layer's final states h_n already are [h_T→ at each true end ; h_1←]: reading them
            # skips padding the whole output back (about 10 % of a BiLSTM training step on CPU)
            h_n = self.rnn(_pack(self.embed(x), lengths))[1][0]  # LSTM: (h_n, c_n); (layers * 2, batch, H)
            return torch.cat([h_n[-2], h_n[-1]], dim=-1)
        return read_last(self.encode(x, lengths), lengths, self.hidden_dim, self.bidirectional)

    def head(self, features: Tensor) -> Tensor:
        """``(batch, D*H)`` features → ``(batch, output_dim)``: dropout, then the output layer ``fc``."""
        return self.fc(self.dropout(features))

    def readout(self, encoded: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Top-layer states ``(batch, time, D*H)`` → outputs ``(batch, output_dim)``, so diagnostics that
        unroll the recurrence themselves reuse the model's own readout."""
        return self.head(read_last(encoded, lengths, self.hidden_dim, self.bidirectional))

    def forward(self, x: Tensor, lengths=None) -> Tensor:
        lengths = self.check_input(x, lengths)
        if lengths is not None:
            lengths = lengths.to(x.device)
        return self.head(self.features(x, lengths))


def _pack(inputs: Tensor, lengths: Tensor):
    """``inputs: (batch, time, features)`` packed at the true ``lengths`` (any order)."""
    return pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)


def read_last(output: Tensor, lengths: Tensor | None, hidden: int, bidirectional: bool) -> Tensor:
    """``output: (batch, time, D*H)`` → forward state at ``lengths - 1`` (and backward state at 0)."""
    forward = output[..., :hidden]
    if lengths is None:
        last = forward[:, -1]
    else:
        index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, hidden)
        last = forward.gather(1, index).squeeze(1)
    if not bidirectional:
        return last
    return torch.cat([last, output[:, 0, hidden:]], dim=-1)


class SimpleRNN(RecurrentClassifier):
    """Vanilla tanh RNN classifier: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``."""

    arch = "rnn"


class GRUClassifier(RecurrentClassifier):
    """GRU classifier (update gate z, reset gate r)."""

    arch = "gru"


class LSTMClassifier(RecurrentClassifier):
    """LSTM classifier (forget, input, output gates and a cell state)."""

    arch = "lstm"


class BiLSTMClassifier(RecurrentClassifier):
    """Bidirectional LSTM classifier reading ``[h_T→ ; h_1←]``."""

    arch = "bilstm"


MODEL_CLASSES = {cls.arch: cls for cls in (SimpleRNN, GRUClassifier, LSTMClassifier, BiLSTMClassifier)}


def build_model(
    arch: str,
    *,
    vocab_size: int | None = None,
    input_dim: int | None = None,
    embed_dim: int = 32,
    hidden_dim: int = 64,
    output_dim: int = 2,
    num_layers: int = 1,
    dropout: float = 0.0,
    impl: str = "torch",
    gru_variant: str = "torch",
    forget_bias: float | None = None,
    spectral_radius: float | None = None,
) -> RecurrentClassifier:
    """Build one of ``"rnn"``, ``"gru"``, ``"lstm"``, ``"bilstm"``.

    Exactly one of ``vocab_size`` (token ids, 0 is padding) or ``input_dim`` (real-valued input
    ``(batch, time, input_dim)``). ``impl="scratch"`` uses rnnlib's own cells with the same parameter
    names, so ``state_dict``s move between implementations. ``forget_bias`` (GRU/LSTM) and
    ``spectral_radius`` change the initialisation (see :mod:`rnnlib.initialization`).
    """
    check_choice("arch", arch, tuple(ARCHITECTURES))
    return MODEL_CLASSES[arch](
        vocab_size, embed_dim, hidden_dim, output_dim, num_layers, dropout,
        input_dim=input_dim, impl=impl, gru_variant=gru_variant,
        forget_bias=forget_bias, spectral_radius=spectral_radius,
    )


def count_parameters(model: nn.Module, *, recurrent_only: bool = False) -> int:
    """Number of trainable parameters (of the recurrent layer alone if ``recurrent_only``)."""
    module = model.rnn if recurrent_only else model
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def naive_bidirectional_forward(model: RecurrentClassifier, x: Tensor, lengths=None) -> Tensor:
    """**The wrong way, kept for teaching** (notebook 04): a bidirectional model run over a padded batch
    without packing. Returns ``(batch, output_dim)`` like ``model(x, lengths)``.

    ``lengths`` is used only by the readout (forward state at the true last token), not by the layer:
    the backward direction starts at the end of the *padded* row, reads the padding first and arrives at
    ``h_1←`` in a state that depends on how much padding the batch gave this sequence. Without padding
    (``lengths`` all equal to ``time``) it equals ``model(x, lengths)``. Use ``model(x, lengths)``.
    """
    if not isinstance(model, RecurrentClassifier) or not model.bidirectional:
        raise ValueError(f"model must be a bidirectional rnnlib model (arch 'bilstm'), got {model!r:.60}")
    lengths = model.check_input(x, lengths)
    if lengths is not None:
        lengths = lengths.to(x.device)
    return model.readout(model.encode(x), lengths)  # encode without lengths: no packing
