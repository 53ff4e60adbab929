"""Interactive labs: a thin ipywidgets layer over the plain functions in :mod:`rnnlib.labs`.

* :func:`gradient_flow_lab` → :class:`GradientFlowLab`: ‖∂L/∂h_t‖ over t on a log axis, the previous
  setting as a faint line, a readout of the decay ratio, the memory span and the clipping scale.
* :func:`clipping_lab` → :class:`ClippingLab`: loss and global gradient norm per SGD step, with and
  without clipping, exploding case included; the constant-prediction baseline loss drawn as a line.
* :func:`gate_lab` → :class:`GateLab`: GRU/LSTM gate activations per word of a sentence.

How they behave everywhere (JupyterLab, Colab, VS Code, Voilà, nbval):

* The figure is a PNG placed in an ``ipywidgets.Output`` (its ``outputs`` are set directly), so no
  front-end extension (ipympl) is needed, nothing is routed through the kernel's message parents, and
  a test can read the image back from ``lab.output.outputs``. Each lab keeps one figure
  (:mod:`rnnlib.labfigures`) and redraws it in place: a new setting changes line data, images, texts
  and axis limits, then draws only those over the kept background (no new figure, no layout pass).
* A lab whose data takes long draws partial results first (:meth:`Lab.stages`): the clipping lab
  shows its runs after their first 10 steps and then as they train, on the whole step axis, with
  "training: step k of N" in the readout; a newer change stops the rest (the runs trained so far are
  cached and continued later).
* The gradient-flow lab's sliders update while dragging (``continuous_update=True``) as long as its
  model is untrained (with trained steps each setting trains a model: then on release); the other
  labs' sliders on release. A change waits :data:`DEBOUNCE_S` for a newer one (key repeat, a drag),
  then the latest setting is drawn once; during a drag the wait is capped at :data:`LIVE_MAX_WAIT_S`,
  so the curve follows the hand. The kernel never queues stale work: there is at most one pending
  redraw, and it reads the controls when it runs. Outside a running event loop (scripts,
  tests) a change redraws at once. ``lab.update()`` always redraws now: a notebook cell that sets
  controls from code and then reads ``lab.result`` calls it first (in a kernel the pending redraw
  would only run after the cell).
* An invalid value (set from code, or a sentence too long) shows a message in the readout, with the
  class ``rnnlib-error``, instead of a traceback; the last good figure stays.
* Displaying a lab also carries a static PNG of its current figure (the default settings, in a fresh
  notebook) in the same output, so GitHub/nbviewer and untrusted notebooks show the figure; JupyterLab
  with a live kernel shows the widget. nbval ignores both the image and the widget view. The figure
  itself carries the lab's title and its readout as text, so the static PNG says what was measured.

Reading a lab from code (exercises, notebook cells): ``lab.settings()`` is the dict of arguments its
controls hold now, ``lab.result`` the result drawn last (``lab.last_result``, the same object),
``lab.seconds`` how long the last redraw took (``{"data": …, "first image": …, "rendered": …}``: seconds
computing, to its first image and to the image drawn last; a lab drawing partial results first, the
clipping lab, shows its first image before the run is complete).

Writing a new lab: subclass :class:`Lab` (its docstring lists the hooks).

CSS classes for browser tests (each also in the widget's ``description`` where it has one):

=============================  ==================================================================
``rnnlib-lab``                 every lab's outer box, plus ``rnnlib-gradient-flow-lab``,
                               ``rnnlib-clipping-lab`` or ``rnnlib-gate-lab``
``rnnlib-output``              the Output holding the figure (``.rnnlib-output img``)
``rnnlib-readout``             the HTML readout; inside it ``rnnlib-setting`` (the settings drawn),
                               ``rnnlib-decay-ratio``, ``rnnlib-memory-span``, ``rnnlib-clip-scale``,
                               ``rnnlib-grad-norm``, ``rnnlib-diverged``, ``rnnlib-learned``,
                               ``rnnlib-positive``, ``rnnlib-error``, ``rnnlib-busy`` spans
``rnnlib-arch``                architecture buttons
``rnnlib-hidden``              hidden size slider          (gradient-flow lab)
``rnnlib-seq-len``             sequence length slider      (gradient-flow lab)
``rnnlib-rescale``             "set ρ(W_hh)" checkbox; ``rnnlib-radius`` its slider
``rnnlib-set-bias``            "set gate bias" checkbox; ``rnnlib-gate-bias`` its slider
``rnnlib-clip``                "clip gradients" checkbox; ``rnnlib-max-norm`` its slider
``rnnlib-seed``                seed box
``rnnlib-train-steps``         trained-steps slider; ``rnnlib-train`` the "train +N steps" button
``rnnlib-lr``, ``rnnlib-steps`` learning rate and number of steps (clipping lab)
``rnnlib-sentence``            sentence combobox; ``rnnlib-trained`` checkbox (gate lab)
=============================  ==================================================================
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display
from matplotlib.figure import Figure

from . import labs, limits, plots
from .architectures import ARCHITECTURES, display_name
from .labfigures import ClippingFigure, GateFigure, GradFlowFigure, LabFigure
from .training import TrainingDiverged
from .validation import check_choice, check_int

#: seconds a change waits for a newer one (key repeat, a drag) before the lab redraws
DEBOUNCE_S = 0.08
#: while a gradient-flow slider follows a drag: a change waits at most this long for its redraw
LIVE_MAX_WAIT_S = 0.1
#: resolution of a figure a lab returns as a new matplotlib Figure (a LabFigure has its own)
FIGURE_DPI = 100
_SLIDER = dict(continuous_update=False, style={"description_width": "initial"},
               layout=widgets.Layout(width="360px"))
#: the gradient-flow lab's sliders follow the hand: a new figure while dragging
_LIVE_SLIDER = {**_SLIDER, "continuous_update": True}
ARCH_OPTIONS = [(arch.name, key) for key, arch in ARCHITECTURES.items()]  # (label, value) per button
#: what each starting value is checked against (the controls' bounds, from rnnlib.limits)
_RANGES = {
    "hidden_dim": limits.HIDDEN_RANGE, "seq_len": limits.SEQ_LEN_RANGE, "spectral_radius": limits.SPECTRAL_RADIUS_RANGE,
    "forget_bias": limits.GATE_BIAS_RANGE, "max_norm": limits.MAX_NORM_RANGE, "seed": limits.SEED_RANGE,
    "train_steps": limits.TRAIN_STEPS_RANGE, "lr": limits.LR_RANGE, "steps": limits.CLIP_STEPS_RANGE,
}


def _log_bounds(bounds: tuple[float, float]) -> dict:
    """``min``/``max`` exponents of a ``FloatLogSlider`` spanning ``bounds``."""
    return dict(base=10, min=math.log10(bounds[0]), max=math.log10(bounds[1]))


def _seed_box(seed: int) -> widgets.BoundedIntText:
    return _with_class(widgets.BoundedIntText(value=seed, min=limits.SEED_RANGE[0], max=limits.SEED_RANGE[1],
                                              description="seed", layout=widgets.Layout(width="190px")),
                       "rnnlib-seed")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (what the inline backend would show)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FIGURE_DPI)  # the plots lay themselves out (tight_layout)
    return buffer.getvalue()


def _span(css: str, text: str) -> str:
    return f'<span class="{css}">{html.escape(text)}</span>'


def plain_text(readout: str) -> list[str]:
    """The readout's HTML as plain-text lines (``<br>`` ends a line, ``<sub>1</sub>`` reads ``_1``)."""
    text = re.sub(r"<sub>(.*?)</sub>", r"_\1", readout)
    return [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in re.split(r"<br\s*/?>", text)]


