"""Exercises of notebook 04 (BiLSTM): reversing padded sequences, and reading ``[h_T→ ; h_1←]`` correctly."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..cells import reverse_within_length
from ..models import RecurrentClassifier
from . import solutions
from .delegation import RNNLIB, Forbidden
from .framework import AnswerProblem, Exercise, call_answer, close, describe, join_names, seeded, tensor_problem

#: (seed, lengths, size): padded batches (the last one without padding), ``size`` = features or input size
CASES = ((0, (5, 2, 4), 3), (1, (3, 6, 1, 6), 2), (2, (4, 4), 1))


def padded_case(seed: int, lengths: tuple[int, ...], features: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Random ``x: (batch, max(lengths), features)`` (padding positions random too) and ``lengths``."""
    with seeded(seed):
        x = torch.randn(len(lengths), max(lengths), features)
    text = describe(lengths=list(lengths), time=max(lengths), seed=seed)
    return x, torch.tensor(lengths), text


class ReverseWithinLengthExercise(Exercise):
    title = "Reverse padded sequences without moving the padding"
    answer_name = "reverse_within_length"
    solution_function = solutions.reverse_within_length
    forbidden = (RNNLIB["reverse_within_length"], RNNLIB["run_direction"])
    delegation_advice = (
        "Reverse each sequence's real part yourself: a loop over the batch with `.flip(0)` is enough; the check "
        "compares with the right reversal for you."
    )
    prompt = r"""The backward direction of a BiLSTM must start at each sequence's **true** last token. In a padded
batch, `x.flip(1)` would put the padding first, and the backward LSTM would read padding before any real token.

Write `reverse_within_length(x, lengths)`: for `x`: (batch, time, features) and `lengths`: (batch,) (a long
tensor of true lengths), return a tensor of the same shape in which sequence `b`'s first `lengths[b]` steps are
reversed and its padding (steps `lengths[b]` … time − 1) stays exactly where and what it was."""
    hints = (
        "Work sequence by sequence: for sequence b only `x[b, :lengths[b]]` changes; `.flip(0)` reverses it.",
        "Start from a copy (`x.clone()`) so the padding is already in place, and write the reversed part into it. "
        "`lengths.tolist()` gives plain ints to loop over.",
    )

    def run_checks(self, answer) -> str:
        for seed, lengths, features in CASES:
            x, lengths_t, case = padded_case(seed, lengths, features)
            expected = reverse_within_length(x, lengths_t)
            real = torch.arange(x.shape[1]) < lengths_t.unsqueeze(1)  # (batch, time): True on real tokens
            got = call_answer(answer, x, lengths_t, case=case)
            problem = tensor_problem(
                "result", got, expected, axes=("batch", "step", "feature"), against="the right reversal", case=case,
                mistakes=[
                    ("You flipped the whole padded time axis: the padding now comes first, so a backward LSTM "
                     "would read padding before the real last token. Reverse only the first lengths[b] steps.",
                     x.flip(1)),
                    ("Your padding changed (it is zero now): padding must stay exactly as it was. Start from a copy "
                     "of x and reverse only the real part.", expected * real.unsqueeze(-1)),
                ],
                advice="Sequence b's steps 0 … lengths[b] − 1 are reversed; its steps from lengths[b] on stay put.",
            )
            if problem:
                raise AnswerProblem(problem)
        return (
            "Right, and applying it twice gives x back. rnnlib's scratch BiLSTM runs its backward direction on "
            "`rnnlib.cells.reverse_within_length(x, lengths)`; `nn.LSTM` gets the same effect from a packed batch "
            "(`pack_padded_sequence`)."
        )


