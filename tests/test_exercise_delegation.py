"""An exercise is not answered by handing it back to the library, and a numeric one not by a constant.

Every delegation below returns the right numbers (so only the delegation check can refuse it), and is refused
with a message naming what it used. Both lines of defence are tested on their own: the run-time watch (the
forbidden thing is reached through a helper the source check cannot see) and the source check (the forbidden
thing sits on a branch that never runs).
"""

import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rnnlib
from rnnlib import bptt, cells
from rnnlib.exercises import (
    NOTEBOOK_EXERCISES,
    bilstm_lstm_ratio_exercise,
    bilstm_readout_exercise,
    forget_bias_exercise,
    gru_lstm_ratio_exercise,
    gru_step_exercise,
    lstm_step_backward_exercise,
    lstm_step_exercise,
    per_step_factor_exercise,
    reverse_within_length_exercise,
    rnn_parameter_count_exercise,
    rnn_step_backward_exercise,
    rnn_step_exercise,
    solutions,
)
from rnnlib.exercises.delegation import source_uses, watching
from rnnlib.exercises.lstm import kept_fraction
from rnnlib.models import count_parameters, read_last

# ---- answers that delegate and are right -----------------------------------------------------------------


def rnn_cell_answer(x, h, w_ih, w_hh, b_ih, b_hh):
    cell = nn.RNNCell(w_ih.shape[1], w_ih.shape[0])
    with torch.no_grad():
        for p, w in zip(cell.parameters(), (w_ih, w_hh, b_ih, b_hh)):
            p.copy_(w)
        return cell(x, h)


def gru_cell_answer(x, h, w_ih, w_hh, b_ih, b_hh):
    cell = nn.GRUCell(w_ih.shape[1], h.shape[1])
    with torch.no_grad():
        for p, w in zip(cell.parameters(), (w_ih, w_hh, b_ih, b_hh)):
            p.copy_(w)
        return cell(x, h)


def lstm_cell_answer(x, h, c, w_ih, w_hh, b_ih, b_hh):
    cell = nn.LSTMCell(w_ih.shape[1], h.shape[1])
    with torch.no_grad():
        for p, w in zip(cell.parameters(), (w_ih, w_hh, b_ih, b_hh)):
            p.copy_(w)
        return cell(x, (h, c))


def _leaves(*tensors):
    return tuple(t.clone().requires_grad_() for t in tensors)


def autograd_rnn_backward(dh_t, h_t, h_prev, x_t, w_hh):
    w_ih, b, (h_prev, w_hh) = *_leaves(torch.zeros(w_hh.shape[0], x_t.shape[1]), torch.zeros(w_hh.shape[0])), \
        _leaves(h_prev, w_hh)
    rest = torch.atanh(h_t) - h_prev.detach() @ w_hh.detach().T  # the part of a_t these leaves do not carry
    a = x_t @ w_ih.T + b + h_prev @ w_hh.T + rest
    return torch.autograd.grad(torch.tanh(a), (w_ih, w_hh, b, h_prev), dh_t)


def backward_method_rnn_backward(dh_t, h_t, h_prev, x_t, w_hh):
    w_ih, b, h_prev, w_hh = _leaves(torch.zeros(w_hh.shape[0], x_t.shape[1]), torch.zeros(w_hh.shape[0]), h_prev, w_hh)
    a = x_t @ w_ih.T + b + h_prev @ w_hh.T + torch.atanh(h_t) - h_prev.detach() @ w_hh.detach().T
    (torch.tanh(a) * dh_t).sum().backward()
    return w_ih.grad, w_hh.grad, b.grad, h_prev.grad


def bptt_rnn_backward(dh_t, h_t, h_prev, x_t, w_hh):
    grads = bptt.rnn_step_backward(dh_t, h_t, h_prev, x_t, w_hh)
    return grads.dW_ih, grads.dW_hh, grads.db, grads.dh_prev


