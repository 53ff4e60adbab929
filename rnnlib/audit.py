"""The claims audit of notebook 05: each quantitative claim of the original module's text, measured with
rnnlib and given a verdict.

Two kinds of plain functions:

* **measurements** — parameter counts, multiply-adds per step, the gradient's decay against the spectral
  radius of W_hh, clipping trials on an exploding RNN, the word-vote baseline of the seed task, and the
  comparison table computed from a seed-task run and a long-range :func:`rnnlib.compare.sweep`;
* **verdicts** — each turns measured numbers into a :class:`Verdict`: the claim, one of
  :data:`VERDICTS`, and the evidence in a short text.

A verdict's text holds categories, counts and numbers of a deterministic float64 computation, never
timings or a trained model's exact accuracy (those are printed beside it), so a notebook can check its
output with ``# NBVAL_CHECK_OUTPUT``. A long-range run counts as *solved* at :data:`SOLVED` test
accuracy; chance is 50 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from . import labs, limits
from .architectures import display_name
from .compare import FORGET_GATE_ARCHS, sweep_finals
from .data import NEGATIVE_WORDS, POSITIVE_WORDS, BatchLoader, SequenceDataset, long_range_task
from .device import check_device, current_device
from .diagnostics import regime
from .models import ARCHITECTURES, RecurrentClassifier, build_model, count_parameters
from .training import fit, own_random_state
from .validation import check_choice, check_float, check_int

CONFIRMED = "confirmed"
PARTLY = "partly confirmed"
NOT_CONFIRMED = "not confirmed"
NOT_TESTED = "not tested here"
VERDICTS = (CONFIRMED, PARTLY, NOT_CONFIRMED, NOT_TESTED)

#: final test accuracy from which a long-range run counts as solved (guessing gives 50 %)
SOLVED = 0.9

#: the original module's words, one per audited claim
CLAIMS = {
    "gru_parameters": "GRU: ~25 % fewer parameters than LSTM",
    "bilstm_parameters": "BiLSTM: 2x the parameters of an LSTM",
    "rnn_memory": "vanilla RNNs cannot learn dependencies beyond ~10-20 steps",
    "lstm_memory": "LSTMs learn dependencies spanning hundreds of steps",
    "spectral_radius": "largest eigenvalue of W_hh < 1: gradients vanish; > 1: they explode",
    "clipping": "clipping the gradient norm at 1.0-5.0 prevents exploding gradients",
    "speed": "training speed: RNN fastest, then GRU, LSTM, BiLSTM slowest",
    "gru_vs_lstm": "GRU performs comparably to LSTM",
}


@dataclass(frozen=True)
class Verdict:
    """One audited claim: ``verdict`` is one of :data:`VERDICTS`, ``evidence`` says what was measured."""

    claim: str
    verdict: str
    evidence: str

    def __str__(self) -> str:
        return f"{self.claim}\n  -> {self.verdict.upper()}: {self.evidence}"


# ---- measurements --------------------------------------------------------------------------------


def _models(vocab_size: int, embed_dim: int, hidden_dim: int, output_dim: int) -> dict[str, RecurrentClassifier]:
    vocab_size = check_int("vocab_size", vocab_size, low=2)
    # counting needs shapes only: on the meta device no memory is used and no random number is drawn,
    # and the counts are the same on every device
    with torch.device("meta"):
        return {arch: build_model(arch, vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim,
                                  output_dim=output_dim) for arch in ARCHITECTURES}


def parameter_counts(vocab_size: int, *, embed_dim: int = 32, hidden_dim: int = 64,
                     output_dim: int = 2) -> dict[str, dict[str, int]]:
    """Trainable parameters of each architecture's classifier at these sizes (one layer):
    ``{arch: {"recurrent": layer only, "total": embedding + layer + output layer}}``."""
    return {arch: {"recurrent": count_parameters(model, recurrent_only=True), "total": count_parameters(model)}
            for arch, model in _models(vocab_size, embed_dim, hidden_dim, output_dim).items()}


def multiply_adds_per_step(model: RecurrentClassifier) -> int:
    """Multiply-adds the recurrent layer spends per sequence and time step: every entry of every
    ``W_ih`` and ``W_hh`` (each direction, each layer) is used once per step. For one layer:
    ``G·H·(E + H)`` per direction, G = 1 (RNN), 3 (GRU), 4 (LSTM) gate blocks."""
    if not isinstance(model, RecurrentClassifier):
        raise ValueError(f"model must be an rnnlib model (build_model), got {type(model).__name__}")
    return sum(p.numel() for name, p in model.rnn.named_parameters() if name.startswith("weight_"))


def multiply_adds(vocab_size: int, *, embed_dim: int = 32, hidden_dim: int = 64) -> dict[str, int]:
    """:func:`multiply_adds_per_step` of each architecture at these sizes."""
    return {arch: multiply_adds_per_step(model)
            for arch, model in _models(vocab_size, embed_dim, hidden_dim, 2).items()}


def word_vote(texts: Sequence[str]) -> list[int]:
    """A bag of words for the seed's sentiment task: 1 (positive) if a text has more words of the positive
    list than of the negative list, else 0. Word order plays no part."""
    if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
        raise ValueError("texts must be a list of strings (sentences), not a single string")
    positive, negative = set(POSITIVE_WORDS), set(NEGATIVE_WORDS)
    votes = []
    for text in texts:
        words = text.split()
        votes.append(int(sum(w in positive for w in words) > sum(w in negative for w in words)))
    return votes


def radius_decay(radii: Sequence[float], *, seq_len: int = 100, hidden_dim: int = 64,
                 seed: int = 0) -> dict[float, float]:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ of an untrained tanh RNN with every ``W_hh`` rescaled to each spectral
    radius in ``radii``: ``{radius: decay ratio}``, measured in float64 by :func:`rnnlib.labs.grad_flow`
    on long-range sentences of ``seq_len`` words."""
    if not radii:
        raise ValueError("radii must hold at least one spectral radius")
    return {r: labs.grad_flow("rnn", hidden_dim, seq_len, spectral_radius=r, seed=seed).decay_ratio for r in radii}


