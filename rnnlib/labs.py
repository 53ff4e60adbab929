"""The data behind each lab figure, as plain functions: what the widgets, the tests, nbval and the
benchmarks call. No widgets here (they live in :mod:`rnnlib.widgets`).

* :func:`grad_flow`: ‖∂L/∂h_t‖ for every step t of one model on a batch of long-range sentences,
  optionally after training it for a few steps (the gradient path opens up as the model learns).
* :func:`clipping_run`: a short SGD run on the adding problem with per-step loss and global gradient
  norm, with or without clipping; a run that blows up returns what it measured before it did.
* :func:`sentence_gates`: the gate activations of a GRU or LSTM, trained on the sentiment task, for one
  sentence.

Every argument is checked against the ranges of :mod:`rnnlib.limits` (``ValueError`` names the
parameter and range). They keep the largest setting of each lab at about a second on a small CPU.
Models, trained models, clipping runs and data are cached in-process, keyed by every argument they depend
on (and the device), so moving one slider rebuilds only what that slider changes; :func:`clear_caches`
empties them (for honest timings). Models are built on rnnlib's current device.
Nothing here touches the global random state: every random draw uses its own seed.
"""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import diagnostics
from .architectures import display_name
from .data import SequenceDataset, Task, draw_adding, long_range_task, sentiment_task
from .device import current_device, model_device
from .limits import (
    BATCH_RANGE,
    CLIP_STEPS_RANGE,
    GATE_BIAS_RANGE,
    GATE_HIDDEN_RANGE,
    HIDDEN_RANGE,
    LR_RANGE,
    MAX_NORM_RANGE,
    MAX_SENTENCE_WORDS,
    SEED_RANGE,
    SEQ_LEN_RANGE,
    SPECTRAL_RADIUS_RANGE,
    TRAIN_STEPS_RANGE,
)
from .models import ARCHITECTURES, RecurrentClassifier, build_model
from .training import (
    History,
    TrainingDiverged,
    divergence_advice,
    evaluate,
    fit,
    flush_denormals,
    loss_and_metric,
    own_random_state,
)
from .validation import check_choice, check_float, check_int

# ---- bounds of every argument: defined in rnnlib.limits (the widgets' slider ranges read them too) --
ARCHS = tuple(ARCHITECTURES)  # ("rnn", "gru", "lstm", "bilstm")
GATED_ARCHS = ("gru", "lstm")

#: the memory span counts steps whose ‖∂L/∂h_t‖ is at least this fraction of ‖∂L/∂h_T‖
MEMORY_THRESHOLD = 1e-2
#: predicting 1.0 on the adding problem scores the variance of a sum of two uniforms
ADDING_BASELINE_MSE = 1 / 6

# ---- how the labs train (calibrated in /work/shared/measured-facts.md) ---------------------------
EMBED_DIM = 16
TRAIN_LR = 1e-2  # Adam on the long-range task
TRAIN_BATCH = 32
TRAIN_CHUNK = 50  # training steps per fit call; every whole chunk's model is cached
TRAIN_SENTENCES = 2000  # more than TRAIN_CHUNK batches, so a chunk never repeats a sentence
GATE_EPOCHS = 3  # the sentiment task is solved (~99 % test accuracy) within a few epochs
GATE_LR = 1e-2

#: sentences for the gate lab's menu, every word in the sentiment task's vocabulary
EXAMPLE_SENTENCES = (
    "this film is terrible and the acting was dull",
    "the movie was great",
    "the story was quite good and the acting was really bad",
    "a wonderful film with a very good plot",
    "great acting and the story and the scene and the plot and the movie was it really",
)
#: the traces the gate lab shows: LSTM forget, input, output gates and cell state; GRU update, reset
SHOWN_GATES = {"lstm": ("f", "i", "o", "c"), "gru": ("z", "r")}


