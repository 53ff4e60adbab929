"""Exercises of notebook 05 (comparison): auditing "BiLSTM has 2× the parameters of an LSTM", and turning a
gradient-norm curve into a per-step decay factor that compares runs of different lengths."""

from __future__ import annotations

import math

import torch

from ..diagnostics import decay_ratio
from ..models import build_model, count_parameters
from . import solutions
from .delegation import COUNTING, layer
from .framework import AnswerProblem, Exercise, describe, known_mistake, noting_constant, numeric_answers, seeded


class BiLSTMLSTMRatioExercise(Exercise):
    title = "Is a BiLSTM classifier really twice an LSTM classifier?"
    answer_name = "bilstm_lstm_ratio"
    solution_function = solutions.bilstm_lstm_ratio
    forbidden = (*layer("lstm"), *COUNTING)
    delegation_advice = (
        "Count with a formula in the four sizes (embedding, LSTM blocks per direction, output layer): no model "
        "to build. The check builds the real models for you."
    )
    prompt = r"""The course text's table says a BiLSTM has "2× LSTM" parameters. Audit it for the whole classifier
(embedding → recurrent layer → linear output layer on the state the model reads). Write
`bilstm_lstm_ratio(vocab_size, embed_dim, hidden_dim, output_dim)` returning, **in closed form** (a formula),
the number of parameters of `build_model("bilstm", ...)` divided by that of `build_model("lstm", ...)` with the
same sizes and one layer. The check counts the parameters of real models of several sizes."""
    hints = (
        "Count three parts: the embedding (vocab_size × embed_dim), the LSTM layer (4 blocks, each "
        "hidden_dim × (embed_dim + hidden_dim) weights and 2 × hidden_dim biases), and the output layer.",
        "The BiLSTM has two LSTM layers' worth of parameters (one per direction), but one embedding, and its output "
        "layer reads [h_T→ ; h_1←], 2 × hidden_dim features: (2 × hidden_dim + 1) × output_dim parameters.",
    )
    #: (vocab_size, embed_dim, hidden_dim, output_dim): small to large, the last dominated by its embedding
    sizes = ((50, 8, 16, 2), (30, 32, 64, 2), (20, 4, 128, 5), (20000, 100, 32, 3))

    def run_checks(self, answer) -> str:
        names = ("vocab_size", "embed_dim", "hidden_dim", "output_dim")
        cases = [(sizes, describe(**dict(zip(names, sizes)))) for sizes in self.sizes]
        answers = numeric_answers(answer, "ratio", cases)
        models = []
        for sizes in self.sizes:
            with seeded(0):  # building draws random weights: keep them away from the learner's generator
                models.append((build_model("lstm", **dict(zip(names, sizes))),
                               build_model("bilstm", **dict(zip(names, sizes)))))
        ratios = [count_parameters(bilstm) / count_parameters(lstm) for lstm, bilstm in models]
        with noting_constant(answers, ratios, "the sizes"):
            for (_, case), got, ratio, (lstm, bilstm) in zip(cases, answers, ratios, models):
                if abs(got - ratio) > 1e-9 * ratio:
                    raise AnswerProblem(self._diagnose(got, lstm, bilstm) + case)
        return (
            f"The claim is exact for the recurrent layer alone (`count_parameters(model, recurrent_only=True)`), "
            f"but a whole classifier grows by a factor {min(ratios):.3f}–{max(ratios):.3f} in these cases: the "
            "embedding is shared, and a large vocabulary pulls the ratio towards 1. The cost in *time* is another "
            "matter: the backward direction is a second sequential pass."
        )

    @staticmethod
    def _diagnose(got: float, lstm, bilstm) -> str:
        embedding = count_parameters(lstm.embedding)
        rnn, rnn2 = count_parameters(lstm.rnn), count_parameters(bilstm.rnn)
        fc, fc2 = count_parameters(lstm.fc), count_parameters(bilstm.fc)
        total, total2 = embedding + rnn + fc, embedding + rnn2 + fc2
        known = {
            rnn2 / rnn: "2 is the ratio of the recurrent layers alone. The embedding is shared by both models and "
            "only the output layer's input doubles: count the whole model.",
            (rnn2 + fc2) / (rnn + fc): "You left out the embedding (vocab_size × embed_dim): both models have it, "
            "which pulls the ratio towards 1.",
            (embedding + rnn2 + fc) / total: "The BiLSTM's output layer reads [h_T→ ; h_1←], 2 × hidden_dim "
            "features: its weight is (output_dim, 2 × hidden_dim).",
            total / total2: "That is LSTM / BiLSTM: the exercise asks for BiLSTM / LSTM.",
        }
        return known_mistake(got, known) or (
            f"Your ratio is {got:.6g}; the BiLSTM has {total2} parameters (embedding {embedding}, LSTM {rnn2}, "
            f"output layer {fc2}) and the LSTM {total} (embedding {embedding}, LSTM {rnn}, output layer {fc}): "
            f"{total2 / total:.6g}."
        )