def clipping_trials(max_norms: Sequence[float | None] = (None, 1.0, 5.0), seeds: Sequence[int] = (0, 1, 2),
                    *, steps: int = 100, **settings) -> dict[float | None, list[labs.ClippingResult]]:
    """:func:`rnnlib.labs.clipping_run` for every ``max_norm`` (``None``: no clipping) and seed: an
    exploding tanh RNN (spectral radius 2.5, SGD) on the adding problem. ``{max_norm: [result per seed]}``."""
    if not max_norms or not seeds:
        raise ValueError("max_norms and seeds must each hold at least one value")
    return {max_norm: [labs.clipping_run(max_norm, steps=steps, seed=seed, **settings) for seed in seeds]
            for max_norm in max_norms}


@dataclass(frozen=True)
class MemoryRun:
    """What :func:`memory_run` measured: one model, one distance, one seed.

    ``steps[k]`` optimiser steps had been taken when the test accuracy was ``accuracy[k]``;
    ``seconds``: training time (evaluations excluded); ``settings``: everything the run depended on."""

    arch: str
    distance: int
    seed: int
    steps: tuple[int, ...]
    accuracy: tuple[float, ...]
    seconds: float
    settings: dict

    @property
    def final(self) -> float:
        return self.accuracy[-1]

    @property
    def solved_at(self) -> int | None:
        """The first checkpoint (optimiser steps) with test accuracy ≥ :data:`SOLVED`, else ``None``."""
        return next((step for step, acc in zip(self.steps, self.accuracy) if acc >= SOLVED), None)


class _Chunks:
    """Training batches in chunks of ``chunk`` optimiser steps: each pass (one "epoch" for :func:`fit`)
    continues the shuffled stream where the last one stopped, so fit's per-epoch test evaluation
    becomes an evaluation every ``chunk`` steps, with one optimiser throughout."""

    def __init__(self, data: SequenceDataset, batch_size: int, chunk: int, seed: int) -> None:
        self.loader, self.chunk = BatchLoader(data, batch_size, shuffle=True, seed=seed), chunk
        self.stream = iter(self.loader)

    def __iter__(self):
        for _ in range(self.chunk):
            batch = next(self.stream, None)
            if batch is None:  # the data set is used up: a new shuffled pass
                self.stream = iter(self.loader)
                batch = next(self.stream)
            yield batch


