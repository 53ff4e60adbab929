"""The from-scratch cells against hand computations of the equations, and ``unroll``."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnnlib import ScratchRecurrent, unroll
from rnnlib.cells import gru_step, recurrent_mode, reverse_within_length

H, INPUT, TIME = 4, 3, 6


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cho_gru_by_hand(rnn, x):
    """Cho et al. (2014) in float64 NumPy, written with the paper's concatenated ``[h_{t-1}, x_t]``
    matrices assembled from torch's parameter layout (gate blocks r, z, n)."""
    w_ih, w_hh = rnn.weight_ih_l0.detach().double().numpy(), rnn.weight_hh_l0.detach().double().numpy()
    b = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().double().numpy()
    W_r, W_z, W_h = (np.concatenate([w_hh[k * H : (k + 1) * H], w_ih[k * H : (k + 1) * H]], axis=1)
                     for k in range(3))
    b_r, b_z = b[:H], b[H : 2 * H]
    b_h = b[2 * H :]
    h = np.zeros((x.shape[0], H))
    states = []
    for t in range(x.shape[1]):
        x_t = x[:, t].double().numpy()
        r = sigmoid(np.concatenate([h, x_t], 1) @ W_r.T + b_r)  # r_t = σ(W_r [h_{t-1}, x_t] + b_r)
        z = sigmoid(np.concatenate([h, x_t], 1) @ W_z.T + b_z)  # z_t = σ(W_z [h_{t-1}, x_t] + b_z)
        # h~_t = tanh(W_h [r_t ⊙ h_{t-1}, x_t] + b_h): the reset gate acts *before* the product
        h_tilde = np.tanh(np.concatenate([r * h, x_t], 1) @ W_h.T + b_h)
        h = (1 - z) * h + z * h_tilde  # h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t
        states.append(h)
    return np.stack(states, 1)


def test_cho_gru_matches_the_paper_equations():
    torch.manual_seed(0)
    rnn = ScratchRecurrent("GRU", INPUT, H, gru_variant="cho")
    x = torch.randn(2, TIME, INPUT)
    np.testing.assert_allclose(rnn(x).detach().numpy(), cho_gru_by_hand(rnn, x), atol=1e-5)


