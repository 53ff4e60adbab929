"""Figures for the notebooks, the CLI and the labs, all in one seaborn theme.

Every function builds a new figure (or draws into ``ax`` when given one), labels every axis, and
returns the :class:`~matplotlib.figure.Figure`, so a notebook can show it, a test can inspect it
and the CLI can save it. The theme is applied only while a figure is built (:func:`themed`), so
calling these functions never changes a learner's own matplotlib settings; call :func:`use_theme`
once to give the learner's own plots the same look.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .training import History

STYLE = "whitegrid"
CONTEXT = "notebook"
PALETTE = "colorblind"
DPI = 120
#: how each History metric is named on an axis
METRIC_LABELS = {"accuracy": "accuracy", "mse": "MSE"}


def use_theme() -> None:
    """Set the rnnlib seaborn theme globally (for a notebook's own plots)."""
    sns.set_theme(style=STYLE, context=CONTEXT, palette=PALETTE)


@contextmanager
def themed() -> Iterator[None]:
    """Apply the rnnlib theme while a figure is built, restoring the previous settings after."""
    rc = {**sns.axes_style(STYLE), **sns.plotting_context(CONTEXT)}
    rc["axes.prop_cycle"] = plt.cycler(color=sns.color_palette(PALETTE))
    with plt.rc_context(rc):
        yield


def colors(labels) -> dict[str, tuple]:
    """One palette colour per label, in order, so a label keeps its colour across panels."""
    labels = list(labels)
    palette = sns.color_palette(PALETTE, max(len(labels), 1))
    return dict(zip(labels, palette, strict=False))


def metric_label(metric: str, split: str = "test") -> str:
    """``"accuracy"`` → ``"test accuracy"``, ``"mse"`` → ``"test MSE"``."""
    return f"{split} {METRIC_LABELS.get(metric, metric)}".strip()


def _finish(fig: Figure, title: str | None, path) -> Figure:
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return fig


def _check_histories(histories: Mapping[str, History], *, need_test: bool = False) -> None:
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty dict of label → History")
    for label, history in histories.items():
        if not isinstance(history, History):
            kind = type(history).__name__
            raise ValueError(f"histories[{label!r}] must be a History, got {kind}")
        if history.epochs == 0:
            raise ValueError(f"histories[{label!r}] holds no epoch: train at least one epoch first")
        if need_test and not history.test_metric:
            raise ValueError(f"histories[{label!r}] has no test metric: call fit with test data")


def _format_value(value: float, metric: str) -> str:
    return f"{value:.1%}" if metric == "accuracy" else f"{value:.3g}"


def _format_count(count: int) -> str:
    """``123`` → ``"123"``, ``12_345`` → ``"12.3k"``, ``1_234_567`` → ``"1.23M"``."""
    if count >= 1_000_000:
        return f"{count / 1e6:.3g}M"
    return f"{count / 1e3:.3g}k" if count >= 1_000 else str(count)


def _metric_axis(ax: Axes, metric: str, axis: str = "y") -> None:
    """Accuracy axes read in percent from 0 to 100 %."""
    if metric == "accuracy":
        target = ax.yaxis if axis == "y" else ax.xaxis
        target.set_major_formatter(PercentFormatter(1.0))


def _integer_epochs(ax: Axes) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_comparison(
    histories: Mapping[str, History],
    params: Mapping[str, int],
    *,
    title: str | None = None,
    path=None,
) -> Figure:
    """The architecture comparison (the original module's ``model_comparison.png``).

    Three panels: test metric per epoch (one line per architecture), final test metric (bars with
    value labels) and training seconds (bars). ``histories``: label → :class:`History` with test
    data; ``params``: label → parameter count, shown under each bar. Saved to ``path`` if given.
    """
    _check_histories(histories, need_test=True)
    labels = list(histories)
    missing = [label for label in labels if label not in params]
    if missing:
        raise ValueError(f"params must give a parameter count for every history; missing {missing}")
    metrics = {h.metric for h in histories.values()}
    if len(metrics) > 1:
        raise ValueError(f"histories must share one metric to be compared, got {sorted(metrics)}")
    metric = metrics.pop()
    ylabel = metric_label(metric)
    palette = colors(labels)
    ticks = [f"{label}\n{_format_count(int(params[label]))}" for label in labels]
    finals = [histories[label].test_metric[-1] for label in labels]
    seconds = [sum(histories[label].seconds) for label in labels]

    with themed():
        fig, (ax_curve, ax_final, ax_time) = plt.subplots(1, 3, figsize=(15, 4.5))
        for label in labels:
            history = histories[label]
            epochs = np.arange(1, history.epochs + 1)
            ax_curve.plot(epochs, history.test_metric, marker="o", markersize=3,
                          color=palette[label], label=label)
        ax_curve.set(xlabel="epoch", ylabel=ylabel, title=f"{ylabel} per epoch")
        _integer_epochs(ax_curve)
        ax_curve.legend()

        bars = ax_final.bar(ticks, finals, color=[palette[label] for label in labels])
        ax_final.bar_label(bars, labels=[_format_value(v, metric) for v in finals], padding=2)
        ax_final.set(ylabel=f"final {ylabel}", title=f"final {ylabel}")
        if metric == "accuracy":
            ax_final.set_ylim(0, 1.1)
            ax_curve.set_ylim(0, 1.05)
            _metric_axis(ax_final, metric)
            _metric_axis(ax_curve, metric)
        else:
            ax_final.set_ylim(0, max(finals) * 1.2 if max(finals) > 0 else 1)

        bars = ax_time.bar(ticks, seconds, color=[palette[label] for label in labels])
        ax_time.bar_label(bars, labels=[f"{s:.1f} s" for s in seconds], padding=2)
        ax_time.set(ylabel="training time (s)", title="training time")
        ax_time.set_ylim(0, max(seconds) * 1.2 if max(seconds) > 0 else 1)
        for ax in (ax_final, ax_time):
            ax.set_xlabel("architecture (trainable parameters)")
        return _finish(fig, title, path)
