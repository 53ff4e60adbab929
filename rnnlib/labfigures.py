"""The labs' figures: built once, then redrawn in place for every new setting.

Building a matplotlib figure, laying it out (``tight_layout`` draws it twice) and saving it costs a
tenth of a second or more; changing the data of lines and images that already exist and rendering the
same canvas again costs a fraction of that. So each lab keeps one figure object from this module:

* :class:`GradFlowFigure`: ‖∂L/∂h_t‖ over t on a log axis, the previous setting as a faint line, the
  memory-span threshold dotted.
* :class:`ClippingFigure`: loss and global gradient norm per SGD step for the runs without and with
  clipping; the constant-prediction baseline loss as a line; each panel's y-axis fits the clipped
  run, and a run that leaves it (the unclipped one, on its way to 10^35) is marked where it leaves.
* :class:`GateFigure`: one heatmap per gate (GRU/LSTM) over the words of a sentence.

Most of a render is text (tick labels, axis labels, titles), and most of it does not change when a
control moves. So a live image is drawn in two layers: the *background* (axes, ticks, labels: every
artist a figure does not list in :meth:`LabFigure.dynamic`) is rendered once and kept as pixels, and
while its key (:meth:`LabFigure.background_key`: the figure's size and whatever moves its ticks, such
as axis limits) stays the same, a new image restores those pixels and draws only the dynamic artists
(lines, images, legends) over them: matplotlib's blitting, done on the Agg canvas without a GUI.

The static PNG a notebook keeps for viewers without a kernel carries a title and the lab's readout
as text, so it says what was drawn and what it measured; it is always drawn whole. Layout is
arithmetic in inches (fixed margins, the readout's height from its number of lines): nothing is
measured by drawing twice.

The figures are plain :class:`matplotlib.figure.Figure` objects on an Agg canvas, never registered
with pyplot: the inline backend never shows them, and nothing needs closing.
"""

from __future__ import annotations

import struct
import textwrap
import zlib
from collections.abc import Hashable

import numpy as np
import seaborn as sns
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator
from matplotlib.transforms import ScaledTranslation

from . import plots
from .architectures import arch_color
from .limits import MAX_SENTENCE_WORDS

#: resolution of the lab figures (pixels per inch)
DPI = 100
#: zlib level of the PNG images: level 1 compresses several times faster than the default, a little larger
PNG_COMPRESSION = 1
#: the gradient-flow lab's y-axis (‖∂L/∂h_t‖), widened by whole decades only when a curve leaves it
NORM_AXIS = (1e-16, 1e1)
#: a panel's axis reaches at least this factor above the clipped run's largest value (to a whole decade)
CAP_HEADROOM = 10.0
_READOUT_PT = 8  # the readout's font size; a monospace character is 0.6 of it wide
_TITLE_IN, _LINE_IN, _CHAR_IN = 0.42, 0.17, 0.66 * _READOUT_PT / 72  # title band, readout line, readout character


