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
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, PercentFormatter

from .architectures import ARCHITECTURES, arch_color
from .diagnostics import EXPLODING_ABOVE, VANISHING_BELOW
from .training import History
from .validation import check_choice, check_float, check_int, check_series

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
    """Apply the rnnlib theme while a figure is built, restoring the previous settings after.

    Only the theme's own keys are restored: ``plt.rc_context`` would also restore ``backend`` and
    ``interactive``, and when pyplot picks Jupyter's inline backend inside the first figure (turning
    interactive mode on), that reset leaves every later figure of the notebook undisplayed.
    """
    rc = {**sns.axes_style(STYLE), **sns.plotting_context(CONTEXT)}
    rc["axes.prop_cycle"] = plt.cycler(color=sns.color_palette(PALETTE))
    previous = {key: plt.rcParams[key] for key in rc}
    plt.rcParams.update(rc)
    try:
        yield
    finally:
        plt.rcParams.update(previous)


def colors(labels) -> dict[str, tuple]:
    """One colour per label, so a label keeps its colour across panels: each architecture's own colour
    (:mod:`rnnlib.architectures`) when every label names one (``"LSTM"`` or ``"lstm"``), otherwise the
    palette in order."""
    labels = list(labels)
    by_architecture = {name: arch.color for key, arch in ARCHITECTURES.items() for name in (key, arch.name)}
    if labels and all(label in by_architecture for label in labels):
        return {label: to_rgb(by_architecture[label]) for label in labels}
    palette = sns.color_palette(PALETTE, max(len(labels), 1))
    return dict(zip(labels, palette, strict=False))


def arch_style(arch: str, *, trained: bool = True) -> dict:
    """Line style of one architecture in every figure: its colour (:func:`rnnlib.architectures.arch_color`),
    solid when trained, dashed when untrained. Pass it per label as ``styles={label: arch_style(...)}``."""
    check_choice("arch", arch, tuple(ARCHITECTURES))
    return {"color": arch_color(arch), "linestyle": "-" if trained else "--"}


def arch_shades(arch: str, n: int) -> list[tuple]:
    """``n`` shades of the architecture's colour, dark to light: several runs (seeds) of one architecture
    that stay recognisably that architecture."""
    check_choice("arch", arch, tuple(ARCHITECTURES))
    n = check_int("n", n, low=1, high=12)
    shades = sns.dark_palette(arch_color(arch), n + 2)[2:][::-1]  # the colour itself first, then darker
    return [tuple(float(v) for v in shade) for shade in shades]


def _styles(styles, labels) -> dict[str, dict]:
    """Validated ``styles``: label → matplotlib line keywords (colour, linestyle, marker, …)."""
    if styles is None:
        return {}
    if not isinstance(styles, Mapping):
        raise ValueError("styles must be a dict of label → line style (e.g. arch_style('gru'))")
    unknown = [label for label in styles if str(label) not in labels]
    if unknown:
        raise ValueError(f"styles has labels without a curve: {unknown}; labels: {list(labels)}")
    return {str(label): dict(style) for label, style in styles.items()}


def _legend(ax: Axes, *, outside_above: int = 3) -> None:
    """A legend that never covers data: beside the axes once it has more than ``outside_above``
    entries, else where matplotlib finds the emptiest corner."""
    handles, _ = ax.get_legend_handles_labels()
    if len(handles) > outside_above:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    elif handles:
        ax.legend(fontsize="small", loc="best")


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


def _check_histories(histories: Mapping[str, History], *, need_test: bool = False,
                     need_epochs: bool = True) -> None:
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty dict of label → History")
    for label, history in histories.items():
        if not isinstance(history, History):
            kind = type(history).__name__
            raise ValueError(f"histories[{label!r}] must be a History, got {kind}")
        if need_epochs and history.epochs == 0:
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
        target.set_major_formatter(PercentFormatter(1.0, decimals=0))


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
        _legend(ax_curve)

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


