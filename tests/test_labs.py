"""The labs' data functions: measured numbers behave as theory says, clipping is honest, runs repeat,
and every bad argument is refused with a message."""

import numpy as np
import pytest
import torch

from rnnlib import build_model, labs
from rnnlib.data import NEGATIVE_WORDS, POSITIVE_WORDS
from rnnlib.diagnostics import hidden_grad_norms
from rnnlib.training import fit, loss_and_metric

SMALL = dict(hidden_dim=8, seq_len=12, batch_size=4)


@pytest.mark.parametrize("arch", labs.ARCHS)
def test_grad_flow_measures_one_finite_positive_norm_per_step(arch):
    result = labs.grad_flow(arch, **SMALL)
    assert result.norms.shape == (SMALL["seq_len"],)
    assert result.norms.dtype == np.float64
    assert np.all(np.isfinite(result.norms)) and np.all(result.norms > 0)
    assert result.decay_ratio == pytest.approx(result.norms[0] / result.norms[-1])
    assert 0 <= result.memory_span <= SMALL["seq_len"] - 1
    assert result.clip_scale == 1.0 and result.grad_norm > 0
    assert 0.0 <= result.accuracy <= 1.0
    assert result.settings["arch"] == arch and result.label.startswith(("RNN", "GRU", "LSTM", "BiLSTM"))


def test_probe_sentences_put_the_deciding_word_first_and_fill_every_step():
    task, probe = labs.long_range_probe(20, seed=3, batch_size=6)
    assert probe.x.shape == (6, 20) and bool((probe.lengths == 20).all())
    sentiment = set(task.vocab.encode(" ".join(POSITIVE_WORDS + NEGATIVE_WORDS)))
    for row, label in zip(probe.x.tolist(), probe.y.tolist()):
        assert row[0] in sentiment and not sentiment & set(row[1:])  # one deciding word, at t = 1
        assert (task.vocab.itos[row[0]] in POSITIVE_WORDS) == bool(label)


def test_the_norms_are_the_diagnostic_of_the_models_own_loss():
    """Rebuild the lab's model independently and measure with the diagnostic: same curve, same ‖g‖."""
    result = labs.grad_flow("gru", **SMALL, spectral_radius=1.2, seed=5)
    task, probe = labs.long_range_probe(SMALL["seq_len"], 5, SMALL["batch_size"])
    torch.manual_seed(5)
    model = build_model("gru", hidden_dim=8, embed_dim=labs.EMBED_DIM, spectral_radius=1.2, **task.model_kwargs())
    np.testing.assert_allclose(result.norms, hidden_grad_norms(model, probe.x, probe.y).numpy(), rtol=1e-12)
    loss, _ = loss_and_metric(model(probe.x), probe.y)
    loss.backward()
    total = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
    assert result.grad_norm == pytest.approx(float(total), rel=1e-5)
    assert result.loss == pytest.approx(loss.item(), rel=1e-6)


def test_clipping_leaves_the_gradient_through_time_alone_and_scales_the_update():
    free = labs.grad_flow("rnn", **SMALL, spectral_radius=2.5)
    clipped = labs.grad_flow("rnn", **SMALL, spectral_radius=2.5, max_norm=0.05)
    np.testing.assert_array_equal(free.norms, clipped.norms)
    assert clipped.grad_norm == free.grad_norm > 0.05
    # independent check: what clip_grad_norm_ does to the same gradient
    task, probe = labs.long_range_probe(SMALL["seq_len"], 0, SMALL["batch_size"])
    torch.manual_seed(0)
    model = build_model("rnn", hidden_dim=8, embed_dim=labs.EMBED_DIM, spectral_radius=2.5, **task.model_kwargs())
    loss_and_metric(model(probe.x), probe.y)[0].backward()
    before = float(torch.nn.utils.clip_grad_norm_(list(model.parameters()), 0.05))
    after = float(torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())))
    assert clipped.grad_norm == pytest.approx(before, rel=1e-5)
    assert clipped.clip_scale == pytest.approx(after / before, rel=1e-4)
    assert after == pytest.approx(0.05, rel=1e-4)


def test_smaller_spectral_radius_vanishes_faster():
    ratios = {r: labs.grad_flow("rnn", hidden_dim=32, seq_len=30, spectral_radius=r).decay_ratio
              for r in (0.5, 1.0, 1.5)}
    assert ratios[0.5] < 1e-6 * ratios[1.0]
    assert ratios[1.0] < ratios[1.5]
    assert ratios[0.5] < 1e-6  # vanished: the first step gets nothing useful