def _with_class(widget: widgets.Widget, css: str) -> widgets.Widget:
    widget.add_class(css)
    return widget


class Lab:
    """What every lab shares: an output for the figure, a readout, throttled redraws, the static PNG.

    A lab is a subclass that, in its ``__init__``, calls ``super().__init__()``, builds its controls,
    calls :meth:`_watch` on those that change the figure, :meth:`_assemble` with its rows of controls,
    optionally :meth:`_check_start` with its starting arguments, and finally :meth:`update`. The hooks
    it implements (this API is stable):

    * ``title`` (class attribute): the figure's title, e.g. ``"Gradient-flow lab: …"``.
    * :meth:`settings` → dict: the arguments the controls hold now (public: exercises read it).
    * :meth:`compute` → result: the data, from :mod:`rnnlib.labs`. Raising ``ValueError`` (or
      ``TrainingDiverged``) shows the message in the readout and keeps the last good figure.
    * :meth:`draw` (result) → figure: either a :class:`rnnlib.labfigures.LabFigure` the lab keeps and
      updates in place (fast: build it once, change its artists' data here), or a new matplotlib
      ``Figure`` (simple: it is rendered once and closed; its own layout is kept).
    * :meth:`describe` (result) → str: the readout as HTML, lines separated by ``<br>``; wrap the numbers
      a browser test reads in ``_span(css, text)``. A LabFigure carries the same lines as plain text.
    * optionally :meth:`stages` (partial) → results, the last one final: for data that takes long, partial
      results first (the clipping lab's runs as they train); by default :meth:`compute` alone.

    What the lab offers to code: :meth:`settings`, :attr:`result` (``last_result``), :attr:`png` (the
    figure drawn last), :attr:`seconds` (``{"data": s, "first image": s, "rendered": s}`` of the last redraw),
    :attr:`redraws` (how many figures were drawn), :attr:`idle` (nothing waits to be drawn), :meth:`update`,
    :attr:`widget` (the box to display).
    """

    name = "lab"
    title = "lab"
    css = "rnnlib-lab"

    def __init__(self) -> None:
        self.output = _with_class(widgets.Output(layout=widgets.Layout(min_height="300px")), "rnnlib-output")
        self.readout = _with_class(widgets.HTML(), "rnnlib-readout")
        self.last_result = None
        self.png: bytes | None = None
        self.redraws = 0  # how many figures were drawn (tests check that stale requests draw nothing)
        self.seconds: dict[str, float] = {}
        self._redraw: dict = {}  # the redraw under way: when it began, seconds computing, its first image
        self._staging = False  # a scheduled redraw has stages left to draw
        self._figure: LabFigure | None = None  # the LabFigure drawn last, for the static PNG
        self._generation = 0
        self._pending: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0  # event-loop time of the first change the pending redraw serves
        #: while a slider follows a drag: the longest a change waits for a redraw (None: debounce only)
        self.live_max_wait_s: float | None = None
        self.widget: widgets.Box | None = None

    @property
    def result(self):
        """The result drawn last (what :meth:`compute` returned for the figure on screen)."""
        return self.last_result

    # -- redraw scheduling -------------------------------------------------------------------------
    def _watch(self, *controls: widgets.Widget) -> None:
        for control in controls:
            control.observe(self._on_change, names="value")

    def _on_change(self, _change=None) -> None:
        self.request()

    def request(self) -> None:
        """Ask for a redraw with the current values: at once without an event loop; otherwise after
        :data:`DEBOUNCE_S` without a newer change (a burst of key presses draws once, the latest
        setting). A lab with ``live_max_wait_s`` (set while its sliders follow a drag) also draws
        when that long has passed since the first change still waiting, so a drag that never pauses
        redraws as it goes. At most one redraw is pending; it reads the controls when it runs."""
        self._generation += 1
        loop = _running_loop()
        if loop is None:
            self._run(self._generation)
            return
        now = loop.time()
        if self._pending is None:
            self._waiting_since = now
        else:
            self._pending.cancel()
        delay = DEBOUNCE_S
        if self.live_max_wait_s is not None:
            delay = min(delay, max(0.0, self._waiting_since + self.live_max_wait_s - now))
        self._pending = loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._run(self._generation)  # the latest request: every earlier one is superseded by it

    def _run(self, generation: int) -> None:
        if generation != self._generation:
            return  # a newer request superseded this one
        loop = _running_loop()
        if loop is None:
            with self._failures_reported():
                self.update()
            return
        self._redraw = {"start": time.perf_counter(), "data": 0.0, "first image": None}
        self._staging = True
        self._next_stage(loop, generation, iter(self.stages()))

    @property
    def idle(self) -> bool:
        """No redraw waits or is under way (a scheduled one may still have stages to draw)."""
        return self._pending is None and not self._staging

    def _next_stage(self, loop: asyncio.AbstractEventLoop, generation: int, stages) -> None:
        """Compute and draw the next stage of a scheduled redraw, then give the event loop a turn
        (a newer change can arrive) before the one after; a superseded redraw stops here."""
        self._staging = False  # until a next stage is scheduled
        if generation != self._generation:
            stages.close()
            return
        with self._failures_reported():
            begun = time.perf_counter()
            try:
                result = next(stages)
            except StopIteration:
                return
            except (ValueError, TrainingDiverged) as error:  # an invalid setting: said, the last figure stays
                self.readout.value = _span("rnnlib-error", f"⚠ {error}")
                return
            self._redraw["data"] += time.perf_counter() - begun
            self._show(result)
        self._staging = True
        loop.call_soon(self._next_stage, loop, generation, stages)

    @contextmanager
    def _failures_reported(self) -> Iterator[None]:
        # a scheduled redraw runs after the slider's message was handled, so JupyterLab would send
        # the traceback to its log console: say it in the lab itself, then let it propagate
        try:
            yield
        except Exception as error:
            self.readout.value = _span("rnnlib-error", f"⚠ the lab failed: {type(error).__name__}: {error}")
            raise

    # -- drawing -----------------------------------------------------------------------------------
    def update(self):
        """Compute and draw with the current control values now, superseding any pending request;
        returns the result (``None`` and a message in the readout if a value is invalid). Only the
        last of :meth:`stages` is drawn."""
        self._generation += 1
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        start = time.perf_counter()
        try:
            *_, result = self.stages(partial=False)
        except (ValueError, TrainingDiverged) as error:
            self.readout.value = _span("rnnlib-error", f"⚠ {error}")
            return None
        self._redraw = {"start": start, "data": time.perf_counter() - start, "first image": None}
        self._show(result)
        return result

    def _show(self, result) -> None:
        """Draw ``result`` and its readout; time it into :attr:`seconds` (the redraw under way)."""
        readout = self.describe(result)
        self.png = self._render(self.draw(result), readout)
        self.output.outputs = ({
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": f"<{self.name}>"},
            "metadata": {},
        },)
        self.last_result = result
        self.redraws += 1
        self.readout.value = readout
        redraw = self._redraw
        rendered = time.perf_counter() - redraw["start"]
        if redraw["first image"] is None:
            redraw["first image"] = rendered
        self.seconds = {"data": redraw["data"], "first image": redraw["first image"], "rendered": rendered}

    def _render(self, fig: LabFigure | Figure, readout: str) -> bytes:
        if isinstance(fig, LabFigure):
            fig.caption(self.title, plain_text(readout))
            self._figure = fig
            return fig.png()
        self._figure = None
        try:
            return figure_png(fig)
        finally:
            plt.close(fig)  # never left for the inline backend to show again after the next cell

    def _check_start(self, requested: dict) -> None:
        """Refuse a starting value the controls cannot hold (a slider would silently clamp it)."""
        held = self.settings()
        for name, value in requested.items():
            if held[name] != value:
                bounds = f"must be in [{_RANGES[name][0]}, {_RANGES[name][1]}]" if name in _RANGES else "is invalid"
                gated = " and needs a gated architecture" if name == "forget_bias" else ""
                raise ValueError(f"{name}={value!r} cannot be set on the {self.name}: {name} {bounds}{gated}, on "
                                 f"the control's steps (it would hold {held[name]!r})")

    def settings(self) -> dict:
        raise NotImplementedError

    def busy(self, text: str) -> None:
        """Say what is running before a long computation (the readout updates right away)."""
        self.readout.value = _span("rnnlib-busy", f"⏳ {text}")

    def compute(self):
        raise NotImplementedError

    def stages(self, partial: bool = True):
        """The results to draw for the current settings, the last one final: by default
        :meth:`compute` alone. A lab whose data takes long yields partial results first when
        ``partial`` (the clipping lab: its runs some steps in), so the figure starts to change at once.
        A redraw scheduled on an event loop draws each stage and gives the loop a turn between two, so
        a newer change stops the rest; :meth:`update` asks for the final result alone."""
        yield self.compute()

    def draw(self, result) -> LabFigure | Figure:
        raise NotImplementedError

    def describe(self, result) -> str:
        raise NotImplementedError

    # -- display -----------------------------------------------------------------------------------
    def static_png(self) -> bytes | None:
        """The figure drawn last as a notebook keeps it for viewers without a kernel: with the lab's
        title above and its readout below (a LabFigure), else the live image itself."""
        return self.png if self._figure is None else self._figure.png(captioned=True)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{self.name}: run the notebook to use its controls"
        static = self.static_png()
        if static is not None:  # the static figure for viewers without a kernel
            bundle["image/png"] = base64.b64encode(static).decode("ascii")
        return bundle

    def display(self) -> None:
        display(self)

    def _assemble(self, *rows: widgets.Widget) -> None:
        self.widget = widgets.VBox([*rows, self.readout, self.output])
        self.widget.add_class("rnnlib-lab")
        self.widget.add_class(self.css)