def test_cho_gru_differs_from_torch_gru_with_the_same_weights():
    torch.manual_seed(0)
    cho = ScratchRecurrent("GRU", INPUT, H, gru_variant="cho")
    ref = nn.GRU(INPUT, H, batch_first=True)
    ref.load_state_dict(cho.state_dict())
    x = torch.randn(2, TIME, INPUT)
    assert (cho(x) - ref(x)[0]).abs().max() > 1e-2
    scratch_torch = ScratchRecurrent("GRU", INPUT, H)  # the default variant is torch's
    scratch_torch.load_state_dict(cho.state_dict())
    torch.testing.assert_close(scratch_torch(x), ref(x)[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize(("variant", "z_bias"), [("torch", 20.0), ("cho", -20.0)])
def test_each_gru_variant_keeps_the_past_in_its_own_direction(variant, z_bias):
    """torch: z_t → 1 keeps h_{t-1}; Cho: z_t → 0 keeps it."""
    h_prev = torch.randn(2, H)
    xw_t = torch.randn(2, 3 * H)
    xw_t[:, H : 2 * H] = z_bias  # saturate z
    h, gates = gru_step(xw_t, h_prev, torch.randn(3 * H, H), torch.zeros(3 * H), variant)
    torch.testing.assert_close(h, h_prev, atol=1e-6, rtol=0)
    assert set(gates) == {"r", "z", "n"}


def test_vanilla_rnn_hidden_states_are_autograd_nodes_with_the_bptt_gradient():
    """∂L/∂h_{T-1} = W_hhᵀ (∂L/∂h_T ⊙ (1 - h_T²)), computed by hand, equals autograd through
    ``Unrolled.hidden``."""
    torch.manual_seed(0)
    rnn = nn.RNN(INPUT, H, batch_first=True)
    x = torch.randn(1, TIME, INPUT)
    run = unroll(rnn, x)
    torch.testing.assert_close(run.output, rnn(x)[0], atol=1e-6, rtol=0)
    w = torch.randn(H)
    loss = (run.hidden[-1] @ w).sum()
    grads = torch.autograd.grad(loss, run.hidden)
    h_T = run.hidden[-1].detach()
    by_hand = (w * (1 - h_T**2)) @ rnn.weight_hh_l0.detach()
    torch.testing.assert_close(grads[-2], by_hand, atol=1e-6, rtol=0)
    assert len(run.hidden) == TIME


def test_lstm_gates_are_recorded_and_consistent():
    torch.manual_seed(0)
    rnn = nn.LSTM(INPUT, H, batch_first=True)
    x = torch.randn(2, TIME, INPUT)
    run = unroll(rnn, x, keep_gates=True)
    assert set(run.gates) == {"i", "f", "g", "o", "c"}
    for name in "ifo":
        assert run.gates[name].shape == (2, TIME, H)
        assert torch.all((run.gates[name] > 0) & (run.gates[name] < 1))
    # h_t = o_t ⊙ tanh(c_t), c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    g = run.gates
    torch.testing.assert_close(run.output, g["o"] * torch.tanh(g["c"]), atol=1e-6, rtol=0)
    c_prev = torch.cat([torch.zeros(2, 1, H), g["c"][:, :-1]], 1)
    torch.testing.assert_close(g["c"], g["f"] * c_prev + g["i"] * g["g"], atol=1e-6, rtol=0)


@pytest.mark.parametrize("mode", ["RNN_TANH", "GRU", "LSTM"])
def test_unroll_of_a_bidirectional_torch_layer_matches_the_packed_layer(mode):
    torch.manual_seed(0)
    layer = {"RNN_TANH": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}[mode]
    rnn = layer(INPUT, H, num_layers=2, batch_first=True, bidirectional=True)
    x = torch.randn(3, TIME, INPUT)
    lengths = torch.tensor([TIME, 2, 4])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref, _ = nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], batch_first=True, total_length=TIME)
    out = unroll(rnn, x, lengths).output
    for row, n in enumerate(lengths.tolist()):  # packing leaves zeros past each length
        torch.testing.assert_close(out[row, :n], ref[row, :n], atol=1e-5, rtol=0)


@settings(max_examples=50, deadline=None)
@given(lengths=st.lists(st.integers(1, 8), min_size=1, max_size=5), extra=st.integers(0, 3))
def test_reverse_within_length(lengths, extra):
    time = max(lengths) + extra
    x = torch.arange(len(lengths) * time).view(len(lengths), time, 1).float()
    lengths_t = torch.tensor(lengths)
    out = reverse_within_length(x, lengths_t)
    for row, n in enumerate(lengths):
        assert torch.equal(out[row, :n], x[row, :n].flip(0))  # the true part reversed
        assert torch.equal(out[row, n:], x[row, n:])  # padding stays where it is
    assert torch.equal(reverse_within_length(out, lengths_t), x)  # an involution


def test_recurrent_mode_names_the_layer_it_cannot_unroll():
    assert recurrent_mode(nn.LSTM(2, 3)) == "LSTM"
    with pytest.raises(ValueError, match="ReLU|mode"):
        unroll(nn.RNN(2, 3, nonlinearity="relu"), torch.randn(1, 2, 2))
    with pytest.raises(ValueError, match="Linear"):
        recurrent_mode(nn.Linear(2, 3))


def test_scratch_recurrent_rejects_unknown_mode_and_variant():
    with pytest.raises(ValueError, match="mode"):
        ScratchRecurrent("TRANSFORMER", 2, 3)
    with pytest.raises(ValueError, match="gru_variant"):
        ScratchRecurrent("GRU", 2, 3, gru_variant="minimal")
