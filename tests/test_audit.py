"""The claims audit: measurements against closed-form counts and independent computations, and every
verdict with made-up numbers on both sides of its boundaries."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlib import audit, build_model, labs
from rnnlib.audit import CONFIRMED, NOT_CONFIRMED, NOT_TESTED, PARTLY, VERDICTS
from rnnlib.compare import run_comparison, sweep
from rnnlib.data import generate_sentiment_sentences
from rnnlib.diagnostics import decay_ratio, hidden_grad_norms
from rnnlib.training import History

V, E, H, C = 56, 32, 64, 2


# ---- measurements -----------------------------------------------------------------------------------


def test_parameter_counts_match_the_closed_form():
    counts = audit.parameter_counts(V, embed_dim=E, hidden_dim=H, output_dim=C)
    for arch, gates, directions in [("rnn", 1, 1), ("gru", 3, 1), ("lstm", 4, 1), ("bilstm", 4, 2)]:
        # per direction: G blocks of W_ih (H × E), W_hh (H × H), b_ih and b_hh (H each)
        layer = directions * gates * (H * (E + H) + 2 * H)
        assert counts[arch]["recurrent"] == layer
        assert counts[arch]["total"] == V * E + layer + (directions * H + 1) * C


def test_parameter_counts_leave_the_random_state_alone():
    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    audit.parameter_counts(V)
    assert torch.equal(torch.rand(1), expected)


def test_multiply_adds_per_step_is_every_weight_once_per_step():
    ops = audit.multiply_adds(V, embed_dim=E, hidden_dim=H)
    assert ops == {"rnn": H * (E + H), "gru": 3 * H * (E + H), "lstm": 4 * H * (E + H), "bilstm": 8 * H * (E + H)}
    # a second layer reads the first layer's H features
    two = build_model("gru", vocab_size=V, embed_dim=E, hidden_dim=H, num_layers=2)
    assert audit.multiply_adds_per_step(two) == 3 * H * (E + H) + 3 * H * (H + H)
    with pytest.raises(ValueError, match="model"):
        audit.multiply_adds_per_step(torch.nn.LSTM(3, 4))


def test_word_vote_ignores_order_and_solves_the_seed_task():
    texts = ["good bad bad", "bad bad good", "the movie", "great movie", "movie great"]
    assert audit.word_vote(texts) == [0, 0, 0, 1, 1]
    texts, labels = generate_sentiment_sentences()
    assert audit.word_vote(texts) == labels
    with pytest.raises(ValueError, match="texts"):
        audit.word_vote("good movie")


def test_radius_decay_is_the_float64_decay_of_a_rescaled_rnn():
    decay = audit.radius_decay((0.5, 3.0), seq_len=30, hidden_dim=16)
    assert list(decay) == [0.5, 3.0]
    assert decay[0.5] < audit.VANISHED and decay[3.0] > audit.EXPLODED
    # the same number, computed here from the model and probe the lab uses
    task, probe = labs.long_range_probe(30)
    torch.manual_seed(0)
    model = build_model("rnn", embed_dim=labs.EMBED_DIM, hidden_dim=16, spectral_radius=0.5, **task.model_kwargs())
    assert math.isclose(decay_ratio(hidden_grad_norms(model, probe.x, probe.y)), decay[0.5], rel_tol=1e-9)
    with pytest.raises(ValueError, match="radii"):
        audit.radius_decay(())


def test_clipping_trials_run_every_setting_and_seed():
    trials = audit.clipping_trials((None, 1.0), seeds=(0, 1), steps=10)
    assert list(trials) == [None, 1.0]
    assert [run.settings["seed"] for run in trials[1.0]] == [0, 1]
    assert all(run.settings["max_norm"] == 1.0 and run.history.steps == 10 for run in trials[1.0])
    # nothing explodes within 10 steps, so the claim cannot be judged on these runs
    assert audit.clipping_verdict(trials).verdict == NOT_TESTED
    with pytest.raises(ValueError, match="max_norms"):
        audit.clipping_trials(())


def _tiny_runs():
    tiny = dict(n_train=64, epochs=1, hidden_dim=4, embed_dim=4)
    seed_run = run_comparison("long-range", distance=2, **tiny)
    ladder = sweep("distance", (1, 3), task="long-range", **tiny)
    return seed_run, ladder


def test_training_steps_and_the_measured_table():
    seed_run, ladder = _tiny_runs()
    assert audit.training_steps(ladder[3]) == len(ladder[3]["task"].train.batches(64))  # 64 sentences: 1 batch
    decay = {"decay ratio": {"rnn": 1e-11, "gru": 2e-9, "lstm": 0.1, "bilstm": 0.06}}
    table = audit.measured_table(seed_run, ladder, decay).splitlines()
    assert len(table) == 2 + 4
    assert table[0].startswith("| model | parameters |") and "acc. d=1 | acc. d=3 | decay ratio |" in table[0]
    lstm = next(row for row in table if row.startswith("| LSTM |"))
    assert f"{seed_run['params']['lstm']:,}" in lstm and lstm.endswith("| 1e-01 |")
    assert f"{ladder[3]['histories']['lstm'].test_metric[-1]:.0%}" in lstm


# ---- verdicts -----------------------------------------------------------------------------------------


def _counts(gru_layer, lstm_layer, gru_total, lstm_total, bilstm_layer=None, bilstm_total=None):
    return {"gru": {"recurrent": gru_layer, "total": gru_total},
            "lstm": {"recurrent": lstm_layer, "total": lstm_total},
            "bilstm": {"recurrent": bilstm_layer or 2 * lstm_layer, "total": bilstm_total or 2 * lstm_total}}


def test_parameter_verdicts():
    real = audit.parameter_counts(V)
    gru = audit.gru_parameters_verdict(real)
    assert gru.verdict == CONFIRMED and "recurrent layer 25.0% fewer" in gru.evidence
    assert audit.gru_parameters_verdict(_counts(75, 100, 85, 100)).verdict == PARTLY
    assert audit.gru_parameters_verdict(_counts(90, 100, 95, 100)).verdict == NOT_CONFIRMED
    bilstm = audit.bilstm_parameters_verdict(real)
    assert bilstm.verdict == CONFIRMED and "recurrent layer 2.00x" in bilstm.evidence
    assert audit.bilstm_parameters_verdict(_counts(75, 100, 75, 100, 200, 150)).verdict == PARTLY
    assert audit.bilstm_parameters_verdict(_counts(75, 100, 75, 100, 190, 190)).verdict == NOT_CONFIRMED
    with pytest.raises(ValueError, match="counts must be parameter_counts"):
        audit.gru_parameters_verdict({"gru": {"recurrent": 3}, "lstm": {"recurrent": 4, "total": 5}})


@pytest.mark.parametrize("accuracy, expected", [
    ({5: 1.0, 10: 0.95, 20: 0.75, 40: 0.5}, CONFIRMED),
    ({5: 1.0, 10: 1.0, 15: 0.92, 20: 0.6}, CONFIRMED),
    ({5: 1.0, 10: 1.0, 20: 1.0, 40: 0.5}, PARTLY),  # the limit lies beyond 20
    ({5: 1.0, 10: 0.6, 20: 0.5, 40: 0.5}, PARTLY),  # the limit lies below 10
    ({5: 1.0, 10: 1.0, 20: 1.0, 40: 0.95}, NOT_CONFIRMED),
])
def test_rnn_memory_verdict(accuracy, expected):
    verdict = audit.rnn_memory_verdict(accuracy, steps=300, init_span=5)
    assert verdict.verdict == expected
    assert "within 300 training steps" in verdict.evidence and "only 5 steps back" in verdict.evidence


def test_rnn_memory_verdict_lists_solved_and_unsolved_distances():
    verdict = audit.rnn_memory_verdict({40: 0.5, 5: 1.0, 20: 0.75, 10: 0.9}, steps=300, init_span=5)
    assert "solved distances 5, 10, not 20, 40" in verdict.evidence
    with pytest.raises(ValueError, match=r"accuracy\[20\]"):
        audit.rnn_memory_verdict({5: 1.0, 20: 1.5}, steps=300, init_span=5)
    with pytest.raises(ValueError, match="steps"):
        audit.rnn_memory_verdict({5: 1.0}, steps=0, init_span=5)


def test_lstm_memory_verdict_is_not_tested_below_100_steps():
    decay = {"forget-gate bias 3": 9.84e-3, "PyTorch init": 7.3e-44}
    short = audit.lstm_memory_verdict({5: 1.0, 40: 0.998}, steps=300, decay=decay, seq_len=200)
    assert short.verdict == NOT_TESTED
    assert "1e-02 (forget-gate bias 3), 7e-44 (PyTorch init)" in short.evidence
    assert audit.lstm_memory_verdict({40: 1.0, 100: 0.95}, steps=9, decay=decay, seq_len=200).verdict == CONFIRMED
    assert audit.lstm_memory_verdict({40: 1.0, 200: 0.5}, steps=9, decay=decay, seq_len=200).verdict == NOT_CONFIRMED


@pytest.mark.parametrize("decay, expected", [
    ({0.5: 1e-30, 0.9: 1e-8, 2.0: 1e5}, CONFIRMED),
    ({0.5: 1e-30, 1.0: 0.5, 2.0: 1e5}, CONFIRMED),  # ρ = 1 holding level fits the claim
    ({0.5: 1e-30, 1.0: 1e-8, 2.0: 1e5}, PARTLY),  # ρ = 1 still vanishes
    ({0.5: 1e-30, 1.5: 1.2, 3.0: 1e11}, PARTLY),  # ρ = 1.5 does not explode
    ({0.5: 1e-30, 0.9: 0.2, 2.0: 1e5}, NOT_CONFIRMED),  # ρ < 1 without vanishing
])
def test_spectral_radius_verdict(decay, expected):
    verdict = audit.spectral_radius_verdict(decay)
    assert verdict.verdict == expected
    assert "ρ = 0.5: 1e-30 (vanished)" in verdict.evidence


def _run(max_norm, diverged_at=None, seed=0):
    settings = dict(max_norm=max_norm, spectral_radius=2.0, lr=0.05, steps=100, seed=seed, seq_len=50,
                    hidden_dim=64, batch_size=32)
    return labs.ClippingResult(History(metric="mse"), diverged_at, None if diverged_at is None else "boom", settings)


def test_clipping_verdict():
    exploding = [_run(None, 30), _run(None, 33, 1)]
    trials = {None: exploding, 1.0: [_run(1.0), _run(1.0, seed=1)], 5.0: [_run(5.0), _run(5.0, seed=1)]}
    verdict = audit.clipping_verdict(trials)
    assert verdict.verdict == CONFIRMED
    assert "no clipping: diverged in 2/2 seeds; clip at 1: finite in 2/2; clip at 5: finite in 2/2" in verdict.evidence
    assert audit.clipping_verdict({None: exploding, 1.0: [_run(1.0), _run(1.0, 40)],
                                   5.0: [_run(5.0)]}).verdict == PARTLY
    assert audit.clipping_verdict({None: exploding, 1.0: [_run(1.0, 40)]}).verdict == NOT_CONFIRMED
    assert audit.clipping_verdict({None: [_run(None)], 1.0: [_run(1.0)]}).verdict == NOT_TESTED
    with pytest.raises(ValueError, match="unclipped"):
        audit.clipping_verdict({1.0: [_run(1.0)]})


def test_speed_verdict_and_wall_clock_order():
    verdict = audit.speed_verdict(audit.multiply_adds(V))
    assert verdict.verdict == CONFIRMED and "= 1 : 3 : 4 : 8 multiply-adds" in verdict.evidence
    assert audit.speed_verdict({"rnn": 1, "gru": 5, "lstm": 4, "bilstm": 8}).verdict == NOT_CONFIRMED
    with pytest.raises(ValueError, match="missing"):
        audit.speed_verdict({"rnn": 1, "gru": 3})
    operations = audit.multiply_adds(V)
    mixed = {"rnn": False, "gru": False, "lstm": True, "bilstm": True}
    verdict = audit.speed_verdict(operations, mixed)
    assert verdict.verdict == PARTLY and "LSTM, BiLSTM run as one fused kernel" in verdict.evidence
    assert audit.speed_verdict(operations, dict.fromkeys(mixed, True)).verdict == CONFIRMED
    with pytest.raises(ValueError, match="missing"):
        audit.speed_verdict(operations, {"lstm": True})


def test_fused_layers_reads_the_kernels_from_the_autograd_graph():
    fused = audit.fused_layers()
    assert set(fused) == {"rnn", "gru", "lstm", "bilstm"} and fused["lstm"] == fused["bilstm"]
    # on CPU torch loops nn.RNN and nn.GRU step by step: no fused kernel for them
    assert not fused["rnn"] and not fused["gru"]
    measured = {"rnn": 0.2, "gru": 0.33, "lstm": 0.27, "bilstm": 0.66}
    assert audit.wall_clock_order(measured) == "RNN < LSTM < GRU < BiLSTM (not the claimed order)"
    assert audit.wall_clock_order({"rnn": 1, "gru": 2, "lstm": 3}) == "RNN < GRU < LSTM (the claimed order)"
    with pytest.raises(ValueError, match="seconds"):
        audit.wall_clock_order({"transformer": 1.0})


def test_gru_vs_lstm_verdict():
    seed = {"gru": 0.995, "lstm": 0.998}
    same = {"gru": {5: 1.0, 40: 0.95}, "lstm": {5: 1.0, 40: 1.0}}
    differ = {"gru": {5: 1.0, 40: 0.47}, "lstm": {5: 1.0, 40: 0.998}}
    assert audit.gru_vs_lstm_verdict(seed, same, steps=300).verdict == CONFIRMED
    verdict = audit.gru_vs_lstm_verdict(seed, differ, steps=300, gru_biased={40: 1.0})
    assert verdict.verdict == PARTLY
    assert "within 2 points, both >= 98 %" in verdict.evidence
    assert "GRU (PyTorch init) solved 5, LSTM (forget-gate bias) 5, 40" in verdict.evidence
    assert verdict.evidence.endswith("biased the same way: solved 40")
    assert audit.gru_vs_lstm_verdict({"gru": 0.9, "lstm": 1.0}, same, steps=3).verdict == PARTLY
    assert audit.gru_vs_lstm_verdict({"gru": 0.9, "lstm": 1.0}, differ, steps=3).verdict == NOT_CONFIRMED
    with pytest.raises(ValueError, match="seed_accuracy"):
        audit.gru_vs_lstm_verdict({"gru": 0.9}, same, steps=3)


def test_verdict_prints_claim_category_and_evidence():
    verdict = audit.Verdict("claim", PARTLY, "evidence")
    assert str(verdict) == "claim\n  -> PARTLY CONFIRMED: evidence"
    assert set(VERDICTS) == {CONFIRMED, PARTLY, NOT_CONFIRMED, NOT_TESTED}