def _optional_slider(label: str, slider: widgets.Widget, css: str, value: bool) -> widgets.Checkbox:
    """A checkbox that switches ``slider`` on (its value is used) or off (PyTorch's default)."""
    box = _with_class(widgets.Checkbox(value=value, description=label, indent=False,
                                       layout=widgets.Layout(width="150px")), css)
    slider.disabled = not value
    box.observe(lambda change: setattr(slider, "disabled", not change["new"]), names="value")
    return box


class GradientFlowLab(Lab):
    """‖∂L/∂h_t‖ over t for one model; see :func:`rnnlib.labs.grad_flow` for what is measured.

    Controls (attributes): ``arch``, ``hidden``, ``seq_len``, ``rescale`` + ``radius`` (spectral
    radius of W_hh), ``set_bias`` + ``gate_bias`` (LSTM forget / GRU update gate), ``clip`` +
    ``max_norm``, ``seed``, ``train_steps`` and the ``train_button`` that adds ``train_increment``
    steps. ``previous`` is the result drawn before the current one (the faint line).
    """

    name = "gradient-flow lab"
    title = "Gradient-flow lab: how much of the loss's gradient reaches each step t"
    css = "rnnlib-gradient-flow-lab"

    def __init__(self, arch: str = "rnn", hidden_dim: int = 64, seq_len: int = 50, *,
                 spectral_radius: float | None = None, forget_bias: float | None = None,
                 max_norm: float | None = None, seed: int = 0, train_steps: int = 0,
                 train_increment: int = 100) -> None:
        super().__init__()
        check_choice("arch", arch, labs.ARCHS)
        self.previous: labs.GradFlowResult | None = None
        self.figure = GradFlowFigure()
        self.arch = _with_class(widgets.ToggleButtons(options=ARCH_OPTIONS, value=arch,
                                                      description="architecture"), "rnnlib-arch")
        self.arch.style.button_width = "70px"
        self.hidden = _with_class(widgets.IntSlider(
            value=hidden_dim, min=limits.HIDDEN_RANGE[0], max=limits.HIDDEN_RANGE[1], step=4,
            description="hidden size", **_LIVE_SLIDER), "rnnlib-hidden")
        self.seq_len = _with_class(widgets.IntSlider(
            value=seq_len, min=limits.SEQ_LEN_RANGE[0], max=limits.SEQ_LEN_RANGE[1], step=5,
            description="sequence length T", **_LIVE_SLIDER), "rnnlib-seq-len")
        self.radius = _with_class(widgets.FloatSlider(
            value=1.0 if spectral_radius is None else spectral_radius, min=limits.SPECTRAL_RADIUS_RANGE[0],
            max=limits.SPECTRAL_RADIUS_RANGE[1], step=0.05, description="spectral radius ρ(W_hh)",
            **_LIVE_SLIDER), "rnnlib-radius")
        self.rescale = _optional_slider("set ρ(W_hh)", self.radius, "rnnlib-rescale", spectral_radius is not None)
        self.gate_bias = _with_class(widgets.FloatSlider(
            value=3.0 if forget_bias is None else forget_bias, min=limits.GATE_BIAS_RANGE[0],
            max=limits.GATE_BIAS_RANGE[1], step=0.5, description="forget-gate bias", **_LIVE_SLIDER),
            "rnnlib-gate-bias")
        self.set_bias = _optional_slider("set gate bias", self.gate_bias, "rnnlib-set-bias", forget_bias is not None)
        self.max_norm = _with_class(widgets.FloatLogSlider(
            value=1.0 if max_norm is None else max_norm, **_log_bounds(limits.MAX_NORM_RANGE), step=0.25,
            description="max_norm", readout_format=".3g", **_LIVE_SLIDER), "rnnlib-max-norm")
        self.clip = _optional_slider("clip gradients", self.max_norm, "rnnlib-clip", max_norm is not None)
        self.seed = _seed_box(seed)
        self.train_steps = _with_class(widgets.IntSlider(
            value=train_steps, min=limits.TRAIN_STEPS_RANGE[0], max=limits.TRAIN_STEPS_RANGE[1], step=50,
            description="trained steps (long-range task)", **_SLIDER), "rnnlib-train-steps")
        self.train_increment = train_increment
        self.train_button = _with_class(widgets.Button(description=f"train +{train_increment} steps",
                                                       icon="play"), "rnnlib-train")
        self.train_button.on_click(self._train_more)
        self.arch.observe(self._arch_changed, names="value")
        self._arch_changed()
        self.train_steps.observe(self._live_when_untrained, names="value")
        self._live_when_untrained()
        self._watch(self.arch, self.hidden, self.seq_len, self.rescale, self.radius, self.set_bias,
                    self.gate_bias, self.clip, self.max_norm, self.seed, self.train_steps)
        self._assemble(
            self.arch,
            widgets.HBox([self.hidden, self.seq_len]),
            widgets.HBox([self.rescale, self.radius]),
            widgets.HBox([self.set_bias, self.gate_bias]),
            widgets.HBox([self.clip, self.max_norm, self.seed]),
            widgets.HBox([self.train_steps, self.train_button]),
        )
        self._check_start(dict(arch=arch, hidden_dim=hidden_dim, seq_len=seq_len, spectral_radius=spectral_radius,
                               forget_bias=forget_bias, max_norm=max_norm, seed=seed, train_steps=train_steps))
        self.update()

    def _arch_changed(self, _change=None) -> None:
        arch = self.arch.value
        self.set_bias.disabled = arch == "rnn"
        self.gate_bias.disabled = arch == "rnn" or not self.set_bias.value
        self.gate_bias.description = "update-gate bias" if arch == "gru" else "forget-gate bias"

    def _live_when_untrained(self, _change=None) -> None:
        """Sliders follow the hand while the model is untrained (a redraw takes a tenth of a second);
        once it trains, every new setting trains a model, so they update on release."""
        live = self.train_steps.value == 0
        for slider in (self.hidden, self.seq_len, self.radius, self.gate_bias, self.max_norm):
            slider.continuous_update = live
        self.live_max_wait_s = LIVE_MAX_WAIT_S if live else None

    def _train_more(self, _button=None) -> None:
        self.train_steps.value = min(self.train_steps.value + self.train_increment, self.train_steps.max)

    def settings(self) -> dict:
        """The :func:`rnnlib.labs.grad_flow` arguments the controls hold now."""
        gated = self.arch.value != "rnn"
        return dict(
            arch=self.arch.value,
            hidden_dim=self.hidden.value,
            seq_len=self.seq_len.value,
            spectral_radius=self.radius.value if self.rescale.value else None,
            forget_bias=self.gate_bias.value if gated and self.set_bias.value else None,
            max_norm=self.max_norm.value if self.clip.value else None,
            seed=self.seed.value,
            train_steps=self.train_steps.value,
        )

    def compute(self) -> labs.GradFlowResult:
        settings = self.settings()
        if settings["train_steps"]:
            self.busy(f"training {settings['train_steps']} steps on the long-range task, then measuring …")
        return labs.grad_flow(**settings)

    def draw(self, result: labs.GradFlowResult) -> GradFlowFigure:
        previous = self.last_result
        if previous is not None and previous.settings != result.settings:
            self.previous = previous
        self.figure.update(result, self.previous)
        return self.figure

    def describe(self, r: labs.GradFlowResult) -> str:
        s = r.settings
        radii = r.spectral_radii.values()
        ratio = _span("rnnlib-decay-ratio", f"{r.decay_ratio:.2e}")
        lines = [
            _span("rnnlib-setting", r.label),
            f"decay ratio ‖∂L/∂h<sub>1</sub>‖ / ‖∂L/∂h<sub>T</sub>‖ = {ratio}"
            f" · memory span: {_span('rnnlib-memory-span', str(r.memory_span))} of {r.seq_len - 1} steps back"
            f" stay ≥ {r.threshold:.0%} of ‖∂L/∂h<sub>T</sub>‖"
            f" · ρ(W_hh) {min(radii):.2f}–{max(radii):.2f}",
        ]
        grad = f"global gradient norm ‖g‖ = {_span('rnnlib-grad-norm', f'{r.grad_norm:.3g}')}"
        if s["max_norm"] is None:
            lines.append(f"{grad} · clipping off ({_span('rnnlib-clip-scale', '1')}× the update)")
        else:
            lines.append(
                f"{grad} · clipping at max_norm {s['max_norm']:.3g} scales this update by "
                f"{_span('rnnlib-clip-scale', f'{r.clip_scale:.3g}')}: it shortens the step, "
                "the curve above (∂L/∂h<sub>t</sub>) is the same with or without it"
            )
        if s["train_steps"]:
            lines.append(f"after {s['train_steps']} training steps: loss {r.loss:.3f}, "
                         f"accuracy {r.accuracy:.0%} on the plotted batch")
        return "<br>".join(lines)