def memory_run(arch: str, distance: int, *, seed: int = 0, max_steps: int = 600, eval_every: int = 50,
               forget_bias: float | None = 3.0, n_train: int = 4000, n_test: int = 500, embed_dim: int = 16,
               hidden_dim: int = 32, lr: float = 1e-2, max_norm: float | None = 1.0, batch_size: int = 64,
               progress: bool = False) -> MemoryRun:
    """Train ``arch`` on the long-range task with the deciding word ``distance`` steps before the end and
    measure its test accuracy every ``eval_every`` optimiser steps, up to ``max_steps``.

    The settings are the long-range comparison's (embedding 16, hidden 32, Adam 1e-2, clipping at 1.0,
    batch 64); ``forget_bias`` applies to the LSTM and BiLSTM only. ``seed`` draws the initial weights
    and the batch order; the sentences are the task generator's fixed ones. The caller's random state
    is left alone."""
    check_choice("arch", arch, tuple(ARCHITECTURES))
    distance = check_int("distance", distance, low=0, high=limits.MAX_DISTANCE)
    seed = check_int("seed", seed, low=limits.SEED_RANGE[0], high=limits.SEED_RANGE[1])
    eval_every = check_int("eval_every", eval_every, low=1)
    max_steps = check_int("max_steps", max_steps, low=eval_every)
    if max_steps % eval_every:
        raise ValueError(f"max_steps must be a multiple of eval_every ({eval_every}), got {max_steps}")
    if forget_bias is not None:
        forget_bias = check_float("forget_bias", forget_bias, low=-limits.GATE_BIAS_LIMIT, high=limits.GATE_BIAS_LIMIT)
    task = long_range_task(distance, n_train=n_train, n_test=n_test)
    bias = forget_bias if arch in FORGET_GATE_ARCHS else None
    with own_random_state(seed):
        model = build_model(arch, embed_dim=embed_dim, hidden_dim=hidden_dim, forget_bias=bias,
                            **task.model_kwargs())
        history = fit(model, _Chunks(task.train, batch_size, eval_every, seed), task.test,
                      epochs=max_steps // eval_every, lr=lr, max_norm=max_norm, batch_size=batch_size, seed=seed,
                      progress=progress, desc=f"{display_name(arch)}, d = {distance}, seed {seed}")
    settings = dict(forget_bias=bias, n_train=n_train, n_test=n_test, embed_dim=embed_dim, hidden_dim=hidden_dim,
                    lr=lr, max_norm=max_norm, batch_size=batch_size, max_steps=max_steps, eval_every=eval_every)
    steps = tuple(range(eval_every, max_steps + 1, eval_every))
    return MemoryRun(arch, distance, seed, steps, tuple(history.test_metric), sum(history.seconds), settings)


#: the columns of a memory-results CSV (one row per run and checkpoint)
MEMORY_COLUMNS = ("arch", "distance", "seed", "forget_bias", "step", "test_accuracy", "seconds")


def memory_rows(runs: Sequence[MemoryRun]) -> list[dict]:
    """The rows of :data:`MEMORY_COLUMNS` for ``runs`` (what ``tools/long_range.py`` writes as CSV)."""
    return [dict(arch=run.arch, distance=run.distance, seed=run.seed, forget_bias=run.settings.get("forget_bias"),
                 step=step, test_accuracy=round(acc, 4), seconds=round(run.seconds, 1))
            for run in runs for step, acc in zip(run.steps, run.accuracy)]