class BiLSTMReadoutExercise(Exercise):
    title = "Read out [h_T→ ; h_1←] from a padded BiLSTM batch"
    answer_name = "bilstm_readout"
    solution_function = solutions.bilstm_readout
    forbidden = (RNNLIB["read_last"], Forbidden("RecurrentClassifier.readout", (RecurrentClassifier.readout,)))
    delegation_advice = (
        "Index `output` yourself: each sequence's forward state at lengths − 1, the backward state at position 0."
    )
    prompt = r"""A bidirectional `nn.LSTM` ran over a **packed** padded batch (so the backward direction started at
each sequence's true last token), and `pad_packed_sequence` gave back `output`: (batch, time, 2H), the forward
states in `output[..., :H]`, the backward ones in `output[..., H:]`, zeros at padding.

Write `bilstm_readout(output, lengths)` returning the classifier's input $[\overrightarrow{h}_T ; \overleftarrow{h}_1]$:
(batch, 2H), where $\overrightarrow{h}_T$ is the forward state at each sequence's true last token (`lengths[b] − 1`)
and $\overleftarrow{h}_1$ the backward state at position 0, where the backward direction finished.
`lengths`: (batch,) long tensor. The check compares with the final states `nn.LSTM` itself reports (`h_n`)."""
    hints = (
        "`output[:, -1]` is the padded end: for a sequence shorter than the batch that position holds padding. "
        "Each sequence needs its own time index, `lengths - 1`.",
        "Index two dimensions at once: `output[torch.arange(batch), lengths - 1, :H]` is (batch, H). "
        "The backward half is simply `output[:, 0, H:]`.",
        "Join the halves forward first: `torch.cat([forward, backward], dim=1)`.",
    )

    def run_checks(self, answer) -> str:
        for seed, lengths, input_size in CASES:
            hidden = input_size + 2
            x, lengths_t, case = padded_case(seed, lengths, input_size)
            output, expected = packed_bilstm(x, lengths_t, hidden, seed)
            got = call_answer(answer, output, lengths_t, case=case)
            problem = tensor_problem("readout", got, expected, axes=("batch", "unit"), against="h_n", case=case)
            if problem is None:
                continue
            if isinstance(got, torch.Tensor) and got.shape == expected.shape:
                problem = self._diagnose_halves(got.detach(), expected, output, lengths_t, hidden) + case
            raise AnswerProblem(problem)
        return (
            "Your readout equals the final states nn.LSTM reports for the packed batch. This is "
            "`rnnlib.models.read_last`; reading `output[:, -1]` instead would hand the classifier padding for every "
            "sequence shorter than the batch."
        )

    @staticmethod
    def _diagnose_halves(got, expected, output, lengths, hidden) -> str:
        forward, backward = got[:, :hidden], got[:, hidden:]
        if close(forward, expected[:, hidden:]) and close(backward, expected[:, :hidden]):
            return "Your halves are swapped: the classifier reads [h_T→ ; h_1←], forward first."
        rows = torch.arange(output.shape[0])
        last = output.shape[1] - 1
        problems = {
            "forward": tensor_problem(
                "forward half", forward, expected[:, :hidden], axes=("batch", "unit"), against="h_T→",
                mistakes=[
                    (f"Your forward half reads position {last}, the padded end: for the sequences shorter than "
                     f"{last + 1} steps that is padding (zeros after a packed run). Read each at lengths − 1.",
                     output[:, -1, :hidden]),
                    ("Your forward half reads position 0, where the forward direction has seen only the first "
                     "token. Read each sequence at lengths − 1.", output[:, 0, :hidden]),
                ],
            ),
            "backward": tensor_problem(
                "backward half", backward, expected[:, hidden:], axes=("batch", "unit"), against="h_1←",
                mistakes=[
                    (f"Your backward half reads position {last}: the backward direction *starts* at the end (for "
                     "short sequences that position is padding). It finishes at position 0: `output[:, 0, H:]`.",
                     output[:, -1, hidden:]),
                    ("Your backward half reads position lengths − 1, where the backward direction has read only the "
                     "last token. It finishes at position 0: `output[:, 0, H:]`.", output[rows, lengths - 1, hidden:]),
                ],
            ),
        }
        wrong = [text for text in problems.values() if text]
        right = [name for name, text in problems.items() if not text]
        return " ".join(wrong) + (f" (Your {join_names(right)} half is right.)" if right else "")


def packed_bilstm(x: torch.Tensor, lengths: torch.Tensor, hidden: int, seed: int):
    """Run a fresh bidirectional ``nn.LSTM`` over the packed batch: ``(output (B, T, 2H), [h_n→ ; h_n←] (B, 2H))``."""
    with seeded(seed):
        lstm = nn.LSTM(x.shape[-1], hidden, batch_first=True, bidirectional=True)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        packed_output, (h_n, _) = lstm(packed)
    output, _ = pad_packed_sequence(packed_output, batch_first=True, total_length=x.shape[1])
    return output, torch.cat([h_n[0], h_n[1]], dim=1)  # h_n: (directions, batch, H), batch in input order


reverse_within_length_exercise = ReverseWithinLengthExercise()
bilstm_readout_exercise = BiLSTMReadoutExercise()
