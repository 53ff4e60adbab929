"""Exercises of notebook 02 (GRU): PyTorch's GRU step, and its parameter count against the LSTM's."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..cells import gru_step
from ..models import build_model, count_parameters
from . import solutions
from .delegation import COUNTING, RNNLIB, layer
from .framework import (
    STEP_CASES,
    AnswerProblem,
    Exercise,
    call_answer,
    describe,
    known_mistake,
    noting_constant,
    numeric_answers,
    reorder_gates,
    seeded,
    step_cases,
    tensor_problem,
)

RESET_GATE_ADVICE = (
    "Check the reset gate r_t: PyTorch applies it to (W_hn h + b_hn), after the product; and the gate order "
    "in the stacked weights is r, z, n."
)


class GRUStepExercise(Exercise):
    title = "Write one step of PyTorch's GRU"
    answer_name = "gru_step"
    solution_function = solutions.gru_step
    forbidden = (*layer("gru"), RNNLIB["gru_step"], RNNLIB["unroll"])
    delegation_advice = (
        "Write the gate equations r_t, z_t, n_t and h_t yourself (`@`, `.chunk(3, dim=1)`, `torch.sigmoid`, "
        "`torch.tanh`); the check compares them with nn.GRUCell for you."
    )
    prompt = r"""Write `gru_step(x, h, w_ih, w_hh, b_ih, b_hh)`, one step of the GRU **as PyTorch computes it**:

$$\begin{aligned}
r_t &= \sigma(x_t W_{ir}^\top + b_{ir} + h_{t-1} W_{hr}^\top + b_{hr}) &&\text{reset gate}\\
z_t &= \sigma(x_t W_{iz}^\top + b_{iz} + h_{t-1} W_{hz}^\top + b_{hz}) &&\text{update gate}\\
n_t &= \tanh\big(x_t W_{in}^\top + b_{in} + r_t \odot (h_{t-1} W_{hn}^\top + b_{hn})\big) &&\text{candidate}\\
h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
\end{aligned}$$

* `x`: (batch, input_size), `h` $= h_{t-1}$: (batch, H); return $h_t$: (batch, H)
* `w_ih`: (3H, input_size) stacks $W_{ir}, W_{iz}, W_{in}$; `w_hh`: (3H, H) stacks $W_{hr}, W_{hz}, W_{hn}$;
  `b_ih`, `b_hh`: (3H,) likewise

The check copies the weights of a real `nn.GRUCell` and compares on random inputs of several sizes."""
    hints = (
        "Compute the two products once: `x @ w_ih.T + b_ih` and `h @ w_hh.T + b_hh` are (batch, 3H); "
        "`.chunk(3, dim=1)` splits each into its r, z and n parts, in that order.",
        "The reset gate multiplies the whole hidden part of the candidate, `(h @ W_hn.T + b_hn)`, after the "
        "product. The course text (Cho et al. 2014) applies it to h before the product: a different GRU.",
        "In PyTorch z_t near 1 keeps the past: h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}. The Cho et al. variant "
        "swaps the roles of z_t and 1 − z_t.",
    )

    def run_checks(self, answer) -> str:
        for case in step_cases(nn.GRUCell):
            with torch.no_grad():
                expected = case.cell(case.x, case.h)
            got = call_answer(answer, case.x, case.h, *case.weights, case=case.text)
            problem = tensor_problem(
                "h_t", got, expected, axes=("batch", "unit"), against="nn.GRUCell's", case=case.text,
                mistakes=self._mistakes(case.x, case.h, *case.weights), advice=RESET_GATE_ADVICE,
            )
            if problem:
                raise AnswerProblem(problem)
        return (
            f"Your `gru_step` equals `nn.GRUCell` with the same weights on {len(STEP_CASES)} random cases. "
            "Because you wrote PyTorch's variant, weights trained with `nn.GRU` work in your code unchanged; "
            "the course text's (Cho et al.) variant would need retraining."
        )

    @staticmethod
    def _mistakes(x, h, w_ih, w_hh, b_ih, b_hh):
        """What the common misreadings compute, built from rnnlib's two GRU variants."""
        xw = F.linear(x, w_ih, b_ih)
        _, gates = gru_step(xw, h, w_hh, b_hh, "torch")
        h_cho, cho = gru_step(xw, h, w_hh, b_hh, "cho")  # r_t before the product, z_t's roles swapped
        r, z = gates["r"], gates["z"]
        _, _, w_hn = w_hh.chunk(3)
        _, _, b_hn = b_hh.chunk(3)
        n_bias_outside = torch.tanh(xw.chunk(3, dim=1)[2] + r * F.linear(h, w_hn) + b_hn)
        s_ih, s_hh, s_bih, s_bhh = reorder_gates((w_ih, w_hh, b_ih, b_hh), (1, 0, 2))  # z, r, n
        h_order_zrn, _ = gru_step(F.linear(x, s_ih, s_bih), h, s_hh, s_bhh)
        return [
            ("Your h_t is the GRU of the course text (Cho et al. 2014): r_t applied to h_{t-1} before the product, "
             "and h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ n_t. nn.GRUCell applies r_t to (W_hn h + b_hn) and keeps the "
             "past with z_t: h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}.", h_cho),
            ("Check the reset gate r_t: PyTorch applies it to (W_hn h + b_hn), after the product; yours multiplies "
             "h_{t-1} before it (the Cho et al. way).", (1 - z) * cho["n"] + z * h),
            ("Check the reset gate r_t: PyTorch applies it to (W_hn h + b_hn), bias included; yours leaves b_hn "
             "outside the product with r_t.", (1 - z) * n_bias_outside + z * h),
            ("Your z_t plays the opposite role: in PyTorch h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}, so z_t near 1 "
             "keeps the past.", z * gates["n"] + (1 - z) * h),
            ("You read the gates in the order z, r, n; torch stacks them r, z, n in w_ih, w_hh, b_ih and b_hh.",
             h_order_zrn),
        ]