def autograd_lstm_backward(dh_t, dc_t, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh = _leaves(x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)
    i, f, g, o = (x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh).chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    h_t = torch.sigmoid(o) * torch.tanh(c_t)
    return torch.autograd.grad((h_t, c_t), (x, h_prev, c_prev, w_ih, w_hh, b_ih), (dh_t, dc_t))


def lstm_cell_autograd_backward(dh_t, dc_t, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    cell = nn.LSTMCell(x.shape[1], h_prev.shape[1])
    with torch.no_grad():
        for p, w in zip(cell.parameters(), (w_ih, w_hh, b_ih, b_hh)):
            p.copy_(w)
    x, h_prev, c_prev = _leaves(x, h_prev, c_prev)
    h_t, c_t = cell(x, (h_prev, c_prev))
    inputs = (x, h_prev, c_prev, cell.weight_ih, cell.weight_hh, cell.bias_ih)
    return torch.autograd.grad((h_t, c_t), inputs, (dh_t, dc_t))


def bisect_forget_bias(steps, keep):
    low, high = -10.0, 20.0
    for _ in range(80):
        middle = (low + high) / 2
        low, high = (low, middle) if kept_fraction(middle, steps) >= keep else (middle, high)
    return high


#: (exercise, answer, the name the message must give): every delegation returns the right numbers
DELEGATIONS = [
    (rnn_step_exercise, rnn_cell_answer, "nn.RNNCell"),
    (rnn_step_exercise, lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.rnn_tanh_cell(x, h, w_ih, w_hh, b_ih, b_hh),
     "torch.rnn_tanh_cell"),
    (rnn_step_exercise, lambda x, h, w_ih, w_hh, b_ih, b_hh: torch._VF.rnn_tanh_cell(x, h, w_ih, w_hh, b_ih, b_hh),
     "torch.rnn_tanh_cell"),
    (rnn_step_exercise, lambda x, h, w_ih, w_hh, b_ih, b_hh: cells.rnn_step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh),
     "rnnlib.cells.rnn_step"),
    (rnn_step_exercise, lambda *a: solutions.rnn_step(*a), "rnnlib.exercises.solutions.rnn_step"),
    (rnn_parameter_count_exercise, lambda i, h, n: sum(p.numel() for p in nn.RNN(i, h, n).parameters()), "nn.RNN"),
    (rnn_parameter_count_exercise, lambda i, h, n: count_parameters(nn.RNN(i, h, n, device="meta")), "nn.RNN"),
    (rnn_parameter_count_exercise, lambda i, h, n: sum(p.numel() for p in nn.Linear(i, h).parameters())
     + h * h + h + (n - 1) * h * (2 * h + 2), "a torch layer (nn.Module)"),
    (rnn_step_backward_exercise, autograd_rnn_backward, "autograd"),
    (rnn_step_backward_exercise, backward_method_rnn_backward, "autograd"),
    (rnn_step_backward_exercise, bptt_rnn_backward, "rnnlib.bptt.rnn_step_backward"),
    (gru_step_exercise, gru_cell_answer, "nn.GRUCell"),
    (gru_step_exercise, lambda x, h, w_ih, w_hh, b_ih, b_hh: torch.gru_cell(x, h, w_ih, w_hh, b_ih, b_hh),
     "torch.gru_cell"),
    (gru_step_exercise, lambda x, h, w_ih, w_hh, b_ih, b_hh: cells.gru_step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)[0],
     "rnnlib.cells.gru_step"),
    (gru_lstm_ratio_exercise, lambda v, e, h, o: count_parameters(rnnlib.build_model("gru", vocab_size=v, embed_dim=e,
     hidden_dim=h, output_dim=o)) / count_parameters(rnnlib.build_model("lstm", vocab_size=v, embed_dim=e,
                                                                        hidden_dim=h, output_dim=o)),
     "rnnlib.build_model"),
    (lstm_step_exercise, lstm_cell_answer, "nn.LSTMCell"),
    (lstm_step_exercise, lambda x, h, c, w_ih, w_hh, b_ih, b_hh: torch.lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh),
     "torch.lstm_cell"),
    (lstm_step_exercise, lambda x, h, c, w_ih, w_hh, b_ih, b_hh: cells.lstm_step(F.linear(x, w_ih, b_ih), (h, c), w_hh,
                                                                                 b_hh)[0],
     "rnnlib.cells.lstm_step"),
    (forget_bias_exercise, bisect_forget_bias, "rnnlib.exercises.lstm.kept_fraction"),
    (lstm_step_backward_exercise, autograd_lstm_backward, "autograd"),
    (lstm_step_backward_exercise, lstm_cell_autograd_backward, "nn.LSTMCell"),
    (reverse_within_length_exercise, lambda x, lengths: cells.reverse_within_length(x, lengths),
     "rnnlib.cells.reverse_within_length"),
    (bilstm_readout_exercise, lambda output, lengths: read_last(output, lengths, output.shape[-1] // 2, True),
     "rnnlib.models.read_last"),
    (bilstm_lstm_ratio_exercise, lambda v, e, h, o: count_parameters(rnnlib.build_model("bilstm", vocab_size=v,
     embed_dim=e, hidden_dim=h, output_dim=o)) / count_parameters(rnnlib.build_model("lstm", vocab_size=v,
                                                                                     embed_dim=e, hidden_dim=h,
                                                                                     output_dim=o)),
     "rnnlib.build_model"),
    (per_step_factor_exercise, lambda norms: solutions.per_step_factor(norms),
     "rnnlib.exercises.solutions.per_step_factor"),
]


def test_every_exercise_has_a_delegation_test():
    tested = {exercise.answer_name for exercise, _, _ in DELEGATIONS}
    assert tested == {ex.answer_name for exercises in NOTEBOOK_EXERCISES.values() for ex in exercises}