class ClippingLab(Lab):
    """Loss and gradient norm per SGD step on the adding problem, with and without clipping.

    Controls: ``max_norm`` (the clipped run), ``radius`` (spectral radius of W_hh), ``lr``, ``steps``,
    ``seed``. ``last_result`` is ``{"no clipping": ClippingResult, "clip at …": ClippingResult}``.
    """

    name = "clipping lab"
    title = "Clipping lab: SGD with and without clipping (learning = loss below the baseline)"
    css = "rnnlib-clipping-lab"
    #: while the runs train, the figure first shows them after a chunk of steps that took at least
    #: FIRST_PARTIAL_S (a cached run, read at once, shows no partial figure), then after about every
    #: PARTIAL_EVERY_S of training
    FIRST_PARTIAL_S, PARTIAL_EVERY_S = 0.02, 0.5

    def __init__(self, max_norm: float = 1.0, *, spectral_radius: float = 2.5, lr: float = 0.05,
                 steps: int = 100, seed: int = 0) -> None:
        super().__init__()
        self.max_norm = _with_class(widgets.FloatLogSlider(
            value=max_norm, **_log_bounds(limits.MAX_NORM_RANGE), step=0.25, description="max_norm (clipped run)",
            readout_format=".3g", **_SLIDER), "rnnlib-max-norm")
        self.radius = _with_class(widgets.FloatSlider(
            value=spectral_radius, min=limits.SPECTRAL_RADIUS_RANGE[0], max=limits.SPECTRAL_RADIUS_RANGE[1],
            step=0.05, description="spectral radius ρ(W_hh)", **_SLIDER), "rnnlib-radius")
        self.lr = _with_class(widgets.FloatLogSlider(
            value=lr, **_log_bounds(limits.LR_RANGE), step=0.1, description="learning rate (SGD)",
            readout_format=".3g", **_SLIDER), "rnnlib-lr")
        self.steps = _with_class(widgets.IntSlider(
            value=steps, min=limits.CLIP_STEPS_RANGE[0], max=limits.CLIP_STEPS_RANGE[1], step=10,
            description="steps", **_SLIDER), "rnnlib-steps")
        self.seed = _seed_box(seed)
        self.figure = ClippingFigure()
        self._watch(self.max_norm, self.radius, self.lr, self.steps, self.seed)
        self._assemble(widgets.HBox([self.radius, self.lr]), widgets.HBox([self.max_norm, self.steps, self.seed]))
        self._check_start(dict(spectral_radius=spectral_radius, lr=lr, steps=steps, seed=seed))
        if self.max_norm.value != max_norm:
            low, high = limits.MAX_NORM_RANGE
            raise ValueError(f"max_norm must be a number in [{low}, {high}] on the {self.name}, got {max_norm!r}")
        self.update()

    def settings(self) -> dict:
        """The :func:`rnnlib.labs.clipping_run` arguments shared by both runs."""
        return dict(spectral_radius=self.radius.value, lr=self.lr.value, steps=self.steps.value,
                    seed=self.seed.value)

    def compute(self, steps: int | None = None) -> dict[str, labs.ClippingResult]:
        """Both runs at the current settings (their first ``steps`` steps: ``None``, all of them).

        Runs are cached per setting without the number of steps (:func:`rnnlib.labs.clipping_run`):
        moving max_norm trains only the clipped run, fewer steps trains nothing (a shorter run is the
        start of the longer one) and more steps continue where the runs stopped."""
        settings = self.settings() | ({} if steps is None else {"steps": steps})
        runs = (labs.clipping_run(None, **settings), labs.clipping_run(self.max_norm.value, **settings))
        return {run.label: run for run in runs}

    def stages(self, partial: bool = True):
        """With ``partial``, the runs as they train (:data:`FIRST_PARTIAL_S`), then complete: the
        figure grows along the step axis instead of waiting for the last step."""
        if partial:
            chunk = limits.CLIP_STEPS_RANGE[0]
            wait, since = self.FIRST_PARTIAL_S, time.perf_counter()
            for steps in range(chunk, self.steps.value, chunk):
                runs = self.compute(steps)
                if time.perf_counter() - since >= wait:
                    yield runs
                    wait, since = self.PARTIAL_EVERY_S, time.perf_counter()
        yield self.compute()

    def draw(self, result: dict[str, labs.ClippingResult]) -> ClippingFigure:
        self.figure.update(list(result.values()), labs.ADDING_BASELINE_MSE, steps=self.steps.value)
        return self.figure

    def describe(self, result: dict[str, labs.ClippingResult]) -> str:
        s = next(iter(result.values())).settings
        lines = [_span("rnnlib-setting", f"tanh RNN, H={s['hidden_dim']}, adding problem T={s['seq_len']}, "
                                         f"ρ(W_hh)={s['spectral_radius']:g}, SGD lr={s['lr']:.3g}, "
                                         f"{self.steps.value} steps, seed {s['seed']}")]
        if s["steps"] < self.steps.value:  # runs still training: no verdict yet, where they are now
            lines.append(_span("rnnlib-busy", f"⏳ training: step {s['steps']} of {self.steps.value} (the lines grow "
                                              f"as the runs train)"))
            lines += [html.escape(f"{label}: " + (f"diverged at step {run.diverged_at}" if run.diverged else
                                                  f"loss {run.history.step_loss[-1]:.3g} at step {run.history.steps}"))
                      for label, run in result.items()]
            return "<br>".join(lines)
        baseline = labs.ADDING_BASELINE_MSE
        for label, run in result.items():
            h = run.history
            if run.diverged:
                text = f"{label}: diverged at step {run.diverged_at}. {run.message}"
                lines.append(_span("rnnlib-diverged", text))
                continue
            clipped = sum(h.clipped) / max(h.steps, 1)
            verdict = "learned" if run.learned else "did not learn"
            lines.append(
                f"{html.escape(label)}: finite for all {h.steps} steps and "
                + _span("rnnlib-learned", verdict)
                + html.escape(f": final loss {run.final_loss:.3g} (mean of the last {labs.FINAL_LOSS_STEPS} steps) "
                              f"{'<' if run.learned else '≥'} {baseline:.3f}, the loss of always predicting the "
                              f"mean; largest ‖g‖ {max(h.step_grad_norm):.3g}, clipped on {clipped:.0%} of steps"))
        return "<br>".join(lines)


