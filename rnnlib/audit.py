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

from . import labs
from .architectures import display_name
from .compare import sweep_finals
from .data import NEGATIVE_WORDS, POSITIVE_WORDS
from .device import check_device, current_device
from .models import ARCHITECTURES, RecurrentClassifier, build_model, count_parameters
from .training import own_random_state
from .validation import check_float, check_int

CONFIRMED = "confirmed"
PARTLY = "partly confirmed"
NOT_CONFIRMED = "not confirmed"
NOT_TESTED = "not tested here"
VERDICTS = (CONFIRMED, PARTLY, NOT_CONFIRMED, NOT_TESTED)

#: final test accuracy from which a long-range run counts as solved (guessing gives 50 %)
SOLVED = 0.9
#: ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ below this counts as vanished, above ``EXPLODED`` as exploded
VANISHED, EXPLODED = 1e-3, 1e3

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
    exploding tanh RNN (spectral radius 2, SGD) on the adding problem. ``{max_norm: [result per seed]}``."""
    if not max_norms or not seeds:
        raise ValueError("max_norms and seeds must each hold at least one value")
    return {max_norm: [labs.clipping_run(max_norm, steps=steps, seed=seed, **settings) for seed in seeds]
            for max_norm in max_norms}


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


def rnn_memory_verdict(accuracy: Mapping[int, float], *, steps: int, init_span: int) -> Verdict:
    """The vanilla RNN's limit from its long-range accuracy per distance (``{distance: accuracy}``,
    ``steps`` optimiser steps each) and its memory span at initialisation (steps back from T whose
    gradient stays ≥ 1 % of ‖∂L/∂h_T‖, :func:`rnnlib.diagnostics.memory_span`).

    Confirmed when the longest solved distance (counting up from the shortest) is 10–19 and the first
    unsolved one is 20 or less (a limit "~10–20"); partly when the limit lies elsewhere but below 40;
    not confirmed when it learned 40 or more.
    """
    check_int("steps", steps, low=1)
    check_int("init_span", init_span, low=0)
    solved, failed = _solved(_check_accuracies("accuracy", accuracy))
    first_fail = failed[0] if failed else math.inf
    reach = max((d for d in solved if d < first_fail), default=0)
    if reach >= 40:
        verdict = NOT_CONFIRMED
    elif 10 <= reach < 20 and first_fail <= 20:
        verdict = CONFIRMED
    else:
        verdict = PARTLY
    return Verdict(CLAIMS["rnn_memory"], verdict,
                   f"within {steps} training steps it solved distances {_listing(solved)}, not "
                   f"{_listing(failed)}; untrained, its gradient stays above 1 % of the last step's for only "
                   f"{init_span} steps back")


def lstm_memory_verdict(accuracy: Mapping[int, float], *, steps: int, decay: Mapping[str, float],
                        seq_len: int) -> Verdict:
    """Hundreds of steps from the LSTM's accuracy per distance (``steps`` optimiser steps each) and
    ``decay``: init name → ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ of an untrained LSTM over ``seq_len`` steps.

    Not tested unless a distance of at least 100 was trained; then confirmed if the LSTM solved it.
    """
    check_int("steps", steps, low=1)
    check_int("seq_len", seq_len, low=2)
    accuracy = _check_accuracies("accuracy", accuracy)
    solved, _ = _solved(accuracy)
    gradient = ", ".join(f"{ratio:.0e} ({name})" for name, ratio in decay.items())
    evidence = (f"trained up to distance {max(accuracy):g}: solved {_listing(solved)} within {steps} steps; "
                f"untrained over T = {seq_len}, ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = {gradient}")
    long = [d for d in accuracy if d >= 100]
    if not long:
        return Verdict(CLAIMS["lstm_memory"], NOT_TESTED, evidence)
    verdict = CONFIRMED if all(accuracy[d] >= SOLVED for d in long) else NOT_CONFIRMED
    return Verdict(CLAIMS["lstm_memory"], verdict, evidence)


def _kind(ratio: float) -> str:
    return "vanished" if ratio < VANISHED else "exploded" if ratio > EXPLODED else "held"


def spectral_radius_verdict(decay: Mapping[float, float]) -> Verdict:
    """From :func:`radius_decay`. Confirmed when every radius below 1 vanished and every radius above 1
    exploded; partly when the radii below 1 vanished but some above 1 did not explode (or 1 itself
    vanished); not confirmed when a radius below 1 did not vanish."""
    if not isinstance(decay, Mapping) or not decay:
        raise ValueError("decay must be a non-empty dict of spectral radius → decay ratio")
    kinds = {r: _kind(check_float(f"decay[{r!r}]", ratio, low=0.0)) for r, ratio in decay.items()}
    below = [kinds[r] == "vanished" for r in kinds if r < 1]
    above = [kinds[r] == "exploded" for r in kinds if r > 1]
    if not all(below):
        verdict = NOT_CONFIRMED
    elif all(above) and kinds.get(1.0, "held") == "held":
        verdict = CONFIRMED
    else:
        verdict = PARTLY
    shown = "; ".join(f"ρ = {r:g}: {decay[r]:.0e} ({kinds[r]})" for r in sorted(decay))
    return Verdict(CLAIMS["spectral_radius"], verdict, f"‖∂L/∂h_1‖/‖∂L/∂h_T‖ of an untrained tanh RNN: {shown}")


def clipping_verdict(trials: Mapping[float | None, Sequence[labs.ClippingResult]]) -> Verdict:
    """From :func:`clipping_trials` (``None`` is the unclipped run). Confirmed when the unclipped runs
    diverged and every run clipped at 1–5 stayed finite; not tested when nothing exploded."""
    if not isinstance(trials, Mapping) or not trials.get(None):
        raise ValueError("trials must be a dict of max_norm → runs that includes the unclipped runs (key None)")
    unclipped = trials[None]
    exploded = sum(run.diverged for run in unclipped)
    parts = [f"no clipping: diverged in {exploded}/{len(unclipped)} seeds"]
    finite_in_range = []
    for max_norm, runs in trials.items():
        if max_norm is None:
            continue
        finite = sum(not run.diverged for run in runs)
        parts.append(f"clip at {max_norm:g}: finite in {finite}/{len(runs)}")
        if 1.0 <= max_norm <= 5.0:
            finite_in_range.append(finite == len(runs))
    settings = unclipped[0].settings
    where = (f"tanh RNN, ρ(W_hh) = {settings['spectral_radius']:g}, SGD lr {settings['lr']:g}, adding problem "
             f"T = {settings['seq_len']}, {settings['steps']} steps: ")
    if exploded == 0:
        verdict = NOT_TESTED
    elif finite_in_range and all(finite_in_range):
        verdict = CONFIRMED
    else:
        verdict = PARTLY if any(finite_in_range) else NOT_CONFIRMED
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
                        steps: int, gru_biased: Mapping[int, float] | None = None) -> Verdict:
    """GRU vs LSTM on the seed task (``{arch: accuracy}``) and the long-range sweep
    (``{arch: {distance: accuracy}}``, the LSTM with its forget-gate bias, the GRU at PyTorch's init).
    ``gru_biased``: ``{distance: accuracy}`` of a GRU whose update gate got the same bias, if measured.

    Confirmed when both are within 2 points on the seed task and solve the same distances; partly when
    only one of the two holds."""
    check_int("steps", steps, low=1)
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