class LabFigure:
    """A figure with margins fixed in inches and, for the static PNG, a title and a readout.

    Subclasses create their axes and artists in ``__init__`` and change them in ``update``, and name
    the artists ``update`` changes in :meth:`dynamic` and what the rest depends on in
    :meth:`background_key`. The lab calls :meth:`caption` with the title and readout lines, then
    :meth:`png`: the live image leaves the caption out (the lab's readout widget shows it, and its text
    is most of the glyphs to draw) and redraws only the dynamic artists over the kept background;
    ``png(captioned=True)`` is the static image a notebook keeps, drawn whole, with the title above
    the axes and the readout below them.
    """

    def __init__(self, width: float, plot_height: float, *, left: float = 0.9, right: float = 0.3,
                 top: float = 0.0, bottom: float = 0.6, **subplots) -> None:
        with plots.themed():  # rcParams are read when artists are made: the theme applies to all below
            self.fig = Figure(figsize=(width, plot_height), dpi=DPI)
            self.canvas = FigureCanvasAgg(self.fig)
            self.axes = list(np.atleast_1d(self.fig.subplots(**subplots)).ravel())
            self.title = self.fig.text(0.5, 1.0, "", ha="center", va="top", fontsize="medium", weight="bold")
            self.readout = self.fig.text(0.01, 0.0, "", ha="left", va="bottom", fontsize=_READOUT_PT,
                                         family="monospace", linespacing=1.35)
        self.width, self.plot_height = width, plot_height
        self.margins = dict(left=left, right=right, top=top, bottom=bottom)
        self._background: tuple[Hashable, object] | None = None  # (key, the background's pixels)
        self.background_draws = 0  # how many times the background was rendered (tests read it)

    def dynamic(self) -> list[Artist]:
        """The artists :meth:`update` changes, in drawing order: drawn over the kept background."""
        return []

    def background_key(self) -> Hashable:
        """What the background (everything not in :meth:`dynamic`) depends on besides the figure's
        size; by default every axes' limits, which place its ticks and tick labels."""
        return tuple((ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes)

    def caption(self, title: str, lines: list[str]) -> None:
        """Set the title and the readout (plain text, wrapped to the figure's width)."""
        columns = max(40, int((self.width - 0.2) / _CHAR_IN))
        self.title.set_text(title)
        self.readout.set_text("\n".join(part for line in lines for part in textwrap.wrap(line, columns) or [""]))

    def _layout(self, captioned: bool) -> None:
        m = self.margins
        lines = self.readout.get_text().count("\n") + 1 if captioned else 0
        top = m["top"] + (_TITLE_IN if captioned else 0.1)
        bottom = m["bottom"] + (_LINE_IN * lines + 0.15 if captioned else 0.0)
        height = top + self.plot_height + bottom
        self.fig.set_size_inches(self.width, height)
        self.title.set(visible=captioned, y=1 - 0.08 / height)
        self.readout.set(visible=captioned, y=0.08 / height)
        self.fig.subplots_adjust(left=m["left"] / self.width, right=1 - m["right"] / self.width,
                                 top=1 - top / height, bottom=bottom / height)

    def png(self, captioned: bool = False) -> bytes:
        """Render the figure as PNG bytes (RGB: a figure has no transparency to keep)."""
        self._layout(captioned)
        with plots.themed():
            if captioned:
                self.render_whole()
            else:
                self.render_live()
        return png_bytes(np.asarray(self.canvas.buffer_rgba())[..., :3])

    def render_whole(self) -> None:
        """Draw every artist in matplotlib's own order (the static image; the reference in tests)."""
        for artist in self.dynamic():
            artist.set_animated(False)
        self.canvas.draw()
        self._background = None  # it was drawn over: the next live image renders it again

    def render_live(self) -> None:
        """Restore the kept background (render it first if its key changed), then draw the dynamic
        artists over it."""
        dynamic = self.dynamic()
        for artist in dynamic:
            artist.set_animated(True)  # canvas.draw() leaves animated artists out
        key = (tuple(self.fig.get_size_inches()), self.fig.dpi, self.background_key())
        if self._background is None or self._background[0] != key:
            self.canvas.draw()
            self._background = (key, self.canvas.copy_from_bbox(self.fig.bbox))
            self.background_draws += 1
        else:
            self.canvas.restore_region(self._background[1])
        renderer = self.canvas.get_renderer()
        for artist in dynamic:
            artist.draw(renderer)


def png_bytes(rgb: np.ndarray, level: int = PNG_COMPRESSION) -> bytes:
    """``rgb: (height, width, 3)`` uint8 pixels as a PNG file.

    The simplest valid PNG: an 8-bit RGB header, every row with filter type 0 ("None") in one
    zlib-compressed IDAT chunk, and the end chunk. A plot is mostly runs of one colour, which zlib
    packs well without PNG's per-row filters; skipping them (and an image library's copies) halves
    the encoding time of a lab figure against Pillow at the same compression level.
    """
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
        raise ValueError(f"rgb must be a (height, width, 3) uint8 array, got {getattr(rgb, 'shape', rgb)!r}")
    height, width, _ = rgb.shape
    rows = np.zeros((height, 1 + 3 * width), np.uint8)  # column 0: each row's filter type, 0
    rows[:, 1:] = rgb.reshape(height, -1)

    def chunk(kind: bytes, data: bytes) -> bytes:  # length, type, data, CRC of type and data
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits per channel, RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
            + chunk(b"IEND", b""))