class GateLab(Lab):
    """Gate activations of a GRU or LSTM per word; see :func:`rnnlib.labs.sentence_gates`.

    Controls: ``arch`` (GRU/LSTM), ``sentence`` (pick an example or type one, Enter to apply),
    ``trained``, ``set_bias`` + ``gate_bias``, ``seed``.
    """

    name = "gate lab"
    title = "Gate lab: what each gate does with each word"
    css = "rnnlib-gate-lab"

    def __init__(self, arch: str = "lstm", sentence: str = labs.EXAMPLE_SENTENCES[0], *,
                 trained: bool = True, forget_bias: float | None = None, seed: int = 0) -> None:
        super().__init__()
        check_choice("arch", arch, labs.GATED_ARCHS)
        self.figures: dict[tuple, GateFigure] = {}  # one per (architecture, hidden size), kept
        gated = [option for option in ARCH_OPTIONS if option[1] in labs.GATED_ARCHS]
        self.arch = _with_class(widgets.ToggleButtons(options=gated, value=arch, description="architecture"),
                                "rnnlib-arch")
        self.sentence = _with_class(widgets.Combobox(
            value=sentence, options=list(labs.EXAMPLE_SENTENCES), ensure_option=False,
            description="sentence", placeholder="pick an example or type words, then Enter",
            continuous_update=False, layout=widgets.Layout(width="640px")), "rnnlib-sentence")
        self.trained = _with_class(widgets.Checkbox(value=trained, description="trained on the sentiment task",
                                                    indent=False), "rnnlib-trained")
        self.gate_bias = _with_class(widgets.FloatSlider(
            value=3.0 if forget_bias is None else forget_bias, min=limits.GATE_BIAS_RANGE[0],
            max=limits.GATE_BIAS_RANGE[1], step=0.5, description="forget-gate bias", **_SLIDER),
            "rnnlib-gate-bias")
        self.set_bias = _optional_slider("set gate bias", self.gate_bias, "rnnlib-set-bias", forget_bias is not None)
        self.seed = _seed_box(seed)
        self.arch.observe(self._arch_changed, names="value")
        self._arch_changed()
        self._watch(self.arch, self.sentence, self.trained, self.set_bias, self.gate_bias, self.seed)
        self._assemble(widgets.HBox([self.arch, self.trained]), self.sentence,
                       widgets.HBox([self.set_bias, self.gate_bias, self.seed]))
        self._check_start(dict(arch=arch, sentence=sentence, trained=trained, forget_bias=forget_bias, seed=seed))
        self.update()

    def _arch_changed(self, _change=None) -> None:
        self.gate_bias.description = "update-gate bias" if self.arch.value == "gru" else "forget-gate bias"

    def settings(self) -> dict:
        """The :func:`rnnlib.labs.sentence_gates` arguments the controls hold now."""
        return dict(arch=self.arch.value, sentence=self.sentence.value, trained=self.trained.value,
                    forget_bias=self.gate_bias.value if self.set_bias.value else None, seed=self.seed.value)

    def compute(self) -> labs.GateTraceResult:
        return labs.sentence_gates(**self.settings())

    def draw(self, result: labs.GateTraceResult) -> GateFigure:
        names, hidden = labs.SHOWN_GATES[result.settings["arch"]], result.settings["hidden_dim"]
        if (names, hidden) not in self.figures:
            longest = max(map(len, labs.gate_vocabulary()))  # every word a sentence may show
            self.figures[names, hidden] = GateFigure(names, hidden, longest)
        figure = self.figures[names, hidden]
        figure.update(result.gates, result.tokens)
        return figure

    def describe(self, r: labs.GateTraceResult) -> str:
        s = r.settings
        state = (f"trained {labs.GATE_EPOCHS} epochs on the sentiment task (test accuracy {r.test_accuracy:.0%})"
                 if s["trained"] else "untrained (PyTorch's initialisation)")
        positive = _span("rnnlib-positive", f"{r.positive:.2f}")
        text = [_span("rnnlib-setting", f"{display_name(s['arch'])}, {state}"),
                f"P(positive) = {positive} for “{html.escape(' '.join(r.tokens))}”"]
        if r.unknown:
            text.append(html.escape(f"not in the vocabulary (read as <unk>): {', '.join(r.unknown)}"))
        return "<br>".join(text)


