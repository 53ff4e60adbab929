"""Predict, then run: the learner commits to an answer *before* the cell that measures it.

A :class:`Prediction` is a multiple-choice question (or a number, :class:`NumberPrediction`) about an
experiment in the notebook. ``check(choice)`` measures the experiment's quantity itself, right then, with the
notebook's settings (so the verdict can never disagree with the cell that follows), and explains either way.

A :class:`LabChallenge` reads a live lab: ``check(lab)`` takes the settings the lab's controls hold now
(``lab.settings()``, the arguments of :func:`rnnlib.labs.grad_flow`), measures them again through
:func:`rnnlib.labs.grad_flow` and judges that, independent of how the lab draws.

Nothing here changes the learner's random state (every build is seeded inside a fork of the generator).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .. import labs
from ..diagnostics import regime, state_changes
from ..models import build_model
from .framework import CheckResult, seeded, show

#: the label a wrong prediction gets: not an error to fix, a surprise to read
SURPRISE = "Not quite"


@dataclass
class Prediction:
    """A multiple-choice prediction. ``measure()`` returns ``(right option, a sentence with the measured
    numbers)``; ``why`` explains the outcome (shown either way); ``wrong[option]`` says what a wrong
    option overlooks."""

    title: str
    question: str
    options: dict[str, str]
    measure: Callable[[], tuple[str, str]]
    why: str
    wrong: dict[str, str] = field(default_factory=dict)

    def check(self, choice=...) -> CheckResult:
        """Judge ``choice`` (an option letter) against the measurement, explain, and return the verdict."""
        valid = ", ".join(f"`{key!r}`" for key in self.options)
        if choice is ... or choice is None:
            result = CheckResult(False, f"Replace `...` with your prediction, one of {valid}, and run the cell.")
            show("Not yet", result.message)
            return result
        key = str(choice).strip().lower().strip("()")
        if key not in self.options:
            result = CheckResult(False, f"choice must be one of {valid}; got {choice!r}.")
            show("Not yet", result.message)
            return result
        right, measured = self.measure()
        if key == right:
            result = CheckResult(True, f"({key}) {self.options[key]}. {self.why} {measured}")
        else:
            reason = self.wrong.get(key, "")
            result = CheckResult(False, (
                f"You predicted ({key}) {self.options[key]}; the measurement says ({right}) "
                f"{self.options[right]}. {reason} {self.why} {measured}").replace("  ", " "))
        show("Correct" if result else SURPRISE, result.message)
        return result

    def _repr_markdown_(self) -> str:
        options = "\n".join(f"* **({key})** {text}" for key, text in self.options.items())
        return (f"### Predict: {self.title}\n\n{self.question}\n\n{options}\n\n"
                "Commit to one with `check(\"a\")` (or b, c) **before** you run the next cell.")


@dataclass
class NumberPrediction:
    """A prediction given as a number: right when within ``tolerance`` of what ``measure()`` returns
    (``(value, a sentence with the measured numbers)``). ``valid``: the range a prediction must lie in."""

    title: str
    question: str
    measure: Callable[[], tuple[float, str]]
    why: str
    tolerance: float
    valid: tuple[float, float]

    def check(self, guess=...) -> CheckResult:
        low, high = self.valid
        if guess is ... or guess is None:
            result = CheckResult(False, f"Replace `...` with your prediction, a number from {low:g} to {high:g}.")
        elif isinstance(guess, bool) or not isinstance(guess, int | float) or not low <= guess <= high:
            result = CheckResult(False, f"guess must be a number from {low:g} to {high:g}; got {guess!r}.")
        else:
            value, measured = self.measure()
            close = abs(guess - value) <= self.tolerance
            verdict = "" if close else f"You predicted {guess:g}; the measurement is {value:g}. "
            result = CheckResult(close, f"{verdict}{self.why} {measured}")
            show("Correct" if close else SURPRISE, result.message)
            return result
        show("Not yet", result.message)
        return result

    def _repr_markdown_(self) -> str:
        return (f"### Predict: {self.title}\n\n{self.question}\n\n"
                "Commit to a number with `check(...)` **before** you run the next cell.")


# ---- notebook 01 -------------------------------------------------------------------------------------------


def _unit_radius() -> tuple[str, str]:
    ratio = labs.grad_flow("rnn", hidden_dim=64, seq_len=50, spectral_radius=1.0).decay_ratio
    right = {"held": "a", "vanishing": "b", "exploding": "c"}[regime(ratio)]  # the course's one criterion
    return right, f"Measured on the lab's batch (T = 50, hidden 64, ρ = 1), {regime(ratio)}: decay ratio {ratio:.1e}."


unit_radius_prediction = Prediction(
    title="a vanilla RNN at spectral radius exactly 1",
    question=r"""Rescale $W_{hh}$ to spectral radius $\rho = 1$: its linear part then neither shrinks nor grows
