"""Data for the course: the original module's sentiment task and two tasks where architectures differ.

* :func:`sentiment_task`: the original synthetic sentiment sentences (easy: every model reaches ~100 %).
* :func:`long_range_task`: one deciding sentiment word followed by ``distance`` neutral filler words,
  so the model must carry one bit of information across ``distance`` steps.

The **dependency distance** d, one symbol and one meaning in the whole course: the number of steps
between the deciding word and the readout, i.e. the number of words after the deciding word. The state
that first reads the word is h_p; the classifier reads h_τ with τ = p + d, so the information crosses d
applications of the cell and the gradient d Jacobians on its way back. ``long_range_task(d)``; the
gradient probe of the labs puts the word at t = 1 of T tokens, so there d = T - 1.
* :func:`adding_task`: the adding problem (Hochreiter & Schmidhuber 1997), real-valued input.

Every generator is seeded and deterministic. A :class:`SequenceDataset` holds padded tensors and hands
out ``(x, y, lengths)`` batches trimmed to the longest sequence in each batch.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from .cells import reverse_within_length
from .limits import ADDING_LENGTH_RANGE, MAX_DISTANCE, SEED_RANGE
from .validation import check_float, check_int

POSITIVE_WORDS = (
    "good great excellent wonderful amazing fantastic brilliant superb lovely "
    "delightful enjoyable pleasant awesome beautiful perfect outstanding terrific happy"
).split()
NEGATIVE_WORDS = (
    "bad terrible awful horrible poor boring dreadful disappointing ugly "
    "worst annoying painful mediocre lousy nasty dull sad hate"
).split()
NEUTRAL_WORDS = (
    "the movie film story plot was is it and this a very quite with of acting scene really"
).split()
PAD, UNK = "<pad>", "<unk>"

#: the generated seed dataset, shipped inside the package with its data card (datasets/README.md)
DATA_DIR = Path(__file__).resolve().parent / "datasets"
SENTIMENT_CSV = DATA_DIR / "sentiment.csv"


class Vocabulary:
    """Word ↔ id map with ``<pad>`` = 0 and ``<unk>`` = 1; ids of known words follow in first-seen order."""

    def __init__(self, words: Sequence[str]) -> None:
        self.itos = [PAD, UNK] + [w for w in dict.fromkeys(words) if w not in (PAD, UNK)]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Vocabulary:
        return cls([w for text in texts for w in text.split()])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(w, 1) for w in text.split()]

    def decode(self, ids) -> str:
        return " ".join(self.itos[int(i)] for i in ids if int(i) != 0)


@dataclass
class SequenceDataset:
    """Padded sequences. ``x: (N, T)`` token ids or ``(N, T, features)`` values; ``y: (N,)``;
    ``lengths: (N,)`` true lengths."""

    x: Tensor
    y: Tensor
    lengths: Tensor

    def __post_init__(self) -> None:
        if not (len(self.x) == len(self.y) == len(self.lengths)):
            raise ValueError(
                f"x, y and lengths must have the same length; got {len(self.x)}, {len(self.y)}, "
                f"{len(self.lengths)}"
            )

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index) -> SequenceDataset:
        return SequenceDataset(self.x[index], self.y[index], self.lengths[index])

    def reversed(self) -> SequenceDataset:
        """The same sequences read from the true last token to the first; padding stays at the end."""
        return SequenceDataset(reverse_within_length(self.x, self.lengths), self.y, self.lengths)

    def batches(self, batch_size: int = 64, *, shuffle: bool = False, seed: int = 0) -> BatchLoader:
        return BatchLoader(self, batch_size, shuffle=shuffle, seed=seed)

    @property
    def is_regression(self) -> bool:
        return self.y.is_floating_point()


class BatchLoader:
    """Iterates ``(x, y, lengths)`` batches; each pass draws a new seeded order when shuffling.

    Each batch is trimmed to its longest sequence, so short batches cost short loops.
    """

    def __init__(self, data: SequenceDataset, batch_size: int = 64, *, shuffle=False, seed=0) -> None:
        if len(data) == 0:
            raise ValueError("data is empty: a dataset needs at least one sequence")
        self.data = data
        self.batch_size = check_int("batch_size", batch_size, low=1)
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1]))

    def __len__(self) -> int:
        return -(-len(self.data) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        n = len(self.data)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            lengths = self.data.lengths[index]
            longest = int(lengths.max())
            yield self.data.x[index, :longest], self.data.y[index], lengths


@dataclass
class Task:
    """A train/test pair and what a model needs to read it."""

    name: str
    train: SequenceDataset
    test: SequenceDataset
    vocab: Vocabulary | None = None
    input_dim: int | None = None
    output_dim: int = 2
    texts: dict[str, list[str]] = field(default_factory=dict)

    @property
    def is_regression(self) -> bool:
        return self.train.is_regression

    def model_kwargs(self) -> dict:
        """The ``build_model`` arguments that fit this task's input and output."""
        if self.vocab is not None:
            return {"vocab_size": len(self.vocab), "output_dim": self.output_dim}
        return {"input_dim": self.input_dim, "output_dim": self.output_dim}