def gradient_flow_lab(**settings) -> GradientFlowLab:
    """The gradient-flow lab at the given settings (see :class:`GradientFlowLab`); a cell that ends
    with this call shows it."""
    return GradientFlowLab(**settings)


def clipping_lab(**settings) -> ClippingLab:
    """The clipping lab (see :class:`ClippingLab`); a cell that ends with this call shows it."""
    return ClippingLab(**settings)


def gate_lab(**settings) -> GateLab:
    """The gate lab (see :class:`GateLab`); a cell that ends with this call shows it."""
    return GateLab(**settings)


__all__ = ["ClippingLab", "GateLab", "GradientFlowLab", "Lab", "clipping_lab", "gate_lab", "gradient_flow_lab"]


class PaddingTrapLab(Lab):
    """The padding trap of notebook 04: one sentence, 0 … ``max_padding`` padding tokens after it, and a
    trained BiLSTM's states and P(positive) through the wrong and the right readout; see
    :func:`rnnlib.labs.padding_trap`. Controls: ``sentence`` (type one, Enter), ``padding`` (the amount
    marked in the figure and read out), ``seed`` (of the lab's own model; hidden when ``model`` is given:
    a trained BiLSTM of the notebook)."""

    name = "padding-trap lab"
    css = "rnnlib-padding-trap-lab"

    def __init__(self, sentence: str = "the acting was awful", *, padding: int = 23, max_padding: int = 30,
                 seed: int = 0, model=None) -> None:
        super().__init__()
        self.model = model
        self.max_padding = check_int("max_padding", max_padding, low=labs.PADDING_RANGE[0] + 1,
                                     high=labs.PADDING_RANGE[1])
        self.sentence = _with_class(widgets.Combobox(
            value=sentence, options=[sentence, *labs.EXAMPLE_SENTENCES[:3]], ensure_option=False,
            description="sentence", continuous_update=False, layout=widgets.Layout(width="640px")), "rnnlib-sentence")
        self.padding = _with_class(widgets.IntSlider(value=padding, min=0, max=max_padding,
                                                     description="padding tokens", **_SLIDER), "rnnlib-padding")
        self.seed = _with_class(widgets.BoundedIntText(value=seed, min=0, max=9999, description="seed",
                                                       layout=widgets.Layout(width="150px")), "rnnlib-seed")
        self._watch(self.sentence, self.padding, self.seed)
        self._assemble(self.sentence, widgets.HBox([self.padding] + ([self.seed] if model is None else [])))
        self._check_start(dict(sentence=sentence, padding=padding, seed=seed))
        self.update()

    def settings(self) -> dict:
        return dict(sentence=self.sentence.value, padding=self.padding.value, seed=self.seed.value)

    def compute(self) -> labs.PaddingTrapResult:
        s = self.settings()
        return labs.padding_trap(s["sentence"], max_padding=self.max_padding, seed=s["seed"], model=self.model)

    def draw(self, r: labs.PaddingTrapResult) -> Figure:
        positive = {labs.READOUTS[name]: p for name, p in r.positive.items()}  # wrong, half right, right
        changes = {"h←_1, no packing: the backward direction read the padding first": r.backward_change,
                   "h→ read at the padded end, no packing": r.forward_change}
        return plots.plot_padding_trap(r.padding, positive, changes, current=self.padding.value,
                                       title=f"“{' '.join(r.tokens)}” followed by padding")

    def describe(self, r: labs.PaddingTrapResult) -> str:
        k = self.padding.value
        p = r.at(k)
        shown = " · ".join(f"{labs.READOUTS[name]}: {_span(f'rnnlib-positive-{name}', f'{value:.3f}')}"
                           for name, value in p.items())
        return "<br>".join([
            _span("rnnlib-setting", ("the notebook's BiLSTM" if self.model is not None else
                                     f"BiLSTM trained {labs.TRAP_EPOCHS} epochs (seed {r.settings['seed']})")
                  + f", sentiment test accuracy {r.test_accuracy:.1%}"),
            f"P(positive) with {k} padding tokens — {shown} (alone: {r.alone:.3f})",
        ])


def padding_trap_lab(**settings) -> PaddingTrapLab:
    """The padding-trap lab (see :class:`PaddingTrapLab`); a cell that ends with this call shows it."""
    return PaddingTrapLab(**settings)


__all__ += ["PaddingTrapLab", "padding_trap_lab"]
