"""Notebook 06's exercises: the shown solutions pass, constants and known mistakes fail with the right
message, and handing the work to rnnlib.lm is refused."""

import math

import pytest
import torch

from rnnlib import lm
from rnnlib.exercises.lm import perplexity_exercise, temperature_exercise

EXERCISES = [temperature_exercise, perplexity_exercise]


def shown_solution(exercise):
    namespace = {}
    exec(exercise.solution_source, namespace)
    return namespace[exercise.answer_name]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.answer_name)
def test_shown_solution_passes_and_texts_display(exercise, capsys):
    assert exercise.check(shown_solution(exercise))
    assert capsys.readouterr().out.startswith("Correct: ")
    assert exercise.solution_source.startswith("import ")
    assert f"`{exercise.answer_name}(" in exercise.prompt and 1 <= len(exercise.hints) <= 3


def test_temperature_check_names_the_usual_mistakes(capsys):
    cases = {
        "multiplied": lambda z, t: torch.softmax(z * t, -1),
        "apply the softmax": lambda z, t: z / t,
        "first axis": lambda z, t: torch.softmax(z / t, 0),
        "temperature is missing": lambda z, t: torch.softmax(z, -1),
        "shape": lambda z, t: torch.full((3,), 1 / 3),  # a constant
    }
    for expected, answer in cases.items():
        result = temperature_exercise.check(answer)
        assert not result and expected in result.message, (expected, result.message)


def test_perplexity_check_names_the_usual_mistakes():
    ce = torch.nn.functional.cross_entropy
    cases = {
        "cross-entropy itself": lambda z, y: ce(z, y).item(),
        "summed": lambda z, y: math.exp(ce(z, y, reduction="sum").item()),
        "2 ** loss": lambda z, y: 2 ** ce(z, y).item(),
        "expected": lambda z, y: 9.0,  # a constant: right only for the equal-logits case
    }
    for expected, answer in cases.items():
        result = perplexity_exercise.check(answer)
        assert not result and expected in result.message, (expected, result.message)


def test_delegating_to_rnnlib_lm_is_refused_and_the_guard_is_lifted_after():
    def delegate_probs(z, t):
        return lm.temperature_probs(z, t)

    result = temperature_exercise.check(delegate_probs)
    assert not result and "this exercise asks you to write" in result.message

    def delegate_ppl(z, y):
        return lm.perplexity(None, y)

    result = perplexity_exercise.check(delegate_ppl)
    assert not result and "this exercise asks you to write" in result.message
    assert lm.temperature_probs(torch.zeros(4), 1.0).sum().item() == pytest.approx(1.0)  # outside a check: works
