"""Character language models: text in, the next character out, at every step.

* Data: :func:`corpus` (``"python"``: the learner's own Python standard library sources; ``"brackets"``:
  a seeded synthetic text whose statistics are known exactly, with :func:`bracket_labels`,
  :func:`bracket_probs` and :func:`brackets_perplexity` as ground truth) and :class:`CharVocab` (characters ↔ ids).
* Model: :func:`build_lm` → :class:`CharLM`, embedding → RNN/GRU/LSTM → linear, run on a whole text or
  continued chunk by chunk from a returned state.
* Training: :func:`fit_lm`, truncated backpropagation through time over consecutive chunks (the state is
  carried from chunk to chunk but detached), with clipping, a progress bar and divergence advice.
* Measuring and using it: :func:`perplexity`, :func:`sample` (temperature), :func:`connectivity`
  (‖∂ log p(x_{t+1}) / ∂e_s‖) and :func:`hidden_states`.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import sysconfig
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .architectures import ARCHITECTURES
from .limits import MAX_LAYERS, MAX_LM_CHUNK, MAX_LM_STEPS, MAX_LR, MAX_WIDTH, SEED_RANGE
from .models import _TORCH_LAYERS
from .progress import progress_bar
from .training import TrainingDiverged, divergence_advice, flush_denormals, own_random_state
from .validation import check_choice, check_float, check_int

CORPORA = ("python", "brackets")
LM_ARCHS = ("rnn", "gru", "lstm")  # causal models only: a BiLSTM would read the character it predicts
#: length of the "brackets" corpus when ``n_chars`` is not given
BRACKETS_DEFAULT_CHARS = 200_000
#: the "brackets" grammar: filler letters, deepest nesting, the two quote characters, the filler letters a quote
#: holds before it may close, and the per-character probabilities outside a quote (open bracket, close
#: bracket, open a quote) and inside one after QUOTE_MIN letters (close it)
FILLER = "abc "
MAX_DEPTH = 4
QUOTES = "\"'"
QUOTE_MIN = 8
P_OPEN, P_CLOSE, P_QUOTE, P_UNQUOTE = 0.15, 0.15, 0.05, 0.1

# -- data --------------------------------------------------------------------------------------------
def stdlib_files() -> list[Path]:
    """The fixed list of source files the ``"python"`` corpus reads: the standard library's top-level
    modules (``…/lib/python3.X/*.py``, private ``_*.py`` ones left out), sorted by name."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if not p.name.startswith("_"))
    if not files:
        raise FileNotFoundError(f"no Python source files found in the standard library folder {root}")
    return files


def corpus(name: str, n_chars: int | None = None, seed: int = 0) -> str:
    """A training text, generated or read locally (nothing is downloaded).

    * ``"python"``: the source of the installed standard library's modules (:func:`stdlib_files`),
      concatenated in order; tabs become four spaces and characters outside ASCII ``"?"``, so the
      alphabet is small. The same Python version gives the same text; ``seed`` is not used.
    * ``"brackets"``: :func:`brackets` with ``seed``.

    ``n_chars``: keep the first ``n_chars`` characters (``None``: all of ``"python"``,
    :data:`BRACKETS_DEFAULT_CHARS` of ``"brackets"``).
    """
    check_choice("name", name, CORPORA)
    if n_chars is not None:
        n_chars = check_int("n_chars", n_chars, low=2)
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    if name == "brackets":
        return brackets(BRACKETS_DEFAULT_CHARS if n_chars is None else n_chars, seed=seed)
    parts, size = [], 0
    for path in stdlib_files():
        text = path.read_text(encoding="utf-8", errors="replace").replace("\t", "    ")
        parts.append(text.encode("ascii", errors="replace").decode("ascii"))
        size += len(parts[-1])
        if n_chars is not None and size >= n_chars:
            break
    return "".join(parts)[:n_chars]


@dataclass(frozen=True)
class BracketState:
    """Where a ``"brackets"`` text stands after a character: open brackets outside quotes, the open quote
    character (``""``: none) and how many letters the quote holds so far."""

    depth: int = 0
    quote: str = ""
    inside: int = 0

    def after(self, char: str) -> BracketState:
        if self.quote and char == self.quote:
            return BracketState(self.depth)
        if self.quote:
            return BracketState(self.depth, self.quote, self.inside + 1)
        if char in QUOTES:
            return BracketState(self.depth, char)
        return BracketState(self.depth + (char == "(") - (char == ")"))


def bracket_probs(state: BracketState) -> dict[str, float]:
    """The exact distribution of the next ``"brackets"`` character in ``state``.

    Inside a quote: filler letters only until it holds :data:`QUOTE_MIN` of them, then the same quote
    character closes it with probability :data:`P_UNQUOTE`. Outside: ``"("`` (below :data:`MAX_DEPTH`),
    ``")"`` (above depth 0), each quote character opens a quote with probability :data:`P_QUOTE` / 2;
    the filler letters share what is left equally.
    """
    probs = {}
    if state.quote:
        if state.inside >= QUOTE_MIN:
            probs[state.quote] = P_UNQUOTE
    else:
        if state.depth < MAX_DEPTH:
            probs["("] = P_OPEN
        if state.depth > 0:
            probs[")"] = P_CLOSE
        probs |= {quote: P_QUOTE / len(QUOTES) for quote in QUOTES}
    rest = (1.0 - sum(probs.values())) / len(FILLER)
    return probs | {letter: rest for letter in FILLER}


def brackets(n_chars: int, seed: int = 0) -> str:
    """``n_chars`` characters of nested brackets (depth ≤ :data:`MAX_DEPTH`) and quoted spans among filler
    letters, drawn from :func:`bracket_probs` with NumPy's generator at ``seed``.

    Inside a quote brackets neither occur nor count, and the quote closes with the character that opened
    it, at least :data:`QUOTE_MIN` letters later: predicting the close needs a memory of that length.
    """
    n_chars = check_int("n_chars", n_chars, low=1)
    uniform = np.random.default_rng(check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])).random(n_chars)
    tables = {}  # state → (characters, cumulative probabilities)
    out, state = [], BracketState()
    for u in uniform.tolist():
        if state not in tables:
            probs = bracket_probs(state)
            tables[state] = (list(probs), np.cumsum(list(probs.values())).tolist())
        chars, cumulative = tables[state]
        char = next((c for c, edge in zip(chars, cumulative) if u < edge), chars[-1])
        out.append(char)
        state = state.after(char)
    return "".join(out)


def bracket_states(text: str) -> list[BracketState]:
    """The :class:`BracketState` after each character of a ``"brackets"`` text read from its start."""
    states, state = [], BracketState()
    for t, char in enumerate(text):
        if char not in FILLER + QUOTES + "()":
            raise ValueError(f"text must be a 'brackets' corpus; character {char!r} at position {t} is not one")
        if bracket_probs(state).get(char, 0.0) == 0.0:
            raise ValueError(f"text must be a 'brackets' corpus; {char!r} cannot follow at position {t}")
        state = state.after(char)
        states.append(state)
    return states


def bracket_labels(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth of a ``"brackets"`` text after each character: ``depth: (T,)`` ints (open brackets
    outside quotes) and ``quoted: (T,)`` bools (inside a quote; the closing quote counts as outside)."""
    states = bracket_states(text)
    return (np.array([s.depth for s in states], dtype=np.int64), np.array([bool(s.quote) for s in states]))


def brackets_perplexity(text: str, start: int = 0) -> float:
    """The best perplexity any model can reach on a ``"brackets"`` text (from its first character): that of
    the generator itself, which knows the state exactly. Scores the predictions of characters
    ``start + 1 …`` (e.g. the validation part of the text)."""
    start = check_int("start", start, low=0, high=len(text) - 2)
    states = bracket_states(text)
    nll = [-math.log(bracket_probs(state)[c]) for state, c in zip(states[start:-1], text[start + 1:])]
    return math.exp(sum(nll) / len(nll))


@dataclass(frozen=True)
class CharVocab:
    """The characters of a text, sorted, each with an id: ``vocab.chars[i]`` has id ``i``."""

    chars: tuple[str, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        if not isinstance(text, str) or not text:
            raise ValueError(f"text must be a non-empty string, got {text!r:.40}")
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self.index

    def encode(self, text: str) -> Tensor:
        """``text`` → ``(T,)`` LongTensor of ids; a character the vocabulary lacks raises ValueError."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        try:
            return torch.tensor([self.index[c] for c in text], dtype=torch.long)
        except KeyError as missing:
            raise ValueError(
                f"character {missing.args[0]!r} is not in the vocabulary ({len(self)} characters, built from "
                "the training text)"
            ) from None

    def decode(self, ids) -> str:
        """``(T,)`` ids (tensor or list) → text."""
        ids = torch.as_tensor(ids).reshape(-1).tolist()
        bad = [i for i in ids if not 0 <= i < len(self)]
        if bad:
            raise ValueError(f"ids must be in [0, {len(self) - 1}]; got {bad[0]}")
        return "".join(self.chars[i] for i in ids)


# -- model -------------------------------------------------------------------------------------------
class CharLM(nn.Module):
    """Embedding → recurrent layer(s) → dropout → linear, at every step.

    ``forward(x, state=None)``: ``x: (batch, time)`` character ids; ``state``: what the previous call
    returned (``None``: zeros). Returns ``(logits, state)`` with ``logits: (batch, time, vocab_size)``:
    the logits at step ``t`` score the character at ``t + 1`` and depend only on ``x[:, :t + 1]``.
    """

    def __init__(self, arch: str, vocab_size: int, embed_dim: int, hidden_dim: int, num_layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.arch = check_choice("arch", arch, LM_ARCHS)
        self.vocab_size = check_int("vocab_size", vocab_size, low=2)
        embed_dim = check_int("embed_dim", embed_dim, low=1, high=MAX_WIDTH)
        self.hidden_dim = check_int("hidden_dim", hidden_dim, low=1, high=MAX_WIDTH)
        num_layers = check_int("num_layers", num_layers, low=1, high=MAX_LAYERS)
        dropout = check_float("dropout", dropout, low=0.0, high=1.0, high_open=True)
        self.embedding = nn.Embedding(self.vocab_size, embed_dim)
        self.rnn = _TORCH_LAYERS[ARCHITECTURES[arch].mode](
            embed_dim, self.hidden_dim, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,  # torch warns on dropout with one layer
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.hidden_dim, self.vocab_size)

    def check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.dim() != 2 or x.is_floating_point() or 0 in x.shape:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be character ids of shape (batch, time), at least (1, 1); got {shape}")
        if int(x.min()) < 0 or int(x.max()) >= self.vocab_size:
            raise ValueError(f"x must hold ids in [0, {self.vocab_size - 1}]; got {int(x.min())} to {int(x.max())}")

    def run(self, inputs: Tensor, state=None):
        """The recurrent layer and readout from embedded ``inputs: (batch, time, embed_dim)``."""
        output, state = self.rnn(inputs, state)
        return self.fc(self.dropout(output)), state

    def forward(self, x: Tensor, state=None):
        self.check_input(x)
        return self.run(self.embedding(x), state)


def build_lm(arch: str, *, vocab_size: int, embed_dim: int = 32, hidden_dim: int = 128, num_layers: int = 1,
             dropout: float = 0.0) -> CharLM:
    """A character language model (``arch``: ``"rnn"``, ``"gru"`` or ``"lstm"``); see :class:`CharLM`."""
    return CharLM(arch, vocab_size, embed_dim, hidden_dim, num_layers, dropout)


def detach_state(state):
    """The state without its history: the next chunk starts from these values, but backpropagation stops
    here (an LSTM's state is the pair ``(h, c)``)."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


# -- measuring and sampling --------------------------------------------------------------------------
#: set while an exercise checks a learner's answer: the functions the exercise asks for refuse to run
_EXERCISE = contextvars.ContextVar("rnnlib_lm_exercise", default=None)


def _refuse_in_exercise(name: str) -> None:
    if _EXERCISE.get() is not None:
        raise RuntimeError(f"{name} is what this exercise asks you to write: compute it yourself, without rnnlib.lm")


def _check_ids(ids, vocab_size: int | None, min_size: int = 2) -> Tensor:
    """``ids`` must be a 1-D integer tensor of ``min_size`` or more ids in ``[0, vocab_size)`` (``None``: a
    model that does not say its vocabulary size; only negative ids are refused)."""
    if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.is_floating_point() or len(ids) < min_size:
        shape = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"ids must be a 1-D LongTensor of at least {min_size} character ids; got {shape}")
    top = float("inf") if vocab_size is None else vocab_size
    if int(ids.min()) < 0 or int(ids.max()) >= top:
        raise ValueError(f"ids must be in [0, {top - 1}]; got {int(ids.min())} to {int(ids.max())}")
    return ids.long()


def _device(model: nn.Module) -> torch.device:
    """Where the model's parameters are (the CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Evaluation mode (no dropout) while measuring or sampling; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _streams(ids: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    """Inputs and next-character targets as ``batch_size`` consecutive streams ``(batch, time)``; the last
    stream is padded, its padding targets ``-1``, so every prediction of ``ids`` is in exactly once."""
    inputs, targets = ids[:-1], ids[1:]
    length = math.ceil(len(inputs) / batch_size)
    batch = math.ceil(len(inputs) / length)
    pad = batch * length - len(inputs)
    inputs = torch.cat([inputs, inputs.new_zeros(pad)]).view(batch, length)
    targets = torch.cat([targets, targets.new_full((pad,), -1)]).view(batch, length)
    return inputs, targets


@torch.no_grad()
def perplexity(model: CharLM, ids: Tensor, *, seq_len: int = 128, batch_size: int = 32) -> float:
    """``exp`` of the mean next-character cross-entropy over ``ids: (T,)``: the effective number of
    characters the model hesitates between (uniform logits score exactly ``vocab_size``).

    ``ids`` is cut into ``batch_size`` consecutive streams, each read from a zero state in chunks of
    ``seq_len`` with the state carried; every one of the ``T - 1`` predictions counts once.
    """
    _refuse_in_exercise("rnnlib.lm.perplexity")
    seq_len = check_int("seq_len", seq_len, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    ids = _check_ids(ids, getattr(model, "vocab_size", None))  # any model(x, state) -> (logits, state) works
    inputs, targets = (t.to(_device(model)) for t in _streams(ids, batch_size))
    total, state = 0.0, None
    with _evaluating(model):
        for start in range(0, inputs.shape[1], seq_len):
            logits, state = model(inputs[:, start:start + seq_len], state)
            chunk = targets[:, start:start + seq_len]
            total += F.cross_entropy(logits.flatten(0, 1).double(), chunk.flatten(), ignore_index=-1,
                                     reduction="sum").item()
    return math.exp(total / (len(ids) - 1))


def temperature_probs(logits: Tensor, temperature: float) -> Tensor:
    """``softmax(logits / temperature)`` over the last axis, in float64 so a small temperature gives a clean
    one-hot at the argmax instead of NaN."""
    _refuse_in_exercise("rnnlib.lm.temperature_probs")
    return torch.softmax(logits.double() / temperature, dim=-1)


@torch.no_grad()
def sample(model: CharLM, vocab: CharVocab, prompt: str, length: int, *, temperature: float = 1.0,
           seed: int = 0) -> str:
    """The ``length`` characters the model writes after ``prompt`` (not included), each drawn from
    ``softmax(logits / temperature)`` and fed back as the next input.

    Low temperatures sharpen the distribution (→ 0: always the most likely character, greedy); 1 samples
    the model's own probabilities; above 1 flattens them. Draws come from a local generator seeded with
    ``seed``: the same seed gives the same text, and the global random state is not touched.
    """
    _refuse_in_exercise("rnnlib.lm.sample")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"prompt must be a non-empty string, got {prompt!r}")
    missing = [c for c in prompt if c not in vocab]
    if missing:
        raise ValueError(f"prompt: character {missing[0]!r} is not in the vocabulary ({len(vocab)} characters)")
    length = check_int("length", length, low=1)
    temperature = check_float("temperature", temperature, low=0.0, low_open=True)
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    if len(vocab) != getattr(model, "vocab_size", len(vocab)):
        raise ValueError(f"vocab has {len(vocab)} characters but the model scores vocab_size={model.vocab_size}")
    device = _device(model)
    generator = torch.Generator(device=device).manual_seed(seed)
    out = []
    with _evaluating(model):
        logits, state = model(vocab.encode(prompt).to(device)[None], None)
        for _ in range(length):
            probs = torch.softmax(logits[0, -1].double() / temperature, dim=-1)  # float64: T → 0 stays finite
            char = torch.multinomial(probs, 1, generator=generator)
            out.append(int(char))
            logits, state = model(char.view(1, 1), state)
    return vocab.decode(out)


def connectivity(model: CharLM, ids: Tensor) -> Tensor:
    """How strongly each prediction depends on each earlier input: ``(T - 1, T - 1)``, row ``t`` (the
    prediction of character ``t + 1``), column ``s``: ‖∂ log p(x_{t+1} | x_{≤t}) / ∂e_s‖, the norm of
    the gradient with respect to the embedding ``e_s`` of character ``s``; zero for ``s > t`` (causal)."""
    ids = _check_ids(ids, model.vocab_size)
    x = ids.to(_device(model))
    rows = []
    with _evaluating(model):
        embedded = model.embedding(x[:-1])[None].detach().requires_grad_(True)  # (1, T-1, E)
        log_probs = torch.log_softmax(model.run(embedded)[0][0], dim=-1)  # (T-1, V)
        chosen = log_probs.gather(1, x[1:, None])[:, 0]  # log p(x_{t+1}): (T-1,)
        for t in range(len(chosen)):
            (grad,) = torch.autograd.grad(chosen[t], embedded, retain_graph=t < len(chosen) - 1)
            rows.append(grad[0].norm(dim=-1))
    return torch.stack(rows).cpu()


@torch.no_grad()
def hidden_states(model: CharLM, ids: Tensor) -> Tensor:
    """The top layer's hidden state ``h_t`` after each character of ``ids: (T,)``: ``(T, hidden_dim)``."""
    ids = _check_ids(ids, model.vocab_size, min_size=1)
    with _evaluating(model):
        output, _ = model.rnn(model.embedding(ids.to(_device(model)))[None])
    return output[0].cpu()


# -- training ----------------------------------------------------------------------------------------
@dataclass
class LMHistory:
    """What :func:`fit_lm` measured at step 0 (before training) and every ``eval_every`` steps:
    ``train_perplexity`` (mean over the steps since the last record; at step 0 measured on the first
    training chunks), ``valid_perplexity`` (when validation ids were given) and elapsed ``seconds``."""

    steps: list[int] = field(default_factory=list)
    train_perplexity: list[float] = field(default_factory=list)
    valid_perplexity: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    step_grad_norm: list[float] = field(default_factory=list)


def fit_lm(
    model: CharLM,
    ids: Tensor,
    valid: Tensor | None = None,
    *,
    steps: int = 500,
    seq_len: int = 64,
    batch_size: int = 32,
    lr: float = 3e-3,
    max_norm: float | None = 1.0,
    eval_every: int = 100,
    seed: int = 0,
    callback: Callable[[LMHistory, CharLM], None] | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> LMHistory:
    """Train ``model`` to predict each next character of ``ids: (T,)`` with truncated BPTT; returns its
    :class:`LMHistory`.

    The text is cut into ``batch_size`` consecutive streams read side by side in chunks of ``seq_len``
    characters (teacher forcing: the input is always the true text). The state at the end of a chunk is
    the start of the next one, so the model reads the text as one long sequence, but it is **detached**:
    gradients flow back at most ``seq_len`` steps, which bounds both the cost of a step and the distance
    over which the model can *learn* a dependency. At the end of the streams the state restarts from zeros
    at a new random offset. Adam with ``lr``, the global gradient norm clipped to ``max_norm`` (``None``:
    off). ``callback(history, model)`` runs after each record (e.g. to take samples; the step is
    ``history.steps[-1]``). Deterministic for a
    ``seed`` on CPU; the global random state is left as it was. Raises :class:`TrainingDiverged` with
    advice when the loss or the gradient stops being finite.
    """
    steps = check_int("steps", steps, low=1, high=MAX_LM_STEPS)
    seq_len = check_int("seq_len", seq_len, low=1, high=MAX_LM_CHUNK)
    batch_size = check_int("batch_size", batch_size, low=1, high=MAX_LM_CHUNK)
    lr = check_float("lr", lr, low=0.0, high=MAX_LR, low_open=True)
    if max_norm is not None:
        max_norm = check_float("max_norm", max_norm, low=0.0, low_open=True)
    eval_every = check_int("eval_every", eval_every, low=1)
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    ids = _check_ids(ids, model.vocab_size)
    if len(ids) < batch_size * (seq_len + 1) + 1:
        raise ValueError(
            f"ids must hold at least batch_size * (seq_len + 1) + 1 = {batch_size * (seq_len + 1) + 1} characters "
            f"for one chunk per stream; got {len(ids)} (use a longer text, or a smaller batch_size or seq_len)"
        )
    if valid is not None:
        valid = _check_ids(valid, model.vocab_size)
    device = _device(model)
    params = [p for p in model.parameters() if p.requires_grad]
    clip_to = float("inf") if max_norm is None else max_norm
    history = LMHistory()
    generator = torch.Generator().manual_seed(seed)
    # dropout draws from torch's generator, seeded here, the caller's left alone; subnormals count as 0 (as in fit)
    with own_random_state(seed), flush_denormals():
        opt = torch.optim.Adam(params, lr=lr)
        start = time.perf_counter()

        def record(step: int, losses: list[float]) -> None:
            history.steps.append(step)
            history.train_perplexity.append(math.exp(sum(losses) / len(losses)))
            if valid is not None:
                history.valid_perplexity.append(perplexity(model, valid, seq_len=seq_len * 4))
            history.seconds.append(time.perf_counter() - start)
            model.train()
            if callback is not None:
                callback(history, model)

        chunks = _chunks(ids, seq_len, batch_size, generator)
        x, y, fresh = next(chunks)
        with torch.no_grad():
            record(0, [F.cross_entropy(model(x.to(device))[0].flatten(0, 1), y.to(device).flatten()).item()])
        bar = progress_bar(range(1, steps + 1), desc=desc or f"{ARCHITECTURES[model.arch].name} LM", enabled=progress)
        losses, state = [], None
        for step in bar:
            if step > 1:
                x, y, fresh = next(chunks)
            if fresh:
                state = None
            logits, state = model(x.to(device), state)
            state = detach_state(state)
            loss = F.cross_entropy(logits.flatten(0, 1), y.to(device).flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = float(nn.utils.clip_grad_norm_(params, clip_to))
            if not (math.isfinite(loss.item()) and math.isfinite(norm)):
                bar.close()
                raise TrainingDiverged(divergence_advice(step - 1, loss.item(), norm, lr, max_norm), history,
                                       loss=loss.item(), grad_norm=norm)
            opt.step()
            losses.append(loss.item())
            history.step_grad_norm.append(norm)
            if step % eval_every == 0 or step == steps:
                record(step, losses)
                bar.set_postfix(train_ppl=f"{history.train_perplexity[-1]:.2f}", refresh=False)
                losses = []
        bar.close()
    return history


def _chunks(ids: Tensor, seq_len: int, batch_size: int, generator: torch.Generator):
    """Endless ``(x, y, fresh)``: consecutive ``(batch_size, seq_len)`` input chunks of ``batch_size``
    streams and their next-character targets; ``fresh`` marks the first chunk of a pass (state resets).
    Each pass starts at a random offset below ``seq_len``, so chunk borders move from pass to pass."""
    while True:
        offset = int(torch.randint(seq_len, (1,), generator=generator))
        usable = (len(ids) - 1 - offset) // batch_size
        n_chunks = usable // seq_len
        if n_chunks == 0:
            offset, usable = 0, (len(ids) - 1) // batch_size
            n_chunks = usable // seq_len
        length = n_chunks * seq_len
        x = ids[offset:offset + batch_size * usable].view(batch_size, usable)[:, :length]
        y = ids[offset + 1:offset + 1 + batch_size * usable].view(batch_size, usable)[:, :length]
        for i in range(n_chunks):
            yield x[:, i * seq_len:(i + 1) * seq_len], y[:, i * seq_len:(i + 1) * seq_len], i == 0
