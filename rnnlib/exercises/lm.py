"""Exercises of notebook 06 (character language model): sampling with a temperature, and perplexity from
the cross-entropy. ``rnnlib.lm``'s own functions refuse to run inside these checks: the learner writes them."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import lm
from .framework import AnswerProblem, Exercise, as_number, call_answer, describe, known_mistake, seeded, tensor_problem


def temperature_probs(logits, temperature):
    """logits: (..., vocab) -> the sampling distribution at this temperature, same shape."""
    scaled = logits / temperature  # T < 1 stretches the differences between logits, T > 1 shrinks them
    return torch.softmax(scaled, dim=-1)  # exp(z_i / T) / Σ_j exp(z_j / T)


def perplexity_from_logits(logits, targets):
    """logits: (T, vocab) scores of each next character, targets: (T,) true ids -> perplexity (a float)."""
    nll = -torch.log_softmax(logits, dim=-1)[torch.arange(len(targets)), targets]  # -log p(x_{t+1}): (T,)
    return math.exp(nll.mean().item())  # exp of the mean cross-entropy: the effective number of choices


class _NoDelegation:
    """While checking, ``rnnlib.lm.sample``/``perplexity``/``temperature_probs`` raise: write it yourself."""

    def __enter__(self):
        self.token = lm._EXERCISE.set(True)

    def __exit__(self, *exc):
        lm._EXERCISE.reset(self.token)


def _cases(shapes):
    """(seed, logits, case text) for each (seed, shape): logits with a wide spread, so temperature matters."""
    for seed, shape in shapes:
        with seeded(seed):
            logits = torch.randn(*shape) * 3
        yield seed, logits, describe(shape=shape, seed=seed)


class TemperatureExercise(Exercise):
    title = "Sampling with a temperature"
    answer_name = "temperature_probs"
    solution_function = temperature_probs
    prompt = r"""A language model gives one score (logit) $z_i$ per character. Sampling at temperature $T$ draws the
next character from

$$p_i = \frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)}.$$

Write `temperature_probs(logits, temperature)` that returns these probabilities: `logits` has shape
`(..., vocab)` (one row of scores, or a batch of rows), the result has the same shape and each row sums to 1.
Then `torch.multinomial(temperature_probs(z, T), 1)` draws a character.

The check compares your function with the formula on random logits of several shapes and temperatures
(0.2 to 5); `rnnlib.lm` is switched off while it runs."""
    hints = (
        "Divide first, then normalise: `torch.softmax(logits / temperature, dim=-1)`.",
        "The softmax is over the **last** axis (the vocabulary), whatever the number of leading axes.",
    )
    temperatures = (1.0, 0.2, 5.0, 0.7)
    shapes = ((0, (7,)), (1, (3, 11)), (2, (2, 4, 5)))

    def run_checks(self, answer) -> str:
        for _seed, logits, case in _cases(self.shapes):
            for temperature in self.temperatures:
                text = case[:-1] + f", temperature={temperature})"
                expected = temperature_probs(logits, temperature)
                with _NoDelegation():
                    got = call_answer(answer, logits, temperature, case=text)
                mistakes = [
                    ("You multiplied the logits by the temperature: divide them, z / T.",
                     torch.softmax(logits * temperature, -1)),
                    ("Your values are the scaled logits z / T: apply the softmax to turn them into probabilities.",
                     logits / temperature),
                    ("You took the softmax over the first axis: the vocabulary is the last one (dim=-1).",
                     torch.softmax(logits / temperature, 0)),
                    ("The temperature is missing: divide the logits by it before the softmax.",
                     torch.softmax(logits, -1)),
                ]
                axes = tuple(f"axis {i}" for i in range(logits.dim()))
                problem = tensor_problem("probabilities", got, expected, axes=axes, against="softmax(z / T)",
                                         case=text, mistakes=mistakes)
                if problem:
                    raise AnswerProblem(problem)
        return (
            "Right on every case. At T = 0.2 the largest logit takes almost all the probability (greedy in the limit "
            "T → 0); at T = 5 the distribution is nearly uniform. The temperature lab below shows what that does to "
            "the text."
        )


class PerplexityExercise(Exercise):
    title = "Perplexity from the cross-entropy"
    answer_name = "perplexity_from_logits"
    solution_function = perplexity_from_logits
    prompt = r"""Given the model's logits for each next character, `logits: (T, vocab)`, and the characters that really
came next, `targets: (T,)` (ids), the **perplexity** is the exponential of the mean cross-entropy:

$$\mathrm{PPL} = \exp\Big(-\frac{1}{T}\sum_{t} \log p(x_{t+1} \mid x_{\le t})\Big).$$

Write `perplexity_from_logits(logits, targets)` returning it as a Python float. A model that gives every
character the same score must get exactly `vocab`.

The check compares with the formula on random logits and targets of several sizes, and on equal logits;
`rnnlib.lm` is switched off while it runs."""
    hints = (
        "`torch.nn.functional.cross_entropy(logits, targets)` is already the mean of −log p(target).",
        "Perplexity is e to that power: `math.exp(loss.item())` (or `torch.exp`, then `.item()`).",
    )
    shapes = ((0, (20, 7)), (1, (5, 30)), (2, (64, 3)))

    def run_checks(self, answer) -> str:
        cases = list(_cases(self.shapes))
        cases.append((3, torch.zeros(12, 9), describe(shape=(12, 9), equal_logits=True)))
        for seed, logits, case in cases:
            with seeded(seed + 100):
                targets = torch.randint(logits.shape[1], (logits.shape[0],))
            expected = perplexity_from_logits(logits, targets)
            with _NoDelegation():
                got = as_number("perplexity", call_answer(answer, logits, targets, case=case), case)
            if math.isclose(got, expected, rel_tol=1e-5):
                continue
            loss = F.cross_entropy(logits, targets).item()
            probs = torch.softmax(logits, -1)[torch.arange(len(targets)), targets]
            known = {
                loss: "That is the mean cross-entropy itself: the perplexity is exp of it.",
                math.exp(loss * len(targets)): "You took exp of the *summed* cross-entropy: use the mean over T.",
                2**loss: "You used 2 ** loss: torch's cross-entropy is in nats (natural log), so use exp.",
                1 / probs.mean().item(): "You inverted the mean probability: average the log-probabilities, then exp.",
            }
            message = known_mistake(got, known, rel_tol=1e-5)
            raise AnswerProblem((message or f"Your perplexity is {got:.6g}; expected {expected:.6g}.") + case)
        return (
            "Right: on equal logits you get the vocabulary size (9), the effective number of choices of a model that "
            "knows nothing. A trained model's perplexity says how many characters it is still hesitating between."
        )


temperature_exercise = TemperatureExercise()
perplexity_exercise = PerplexityExercise()