class GRULSTMRatioExercise(Exercise):
    title = "How many parameters does a GRU classifier save against an LSTM classifier?"
    answer_name = "gru_lstm_ratio"
    solution_function = solutions.gru_lstm_ratio
    forbidden = (*layer("gru"), *layer("lstm"), *COUNTING)
    delegation_advice = (
        "Count with a formula in the four sizes (the embedding, the recurrent layer's blocks, the output "
        "layer): no model to build. The check builds the real models for you."
    )
    prompt = r"""The course text says a GRU has "about 25 % fewer parameters" than an LSTM. Is that true of the
classifier you train? Write `gru_lstm_ratio(vocab_size, embed_dim, hidden_dim, output_dim)` that returns, **in
closed form** (a formula, no torch), the number of parameters of `build_model("gru", ...)` divided by that of
`build_model("lstm", ...)` with the same sizes: an embedding (vocab_size × embed_dim), one recurrent layer, and
a linear output layer on the last hidden state. The check counts the parameters of real models of several
sizes."""
    hints = (
        "Count three parts: the embedding, the recurrent layer and the output layer. Only the recurrent layer "
        "differs between the two models. Its parameters come in blocks: for each gate (and the candidate) one "
        "matrix for the input, one for the hidden state and two bias vectors.",
        "A block has hidden_dim × embed_dim + hidden_dim × hidden_dim + 2 × hidden_dim parameters; the GRU stacks "
        "3 blocks (r, z, n), the LSTM 4 (i, f, g, o). The output layer has (hidden_dim + 1) × output_dim.",
    )
    #: (vocab_size, embed_dim, hidden_dim, output_dim): recurrent layer dominating, embedding dominating, tiny
    sizes = ((50, 8, 16, 2), (30, 32, 64, 2), (20000, 100, 32, 3), (3, 1, 1, 1))

    def run_checks(self, answer) -> str:
        names = ("vocab_size", "embed_dim", "hidden_dim", "output_dim")
        cases = [(sizes, describe(**dict(zip(names, sizes)))) for sizes in self.sizes]
        answers = numeric_answers(answer, "ratio", cases)
        models = [self._models(sizes) for sizes in self.sizes]
        ratios = [count_parameters(gru) / count_parameters(lstm) for gru, lstm in models]
        with noting_constant(answers, ratios, "the sizes"):
            for (_, case), got, ratio, (gru, lstm) in zip(cases, answers, ratios, models):
                if abs(got - ratio) > 1e-9 * ratio:
                    raise AnswerProblem(self._diagnose(got, gru, lstm) + case)
        return (
            f"The recurrent layers alone are exactly 3/4 at every size (same blocks, 3 against 4). The whole "
            f"classifier saves less, a ratio of {min(ratios):.3f}–{max(ratios):.3f} in these cases: the embedding "
            "and the output layer are the same in both models, and a large vocabulary pulls the ratio towards 1."
        )

    def _models(self, sizes):
        kwargs = dict(zip(("vocab_size", "embed_dim", "hidden_dim", "output_dim"), sizes))
        with seeded(0):  # building draws random weights: keep them away from the learner's generator
            return build_model("gru", **kwargs), build_model("lstm", **kwargs)

    @staticmethod
    def _diagnose(got: float, gru, lstm) -> str:
        embedding, fc = count_parameters(gru.embedding), count_parameters(gru.fc)
        rnn_gru, rnn_lstm = count_parameters(gru.rnn), count_parameters(lstm.rnn)
        total_gru, total_lstm = embedding + rnn_gru + fc, embedding + rnn_lstm + fc
        known = {
            rnn_gru / rnn_lstm: "3/4 is the ratio of the recurrent layers alone. The embedding and the output "
            "layer are the same in both models: count the whole classifier.",
            (rnn_gru + fc) / (rnn_lstm + fc): "You left out the embedding (vocab_size × embed_dim): both models "
            "have it, which pulls the ratio towards 1.",
            (embedding + rnn_gru) / (embedding + rnn_lstm): "You left out the output layer: a weight "
            "(output_dim × hidden_dim) and a bias (output_dim).",
            2 / 3: "2/3 counts the gates (GRU 2, LSTM 3), but the candidate has weights too, and the classifier has "
            "an embedding and an output layer.",
            total_lstm / total_gru: "That is LSTM / GRU: the exercise asks for GRU / LSTM.",
            1 - total_gru / total_lstm: "That is the saving, 1 − ratio: the exercise asks for the ratio GRU / LSTM.",
        }
        return known_mistake(got, known) or (
            f"Your ratio is {got:.6g}; the GRU classifier has {total_gru} parameters (embedding {embedding}, GRU "
            f"{rnn_gru}, output layer {fc}) and the LSTM classifier {total_lstm} (LSTM {rnn_lstm}): "
            f"{total_gru / total_lstm:.6g}."
        )


gru_step_exercise = GRUStepExercise()
gru_lstm_ratio_exercise = GRULSTMRatioExercise()