def generate_sentiment_sentences(n: int = 2000, seed: int = 42) -> tuple[list[str], list[int]]:
    """The original module's sentences: half positive (1), half negative (0), shuffled.

    Each has 4–10 tokens: 1–3 sentiment words of its class mixed with neutral words, in random order.
    """
    n = check_int("n", n, low=2)
    rng = random.Random(check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1]))
    examples = []
    for i in range(n):
        label = int(i < n // 2)
        length = rng.randint(4, 10)
        k = rng.randint(1, 3)
        words = rng.choices(POSITIVE_WORDS if label else NEGATIVE_WORDS, k=k)
        words += rng.choices(NEUTRAL_WORDS, k=length - k)
        rng.shuffle(words)
        examples.append((" ".join(words), label))
    rng.shuffle(examples)
    texts, labels = zip(*examples)
    return list(texts), list(labels)


def encode_texts(texts: Sequence[str], labels: Sequence[int], vocab: Vocabulary) -> SequenceDataset:
    """Token ids padded with 0 to the longest text."""
    ids = [vocab.encode(t) for t in texts]
    lengths = torch.tensor([len(s) for s in ids], dtype=torch.long)
    x = torch.zeros(len(ids), int(lengths.max()) if len(ids) else 0, dtype=torch.long)
    for row, seq in enumerate(ids):
        x[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return SequenceDataset(x, torch.tensor(list(labels), dtype=torch.long), lengths)


def text_task(
    name: str, texts: Sequence[str], labels: Sequence[int], *, test_fraction: float = 0.2
) -> Task:
    """Split labelled texts (first ``1 - test_fraction`` train, rest test) and build the vocabulary
    from the training part only."""
    test_fraction = check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True,
                                high_open=True)
    split = int(round(len(texts) * (1 - test_fraction)))
    if split < 1 or split >= len(texts):
        raise ValueError(
            f"test_fraction={test_fraction} leaves an empty train or test set for {len(texts)} texts"
        )
    vocab = Vocabulary.from_texts(texts[:split])
    return Task(
        name,
        train=encode_texts(texts[:split], labels[:split], vocab),
        test=encode_texts(texts[split:], labels[split:], vocab),
        vocab=vocab,
        texts={"train": list(texts[:split]), "test": list(texts[split:])},
    )


def sentiment_task(
    n: int = 2000, seed: int = 42, *, test_fraction: float = 0.2, csv_path: str | Path | None = None
) -> Task:
    """The original sentiment task (2000 sentences, seed 42, 80/20), or a learner's CSV of that shape."""
    texts, labels = load_csv(csv_path) if csv_path is not None else generate_sentiment_sentences(n, seed)
    return text_task("sentiment", texts, labels, test_fraction=test_fraction)


def long_range_sentences(n: int, distance: int, seed: int = 0, *,
                         before: int | None = None) -> tuple[list[str], list[int]]:
    """Sentences ``[0–4 neutral words] [one sentiment word] [distance neutral filler words]``.

    The label is the sentiment word's class; nothing after it carries information, so the model must
    remember one word across ``distance`` steps. Half of the sentences are positive. ``before``: exactly
    that many neutral words before the sentiment word instead of 0–4 (``before = distance`` puts it in
    the middle, far from both ends: no short path for a backward reader either).
    """
    n = check_int("n", n, low=2)
    distance = check_int("distance", distance, low=0, high=MAX_DISTANCE)
    if before is not None:
        before = check_int("before", before, low=0, high=MAX_DISTANCE)
    rng = random.Random(check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1]))
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        prefix = rng.choices(NEUTRAL_WORDS, k=rng.randint(0, 4) if before is None else before)
        word = rng.choice(POSITIVE_WORDS if label else NEGATIVE_WORDS)
        filler = rng.choices(NEUTRAL_WORDS, k=distance)
        texts.append(" ".join(prefix + [word] + filler))
        labels.append(label)
    order = list(range(n))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


