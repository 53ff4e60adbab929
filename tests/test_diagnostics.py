"""Gradient diagnostics checked against independent computations written here.

The reference computations drive torch's own ``nn.RNNCell/GRUCell/LSTMCell`` (weights copied from the
model) one sequence and one step at a time, keep every hidden state with ``retain_grad`` and read its
gradient after ``loss.backward()``: no rnnlib code beyond the model's parameters is involved.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlib import build_model, set_forget_bias, set_seed, set_spectral_radius
from rnnlib.data import SequenceDataset
from rnnlib.diagnostics import (
    EXPLODING_ABOVE,
    VANISHING_BELOW,
    decay_ratio,
    gate_traces,
    gradient_regime,
    hidden_grad_norms,
    jacobian_norms,
    memory_span,
    per_step_factor,
    regime,
    spectral_radii,
)
from rnnlib.initialization import spectral_radii as spectral_radii_original
from rnnlib.training import fit

VOCAB, HIDDEN, TIME = 12, 6, 7
CASES = [(arch, impl) for arch in ("rnn", "gru", "lstm", "bilstm") for impl in ("torch", "scratch")]


# --- reference: torch's cells, one sequence at a time ---------------------------------------------


def cho_gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """Cho et al. (2014): reset before the matrix product, z_t near 0 keeps the past."""
    x_r, x_z, x_n = F.linear(x, weight_ih, bias_ih).chunk(3, -1)
    w_r, w_z, w_n = weight_hh.chunk(3, 0)
    b_r, b_z, b_n = bias_hh.chunk(3, 0)
    r = torch.sigmoid(x_r + F.linear(h, w_r, b_r))
    z = torch.sigmoid(x_z + F.linear(h, w_z, b_z))
    n = torch.tanh(x_n + F.linear(r * h, w_n, b_n))
    return (1 - z) * h + z * n


def make_cell(rnn: nn.Module, layer: int, reverse: bool):
    """A step function ``state → state`` with this layer's weights, built on torch's own cells."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    weights = {name: getattr(rnn, name + suffix) for name in
               ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    if getattr(rnn, "gru_variant", "torch") == "cho":
        return lambda x, h: cho_gru_cell(x, h, **weights)
    cls = {"RNN_TANH": nn.RNNCell, "GRU": nn.GRUCell, "LSTM": nn.LSTMCell}[rnn.mode]
    hidden = weights["weight_hh"].shape[1]
    cell = cls(weights["weight_ih"].shape[1], hidden).double()
    cell.load_state_dict(weights)
    return cell


def run_cells(cell, inputs, hidden: int, lstm: bool):
    """``inputs: (L, in)`` → list of h_t ``(1, H)`` from h_0 = 0, each kept with ``retain_grad``."""
    h = inputs.new_zeros(1, hidden)
    state = (h, h) if lstm else h
    states = []
    for x_t in inputs:
        state = cell(x_t.unsqueeze(0), state)
        h = state[0] if lstm else state
        h.retain_grad()
        states.append(h)
    return states


def reference_states(model, x, lengths):
    """Per sequence: top-layer forward h_t list and the logits, in float64."""
    m = copy.deepcopy(model).double().eval()
    rnn = m.rnn
    lstm = rnn.mode == "LSTM"
    inputs = m.embedding.weight.detach()[x] if m.vocab_size is not None else x.double()

    def run(layer, reverse, seq):
        return run_cells(make_cell(rnn, layer, reverse), seq, rnn.hidden_size, lstm)

    tops, features = [], []
    for b in range(x.shape[0]):
        length = int(lengths[b])
        seq = inputs[b, :length]
        for layer in range(rnn.num_layers):
            forward = run(layer, False, seq)
            outputs = torch.cat(forward, 0)
            if rnn.bidirectional:
                backward = run(layer, True, seq.flip(0))[::-1]
                outputs = torch.cat([outputs, torch.cat(backward, 0)], -1)
            seq = outputs
        feature = forward[-1]
        if rnn.bidirectional:
            feature = torch.cat([feature, backward[0]], -1)
        tops.append(forward)
        features.append(feature)
    logits = F.linear(torch.cat(features, 0), m.fc.weight.detach(), m.fc.bias.detach())
    return tops, logits


