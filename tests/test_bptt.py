"""The hand-written BPTT against autograd, finite differences and nn.RNN.

Every reference here is computed independently of :mod:`rnnlib.bptt`: autograd on the real model, a
``retain_grad``-style step loop written in this file, and ``torch.autograd.gradcheck``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnnlib import build_model
from rnnlib.bptt import (
    bptt,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    truncation_experiment,
    truncation_window,
)
from rnnlib.cells import rnn_step
from rnnlib.diagnostics import hidden_grad_norms
from rnnlib.models import read_last
from rnnlib.training import loss_and_metric

TOL = 1e-6  # float64, the bound


def make_case(seed, batch, time, hidden, *, tokens, regression, impl="torch", lengths=None, classes=3):
    """A float64 vanilla RNN model and a batch ``(x, y, lengths)`` for it."""
    torch.manual_seed(seed)
    vocab, input_dim = 7, 3
    output_dim = 1 if regression else classes
    kind = {"vocab_size": vocab, "embed_dim": 4} if tokens else {"input_dim": input_dim}
    model = build_model("rnn", hidden_dim=hidden, output_dim=output_dim, impl=impl, **kind).double()
    if lengths is not None:
        lengths = torch.tensor(lengths)
    if tokens:
        x = torch.randint(1, vocab, (batch, time))
        if lengths is not None:  # real data pads with id 0
            x[torch.arange(time) >= lengths[:, None]] = 0
    else:
        x = torch.randn(batch, time, input_dim, dtype=torch.float64)
    y = torch.randn(batch, dtype=torch.float64) if regression else torch.randint(0, classes, (batch,))
    return model, x, y, lengths


def autograd_reference(model, x, y, lengths, cut_before=None):
    """Loss, parameter gradients and ∂L/∂h_t by autograd on a step loop written here.

    ``cut_before: (batch,)`` code index whose incoming state ``h_{t-1}`` is detached per sequence
    (truncated BPTT's definition); ``None``: full BPTT.
    """
    params = dict(model.named_parameters())
    inputs = model.embed(x)
    w_ih, w_hh, b_ih, b_hh = (params[f"rnn.{n}_l0"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    h = inputs.new_zeros(x.shape[0], w_hh.shape[0])
    hs = []
    for t, x_t in enumerate(inputs.unbind(1)):
        if cut_before is not None:
            h = torch.where((cut_before == t)[:, None], h.detach(), h)
        h = rnn_step(F.linear(x_t, w_ih, b_ih), h, w_hh, b_hh)
        hs.append(h)
    out = model.fc(read_last(torch.stack(hs, 1), lengths, w_hh.shape[0], False))
    loss, _ = loss_and_metric(out, y)
    names = list(params)
    grads = torch.autograd.grad(loss, [params[n] for n in names] + hs)
    return loss.item(), dict(zip(names, grads[: len(names)])), torch.stack(grads[len(names):], 1)


def model_autograd(model, x, y, lengths):
    """Gradients of the real model's training loss (the fused nn.RNN for impl="torch")."""
    model.zero_grad()
    loss, _ = loss_and_metric(model(x, lengths), y)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    return loss.item(), grads


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@st.composite
def cases(draw):
    batch = draw(st.integers(1, 4))
    time = draw(st.integers(1, 6))
    padded = draw(st.booleans())
    lengths = draw(st.lists(st.integers(1, time), min_size=batch, max_size=batch)) if padded else None
    return make_case(
        draw(st.integers(0, 2**16)), batch, time, draw(st.integers(1, 5)),
        tokens=draw(st.booleans()), regression=draw(st.booleans()),
        impl=draw(st.sampled_from(["torch", "scratch"])), lengths=lengths,
    )


@settings(max_examples=30, deadline=None)
@given(cases())
def test_manual_gradients_equal_autograd(case):
    model, x, y, lengths = case
    result = bptt(model, x, y, lengths)
    loss, grads = model_autograd(model, x, y, lengths)
    assert abs(result.loss - loss) < TOL
    assert max_diff(result.grads, grads) < TOL
    _, _, dh = autograd_reference(model, x, y, lengths)
    assert (result.hidden_grads - dh).abs().max() < TOL
    norms = dh.pow(2).sum((0, 2)).sqrt()
    assert result.hidden_grad_norms.dtype == torch.float64
    assert torch.allclose(result.hidden_grad_norms, norms, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("impl", ["torch", "scratch"])
@pytest.mark.parametrize(("tokens", "regression"), [(True, False), (False, True)])
def test_norms_equal_the_diagnostics_module(impl, tokens, regression):
    """The loop's ‖∂L/∂h_t‖ is the quantity the gradient-flow lab plots."""
    model, x, y, lengths = make_case(2, 4, 12, 6, tokens=tokens, regression=regression, impl=impl,
                                     lengths=[12, 3, 7, 12])
    lab = hidden_grad_norms(model, x, y, lengths)
    assert torch.allclose(bptt(model, x, y, lengths).hidden_grad_norms, lab, rtol=1e-10, atol=0)
    model.float()  # computed in float32 by the loop, in float64 by diagnostics
    x = x if tokens else x.float()
    assert torch.allclose(bptt(model, x, y.float() if regression else y, lengths).hidden_grad_norms,
                          hidden_grad_norms(model, x, y, lengths), rtol=1e-4, atol=0)


def test_manual_gradients_float32_model():
    model, x, y, lengths = make_case(1, 5, 9, 8, tokens=True, regression=False, lengths=[9, 1, 4, 9, 6])
    model.float()
    result = bptt(model, x, y, lengths)
    _, grads = model_autograd(model, x, y, lengths)
    assert result.grads["rnn.weight_hh_l0"].dtype == torch.float32
    assert max_diff(result.grads, grads) < 1e-5


@pytest.mark.parametrize("tokens", [True, False])
def test_padding_contributes_nothing(tokens):
    lengths = [6, 2, 4]
    model, x, y, lengths_t = make_case(3, 3, 6, 4, tokens=tokens, regression=False, lengths=lengths)
    result = bptt(model, x, y, lengths_t)
    padding = torch.arange(6) >= lengths_t[:, None]
    assert result.hidden_grads[padding].abs().max() == 0
    assert result.input_grads[padding].abs().max() == 0
    other = x.clone()  # different values at every padded position, same gradients
    other[padding] = 5 if tokens else 100.0
    changed = bptt(model, other, y, lengths_t)
    assert all(torch.equal(changed.grads[k], result.grads[k]) for k in result.grads)


def test_embedding_padding_row_and_untouched_model():
    model, x, y, lengths = make_case(4, 3, 5, 4, tokens=True, regression=False, lengths=[5, 2, 3])
    x[0, 1] = 0  # the padding id inside a sequence: it is read, yet nn.Embedding never trains its row
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    result = bptt(model, x, y, lengths)
    assert result.grads.keys() == before.keys()
    assert result.input_grads[0, 1].abs().max() > 0
    assert result.grads["embedding.weight"][0].abs().max() == 0
    assert all(p.grad is None and torch.equal(p, before[n]) for n, p in model.named_parameters())
    assert max_diff(result.grads, model_autograd(model, x, y, lengths)[1]) < TOL


def test_matches_gradcheck_verified_autograd():
    """gradcheck the model's loss as a function of its parameters, then compare the manual values."""
    model, x, y, lengths = make_case(5, 3, 4, 3, tokens=True, regression=False, lengths=[4, 1, 3])
    names = [n for n, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())

    def loss_of(*weights):
        out = torch.func.functional_call(model, dict(zip(names, weights)), (x, lengths))
        return loss_and_metric(out, y)[0]

    assert torch.autograd.gradcheck(loss_of, params)
    verified = dict(zip(names, torch.autograd.grad(loss_of(*params), params)))
    assert max_diff(bptt(model, x, y, lengths).grads, verified) < TOL


class ManualLoss(torch.autograd.Function):
    """The model's loss with :func:`bptt` as its backward, so gradcheck tests the manual gradients
    against finite differences directly."""

    @staticmethod
    def forward(ctx, model, x, y, lengths, *weights):
        with torch.no_grad():
            for p, w in zip(model.parameters(), weights):
                p.copy_(w)
        result = bptt(model, x, y, lengths)
        ctx.grads = [result.grads[n] for n, _ in model.named_parameters()]
        return x.new_tensor(result.loss, dtype=torch.float64)

    @staticmethod
    def backward(ctx, grad_output):
        return (None, None, None, None, *(grad_output * g for g in ctx.grads))


@pytest.mark.parametrize("regression", [False, True])
def test_manual_gradients_pass_gradcheck(regression):
    model, x, y, lengths = make_case(6, 2, 4, 3, tokens=False, regression=regression, lengths=[4, 2])
    weights = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    assert torch.autograd.gradcheck(lambda *w: ManualLoss.apply(model, x, y, lengths, *w), weights)


def test_step_backward_equals_autograd():
    torch.manual_seed(7)
    batch, hidden, inp = 4, 5, 3
    w_ih, x_t = torch.randn(hidden, inp, dtype=torch.float64), torch.randn(batch, inp, dtype=torch.float64)
    w_hh, h_prev = torch.randn(hidden, hidden, dtype=torch.float64), torch.randn(batch, hidden, dtype=torch.float64)
    b_ih, b_hh = torch.randn(hidden, dtype=torch.float64), torch.randn(hidden, dtype=torch.float64)
    leaves = [t.requires_grad_() for t in (w_ih, w_hh, b_ih, b_hh, h_prev)]
    h_t = rnn_step(F.linear(x_t, w_ih, b_ih), h_prev, w_hh, b_hh)
    dh_t = torch.randn(batch, hidden, dtype=torch.float64)
    ref = torch.autograd.grad(h_t, leaves, grad_outputs=dh_t)
    step = rnn_step_backward(dh_t, h_t.detach(), h_prev.detach(), x_t.detach(), w_hh.detach())
    for got, want in zip((step.dW_ih, step.dW_hh, step.db, step.db, step.dh_prev), ref):
        assert (got - want).abs().max() < 1e-12


def test_step_backward_passes_the_notebook_exercise(monkeypatch):
    """The library's step is an answer to the learner's exercise (checked against nn.RNNCell). From a learner the
    check refuses it (handing the exercise back to rnnlib), so that refusal is switched off here."""
    from contextlib import nullcontext

    from rnnlib.exercises import delegation, rnn_step_backward_exercise

    assert not rnn_step_backward_exercise.check(rnn_step_backward)
    monkeypatch.setattr(delegation, "watching", lambda forbidden: nullcontext([]))
    monkeypatch.setattr(delegation, "source_uses", lambda function, forbidden: [])
    assert rnn_step_backward_exercise.check(rnn_step_backward)


def test_forward_equals_nn_rnn_with_initial_state():
    torch.manual_seed(8)
    rnn = nn.RNN(3, 4, batch_first=True).double()
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    h0 = torch.randn(2, 4, dtype=torch.float64)
    out, _ = rnn(x, h0.unsqueeze(0))
    cache = rnn_forward(x, h0, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)
    assert (cache.h - out).abs().max() < 1e-12
    assert torch.equal(cache.h_prev(0), h0) and torch.equal(cache.h_prev(3), cache.h[:, 2])


def test_backward_from_initial_state_equals_autograd():
    """rnn_backward on its own, with gradient entering at every step (a many-to-many loss)."""
    torch.manual_seed(9)
    rnn = nn.RNN(3, 4, batch_first=True).double()
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    out, _ = rnn(x)
    dh_direct = torch.randn_like(out)
    weights = [rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0]
    ref = torch.autograd.grad(out, weights + [x], grad_outputs=dh_direct)
    cache = rnn_forward(x.detach(), x.new_zeros(2, 4), *(w.detach() for w in weights))
    grads, _, dx = rnn_backward(cache, dh_direct, rnn.weight_ih_l0.detach(), rnn.weight_hh_l0.detach())
    got = [grads["W_ih"], grads["W_hh"], grads["b_ih"], grads["b_hh"], dx]
    assert max(float((g - r).abs().max()) for g, r in zip(got, ref)) < 1e-12


def test_truncation_window():
    window = truncation_window(torch.tensor([5, 2, 5]), 5, 2)
    assert window.tolist() == [
        [False, False, False, True, True],
        [True, True, False, False, False],
        [False, False, False, True, True],
    ]
    assert truncation_window(torch.tensor([5, 2]), 5, None).tolist() == [[True] * 5, [True] * 2 + [False] * 3]


@settings(max_examples=15, deadline=None)
@given(cases(), st.integers(1, 7))
def test_truncated_equals_autograd_with_detached_state(case, k):
    model, x, y, lengths = case
    result = bptt(model, x, y, lengths, truncate=k)
    full_lengths = torch.full((x.shape[0],), x.shape[1]) if lengths is None else lengths
    loss, grads, dh = autograd_reference(model, x, y, lengths, cut_before=full_lengths - k)
    assert abs(result.loss - loss) < TOL
    assert max_diff(result.grads, grads) < TOL
    assert (result.hidden_grads - dh).abs().max() < TOL


@pytest.mark.parametrize("extra", [0, 3])
def test_truncation_at_least_time_is_full_bptt(extra):
    model, x, y, lengths = make_case(10, 3, 6, 4, tokens=True, regression=False, lengths=[6, 3, 5])
    full = bptt(model, x, y, lengths)
    truncated = bptt(model, x, y, lengths, truncate=6 + extra)
    assert all(torch.equal(full.grads[k], truncated.grads[k]) for k in full.grads)
    assert torch.equal(full.hidden_grad_norms, truncated.hidden_grad_norms)


def test_short_truncation_changes_gradients():
    model, x, y, lengths = make_case(11, 3, 6, 4, tokens=False, regression=False)
    full = bptt(model, x, y, lengths)
    short = bptt(model, x, y, lengths, truncate=2)
    assert (full.grads["rnn.weight_hh_l0"] - short.grads["rnn.weight_hh_l0"]).abs().max() > 1e-6
    assert short.hidden_grad_norms[:4].abs().max() == 0 and (short.hidden_grad_norms[4:] > 0).all()
    assert torch.equal(full.grads["fc.weight"], short.grads["fc.weight"])  # the readout is not cut
    assert torch.equal(full.hidden_grads[:, 4:], short.hidden_grads[:, 4:])


def test_truncation_experiment_shows_the_cut_and_repeats():
    """k ≤ distance: no gradient reaches the deciding word and the task stays at chance."""
    results = truncation_experiment(4, (4, 5), steps=100, seed=0)
    assert results[4]["word_grad_norm"] == 0.0 and results[5]["word_grad_norm"] > 0
    assert results[4]["test_accuracy"] < 0.7 and results[5]["test_accuracy"] > 0.95
    assert results[4]["history"].steps == 100 and results[4]["history"].test_metric == [results[4]["test_accuracy"]]
    again = truncation_experiment(4, (4, 5), steps=100, seed=0)
    assert again == results  # same seed, same numbers (History is a dataclass: compared field by field)


def _rnn_case():
    return make_case(12, 2, 4, 3, tokens=False, regression=False)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda m, x, y, l: bptt(m, x, y, l, truncate=0), "truncate"),
        (lambda m, x, y, l: bptt(m, x, y, l, truncate=1.5), "truncate"),
        (lambda m, x, y, l: bptt(build_model("gru", input_dim=3).double(), x, y, l), "model"),
        (lambda m, x, y, l: bptt(build_model("rnn", input_dim=3, num_layers=2), x, y, l), "num_layers"),
        (lambda m, x, y, l: bptt(build_model("rnn", input_dim=3, dropout=0.5), x, y, l), "dropout"),
        (lambda m, x, y, l: bptt(m, x[..., :2], y, l), "x"),
        (lambda m, x, y, l: bptt(m, x, y, [5, 1]), "lengths"),
        (lambda m, x, y, l: bptt(m, x, y[:1], l), "y"),
        (lambda m, x, y, l: bptt(m, x, y + 5, l), "y"),
        (lambda m, x, y, l: bptt(m, x, y.double(), l), "output_dim"),
        (lambda m, x, y, l: rnn_forward(x, x.new_zeros(2, 3), m.rnn.bias_ih_l0, m.rnn.weight_hh_l0,
                                        m.rnn.bias_ih_l0, m.rnn.bias_hh_l0), "W_ih"),
        (lambda m, x, y, l: rnn_forward(x, x.new_zeros(3, 3), m.rnn.weight_ih_l0, m.rnn.weight_hh_l0,
                                        m.rnn.bias_ih_l0, m.rnn.bias_hh_l0), "h0"),
        (lambda m, x, y, l: rnn_step_backward(x[:, 0], x[:, 0], x[:, 0], x[:, 0], m.rnn.bias_hh_l0), "W_hh"),
        (lambda m, x, y, l: rnn_step_backward(x[:, 0], x[:, 0, :2], x[:, 0], x[:, 0], m.rnn.weight_hh_l0), "h_t"),
        (lambda m, x, y, l: bptt(m, x.float(), y, l), "dtype"),
        (lambda m, x, y, l: truncation_experiment(4, (0,), steps=1), "ks"),
        (lambda m, x, y, l: truncation_experiment(4, 3, steps=1), "ks"),
        (lambda m, x, y, l: truncation_experiment(-1, steps=1), "distance"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_parameter(call, name):
    model, x, y, lengths = _rnn_case()
    with pytest.raises(ValueError, match=name):
        call(model, x, y, lengths)