class _Cache:
    """A small least-recently-used store: ``get(key, make)`` builds a value once per key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict = OrderedDict()

    def get(self, key: Hashable, make: Callable):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = self.items[key] = make()
        if len(self.items) > self.size:
            self.items.popitem(last=False)
        return value


_PROBES = _Cache(16)
_TRAIN_DATA = _Cache(4)
_MODELS = _Cache(32)
_SENTIMENT = _Cache(1)
_CLIPPING_RUNS = _Cache(64)


def clear_caches() -> None:
    """Forget every cached model, run and data set (the next call builds everything again)."""
    for cache in (_PROBES, _TRAIN_DATA, _MODELS, _SENTIMENT, _CLIPPING_RUNS):
        cache.items.clear()


# ---- gradient flow ------------------------------------------------------------------------------


@dataclass
class GradFlowResult:
    """What :func:`grad_flow` measured.

    ``norms: (T,)`` float64, entry t-1 is ‖∂L/∂h_t‖ (t = 1 … T) over the probe batch and all units.
    ``decay_ratio`` = ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖; ``memory_span``: steps back from T that stay at least
    ``threshold`` × ‖∂L/∂h_T‖. ``grad_norm``: the global norm ‖g‖ of the parameters' gradient on the
    same batch; ``clip_scale`` = min(1, max_norm / ‖g‖) is the factor clipping would multiply the
    update by (1.0 without clipping). ``loss``/``accuracy``: the model on the probe batch.
    ``spectral_radii``: of every recurrent block W_hh (see :func:`rnnlib.spectral_radii`).
    """

    norms: np.ndarray
    decay_ratio: float
    memory_span: int
    threshold: float
    grad_norm: float
    clip_scale: float
    loss: float
    accuracy: float
    spectral_radii: dict[str, float]
    settings: dict = field(default_factory=dict)

    @property
    def seq_len(self) -> int:
        return len(self.norms)

    @property
    def label(self) -> str:
        """A short legend entry naming the settings that shape the curve."""
        s = self.settings
        parts = [display_name(s["arch"]), f"H={s['hidden_dim']}", f"T={s['seq_len']}"]
        if s["spectral_radius"] is not None:
            parts.append(f"ρ={s['spectral_radius']:g}")
        if s["forget_bias"] is not None:
            parts.append(f"{'b_f' if s['arch'] in ('lstm', 'bilstm') else 'b_z'}={s['forget_bias']:g}")
        if s["max_norm"] is not None:
            parts.append(f"clip {s['max_norm']:.3g}")
        if s["train_steps"]:
            parts.append(f"{s['train_steps']} steps")
        return ", ".join(parts)


def _last_tokens(data: SequenceDataset, count: int) -> SequenceDataset:
    """Each sequence's last ``count`` tokens: ``x: (N, count)``, no padding.

    A long-range sentence is ``[0–4 neutral words] [deciding word] [count - 1 filler words]``, so this
    keeps exactly ``[deciding word] [fillers]``: the word sits at t = 1, the loss is read at t = T.
    """
    start = (data.lengths - count).unsqueeze(1)  # (N, 1)
    index = start + torch.arange(count).unsqueeze(0)  # (N, count)
    return SequenceDataset(data.x.gather(1, index), data.y, torch.full_like(data.lengths, count))


def long_range_probe(seq_len: int, seed: int = 0, batch_size: int = 16) -> tuple[Task, SequenceDataset]:
    """The batch ∂L/∂h_t is measured on: ``batch_size`` long-range sentences of exactly ``seq_len``
    tokens, the deciding word first. Returns ``(task, probe)``; ``task`` gives the vocabulary."""
    seq_len = check_int("seq_len", seq_len, low=SEQ_LEN_RANGE[0], high=SEQ_LEN_RANGE[1])
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    batch_size = check_int("batch_size", batch_size, low=BATCH_RANGE[0], high=BATCH_RANGE[1])

    def make():
        task = long_range_task(seq_len - 1, n_train=2, n_test=max(batch_size, 2), seed=seed)
        return task, _last_tokens(task.test.subset(slice(0, batch_size)), seq_len)

    return _PROBES.get((seq_len, seed, batch_size), make)


def _training_sentences(seq_len: int, seed: int) -> SequenceDataset:
    """``TRAIN_SENTENCES`` long-range sentences of exactly ``seq_len`` tokens for the train action."""

    def make():
        task = long_range_task(seq_len - 1, n_train=TRAIN_SENTENCES, n_test=2, seed=seed)
        return _last_tokens(task.train, seq_len)

    return _TRAIN_DATA.get((seq_len, seed), make)


def _seeded_model(seed: int, **kwargs) -> RecurrentClassifier:
    """``build_model(**kwargs)`` with its own seed, on rnnlib's current device; the caller's random state
    is left alone. The weights are drawn on the CPU, so they are the same numbers on every device."""
    with own_random_state(seed):
        return build_model(**kwargs).to(current_device())


def _check_optional(name: str, value, bounds: tuple[float, float]) -> float | None:
    return None if value is None else check_float(name, value, low=bounds[0], high=bounds[1])


def _grad_flow_model(
    arch, hidden_dim, seq_len, spectral_radius, forget_bias, max_norm, seed, train_steps, task
) -> tuple[RecurrentClassifier, dict[str, float]]:
    """The (cached) model and the spectral radii of its W_hh blocks.

    An untrained model does not depend on ``seq_len`` or ``max_norm``, so moving those sliders reuses
    it. Training runs in chunks of ``TRAIN_CHUNK`` Adam steps on long-range sentences of length
    ``seq_len`` (clipped at ``max_norm`` when given), each chunk one :func:`~rnnlib.fit` call with
    its own shuffle; the model after every whole chunk is cached, so "train 100 more steps" costs
    100 steps, and the same ``train_steps`` always gives the same model whatever was cached before.
    """
    init_key = (arch, hidden_dim, spectral_radius, forget_bias, seed, str(current_device()))

    def build():
        model = _seeded_model(
            seed, arch=arch, hidden_dim=hidden_dim, embed_dim=EMBED_DIM, forget_bias=forget_bias,
            spectral_radius=spectral_radius, **task.model_kwargs(),
        )
        return model, diagnostics.spectral_radii(model)

    def key(steps: int) -> tuple:
        return init_key if steps == 0 else init_key + (seq_len, max_norm, steps)

    done = train_steps
    while done > 0 and key(done) not in _MODELS.items:
        done = (done - 1) // TRAIN_CHUNK * TRAIN_CHUNK  # back to the previous chunk boundary
    entry = _MODELS.get(key(done), build)  # the furthest model already trained (or the initial one)
    while done < train_steps:
        chunk = min(TRAIN_CHUNK, train_steps - done)
        model = copy.deepcopy(entry[0])
        fit(model, _training_sentences(seq_len, seed), epochs=1, max_steps=chunk, lr=TRAIN_LR,
            max_norm=max_norm, batch_size=TRAIN_BATCH, seed=seed + done // TRAIN_CHUNK, progress=False)
        done += chunk
        entry = _MODELS.get(key(done), lambda model=model: (model, diagnostics.spectral_radii(model)))
    return entry


def grad_flow(
    arch: str = "rnn",
    hidden_dim: int = 64,
    seq_len: int = 50,
    *,
    spectral_radius: float | None = None,
    forget_bias: float | None = None,
    max_norm: float | None = None,
    seed: int = 0,
    batch_size: int = 16,
    train_steps: int = 0,
) -> GradFlowResult:
    """Measure ‖∂L/∂h_t‖ for t = 1 … ``seq_len`` on long-range sentences.

    Each probe sentence is its deciding word followed by ``seq_len - 1`` neutral fillers and the loss
    is read at the last step, so ∂L/∂h_t says how strongly the state at step t can still be corrected
    by the loss: the word's information must travel through every step between.

    ``arch``: ``"rnn"``, ``"gru"``, ``"lstm"``, ``"bilstm"`` (h_t of the forward direction);
    ``spectral_radius``: rescale every W_hh block to it (``None``: PyTorch's init);
    ``forget_bias``: LSTM forget-gate / GRU update-gate bias (``None``: PyTorch's init; not for RNN);
    ``train_steps``: first train that many Adam steps on the long-range task (lr ``TRAIN_LR``, batch
    ``TRAIN_BATCH``, in chunks of ``TRAIN_CHUNK`` steps each with a fresh optimiser), clipped at
    ``max_norm`` when given.

    Clipping is reported, not applied to the measurement: it rescales the parameters' gradient after
    the backward pass, so ∂L/∂h_t is the same with or without it. ``clip_scale`` says how much
    clipping would shrink this batch's update.
    """
    check_choice("arch", arch, ARCHS)
    hidden_dim = check_int("hidden_dim", hidden_dim, low=HIDDEN_RANGE[0], high=HIDDEN_RANGE[1])
    spectral_radius = _check_optional("spectral_radius", spectral_radius, SPECTRAL_RADIUS_RANGE)
    forget_bias = _check_optional("forget_bias", forget_bias, GATE_BIAS_RANGE)
    if forget_bias is not None and arch == "rnn":
        raise ValueError("forget_bias needs a gated model (gru, lstm, bilstm): a vanilla RNN has no gate")
    max_norm = _check_optional("max_norm", max_norm, MAX_NORM_RANGE)
    train_steps = check_int("train_steps", train_steps, low=TRAIN_STEPS_RANGE[0], high=TRAIN_STEPS_RANGE[1])
    task, probe = long_range_probe(seq_len, seed, batch_size)
    model, radii = _grad_flow_model(
        arch, hidden_dim, seq_len, spectral_radius, forget_bias, max_norm, seed, train_steps, task
    )

    norms = diagnostics.hidden_grad_norms(model, probe.x, probe.y).numpy()
    # the update training would take on this batch: ‖g‖ over every parameter, as fit measures it
    params = [p for p in model.parameters() if p.requires_grad]
    device = model_device(model)
    with flush_denormals():  # a vanished float32 gradient is subnormal: slow to compute, and ≈ 0
        loss, correct = loss_and_metric(model(probe.x.to(device)), probe.y.to(device))
        grads = torch.autograd.grad(loss, params)
    # the 2-norm of the per-tensor 2-norms, as clip_grad_norm_ computes it (works on torch 2.2)
    grad_norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
    # torch.nn.utils.clip_grad_norm_ multiplies every gradient by min(1, max_norm / (‖g‖ + 1e-6))
    clip_scale = 1.0 if max_norm is None else min(1.0, max_norm / (grad_norm + 1e-6))
    return GradFlowResult(
        norms=norms,
        decay_ratio=diagnostics.decay_ratio(norms),
        memory_span=diagnostics.memory_span(norms, MEMORY_THRESHOLD),
        threshold=MEMORY_THRESHOLD,
        grad_norm=grad_norm,
        clip_scale=clip_scale,
        loss=float(loss.detach()),
        accuracy=float(correct) / len(probe),
        spectral_radii=radii,
        settings=dict(arch=arch, hidden_dim=hidden_dim, seq_len=seq_len, spectral_radius=spectral_radius,
                      forget_bias=forget_bias, max_norm=max_norm, seed=seed, batch_size=batch_size,
                      train_steps=train_steps),
    )


# ---- clipping -----------------------------------------------------------------------------------


#: a clipping run's final loss is the mean over its last this many steps (one batch's loss is noisy)
FINAL_LOSS_STEPS = 10


@dataclass
class ClippingResult:
    """What :func:`clipping_run` measured. ``history`` holds the per-step records ``step_loss``,
    ``step_grad_norm`` (before clipping) and ``step_grad_norm_clipped``, all finite. If the run blew
    up, ``diverged_at`` is the (1-based) step whose loss or gradient was no longer finite and
    ``message`` is fit's advice; otherwise both are ``None``."""

    history: History
    diverged_at: int | None
    message: str | None
    settings: dict = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def label(self) -> str:
        max_norm = self.settings["max_norm"]
        return "no clipping" if max_norm is None else f"clip at max_norm={max_norm:g}"

    @property
    def final_loss(self) -> float:
        """Mean loss of the last :data:`FINAL_LOSS_STEPS` steps (of the steps run before a divergence)."""
        losses = self.history.step_loss[-FINAL_LOSS_STEPS:]
        return float(np.mean(losses)) if losses else float("nan")

    @property
    def learned(self) -> bool:
        """Did the run learn: finite to the end, and its final loss below :data:`ADDING_BASELINE_MSE`
        (what always predicting the mean target scores)? Staying finite alone is not learning."""
        return not self.diverged and self.final_loss < ADDING_BASELINE_MSE


def clipping_run(
    max_norm: float | None = None,
    *,
    spectral_radius: float = 2.5,
    lr: float = 0.05,
    steps: int = 100,
    seed: int = 0,
    seq_len: int = 50,
    hidden_dim: int = 64,
    batch_size: int = 32,
) -> ClippingResult:
    """Train a tanh RNN with plain SGD on the adding problem for ``steps`` steps, recording per step
    the loss and the global gradient norm before and after clipping at ``max_norm`` (``None``: off).

    With W_hh at spectral radius 2.5 the gradient explodes: without clipping the loss becomes infinite
    within a few dozen steps (the run stops there and returns what it measured, with the advice);
    with ``max_norm=1`` every update is at most ``lr`` long and the run stays finite. SGD, not Adam:
    Adam divides by the gradient's running scale, which hides the explosion clipping is about.
    Whether it *learned* is :attr:`ClippingResult.learned`: its final loss below the baseline
    :data:`ADDING_BASELINE_MSE`.

    Step k trains on the k-th batch of one stream seeded by ``seed``, so a run of fewer steps is the
    start of a run of more: runs are cached per setting *without* ``steps``, a shorter run is read from
    a longer one and a longer run continues a shorter one (plain SGD keeps no state besides the
    weights), with the same numbers as a fresh run.
    """
    max_norm = _check_optional("max_norm", max_norm, MAX_NORM_RANGE)
    spectral_radius = check_float("spectral_radius", spectral_radius, low=SPECTRAL_RADIUS_RANGE[0],
                                  high=SPECTRAL_RADIUS_RANGE[1])
    lr = check_float("lr", lr, low=LR_RANGE[0], high=LR_RANGE[1])
    steps = check_int("steps", steps, low=CLIP_STEPS_RANGE[0], high=CLIP_STEPS_RANGE[1])
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    seq_len = check_int("seq_len", seq_len, low=SEQ_LEN_RANGE[0], high=SEQ_LEN_RANGE[1])
    hidden_dim = check_int("hidden_dim", hidden_dim, low=HIDDEN_RANGE[0], high=HIDDEN_RANGE[1])
    batch_size = check_int("batch_size", batch_size, low=BATCH_RANGE[0], high=BATCH_RANGE[1])
    settings = dict(max_norm=max_norm, spectral_radius=spectral_radius, lr=lr, seed=seed, seq_len=seq_len,
                    hidden_dim=hidden_dim, batch_size=batch_size)
    key = (*settings.values(), str(current_device()))
    run = _CLIPPING_RUNS.get(key, lambda: _ClippingProgress(settings))
    run.advance(steps)
    return run.result(steps)


class _ClippingProgress:
    """One clipping run as far as it has been trained: its model after the steps recorded, the stream
    its batches come from (positioned at the next batch), and how it diverged if it did."""

    def __init__(self, settings: dict) -> None:
        s = self.settings = settings
        self.model = _seeded_model(s["seed"], arch="rnn", input_dim=2, output_dim=1, hidden_dim=s["hidden_dim"],
                                   spectral_radius=s["spectral_radius"])
        self.stream = torch.Generator().manual_seed(s["seed"])
        self.records = History(metric="mse", max_norm=s["max_norm"])
        self.diverged_at: int | None = None
        self.message: str | None = None

    def advance(self, steps: int) -> None:
        """Train until ``steps`` steps are recorded or the run has diverged."""
        s, done = self.settings, self.records.steps
        if self.diverged_at is not None or done >= steps:
            return
        # batch by batch from the one stream: batch k never depends on how many steps are asked for
        batches = [draw_adding(self.stream, s["batch_size"], s["seq_len"]) for _ in range(steps - done)]
        try:
            more = fit(self.model, [(batch.x, batch.y) for batch in batches], epochs=1, lr=s["lr"],
                       max_norm=s["max_norm"], optimizer="sgd", seed=s["seed"], record_steps=True,
                       progress=False)
        except TrainingDiverged as error:
            more = error.history
            self.diverged_at = done + more.steps + 1
            self.message = divergence_advice(self.diverged_at - 1, error.loss, error.grad_norm, s["lr"],
                                             s["max_norm"])
        for name in ("step_loss", "step_grad_norm", "step_grad_norm_clipped"):
            getattr(self.records, name).extend(getattr(more, name))

    def result(self, steps: int) -> ClippingResult:
        """The first ``steps`` steps (all of them, up to where it blew up, if it diverged by then)."""
        diverged = self.diverged_at is not None and self.diverged_at <= steps
        shown = self.records.steps if diverged else steps
        history = History(metric="mse", max_norm=self.records.max_norm)
        for name in ("step_loss", "step_grad_norm", "step_grad_norm_clipped"):
            setattr(history, name, getattr(self.records, name)[:shown])  # copies: the cache stays as it is
        if not diverged:  # a finished run's one epoch, as fit reports it
            history.train_loss = [float(np.mean(history.step_loss))]
            history.train_metric = list(history.train_loss)  # the MSE is the loss
            history.grad_norm = [float(np.mean(history.step_grad_norm))]
        return ClippingResult(history, self.diverged_at if diverged else None, self.message if diverged else None,
                              self.settings | {"steps": steps})


# ---- gates --------------------------------------------------------------------------------------


@dataclass
class GateTraceResult:
    """What :func:`sentence_gates` measured for one sentence.

    ``tokens``: the words as the model read them (unknown words become ``<unk>``); ``gates``: name →
    ``(time, hidden)`` activations (LSTM ``i``, ``f``, ``g``, ``o`` and cell state ``c``; GRU ``r``,
    ``z``, ``n``); ``positive``: the model's probability that the sentence is positive;
    ``test_accuracy``: the model's accuracy on the sentiment test set.
    """

    tokens: list[str]
    gates: dict[str, np.ndarray]
    positive: float
    test_accuracy: float
    unknown: list[str]
    settings: dict = field(default_factory=dict)


def _sentiment() -> Task:
    return _SENTIMENT.get("sentiment", sentiment_task)


def gate_vocabulary() -> list[str]:
    """Every token the gate lab's model knows, ``<pad>`` and ``<unk>`` included."""
    return list(_sentiment().vocab.itos)


def sentence_tokens(sentence: str) -> list[str]:
    """Lower-case words of ``sentence``, punctuation dropped; ValueError if none or too many."""
    if not isinstance(sentence, str):
        raise ValueError(f"sentence must be a string, got {type(sentence).__name__}")
    words = re.findall(r"[a-z']+", sentence.lower())
    if not 1 <= len(words) <= MAX_SENTENCE_WORDS:
        raise ValueError(
            f"sentence must hold 1 to {MAX_SENTENCE_WORDS} words; got {len(words)} in {sentence!r}"
        )
    return words


def _gate_model(arch, hidden_dim, forget_bias, trained, seed) -> tuple[RecurrentClassifier, float]:
    """The (cached) gate-lab model and its sentiment test accuracy."""

    def make():
        task = _sentiment()
        model = _seeded_model(seed, arch=arch, hidden_dim=hidden_dim, embed_dim=EMBED_DIM,
                              forget_bias=forget_bias, **task.model_kwargs())
        if trained:
            fit(model, task.train, epochs=GATE_EPOCHS, lr=GATE_LR, max_norm=1.0, seed=seed,
                progress=False)
        return model, evaluate(model, task.test)[1]

    return _MODELS.get(("gates", arch, hidden_dim, forget_bias, trained, seed, str(current_device())), make)


def sentence_gates(
    arch: str = "lstm",
    sentence: str = EXAMPLE_SENTENCES[0],
    *,
    forget_bias: float | None = None,
    trained: bool = True,
    seed: int = 0,
    hidden_dim: int = 16,
) -> GateTraceResult:
    """Gate activations of a GRU or LSTM reading ``sentence``, step by step.

    ``trained=True`` first trains the model on the course's sentiment task (``GATE_EPOCHS`` epochs of
    Adam, about a second; cached per setting), so the gates show what a working model does;
    ``trained=False`` shows PyTorch's initialisation. ``forget_bias``: LSTM forget-gate / GRU
    update-gate bias before training (``None``: PyTorch's init).
    """
    check_choice("arch", arch, GATED_ARCHS)
    tokens = sentence_tokens(sentence)
    forget_bias = _check_optional("forget_bias", forget_bias, GATE_BIAS_RANGE)
    if not isinstance(trained, bool):
        raise ValueError(f"trained must be True or False, got {trained!r}")
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    hidden_dim = check_int("hidden_dim", hidden_dim, low=GATE_HIDDEN_RANGE[0], high=GATE_HIDDEN_RANGE[1])
    vocab = _sentiment().vocab
    model, accuracy = _gate_model(arch, hidden_dim, forget_bias, trained, seed)

    x = torch.tensor([vocab.encode(" ".join(tokens))], device=model_device(model))
    traces = diagnostics.gate_traces(model, x)
    with torch.no_grad():
        positive = float(torch.softmax(model(x), -1)[0, 1])
    return GateTraceResult(
        tokens=[w if w in vocab.stoi else "<unk>" for w in tokens],
        gates={name: values[0] for name, values in traces.items()},
        positive=positive,
        test_accuracy=accuracy,
        unknown=[w for w in tokens if w not in vocab.stoi],
        settings=dict(arch=arch, sentence=sentence, forget_bias=forget_bias, trained=trained, seed=seed,
                      hidden_dim=hidden_dim),
    )


__all__ = [
    "ClippingResult",
    "GateTraceResult",
    "GradFlowResult",
    "clear_caches",
    "clipping_run",
    "gate_vocabulary",
    "sentence_gates",
    "grad_flow",
    "long_range_probe",
    "sentence_tokens",
]


# ---- the padding trap (notebook 04) ----------------------------------------------------------------

#: the padding slider's range (tokens added after the sentence, as a longer partner in its batch would)
PADDING_RANGE = (0, 60)
TRAP_EPOCHS = 3  # a BiLSTM reaches ~98 % test accuracy on the sentiment task within 3 epochs
READOUTS = {
    "wrong": "wrong: no packing, read at the padded end",
    "half": "half right: no packing, read at the true length",
    "right": "right: packed, [h→_T ; h←_1] at the true length",
}


@dataclass
class PaddingTrapResult:
    """What :func:`padding_trap` measured for one sentence padded with 0 … ``max_padding`` tokens.

    ``padding: (P,)`` the numbers of padding tokens; ``positive``: readout name (:data:`READOUTS`) →
    ``(P,)`` P(positive); ``forward_change`` / ``backward_change: (P,)`` the largest change over the
    units of ``h→`` read at the padded end and of ``h←_1``, both run without packing, against the
    sentence alone. ``alone``: P(positive) of the sentence alone (no padding).
    """

    tokens: list[str]
    padding: np.ndarray
    positive: dict[str, np.ndarray]
    forward_change: np.ndarray
    backward_change: np.ndarray
    alone: float
    test_accuracy: float
    settings: dict = field(default_factory=dict)

    def at(self, padding: int) -> dict[str, float]:
        """P(positive) of every readout at ``padding`` tokens."""
        index = int(np.searchsorted(self.padding, padding))
        if index >= len(self.padding) or self.padding[index] != padding:
            raise ValueError(f"padding must be one of 0 … {int(self.padding[-1])}, got {padding!r}")
        return {name: float(p[index]) for name, p in self.positive.items()}


def _trap_model(hidden_dim: int, seed: int) -> tuple[RecurrentClassifier, float]:
    """The (cached) BiLSTM trained on the sentiment task, and its test accuracy."""

    def make():
        task = _sentiment()
        model = _seeded_model(seed, arch="bilstm", hidden_dim=hidden_dim, **task.model_kwargs())
        fit(model, task.train, epochs=TRAP_EPOCHS, lr=1e-3, max_norm=5.0, seed=seed, progress=False)
        return model.eval(), evaluate(model, task.test)[1]

    return _MODELS.get(("padding trap", hidden_dim, seed), make)


def padding_trap(
    sentence: str = "the acting was awful",
    *,
    max_padding: int = 30,
    hidden_dim: int = 64,
    seed: int = 0,
    model: RecurrentClassifier | None = None,
) -> PaddingTrapResult:
    """A trained BiLSTM reads ``sentence`` padded with 0 … ``max_padding`` tokens (what a longer partner
    in its batch adds), through three readouts (:data:`READOUTS`): ``"wrong"`` runs the layer over the
    padded row and reads both directions at the row's ends (``model(x)`` without ``lengths``);
    ``"half"`` reads the forward state at the true last word but still lets the backward direction start
    on the padding (:func:`rnnlib.models.naive_bidirectional_forward`); ``"right"`` packs the batch and
    reads ``[h→_T ; h←_1]`` at the true length (``model(x, lengths)``).

    The model (embedding 32, ``hidden_dim``, trained ``TRAP_EPOCHS`` epochs of Adam on the course's
    sentiment sentences with ``seed``) is cached per setting; the first call trains it (a few seconds).
    ``model``: a trained bidirectional rnnlib model on the sentiment vocabulary to use instead (then
    ``hidden_dim`` and ``seed`` are not used, and ``test_accuracy`` is its accuracy on the test set).
    """
    from .models import naive_bidirectional_forward  # here, not at the top: the wrong way is used only here

    tokens = sentence_tokens(sentence)
    max_padding = check_int("max_padding", max_padding, low=PADDING_RANGE[0] + 1, high=PADDING_RANGE[1])
    hidden_dim = check_int("hidden_dim", hidden_dim, low=HIDDEN_RANGE[0], high=HIDDEN_RANGE[1])
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    vocab = _sentiment().vocab
    unknown = [w for w in tokens if w not in vocab.stoi]
    if unknown:
        raise ValueError(f"sentence must use words of the sentiment vocabulary; unknown: {', '.join(unknown)}")
    if model is None:
        model, accuracy = _trap_model(hidden_dim, seed)
    else:
        if not isinstance(model, RecurrentClassifier) or not model.bidirectional:
            raise ValueError(f"model must be a trained bidirectional rnnlib model (arch 'bilstm'), got {model!r:.60}")
        accuracy = evaluate(model, _sentiment().test)[1]  # evaluate leaves train/eval mode as it was

    n = len(tokens)
    padding = np.arange(max_padding + 1)
    x = torch.zeros(len(padding), n + max_padding, dtype=torch.long)  # row k: the sentence, then k pads
    x[:, :n] = torch.tensor(vocab.encode(" ".join(tokens)))
    lengths = torch.full((len(padding),), n)
    H = model.hidden_dim
    with torch.no_grad():
        positive = {}
        rows = [x[k : k + 1, : n + k] for k in padding]  # each row as its own batch, exactly k pads long
        wrong = torch.cat([model(row) for row in rows])
        half = torch.cat([naive_bidirectional_forward(model, row, torch.tensor([n])) for row in rows])
        right = model(x, lengths)
        for name, out in (("wrong", wrong), ("half", half), ("right", right)):
            positive[name] = out.softmax(-1)[:, 1].double().numpy()
        states = [model.encode(row) for row in rows]  # no lengths: no packing
        alone = states[0][0]  # (n, 2H), no padding
        forward = np.array([float((s[0, -1, :H] - alone[-1, :H]).abs().max()) for s in states])
        backward = np.array([float((s[0, 0, H:] - alone[0, H:]).abs().max()) for s in states])
    return PaddingTrapResult(
        tokens=tokens, padding=padding, positive=positive, forward_change=forward, backward_change=backward,
        alone=float(positive["right"][0]), test_accuracy=accuracy,
        settings=dict(sentence=sentence, max_padding=max_padding, hidden_dim=hidden_dim, seed=seed,
                      own_model=model is not None),
    )


__all__ += ["PADDING_RANGE", "READOUTS", "PaddingTrapResult", "padding_trap"]
