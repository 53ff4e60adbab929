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
from rnnlib.diagnostics import decay_ratio, hidden_grad_norms, regime
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
    assert regime(decay[0.5]) == "vanishing" and regime(decay[3.0]) == "exploding"
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


def _seeds(accuracy, n=3):
    return {d: [a] * n for d, a in accuracy.items()}


@pytest.mark.parametrize("accuracy, expected", [
    ({5: 1.0, 10: 0.95, 20: 0.75, 40: 0.5}, CONFIRMED),
    ({5: 1.0, 10: 1.0, 15: 0.92, 20: 0.6}, CONFIRMED),
    ({5: 1.0, 10: 1.0, 20: 1.0, 40: 0.5}, PARTLY),  # the limit lies beyond 20
    ({5: 1.0, 10: 0.6, 20: 0.5, 40: 0.5}, PARTLY),  # the limit lies below 10
    ({5: 1.0, 10: 1.0, 20: 1.0, 40: 0.95}, NOT_CONFIRMED),
])
def test_rnn_memory_verdict(accuracy, expected):
    verdict = audit.rnn_memory_verdict(_seeds(accuracy), steps=300, init_span=5)
    assert verdict.verdict == expected
    assert "within 300 training steps" in verdict.evidence and "only 5 steps back" in verdict.evidence
    # the same numbers from one or two seeds decide nothing
    assert audit.rnn_memory_verdict(_seeds(accuracy, 2), steps=300, init_span=5).verdict == NOT_TESTED


def test_rnn_memory_verdict_counts_seeds_per_distance():
    # one seed of three fails at 10: 10 is not solved, so the limit lies below 10
    accuracy = {40: [0.5, 0.5, 0.5], 5: [1.0, 1.0, 1.0], 20: [0.75, 0.5, 0.5], 10: [0.95, 0.6, 0.99]}
    verdict = audit.rnn_memory_verdict(accuracy, steps=300, init_span=5)
    assert verdict.verdict == PARTLY
    assert "d = 5: 3/3, d = 10: 2/3, d = 20: 0/3, d = 40: 0/3" in verdict.evidence
    with pytest.raises(ValueError, match=r"accuracy\[20\]"):
        audit.rnn_memory_verdict({5: [1.0], 20: [1.5]}, steps=300, init_span=5)
    with pytest.raises(ValueError, match="same number of seeds"):
        audit.rnn_memory_verdict({5: [1.0, 1.0], 20: [0.5]}, steps=300, init_span=5)
    with pytest.raises(ValueError, match="one per seed"):
        audit.rnn_memory_verdict({5: 1.0}, steps=300, init_span=5)
    with pytest.raises(ValueError, match="steps"):
        audit.rnn_memory_verdict({5: [1.0]}, steps=0, init_span=5)


def _memory(distance, accuracies, arch="lstm", steps=(50, 100)):
    bias = 3.0 if arch == "lstm" else None
    return [audit.MemoryRun(arch, distance, seed, steps, tuple(acc), 1.0, {"forget_bias": bias})
            for seed, acc in enumerate(accuracies)]


def test_memory_run_solved_at_is_the_first_checkpoint_at_90_percent():
    run = _memory(100, [(0.5, 0.95)])[0]
    assert run.solved_at == 100 and run.final == 0.95
    assert _memory(100, [(0.92, 0.5)])[0].solved_at == 50  # once solved counts, even if it falls back
    assert _memory(100, [(0.5, 0.89)])[0].solved_at is None


