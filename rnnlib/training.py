"""One training loop for the CLI, the notebooks and the benchmarks.

``fit`` trains with Adam (or SGD), clips the global gradient norm when asked, keeps a per-epoch
:class:`History`, optionally per-step gradient statistics, and stops with advice when the loss or the
gradient stops being a finite number. The loop does no work a bare PyTorch loop would not do besides
reading two scalars per step.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import BatchLoader, SequenceDataset
from .device import check_device, current_device, model_device
from .limits import MAX_EPOCHS, MAX_LR, MAX_THREADS, SEED_RANGE
from .progress import progress_bar
from .validation import check_choice, check_float, check_int


def set_seed(seed: int = 0) -> int:
    """Seed Python, NumPy and torch (CPU and GPU) so a run repeats exactly on CPU."""
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


@contextmanager
def own_random_state(seed: int | None = None) -> Iterator[None]:
    """Run a block with its own random numbers: torch's generators (the CPU's and every GPU's, since
    ``torch.manual_seed`` seeds them all), NumPy's and Python's ``random`` are restored when it ends, so
    the caller's global random state is exactly as before. ``seed``: seed torch inside the block
    (``None``: continue from the caller's state). How every rnnlib function that draws random numbers
    leaves the learner's own sequence alone."""
    gpus = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    numpy_state, python_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=gpus):
        if seed is not None:
            torch.manual_seed(seed)
        try:
            yield
        finally:
            np.random.set_state(numpy_state)
            random.setstate(python_state)


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Inside the block, float32 numbers below ~1.2e-38 (subnormals) count as 0 on this thread's CPU.

    A gradient that vanishes over hundreds of float32 steps drifts into that range, where x86 CPUs
    compute many times slower (the gradient-flow lab's largest settings, training included). Anything
    down there is some 30 orders of magnitude below the values it is added to, so a norm or a sum does
    not change; the CPU's default (subnormals kept) is back when the block ends. A no-op where torch
    cannot set it.
    """
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)


def set_threads(threads: int | None = None) -> int:
    """Use ``threads`` CPU threads (default 1, or ``RNNLIB_THREADS``).

    Small recurrent models run step by step; with several threads each tiny matrix product pays for
    synchronisation, so one thread is as fast or faster on small machines (see the benchmarks).
    """
    if threads is None:
        threads = int(os.environ.get("RNNLIB_THREADS", "1"))
    threads = check_int("threads", threads, low=1, high=MAX_THREADS)
    torch.set_num_threads(threads)
    return threads


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN or infinite; the message says what to try.

    ``history``: the :class:`History` measured up to the step that failed (its per-step records are
    all finite), so a plot can show the run up to where it blew up; ``loss`` and ``grad_norm``: what
    that step measured (``None`` where the raiser did not say).
    """

    def __init__(self, message: str, history: History | None = None, *, loss: float | None = None,
                 grad_norm: float | None = None) -> None:
        super().__init__(message)
        self.history = history
        self.loss, self.grad_norm = loss, grad_norm


@dataclass
class History:
    """What ``fit`` measured. Per epoch: losses, metric (accuracy or MSE), mean gradient norm before
    clipping, seconds. Per step (``record_steps=True``): loss, gradient norm before and after clipping."""

    metric: str
    train_loss: list[float] = field(default_factory=list)
    train_metric: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_metric: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    step_grad_norm: list[float] = field(default_factory=list)
    step_grad_norm_clipped: list[float] = field(default_factory=list)
    max_norm: float | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def steps(self) -> int:
        return len(self.step_loss)

    @property
    def clipped(self) -> list[bool]:
        """Per step: was the gradient rescaled by clipping?"""
        if self.max_norm is None:
            return [False] * len(self.step_grad_norm)
        return [g > self.max_norm for g in self.step_grad_norm]

    def final(self) -> dict[str, float]:
        """The last epoch's numbers as a dict."""
        out = {"train_loss": self.train_loss[-1], f"train_{self.metric}": self.train_metric[-1]}
        if self.test_loss:
            out |= {"test_loss": self.test_loss[-1], f"test_{self.metric}": self.test_metric[-1]}
        return out | {"seconds": sum(self.seconds)}


def loss_and_metric(output: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy and number correct for integer targets; mean squared error (twice) for float
    targets. ``output: (batch, classes)`` or ``(batch, 1)``."""
    if y.is_floating_point():
        loss = F.mse_loss(output.squeeze(-1), y)
        return loss, loss.detach() * len(y)
    loss = F.cross_entropy(output, y)
    return loss, (output.argmax(-1) == y).sum()


#: what fit's train/test and evaluate's data may be, for the messages that refuse anything else
DATA_KINDS = ("a SequenceDataset, or a re-iterable collection (a list, a DataLoader, dataset.batches()) of "
              "(x, y) or (x, y, lengths) batches")


def _unpack(batch, name: str, index: int) -> tuple[Tensor, Tensor, Tensor | None]:
    """``batch`` as ``(x, y, lengths)``; ``ValueError`` naming ``name`` when it is no such batch."""
    if isinstance(batch, tuple | list) and len(batch) in (2, 3):
        x, y, lengths = (*batch, None) if len(batch) == 2 else batch
        if isinstance(x, Tensor) and isinstance(y, Tensor) and (lengths is None or isinstance(lengths, Tensor)):
            return x, y, lengths
    shown = f"a {type(batch).__name__}" + (f" of {len(batch)}" if isinstance(batch, tuple | list) else "")
    raise ValueError(f"{name} must be {DATA_KINDS}, each of tensors; its batch {index} is {shown}")


def _batches(data, name: str, batch_size: int, shuffle: bool, seed: int, passes: int) -> Iterable:
    """``data`` as something to iterate ``passes`` times, each pass yielding ``(x, y, lengths)``.

    Refused up front (``ValueError`` naming ``name``): anything but a :class:`SequenceDataset` or an
    iterable of batches, an empty list or generator, a first batch that is not ``(x, y[, lengths])``
    tensors (for a list or a generator; another re-iterable is checked batch by batch as it is read,
    since peeking could advance it), and a one-shot iterator when it would be read more than once.
    """
    if isinstance(data, SequenceDataset):
        if len(data) == 0:
            raise ValueError(f"{name} is empty: give {DATA_KINDS} with at least one sequence")
        return BatchLoader(data, batch_size, shuffle=shuffle, seed=seed)
    if isinstance(data, BatchLoader):  # never empty, its batches are right; peeking would advance its shuffle
        return data
    if isinstance(data, str | bytes | Tensor) or not hasattr(data, "__iter__"):
        raise ValueError(f"{name} must be {DATA_KINDS}; got {type(data).__name__}")
    one_shot = iter(data) is data
    if one_shot and passes > 1:
        raise ValueError(
            f"{name} is a one-shot iterator ({type(data).__name__}): it would be empty after the first "
            f"of {passes} passes; give {DATA_KINDS}"
        )
    if isinstance(data, Sequence):  # a list or tuple of batches: its first batch is checked by index
        if len(data) == 0:
            raise ValueError(f"{name} is empty: give {DATA_KINDS} with at least one batch")
        _unpack(data[0], name, 1)
        return data
    if not one_shot:  # another re-iterable: each batch is checked as it comes (peeking could advance it)
        return data
    first = next(data, None)
    if first is None:
        raise ValueError(f"{name} is empty: give {DATA_KINDS} with at least one batch")
    _unpack(first, name, 1)
    return itertools.chain([first], data)


def _checked(batches: Iterable, name: str):
    for index, batch in enumerate(batches, start=1):
        yield _unpack(batch, name, index)


def evaluate(model: nn.Module, data, *, batch_size: int = 256, device=None) -> tuple[float, float]:
    """Mean loss and metric (accuracy for classification, MSE for regression) over ``data``.

    ``data``: a :class:`SequenceDataset` or an iterable of ``(x, y)`` or ``(x, y, lengths)`` batches
    (a generator is read once). Runs where the model is (or on ``device``); each batch is moved there.
    """
    _check_model(model)
    batch_size = check_int("batch_size", batch_size, low=1)
    device = model_device(model) if device is None else check_device("device", device)
    return _evaluate(model, _batches(data, "data", batch_size, False, 0, passes=1), "data", device)


@torch.no_grad()
def _evaluate(model: nn.Module, batches: Iterable, name: str, device: torch.device) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    total_loss = total_metric = 0.0
    count = 0
    for x, y, lengths in _checked(batches, name):
        x, y = x.to(device), y.to(device)
        loss, metric = loss_and_metric(model(x, lengths), y)
        total_loss += loss.item() * len(y)
        total_metric += metric.item()
        count += len(y)
    model.train(was_training)
    return total_loss / count, total_metric / count


def _check_model(model) -> None:
    if not isinstance(model, nn.Module) or next(model.parameters(), None) is None:
        raise ValueError(f"model must be a torch nn.Module with parameters (e.g. rnnlib.build_model(...)); "
                         f"got {type(model).__name__}")


def fit(
    model: nn.Module,
    train,
    test=None,
    *,
    epochs: int = 10,
    lr: float = 1e-3,
    max_norm: float | None = None,
    batch_size: int = 64,
    optimizer: str = "adam",
    seed: int = 0,
    max_steps: int | None = None,
    record_steps: bool = False,
    progress: bool = True,
    desc: str | None = None,
    device=None,
    on_epoch=None,
) -> History:
    """Train ``model`` and return its :class:`History`.

    ``train``/``test``: :class:`SequenceDataset` (batched here, shuffled with ``seed``) or re-iterable
    collections of ``(x, y)`` or ``(x, y, lengths)`` batches (a generator only with ``epochs=1``);
    anything else is refused before training starts. ``device``: where to train (``None``: rnnlib's
    current device, the one ``setup()`` picked; the model is moved there). ``max_norm``: clip the
    global gradient norm to this value (``None``: no clipping). ``max_steps`` stops early after that
    many optimiser steps. Integer targets train with cross-entropy and report accuracy; float targets
    with mean squared error and report MSE.
    Batch order and dropout masks are drawn from ``seed``; the caller's random state is left alone.
    Raises :class:`TrainingDiverged` with advice when the loss or gradient is no longer finite.
    Float32 subnormals count as 0 while it trains (:func:`flush_denormals`): a vanishing gradient
    computes with them many times slower, and at 1e-38 and below they change no weight.
    ``on_epoch(epoch, model)``, if given, is called after every epoch (``epoch`` counts from 1), e.g. to
    measure how the gradient path changes during training.
    """
    epochs = check_int("epochs", epochs, low=1, high=MAX_EPOCHS)
    if on_epoch is not None and not callable(on_epoch):
        raise ValueError(f"on_epoch must be a function on_epoch(epoch, model) or None, got {type(on_epoch).__name__}")
    lr = check_float("lr", lr, low=0.0, high=MAX_LR, low_open=True)
    if max_norm is not None:
        max_norm = check_float("max_norm", max_norm, low=0.0, low_open=True)
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, low=1)
    check_choice("optimizer", optimizer, ("adam", "sgd"))
    _check_model(model)
    batch_size = check_int("batch_size", batch_size, low=1)
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    device = current_device() if device is None else check_device("device", device)
    train_batches = _batches(train, "train", batch_size, True, seed, passes=epochs)
    if test is not None:
        test = _batches(test, "test", 256, False, 0, passes=epochs)
    model.to(device)
    # dropout draws from torch's generator: seeded with seed here, the caller's state left alone
    with own_random_state(seed), flush_denormals():
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
        clip_to = float("inf") if max_norm is None else max_norm  # inf: measure the norm, never rescale
        regression = None
        history = History(metric="accuracy", max_norm=max_norm)
        step = 0
        bar = progress_bar(range(epochs), desc=desc or type(model).__name__, enabled=progress)
        for epoch in bar:
            model.train()
            start = time.perf_counter()
            total_loss = total_metric = grad_sum = 0.0
            count = batches = 0
            for x, y, lengths in _checked(train_batches, "train"):
                x, y = x.to(device), y.to(device)
                if regression is None:
                    regression = y.is_floating_point()
                    history.metric = "mse" if regression else "accuracy"
                loss, metric = loss_and_metric(model(x, lengths), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                norm = float(nn.utils.clip_grad_norm_(params, clip_to))
                loss_value = loss.item()
                if not (np.isfinite(loss_value) and np.isfinite(norm)):
                    raise TrainingDiverged(divergence_advice(step, loss_value, norm, lr, max_norm, epoch=epoch),
                                           history, loss=loss_value, grad_norm=norm)
                opt.step()
                step += 1
                total_loss += loss_value * len(y)
                total_metric += metric.item()
                grad_sum += norm
                count += len(y)
                batches += 1
                if record_steps:
                    history.step_loss.append(loss_value)
                    history.step_grad_norm.append(norm)
                    history.step_grad_norm_clipped.append(min(norm, clip_to))
                if max_steps is not None and step >= max_steps:
                    break
            history.seconds.append(time.perf_counter() - start)
            history.train_loss.append(total_loss / count)
            history.train_metric.append(total_metric / count)
            history.grad_norm.append(grad_sum / batches)
            if test is not None:
                test_loss, test_metric = _evaluate(model, test, "test", device)
                history.test_loss.append(test_loss)
                history.test_metric.append(test_metric)
            bar.set_postfix(history.final() | {"seconds": history.seconds[-1]}, refresh=False)
            if on_epoch is not None:
                on_epoch(epoch + 1, model)
            if max_steps is not None and step >= max_steps:
                break
        bar.close()
        return history


def divergence_advice(step: int, loss: float, norm: float, lr: float, max_norm: float | None, *,
                      epoch: int = 0) -> str:
    """What to try when the 0-based ``step`` of ``epoch`` gave a loss or gradient norm that is no
    longer finite (the message of :class:`TrainingDiverged`)."""
    clip = (
        "turn on gradient clipping (max_norm=1.0)"
        if max_norm is None
        else f"clip harder (max_norm={max_norm} now, try {max(max_norm / 5, 0.1):g})"
    )
    return (
        f"training diverged at epoch {epoch + 1}, step {step + 1}: loss = {loss:g}, gradient norm = "
        f"{norm:g}. Nothing was updated with these numbers. Try a lower learning rate (lr={lr:g} now, "
        f"try {lr / 10:g}), {clip}, or a smaller recurrent weight scale (spectral radius below 1)."
    )