def _positive(values) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1…T and values where a log axis can show them (finite, > 0)."""
    values = np.asarray(values, dtype=float)
    steps = np.arange(1, values.size + 1)
    shown = np.isfinite(values) & (values > 0)
    return steps[shown], values[shown]


def _log_axis(ax) -> None:
    """A log y-axis labelled ``1e-16 … 1e+01`` (plain text: mathtext labels cost most of a redraw)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(numticks=10))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0e}" if value < 0.01 or value > 100
                                               else f"{value:g}"))
    ax.yaxis.set_minor_locator(NullLocator())  # hundreds of minor ticks over 20 decades: not worth a redraw
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _place_labels(fig: Figure) -> None:
    """Put every axis label at a fixed distance (inches) from its axes. Left to itself matplotlib
    measures every tick label of the figure on each draw to keep labels clear of them."""
    for ax in fig.axes:
        for axis, side, offset in ((ax.xaxis, "x", -0.38), (ax.yaxis, "y", -0.72)):
            if axis.get_label_position() in ("right", "top"):
                offset = 0.55
            x, y = (0.5, 0.0) if side == "x" else (0.0 if offset < 0 else 1.0, 0.5)
            shift = ScaledTranslation(*((0, offset) if side == "x" else (offset, 0)), fig.dpi_scale_trans)
            axis.set_label_coords(x, y, transform=ax.transAxes + shift)


def _decades(low: float, high: float, values: np.ndarray) -> tuple[float, float]:
    """``(low, high)`` widened by whole decades to hold ``values`` (finite, > 0 ones)."""
    values = values[np.isfinite(values) & (values > 0)]
    if values.size:
        low = min(low, 10.0 ** np.floor(np.log10(values.min())))
        high = max(high, 10.0 ** np.ceil(np.log10(values.max())))
    return low, high


