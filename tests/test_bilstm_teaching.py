"""Helpers of notebook 04 (BiLSTM): the naive padded run (the wrong way), which states an edit reaches,
and reversed datasets."""

import pytest
import torch

from rnnlib.cells import reverse_within_length
from rnnlib.data import SequenceDataset
from rnnlib.diagnostics import state_changes
from rnnlib.models import build_model, naive_bidirectional_forward


@pytest.fixture
def batch():
    torch.manual_seed(0)
    x = torch.randint(2, 20, (3, 9))
    lengths = torch.tensor([9, 4, 6])
    for row, length in enumerate(lengths):
        x[row, length:] = 0
    return x, lengths


@pytest.mark.parametrize("impl", ["torch", "scratch"])
def test_naive_differs_only_for_padded_rows(batch, impl):
    torch.manual_seed(1)
    model = build_model("bilstm", vocab_size=20, embed_dim=6, hidden_dim=5, impl=impl).eval()
    x, lengths = batch
    with torch.no_grad():
        naive = naive_bidirectional_forward(model, x, lengths)
        right = model(x, lengths)
        alone = torch.cat([model(x[b : b + 1, : lengths[b]]) for b in range(3)])
    torch.testing.assert_close(right, alone, rtol=0, atol=1e-6)  # the right way ignores padding
    torch.testing.assert_close(naive[0], right[0])  # a full-length row has no padding to read
    assert (naive[1:] - right[1:]).abs().amax(-1).min() > 1e-4  # padded rows: the backward start moved


def test_naive_equals_model_without_padding(batch):
    model = build_model("bilstm", vocab_size=20, embed_dim=6, hidden_dim=5).eval()
    x = batch[0].clamp(min=2)
    with torch.no_grad():
        torch.testing.assert_close(naive_bidirectional_forward(model, x), model(x))


def test_naive_needs_a_bidirectional_model(batch):
    model = build_model("lstm", vocab_size=20, embed_dim=6, hidden_dim=5)
    with pytest.raises(ValueError, match="bidirectional"):
        naive_bidirectional_forward(model, *batch)


@pytest.mark.parametrize("impl", ["torch", "scratch"])
def test_state_changes_lstm_is_causal_bilstm_is_not(batch, impl):
    x = batch[0][:1]  # one full-length sequence
    edited = x.clone()
    edited[0, 4] = 1 if int(x[0, 4]) != 1 else 2
    torch.manual_seed(2)
    lstm = build_model("lstm", vocab_size=20, embed_dim=6, hidden_dim=5, impl=impl)
    bilstm = build_model("bilstm", vocab_size=20, embed_dim=6, hidden_dim=5, impl=impl)
    uni, bi = state_changes(lstm, x, edited), state_changes(bilstm, x, edited)
    assert uni.shape == (1, 1, 9) and bi.shape == (1, 2, 9) and uni.dtype == torch.float64
    assert torch.all(uni[0, 0, :4] == 0) and torch.all(uni[0, 0, 4:] > 0)  # forward: from the edit on
    assert torch.all(bi[0, 0, :4] == 0) and torch.all(bi[0, 0, 4:] > 0)
    assert torch.all(bi[0, 1, :5] > 0) and torch.all(bi[0, 1, 5:] == 0)  # backward: up to the edit
    with torch.no_grad():  # independent computation: the largest |Δ| of the float64 states themselves
        states = [bilstm.double().encode(v)[0] for v in (x, edited)]
    expected = (states[1] - states[0]).abs().view(9, 2, 5).amax(-1).T
    torch.testing.assert_close(bi[0], expected)


def test_state_changes_validates_shapes(batch):
    model = build_model("lstm", vocab_size=20, embed_dim=6, hidden_dim=5)
    with pytest.raises(ValueError, match="edited"):
        state_changes(model, batch[0], batch[0][:, :4])


def test_reversed_dataset_reverses_within_length(batch):
    x, lengths = batch
    data = SequenceDataset(x, torch.arange(3), lengths)
    back = data.reversed()
    assert torch.equal(back.x, reverse_within_length(x, lengths))
    assert torch.equal(back.x[1, :4], x[1, :4].flip(0)) and torch.equal(back.x[1, 4:], x[1, 4:])
    assert torch.equal(back.reversed().x, x) and torch.equal(back.y, data.y)


def test_themed_leaves_interactive_mode_alone():
    """Regression (found building notebook 04): restoring ``interactive`` after the first figure, when
    Jupyter's inline backend had just switched it on, hid every later figure of a notebook."""
    import matplotlib

    from rnnlib.plots import themed

    before = matplotlib.is_interactive()
    try:
        with themed():
            matplotlib.interactive(not before)  # what pyplot's backend switch does inside a first figure
            assert matplotlib.rcParams["axes.facecolor"] == "white"
        assert matplotlib.is_interactive() == (not before)
    finally:
        matplotlib.interactive(before)