def read_memory_runs(path) -> list[MemoryRun]:
    """The runs of a CSV written from :func:`memory_rows` (``settings`` holds only the forget-gate bias)."""
    import csv
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path must be a results CSV written by tools/long_range.py; {path} does not exist")
    runs: dict[tuple, list[dict]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            runs.setdefault((row["arch"], int(row["distance"]), int(row["seed"])), []).append(row)
    return [MemoryRun(arch, distance, seed, tuple(int(r["step"]) for r in rows),
                      tuple(float(r["test_accuracy"]) for r in rows), float(rows[0]["seconds"]),
                      {"forget_bias": float(rows[0]["forget_bias"]) if rows[0]["forget_bias"] else None})
            for (arch, distance, seed), rows in runs.items()]


def _by_setting(runs: Sequence[MemoryRun]) -> dict[tuple[str, int, int], list[MemoryRun]]:
    """``{(arch, distance, steps budget): [runs, one per seed]}``."""
    if not runs or not all(isinstance(run, MemoryRun) for run in runs):
        raise ValueError("runs must be a non-empty list of memory_run(...) results")
    groups: dict[tuple[str, int, int], list[MemoryRun]] = {}
    for run in runs:
        groups.setdefault((run.arch, run.distance, run.steps[-1]), []).append(run)
    return groups


def memory_table(runs: Sequence[MemoryRun]) -> str:
    """Markdown, one row per architecture and distance: seeds solved (test accuracy ≥ :data:`SOLVED`),
    the step each seed first got there, the final accuracies."""
    rows = ["| model | distance d | seeds solved | first solved at step (per seed) | final test accuracy (per seed) |",
            "|---|---|---|---|---|"]
    for (arch, distance, _), group in _by_setting(runs).items():
        bias = group[0].settings.get("forget_bias")
        name = display_name(arch) + (f" (forget-gate bias {bias:g})" if bias is not None else "")
        solved = sum(run.solved_at is not None for run in group)
        at = ", ".join("never" if run.solved_at is None else str(run.solved_at) for run in group)
        final = ", ".join(f"{run.final:.0%}" for run in group)
        rows.append(f"| {name} | {distance} | {solved}/{len(group)} | {at} (of {group[0].steps[-1]}) | {final} |")
    return "\n".join(rows)


def training_steps(result: Mapping) -> int:
    """Optimiser steps each model of a :func:`rnnlib.compare.run_comparison` result took."""
    settings = result["settings"]
    return settings.epochs * math.ceil(len(result["task"].train) / settings.batch_size)


# ---- verdicts ------------------------------------------------------------------------------------


def _check_counts(counts, archs: tuple[str, ...]) -> None:
    for arch in archs:
        entry = counts.get(arch) if isinstance(counts, Mapping) else None
        if not isinstance(entry, Mapping) or any(
                not isinstance(entry.get(part), int) or entry[part] < 1 for part in ("recurrent", "total")):
            raise ValueError(f"counts must be parameter_counts(...): {{arch: {{'recurrent': n, 'total': n}}}} "
                             f"with positive counts for {', '.join(archs)}; got {counts!r:.80}")


def gru_parameters_verdict(counts: Mapping[str, Mapping[str, int]]) -> Verdict:
    """GRU vs LSTM from :func:`parameter_counts`: the claim holds where the GRU has 20–30 % fewer."""
    _check_counts(counts, ("gru", "lstm"))
    layer = 1 - counts["gru"]["recurrent"] / counts["lstm"]["recurrent"]
    whole = 1 - counts["gru"]["total"] / counts["lstm"]["total"]
    near = [0.2 <= share <= 0.3 for share in (layer, whole)]
    verdict = CONFIRMED if all(near) else PARTLY if any(near) else NOT_CONFIRMED
    return Verdict(CLAIMS["gru_parameters"], verdict,
                   f"recurrent layer {layer:.1%} fewer (3 gate blocks instead of 4: exactly 1/4); "
                   f"whole classifier {whole:.1%} fewer (embedding and output layer are shared costs)")


def bilstm_parameters_verdict(counts: Mapping[str, Mapping[str, int]]) -> Verdict:
    """BiLSTM vs LSTM from :func:`parameter_counts`: the layer should be exactly 2x, the whole model near it."""
    _check_counts(counts, ("bilstm", "lstm"))
    layer = counts["bilstm"]["recurrent"] / counts["lstm"]["recurrent"]
    whole = counts["bilstm"]["total"] / counts["lstm"]["total"]
    verdict = CONFIRMED if layer == 2 and whole >= 1.8 else PARTLY if layer == 2 else NOT_CONFIRMED
    return Verdict(CLAIMS["bilstm_parameters"], verdict,
                   f"recurrent layer {layer:.2f}x (one LSTM per direction); whole classifier {whole:.2f}x "
                   "(one shared embedding; the output layer reads 2H features)")


def _check_accuracies(name: str, accuracy) -> dict:
    """``{distance: accuracy}`` with at least one entry, every accuracy in [0, 1]."""
    if not isinstance(accuracy, Mapping) or not accuracy:
        raise ValueError(f"{name} must be a non-empty dict of distance → test accuracy")
    return {d: check_float(f"{name}[{d!r}]", a, low=0.0, high=1.0) for d, a in accuracy.items()}


def _solved(accuracy: Mapping) -> tuple[list, list]:
    """Distances solved and not solved, in increasing order."""
    distances = sorted(accuracy)
    return [d for d in distances if accuracy[d] >= SOLVED], [d for d in distances if accuracy[d] < SOLVED]


def _listing(values) -> str:
    return ", ".join(f"{v:g}" for v in values) or "none"


def _per_seed(name: str, accuracy) -> dict:
    """``{distance: [accuracy per seed]}``: the same seeds (at least one) at every distance."""
    if not isinstance(accuracy, Mapping) or not accuracy:
        raise ValueError(f"{name} must be a non-empty dict of distance → [test accuracy per seed]")
    checked = {}
    for d, values in accuracy.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"{name}[{d!r}] must be a list of test accuracies, one per seed; got {values!r}")
        checked[d] = [check_float(f"{name}[{d!r}]", a, low=0.0, high=1.0) for a in values]
    if len({len(v) for v in checked.values()}) > 1:
        raise ValueError(f"{name} must hold the same number of seeds at every distance")
    return checked


