"""The notebooks' self-checking exercises: right answers pass, known mistakes are named, nothing crashes."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rnnlib.exercises import (
    NOTEBOOK_EXERCISES,
    CheckResult,
    bilstm_lstm_ratio_exercise,
    bilstm_readout_exercise,
    forget_bias_exercise,
    framework,
    gru_lstm_ratio_exercise,
    gru_step_exercise,
    lstm_step_backward_exercise,
    lstm_step_exercise,
    per_step_factor_exercise,
    reverse_within_length_exercise,
    rnn_parameter_count_exercise,
    rnn_step_backward_exercise,
    rnn_step_exercise,
)

EXERCISES = [ex for exercises in NOTEBOOK_EXERCISES.values() for ex in exercises]
IDS = [ex.answer_name for ex in EXERCISES]


def shown_solution(exercise):
    """The function defined by the code ``solution()`` shows, run in an empty namespace."""
    namespace = {}
    exec(exercise.solution_source, namespace)
    return namespace[exercise.answer_name]


#: the model answers as a learner would type them (calling rnnlib.exercises.solutions itself is delegation)
S = SimpleNamespace(**{ex.answer_name: shown_solution(ex) for ex in EXERCISES})


# ---------------------------------------------------------------------------------------------------------------
# every exercise


def test_every_notebook_has_at_least_two_exercises():
    assert list(NOTEBOOK_EXERCISES) == ["01_vanilla_rnn", "02_gru", "03_lstm", "04_bilstm", "05_comparison"]
    assert all(len(exercises) >= 2 for exercises in NOTEBOOK_EXERCISES.values())


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_shown_solution_passes_its_own_check(exercise, capsys):
    result = exercise.check(shown_solution(exercise))
    assert result and result == True  # noqa: E712 (CheckResult compares equal to the bool)
    assert capsys.readouterr().out.startswith("Correct: ")


def test_shown_solutions_import_what_they_use_and_nothing_else():
    sources = {ex.answer_name: ex.solution_source for ex in EXERCISES}
    assert sources["rnn_step"].startswith("import torch\n\n\ndef rnn_step(")
    assert sources["forget_bias"].startswith("import math\n\n\ndef forget_bias(")
    assert sources["rnn_step_backward"].startswith("def rnn_step_backward(")  # tensor methods only


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_texts_and_displays_outside_jupyter(exercise, capsys):
    assert exercise.answer_name and exercise.title and 1 <= len(exercise.hints) <= 3
    assert f"`{exercise.answer_name}(" in exercise.prompt
    for n in range(1, len(exercise.hints) + 1):
        exercise.hint(n)
        assert capsys.readouterr().out.startswith("Hint: " + exercise.hints[n - 1])
    exercise.solution()
    assert f"def {exercise.answer_name}(" in capsys.readouterr().out
    exercise.show()
    assert exercise.title in capsys.readouterr().out
    assert exercise.title in exercise._repr_markdown_()
    with pytest.raises(ValueError, match="n must be an integer in"):
        exercise.hint(len(exercise.hints) + 1)
    with pytest.raises(ValueError, match="n must be an integer in"):
        exercise.hint(0)


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_an_answer_that_raises_gets_a_message_not_a_traceback(exercise, capsys):
    def broken(*args):
        return 1 / 0

    result = exercise.check(broken)
    assert not result and result == False  # noqa: E712
    assert "Your function raised `ZeroDivisionError: division by zero`" in result.message
    assert "The failing line: `return 1 / 0`" in result.message
    assert "Traceback" not in capsys.readouterr().out


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_an_answer_that_returns_nothing(exercise):
    result = exercise.check(lambda *args: None)
    assert not result
    assert "forget to `return`" in result.message or "Return the tuple" in result.message


def test_check_finds_the_learners_function_by_name():
    def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
        return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)

    assert rnn_step_exercise.check()
    del rnn_step
    result = rnn_step_exercise.check()
    assert not result and "can't find a function called `rnn_step`" in result.message


def test_check_refuses_a_called_function():
    result = rnn_step_exercise.check(42)
    assert not result and "Pass your function itself" in result.message


def test_check_leaves_the_learners_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for exercise in EXERCISES:
        exercise.check(shown_solution(exercise))
    assert torch.equal(torch.rand(3), expected)


def test_an_answer_that_modifies_its_inputs_in_place_is_checked_fairly():
    def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
        h_t = torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        x.zero_()  # vandalism that must not change what the check compares with
        return h_t

    assert rnn_step_exercise.check(rnn_step)


def test_check_result_behaves_like_a_bool_and_shows_nothing_itself():
    right, wrong = CheckResult(True, "fine"), CheckResult(False, "not fine")
    assert right and not wrong
    assert right == True and wrong == False and right != wrong  # noqa: E712
    assert repr(right) == "True" and right.message == "fine"
    assert right._ipython_display_() is None


def test_in_jupyter_messages_are_coloured_markdown(monkeypatch, capsys):
    from IPython import display as ipython_display

    shown = []
    monkeypatch.setattr(framework, "in_notebook", lambda: True)
    monkeypatch.setattr(ipython_display, "display", shown.append)
    rnn_step_exercise.check(S.rnn_step)
    rnn_step_exercise.check(lambda *a: None)
    rnn_step_exercise.solution()
    texts = [m.data for m in shown]
    assert isinstance(shown[0], ipython_display.Markdown)
    assert texts[0].startswith('<span style="color:#2e7d32">**Correct:**</span>')
    assert texts[1].startswith('<span style="color:#c62828">**Not yet:**</span>')
    assert "```python\nimport torch\n\n\ndef rnn_step(" in texts[2]
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------------------------------------------------
# notebook 01


def test_rnn_step_mistakes_are_named():
    def no_b_hh(x, h, w_ih, w_hh, b_ih, b_hh):
        return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T)

    def untransposed_w_hh(x, h, w_ih, w_hh, b_ih, b_hh):
        return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh + b_hh)

    def untransposed_w_ih(x, h, w_ih, w_hh, b_ih, b_hh):
        return torch.tanh(x @ w_ih + b_ih + h @ w_hh.T + b_hh)

    def no_tanh(x, h, w_ih, w_hh, b_ih, b_hh):
        return x @ w_ih.T + b_ih + h @ w_hh.T + b_hh

    assert "leaves out `b_hh`" in rnn_step_exercise.check(no_b_hh).message
    message = rnn_step_exercise.check(untransposed_w_hh).message
    assert "uses `h @ w_hh` where nn.RNNCell computes `h @ w_hh.T`" in message
    message = rnn_step_exercise.check(untransposed_w_ih).message
    assert "raised `RuntimeError: mat1 and mat2 shapes cannot be multiplied" in message and "x @ W.T" in message
    assert "missing the tanh" in rnn_step_exercise.check(no_tanh).message


def test_rnn_step_unknown_mistake_says_by_how_much_and_where():
    message = rnn_step_exercise.check(lambda *a: S.rnn_step(*a) * 1.01).message
    assert message.startswith("Your h_t differs from nn.RNNCell's by 0.00")
    assert "at batch " in message and ", unit " in message and "(case: batch=3, input_size=5" in message


def test_rnn_step_wrong_shapes_and_types():
    transposed = rnn_step_exercise.check(lambda *a: S.rnn_step(*a).T).message
    assert "has shape (4, 3); expected (3, 4) = (batch, unit)" in transposed and "transposed shape" in transposed
    numpy_answer = rnn_step_exercise.check(lambda *a: S.rnn_step(*a).numpy()).message
    assert "should be a torch.Tensor of shape (3, 4)" in numpy_answer
    nan = rnn_step_exercise.check(lambda *a: S.rnn_step(*a) * float("nan")).message
    assert "NaN" in nan


def test_rnn_parameter_count():
    check = rnn_parameter_count_exercise.check
    assert check(lambda i, h, n: h * (i + h + 2) + (n - 1) * h * (2 * h + 2))
    one_bias = check(lambda i, h, n: n * (h * i + h * h + h)).message
    assert "your count is 40; nn.RNN(5, 4, 1) has 44" in one_bias and "one bias vector" in one_bias
    assert "W_hh" in check(lambda i, h, n: h * i + 2 * h).message
    assert "should be a number" in check(lambda i, h, n: "44").message
    every_layer_reads_x = check(lambda i, h, n: n * h * (i + h + 2)).message
    assert "nn.RNN(5, 4, 3) has 124" in every_layer_reads_x and "Only layer 1 reads x_t" in every_layer_reads_x
    assert "That is one layer: num_layers=3 stacks 3" in check(lambda i, h, n: h * (i + h + 2)).message


def _backward_with(**replace):
    """The right backward step with some of its four gradients replaced by functions of the inputs."""

    def answer(dh_t, h_t, h_prev, x_t, w_hh):
        grads = dict(zip(("dw_ih", "dw_hh", "db", "dh_prev"), S.rnn_step_backward(dh_t, h_t, h_prev, x_t, w_hh)))
        da = dh_t * (1 - h_t**2)
        for name, wrong in replace.items():
            grads[name] = wrong(dh_t=dh_t, h_t=h_t, h_prev=h_prev, x_t=x_t, w_hh=w_hh, da=da)
        return tuple(grads.values())

    return answer


def test_rnn_step_backward_names_the_wrong_gradient():
    message = rnn_step_backward_exercise.check(_backward_with(dw_hh=lambda dh_t, h_prev, **_: dh_t.T @ h_prev)).message
    assert message.startswith("Your dw_hh forgets the factor tanh'(a_t) = 1 − h_t²")
    assert "(dw_ih, db and dh_prev are right.)" in message

    message = rnn_step_backward_exercise.check(_backward_with(dh_prev=lambda da, w_hh, **_: da @ w_hh.T)).message
    assert message.startswith("Your dh_prev multiplies by W_hhᵀ") and "(dw_ih, dw_hh and db are right.)" in message

    message = rnn_step_backward_exercise.check(_backward_with(db=lambda da, **_: da)).message
    assert "Your db has shape (batch, H)" in message and "sum over the batch" in message

    message = rnn_step_backward_exercise.check(_backward_with(dw_ih=lambda da, x_t, **_: x_t.T @ da)).message
    assert "Your dw_ih has shape (5, 4); expected (4, 5)" in message and "transposed shape" in message

    message = rnn_step_backward_exercise.check(_backward_with(dw_hh=lambda da, h_t, **_: da.T @ h_t)).message
    assert "uses h_t where h_prev belongs" in message


def test_rnn_step_backward_unknown_mistake_reports_each_gradient():
    scaled = rnn_step_backward_exercise.check(_backward_with(dw_ih=lambda da, x_t, **_: 1.5 * da.T @ x_t)).message
    assert scaled.startswith("Your dw_ih differs from autograd's by ")
    assert "at hidden unit " in scaled and "(dw_hh, db and dh_prev are right.)" in scaled
    three = rnn_step_backward_exercise.check(lambda *a: S.rnn_step_backward(*a)[:3]).message
    assert "Return the tuple `(dw_ih, dw_hh, db, dh_prev)`; your function returned 3 values" in three


# ---------------------------------------------------------------------------------------------------------------
# notebook 02


def _gru(order="rzn", reset="torch", keep="torch", bias_inside=True):
    """A GRU step written with one of the common misreadings."""

    def answer(x, h, w_ih, w_hh, b_ih, b_hh):
        xs = dict(zip(order, (x @ w_ih.T + b_ih).chunk(3, dim=1)))
        w_h, b_h = dict(zip(order, w_hh.chunk(3))), dict(zip(order, b_hh.chunk(3)))
        r = torch.sigmoid(xs["r"] + h @ w_h["r"].T + b_h["r"])
        z = torch.sigmoid(xs["z"] + h @ w_h["z"].T + b_h["z"])
        if reset == "torch":
            inside = h @ w_h["n"].T + (b_h["n"] if bias_inside else 0)
            n = torch.tanh(xs["n"] + r * inside + (0 if bias_inside else b_h["n"]))
        else:
            n = torch.tanh(xs["n"] + (r * h) @ w_h["n"].T + b_h["n"])
        return (1 - z) * n + z * h if keep == "torch" else (1 - z) * h + z * n

    return answer


def test_gru_step_mistakes_are_named():
    assert gru_step_exercise.check(_gru())
    assert "Cho et al. 2014" in gru_step_exercise.check(_gru(reset="cho", keep="cho")).message
    message = gru_step_exercise.check(_gru(reset="cho")).message
    assert message.startswith("Check the reset gate r_t: PyTorch applies it to (W_hn h + b_hn), after the product")
    assert "leaves b_hn outside" in gru_step_exercise.check(_gru(bias_inside=False)).message
    assert "z_t plays the opposite role" in gru_step_exercise.check(_gru(keep="cho")).message
    assert "order z, r, n" in gru_step_exercise.check(_gru(order="zrn")).message


def test_gru_step_unknown_mistake_points_at_the_reset_gate():
    message = gru_step_exercise.check(lambda *a: S.gru_step(*a) + 0.1).message
    assert message.startswith("Your h_t differs from nn.GRUCell's by 0.1 at batch ")
    assert "Check the reset gate r_t" in message


def _classifier_counts(v, e, h, o):
    embedding, block, fc = v * e, h * (e + h + 2), (h + 1) * o
    return embedding, block, fc


def test_gru_lstm_ratio_counts_the_whole_classifier():
    check = gru_lstm_ratio_exercise.check

    def classifier(gru_blocks, lstm_blocks, embedding=True, head=True):
        def ratio(v, e, h, o):
            rest = v * e * embedding + (h + 1) * o * head
            return (rest + gru_blocks * h * (e + h + 2)) / (rest + lstm_blocks * h * (e + h + 2))

        return ratio

    assert check(classifier(3, 4))
    recurrent_only = check(lambda v, e, h, o: 0.75).message  # the old answer, a constant
    assert "3/4 is the ratio of the recurrent layers alone" in recurrent_only
    assert "returns 0.75 whatever the sizes are" in recurrent_only
    no_embedding = check(classifier(3, 4, embedding=False))
    assert "left out the embedding" in no_embedding.message
    no_head = check(classifier(3, 4, head=False))
    assert "left out the output layer" in no_head.message
    inverse = check(classifier(4, 3))
    assert "LSTM / GRU" in inverse.message
    assert "counts the gates" in check(lambda v, e, h, o: 2 / 3).message
    generic = check(lambda v, e, h, o: 0.7).message
    assert "the GRU classifier has 1682 parameters (embedding 400, GRU 1248, output layer 34)" in generic


# ---------------------------------------------------------------------------------------------------------------
# notebook 03


def _lstm(order="ifgo", h_from=lambda o, c_new, c_old: o * torch.tanh(c_new)):
    def answer(x, h, c, w_ih, w_hh, b_ih, b_hh):
        gates = dict(zip(order, (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)))
        i, f, g, o = (torch.sigmoid(gates["i"]), torch.sigmoid(gates["f"]), torch.tanh(gates["g"]),
                      torch.sigmoid(gates["o"]))
        c_t = f * c + i * g
        return h_from(o, c_t, c), c_t

    return answer


def test_lstm_step_tells_h_from_c():
    assert lstm_step_exercise.check(_lstm())
    message = lstm_step_exercise.check(_lstm(order="figo")).message
    assert message.startswith("Your c_t reads the gate blocks in the order f, i, g, o") and "fix c_t first" in message
    assert "order i, f, o, g" in lstm_step_exercise.check(_lstm(order="ifog")).message
    message = lstm_step_exercise.check(_lstm(h_from=lambda o, c_new, c_old: o * c_new)).message
    assert message.startswith("Your c_t is right. Your h_t leaves out the tanh")
    assert "old cell" in lstm_step_exercise.check(_lstm(h_from=lambda o, c_new, c_old: o * torch.tanh(c_old))).message
    generic = lstm_step_exercise.check(lambda *a: (S.lstm_step(*a)[0] * 1.1, S.lstm_step(*a)[1])).message
    assert generic.startswith("Your c_t is right. Your h_t differs from nn.LSTMCell's by ")


def test_lstm_step_wrong_return_values():
    assert "You returned `(c_t, h_t)`" in lstm_step_exercise.check(lambda *a: S.lstm_step(*a)[::-1]).message
    message = lstm_step_exercise.check(lambda *a: S.lstm_step(*a)[0]).message
    assert "Return the tuple `(h_t, c_t)`; your function returned a Tensor" in message


def test_forget_bias():
    message = forget_bias_exercise.check(lambda steps, keep: math.log(keep / (1 - keep))).message
    assert "You solved σ(b) = 0.01 for a single step" in message and "(case: steps=50, keep=0.01)" in message
    assert "gate value f itself" in forget_bias_exercise.check(lambda steps, keep: keep ** (1 / steps)).message
    assert "not the smallest" in forget_bias_exercise.check(lambda steps, keep: 10.0).message
    message = forget_bias_exercise.check(lambda steps, keep: 0).message
    assert message.startswith("With b = 0 the forget gate is σ(b) = 0.5, and after 1 step the cell keeps 0.5")
    rounded = forget_bias_exercise.check(lambda steps, keep: round(S.forget_bias(steps, keep), 2)).message
    assert "unrounded" in rounded
    assert not forget_bias_exercise.check(lambda steps, keep: -1e6)  # no overflow


def test_kept_fraction_measures_sigma_to_the_power_steps():
    from rnnlib.exercises.lstm import kept_fraction

    for bias, steps in ((0.0, 1), (3.0, 50), (-1.0, 7)):
        assert kept_fraction(bias, steps) == pytest.approx(torch.sigmoid(torch.tensor(bias)).item() ** steps, rel=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# notebook 04


def test_reverse_within_length():
    def zeroed_padding(x, lengths):
        out = torch.zeros_like(x)
        for b, length in enumerate(lengths.tolist()):
            out[b, :length] = x[b, :length].flip(0)
        return out

    assert "flipped the whole padded time axis" in reverse_within_length_exercise.check(lambda x, n: x.flip(1)).message
    assert "Your padding changed" in reverse_within_length_exercise.check(zeroed_padding).message
    message = reverse_within_length_exercise.check(lambda x, n: x).message
    assert message.startswith("Your result differs from the right reversal by ") and ", step " in message


def _readout(forward_at, backward_at):
    def answer(output, lengths):
        hidden = output.shape[-1] // 2
        rows = torch.arange(output.shape[0])
        index = {"last": lengths - 1, "end": torch.full_like(lengths, output.shape[1] - 1),
                 "first": torch.zeros_like(lengths)}
        return torch.cat([output[rows, index[forward_at], :hidden], output[rows, index[backward_at], hidden:]], 1)

    return answer


def test_bilstm_readout_catches_the_padding_trap():
    assert bilstm_readout_exercise.check(_readout("last", "first"))
    message = bilstm_readout_exercise.check(_readout("end", "first")).message
    assert message.startswith("Your forward half reads position 4, the padded end")
    assert "backward half is right" in message
    message = bilstm_readout_exercise.check(lambda output, lengths: output[:, -1]).message
    assert "forward half reads position 4" in message and "backward direction *starts* at the end" in message
    message = bilstm_readout_exercise.check(_readout("last", "last")).message
    assert "backward half reads position lengths − 1" in message and "forward half is right" in message
    swapped = bilstm_readout_exercise.check(lambda o, n: S.bilstm_readout(o, n).roll(o.shape[-1] // 2, 1)).message
    assert "halves are swapped" in swapped
    assert "expected (3, 10)" in bilstm_readout_exercise.check(lambda o, n: S.bilstm_readout(o, n)[:, :5]).message


def test_bilstm_readout_reference_is_rnnlibs_read_last():
    from rnnlib.exercises.bilstm import CASES, packed_bilstm, padded_case
    from rnnlib.models import read_last

    seed, lengths, size = CASES[0]
    x, lengths, _ = padded_case(seed, lengths, size)
    output, expected = packed_bilstm(x, lengths, 5, seed)
    assert torch.allclose(read_last(output, lengths, 5, True), expected, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# notebook 05


def test_bilstm_lstm_ratio():
    assert "recurrent layers alone" in bilstm_lstm_ratio_exercise.check(lambda v, e, h, o: 2).message

    def no_embedding(v, e, h, o):
        lstm = 4 * h * (e + h + 2)
        return (2 * lstm + (2 * h + 1) * o) / (lstm + (h + 1) * o)

    def fc_not_doubled(v, e, h, o):
        lstm = 4 * h * (e + h + 2)
        return (v * e + 2 * lstm + (h + 1) * o) / (v * e + lstm + (h + 1) * o)

    assert "left out the embedding" in bilstm_lstm_ratio_exercise.check(no_embedding).message
    assert "2 × hidden_dim features" in bilstm_lstm_ratio_exercise.check(fc_not_doubled).message
    message = bilstm_lstm_ratio_exercise.check(lambda *a: 1.5).message
    assert "the BiLSTM has 3794 parameters (embedding 400, LSTM 3328, output layer 66)" in message


def test_per_step_factor():
    check = per_step_factor_exercise.check
    assert check(lambda norms: np.float64(S.per_step_factor(norms)))
    assert check(lambda norms: (norms[:1] / norms[-1:]) ** (1 / (len(norms) - 1)))  # a one-element tensor is fine
    assert "whole decay ratio" in check(lambda norms: norms[0] / norms[-1]).message
    assert "Off by one" in check(lambda norms: (norms[0] / norms[-1]) ** (1 / len(norms))).message
    assert "1/ρ" in check(lambda norms: (norms[-1] / norms[0]) ** (1 / (len(norms) - 1))).message
    assert "geometric mean" in check(lambda norms: (norms[:-1] / norms[1:]).mean()).message
    assert "should be one number" in check(lambda norms: norms[:2]).message


def _lstm_backward(*, c_path=True, order=(0, 1, 2, 3), f_in_dc_prev=True, db_factor=1):
    """The model answer with one slip switched on."""

    def answer(dh_t, dc_t, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
        blocks = (x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh).chunk(4, dim=1)
        i, f, g, o = (blocks[k] for k in order)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        tanh_c = torch.tanh(f * c_prev + i * g)
        dc = dc_t + dh_t * o * (1 - tanh_c**2) * c_path
        parts = {0: dc * g * i * (1 - i), 1: dc * c_prev * f * (1 - f), 2: dc * i * (1 - g**2),
                 3: dh_t * tanh_c * o * (1 - o)}
        da = torch.cat([parts[order.index(k)] for k in range(4)], dim=1)
        dc_prev = dc * f if f_in_dc_prev else dc
        return da @ w_ih, da @ w_hh, dc_prev, da.T @ x, da.T @ h_prev, db_factor * da.sum(0)

    return answer


def test_lstm_step_backward_right_and_mistakes():
    check = lstm_step_backward_exercise.check
    assert check(_lstm_backward())
    assert "misses the path from h_t into c_t" in check(_lstm_backward(c_path=False)).message
    assert "order f, i, g, o" in check(_lstm_backward(order=(1, 0, 2, 3))).message
    assert "order i, f, o, g" in check(_lstm_backward(order=(0, 1, 3, 2))).message
    no_f = check(_lstm_backward(f_in_dc_prev=False)).message
    assert "dc_prev forgets the forget gate" in no_f and "dx, dh_prev, dw_ih, dw_hh and db are right" in no_f
    twice = check(_lstm_backward(db_factor=2)).message
    assert "db is twice the right one" in twice and "dx, dh_prev, dc_prev, dw_ih and dw_hh are right" in twice
    five = check(lambda *a: _lstm_backward()(*a)[:5]).message
    assert "Return the tuple `(dx, dh_prev, dc_prev, dw_ih, dw_hh, db)`" in five
    generic = check(lambda *a: tuple(t * 1.1 for t in _lstm_backward()(*a))).message
    assert "differs from autograd's by" in generic and "(case: batch=3, input_size=5, hidden_size=4, seed=0)" in generic


def test_lstm_step_backward_solution_is_hidden_until_asked(capsys):
    assert "def lstm_step_backward" not in lstm_step_backward_exercise._repr_markdown_()
    lstm_step_backward_exercise.hint(1)
    assert "def " not in capsys.readouterr().out