@pytest.mark.parametrize("exercise, answer, name", DELEGATIONS,
                         ids=[f"{ex.answer_name}-{name}" for ex, _, name in DELEGATIONS])
def test_a_delegating_answer_is_refused_with_what_it_used(exercise, answer, name):
    result = exercise.check(answer)
    assert not result
    assert result.message.startswith("Your function ") and f"`{name}`" in result.message
    assert exercise.delegation_advice and exercise.delegation_advice in result.message


def test_the_message_is_kind_and_precise():
    message = gru_step_exercise.check(gru_cell_answer).message
    assert message.startswith("Your function refers to `nn.GRUCell`, which does the work this exercise asks")
    assert "Write the gate equations r_t, z_t, n_t and h_t yourself" in message


def test_run_time_watch_sees_through_a_helper_the_source_check_cannot_read():
    def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
        cell = getattr(nn, "GRU" + "Cell")(x.shape[1], h.shape[1])  # no name in the source is nn.GRUCell
        with torch.no_grad():
            for p, w in zip(cell.parameters(), (w_ih, w_hh, b_ih, b_hh)):
                p.copy_(w)
            return cell(x, h)

    assert source_uses(gru_step, gru_step_exercise.forbidden) == []
    message = gru_step_exercise.check(gru_step).message
    assert message.startswith("Your function uses `nn.GRUCell`")


def test_source_check_sees_a_branch_that_never_runs():
    def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
        if x.shape[0] > 1000:  # never in the check's cases
            return nn.RNNCell(1, 1)(x, h)
        return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)

    message = rnn_step_exercise.check(rnn_step).message
    assert message.startswith("Your function refers to `nn.RNNCell`")


def test_source_check_resolves_imports_inside_the_function():
    def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
        from rnnlib.cells import rnn_step as library_step

        return library_step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)

    assert "`rnnlib.cells.rnn_step`" in rnn_step_exercise.check(rnn_step).message


def test_comments_strings_and_own_names_are_not_delegation():
    def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
        """Like nn.GRUCell, but written out."""
        # nn.GRUCell would do this in one call
        x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
        h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        return (1 - z) * torch.tanh(x_n + r * h_n) + z * h

    assert gru_step_exercise.check(gru_step)


def test_the_watch_puts_back_a_profiler_and_records_nothing_outside():
    def mine(frame, event, arg):
        pass

    sys.setprofile(mine)
    try:
        with watching(gru_step_exercise.forbidden) as used:
            pass
        assert sys.getprofile() is mine and used == []
    finally:
        sys.setprofile(None)
    nn.GRUCell(2, 3)  # outside a check: nothing is watched, nothing fails
    assert gru_step_exercise.check(gru_cell_answer).message.startswith("Your function refers to `nn.GRUCell`")
    assert sys.getprofile() is None


# ---- constant answers ------------------------------------------------------------------------------------

CONSTANTS = [
    (rnn_parameter_count_exercise, lambda i, h, n: 44, "input_size, hidden_size and num_layers"),  # right at first
    (gru_lstm_ratio_exercise, lambda v, e, h, o: 0.75, "the sizes"),
    (forget_bias_exercise, lambda steps, keep: 2.1972245773362196, "steps and keep"),  # right for (1, 0.9)
    (bilstm_lstm_ratio_exercise, lambda v, e, h, o: 2.0, "the sizes"),
    (per_step_factor_exercise, lambda norms: 0.6, "the norms"),
]


@pytest.mark.parametrize("exercise, answer, inputs", CONSTANTS, ids=[ex.answer_name for ex, _, _ in CONSTANTS])
def test_a_constant_answer_fails_and_is_named(exercise, answer, inputs):
    result = exercise.check(answer)
    assert not result
    assert f"whatever {inputs} are, while the right answer changes with them" in result.message


def test_every_numeric_exercise_has_a_constant_test():
    numeric = {"rnn_parameter_count", "gru_lstm_ratio", "forget_bias", "bilstm_lstm_ratio", "per_step_factor"}
    assert {ex.answer_name for ex, _, _ in CONSTANTS} == numeric


@pytest.mark.parametrize("exercise, answer, name", DELEGATIONS,
                         ids=[f"{ex.answer_name}-{name}" for ex, _, name in DELEGATIONS])
def test_without_the_delegation_checks_each_delegation_would_pass(exercise, answer, name, monkeypatch):
    """So the refusal above comes from the delegation checks, not from a wrong number."""
    from contextlib import contextmanager

    from rnnlib.exercises import delegation

    @contextmanager
    def blind(forbidden):
        yield []

    monkeypatch.setattr(delegation, "watching", blind)
    monkeypatch.setattr(delegation, "source_uses", lambda function, forbidden: [])
    assert exercise.check(answer), name