def rnn_memory_verdict(accuracy: Mapping[int, Sequence[float]], *, steps: int, init_span: int) -> Verdict:
    """The vanilla RNN's limit from its long-range accuracy per distance and seed (``{distance:
    [accuracy per seed]}``, ``steps`` optimiser steps each) and its memory span at initialisation (steps
    back from T whose gradient stays ≥ 1 % of ‖∂L/∂h_T‖, :func:`rnnlib.diagnostics.memory_span`).

    A distance counts as solved when every seed solved it. Not tested with fewer than
    :data:`MIN_SEEDS` seeds; confirmed when the longest solved distance (counting up from the shortest)
    is 10–19 and the first unsolved one is 20 or less (a limit "~10–20"); partly when the limit lies
    elsewhere but below 40; not confirmed when it learned 40 or more.
    """
    check_int("steps", steps, low=1)
    check_int("init_span", init_span, low=0)
    runs = _per_seed("accuracy", accuracy)
    seeds = len(next(iter(runs.values())))
    solved, failed = _solved({d: min(values) for d, values in runs.items()})
    first_fail = failed[0] if failed else math.inf
    reach = max((d for d in solved if d < first_fail), default=0)
    if seeds < MIN_SEEDS:
        verdict = NOT_TESTED
    elif reach >= 40:
        verdict = NOT_CONFIRMED
    elif 10 <= reach < 20 and first_fail <= 20:
        verdict = CONFIRMED
    else:
        verdict = PARTLY
    counts = ", ".join(f"d = {d:g}: {sum(a >= SOLVED for a in runs[d])}/{seeds}" for d in sorted(runs))
    return Verdict(CLAIMS["rnn_memory"], verdict,
                   f"seeds that solved each distance within {steps} training steps: {counts}; untrained, its "
                   f"gradient stays above 1 % of the last step's for only {init_span} steps back")


def lstm_memory_verdict(runs: Sequence[MemoryRun], *, decay: Mapping[str, float], seq_len: int) -> Verdict:
    """Hundreds of steps from the LSTM's :class:`MemoryRun` s (``tools/long_range.py`` measures them;
    :func:`read_memory_runs` reads its results) and ``decay``: init name → ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ of an
    untrained LSTM over ``seq_len`` steps.

    Runs of different step budgets count separately. Not tested (also without any runs, e.g. where the
    results file is missing) unless some distance ≥ 100 was trained with at least :data:`MIN_SEEDS` seeds;
    then confirmed if every seed solved every such distance, partly if some did, not confirmed if none did.
    """
    check_int("seq_len", seq_len, low=2)
    groups = {(d, budget): group for (arch, d, budget), group in (_by_setting(runs) if runs else {}).items()
              if arch == "lstm"}
    gradient = ", ".join(f"{ratio:.0e} ({name})" for name, ratio in decay.items())
    parts = [f"d = {d}: solved in {sum(r.solved_at is not None for r in group)}/{len(group)} seeds within "
             f"{budget} steps" for (d, budget), group in sorted(groups.items())]
    evidence = "; ".join(parts or ["no LSTM runs"]) + (f"; untrained over T = {seq_len}, ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = "
                                                       f"{gradient}")
    long = {key: group for key, group in groups.items() if key[0] >= 100 and len(group) >= MIN_SEEDS}
    if not long:
        return Verdict(CLAIMS["lstm_memory"], NOT_TESTED, evidence)
    shares = [sum(r.solved_at is not None for r in group) / len(group) for group in long.values()]
    verdict = CONFIRMED if all(s == 1 for s in shares) else PARTLY if any(shares) else NOT_CONFIRMED
    return Verdict(CLAIMS["lstm_memory"], verdict, evidence)


