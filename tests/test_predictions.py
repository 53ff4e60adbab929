"""Predict-then-run questions and the lab challenge: the keyed answer is what the measurement gives, every
answer gets an explanation, and the lab challenge judges the lab's live setting."""

import pytest
import torch

from rnnlib.exercises.predictions import (
    NOTEBOOK_PREDICTIONS,
    causality_prediction,
    gru_variant_prediction,
    lstm_span_prediction,
    memory_span_challenge,
    unit_radius_prediction,
)
from rnnlib.widgets import GradientFlowLab

#: (prediction, the option the course's measurements give)
CHOICES = [(unit_radius_prediction, "b"), (gru_variant_prediction, "c"), (causality_prediction, "b")]


def test_every_notebook_01_to_04_has_a_prediction():
    assert list(NOTEBOOK_PREDICTIONS) == ["01_vanilla_rnn", "02_gru", "03_lstm", "04_bilstm"]
    assert memory_span_challenge in NOTEBOOK_PREDICTIONS["03_lstm"]


@pytest.mark.parametrize("prediction, right", CHOICES, ids=["unit_radius", "gru_variants", "causality"])
def test_multiple_choice_is_judged_by_the_measurement(prediction, right, capsys):
    assert prediction.measure()[0] == right
    result = prediction.check(right.upper())
    assert result and prediction.why in result.message and "Measured" in result.message
    for wrong in set(prediction.options) - {right}:
        result = prediction.check(f"({wrong})")
        assert not result
        assert f"You predicted ({wrong})" in result.message and f"the measurement says ({right})" in result.message
        assert prediction.wrong[wrong] in result.message and prediction.why in result.message
    assert capsys.readouterr().out.count("Not quite: ") == len(prediction.options) - 1
    assert "Replace `...`" in prediction.check().message
    assert "choice must be one of `'a'`, `'b'`, `'c'`; got 'z'" in prediction.check("z").message
    assert "### Predict:" in prediction._repr_markdown_() and "**(a)**" in prediction._repr_markdown_()


def test_unit_radius_measures_the_lab_at_rho_1():
    right, measured = unit_radius_prediction.measure()
    ratio = float(measured.split("decay ratio ")[1].rstrip("."))
    assert right == "b" and 1e-8 < ratio < 1e-2  # vanished by orders of magnitude, not to nothing


def test_number_prediction_tolerance_and_bad_input():
    span, _ = lstm_span_prediction.measure()
    assert 0 <= span <= 10  # the untrained LSTM forgets within a few steps
    assert lstm_span_prediction.check(span + 5)
    wrong = lstm_span_prediction.check(49)
    assert not wrong and f"You predicted 49; the measurement is {span}" in wrong.message
    assert "guess must be a number from 0 to 49" in lstm_span_prediction.check(50).message
    assert "guess must be a number" in lstm_span_prediction.check("5").message
    assert "Replace `...`" in lstm_span_prediction.check(...).message


def test_predictions_leave_the_random_state_alone():
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    causality_prediction.measure()
    gru_variant_prediction.measure()
    assert torch.equal(torch.rand(2), expected)


def test_lab_challenge_reads_a_live_lab():
    lab = GradientFlowLab(arch="lstm", seq_len=50)
    assert "Tick **set gate bias**" in memory_span_challenge.check(lab).message
    lab.set_bias.value = True
    lab.gate_bias.value = 1.5
    too_small = memory_span_challenge.check(lab)
    assert not too_small and "At b = 1.5 the memory span is" in too_small.message
    lab.gate_bias.value = 3.0
    not_smallest = memory_span_challenge.check(lab)
    assert not not_smallest and "but b = 2.5 does too" in not_smallest.message
    lab.gate_bias.value = 2.0
    right = memory_span_challenge.check(lab)
    assert right and "b = 1.5 gives only" in right.message
    lab.seq_len.value = 100
    assert "seq_len = 100 (set it to 50)" in memory_span_challenge.check(lab).message


def test_lab_challenge_claim_holds_and_bad_input():
    span = {b: memory_span_challenge.check(dict(arch="lstm", seq_len=50, hidden_dim=64, spectral_radius=None,
                                                  forget_bias=b, max_norm=None, seed=0, train_steps=0))
            for b in (2.0,)}
    assert span[2.0]
    with pytest.raises(TypeError, match="lab must be the gradient-flow lab"):
        memory_span_challenge.check(42)
    with pytest.raises(ValueError, match="n must be an integer in"):
        memory_span_challenge.hint(3)