def reference_grad_norms(model, x, y, lengths):
    time = x.shape[1]
    lengths = torch.full((x.shape[0],), time) if lengths is None else lengths
    tops, logits = reference_states(model, x, lengths)
    mse = y.is_floating_point()
    loss = ((logits.squeeze(-1) - y.double()) ** 2).mean() if mse else F.cross_entropy(logits, y)
    loss.backward()
    squares = torch.zeros(time, dtype=torch.float64)
    for states in tops:  # steps after a sequence's end never reach the loss: they add 0
        for t, h in enumerate(states):
            squares[t] += h.grad.pow(2).sum()
    return squares.sqrt()


def token_batch(batch=4, time=TIME, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, VOCAB, (batch, time), generator=g)
    lengths = torch.tensor([time, 3, 5, 1][:batch])
    x[torch.arange(time)[None, :] >= lengths[:, None]] = 0  # padding
    y = torch.randint(0, 3, (batch,), generator=g)
    return x, y, lengths


# --- hidden_grad_norms -------------------------------------------------------------------------


@pytest.mark.parametrize(("arch", "impl"), CASES)
def test_hidden_grad_norms_match_reference_with_padding(arch, impl):
    set_seed(1)
    model = build_model(arch, vocab_size=VOCAB, embed_dim=5, hidden_dim=HIDDEN, output_dim=3, impl=impl)
    x, y, lengths = token_batch()
    norms = hidden_grad_norms(model, x, y, lengths)
    assert norms.dtype == torch.float64 and norms.shape == (TIME,)
    torch.testing.assert_close(norms, reference_grad_norms(model, x, y, lengths), rtol=1e-9, atol=0)
    assert norms[-1] > 0  # the first sequence fills the batch


@pytest.mark.parametrize(("arch", "impl"), [("lstm", "torch"), ("bilstm", "scratch"), ("gru", "torch")])
def test_hidden_grad_norms_two_layers_dropout_is_off(arch, impl):
    set_seed(2)
    model = build_model(arch, vocab_size=VOCAB, embed_dim=5, hidden_dim=HIDDEN, output_dim=3,
                        num_layers=2, dropout=0.5, impl=impl)
    model.train()  # dropout active in training mode: the diagnostic must still be deterministic
    x, y, lengths = token_batch()
    norms = hidden_grad_norms(model, x, y, lengths)
    torch.testing.assert_close(norms, reference_grad_norms(model, x, y, lengths), rtol=1e-9, atol=0)
    assert model.training


def test_hidden_grad_norms_cho_gru_and_no_lengths():
    set_seed(3)
    model = build_model("gru", vocab_size=VOCAB, embed_dim=5, hidden_dim=HIDDEN, output_dim=3,
                        impl="scratch", gru_variant="cho")
    x, y, _ = token_batch()
    x[x == 0] = 1  # no padding: every sequence fills the time axis
    norms = hidden_grad_norms(model, x, y)
    torch.testing.assert_close(norms, reference_grad_norms(model, x, y, None), rtol=1e-9, atol=0)


@pytest.mark.parametrize("impl", ["torch", "scratch"])
def test_hidden_grad_norms_regression_targets(impl):
    set_seed(4)
    model = build_model("lstm", input_dim=2, hidden_dim=HIDDEN, output_dim=1, impl=impl)
    x = torch.rand(5, 9, 2)
    y = torch.rand(5)
    lengths = torch.tensor([9, 9, 4, 2, 7])
    norms = hidden_grad_norms(model, x, y, lengths)
    torch.testing.assert_close(norms, reference_grad_norms(model, x, y, lengths), rtol=1e-9, atol=0)


def test_hidden_grad_norms_leaves_model_untouched():
    set_seed(5)
    model = build_model("lstm", vocab_size=VOCAB, hidden_dim=HIDDEN, output_dim=3, dropout=0.2)
    x, y, lengths = token_batch()
    F.cross_entropy(model(x, lengths), y).backward()  # the model holds gradients of its own
    before = {n: (p.detach().clone(), p.grad.clone()) for n, p in model.named_parameters()}
    model.eval()
    hidden_grad_norms(model, x, y, lengths)
    jacobian_norms(model, x, lengths)
    gate_traces(model, x, lengths)
    assert not model.training
    for name, p in model.named_parameters():
        assert p.dtype == torch.float32
        assert torch.equal(p.detach(), before[name][0]), name
        assert torch.equal(p.grad, before[name][1]), name