class PerStepFactorExercise(Exercise):
    title = "From a gradient-norm curve to a decay factor per step"
    answer_name = "per_step_factor"
    solution_function = solutions.per_step_factor
    delegation_advice = "Take the (T − 1)-th root of the decay ratio yourself: one line of arithmetic."
    prompt = r"""`rnnlib.diagnostics.hidden_grad_norms` measures
`norms[t]` $= \lVert\partial L/\partial h_{t+1}\rVert$ for t = 0 … T − 1,
and the comparison table reports the decay ratio `norms[0] / norms[-1]`
$= \lVert\partial L/\partial h_1\rVert / \lVert\partial L/\partial h_T\rVert$ (`rnnlib.diagnostics.decay_ratio`).
That ratio depends on T, so runs of different lengths cannot be compared by it. If the gradient shrank by the
same factor $\rho$ at every step back,
$\lVert\partial L/\partial h_1\rVert = \rho^{T-1}\,\lVert\partial L/\partial h_T\rVert$.

Write `per_step_factor(norms)` that returns this $\rho$ (a float) for a 1-D float64 tensor of T ≥ 2 positive norms
(as small as 1e-30). $\rho < 1$: vanishing; $\rho > 1$: exploding."""
    hints = (
        "Solve ρ^(T−1) = norms[0] / norms[-1] for ρ: take the (T − 1)-th root, `** (1 / (T - 1))`.",
        "T norms are T − 1 steps apart: from h_T back to h_1 the gradient is multiplied T − 1 times. "
        "`len(norms)` gives T; `float(...)` turns a 0-d tensor into a number.",
    )
    #: (seed, T, ρ): vanishing, mild, exploding, and the shortest curve
    cases = ((0, 10, 0.6), (1, 50, 0.9), (2, 100, 1.3), (3, 2, 0.5))

    def run_checks(self, answer) -> str:
        curves = []
        for seed, time, rho in self.cases:
            with seeded(seed):  # a geometric curve with noise: the step-to-step ratios vary
                noise = torch.exp(0.3 * torch.randn(time, dtype=torch.float64))
            curves.append(((rho ** torch.arange(time - 1, -1, -1, dtype=torch.float64) * noise,),
                           describe(T=time, seed=seed)))
        answers = numeric_answers(answer, "factor", curves)
        factors = [decay_ratio(norms) ** (1 / (len(norms) - 1)) for (norms,), _ in curves]
        with noting_constant(answers, factors, "the norms"):
            for ((norms,), case), got, expected in zip(curves, answers, factors):
                ratio = decay_ratio(norms)
                if not math.isclose(got, expected, rel_tol=1e-6):
                    raise AnswerProblem(self._diagnose(got, expected, ratio, norms) + case)
        rnn = 2e-22 ** (1 / 99)
        return (
            f"ρ is the average factor per step back. A vanilla RNN at PyTorch's default init measured a decay ratio of "
            f"2e-22 over T = 100, ρ = {rnn:.2f}: after 10 steps only {rnn**10:.3f} of the gradient is left, after 20 "
            f"{rnn**20:.0e} — the course text's \"~10–20 steps\" of memory."
        )

    @staticmethod
    def _diagnose(got: float, expected: float, ratio: float, norms: torch.Tensor) -> str:
        time = len(norms)
        step_ratios = norms[:-1] / norms[1:]
        known = {
            ratio: "That is the whole decay ratio norms[0] / norms[-1]; the factor per step is its (T − 1)-th root.",
            1 / expected: "That is 1/ρ: ρ must be below 1 when the gradient shrinks on the way back to h_1.",
            ratio ** (1 / time): "Off by one: T norms are T − 1 steps apart, so take the (T − 1)-th root.",
            float(step_ratios.mean()): "You averaged the step-to-step ratios. Their *product* is the decay ratio, so "
            "the factor per step is their geometric mean: the (T − 1)-th root of the product.",
        }
        return known_mistake(got, known, rel_tol=1e-6) or (
            f"Your factor is {got:.6g}; the curve's decay ratio is {ratio:.3g} over T − 1 = {time - 1} steps, "
            f"which gives ρ = {expected:.6g}."
        )


bilstm_lstm_ratio_exercise = BiLSTMLSTMRatioExercise()
per_step_factor_exercise = PerStepFactorExercise()