class GradFlowFigure(LabFigure):
    """‖∂L/∂h_t‖ over t for the current setting (architecture colour), the previous one faint."""

    def __init__(self) -> None:
        super().__init__(9.0, 3.4, top=0.75, right=0.3, left=1.0)
        ax = self.ax = self.axes[0]
        with plots.themed():
            self.faint = ax.plot([], [], alpha=0.35, linewidth=1.0)[0]
            self.main = ax.plot([], [], linewidth=2.0)[0]
            self.level = ax.axhline(1.0, linestyle=":", linewidth=1.2)
            _log_axis(ax)
            ax.set(xlabel="time step t (the deciding word is at t = 1, the loss is read at t = T)",
                   ylabel="‖∂L/∂h_t‖ (log scale)")
        _place_labels(self.fig)

    def dynamic(self) -> list[Artist]:
        return [self.faint, self.main, self.level, *_legends(self.ax)]

    def update(self, result, previous) -> None:
        """Draw ``result`` (a :class:`rnnlib.labs.GradFlowResult`) and ``previous`` (or ``None``) faint."""
        arch = result.settings["arch"]
        with plots.themed():
            self.main.set_data(*_positive(result.norms))
            self.main.set_color(arch_color(arch))
            hidden = int(result.norms.size - self.main.get_xdata().size)
            label = result.label + (f" ({hidden} steps at 0 not shown)" if hidden else "")
            self.main.set_label(label)
            handles = [self.main]
            shown = [result.norms]
            if previous is not None:
                self.faint.set_data(*_positive(previous.norms))
                self.faint.set_color(arch_color(previous.settings["arch"]))
                self.faint.set_label(f"{previous.label} (previous setting)")
                handles.append(self.faint)
                shown.append(previous.norms)
            self.faint.set_visible(previous is not None)
            last = result.norms[-1]
            visible = bool(np.isfinite(last) and last > 0)
            self.level.set_visible(visible)
            if visible:
                self.level.set_ydata([result.threshold * last] * 2)
                self.level.set_color(arch_color(arch))
                self.level.set_label(f"{result.threshold:g} × ‖∂L/∂h_T‖: the memory span counts the steps above")
                handles.append(self.level)
            # to a multiple of 10 steps: a dragged T slider moves the axis, and the background drawn with
            # it, once every 10 steps
            self.ax.set_xlim(0.5, -(-max(r.size for r in shown) // 10) * 10 + 0.5)
            self.ax.set_ylim(*_decades(*NORM_AXIS, np.concatenate(shown)))
            self.ax.legend(handles=handles, fontsize="small", loc="lower left", bbox_to_anchor=(0.0, 1.01),
                           ncol=1, frameon=False, borderaxespad=0.0)


class ClippingFigure(LabFigure):
    """Loss (left) and global gradient norm (right) per SGD step, without and with clipping.

    Each panel's y-axis is fitted to the clipped run (and, on the loss panel, the baseline), with
    :data:`CAP_HEADROOM` or more to spare; a run that goes above it is drawn up to the edge, marked ▲ where
    it leaves, and its legend entry says how high it went. A run that diverged gets a dash-dot line
    at the step whose loss or gradient was no longer finite.
    """

    def __init__(self) -> None:
        super().__init__(11.0, 3.2, top=1.15, left=1.0, right=0.3, bottom=0.65, ncols=2)
        self.ax_loss, self.ax_norm = self.axes
        self.fig.subplots_adjust(wspace=0.3)
        with plots.themed():
            self.loss = [self.ax_loss.plot([], [], linewidth=1.6)[0] for _ in range(2)]
            self.before = [self.ax_norm.plot([], [], linewidth=1.2)[0] for _ in range(2)]
            self.after = self.ax_norm.plot([], [], linestyle="--", linewidth=1.2)[0]
            self.marks = self.ax_norm.plot([], [], marker="x", markersize=4, linestyle="none")[0]
            self.max_norm = self.ax_norm.axhline(1.0, linestyle=":", linewidth=1.0)
            self.baseline = self.ax_loss.axhline(1.0, color="0.3", linestyle="--", linewidth=1.2)
            # a run leaving the capped axis: ▲ on the top edge (x in steps, y in axes coordinates)
            self.exits = [[ax.plot([], [], marker="^", markersize=9, linestyle="none", clip_on=False,
                                   transform=ax.get_xaxis_transform())[0] for ax in self.axes]
                          for _ in range(2)]
            self.diverged = [[ax.axvline(1.0, linestyle="-.", linewidth=1.2) for ax in self.axes] for _ in range(2)]
            for ax, ylabel in ((self.ax_loss, "training loss per step (MSE, log scale)"),
                               (self.ax_norm, "gradient norm ‖g‖ per step (log scale)")):
                _log_axis(ax)
                ax.set(xlabel="optimiser step", ylabel=ylabel)
        _place_labels(self.fig)

    def dynamic(self) -> list[Artist]:
        return [*self.loss, *self.before, self.after, self.marks, self.max_norm, self.baseline,
                *(line for run in self.diverged for line in run), *(mark for run in self.exits for mark in run),
                *_legends(*self.axes)]

    def update(self, runs: list, baseline: float, steps: int | None = None) -> None:
        """``runs``: ``[unclipped, clipped]`` :class:`rnnlib.labs.ClippingResult`; ``baseline``: the loss of
        always predicting the mean target (drawn as a line: a run learns only below it); ``steps``: the
        length of the step axis (``None``: the runs'; runs still training are drawn on the whole axis)."""
        palette = plots.colors(range(2))
        clipped = runs[-1]
        steps = max([steps or 0] + [max(r.history.steps, r.diverged_at or 0) for r in runs])
        with plots.themed():
            loss_top = self._cap(self.ax_loss, clipped.history.step_loss, [baseline],
                                 [r.history.step_loss for r in runs])
            norm_top = self._cap(self.ax_norm, clipped.history.step_grad_norm, [clipped.settings["max_norm"]],
                                 [r.history.step_grad_norm for r in runs])
            loss_handles, norm_handles = [], []
            for i, run in enumerate(runs):
                color, h = palette[i], run.history
                label = run.label
                self.loss[i].set_data(*_positive(h.step_loss))
                self.before[i].set_data(*_positive(h.step_grad_norm))
                for line in (self.loss[i], self.before[i]):
                    line.set_color(color)
                loss_label = label + self._exit(0, i, h.step_loss, loss_top, color)
                before = f"{label}: before clipping" if run.settings["max_norm"] is not None else label
                norm_label = before + self._exit(1, i, h.step_grad_norm, norm_top, color)
                self.loss[i].set_label(loss_label)
                self.before[i].set_label(norm_label)
                loss_handles.append(self.loss[i])
                norm_handles.append(self.before[i])
                for line in self.diverged[i]:
                    line.set_visible(run.diverged)
                    if run.diverged:
                        line.set_xdata([run.diverged_at] * 2)
                        line.set_color(color)
                        line.set_label(f"{label}: diverged at step {run.diverged_at}")
                if run.diverged:
                    loss_handles.append(self.diverged[i][0])
            h, color = clipped.history, palette[len(runs) - 1]
            self.after.set_data(*_positive(h.step_grad_norm_clipped))
            flags = np.asarray(h.clipped, dtype=bool)
            self.marks.set_data(np.arange(1, h.steps + 1)[flags], np.asarray(h.step_grad_norm)[flags])
            self.max_norm.set_ydata([h.max_norm] * 2)
            for artist in (self.after, self.marks, self.max_norm):
                artist.set_color(color)
            self.after.set_label(f"{clipped.label}: after clipping")
            self.marks.set_label(f"clipped steps ({int(flags.sum())} of {h.steps})")
            self.max_norm.set_label(f"max_norm = {h.max_norm:g}")
            norm_handles += [self.after, self.marks, self.max_norm]
            self.baseline.set_ydata([baseline] * 2)
            self.baseline.set_label(f"always predicting the mean: MSE {baseline:.3f} (learning = below it)")
            loss_handles.append(self.baseline)
            for ax, handles in ((self.ax_loss, loss_handles), (self.ax_norm, norm_handles)):
                ax.set_xlim(0.5, steps + 0.5)
                ax.legend(handles=handles, fontsize="small", loc="lower left", bbox_to_anchor=(0.0, 1.01),
                          frameon=False, borderaxespad=0.0)

    @staticmethod
    def _cap(ax, fitted, levels, every) -> float:
        """Fit ``ax``'s y-range to ``fitted`` and ``levels``: up to the first whole decade at least
        :data:`CAP_HEADROOM` above them (whole decades: a growing run moves the axis, and the background
        drawn with it, only now and then), down to the lowest value of any run; returns the top."""
        kept = np.asarray([*fitted, *levels], dtype=float)
        kept = kept[np.isfinite(kept) & (kept > 0)]
        top = float(10.0 ** np.ceil(np.log10(kept.max() * CAP_HEADROOM)))
        low, _ = _decades(top, top, np.concatenate([np.asarray(v, dtype=float) for v in every] + [kept]))
        ax.set_ylim(low, top)
        return top

    def _exit(self, panel: int, run: int, values, top: float, color) -> str:
        """Mark where ``values`` first leaves the axis (above ``top``); the legend text that says so."""
        values = np.asarray(values, dtype=float)
        above = np.flatnonzero(np.isfinite(values) & (values > top))
        marker = self.exits[run][panel]
        marker.set_visible(above.size > 0)
        if not above.size:
            return ""
        marker.set_data([above[0] + 1], [1.0])
        marker.set_color(color)
        return f" (▲ off the axis at step {above[0] + 1}, up to {values[np.isfinite(values)].max():.2g})"


class GateFigure(LabFigure):
    """Heatmaps of the gates ``names`` (one panel each) over the words of one sentence.

    The figure keeps its size whatever the sentence (cells stretch; the bottom margin fits a label of
    ``longest_word`` characters, the vocabulary's longest), so a new sentence redraws only the
    heatmaps, the word axis and the colour bars whose scale follows the data.
    """

    def __init__(self, names: tuple[str, ...], hidden: int, longest_word: int = 12) -> None:
        panel = min(0.8 + 0.05 * hidden, 2.5)
        words = 1.2 * _CHAR_IN * (len(f"{MAX_SENTENCE_WORDS}  ") + longest_word)  # the rotated labels' height
        super().__init__(9.0, panel * len(names), top=0.25, left=0.9, right=1.0, bottom=0.55 + words,
                         nrows=len(names), sharex=True)
        self.fig.subplots_adjust(hspace=0.5)
        self.names, self.hidden = names, hidden
        self.images, self.scales, self.following = [], [], []
        units = max(1, -(-hidden // 4))  # at most 4 unit labels per panel
        with plots.themed():
            for ax, name in zip(self.axes, names, strict=True):
                scale, title = plots._panel_style(name)
                label, center = scale.pop("label"), scale.pop("center", None)
                cmap = sns.color_palette(scale.pop("cmap"), as_cmap=True)
                image = ax.imshow(np.zeros((hidden, 1)), aspect="auto", interpolation="nearest", cmap=cmap,
                                  origin="upper", **scale)
                bar = self.fig.colorbar(image, ax=ax, label=label, pad=0.01, fraction=0.04)
                if center is not None:  # its scale follows the data: redrawn with the heatmaps
                    self.following.append(bar.ax)
                self.images.append(image)
                self.scales.append(center)
                ax.set(ylabel="hidden unit", title=title)
                ax.set_yticks(range(0, hidden, units))
                ax.grid(False)
        _place_labels(self.fig)
        bottom = self.axes[-1]
        bottom.xaxis.set_label_coords(0.5, 0.0, transform=bottom.transAxes + ScaledTranslation(
            0, -0.15 - words, self.fig.dpi_scale_trans))

    def dynamic(self) -> list[Artist]:
        # the spines too: drawn after the heatmaps, which would otherwise cover half their width
        return [*self.images, *(ax.xaxis for ax in self.axes), *(spine for ax in self.axes
                for spine in ax.spines.values()), *self.following]

    def background_key(self) -> Hashable:
        return tuple(ax.get_ylim() for ax in self.axes)  # the word axis and the following bars are dynamic

    def update(self, gates: dict[str, np.ndarray], tokens: list[str]) -> None:
        """``gates``: name → ``(time, hidden)``; ``tokens``: one word per step."""
        time = len(tokens)
        step = max(1, -(-time // 40))
        labels = [f"{t + 1}  {word}" if t % step == 0 else "" for t, word in enumerate(tokens)]
        with plots.themed():
            for image, center, name in zip(self.images, self.scales, self.names, strict=True):
                values = np.ma.masked_invalid(np.asarray(gates[name], dtype=float).T)  # (hidden, time)
                image.set_data(values)
                image.set_extent((-0.5, time - 0.5, self.hidden - 0.5, -0.5))
                if center is not None:  # a diverging scale symmetric about ``center``
                    spread = float(np.abs(values - center).max()) if values.count() else 0.0
                    image.set_clim(center - (spread or 1.0), center + (spread or 1.0))
            bottom = self.axes[-1]
            bottom.set_xticks(range(time), labels, rotation=90)
            bottom.set_xlabel("time step t (token)")


def _legends(*axes) -> list[Artist]:
    """The legends of ``axes`` (each made anew by ``ax.legend`` in an update)."""
    return [legend for ax in axes if (legend := ax.get_legend()) is not None]


def legend_labels(fig: Figure) -> list[str]:
    """Every legend entry of ``fig`` (tests and notebooks read what a figure names)."""
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [text.get_text() for legend in legends if legend for text in legend.get_texts()]


__all__ = ["ClippingFigure", "GateFigure", "GradFlowFigure", "LabFigure", "legend_labels", "png_bytes"]
