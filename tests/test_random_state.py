"""No rnnlib function changes the learner's global random state (torch, NumPy, Python's ``random``).

Every public function that draws random numbers is called between two snapshots of the three
generators; the snapshots must be equal. Two documented exceptions: ``set_seed`` (its job) and
``build_model`` / the model classes, which draw their initial weights from torch's generator as every
torch layer does (the learner seeds them with ``set_seed``). A function that draws with its own seed
(fit, the labs, the comparison, the audit, the exercise checks) forks the generators instead.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import rnnlib
from rnnlib import audit, bptt, compare, data, diagnostics, labs, widgets
from rnnlib.exercises import NOTEBOOK_EXERCISES


def snapshot():
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def same(a, b) -> bool:
    return (torch.equal(a[0], b[0]) and all(np.array_equal(x, y) for x, y in zip(a[1], b[1]))
            and a[2] == b[2])


def _dropout_model():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return rnnlib.build_model("rnn", input_dim=2, output_dim=1, hidden_dim=4, dropout=0.5)


def _token_model(arch="rnn"):
    with torch.random.fork_rng():
        return rnnlib.build_model(arch, vocab_size=10, embed_dim=4, hidden_dim=4)


def _small_adding():
    return data.adding_problem(32, 6, seed=0)


X = torch.randint(1, 10, (3, 5), generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 1, 0])

#: label → call; each draws random numbers (or builds models) somewhere inside
CALLS = {
    "generate_sentiment_sentences": lambda: data.generate_sentiment_sentences(20),
    "long_range_sentences": lambda: data.long_range_sentences(10, 3),
    "long_range_task": lambda: rnnlib.long_range_task(3, n_train=10, n_test=4),
    "sentiment_task": lambda: rnnlib.sentiment_task(n=40),
    "adding_problem": _small_adding,
    "adding_task": lambda: rnnlib.adding_task(6, n_train=8, n_test=4),
    "BatchLoader shuffled": lambda: list(_small_adding().batches(8, shuffle=True, seed=3)),
    "fit with dropout": lambda: rnnlib.fit(_dropout_model(), _small_adding(), epochs=2, progress=False),
    "evaluate": lambda: rnnlib.evaluate(_dropout_model(), _small_adding()),
    "hidden_grad_norms": lambda: diagnostics.hidden_grad_norms(_token_model(), X, Y),
    "jacobian_norms": lambda: diagnostics.jacobian_norms(_token_model(), X),
    "gate_traces": lambda: diagnostics.gate_traces(_token_model("lstm"), X),
    "bptt": lambda: bptt.bptt(_token_model(), X, Y),
    "truncation_experiment": lambda: bptt.truncation_experiment(distance=2, ks=(1, None), steps=3),
    "long_range_probe": lambda: labs.long_range_probe(7, seed=5),
    "grad_flow trained": lambda: labs.grad_flow("gru", 8, 8, train_steps=3, seed=11),
    "clipping_run": lambda: labs.clipping_run(1.0, steps=10, seq_len=6, hidden_dim=4, batch_size=4, seed=2),
    "sentence_gates": lambda: labs.sentence_gates("lstm", trained=False, hidden_dim=2, seed=4),
    "run_comparison": lambda: compare.run_comparison("adding", ("rnn",), epochs=1, length=6, n_train=16,
                                                     hidden_dim=4, dropout=0.5, num_layers=2),
    "sweep": lambda: compare.sweep("hidden_dim", (2, 3), "adding", ("gru",), epochs=1, length=6, n_train=16),
    "parameter_counts": lambda: audit.parameter_counts(10),
    "multiply_adds": lambda: audit.multiply_adds(10),
    "fused_layers": audit.fused_layers,
    "radius_decay": lambda: audit.radius_decay((0.5,), seq_len=6, hidden_dim=4, seed=3),
    "clipping_trials": lambda: audit.clipping_trials((None,), seeds=(1,), steps=10, seq_len=6, hidden_dim=4,
                                                     batch_size=4),
    "gradient_flow_lab": lambda: widgets.gradient_flow_lab(hidden_dim=8, seq_len=10, seed=7),
}
CALLS |= {
    f"{exercise.__class__.__name__}.check": (
        lambda exercise=exercise: exercise.check(exercise.solution_function))
    for exercises in NOTEBOOK_EXERCISES.values() for exercise in exercises
}


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
def test_the_global_random_state_is_the_same_after_the_call(call):
    rnnlib.set_seed(123)
    before = snapshot()
    call()
    assert same(before, snapshot())


def test_the_check_can_fail():
    before = snapshot()
    torch.rand(1)
    assert not same(before, snapshot())
    before = snapshot()
    random.random()
    assert not same(before, snapshot())


def test_fit_draws_its_dropout_masks_from_its_seed():
    """The same seed gives the same run whatever the global state; another seed, another run."""
    runs = []
    for global_seed, seed in ((0, 1), (99, 1), (0, 2)):
        rnnlib.set_seed(global_seed)
        runs.append(rnnlib.fit(_dropout_model(), _small_adding(), epochs=2, seed=seed, progress=False).train_loss)
    assert runs[0] == runs[1] and runs[0] != runs[2]
