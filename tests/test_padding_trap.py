"""The padding-trap lab (notebook 04): each readout checked against an independent computation with the
layer's own torch module, the argument checks, and the widget around it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlib import build_model, labs, plots
from rnnlib.data import encode_texts
from rnnlib.widgets import PaddingTrapLab, padding_trap_lab

SENTENCE = "the acting was awful"


@pytest.fixture(scope="module")
def vocab():
    return labs._sentiment().vocab


@pytest.fixture(scope="module")
def small(vocab):
    """An untrained small BiLSTM: the readouts' arithmetic does not need a trained model."""
    torch.manual_seed(1)
    return build_model("bilstm", vocab_size=len(vocab), embed_dim=8, hidden_dim=6).eval()


def _layer_states(model, x):
    """The bidirectional layer run by torch itself over the whole padded row (no packing)."""
    with torch.no_grad():
        out, _ = model.rnn(model.embedding(x))
    return out  # (batch, time, 2H)


def test_each_readout_matches_torch_run_by_hand(small, vocab):
    result = labs.padding_trap(SENTENCE, max_padding=12, model=small)
    n, H = len(SENTENCE.split()), small.hidden_dim
    assert list(result.padding) == list(range(13))
    ids = torch.tensor([vocab.encode(SENTENCE)])
    alone = _layer_states(small, ids)[0]
    for k in (0, 3, 12):
        row = torch.cat([ids, torch.zeros(1, k, dtype=torch.long)], dim=1)
        out = _layer_states(small, row)[0]
        with torch.no_grad():
            wrong = small.head(torch.cat([out[-1, :H], out[0, H:]])[None]).softmax(-1)[0, 1]
            half = small.head(torch.cat([out[n - 1, :H], out[0, H:]])[None]).softmax(-1)[0, 1]
            right = small.head(torch.cat([alone[-1, :H], alone[0, H:]])[None]).softmax(-1)[0, 1]
        assert result.positive["wrong"][k] == pytest.approx(float(wrong), abs=1e-6)
        assert result.positive["half"][k] == pytest.approx(float(half), abs=1e-6)
        assert result.positive["right"][k] == pytest.approx(float(right), abs=1e-6)
        assert result.backward_change[k] == pytest.approx(float((out[0, H:] - alone[0, H:]).abs().max()), abs=1e-6)
        assert result.forward_change[k] == pytest.approx(float((out[-1, :H] - alone[-1, :H]).abs().max()), abs=1e-6)
    # no padding: the three readouts are the same model on the same input
    assert result.positive["wrong"][0] == pytest.approx(result.positive["right"][0], abs=1e-6)
    assert result.backward_change[0] == 0 and result.forward_change[0] == 0
    # the right readout does not depend on the padding; the unpacked backward state does
    assert np.ptp(result.positive["right"]) < 1e-6
    assert result.backward_change[12] > 1e-3
    assert result.at(3) == {name: float(p[3]) for name, p in result.positive.items()}


def test_half_readout_is_the_sentence_in_a_batch_with_a_longer_partner(small, vocab):
    """What the lab calls k padding tokens is what a partner k words longer does to the batch."""
    partner = "this film was a wonderful film the acting was excellent"
    result = labs.padding_trap(SENTENCE, max_padding=10, model=small)
    pair = encode_texts([SENTENCE, partner], [0, 1], vocab)
    k = int(pair.lengths[1] - pair.lengths[0])
    with torch.no_grad():
        from rnnlib.models import naive_bidirectional_forward

        naive = naive_bidirectional_forward(small, pair.x, pair.lengths).softmax(-1)[0, 1]
        packed = small(pair.x, pair.lengths).softmax(-1)[0, 1]
    assert result.positive["half"][k] == pytest.approx(float(naive), abs=1e-6)
    assert result.positive["right"][k] == pytest.approx(float(packed), abs=1e-6)


def test_the_trained_model_falls_into_the_trap(vocab):
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    result = labs.padding_trap(SENTENCE, max_padding=25)
    assert torch.equal(torch.rand(1), expected)  # the caller's random state is left alone
    assert result.test_accuracy > 0.9
    assert result.positive["right"][25] < 0.5  # a negative review, read the right way
    assert abs(result.positive["half"][25] - result.positive["right"][25]) > 0.1


@pytest.mark.parametrize("kwargs, match", [
    (dict(sentence="the acting was zzzz"), "vocabulary"),
    (dict(sentence=""), "sentence"),
    (dict(max_padding=0), "max_padding"),
    (dict(max_padding=labs.PADDING_RANGE[1] + 1), "max_padding"),
    (dict(seed=-1), "seed"),
    (dict(model=torch.nn.LSTM(3, 4)), "bidirectional"),
])
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        labs.padding_trap(**kwargs)


def test_bad_arguments_of_a_one_directional_model(vocab):
    lstm = build_model("lstm", vocab_size=len(vocab), embed_dim=4, hidden_dim=4)
    with pytest.raises(ValueError, match="model must be a trained bidirectional"):
        labs.padding_trap(model=lstm)
    with pytest.raises(ValueError, match="padding must be one of 0 … 5"):
        labs.padding_trap(model=build_model("bilstm", vocab_size=len(vocab), embed_dim=4, hidden_dim=4),
                          max_padding=5).at(6)


def test_plot_checks_lengths():
    with pytest.raises(ValueError, match="one value per padding amount"):
        plots.plot_padding_trap([0, 1, 2], {"a": [0.1, 0.2]}, {"b": [0, 0, 0]})


def test_widget_draws_reads_out_and_reports_bad_input(small):
    lab = padding_trap_lab(model=small, padding=4, max_padding=10)
    assert isinstance(lab, PaddingTrapLab) and lab.png and lab.redraws == 1
    p = lab.last_result.at(4)
    assert f"{p['right']:.3f}" in lab.readout.value and "4 padding tokens" in lab.readout.value
    lab.padding.value = 9  # no event loop in a test: redraws at once
    assert lab.redraws == 2 and "9 padding tokens" in lab.readout.value
    lab.sentence.value = "not a known zzzz word"
    assert "rnnlib-error" in lab.readout.value and lab.redraws == 2  # the last good figure stays
    with pytest.raises(ValueError, match="max_padding"):
        padding_trap_lab(model=small, max_padding=0)
    with pytest.raises(ValueError, match="padding"):
        padding_trap_lab(model=small, padding=20, max_padding=10)  # a slider would clamp it silently