def spectral_radius_verdict(decay: Mapping[float, float]) -> Verdict:
    """From :func:`radius_decay`, each ratio classified by the course's one criterion
    (:func:`rnnlib.diagnostics.regime`: vanishing / held / exploding). Confirmed when every radius below 1
    vanished and every radius above 1 exploded; partly when the radii below 1 vanished but some above 1
    did not explode (or 1 itself vanished); not confirmed when a radius below 1 did not vanish."""
    if not isinstance(decay, Mapping) or not decay:
        raise ValueError("decay must be a non-empty dict of spectral radius → decay ratio")
    kinds = {r: regime(check_float(f"decay[{r!r}]", ratio, low=0.0)) for r, ratio in decay.items()}
    below = [kinds[r] == "vanishing" for r in kinds if r < 1]
    above = [kinds[r] == "exploding" for r in kinds if r > 1]
    if not all(below):
        verdict = NOT_CONFIRMED
    elif all(above) and kinds.get(1.0, "held") == "held":
        verdict = CONFIRMED
    else:
        verdict = PARTLY
    shown = "; ".join(f"ρ = {r:g}: {decay[r]:.0e} ({kinds[r]})" for r in sorted(decay))
    return Verdict(CLAIMS["spectral_radius"], verdict, f"‖∂L/∂h_1‖/‖∂L/∂h_T‖ of an untrained tanh RNN: {shown}")


#: a run has *learned* the adding problem when its final loss is below this share of the baseline MSE
#: (always predicting the mean scores 1/6): 10 % under it, clear of the baseline's batch-to-batch noise
LEARNED_SHARE = 0.9
#: verdicts that decide a claim rest on at least this many seeds
MIN_SEEDS = 3