def test_lstm_memory_verdict_needs_three_seeds_at_100_steps_or_more():
    decay = {"forget-gate bias 3": 9.84e-3, "PyTorch init": 7.3e-44}
    solved, failed = [(0.5, 1.0)] * 3, [(0.5, 0.5)] * 3
    verdict = audit.lstm_memory_verdict(_memory(100, solved) + _memory(200, solved), decay=decay, seq_len=200)
    assert verdict.verdict == CONFIRMED
    assert "d = 100: solved in 3/3 seeds within 100 steps; d = 200: solved in 3/3" in verdict.evidence
    assert "1e-02 (forget-gate bias 3), 7e-44 (PyTorch init)" in verdict.evidence
    assert audit.lstm_memory_verdict(_memory(100, solved) + _memory(200, failed), decay=decay,
                                     seq_len=200).verdict == PARTLY
    assert audit.lstm_memory_verdict(_memory(100, failed), decay=decay, seq_len=200).verdict == NOT_CONFIRMED
    assert audit.lstm_memory_verdict(_memory(40, solved), decay=decay, seq_len=200).verdict == NOT_TESTED
    assert audit.lstm_memory_verdict(_memory(100, solved[:2]), decay=decay, seq_len=200).verdict == NOT_TESTED
    # other architectures' runs do not count for the LSTM
    assert audit.lstm_memory_verdict(_memory(100, solved, arch="rnn"), decay=decay,
                                     seq_len=200).verdict == NOT_TESTED
    assert audit.lstm_memory_verdict([], decay=decay, seq_len=200).verdict == NOT_TESTED  # no results file
    with pytest.raises(ValueError, match="runs"):
        audit.lstm_memory_verdict([{"d": 100}], decay=decay, seq_len=200)
    # budgets count separately: a longer run of the same distance is its own row of evidence
    longer = _memory(100, [(0.5, 0.5, 0.95)] * 3, steps=(50, 100, 150))
    both = audit.lstm_memory_verdict(_memory(100, failed) + longer, decay=decay, seq_len=200)
    assert both.verdict == PARTLY
    assert "d = 100: solved in 0/3 seeds within 100 steps; d = 100: solved in 3/3 seeds within 150" in both.evidence


def test_memory_results_round_trip_through_csv(tmp_path):
    import csv

    runs = _memory(100, [(0.5, 0.97), (0.5, 0.6), (0.91, 1.0)]) + _memory(100, [(0.5, 0.5)] * 3, arch="rnn")
    path = tmp_path / "long_range.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=audit.MEMORY_COLUMNS)
        writer.writeheader()
        writer.writerows(audit.memory_rows(runs))
    back = audit.read_memory_runs(path)
    assert [(r.arch, r.distance, r.seed, r.steps, r.accuracy) for r in back] == \
        [(r.arch, r.distance, r.seed, r.steps, r.accuracy) for r in runs]
    table = audit.memory_table(back).splitlines()
    assert table[2] == "| LSTM (forget-gate bias 3) | 100 | 2/3 | 100, never, 50 (of 100) | 97%, 60%, 100% |"
    assert table[3].startswith("| RNN | 100 | 0/3 | never, never, never")
    with pytest.raises(ValueError, match="does not exist"):
        audit.read_memory_runs(tmp_path / "missing.csv")


def test_memory_run_evaluates_every_chunk_with_one_optimiser():
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    run = audit.memory_run("rnn", 3, seed=1, max_steps=6, eval_every=2, n_train=40, n_test=20, hidden_dim=4,
                           batch_size=8)
    assert torch.equal(torch.rand(1), expected)  # the caller's random state is left alone
    assert run.steps == (2, 4, 6) and len(run.accuracy) == 3 and run.settings["forget_bias"] is None
    # the same run by hand: one fit over 6 steps of the same shuffled stream (40 sentences = 5 batches of 8)
    from rnnlib.data import long_range_task
    from rnnlib.training import evaluate, fit

    task = long_range_task(3, n_train=40, n_test=20)
    torch.manual_seed(1)
    model = build_model("rnn", embed_dim=16, hidden_dim=4, **task.model_kwargs())
    loader = task.train.batches(8, shuffle=True, seed=1)
    stream = list(loader) + list(loader)  # the second pass draws a new order, as the chunks do
    fit(model, stream[:6], epochs=1, lr=1e-2, max_norm=1.0, batch_size=8, progress=False)
    assert evaluate(model, task.test)[1] == pytest.approx(run.final)
    with pytest.raises(ValueError, match="multiple of eval_every"):
        audit.memory_run("rnn", 3, max_steps=5, eval_every=2)
    with pytest.raises(ValueError, match="arch"):
        audit.memory_run("transformer", 3)


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
    assert "ρ = 0.5: 1e-30 (vanishing)" in verdict.evidence