a vector (in its largest direction). On the lab's batch ($T = 50$, hidden size 64), what happens to
$\lVert\partial L/\partial h_t\rVert$ from the readout back to the deciding word, 49 steps earlier?""",
    options={"a": "it is held: decay ratio between 0.01 and 100",
             "b": "it still vanishes: decay ratio below 0.01",
             "c": "it explodes: decay ratio above 100"},
    measure=_unit_radius,
    why="Each step back multiplies by diag(1 − h_t²) W_hh, and tanh' = 1 − h_t² is below 1 wherever a unit "
        "is not exactly at 0: with ρ = 1 the matrix no longer helps, but every tanh' still shrinks the "
        "gradient a little, 49 times over.",
    wrong={"a": "ρ = 1 only removes the matrix's shrinking; the tanh' factors remain.",
           "c": "Exploding needs ρ comfortably above 1, enough to beat the tanh' factors."},
)


# ---- notebook 02 -------------------------------------------------------------------------------------------


def _gru_variants() -> tuple[str, str]:
    from ..data import sentiment_task

    task = sentiment_task()
    with seeded(0):  # the notebook's set_seed(0): the same initial weights
        pytorch_variant = build_model("gru", impl="scratch", gru_variant="torch", **task.model_kwargs())
        text_variant = build_model("gru", impl="scratch", gru_variant="cho", **task.model_kwargs())
    text_variant.load_state_dict(pytorch_variant.state_dict())
    with torch.no_grad():
        h_a = pytorch_variant.features(task.test.x, task.test.lengths)
        h_b = text_variant.features(task.test.x, task.test.lengths)
    relative = float((h_a - h_b).abs().mean() / h_a.abs().mean())
    right = "a" if relative < 1e-5 else "b" if relative < 0.05 else "c"
    return right, (f"Measured on the {len(h_a)} test sentences, untrained, same weights: mean |Δh_τ| is "
                   f"{relative:.0%} of mean |h_τ|.")


gru_variant_prediction = Prediction(
    title="the same weights in two GRUs",
    question=r"""Load **the same weights** into PyTorch's GRU and into the course text's GRU (the table above)
and read the final state $h_\tau$ of every test sentence. How far apart are the two?""",
    options={"a": "identical up to float rounding: the same network written two ways",
             "b": "close: they differ by less than 5 % of the state's size",
             "c": "far apart: tens of percent of the state's size"},
    measure=_gru_variants,
    why="The two variants are different functions of the same weights: the reset gate acts before the product "
        "in one and after it in the other, and z_t keeps the past in opposite directions. Weights trained for "
        "one are not weights for the other.",
    wrong={"a": "Rewriting an equation is not the same as changing it: here the reset gate moves to the other "
                "side of a matrix product, and z_t swaps roles.",
           "b": "Flipping z_t alone swaps which units keep and which rewrite their past: not a small change."},
)


# ---- notebook 03 -------------------------------------------------------------------------------------------


def _lstm_span() -> tuple[float, str]:
    result = labs.grad_flow("lstm", hidden_dim=64, seq_len=50)
    return result.memory_span, (f"Measured on the lab's batch (T = 50, hidden 64, PyTorch's init): memory span "
                                f"{result.memory_span} of 49 steps, decay ratio {result.decay_ratio:.1e}.")


lstm_span_prediction = NumberPrediction(
    title="how far back does an untrained LSTM's gradient reach?",
    question=r"""The belt $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ has no matrix on it. Take the untrained
