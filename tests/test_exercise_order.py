"""The notebooks ask before they show: every exercise comes before the cell that reveals rnnlib's version of
the same function, every prediction before the experiment it predicts, and diagrams replace the ASCII cell
sketches. Read from the notebooks' JSON (nothing is executed)."""

import json
from pathlib import Path

import pytest

from rnnlib.exercises import NOTEBOOK_EXERCISES
from rnnlib.exercises.predictions import NOTEBOOK_PREDICTIONS

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def sources(name: str) -> list[str]:
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]
    return ["".join(cell["source"]) for cell in cells]


def first(cells: list[str], text: str) -> int:
    matches = [i for i, source in enumerate(cells) if text in source]
    assert matches, f"no cell contains {text!r}"
    return matches[0]


#: (notebook, the learner's definition, the first cell that shows or calls rnnlib's version)
REVEALS = [
    ("01_vanilla_rnn", "def rnn_step(", "inspect.getsource(cells.rnn_step)"),
    ("01_vanilla_rnn", "def rnn_step_backward(", "inspect.getsource(bptt.rnn_step_backward)"),
    ("02_gru", "def gru_step(", "inspect.getsource(cells.gru_step)"),
    ("03_lstm", "def lstm_step(", "inspect.getsource(cells.lstm_step)"),
    ("04_bilstm", "def reverse_within_length(", "cells.reverse_within_length("),
]


@pytest.mark.parametrize("notebook, exercise, reveal", REVEALS, ids=[r[1][4:-1] for r in REVEALS])
def test_exercise_comes_before_the_reveal(notebook, exercise, reveal):
    cells = sources(notebook)
    assert first(cells, exercise) < first(cells, reveal)


@pytest.mark.parametrize("notebook", list(NOTEBOOK_EXERCISES)[:4])
def test_every_exercise_and_prediction_is_in_its_notebook(notebook):
    text = "\n".join(sources(notebook))
    for exercise in NOTEBOOK_EXERCISES[notebook]:
        assert f"def {exercise.answer_name}(" in text
    names = {"unit_radius_prediction", "gru_variant_prediction", "lstm_span_prediction", "causality_prediction",
             "memory_span_challenge"}
    from rnnlib.exercises import predictions

    for item in NOTEBOOK_PREDICTIONS[notebook]:
        name = next(n for n in names if getattr(predictions, n) is item)
        assert f"import {name}" in text


@pytest.mark.parametrize("notebook, prediction, experiment", [
    ("01_vanilla_rnn", "unit_radius_prediction", "set_spectral_radius(model, radius)"),
    ("02_gru", "gru_variant_prediction", 'gru_variant="cho"'),
    ("03_lstm", "lstm_span_prediction", "hidden_grad_norms(model, probe.x, probe.y)"),
    ("04_bilstm", "causality_prediction", "state_changes(model, sentence, edited)"),
])
def test_prediction_comes_right_before_its_experiment(notebook, prediction, experiment):
    cells = sources(notebook)
    asked = first(cells, f"import {prediction}")
    assert cells[asked + 1].startswith("p1.check(")
    assert experiment in cells[asked + 2]


def test_diagrams_replace_the_ascii_cell_sketches():
    assert first(sources("01_vanilla_rnn"), 'draw_cell("rnn")') < first(sources("01_vanilla_rnn"), "def rnn_step(")
    assert first(sources("02_gru"), 'draw_cell("gru")') < first(sources("02_gru"), "def gru_step(")
    lstm = sources("03_lstm")
    assert not any("┌" in source or "◀" in source for source in lstm)  # the LSTM's ASCII sketch is gone
    assert first(lstm, "lstm_build_up()") < first(lstm, "def lstm_step(")
