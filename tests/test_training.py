"""The training loop: it learns, its statistics are right, it repeats, it stops on divergence."""

import copy
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F

from rnnlib import TrainingDiverged, build_model, evaluate, fit, get_device, set_seed, set_threads
from rnnlib.data import BatchLoader, adding_problem, long_range_task, sentiment_task
from rnnlib.training import loss_and_metric


@pytest.fixture(scope="module")
def short_task():
    """Long-range sentiment at distance 2: learnable in a few hundred steps by any model."""
    return long_range_task(2, n_train=256, n_test=128)


def small_model(arch="gru", task=None, **kwargs):
    set_seed(0)
    inputs = task.model_kwargs() if task else {"input_dim": 2, "output_dim": 1}
    return build_model(arch, embed_dim=8, hidden_dim=16, **inputs, **kwargs)


def without_seconds(history):
    return {k: v for k, v in asdict(history).items() if k != "seconds"}


def test_fit_lowers_the_loss_and_learns():
    task = sentiment_task()
    history = fit(small_model("gru", task), task.train, task.test, epochs=3, lr=1e-2,
                  progress=False)
    assert history.metric == "accuracy" and history.epochs == 3
    assert history.train_loss[-1] < 0.2 * history.train_loss[0]
    assert history.test_metric[-1] > 0.95
    for series in (history.test_loss, history.grad_norm, history.seconds, history.train_metric):
        assert len(series) == 3


def test_fit_regression_reports_mse():
    data = adding_problem(128, 8, seed=0)
    history = fit(small_model("lstm"), data, data, epochs=4, lr=1e-2, progress=False)
    assert history.metric == "mse"
    assert history.test_loss == history.test_metric  # MSE is the loss and the metric
    assert history.train_loss[-1] < history.train_loss[0]
    assert set(history.final()) == {"train_loss", "train_mse", "test_loss", "test_mse", "seconds"}


def test_evaluate_matches_a_direct_computation(short_task):
    model = small_model("lstm", short_task)
    loss, accuracy = evaluate(model, short_task.test, batch_size=50)  # several uneven batches
    data = short_task.test
    with torch.no_grad():
        out = model(data.x, data.lengths)
    assert loss == pytest.approx(F.cross_entropy(out, data.y).item(), abs=1e-6)
    assert accuracy == pytest.approx((out.argmax(-1) == data.y).float().mean().item())
    assert model.training  # evaluate restores the mode it found


def test_loss_and_metric():
    out = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    loss, correct = loss_and_metric(out, torch.tensor([0, 1, 1]))
    assert int(correct) == 2
    assert float(loss) == pytest.approx(F.cross_entropy(out, torch.tensor([0, 1, 1])).item())
    loss, summed = loss_and_metric(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))
    assert float(loss) == pytest.approx(2.5) and float(summed) == pytest.approx(5.0)


@pytest.mark.parametrize("max_norm", [None, 0.05])
def test_step_gradient_norm_and_clipping_match_a_hand_computation(max_norm):
    """The recorded norm equals the global L2 norm of the first batch's gradient computed here, and
    one SGD step moves every parameter by exactly -lr · g · min(1, max_norm / ‖g‖)."""
    data = adding_problem(64, 10, seed=0)
    model = small_model("rnn")
    start = copy.deepcopy(model)
    x, y, lengths = next(iter(BatchLoader(data, 16, shuffle=True, seed=3)))  # fit's first batch
    F.mse_loss(start(x, lengths).squeeze(-1), y).backward()
    grads = [p.grad for p in start.parameters()]
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()

    lr = 0.1
    history = fit(model, data, epochs=1, lr=lr, optimizer="sgd", batch_size=16, seed=3,
                  max_norm=max_norm, max_steps=1, record_steps=True, progress=False)
    assert history.steps == 1
    assert history.step_grad_norm[0] == pytest.approx(norm, rel=1e-5)
    scale = 1.0 if max_norm is None else min(1.0, max_norm / norm)
    assert history.step_grad_norm_clipped[0] == pytest.approx(norm * scale, rel=1e-5)
    assert history.clipped == [max_norm is not None and norm > max_norm]
    assert max_norm is None or scale < 1  # the clipped case really clips
    for before, after, g in zip(start.parameters(), model.parameters(), grads):
        torch.testing.assert_close(after - before, -lr * scale * g, atol=1e-6, rtol=1e-4)


def test_fit_with_the_same_seed_repeats_exactly(short_task):
    def run(seed):
        set_seed(seed)
        model = build_model("lstm", embed_dim=8, hidden_dim=8, **short_task.model_kwargs())
        return fit(model, short_task.train, short_task.test, epochs=2, lr=1e-2, seed=seed,
                   record_steps=True, progress=False)

    first = run(1)
    assert without_seconds(run(1)) == without_seconds(first)
    assert run(2).step_loss != first.step_loss