def test_forget_gate_bias_keeps_the_lstm_gradient_alive():
    default = labs.grad_flow("lstm", hidden_dim=32, seq_len=30)
    biased = labs.grad_flow("lstm", hidden_dim=32, seq_len=30, forget_bias=4.0)
    assert default.decay_ratio < 1e-6  # an untrained LSTM vanishes too: its forget gate sits near 0.5
    assert biased.decay_ratio > 1e4 * default.decay_ratio
    assert biased.memory_span > default.memory_span


def test_same_seed_same_numbers_and_no_global_random_state_touched():
    labs.clear_caches()
    state = torch.get_rng_state()
    first = labs.grad_flow("lstm", **SMALL, seed=7)
    assert torch.equal(state, torch.get_rng_state())
    labs.clear_caches()
    again = labs.grad_flow("lstm", **SMALL, seed=7)
    other = labs.grad_flow("lstm", **SMALL, seed=8)
    np.testing.assert_array_equal(first.norms, again.norms)
    assert not np.array_equal(first.norms, other.norms)


def test_training_in_cached_chunks_gives_the_same_model_as_training_at_once():
    settings = dict(arch="lstm", forget_bias=2.0, **SMALL)
    labs.clear_caches()
    stepwise = [labs.grad_flow(**settings, train_steps=n) for n in (50, 70)]  # 70 resumes from 50
    labs.clear_caches()
    direct = labs.grad_flow(**settings, train_steps=70)
    np.testing.assert_array_equal(stepwise[1].norms, direct.norms)
    untrained = labs.grad_flow(**settings)
    assert not np.array_equal(untrained.norms, direct.norms)
    assert not np.array_equal(stepwise[0].norms, direct.norms)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(arch="transformer"), "arch"),
        (dict(hidden_dim=3), "hidden_dim"),
        (dict(hidden_dim=257), "hidden_dim"),
        (dict(seq_len=4), "seq_len"),
        (dict(seq_len=201), "seq_len"),
        (dict(spectral_radius=0.0), "spectral_radius"),
        (dict(spectral_radius=3.5), "spectral_radius"),
        (dict(arch="lstm", forget_bias=float("nan")), "forget_bias"),
        (dict(arch="rnn", forget_bias=1.0), "forget_bias"),
        (dict(max_norm=0.0), "max_norm"),
        (dict(seed=-1), "seed"),
        (dict(batch_size=0), "batch_size"),
        (dict(train_steps=-1), "train_steps"),
        (dict(train_steps=1001), "train_steps"),
        (dict(hidden_dim=8.5), "hidden_dim"),
    ],
)
def test_grad_flow_rejects_bad_arguments_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        labs.grad_flow(**kwargs)


def test_clipping_run_without_clipping_explodes_and_says_what_to_do():
    run = labs.clipping_run(None, spectral_radius=2.5)
    assert run.diverged and run.diverged_at == run.history.steps + 1
    assert run.history.steps >= 5  # it ran a while before blowing up: the plot shows the climb
    assert "clipping" in run.message and "diverged" in run.message
    values = run.history.step_loss + run.history.step_grad_norm
    assert np.all(np.isfinite(values))  # never a NaN to plot
    assert max(run.history.step_grad_norm) > 100 * run.history.step_grad_norm[0]


def test_clipping_run_with_clipping_stays_finite_and_caps_every_update():
    run = labs.clipping_run(1.0, spectral_radius=2.5)
    assert not run.diverged and run.message is None
    assert run.history.steps == run.settings["steps"] == 100
    assert np.all(np.isfinite(run.history.step_loss))
    assert max(run.history.step_grad_norm_clipped) <= 1.0 + 1e-6
    assert any(run.history.clipped)
    assert run.label == "clip at max_norm=1"
    np.testing.assert_array_equal(labs.clipping_run(1.0).history.step_loss, run.history.step_loss)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [(dict(max_norm=-1.0), "max_norm"), (dict(spectral_radius=0), "spectral_radius"), (dict(lr=2.0), "lr"),
     (dict(steps=5), "steps"), (dict(seq_len=1), "seq_len"), (dict(hidden_dim=0), "hidden_dim"),
     (dict(batch_size=100), "batch_size")],
)
def test_clipping_run_rejects_bad_arguments_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        labs.clipping_run(**kwargs)


