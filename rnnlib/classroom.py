"""The classroom page: every lab on one code-free page for a projector (``notebooks/classroom.ipynb``).

``page()`` returns a :class:`ClassroomPage`: a title, a "presenter mode" switch and one tab per lab, each
with two or three sentences saying what the figure shows and a "what to try" line. A cell that ends
with ``page()`` shows it in JupyterLab, Colab or VS Code; ``make classroom`` serves the notebook with
Voilà, which strips the code, so a class sees only the labs.

* A lab is built the first time its tab is opened (the first tab at once): the page appears after one
  lab's computation, not all of them, and a lab nobody opens costs no memory.
* Presenter mode (the switch, ``page(presenter=True)``, or ``?presenter=1`` in a Voilà URL) zooms the
  page (controls, readouts, figures) so it reads at the back of a room from a 1280×720 projector, and
  redraws a figure wider than :data:`READABLE_WIDTH_IN` with its text enlarged in proportion: the page
  shrinks such a figure to its width, and its letters then come out as large as a narrower figure's.
  The data drawn are the same.
* The labs are rnnlib's own (:mod:`rnnlib.widgets`): the page adds no computation of its own.

CSS classes for browser tests: ``rnnlib-classroom`` (the page), ``rnnlib-presenter`` (on the page in
presenter mode), ``rnnlib-classroom-tabs``, ``rnnlib-presenter-toggle``, ``rnnlib-classroom-section``
(one per tab, holding ``rnnlib-classroom-about``, ``rnnlib-classroom-try`` and the lab), and
``rnnlib-classroom-loading`` while a lab is being built.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

import ipywidgets as widgets
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine
from matplotlib.text import Text

from . import widgets as labs_widgets
from .labfigures import LabFigure
from .notebook import enable_widgets
from .training import set_threads

TITLE = "Recurrent networks, live"
SUBTITLE = "Move a control and the figure is recomputed from a real model: nothing here is precomputed."


@dataclass(frozen=True)
class Section:
    """One tab: which lab (a factory in :mod:`rnnlib.widgets`), what it shows, what to try."""

    title: str
    factory: str  # the name of the lab's factory in rnnlib.widgets
    about: str  # two or three sentences (HTML)
    try_this: str  # one line (HTML)


SECTIONS = (
    Section(
        "Gradient flow", "gradient_flow_lab",
        "The curve is ‖∂L/∂h<sub>t</sub>‖: how strongly the loss at the last step still depends on the hidden "
        "state t steps earlier, on a log axis. Where it falls by orders of magnitude, the network cannot learn "
        "from what it read there: the vanishing gradient. The readout gives the decay ratio and the memory span.",
        "Lengthen T for the RNN; switch to the LSTM and set its forget-gate bias to 3; then train it +100 "
        "steps. Which one keeps the curve flat, and when?",
    ),
    Section(
        "Clipping", "clipping_lab",
        "Two runs of plain SGD on the adding problem, a tanh RNN whose recurrent weights W_hh have spectral "
        "radius ρ: one without clipping, one that rescales each gradient to a norm of at most max_norm. "
        "Left: the loss per step; right: the global gradient norm per step, before and after clipping.",
        "Bring ρ(W_hh) below 1, then back above it: when does the unclipped run blow up? Raise max_norm "
        "until clipping no longer saves the run.",
    ),
    Section(
        "Gates", "gate_lab",
        "A GRU or an LSTM reads one sentence. One heatmap per gate: each column is a word, each row a unit of "
        "the hidden state, and the colour is how far the gate is open (0 to 1). The readout gives the model's "
        "P(positive) for the sentence.",
        "Pick another sentence or type your own (Enter); untick “trained” to see an untrained model's gates; "
        "switch between GRU and LSTM.",
    ),
    Section(
        "Padding trap", "padding_trap_lab",
        "Batches are rectangles, so short sentences are padded. The backward direction of a bidirectional "
        "LSTM starts at the right end of the row: run naively, it reads the padding before the real words, "
        "and a prediction depends on which sentences share the batch. Packing the batch removes the effect.",
        "Slide the amount of padding: how far does the naive (wrong) prediction move, and the packed (right) one?",
    ),
)

#: how much presenter mode enlarges the page (controls, text and figures alike, as a browser's zoom
#: would): the gradient-flow figure then reads at about 20 px per letter on a 1280×720 projector
PRESENTER_ZOOM = 1.35
#: in presenter mode, text in a figure wider than this (inches) is enlarged by width / this
READABLE_WIDTH_IN = 9.0
#: the page's CSS; presenter mode is everything under ``.rnnlib-presenter``
STYLE = """
.rnnlib-classroom .rnnlib-classroom-title h1 { margin: 0.2em 0 0.1em 0; font-size: 1.8em; }
.rnnlib-classroom .rnnlib-classroom-about .widget-html-content,
.rnnlib-classroom .rnnlib-classroom-try .widget-html-content { line-height: 1.4; max-width: 60em; }
.rnnlib-classroom .rnnlib-classroom-section p { margin: 0.2em 0; }
.rnnlib-classroom .rnnlib-classroom-try { font-weight: 600; }
.rnnlib-presenter { zoom: {zoom}; }
"""


def _scale_text(fig: Figure, factor: float) -> None:
    """Multiply the size of every text of ``fig`` (tick labels included) by ``factor``, in place."""
    tick_labels = set()
    for ax in fig.axes:
        for axis, which in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            labels = axis.get_ticklabels(which="both")
            tick_labels.update(labels)
            if labels:  # through tick_params, so ticks created at draw time get the size too
                ax.tick_params(axis=which, which="both", labelsize=labels[0].get_fontsize() * factor)
    for text in fig.findobj(Text):
        if text not in tick_labels:
            text.set_fontsize(text.get_fontsize() * factor)


def enlarge_wide_figure(fig: Figure, readable_width_in: float = READABLE_WIDTH_IN) -> Figure:
    """Scale every text of ``fig`` by ``scale = width / readable_width_in`` when the figure is wider than
    ``readable_width_in`` inches, make it √scale times taller (the larger axis labels need the room),
    and lay it out again; returns ``fig`` (changed in place)."""
    scale = fig.get_figwidth() / readable_width_in
    if scale <= 1:
        return fig
    _scale_text(fig, scale)
    fig.set_figheight(fig.get_figheight() * scale**0.5)  # room for the longer axis labels
    if not isinstance(fig.get_layout_engine(), (TightLayoutEngine, ConstrainedLayoutEngine)):
        fig.tight_layout()  # laid out once when it was made (or never): again, for the new text sizes
    return fig


def _presenter_requested() -> bool:
    """``presenter=1`` (or true/yes/on) in the page's URL; Voilà hands the kernel its query string."""
    query = parse_qs(os.environ.get("QUERY_STRING", ""))
    return any(value.strip().lower() in {"1", "true", "yes", "on"} for value in query.get("presenter", []))