def test_hidden_grad_norms_of_a_frozen_model():
    set_seed(8)
    model = build_model("bilstm", vocab_size=VOCAB, embed_dim=5, hidden_dim=HIDDEN, output_dim=3)
    model.requires_grad_(False)
    x, y, lengths = token_batch()
    norms = hidden_grad_norms(model, x, y, lengths)
    torch.testing.assert_close(norms, reference_grad_norms(model, x, y, lengths), rtol=1e-9, atol=0)
    assert not any(p.requires_grad for p in model.parameters())


def test_float32_would_underflow_but_float64_does_not():
    """Why the diagnostic runs in float64: a vanilla RNN's gradient at step 1 is ~1e-40 here."""
    set_seed(0)
    model = build_model("rnn", input_dim=2, hidden_dim=16, output_dim=1, spectral_radius=0.3)
    x, y = torch.rand(8, 120, 2), torch.rand(8)
    norms = hidden_grad_norms(model, x, y)
    assert norms[0] > 0 and norms[0] < torch.finfo(torch.float32).tiny
    assert decay_ratio(norms) < 1e-30


# --- theory: what the ratios must do -------------------------------------------------------------


def _ratio(model, x, y):
    return decay_ratio(hidden_grad_norms(model, x, y))


def test_vanilla_rnn_decays_faster_for_smaller_spectral_radius():
    set_seed(0)
    x, y = torch.rand(16, 60, 2), torch.rand(16)
    radii = (0.25, 0.5, 0.75, 1.0, 3.0)
    ratios = []
    for radius in radii:
        set_seed(0)
        model = set_spectral_radius(build_model("rnn", input_dim=2, hidden_dim=32, output_dim=1), radius)
        assert spectral_radii(model)["l0"] == pytest.approx(radius)
        ratios.append(_ratio(model, x, y))
    # below 1 the ratio shrinks roughly like radius**59; measured 5e-38, 3e-20, 1e-9, 1e-2, 2e6
    assert ratios[0] < 1e-30 and ratios[1] < 1e-12
    assert all(small < 1e-3 * large for small, large in zip(ratios, ratios[1:], strict=False))
    assert ratios[-1] > 1e3  # radius 3: the gradient grows on its way back (exploding)


def test_lstm_decays_less_for_larger_forget_bias():
    set_seed(0)
    x, y = torch.rand(16, 60, 2), torch.rand(16)
    ratios = {}
    for bias in (None, 1.0, 3.0):
        set_seed(0)
        model = build_model("lstm", input_dim=2, hidden_dim=32, output_dim=1)
        if bias is not None:
            set_forget_bias(model, bias)
        ratios[bias] = _ratio(model, x, y)
    # default init: forget gate ≈ σ(0) = 0.5, so an untrained LSTM vanishes too
    assert ratios[None] < 1e-8
    assert ratios[None] < 1e-3 * ratios[1.0]
    assert ratios[1.0] < 1e-3 * ratios[3.0]
    assert ratios[3.0] > 1e-3
    assert memory_span(hidden_grad_norms(model, x, y)) == 59  # bias 3: above 1 % all the way back


# --- decay_ratio and memory_span ---------------------------------------------------------------


def test_decay_ratio_and_memory_span_on_known_curves():
    norms = np.array([1e-5, 1e-3, 0.02, 0.5, 1.0])
    assert decay_ratio(norms) == pytest.approx(1e-5)
    assert memory_span(norms) == 2  # 0.5 and 0.02 stay ≥ 1 %, 1e-3 does not
    assert memory_span(norms, threshold=0.6) == 0
    assert memory_span(norms, threshold=1e-6) == 4
    assert memory_span(torch.tensor([5.0, 1e-9, 2.0, 1.0])) == 1  # consecutive from the end only
    assert decay_ratio(torch.tensor([8.0, 4.0, 2.0])) == pytest.approx(4.0)  # exploding: > 1


# --- the one criterion: per_step_factor and gradient_regime --------------------------------------


def test_per_step_factor_is_the_geometric_mean_of_the_step_ratios():
    rng = np.random.default_rng(0)
    norms = np.exp(rng.normal(0.0, 3.0, size=40))  # a ragged curve, not a clean geometric one
    step_ratios = norms[:-1] / norms[1:]  # ‖∂L/∂h_t‖ / ‖∂L/∂h_{t+1}‖, t = 1 … T-1
    geometric_mean = float(np.exp(np.log(step_ratios).mean()))  # computed without the end points' ratio
    assert per_step_factor(norms) == pytest.approx(geometric_mean, rel=1e-12)
    assert per_step_factor(norms) ** (len(norms) - 1) == pytest.approx(decay_ratio(norms), rel=1e-9)
    assert per_step_factor(0.9 ** np.arange(30, -1, -1.0)) == pytest.approx(0.9)  # an exact geometric curve


