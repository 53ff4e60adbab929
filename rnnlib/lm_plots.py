"""Figures of the character language model (notebook 06), in the course's theme and colours.

Like :mod:`rnnlib.plots`, every function builds a new figure (or draws into ``ax``), labels its axes and
returns the :class:`~matplotlib.figure.Figure`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from .architectures import arch_color, display_name
from .lm import LMHistory
from .plots import _finish, _log_y, _ready_axes, themed
from .validation import check_int, check_series

#: the figures' monospace font for characters of text
MONO = "DejaVu Sans Mono"


def show_char(char: str) -> str:
    """A character as a tick label: a newline as ↵, a space as ␣."""
    return {"\n": "↵", " ": "␣"}.get(char, char)


def plot_perplexity(curves: Mapping[str, LMHistory], *, vocab_size: int, colors: Mapping[str, str] | None = None,
                    best: float | None = None, title: str | None = None, ax=None, path=None) -> Figure:
    """Validation perplexity against training steps, one line per run (log y-axis), with the uniform
    model's perplexity ``vocab_size`` (and ``best``, the lowest possible, when known) as dashed lines.

    ``colors``: label → colour (default: the architecture colour when the label is an architecture key).
    """
    vocab_size = check_int("vocab_size", vocab_size, low=2)
    if not curves or any(not h.valid_perplexity for h in curves.values()):
        raise ValueError("curves must map labels to LMHistory objects measured with validation ids")
    with themed():
        fig, ax = _ready_axes(ax, figsize=(8, 4.2))
        for label, history in curves.items():
            color = (colors or {}).get(label) or (arch_color(label) if label in ("rnn", "gru", "lstm") else None)
            name = display_name(label) if label in ("rnn", "gru", "lstm") else label
            ax.plot(history.steps, history.valid_perplexity, marker="o", markersize=3, color=color,
                    label=f"{name}: {history.valid_perplexity[-1]:.2f}")
        ax.axhline(vocab_size, color="0.4", linestyle="--", linewidth=1,
                   label=f"uniform over {vocab_size} characters")
        if best is not None:
            ax.axhline(best, color="0.4", linestyle=":", linewidth=1, label=f"best possible: {best:.2f}")
        ax.set_xlabel("training step (one chunk of each stream)")
        ax.set_ylabel("validation perplexity (characters)")
        _log_y(ax)
        ax.legend(fontsize="small")
        return _finish(fig, title, path)


def plot_connectivity(grids: Mapping[str, torch.Tensor], text: str, *, position: int | None = None,
                      title: str | None = None, path=None) -> Figure:
    """‖∂ log p(x_{t+1}) / ∂e_s‖ (from :func:`rnnlib.lm.connectivity`) side by side for each model, log
    colour scale; with ``position`` a second row shows that prediction's dependence on each input character.

    ``grids``: architecture key → ``(T - 1, T - 1)``; ``text``: the ``T`` characters they were measured on.
    """
    size = len(text) - 1
    for name, grid in grids.items():
        if tuple(grid.shape) != (size, size):
            raise ValueError(f"grids[{name!r}] must have shape ({size}, {size}) for a text of {len(text)} characters; "
                             f"got {tuple(grid.shape)}")
    if position is not None:
        position = check_int("position", position, low=0, high=size - 1)
    values = np.concatenate([g.numpy()[np.tril_indices(size)] for g in grids.values()])
    positive = values[values > 0]
    norm = LogNorm(vmin=max(positive.min(), positive.max() * 1e-8), vmax=positive.max())
    labels = [show_char(c) for c in text[:-1]]
    with themed():
        rows = 1 if position is None else 2
        fig, axes = plt.subplots(rows, len(grids), figsize=(6 * len(grids), 5.2 + 2.6 * (rows - 1)), squeeze=False,
                                 gridspec_kw={"height_ratios": [2, 1][:rows]})
        for column, (arch, grid) in enumerate(grids.items()):
            ax = axes[0, column]
            shown = np.ma.masked_where(np.triu(np.ones((size, size), bool), 1) | (grid.numpy() <= 0), grid.numpy())
            image = ax.imshow(shown, norm=norm, cmap="viridis", aspect="auto", interpolation="nearest")
            ax.set_title(f"{display_name(arch)}: which inputs each prediction uses")
            ax.set_xlabel("input position s (character read)")
            ax.set_ylabel("prediction position t (predicts character t + 1)")
            step = max(1, size // 30)
            ax.set_xticks(range(0, size, step), labels[::step], fontfamily=MONO, fontsize=7)
            ax.set_yticks(range(0, size, step), labels[::step], fontfamily=MONO, fontsize=7)
            ax.grid(False)
            if position is not None:
                ax.axhline(position, color="white", linewidth=1)
                row = axes[1, column]
                strength = grid[position, : position + 1].numpy()
                row.bar(range(position + 1), strength, color=arch_color(arch), width=0.8)
                row.set_yscale("log")
                row.set_ylim(norm.vmin, norm.vmax * 2)
                row.set_xlim(-0.5, size - 0.5)
                row.set_xticks(range(position + 1), labels[: position + 1], fontfamily=MONO, fontsize=7)
                row.set_xlabel(f"input s (predicting {show_char(text[position + 1])!r} after position {position})")
                row.set_ylabel("‖∂ log p / ∂e_s‖")
        fig.colorbar(image, ax=axes[0, :].tolist(), label="‖∂ log p(x_{t+1}) / ∂e_s‖", shrink=0.8)
        if title:
            fig.suptitle(title)
        if path is not None:
            fig.savefig(path, bbox_inches="tight")
        return fig


def plot_text_values(text: str, values, *, truth=None, truth_label: str = "ground truth", width: int = 80,
                     title: str | None = None, path=None) -> Figure:
    """Each character of ``text`` on a background coloured by ``values`` (one number per character, e.g. a
    hidden unit: blue negative, red positive); with ``truth`` (one number per character) a line plot below
    compares the two over the positions."""
    values = check_series("values", values, min_size=len(text))[: len(text)]
    width = check_int("width", width, low=10)
    lines = textwrap.wrap(text, width, replace_whitespace=False, drop_whitespace=False, break_on_hyphens=False) or [""]
    if sum(map(len, lines)) != len(text):  # wrap splits only at the width when no whitespace is dropped
        lines = [text[i:i + width] for i in range(0, len(text), width)]
    scale = np.abs(values).max() or 1.0
    cmap = plt.get_cmap("coolwarm")
    with themed():
        rows = 1 if truth is None else 2
        fig, axes = plt.subplots(rows, 1, figsize=(width * 0.12, 0.3 * len(lines) + 0.6 + 2.4 * (rows - 1)),
                                 squeeze=False, gridspec_kw={"height_ratios": [0.3 * len(lines) + 0.4, 2.2][:rows]})
        ax = axes[0, 0]
        position = 0
        for row, line in enumerate(lines):
            for column, char in enumerate(line):
                value = values[position]
                ax.text(column, -row, char if char != " " else "·", fontfamily=MONO, fontsize=9, ha="center",
                        va="center", bbox=dict(boxstyle="square,pad=0.12", linewidth=0,
                                               facecolor=cmap(0.5 + 0.5 * value / scale)))
                position += 1
        ax.set_xlim(-1, width)
        ax.set_ylim(-len(lines) + 0.4, 0.6)
        ax.axis("off")
        if truth is not None:
            truth = check_series("truth", truth, min_size=len(text))[: len(text)]
            low = axes[1, 0]
            low.plot(values, color="#d55e00", linewidth=1, label="hidden unit")
            low.set_ylabel("unit activation")
            low.set_xlabel("position in the text (characters)")
            twin = low.twinx()
            twin.step(range(len(truth)), truth, where="mid", color="0.3", linewidth=1, label=truth_label)
            twin.set_ylabel(truth_label)
            twin.grid(False)
            low.set_xlim(0, len(text) - 1)
            handles = low.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
            low.legend(handles, [h.get_label() for h in handles], fontsize="small", loc="upper right")
        return _finish(fig, title, path)


def plot_next_char(probs: Mapping[str, torch.Tensor], chars, *, top: int = 15, samples: Mapping[str, str] | None = None,
                   title: str | None = None, path=None) -> Figure:
    """The next-character distribution under several settings (label → ``(vocab,)`` probabilities) as
    bars for the ``top`` most likely characters of the first setting; ``samples`` (label → text) are
    printed beside it in a monospace font."""
    first = next(iter(probs.values()))
    order = torch.argsort(first, descending=True)[:top].tolist()
    with themed():
        fig, axes = plt.subplots(1, 2 if samples else 1, figsize=(13 if samples else 6, 4.4), squeeze=False,
                                 gridspec_kw={"width_ratios": [1, 1.5][: 2 if samples else 1]})
        ax = axes[0, 0]
        width = 0.8 / len(probs)
        for i, (label, p) in enumerate(probs.items()):
            ax.bar(np.arange(len(order)) + i * width - 0.4 + width / 2, p[order].numpy(), width=width, label=label)
        ax.set_xticks(range(len(order)), [show_char(chars[i]) for i in order], fontfamily=MONO)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"next character (the {len(order)} most likely)")
        ax.set_ylabel("probability")
        ax.legend(fontsize="small")
        if samples:
            text_ax = axes[0, 1]
            text_ax.axis("off")
            block = "\n\n".join(f"— {label} —\n{text}" for label, text in samples.items())
            text_ax.text(0, 1, block, fontfamily=MONO, fontsize=8, va="top", ha="left", transform=text_ax.transAxes)
        return _finish(fig, title, path)