def test_fit_accepts_an_iterable_of_batches_and_max_steps(short_task):
    batches = list(short_task.train.batches(32))
    history = fit(small_model("rnn", short_task), batches, epochs=5, max_steps=12,
                  record_steps=True, progress=False)
    assert history.steps == 12 and history.epochs == 2  # 8 batches per epoch: stop in the second
    assert not history.test_loss


def test_divergence_stops_with_advice_and_leaves_finite_weights():
    """SGD with a huge learning rate on a tanh RNN whose W_hh has spectral radius 3."""
    data = adding_problem(256, 30, seed=0)
    model = small_model("rnn", spectral_radius=3.0)
    with pytest.raises(TrainingDiverged, match="lower learning rate.*clipping") as info:
        fit(model, data, epochs=5, lr=10.0, optimizer="sgd", batch_size=32, record_steps=True,
            progress=False)
    assert "lr=10" in str(info.value) and "spectral radius" in str(info.value)
    assert all(torch.isfinite(p).all() for p in model.parameters())  # no NaN step was taken
    history = info.value.history  # what was measured before the failing step, all of it finite
    assert history.steps >= 1
    for series in (history.step_loss, history.step_grad_norm, history.train_loss):
        assert torch.isfinite(torch.tensor(series)).all()


def test_clipping_keeps_the_same_run_finite():
    data = adding_problem(256, 30, seed=0)
    history = fit(small_model("rnn", spectral_radius=3.0), data, epochs=5, lr=1.0, max_norm=1.0,
                  optimizer="sgd", batch_size=32, record_steps=True, progress=False)
    assert all(torch.isfinite(torch.tensor(history.step_loss)))
    assert all(g <= 1.0 + 1e-6 for g in history.step_grad_norm_clipped)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_norm": -1.0}, "max_norm"),
        ({"max_norm": 0.0}, "max_norm"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_steps": 0}, "max_steps"),
        ({"seed": -1}, "seed"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, name):
    data = adding_problem(8, 4)
    with pytest.raises(ValueError, match=name):
        fit(small_model("rnn"), data, progress=False, **kwargs)


def test_empty_datasets_are_rejected():
    empty = adding_problem(4, 4).subset(slice(0, 0))
    with pytest.raises(ValueError, match="empty"):
        fit(small_model("rnn"), empty, progress=False)
    with pytest.raises(ValueError, match="empty"):
        fit(small_model("rnn"), [], progress=False)
    with pytest.raises(ValueError, match="empty"):
        evaluate(small_model("rnn"), empty)


def test_seed_threads_and_device():
    set_seed(5)
    first = torch.rand(3)
    set_seed(5)
    assert torch.equal(torch.rand(3), first)
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)
    try:
        assert set_threads(2) == 2 and torch.get_num_threads() == 2
    finally:
        set_threads(1)
    with pytest.raises(ValueError, match="threads"):
        set_threads(0)
    assert get_device("cpu") == torch.device("cpu")
    assert get_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_on_epoch_is_called_after_every_epoch_with_the_trained_model():
    task = sentiment_task(n=64)
    set_seed(0)
    model = build_model("rnn", embed_dim=4, hidden_dim=4, **task.model_kwargs())
    seen = []
    history = fit(model, task.train, task.test, epochs=3, progress=False,
                  on_epoch=lambda epoch, m: seen.append((epoch, m is model, m.fc.weight.detach().clone())))
    assert [(epoch, same) for epoch, same, _ in seen] == [(1, True), (2, True), (3, True)]
    assert not torch.equal(seen[0][2], seen[2][2])  # called between epochs: the weights moved on
    assert history.epochs == 3
    with pytest.raises(ValueError, match="on_epoch"):
        fit(model, task.train, epochs=1, progress=False, on_epoch="not a function")


def test_flush_denormals_only_inside_the_block():
    from rnnlib.training import flush_denormals

    tiny = torch.tensor([1e-40])  # a float32 subnormal
    assert float(tiny * 1.0) > 0
    with flush_denormals():
        inside = float(tiny * 1.0)
    assert float(tiny * 1.0) > 0  # the CPU's default is back
    if torch.set_flush_denormal(False):  # True where the CPU honours the flag (x86 with SSE3)
        assert inside == 0.0


def test_fit_trains_with_subnormals_flushed_and_restores_the_cpu_default(monkeypatch):
    from rnnlib import training

    seen = []
    step = torch.optim.Adam.step

    def watching_step(self, *args, **kwargs):
        seen.append(float(torch.tensor([1e-40]) * 1.0))  # 0 while subnormals are flushed
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", watching_step)
    task = sentiment_task(n=64)
    training.fit(build_model("rnn", **task.model_kwargs()), task.train, epochs=1, progress=False)
    assert seen and float(torch.tensor([1e-40]) * 1.0) > 0  # back to the default afterwards
    if torch.set_flush_denormal(False):  # where the CPU honours the flag
        assert set(seen) == {0.0}