@pytest.mark.parametrize(("arch", "gates"), [("lstm", {"i", "f", "g", "o", "c"}), ("gru", {"r", "z", "n"})])
def test_sentence_gates_gives_one_row_per_word(arch, gates):
    result = labs.sentence_gates(arch, "The movie was GREAT, zorblax!", hidden_dim=6)
    assert result.tokens == ["the", "movie", "was", "great", "<unk>"]
    assert result.unknown == ["zorblax"]
    assert set(result.gates) == gates
    for name, values in result.gates.items():
        assert values.shape == (5, 6)
        if name in ("i", "f", "o", "r", "z"):
            assert np.all((values > 0) & (values < 1))
    assert result.test_accuracy > 0.9  # the trained model works, so its gates are worth reading
    assert result.positive > 0.5


def test_sentence_gates_untrained_and_biased():
    untrained = labs.sentence_gates("lstm", "the film was bad", trained=False, hidden_dim=6)
    biased = labs.sentence_gates("lstm", "the film was bad", trained=False, forget_bias=4.0, hidden_dim=6)
    assert untrained.gates["f"].mean() < 0.7 < biased.gates["f"].mean()  # σ(4) ≈ 0.98 before training


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [(dict(arch="rnn"), "arch"), (dict(sentence=""), "sentence"), (dict(sentence="a " * 51), "sentence"),
     (dict(sentence=3), "sentence"), (dict(trained="yes"), "trained"), (dict(forget_bias=99.0), "forget_bias"),
     (dict(hidden_dim=1), "hidden_dim")],
)
def test_sentence_gates_rejects_bad_arguments_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        labs.sentence_gates(**kwargs)


def test_results_do_not_share_state_with_the_cache():
    first = labs.grad_flow("rnn", **SMALL)
    first.norms[:] = 0  # a learner editing a result changes nothing the next call returns
    assert np.all(labs.grad_flow("rnn", **SMALL).norms > 0)


def test_clipping_runs_are_cached_per_setting_and_judged_on_learning(monkeypatch):
    labs.clear_caches()
    trained = []
    monkeypatch.setattr(labs, "fit", lambda *args, **kwargs: trained.append(1) or fit(*args, **kwargs))
    first = labs.clipping_run(1.0, steps=40)
    first.history.step_loss[:] = [0.0] * len(first.history.step_loss)  # a learner editing a result
    again = labs.clipping_run(1.0, steps=40)
    assert len(trained) == 1 and all(loss > 0 for loss in again.history.step_loss)  # cached, not shared
    losses = again.history.step_loss[-labs.FINAL_LOSS_STEPS:]
    assert again.final_loss == pytest.approx(sum(losses) / len(losses))
    assert again.learned == (again.final_loss < labs.ADDING_BASELINE_MSE)
    exploded = labs.clipping_run(None)
    assert exploded.diverged and not exploded.learned  # a diverged run never counts as learning


def test_a_shorter_clipping_run_is_the_start_of_a_longer_one_and_a_longer_one_continues_it(monkeypatch):
    small = dict(seq_len=8, hidden_dim=8, batch_size=4)
    labs.clear_caches()
    fresh = labs.clipping_run(1.0, steps=60, **small)
    labs.clear_caches()
    trained = []
    monkeypatch.setattr(labs, "fit", lambda *args, **kwargs: trained.append(len(args[1])) or fit(*args, **kwargs))
    first = labs.clipping_run(1.0, steps=20, **small)
    longer = labs.clipping_run(1.0, steps=60, **small)  # continues the 20 steps
    shorter = labs.clipping_run(1.0, steps=30, **small)  # read from the 60
    assert trained == [20, 40]  # batches per fit call: the extension trains only the new steps
    assert longer.history.step_loss == fresh.history.step_loss  # the same numbers as a fresh run
    assert first.history.step_loss == fresh.history.step_loss[:20]
    assert shorter.history.step_grad_norm == fresh.history.step_grad_norm[:30]
    assert shorter.history.steps == shorter.settings["steps"] == 30
    assert shorter.history.train_loss == [pytest.approx(np.mean(fresh.history.step_loss[:30]))]


def test_a_run_that_diverges_while_continuing_says_the_step_it_diverged_at():
    labs.clear_caches()
    whole = labs.clipping_run(None, steps=100)
    labs.clear_caches()
    labs.clipping_run(None, steps=10)  # finite so far
    continued = labs.clipping_run(None, steps=100)
    assert whole.diverged and continued.diverged_at == whole.diverged_at > 10
    assert continued.message == whole.message and f"step {whole.diverged_at}:" in whole.message
    early = labs.clipping_run(None, steps=10)  # before it blew up: finite, no advice
    assert not early.diverged and early.message is None and early.history.steps == 10