def final_loss(run: labs.ClippingResult) -> float:
    """The mean training loss over the last tenth of ``run``'s steps (at least 10); ``inf`` if it
    diverged. Each step's batch is new data the model sees for the first time, so this is an honest
    estimate of its test loss."""
    if run.diverged:
        return math.inf
    losses = run.history.step_loss
    tail = losses[-max(10, len(losses) // 10):]
    return sum(tail) / len(tail)


def clipping_verdict(trials: Mapping[float | None, Sequence[labs.ClippingResult]]) -> Verdict:
    """From :func:`clipping_trials` (``None`` is the unclipped run), judged on **learning**: a run
    learned when its :func:`final_loss` is below :data:`LEARNED_SHARE` × the constant-prediction
    baseline (MSE 1/6); staying finite is not enough.

    Not tested when nothing exploded without clipping or a setting has fewer than :data:`MIN_SEEDS`
    seeds; confirmed when the unclipped runs diverged and every run clipped at 1–5 learned; partly when
    some clipped runs learned; not confirmed when none did (finite but no better than the baseline)."""
    if not isinstance(trials, Mapping) or not trials.get(None):
        raise ValueError("trials must be a dict of max_norm → runs that includes the unclipped runs (key None)")
    unclipped = trials[None]
    exploded = sum(run.diverged for run in unclipped)
    bar = LEARNED_SHARE * labs.ADDING_BASELINE_MSE
    parts = [f"no clipping: diverged in {exploded}/{len(unclipped)} seeds"]
    learned_in_range = []
    for max_norm, runs in trials.items():
        if max_norm is None:
            continue
        finite = sum(not run.diverged for run in runs)
        learned = sum(final_loss(run) < bar for run in runs)
        parts.append(f"clip at {max_norm:g}: finite in {finite}/{len(runs)}, learned in {learned}/{len(runs)}")
        if 1.0 <= max_norm <= 5.0:
            learned_in_range.append(learned / len(runs))
    settings = unclipped[0].settings
    where = (f"tanh RNN, ρ(W_hh) = {settings['spectral_radius']:g}, SGD lr {settings['lr']:g}, adding problem "
             f"T = {settings['seq_len']}, {settings['steps']} steps; learned = final loss < {bar:.3f} "
             f"({LEARNED_SHARE:g} × the baseline 1/6): ")
    seeds = min(len(runs) for runs in trials.values())
    if exploded == 0 or seeds < MIN_SEEDS or not learned_in_range:
        verdict = NOT_TESTED
        if seeds < MIN_SEEDS:
            parts.append(f"only {seeds} seed(s), fewer than {MIN_SEEDS}")
    elif exploded == len(unclipped) and all(share == 1 for share in learned_in_range):
        verdict = CONFIRMED
    else:
        verdict = PARTLY if any(learned_in_range) else NOT_CONFIRMED
    return Verdict(CLAIMS["clipping"], verdict, where + "; ".join(parts))


#: autograd node names of the fused recurrent kernels (oneDNN on CPU, cuDNN on NVIDIA GPUs)
FUSED_KERNELS = ("MkldnnRnnLayer", "CudnnRnn")


def fused_layers(device: str | torch.device | None = None) -> dict[str, bool]:
    """Per architecture: does ``nn.RNN/GRU/LSTM`` run as one fused kernel on ``device`` (``None``:
    rnnlib's current device), or as a loop of separate steps? Read from the autograd graph of a tiny
    forward pass, so it does not vary from run to run (it depends on the torch build and the device,
    not on timing)."""
    device = current_device() if device is None else check_device("device", device)
    fused = {}
    for arch in ARCHITECTURES:
        with own_random_state():  # building draws weights: leave the caller's generator alone
            model = build_model(arch, input_dim=2, hidden_dim=4, output_dim=1).to(device)
        nodes, seen = [model(torch.zeros(1, 3, 2, device=device)).grad_fn], set()
        while nodes:
            node = nodes.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            nodes.extend(next_node for next_node, _ in node.next_functions)
        fused[arch] = any(kernel in type(node).__name__ for node in seen for kernel in FUSED_KERNELS)
    return fused


def speed_verdict(operations: Mapping[str, int], fused: Mapping[str, bool] | None = None) -> Verdict:
    """The claimed order checked on arithmetic (:func:`multiply_adds`) and, with ``fused`` (from
    :func:`fused_layers`), on which layers run as one fused kernel here: a fused LSTM overtakes a
    stepped GRU whatever the arithmetic says. Both are stable facts; wall-clock seconds vary from run
    to run and are kept out of this verdict (see :func:`wall_clock_order`)."""
    order = ["rnn", "gru", "lstm", "bilstm"]
    missing = [arch for arch in order if arch not in operations or (fused is not None and arch not in fused)]
    if missing:
        raise ValueError(f"operations (and fused) must cover every architecture; missing {missing}")
    base = operations["rnn"]
    ratios = " : ".join(f"{operations[arch] / base:g}" for arch in order)
    increasing = all(operations[a] < operations[b] for a, b in zip(order, order[1:]))
    evidence = f"per time step RNN : GRU : LSTM : BiLSTM = {ratios} multiply-adds"
    if not increasing:
        return Verdict(CLAIMS["speed"], NOT_CONFIRMED, evidence)
    if fused is None:
        return Verdict(CLAIMS["speed"], CONFIRMED, f"for arithmetic only: {evidence}")
    stepped = [display_name(arch) for arch in order if not fused[arch]]
    kernels = [display_name(arch) for arch in order if fused[arch]]
    if not stepped or not kernels:
        return Verdict(CLAIMS["speed"], CONFIRMED, f"{evidence}; every layer runs the same way here")
    return Verdict(
        CLAIMS["speed"], PARTLY,
        f"{evidence}, but here {', '.join(kernels)} run as one fused kernel and {', '.join(stepped)} as a "
        "loop of steps, so the clock need not follow the arithmetic: a fused layer can overtake a stepped "
        "one that does less (see the timing table)",
    )


def wall_clock_order(seconds: Mapping[str, float]) -> str:
    """The architectures from fastest to slowest by measured ``seconds``, e.g. ``"RNN < LSTM < GRU <
    BiLSTM"``, and whether that is the claimed order. Timings vary from run to run: print, never check."""
    if not isinstance(seconds, Mapping) or not seconds or any(arch not in ARCHITECTURES for arch in seconds):
        raise ValueError(f"seconds must be a non-empty dict of architecture ({', '.join(ARCHITECTURES)}) → seconds")
    order = sorted(seconds, key=seconds.get)
    claimed = [arch for arch in ("rnn", "gru", "lstm", "bilstm") if arch in seconds]
    text = " < ".join(display_name(arch) for arch in order)
    return text + (" (the claimed order)" if order == claimed else " (not the claimed order)")


def gru_vs_lstm_verdict(seed_accuracy: Mapping[str, float], accuracy: Mapping[str, Mapping[int, float]], *,
                        steps: int, gru_biased: Mapping[int, float] | None = None, seeds: int = 1) -> Verdict:
    """GRU vs LSTM on the seed task (``{arch: accuracy}``) and the long-range sweep
    (``{arch: {distance: accuracy}}``, the LSTM with its forget-gate bias, the GRU at PyTorch's init).
    ``gru_biased``: ``{distance: accuracy}`` of a GRU whose update gate got the same bias, if measured.

    Confirmed when both are within 2 points on the seed task and solve the same distances; partly when
    only one of the two holds; not tested when the runs had fewer than :data:`MIN_SEEDS` ``seeds``
    (the evidence still says what the one run showed)."""
    check_int("steps", steps, low=1)
    seeds = check_int("seeds", seeds, low=1)
    for name, given in (("seed_accuracy", seed_accuracy), ("accuracy", accuracy)):
        if not isinstance(given, Mapping) or not {"gru", "lstm"} <= set(given):
            raise ValueError(f"{name} must be a dict with entries for 'gru' and 'lstm'")
    seed_accuracy = {arch: check_float(f"seed_accuracy[{arch!r}]", seed_accuracy[arch], low=0.0, high=1.0)
                     for arch in ("gru", "lstm")}
    accuracy = {arch: _check_accuracies(f"accuracy[{arch!r}]", accuracy[arch]) for arch in ("gru", "lstm")}
    seed_close = abs(seed_accuracy["gru"] - seed_accuracy["lstm"]) <= 0.02
    seed_level = min(seed_accuracy["gru"], seed_accuracy["lstm"])
    gru_solved, _ = _solved(accuracy["gru"])
    lstm_solved, _ = _solved(accuracy["lstm"])
    same = gru_solved == lstm_solved
    parts = [f"seed task: {'within 2 points' if seed_close else 'more than 2 points apart'}"
             f"{', both >= 98 %' if seed_level >= 0.98 else ''}",
             f"long-range within {steps} steps: GRU (PyTorch init) solved {_listing(gru_solved)}, LSTM "
             f"(forget-gate bias) {_listing(lstm_solved)}"]
    if gru_biased is not None:
        biased = _solved(_check_accuracies("gru_biased", gru_biased))[0]
        parts.append(f"GRU with its update gate biased the same way: solved {_listing(biased)}")
    verdict = CONFIRMED if seed_close and same else PARTLY if seed_close or same else NOT_CONFIRMED
    if seeds < MIN_SEEDS:
        verdict = NOT_TESTED
        parts.append(f"{seeds} seed{'s' if seeds > 1 else ''} only, fewer than {MIN_SEEDS}: a hint, not a verdict")
    return Verdict(CLAIMS["gru_vs_lstm"], verdict, "; ".join(parts))


# ---- the measured comparison table -----------------------------------------------------------------


def measured_table(seed_run: Mapping, distance_sweep: Mapping, decay: Mapping[str, Mapping[str, float]]) -> str:
    """The comparison table computed from measurements, as Markdown, one row per architecture.

    ``seed_run``: a :func:`rnnlib.compare.run_comparison` result on the seed task (parameters, seconds per
    epoch); ``distance_sweep``: a :func:`rnnlib.compare.sweep` over ``distance`` (final test accuracy per
    distance, seconds per step at the longest); ``decay``: column name → ``{arch: decay ratio}``.
    """
    accuracy = sweep_finals(distance_sweep)
    distances = list(distance_sweep)
    longest = distance_sweep[max(distances)]
    steps = training_steps(longest)
    seed_epochs = seed_run["settings"].epochs
    header = (["model", "parameters", "s / epoch (seed task)", f"ms / step (distance {max(distances)})"]
              + [f"acc. d={d}" for d in distances] + list(decay))
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for arch in seed_run["histories"]:
        cells = [display_name(arch), f"{seed_run['params'][arch]:,}", f"{seed_run['seconds'][arch] / seed_epochs:.2f}",
                 f"{1000 * longest['seconds'][arch] / steps:.1f}"]
        cells += [f"{accuracy[arch][d]:.0%}" for d in distances]
        cells += [f"{column[arch]:.0e}" for column in decay.values()]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


__all__ = [
    "CLAIMS",
    "CONFIRMED",
    "NOT_CONFIRMED",
    "NOT_TESTED",
    "PARTLY",
    "SOLVED",
    "VERDICTS",
    "Verdict",
    "bilstm_parameters_verdict",
    "clipping_trials",
    "clipping_verdict",
    "gru_parameters_verdict",
    "gru_vs_lstm_verdict",
    "lstm_memory_verdict",
    "measured_table",
    "multiply_adds",
    "multiply_adds_per_step",
    "parameter_counts",
    "radius_decay",
    "rnn_memory_verdict",
    "spectral_radius_verdict",
    "speed_verdict",
    "training_steps",
    "wall_clock_order",
    "word_vote",
]