def _run(max_norm, diverged_at=None, seed=0, loss=0.05, steps=100):
    settings = dict(max_norm=max_norm, spectral_radius=2.0, lr=0.05, steps=steps, seed=seed, seq_len=50,
                    hidden_dim=64, batch_size=32)
    history = History(metric="mse", step_loss=[1.0] * (steps - 10) + [loss] * 10)
    return labs.ClippingResult(history, diverged_at, None if diverged_at is None else "boom", settings)


def test_final_loss_is_the_mean_of_the_last_tenth():
    assert audit.final_loss(_run(1.0, loss=0.1)) == pytest.approx(0.1)
    run = _run(1.0, steps=300)  # last 30 steps: 20 at 1.0, 10 at 0.05
    assert audit.final_loss(run) == pytest.approx((20 * 1.0 + 10 * 0.05) / 30)
    assert audit.final_loss(_run(None, 30)) == math.inf


def test_clipping_verdict_judges_learning_not_finiteness():
    exploding = [_run(None, 30, seed) for seed in range(3)]
    learned = [_run(1.0, seed=seed) for seed in range(3)]
    stuck = [_run(5.0, seed=seed, loss=0.17) for seed in range(3)]  # finite, at the baseline 1/6
    verdict = audit.clipping_verdict({None: exploding, 1.0: learned})
    assert verdict.verdict == CONFIRMED
    assert "no clipping: diverged in 3/3 seeds; clip at 1: finite in 3/3, learned in 3/3" in verdict.evidence
    assert "final loss < 0.150" in verdict.evidence
    assert audit.clipping_verdict({None: exploding, 1.0: learned, 5.0: stuck}).verdict == PARTLY
    finite_only = audit.clipping_verdict({None: exploding, 1.0: stuck})
    assert finite_only.verdict == NOT_CONFIRMED and "finite in 3/3, learned in 0/3" in finite_only.evidence
    # just under 0.9 × 1/6 learned, just over did not
    assert audit.clipping_verdict({None: exploding, 1.0: [_run(1.0, seed=s, loss=0.149) for s in range(3)]}
                                  ).verdict == CONFIRMED
    assert audit.clipping_verdict({None: exploding, 1.0: [_run(1.0, seed=s, loss=0.151) for s in range(3)]}
                                  ).verdict == NOT_CONFIRMED
    assert audit.clipping_verdict({None: [_run(None, seed=s) for s in range(3)], 1.0: learned}).verdict == NOT_TESTED
    two = audit.clipping_verdict({None: exploding[:2], 1.0: learned[:2]})
    assert two.verdict == NOT_TESTED and "only 2 seed(s)" in two.evidence
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
    assert audit.gru_vs_lstm_verdict(seed, same, steps=300, seeds=3).verdict == CONFIRMED
    verdict = audit.gru_vs_lstm_verdict(seed, differ, steps=300, gru_biased={40: 1.0}, seeds=3)
    assert verdict.verdict == PARTLY
    assert "within 2 points, both >= 98 %" in verdict.evidence
    assert "GRU (PyTorch init) solved 5, LSTM (forget-gate bias) 5, 40" in verdict.evidence
    assert verdict.evidence.endswith("biased the same way: solved 40")
    assert audit.gru_vs_lstm_verdict({"gru": 0.9, "lstm": 1.0}, same, steps=3, seeds=3).verdict == PARTLY
    assert audit.gru_vs_lstm_verdict({"gru": 0.9, "lstm": 1.0}, differ, steps=3, seeds=3).verdict == NOT_CONFIRMED
    one = audit.gru_vs_lstm_verdict(seed, same, steps=300)  # one seed: what it showed, no verdict
    assert one.verdict == NOT_TESTED and one.evidence.endswith("1 seed only, fewer than 3: a hint, not a verdict")
    with pytest.raises(ValueError, match="seed_accuracy"):
        audit.gru_vs_lstm_verdict({"gru": 0.9}, same, steps=3)


def test_verdict_prints_claim_category_and_evidence():
    verdict = audit.Verdict("claim", PARTLY, "evidence")
    assert str(verdict) == "claim\n  -> PARTLY CONFIRMED: evidence"
    assert set(VERDICTS) == {CONFIRMED, PARTLY, NOT_CONFIRMED, NOT_TESTED}