LSTM of the lab ($T = 50$, hidden size 64, PyTorch's initialisation): for how many of the 49 steps back does
$\lVert\partial L/\partial h_t\rVert$ stay above 1 % of its value at the readout (the **memory span**)? A number
from 0 to 49; within 5 steps counts.""",
    measure=_lstm_span,
    why="The belt carries the gradient only as far as the forget gates let it: at PyTorch's initialisation "
        "f_t ≈ σ(0) = 0.5, so it halves at every step back, like a vanilla RNN's.",
    tolerance=5,
    valid=(0, 49),
)


# ---- notebook 04 -------------------------------------------------------------------------------------------


def _causality() -> tuple[str, str]:
    from ..data import sentiment_task

    vocab = sentiment_task().vocab
    sentence = torch.tensor([vocab.encode("the movie was really good and")])
    edited = sentence.clone()
    edited[0, 3] = vocab.stoi["awful"]
    with seeded(1):  # the notebook's set_seed(1), then both models in its order: the same weights
        models = {arch: build_model(arch, vocab_size=len(vocab), embed_dim=8, hidden_dim=4)
                  for arch in ("lstm", "bilstm")}
    changes = {arch: float(state_changes(model, sentence, edited)[0][:, :3].max()) for arch, model in models.items()}
    right = {(False, False): "a", (False, True): "b", (True, True): "c"}.get(
        (changes["lstm"] > 0, changes["bilstm"] > 0), "?")
    return right, (f"Measured: the largest change of a state at positions 1–3 is {changes['lstm']:.1e} for the LSTM "
                   f"and {changes['bilstm']:.1e} for the BiLSTM.")


causality_prediction = Prediction(
    title="who notices a change in the future?",
    question=r"""Change word 4 of a six-word sentence. Which models' states at positions 1–3 (before the edit)
change?""",
    options={"a": "neither: a state at position t is computed before word 4 is read",
             "b": "only the BiLSTM's",
             "c": "both the LSTM's and the BiLSTM's"},
    measure=_causality,
    why="The forward direction at position t has read words 1 … t only, so it cannot move. The backward "
        "direction at position t has read words T … t, which include word 4: its states before the edit move, "
        "and with them the BiLSTM's output at every position.",
    wrong={"a": "The BiLSTM's backward direction reads the sentence from the end: at position 2 it has already "
                "read word 4.",
           "c": "A left-to-right LSTM's state at position t depends on words 1 … t only: exactly zero change."},
)


# ---- the lab challenge of notebook 03 ---------------------------------------------------------------------


class LabChallenge:
    """Find, in the gradient-flow lab, the smallest forget-gate bias (on the slider's 0.5 grid) whose
    memory span reaches ``target`` steps at T = ``seq_len`` for an untrained LSTM of hidden size 64."""

    title = "Open the belt just enough"
    target, seq_len, hidden_dim, step = 45, 50, 64, 0.5
    hints = (
        "Tick **set gate bias** and move the **forget-gate bias** slider; after each release the readout under the "
        "controls shows the memory span. Keep the architecture LSTM, T = 50, hidden size 64, no ρ rescaling and "
        "no training.",
        "The table of section 4 measured b = 1 and b = 3 at T = 50. The answer lies between them.",
    )

    def _repr_markdown_(self) -> str:
        return (
            f"### Lab challenge: {self.title}\n\nIn the lab below (an untrained LSTM, T = {self.seq_len}, hidden "
            f"size {self.hidden_dim}), find the **smallest** forget-gate bias on the slider whose memory span reaches "
            f"**{self.target} steps**: the gradient stays above 1 % of its readout value for at least "
            f"{self.target} of the {self.seq_len - 1} steps back. Leave the lab at that setting and run "
            "`check(lab)`; it reads the lab's controls and measures that setting again. `hint()` helps, "
            "`solution()` measures the answer."
        )

    def _settings(self, lab) -> dict:
        settings = lab.settings() if callable(getattr(lab, "settings", None)) else lab
        if not isinstance(settings, dict) or "forget_bias" not in settings:
            raise TypeError(
                "lab must be the gradient-flow lab (the object `gradient_flow_lab(...)` returned) or its "
                f"settings dict; got a {type(lab).__name__}."
            )
        return settings

    def check(self, lab) -> CheckResult:
        """Judge the lab's current setting: right when its memory span reaches the target and the next lower
        bias on the slider's grid does not."""
        settings = self._settings(lab)
        expected = dict(arch="lstm", seq_len=self.seq_len, hidden_dim=self.hidden_dim, spectral_radius=None,
                        train_steps=0)
        off = [f"{name} = {settings.get(name)!r} (set it to {value!r})" for name, value in expected.items()
               if settings.get(name) != value]
        bias = settings["forget_bias"]
        if off:
            message = "The challenge is about the untrained LSTM at the lab's start: " + "; ".join(off) + "."
        elif bias is None:
            message = "Tick **set gate bias** in the lab: now the forget gate keeps PyTorch's initialisation."
        else:
            result = labs.grad_flow(**settings)
            span = result.memory_span
            if span < self.target:
                message = (f"At b = {bias:g} the memory span is {span} of {self.seq_len - 1} steps (decay ratio "
                           f"{result.decay_ratio:.1e}): the belt still leaks too fast. Raise the bias.")
            else:
                lower = labs.grad_flow(**{**settings, "forget_bias": bias - self.step})
                if lower.memory_span >= self.target:
                    message = (f"b = {bias:g} reaches a memory span of {span}, but b = {bias - self.step:g} does "
                               f"too ({lower.memory_span}): find the smallest. A larger bias than needed holds "
                               "the gate near 1, where σ' is small and the gate learns to forget slowly.")
                else:
                    passed = CheckResult(True, (
                        f"b = {bias:g} (f ≈ σ(b) = {torch.sigmoid(torch.tensor(bias)).item():.2f}) gives a memory "
                        f"span of {span} of {self.seq_len - 1} steps, decay ratio {result.decay_ratio:.1e}; "
                        f"b = {bias - self.step:g} gives only {lower.memory_span}. The switch from forgetting to "
                        "remembering is steep: a small change of the bias moves the whole curve."))
                    show("Correct", passed.message)
                    return passed
        result = CheckResult(False, message)
        show("Not yet", message)
        return result

    def hint(self, n: int = 1) -> None:
        from ..validation import check_int

        n = check_int("n", n, low=1, high=len(self.hints))
        more = f" (`hint({n + 1})` gives another.)" if n < len(self.hints) else ""
        show("Hint", f"{self.hints[n - 1]}{more}")

    def solution(self) -> None:
        """Measure every bias on the grid from 0 up to the first that reaches the target, and show them."""
        rows, bias = [], 0.0
        while bias <= labs.GATE_BIAS_RANGE[1]:
            span = labs.grad_flow("lstm", self.hidden_dim, self.seq_len, forget_bias=bias).memory_span
            rows.append(f"b = {bias:g}: memory span {span}")
            if span >= self.target:
                break
            bias += self.step
        show("Solution", f"Measured now: {'; '.join(rows)}. The smallest is **b = {bias:g}**.")


memory_span_challenge = LabChallenge()

#: the predictions and lab challenges of each notebook, in the order they appear
NOTEBOOK_PREDICTIONS = {
    "01_vanilla_rnn": (unit_radius_prediction,),
    "02_gru": (gru_variant_prediction,),
    "03_lstm": (lstm_span_prediction, memory_span_challenge),
    "04_bilstm": (causality_prediction,),
}