def test_gradient_regime_thresholds():
    assert (VANISHING_BELOW, EXPLODING_ABOVE) == (1e-2, 1e2)
    assert memory_span([VANISHING_BELOW, 1.0]) == 1  # "held" at 1 % is the level memory_span counts from
    cases = {0.0: "vanishing", 0.0099: "vanishing", 0.01: "held", 1.0: "held", 100.0: "held",
             101.0: "exploding", 1e30: "exploding"}
    for ratio, expected in cases.items():
        assert regime(ratio) == expected
        assert gradient_regime([ratio, 0.3, 1.0]) == expected
    # the same per-step factor over a longer distance can cross a threshold: γ = 0.95 holds over 50
    # steps (0.95^50 ≈ 0.077) and vanishes over 100 (≈ 0.0059)
    assert gradient_regime(0.95 ** np.arange(50, -1, -1.0)) == "held"
    assert gradient_regime(0.95 ** np.arange(100, -1, -1.0)) == "vanishing"
    with pytest.raises(ValueError, match="ratio"):
        regime(-1.0)


def test_gradient_regime_of_real_models():
    """Spectral radius 0.5 vanishes, 3 explodes; an LSTM with forget bias 3 holds (measured ratios
    at T = 60: about 1e-19, 1e6 and 0.1)."""
    set_seed(0)
    x, y = torch.rand(16, 60, 2), torch.rand(16)
    kinds = {}
    for name, arch, radius, bias in [("rho 0.5", "rnn", 0.5, None), ("rho 3", "rnn", 3.0, None),
                                     ("lstm b=3", "lstm", None, 3.0)]:
        set_seed(0)
        model = build_model(arch, input_dim=2, hidden_dim=32, output_dim=1, spectral_radius=radius, forget_bias=bias)
        norms = hidden_grad_norms(model, x, y)
        kinds[name] = gradient_regime(norms)
        reference = reference_grad_norms(model, x, y, None)  # torch's own cells, independent of rnnlib
        assert kinds[name] == regime(float(reference[0] / reference[-1]))
    assert kinds == {"rho 0.5": "vanishing", "rho 3": "exploding", "lstm b=3": "held"}


@pytest.mark.parametrize(
    "norms",
    [[1.0], [[1.0, 2.0]], ["a", "b"], [1.0, float("nan"), 1.0], [1.0, -1.0, 1.0], [1.0, 0.5, 0.0]],
)
def test_bad_norms_raise(norms):
    for measure in (decay_ratio, memory_span, per_step_factor, gradient_regime):
        with pytest.raises(ValueError, match="norm"):
            measure(norms)


@pytest.mark.parametrize("threshold", [0.0, -1.0, float("nan"), "0.1"])
def test_bad_threshold_raises(threshold):
    with pytest.raises(ValueError, match="threshold"):
        memory_span([1.0, 1.0], threshold=threshold)


# --- jacobian_norms ----------------------------------------------------------------------------


def reference_jacobian_sigma(model, x, lengths):
    """σ_max(∂h_τ/∂h_t) per sequence and step with ``torch.autograd.functional.jacobian``."""
    m = copy.deepcopy(model).double().eval()
    lstm = m.rnn.mode == "LSTM"
    cell = make_cell(m.rnn, 0, False)
    inputs = m.embedding.weight.detach()[x]
    sigma = torch.zeros(x.shape, dtype=torch.float64)
    for b in range(x.shape[0]):
        tau = int(lengths[b]) - 1
        with torch.no_grad():  # the states along the way: (h_t, c_t)
            h = inputs.new_zeros(1, m.hidden_dim)
            state = (h, h) if lstm else h
            states = []
            for x_t in inputs[b, : tau + 1]:
                state = cell(x_t.unsqueeze(0), state)
                states.append(state)
        for t in range(tau + 1):
            later = inputs[b, t + 1 : tau + 1]  # the inputs that carry h_t on to h_τ
            c_t = states[t][1] if lstm else None  # LSTM: the path through h, c_t held fixed

            def h_tau(h_t, later=later, c_t=c_t):
                state = (h_t, c_t) if lstm else h_t
                for x_s in later:
                    state = cell(x_s.unsqueeze(0), state)
                return state[0] if lstm else state

            start = states[t][0] if lstm else states[t]
            jac = torch.autograd.functional.jacobian(h_tau, start).reshape(m.hidden_dim, m.hidden_dim)
            sigma[b, t] = torch.linalg.svdvals(jac)[0]
    return sigma