def available_sections() -> tuple[Section, ...]:
    """The sections whose lab this version of rnnlib has."""
    return tuple(section for section in SECTIONS if callable(getattr(labs_widgets, section.factory, None)))


class ClassroomPage:
    """The page (``.widget``) and the labs built so far (``.labs``: section title → lab object).

    ``select(index)`` opens a tab from code (as a click would), building its lab if needed.
    """

    def __init__(self, presenter: bool = False, sections: tuple[Section, ...] | None = None,
                 settings: dict[str, dict] | None = None) -> None:
        self.sections = available_sections() if sections is None else tuple(sections)
        if not self.sections:
            raise ValueError("sections must name at least one lab")
        self.settings = dict(settings or {})
        unknown = set(self.settings) - {section.factory for section in self.sections}
        if unknown:
            raise ValueError(f"settings: no lab named {sorted(unknown)} on the page "
                             f"(labs: {[section.factory for section in self.sections]})")
        self.labs: dict[str, labs_widgets.Lab] = {}
        self._wide: dict[str, bool] = {}  # section title → its lab's last figure was wider than readable
        self._holders = [widgets.Box() for _ in self.sections]
        tabs = [self._section_box(section, holder) for section, holder in zip(self.sections, self._holders)]
        self.tabs = widgets.Tab(children=tabs, titles=[section.title for section in self.sections])
        self.tabs.add_class("rnnlib-classroom-tabs")
        self.presenter = widgets.ToggleButton(value=False, description="presenter mode", icon="expand",
                                              tooltip="larger text and figures for a projector")
        self.presenter.add_class("rnnlib-presenter-toggle")
        title = widgets.HTML(f"<h1>{html.escape(TITLE)}</h1>{html.escape(SUBTITLE)}",
                             layout=widgets.Layout(flex="1 1 auto"))
        title.add_class("rnnlib-classroom-title")
        header = widgets.HBox([title, self.presenter], layout=widgets.Layout(align_items="center"))
        style = widgets.HTML("<style>" + STYLE.replace("{zoom}", str(PRESENTER_ZOOM)) + "</style>")
        self.widget = widgets.VBox([style, header, self.tabs])
        self.widget.add_class("rnnlib-classroom")
        self.presenter.observe(self._presenter_changed, names="value")
        self.presenter.value = bool(presenter)
        self.tabs.observe(self._tab_changed, names="selected_index")
        self.select(0)

    @staticmethod
    def _section_box(section: Section, holder: widgets.Box) -> widgets.VBox:
        about = widgets.HTML(f"<p>{section.about}</p>")
        about.add_class("rnnlib-classroom-about")
        try_this = widgets.HTML(f"<p>What to try: {section.try_this}</p>")
        try_this.add_class("rnnlib-classroom-try")
        box = widgets.VBox([about, try_this, holder])
        box.add_class("rnnlib-classroom-section")
        return box

    def _presenter_changed(self, change) -> None:
        if change["new"]:
            self.widget.add_class("rnnlib-presenter")
        else:
            self.widget.remove_class("rnnlib-presenter")
        for title, lab in self.labs.items():
            if self._wide.get(title, True):  # a narrow figure looks the same in both modes
                lab.update()

    def _presenter_figures(self, title: str, lab) -> None:
        """From now on ``lab`` draws with its own ``draw`` (documented in :class:`rnnlib.widgets.Lab`),
        followed in presenter mode by :func:`enlarge_wide_figure`; notes whether its figure is wide."""
        draw = lab.draw

        def presenter_aware(result):
            fig = draw(result)
            if isinstance(fig, LabFigure):  # kept and redrawn in place, margins fixed in inches: larger text
                self._wide[title] = False   # would overflow them, so it grows with the page's zoom alone
                return fig
            self._wide[title] = fig.get_figwidth() > READABLE_WIDTH_IN
            return enlarge_wide_figure(fig) if self.presenter.value else fig

        lab.draw = presenter_aware

    def _tab_changed(self, change) -> None:
        if change["new"] is not None:
            self._build(change["new"])

    def select(self, index: int):
        """Open tab ``index`` (0-based); returns its lab."""
        if not 0 <= index < len(self.sections):
            raise ValueError(f"index must be in [0, {len(self.sections) - 1}], got {index!r}")
        self.tabs.selected_index = index  # the observer builds the lab when the tab really changes
        return self._build(index)

    def _build(self, index: int):
        section = self.sections[index]
        if section.title not in self.labs:
            holder = self._holders[index]
            loading = widgets.HTML(f"⏳ preparing the {html.escape(section.title.lower())} lab …")
            loading.add_class("rnnlib-classroom-loading")
            holder.children = (loading,)
            factory: Callable = getattr(labs_widgets, section.factory)
            lab = factory(**self.settings.get(section.factory, {}))
            self.labs[section.title] = lab
            self._presenter_figures(section.title, lab)
            if self.presenter.value:  # the lab drew its first figure for the normal page: again, enlarged
                lab.update()
            holder.children = (lab.widget,)
        return self.labs[section.title]

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{TITLE}: run the notebook to use the labs"
        shown = self.labs.get(self.sections[self.tabs.selected_index or 0].title)
        png = getattr(shown, "png", None)
        if png:  # the open tab's figure, for viewers without a kernel (GitHub, nbviewer), as a lab does
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle


def page(presenter: bool | None = None, *, threads: int | None = 1, **settings: dict) -> ClassroomPage:
    """The classroom page; a cell that ends with this call shows it.

    Like every notebook's set-up cell it turns on Colab's widget manager and runs torch on ``threads``
    CPU threads (one is fastest for the labs' small models), silently: the page prints nothing.

    ``presenter``: start in presenter mode (``None``: as the Voilà URL's ``?presenter=1`` says, else off).
    ``settings``: starting settings per lab, keyed by factory, e.g.
    ``page(gate_lab={"arch": "gru"})`` (checked by the labs themselves).
    """
    if presenter is None:
        presenter = _presenter_requested()
    if not isinstance(presenter, bool):
        raise ValueError(f"presenter must be True, False or None, got {presenter!r}")
    for name, value in settings.items():
        if not isinstance(value, dict):
            raise ValueError(f"{name} must be a dict of that lab's settings, got {value!r}")
    enable_widgets()
    set_threads(threads)
    return ClassroomPage(presenter=presenter, settings=settings)


__all__ = ["SECTIONS", "ClassroomPage", "Section", "available_sections", "page"]