def plot_sweep(
    finals: Mapping[str, Mapping[float, float]],
    *,
    xlabel: str,
    metric: str = "accuracy",
    chance: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """A final test metric against one setting, one line per label: e.g. test accuracy against the
    dependency distance for each architecture (``rnnlib.compare.sweep``).

    ``finals``: label → {setting value → final test metric}, the values numbers; ``xlabel`` names the
    setting with its unit. ``chance``: the level a model reaches by guessing (0.5 for two balanced
    classes), drawn dotted. Markers differ per label, so lines that lie on top of each other stay
    visible.
    """
    if not isinstance(finals, Mapping) or not finals:
        raise ValueError("finals must be a non-empty dict of label → {setting value: metric}")
    for label, points in finals.items():
        if not isinstance(points, Mapping) or not points:
            raise ValueError(f"finals[{label!r}] must be a non-empty dict of setting value → metric")
    if chance is not None:
        chance = check_float("chance", chance)
    palette = colors(finals)
    markers = "osD^vP*X"
    ticks = sorted({float(v) for points in finals.values() for v in points})
    with themed():
        fig, ax = _ready_axes(ax, figsize=(7, 4.5))
        for index, (label, points) in enumerate(finals.items()):
            xs = sorted(points)
            ax.plot(xs, [points[x] for x in xs], marker=markers[index % len(markers)], markersize=7,
                    linewidth=1.8, color=palette[label], label=label, alpha=0.9)
        if chance is not None:
            ax.axhline(chance, color="grey", linestyle=":", linewidth=1.2,
                       label=f"chance ({_format_value(chance, metric)})")
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set(xlabel=xlabel, ylabel=f"final {metric_label(metric)}")
        if metric == "accuracy":
            ax.set_ylim(0, 1.05)
            _metric_axis(ax, metric)
        _legend(ax)
        return _finish(fig, title, None)


# --- gradient and Jacobian norms over time ------------------------------------------------------


def _curves(name: str, curves) -> dict[str, np.ndarray]:
    if curves is None:
        return {}
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(f"{name} must be a non-empty dict of label → values per step")
    return {str(label): check_series(f"{name}[{label!r}]", v) for label, v in curves.items()}


def _log_line(ax: Axes, values: np.ndarray, label: str, **style) -> int:
    """Plot ``values`` against steps 1…T on a log axis, leaving out zeros, NaN and ±inf (a log axis
    cannot show them; NaN must never reach a line). Returns how many steps were left out."""
    steps = np.arange(1, values.size + 1)
    shown = np.isfinite(values) & (values > 0)
    hidden = int(values.size - shown.sum())
    if hidden:
        label = f"{label} ({hidden} step{'s' if hidden > 1 else ''} at 0/NaN not shown)"
    if shown.any():
        ax.plot(steps[shown], values[shown], label=label, **style)
    return hidden


def _ready_axes(ax: Axes | None, figsize=(8, 4.5)) -> tuple[Figure, Axes]:
    if ax is None:
        return plt.subplots(figsize=figsize)
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax


def _log_y(ax: Axes) -> None:
    """A log y-axis (call it after plotting). Spanning under two decades, its ticks read as plain
    numbers (0.6, 0.8) instead of a single power of ten."""
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if low > 0 and high / low < 100:
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_locator(LogLocator(subs=(2, 3, 5)))
        ax.yaxis.set_minor_formatter(plain)


def _log_time_axes(ax: Axes, ylabel: str, time: int) -> None:
    _log_y(ax)
    ax.set(xlabel="time step t", ylabel=ylabel)
    ax.set_xlim(0.5, time + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(ax)


def plot_grad_norms(
    curves: Mapping[str, object],
    *,
    faint: Mapping[str, object] | None = None,
    threshold: float | None = None,
    styles: Mapping[str, Mapping] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """‖∂L/∂h_t‖ against the time step t on a log axis, one line per label.

    ``curves``: label → norms per step (e.g. :func:`rnnlib.diagnostics.hidden_grad_norms`);
    ``faint``: curves drawn thin and pale, e.g. the previous setting for comparison. ``threshold``
    (> 0) draws, for each curve, the dotted level ``threshold × ‖∂L/∂h_T‖`` (its last value): the
    level :func:`rnnlib.diagnostics.memory_span` counts steps above. Steps whose norm is 0 or NaN
    cannot sit on a log axis: they are left out and counted in the legend. ``styles``: label → line
    keywords overriding the defaults, e.g. :func:`arch_style` or a dashed, marked line for a curve that
    lies on top of another.
    """
    main = _curves("curves", curves)
    pale = _curves("faint", faint)
    styles = _styles(styles, main)
    if threshold is not None:
        threshold = check_float("threshold", threshold, low=0.0, low_open=True)
    palette = colors(list(main) + [label for label in pale if label not in main])
    palette |= {label: style["color"] for label, style in styles.items() if "color" in style}
    with themed():
        fig, ax = _ready_axes(ax)
        for label, values in pale.items():
            _log_line(ax, values, f"{label} (previous)", color=palette[label], alpha=0.35,
                      linewidth=1.0)
        for label, values in main.items():
            _log_line(ax, values, label, **({"color": palette[label], "linewidth": 2.0} | styles.get(label, {})))
            last = values[-1]
            if threshold is not None and np.isfinite(last) and last > 0:
                ax.axhline(threshold * last, color=palette[label], linestyle=":", linewidth=1.2,
                           label=f"{threshold:g} × ‖∂L/∂h_T‖" + (f" ({label})" if len(main) > 1 else ""))
        time = max(v.size for v in [*main.values(), *pale.values()])
        _log_time_axes(ax, "‖∂L/∂h_t‖ (log scale)", time)
        return _finish(fig, title, None)


def plot_jacobian_norms(
    curves,
    *,
    radii: Mapping[str, float] | None = None,
    styles: Mapping[str, Mapping] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """σ_max(∂h_T/∂h_t), the largest factor by which step t's state reaches the last, on a log axis.

    ``curves``: label → values per step (e.g. :func:`rnnlib.diagnostics.jacobian_norms`), or one
    array. ``radii``: label → spectral radius ρ of W_hh; draws theory's ρ^(T−t) dashed beside the
    measurement (for a vanilla RNN, tanh' ≤ 1 makes the measured curve fall at least that fast
    once ρ is close to the largest singular value of W_hh). ``styles``: as in :func:`plot_grad_norms`.
    """
    main = _curves("curves", curves if isinstance(curves, Mapping) else {"measured": curves})
    styles = _styles(styles, main)
    radii = dict(radii or {})
    for label, radius in radii.items():
        if label not in main:
            raise ValueError(f"radii[{label!r}] has no curve of that label; labels: {list(main)}")
        check_float(f"radii[{label!r}]", radius, low=0.0, low_open=True)
    palette = colors(main) | {label: style["color"] for label, style in styles.items() if "color" in style}
    with themed():
        fig, ax = _ready_axes(ax)
        for label, values in main.items():
            _log_line(ax, values, label, **({"color": palette[label], "linewidth": 2.0} | styles.get(label, {})))
            if label in radii:
                distance = values.size - np.arange(1, values.size + 1)  # T − t
                theory = float(radii[label]) ** distance.astype(float)
                _log_line(ax, theory, f"ρ^(T−t), ρ = {radii[label]:.2f}", color=palette[label],
                          linestyle="--", linewidth=1.2)
        time = max(v.size for v in main.values())
        _log_time_axes(ax, "σ_max(∂h_T/∂h_t) (log scale)", time)
        return _finish(fig, title, None)


def plot_decay_during_training(ratios: Mapping[str, object], *, styles: Mapping[str, Mapping] | None = None,
                               ax: Axes | None = None, title: str | None = None) -> Figure:
    """The decay ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ after every epoch of training, log axis, one line per label.

    ``ratios``: label → ratios per epoch, entry 0 before training (collect them with
    ``fit(..., on_epoch=...)``). The band between the thresholds of
    :func:`rnnlib.diagnostics.gradient_regime` is shaded "held": below it the gradient has vanished
    before it reaches step 1, above it it explodes.
    """
    main = _curves("ratios", ratios)
    styles = _styles(styles, main)
    palette = colors(main) | {label: style["color"] for label, style in styles.items() if "color" in style}
    markers = "osD^vP*X"
    with themed():
        fig, ax = _ready_axes(ax, figsize=(8, 4.5))
        ax.axhspan(VANISHING_BELOW, EXPLODING_ABOVE, color="grey", alpha=0.12,
                   label=f"held ({VANISHING_BELOW:g} to {EXPLODING_ABOVE:g})")
        for index, (label, values) in enumerate(main.items()):
            epochs = np.arange(values.size)
            shown = np.isfinite(values) & (values > 0)
            style = {"color": palette[label], "marker": markers[index % len(markers)], "markersize": 5,
                     "linewidth": 1.6} | styles.get(label, {})
            ax.plot(epochs[shown], values[shown], label=label, **style)
        ax.set_yscale("log")
        ax.set(xlabel="epoch (0: before training)", ylabel="‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ (log scale)")
        _integer_epochs(ax)
        _legend(ax, outside_above=0)
        return _finish(fig, title, None)


# --- gate heatmaps -------------------------------------------------------------------------------

#: colour scale per kind of trace: sigmoid gates in (0, 1), tanh candidates in (-1, 1), cell unbounded
_GATE_SCALES = {
    "gate": dict(vmin=0.0, vmax=1.0, cmap="viridis", label="gate activation"),
    "candidate": dict(vmin=-1.0, vmax=1.0, cmap="vlag", label="candidate value"),
    "cell": dict(center=0.0, cmap="vlag", label="cell state c_t"),
    "change": dict(center=0.0, cmap="vlag", label="change (edited − original)"),
}
_GATE_KINDS = {"i": "gate", "f": "gate", "o": "gate", "r": "gate", "z": "gate",
               "g": "candidate", "n": "candidate", "c": "cell"}
_GATE_TITLES = {"i": "input gate i_t", "f": "forget gate f_t", "o": "output gate o_t",
                "g": "candidate cell c~_t", "c": "cell state c_t", "r": "reset gate r_t",
                "z": "update gate z_t", "n": "candidate state n_t"}
#: a panel named with this prefix (``"Δc"``) shows a change of that trace, on a scale centred on 0
CHANGE_PREFIX = "Δ"


def _panel_style(name: str) -> tuple[dict, str]:
    """(heatmap colour scale, panel title) for a trace name such as ``"f"`` or ``"Δc"``."""
    if name.startswith(CHANGE_PREFIX) and len(name) > len(CHANGE_PREFIX):
        base = name[len(CHANGE_PREFIX):]
        return dict(_GATE_SCALES["change"]), f"change of the {_GATE_TITLES.get(base, base)}: {name}_t"
    return dict(_GATE_SCALES[_GATE_KINDS.get(name, "gate")]), _GATE_TITLES.get(name, name)


def _heatmap(ax, values: np.ndarray, scale: dict, xlabels: list[str], ylabels: list[str],
             spread: float | None = None) -> None:
    """A seaborn-style heatmap of ``values: (rows, columns)`` (row 0 on top, NaN left blank) with a
    labelled colour bar. ``seaborn.heatmap`` draws the whole figure once per call to check whether its
    labels overlap; with one panel per gate that was most of a gate-lab redraw, so draw it directly.
    A scale with a ``center`` runs from ``center - spread`` to ``center + spread`` (default: the
    largest distance from the centre in ``values``)."""
    values = np.ma.masked_invalid(values)
    label, center = scale.pop("label"), scale.pop("center", None)
    if center is not None:  # a diverging scale symmetric about ``center``
        if spread is None:
            spread = float(np.abs(values - center).max()) if values.count() else 0.0
        spread = spread or 1.0
        scale.update(vmin=center - spread, vmax=center + spread)
    cmap = sns.color_palette(scale.pop("cmap"), as_cmap=True)
    mesh = ax.pcolormesh(values, cmap=cmap, **scale)
    rows, columns = values.shape
    ax.set(xlim=(0, columns), ylim=(rows, 0))
    ax.set_xticks(np.arange(columns) + 0.5, xlabels)
    ax.set_yticks(np.arange(rows) + 0.5, ylabels)
    ax.grid(False)
    ax.figure.colorbar(mesh, ax=ax, label=label)


#: widest heatmap figure in inches: 1200 px at the notebooks' 100 dpi
HEATMAP_MAX_WIDTH = 12.0


def plot_gate_heatmap(gates, *, tokens: list[str] | None = None, mark: int | None = None,
                      change_limit: float | None = None, title: str | None = None) -> Figure:
    """Gate activations per step as heatmaps: x = time step (labelled with ``tokens``),
    y = hidden unit, colour 0–1 ("gate activation").

    ``gates``: one array ``(time, hidden)``, or name → ``(time, hidden)`` (e.g. one sequence of
    :func:`rnnlib.diagnostics.gate_traces`: ``{k: v[0] for k, v in traces.items()}``), one panel
    each. Candidates (``g``, ``n``) use −1…1 and the cell state ``c`` a scale centred on 0. A name
    with the prefix ``"Δ"`` (``"Δc"``: the cell state of an edited input minus the original's) is
    drawn as a change, on a scale centred on 0. NaN (padding) stays blank.

    ``mark``: a step (0-based) to outline in every panel, e.g. the deciding word; its label is always
    shown. ``change_limit``: the change panels' scale runs from −change_limit to +change_limit; give
    the same value to two figures to compare them (default: the largest |change| in this figure, one
    scale shared by all its change panels). The figure is at most ``HEATMAP_MAX_WIDTH`` inches wide.
    """
    panels = dict(gates) if isinstance(gates, Mapping) else {"gate": gates}
    if not panels:
        raise ValueError("gates must be an array (time, hidden) or a non-empty dict of them")
    arrays = {}
    for name, values in panels.items():
        array = np.asarray(torch.as_tensor(values).detach().cpu(), dtype=float)
        if array.ndim != 2:
            raise ValueError(
                f"gates[{name!r}] must be (time, hidden) for one sequence, got shape {array.shape}; "
                "pick one sequence of a batch, e.g. traces['f'][0]"
            )
        arrays[name] = array
    time = {a.shape[0] for a in arrays.values()}
    if len(time) > 1:
        raise ValueError(f"all gates must have the same number of steps, got {sorted(time)}")
    time = time.pop()
    if tokens is not None and len(tokens) != time:
        raise ValueError(f"tokens must give one label per step ({time}), got {len(tokens)}")
    if mark is not None:
        mark = check_int("mark", mark, low=0, high=time - 1)
    changes = [a for name, a in arrays.items() if name.startswith(CHANGE_PREFIX)]
    if change_limit is not None:
        change_limit = check_float("change_limit", change_limit, low=0.0, low_open=True)
    elif changes and any(np.isfinite(a).any() for a in changes):
        change_limit = float(max(np.nanmax(np.abs(a)) for a in changes if np.isfinite(a).any()))
    step = max(1, -(-time // 30))  # at most ~30 labels on the time axis
    shown = {t for t in range(time) if t % step == 0} | ({mark} if mark is not None else set())
    ticks = [(f"{t + 1}  {tokens[t]}" if tokens is not None else str(t + 1)) if t in shown else ""
             for t in range(time)]
    hidden = max(a.shape[1] for a in arrays.values())
    unit_step = max(1, -(-hidden // 16))  # at most ~16 unit labels
    units = [str(u) if u % unit_step == 0 else "" for u in range(hidden)]
    with themed():
        panel_height = min(1.2 + 0.1 * hidden, 4.0)
        width = min(max(6.0, 0.4 * time + 2.5), HEATMAP_MAX_WIDTH)
        fig, axes = plt.subplots(len(arrays), 1, squeeze=False, sharex=True,
                                 figsize=(width, panel_height * len(arrays) + 1.2))
        for ax, (name, array) in zip(axes[:, 0], arrays.items(), strict=True):
            scale, panel_title = _panel_style(name)
            spread = change_limit if name.startswith(CHANGE_PREFIX) else None
            _heatmap(ax, array.T, scale, ticks, units[: array.shape[1]], spread)
            ax.set(ylabel="hidden unit (index)", title=panel_title)
            ax.tick_params(axis="y", rotation=0)
            if mark is not None:  # outline the marked step's column
                ax.add_patch(plt.Rectangle((mark, 0), 1, array.shape[1], fill=False, edgecolor="black",
                                           linewidth=1.8, clip_on=False))
        bottom = axes[-1, 0]  # the panels share the time axis: label it once, at the bottom
        bottom.set_xlabel("time step t (token)" if tokens is not None else "time step t")
        bottom.tick_params(axis="x", rotation=90 if tokens is not None else 0)
        if mark is not None:
            bottom.get_xticklabels()[mark].set_fontweight("bold")
        return _finish(fig, title, None)


# --- training curves ------------------------------------------------------------------------------


def plot_history(histories: Mapping[str, History], *, metric: bool = True, chance: float | None = None,
                 colors_by_label: Mapping[str, object] | None = None, title: str | None = None) -> Figure:
    """Loss (and, with ``metric``, accuracy or MSE) per epoch: train dashed, test solid, one colour
    per label (``colors_by_label``: label → colour, e.g. ``arch_color("gru")``; default: the palette).

    Both axes start at 0 and accuracy runs to 100 %, so a run at chance looks flat rather than noisy.
    ``chance``: the accuracy of guessing (0.5 for two balanced classes), drawn dotted.
    """
    _check_histories(histories)
    labels = list(histories)
    chosen = _styles({label: {"color": c} for label, c in (colors_by_label or {}).items()}, labels)
    palette = colors(labels) | {label: style["color"] for label, style in chosen.items()}
    if chance is not None:
        chance = check_float("chance", chance, low=0.0, high=1.0)
    metrics = {h.metric for h in histories.values()}
    with themed():
        fig, axes = plt.subplots(1, 2 if metric else 1, squeeze=False, figsize=(12 if metric else 6.5, 4.5))
        panels = [("loss", "train_loss", "test_loss")]
        if metric:
            panels.append(("metric", "train_metric", "test_metric"))
        for ax, (kind, train_key, test_key) in zip(axes[0], panels, strict=True):
            for label in labels:
                history = histories[label]
                epochs = np.arange(1, history.epochs + 1)
                ax.plot(epochs, getattr(history, train_key), linestyle="--", color=palette[label],
                        label=f"{label} train")
                if getattr(history, test_key):
                    ax.plot(epochs, getattr(history, test_key), linestyle="-", color=palette[label],
                            label=f"{label} test")
            _integer_epochs(ax)
            if kind == "loss":
                ax.set(xlabel="epoch", ylabel="loss (cross-entropy or MSE)"
                       if len(metrics) > 1 else f"loss ({'cross-entropy' if 'accuracy' in metrics else 'MSE'})",
                       title="loss per epoch")
                ax.set_ylim(bottom=0)
            else:
                name = metrics.pop() if len(metrics) == 1 else "metric"
                ax.set(xlabel="epoch", ylabel=METRIC_LABELS.get(name, name),
                       title=f"{METRIC_LABELS.get(name, name)} per epoch")
                if name == "accuracy":
                    ax.set_ylim(0, 1.02)
                    if chance is not None:
                        ax.axhline(chance, color="grey", linestyle=":", linewidth=1.5,
                                   label=f"chance ({chance:.0%})")
                else:
                    ax.set_ylim(bottom=0)
                _metric_axis(ax, name)
            _legend(ax, outside_above=2)
        return _finish(fig, title, None)


def plot_step_stats(histories: Mapping[str, History], *, title: str | None = None) -> Figure:
    """Per optimiser step: the loss, and the global gradient norm before (solid) and after (dashed)
    clipping, both on log axes; clipped steps marked ×, the clipping level dotted.

    ``histories`` need per-step records: ``fit(..., record_steps=True)``. Clipping rescales the update
    when the norm is above ``max_norm``; it does not change how the gradient is spread over time.
    """
    _check_histories(histories, need_epochs=False)  # a run that diverged in epoch 1 has steps only
    for label, history in histories.items():
        if history.steps == 0:
            raise ValueError(f"histories[{label!r}] has no per-step records: fit(..., record_steps=True)")
    labels = list(histories)
    palette = colors(labels)
    with themed():
        fig, (ax_loss, ax_norm) = plt.subplots(1, 2, figsize=(15, 4.5))
        for label in labels:
            history = histories[label]
            color = palette[label]
            _log_line(ax_loss, np.asarray(history.step_loss, dtype=float), label, color=color)
            before = np.asarray(history.step_grad_norm, dtype=float)
            _log_line(ax_norm, before, f"{label}: before clipping", color=color, linewidth=1.2)
            if history.max_norm is not None:
                _log_line(ax_norm, np.asarray(history.step_grad_norm_clipped, dtype=float),
                          f"{label}: after clipping", color=color, linestyle="--", linewidth=1.2)
                clipped = np.asarray(history.clipped, dtype=bool) & np.isfinite(before) & (before > 0)
                steps = np.arange(1, before.size + 1)
                ax_norm.scatter(steps[clipped], before[clipped], marker="x", s=18, color=color,
                                label=f"{label}: clipped ({int(clipped.sum())} of {before.size} steps)")
                ax_norm.axhline(history.max_norm, color=color, linestyle=":", linewidth=1.0,
                                label=f"{label}: max_norm = {history.max_norm:g}")
        metrics = {h.metric for h in histories.values()}
        loss_name = "cross-entropy" if metrics == {"accuracy"} else "MSE" if metrics == {"mse"} else "loss"
        for ax, ylabel, panel in ((ax_loss, f"training loss ({loss_name}, log scale)", "loss per step"),
                                  (ax_norm, "global gradient norm ‖g‖ (log scale)",
                                   "gradient norm per step")):
            _log_y(ax)
            ax.set(xlabel="optimiser step", ylabel=ylabel, title=panel)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_loss.legend(fontsize="small")
        ax_norm.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
        return _finish(fig, title, None)


# --- the padding trap (notebook 04) ---------------------------------------------------------------


def plot_padding_trap(padding, positive: Mapping[str, object], changes: Mapping[str, object], *,
                      current: int | None = None, title: str | None = None) -> Figure:
    """Two panels against the number of padding tokens after a sentence: left, how far each state the
    readout uses moves from its value without padding (``changes``: label → values); right, P(positive)
    per readout (``positive``: label → values), with the decision line at 0.5. ``current`` marks one
    padding amount. Legends sit below the panels, never over the curves."""
    padding = check_series("padding", padding)
    curves = {"positive": _curves("positive", positive), "changes": _curves("changes", changes)}
    for name, group in curves.items():
        for label, values in group.items():
            if values.size != padding.size:
                raise ValueError(f"{name}[{label!r}] must have one value per padding amount ({padding.size}), "
                                 f"got {values.size}")
    styles = [dict(marker="o", linestyle="-"), dict(marker="s", linestyle="--"), dict(marker="^", linestyle=":")]
    with themed():
        fig, (ax_state, ax_p) = plt.subplots(1, 2, figsize=(12, 5.4))
        for ax, group in ((ax_state, curves["changes"]), (ax_p, curves["positive"])):
            palette = colors(group)
            for (label, values), style in zip(group.items(), styles * 3):
                ax.plot(padding, values, label=label, color=palette[label], markersize=4, linewidth=1.8, **style)
            if current is not None:
                ax.axvline(current, color="black", linewidth=1.0, alpha=0.6, label=f"shown: {current} padding tokens")
            ax.set_xlabel("padding tokens after the sentence")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_state.set(ylabel="largest |change| of a state unit", title="state the readout uses, vs. no padding")
        ax_p.axhline(0.5, color="grey", linestyle=":", linewidth=1.2, label="decision line (0.5)")
        ax_p.set(ylabel="P(positive)", ylim=(-0.02, 1.02), title="the prediction")
        for ax in (ax_state, ax_p):
            ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)
        return _finish(fig, title, None)