@pytest.mark.parametrize(("arch", "impl"), [("rnn", "torch"), ("gru", "scratch"), ("lstm", "torch"),
                                            ("bilstm", "scratch")])
def test_jacobian_norms_match_autograd_functional_jacobian(arch, impl):
    set_seed(6)
    model = build_model(arch, vocab_size=VOCAB, embed_dim=4, hidden_dim=5, impl=impl)
    x, _, lengths = token_batch(batch=3, time=6)
    expected = reference_jacobian_sigma(model, x, lengths)
    per_sequence = jacobian_norms(model, x, lengths, reduce="none")
    torch.testing.assert_close(per_sequence, expected, rtol=1e-8, atol=1e-12)
    # τ = lengths - 1 has Jacobian I; later steps cannot change h_τ
    assert per_sequence[1, 2] == pytest.approx(1.0) and per_sequence[1, 3:].abs().max() == 0
    mean = jacobian_norms(model, x, lengths)
    present = (torch.arange(6)[None, :] < lengths[:, None]).double()
    torch.testing.assert_close(mean, (expected * present).sum(0) / present.sum(0), rtol=1e-8, atol=0)


def test_jacobian_norms_shrink_with_spectral_radius():
    set_seed(0)
    model = set_spectral_radius(build_model("rnn", vocab_size=VOCAB, hidden_dim=16), 0.5)
    x = torch.randint(1, VOCAB, (2, 30))
    norms = jacobian_norms(model, x)
    assert norms.shape == (30,) and norms[-1] == pytest.approx(1.0)
    assert norms[0] < 1e-5 and norms[0] < norms[15] < norms[-1]