def long_range_task(distance: int, n_train: int = 2000, n_test: int = 500, seed: int = 0, *,
                    before: int | None = None) -> Task:
    """Long-range sentiment at dependency distance d = ``distance``: the deciding word is followed by
    ``distance`` filler words, so it is ``distance`` steps before the readout (the last word).
    ``before``: neutral words before it (``None``: 0–4 at random; see :func:`long_range_sentences`)."""
    n_train = check_int("n_train", n_train, low=2)
    n_test = check_int("n_test", n_test, low=2)
    texts, labels = long_range_sentences(n_train + n_test, distance, seed, before=before)
    # the vocabulary is fixed (every word list) so train and test always share it
    vocab = Vocabulary(POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS)
    return Task(
        f"long-range (distance {distance})",
        train=encode_texts(texts[:n_train], labels[:n_train], vocab),
        test=encode_texts(texts[n_train:], labels[n_train:], vocab),
        vocab=vocab,
        texts={"train": texts[:n_train], "test": texts[n_train:]},
    )


def adding_problem(n: int, length: int, seed: int = 0) -> SequenceDataset:
    """The adding problem: ``x: (n, length, 2)``, channel 0 values uniform in [0, 1], channel 1 marks
    one position in each half; the target ``y: (n,)`` is the sum of the two marked values.

    Always predicting 1.0 gives MSE 1/6 ≈ 0.167 (the variance of a sum of two uniforms): the baseline.
    """
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    return draw_adding(torch.Generator().manual_seed(seed), n, length)


def draw_adding(generator: torch.Generator, n: int, length: int) -> SequenceDataset:
    """:func:`adding_problem`'s ``n`` sequences drawn from ``generator``, which moves on: drawing batch
    after batch from one generator gives a stream whose first k batches never depend on how many
    follow (a short run sees the start of a longer one's data)."""
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    n = check_int("n", n, low=1)
    length = check_int("length", length, low=ADDING_LENGTH_RANGE[0], high=ADDING_LENGTH_RANGE[1])
    values = torch.rand(n, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, length, (n,), generator=generator)
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)
    y = values[rows, first] + values[rows, second]
    return SequenceDataset(x, y, torch.full((n,), length, dtype=torch.long))


def adding_task(length: int, n_train: int = 4000, n_test: int = 500, seed: int = 0) -> Task:
    """The adding problem as a train/test pair (test drawn with the next seed)."""
    n_train = check_int("n_train", n_train, low=1)
    n_test = check_int("n_test", n_test, low=1)
    seed = check_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1] - 1)  # the test set uses seed + 1
    return Task(
        f"adding (T = {length})",
        train=adding_problem(n_train, length, seed),
        test=adding_problem(n_test, length, seed + 1),
        input_dim=2,
        output_dim=1,
    )


def load_csv(csv_path: str | Path) -> tuple[list[str], list[int]]:
    """Read a ``text,label`` CSV (labels 0 or 1). Raises ``ValueError`` saying what is wrong."""
    path = Path(csv_path)
    if not path.is_file():
        raise ValueError(f"csv_path {str(path)!r} does not exist or is not a file: give the path of a text,label CSV")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"text", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"csv_path {path.name} must have the columns 'text' and 'label'; missing {sorted(missing)} "
                f"(found {reader.fieldnames})"
            )
        texts, labels = [], []
        for line, row in enumerate(reader, start=2):
            text = (row["text"] or "").strip()
            if not text:
                raise ValueError(f"csv_path {path.name} line {line}: text is empty; each text needs at least one word")
            if (row["label"] or "").strip() not in ("0", "1"):
                raise ValueError(f"csv_path {path.name} line {line}: label must be 0 or 1, got {row['label']!r}")
            texts.append(text)
            labels.append(int(row["label"]))
    if not texts:
        raise ValueError(f"csv_path {path.name} has no rows: the dataset is empty; give at least one text,label row")
    return texts, labels


def write_csv(path: str | Path, texts: Sequence[str], labels: Sequence[int]) -> Path:
    """Write a ``text,label`` CSV that :func:`load_csv` reads back (Unix line endings)."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    return path
