"""Benchmark 5: ``compare`` on the seed task against the original module's own training script.

The original ``train.py`` is re-created here as it worked: a ``Dataset`` of token-id tensors, a
``DataLoader`` whose ``collate_fn`` pads each batch, models that *pack* every padded batch and read
the final hidden state ``h_n``, and a loop with ``.item()`` bookkeeping, clipping at 5.0, and a test
pass after every epoch. Its settings: batch 64, embed 32, hidden 64, Adam 1e-3, 20 epochs, the seed
reset before each of the four models.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader, Dataset

from rnnlib.compare import ARCHS, run_comparison
from rnnlib.data import Task

from .timing import CPU_TIME, Row, time_interleaved

SECTION = "5. the seed's run: seed script time ÷ compare time (CPU time)"
TARGET = 1.0
SEED_LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM, "bilstm": nn.LSTM}


class SeedDataset(Dataset):
    """``(token ids, label)`` pairs, one tensor per sentence, as the original script held them."""

    def __init__(self, texts, labels, vocab) -> None:
        self.items = [(torch.tensor(vocab.encode(t), dtype=torch.long), int(y)) for t, y in zip(texts, labels)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        return self.items[index]


def seed_collate(batch) -> tuple[Tensor, Tensor, Tensor]:
    """Pad a list of ``(ids, label)`` to ``(batch, longest)`` and return ``(ids, labels, lengths)``."""
    sequences, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in sequences])
    return pad_sequence(sequences, batch_first=True, padding_value=0), torch.tensor(labels), lengths


class SeedModel(nn.Module):
    """The original classifiers: embedding → packed recurrent layer → final ``h_n`` → dropout → linear."""

    def __init__(self, arch: str, vocab_size: int, embed_dim=32, hidden_dim=64, output_dim=2, dropout=0.0):
        super().__init__()
        self.bidirectional = arch == "bilstm"
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = SEED_LAYERS[arch](embed_dim, hidden_dim, batch_first=True, bidirectional=self.bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_dim * (2 if self.bidirectional else 1), output_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(self.embedding(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        hidden = self.rnn(packed)[1]
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden  # LSTM: (h_n, c_n)
        last = torch.cat([hidden[-2], hidden[-1]], dim=1) if self.bidirectional else hidden[-1]
        return self.fc(self.dropout(last))


def seed_script(task: Task, archs=ARCHS, *, epochs: int = 20, seed: int = 42) -> dict[str, float]:
    """Train the four models as the original script did; returns final test accuracy per model."""
    train = SeedDataset(task.texts["train"], task.train.y, task.vocab)
    test = SeedDataset(task.texts["test"], task.test.y, task.vocab)
    train_loader = DataLoader(train, batch_size=64, shuffle=True, collate_fn=seed_collate)
    test_loader = DataLoader(test, batch_size=64, shuffle=False, collate_fn=seed_collate)
    accuracy = {}
    for arch in archs:
        torch.manual_seed(seed)
        model = SeedModel(arch, len(task.vocab))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(epochs):
            model.train()
            total_loss, correct, seen = 0.0, 0, 0
            for x, y, lengths in train_loader:
                optimizer.zero_grad()
                output = model(x, lengths)
                loss = F.cross_entropy(output, y)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
                optimizer.step()
                total_loss += loss.item() * len(y)
                correct += (output.argmax(1) == y).sum().item()
                seen += len(y)
            model.eval()
            test_correct, test_seen = 0, 0
            with torch.no_grad():
                for x, y, lengths in test_loader:
                    output = model(x, lengths)
                    F.cross_entropy(output, y).item()
                    test_correct += (output.argmax(1) == y).sum().item()
                    test_seen += len(y)
        accuracy[arch] = test_correct / test_seen
    return accuracy


def seed_run(task: Task, *, epochs: int, repeats: int, warmup: int) -> list[Row]:
    """One row: seconds of the re-created seed script ÷ seconds of ``run_comparison("sentiment")``,
    both training all four models for ``epochs`` epochs with a test pass after each."""
    results: dict[str, dict[str, float]] = {}

    def compare() -> None:
        run = run_comparison("sentiment", epochs=epochs)
        results["compare"] = {arch: h.test_metric[-1] for arch, h in run["histories"].items()}

    def seed() -> None:
        results["seed"] = seed_script(task, epochs=epochs)

    timings = time_interleaved({"seed": seed, "compare": compare}, repeats=repeats, warmup=warmup, clock=CPU_TIME)
    accuracies = ", ".join(
        f"{arch} {100 * results['seed'][arch]:.1f}/{100 * results['compare'][arch]:.1f} %" for arch in ARCHS
    )
    return [Row(
        SECTION, f"4 models × {epochs} epochs", timings.ratio("seed", "compare"), target=TARGET,
        higher_is_better=True,
        detail=f"seed script {timings.median('seed'):.1f} s / compare {timings.median('compare'):.1f} s; "
               f"test accuracy seed/compare: {accuracies}",
    )]