# --- gate_traces -------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["torch", "scratch"])
@pytest.mark.parametrize("arch", ["lstm", "gru", "bilstm"])
def test_gate_traces_match_gates_recomputed_from_torch_states(arch, impl):
    set_seed(7)
    model = build_model(arch, vocab_size=VOCAB, embed_dim=5, hidden_dim=HIDDEN, impl=impl)
    x, _, lengths = token_batch()
    traces = gate_traces(model, x, lengths)
    expected_names = {"i", "f", "g", "o", "c"} if arch != "gru" else {"r", "z", "n"}
    assert set(traces) == expected_names

    # the forward direction's states from torch's own layer, with the model's weights
    rnn = model.rnn
    torch_layer = (nn.LSTM if arch != "gru" else nn.GRU)(5, HIDDEN, batch_first=True).double()
    torch_layer.load_state_dict({k: getattr(rnn, k).detach() for k in
                                 ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")})
    inputs = model.embedding.weight.detach().double()[x]
    with torch.no_grad():
        h_all = torch_layer(inputs)[0]
    h_prev = torch.cat([torch.zeros_like(h_all[:, :1]), h_all[:, :-1]], 1)
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b_ih, b_hh = rnn.bias_ih_l0.detach().double(), rnn.bias_hh_l0.detach().double()
    x_part = (inputs @ w_ih.T + b_ih).chunk(len(w_ih) // HIDDEN, -1)
    h_part = (h_prev @ w_hh.T + b_hh).chunk(len(w_ih) // HIDDEN, -1)
    if arch == "gru":
        r = torch.sigmoid(x_part[0] + h_part[0])
        expected = {"r": r, "z": torch.sigmoid(x_part[1] + h_part[1]),
                    "n": torch.tanh(x_part[2] + r * h_part[2])}
    else:
        i, f, o = (torch.sigmoid(x_part[k] + h_part[k]) for k in (0, 1, 3))
        g = torch.tanh(x_part[2] + h_part[2])
        c, cells = torch.zeros_like(i[:, 0]), []
        for t in range(x.shape[1]):  # c_t = f_t c_{t-1} + i_t g_t
            c = f[:, t] * c + i[:, t] * g[:, t]
            cells.append(c)
        c = torch.stack(cells, 1)
        torch.testing.assert_close(o * torch.tanh(c), h_all)  # the recomputation is torch's LSTM
        expected = {"i": i, "f": f, "g": g, "o": o, "c": c}

    padding = (torch.arange(x.shape[1])[None, :] >= lengths[:, None]).numpy()
    for name, values in traces.items():
        assert values.shape == (4, TIME, HIDDEN)
        assert np.isnan(values[padding]).all() and not np.isnan(values[~padding]).any()
        np.testing.assert_allclose(values[~padding], expected[name].numpy()[~padding], rtol=1e-6,
                                   atol=1e-6)
        if name in ("i", "f", "o", "r", "z"):
            assert ((values[~padding] > 0) & (values[~padding] < 1)).all()


def test_gate_traces_without_lengths_have_no_nan():
    model = build_model("gru", input_dim=3, hidden_dim=4)
    traces = gate_traces(model, torch.rand(2, 5, 3))
    assert all(v.shape == (2, 5, 4) and not np.isnan(v).any() for v in traces.values())


# --- bad input ---------------------------------------------------------------------------------


def test_bad_inputs_raise_value_error():
    model = build_model("lstm", vocab_size=VOCAB, hidden_dim=4, output_dim=3)
    x, y, lengths = token_batch()
    with pytest.raises(ValueError, match="vanilla RNN has no gates"):
        gate_traces(build_model("rnn", vocab_size=VOCAB, hidden_dim=4), x, lengths)
    with pytest.raises(ValueError, match="y must have shape"):
        hidden_grad_norms(model, x, y[:2], lengths)
    with pytest.raises(ValueError, match=r"class ids in \[0, 2\]"):
        hidden_grad_norms(model, x, y + 3, lengths)
    with pytest.raises(ValueError, match="output_dim=1"):
        hidden_grad_norms(model, x, y.float(), lengths)
    with pytest.raises(ValueError, match="lengths"):
        hidden_grad_norms(model, x, y, torch.tensor([8, 1, 1, 1]))
    with pytest.raises(ValueError, match="token ids"):
        jacobian_norms(model, x + VOCAB, lengths)
    with pytest.raises(ValueError, match="reduce"):
        jacobian_norms(model, x, lengths, reduce="sum")
    with pytest.raises(ValueError, match="model must be an rnnlib model"):
        hidden_grad_norms(nn.LSTM(3, 4), x, y)


def test_spectral_radii_is_re_exported_not_copied():
    assert spectral_radii is spectral_radii_original


# --- training-time gradient statistics recorded by fit -------------------------------------------


@pytest.mark.parametrize("max_norm", [None, 0.05])
def test_fit_step_statistics_match_a_manual_loop(max_norm):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, VOCAB, (40, 9), generator=g)
    data = SequenceDataset(x, torch.randint(0, 2, (40,), generator=g), torch.randint(2, 10, (40,),
                                                                                     generator=g))
    set_seed(0)
    model = build_model("gru", vocab_size=VOCAB, hidden_dim=8)
    manual = copy.deepcopy(model)
    history = fit(model, data, epochs=2, lr=1e-2, max_norm=max_norm, batch_size=16, seed=3,
                  record_steps=True, progress=False)

    # the same steps by hand: global norm over all gradients, rescale when above max_norm
    opt = torch.optim.Adam(manual.parameters(), lr=1e-2)
    losses, before, after = [], [], []
    for xb, yb, lb in _two_epochs(data, 16, seed=3):
        opt.zero_grad()
        loss = F.cross_entropy(manual(xb, lb), yb)
        loss.backward()
        grads = [p.grad for p in manual.parameters()]
        norm = torch.linalg.vector_norm(torch.cat([gr.flatten() for gr in grads])).item()
        if max_norm is not None and norm > max_norm:
            for gr in grads:
                gr.mul_(max_norm / norm)
        after.append(torch.linalg.vector_norm(torch.cat([gr.flatten() for gr in grads])).item())
        losses.append(loss.item())
        before.append(norm)
        opt.step()

    assert history.steps == len(losses) == 6
    np.testing.assert_allclose(history.step_loss, losses, rtol=1e-4)
    np.testing.assert_allclose(history.step_grad_norm, before, rtol=1e-4)
    np.testing.assert_allclose(history.step_grad_norm_clipped, after, rtol=1e-4)
    assert history.clipped == [max_norm is not None and b > max_norm for b in before]
    if max_norm is not None:
        assert any(history.clipped)  # the test exercises clipping
    np.testing.assert_allclose(history.grad_norm, [np.mean(before[:3]), np.mean(before[3:])],
                               rtol=1e-4)


def _two_epochs(data, batch_size, seed):
    loader = data.batches(batch_size, shuffle=True, seed=seed)
    for _ in range(2):
        yield from loader
