"""Interactive labs: a thin ipywidgets layer over the plain functions in :mod:`rnnlib.labs`.

* :func:`gradient_flow_lab` → :class:`GradientFlowLab`: ‖∂L/∂h_t‖ over t on a log axis, the previous
  setting as a faint line, a readout of the decay ratio, the memory span and the clipping scale.
* :func:`clipping_lab` → :class:`ClippingLab`: loss and global gradient norm per SGD step, with and
  without clipping, exploding case included.
* :func:`gate_lab` → :class:`GateLab`: GRU/LSTM gate activations per word of a sentence.

How they behave everywhere (JupyterLab, Colab, VS Code, Voilà, nbval):

* The figure is a PNG placed in an ``ipywidgets.Output`` (its ``outputs`` are set directly), so no
  front-end extension (ipympl) is needed, nothing is routed through the kernel's message parents, and
  a test can read the image back from ``lab.output.outputs``.
* Sliders update on release (``continuous_update=False``). Changes are debounced on the kernel's
  event loop (:data:`DEBOUNCE_S`): a burst of changes (arrow keys on a slider) draws only the latest
  setting, and a request that a newer one has superseded is dropped. Outside a running event loop
  (scripts, tests) a change redraws at once. ``lab.update()`` always redraws now: a notebook cell
  that sets controls from code and then reads ``lab.last_result`` calls it first (in a kernel the
  debounced redraw would only run after the cell).
* An invalid value (set from code, or a sentence too long) shows a message in the readout, with the
  class ``rnnlib-error``, instead of a traceback; the last good figure stays.
* Displaying a lab also carries a static PNG of its current figure (the default settings, in a fresh
  notebook) in the same output, so GitHub/nbviewer and untrusted notebooks show the figure; JupyterLab
  with a live kernel shows the widget. nbval ignores both the image and the widget view.

CSS classes for browser tests (each also in the widget's ``description`` where it has one):

=============================  ==================================================================
``rnnlib-lab``                 every lab's outer box, plus ``rnnlib-gradient-flow-lab``,
                               ``rnnlib-clipping-lab`` or ``rnnlib-gate-lab``
``rnnlib-output``              the Output holding the figure (``.rnnlib-output img``)
``rnnlib-readout``             the HTML readout; inside it ``rnnlib-setting`` (the settings drawn),
                               ``rnnlib-decay-ratio``, ``rnnlib-memory-span``, ``rnnlib-clip-scale``,
                               ``rnnlib-grad-norm``, ``rnnlib-diverged``, ``rnnlib-positive``,
                               ``rnnlib-error``, ``rnnlib-busy`` spans
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

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from . import labs, plots
from .training import TrainingDiverged
from .validation import check_choice, check_int

#: seconds a change waits for the next one before the lab redraws (drops key-repeat bursts)
DEBOUNCE_S = 0.08
#: resolution of the figures placed in the widgets
FIGURE_DPI = 100
#: the gradient-flow lab's y-axis (‖∂L/∂h_t‖), widened only when a curve leaves it
NORM_AXIS = (1e-16, 1e1)
_SLIDER = dict(continuous_update=False, style={"description_width": "initial"},
               layout=widgets.Layout(width="360px"))
ARCH_OPTIONS = [("RNN", "rnn"), ("GRU", "gru"), ("LSTM", "lstm"), ("BiLSTM", "bilstm")]


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


def _with_class(widget: widgets.Widget, css: str) -> widgets.Widget:
    widget.add_class(css)
    return widget


class Lab:
    """What every lab shares: an output for the figure, a readout, debounced redraws.

    Subclasses build their controls, call :meth:`_watch` on them and implement :meth:`compute`
    (control values → a result from :mod:`rnnlib.labs`), :meth:`draw` (result → Figure) and
    :meth:`describe` (result → readout HTML).
    """

    name = "lab"
    css = "rnnlib-lab"

    def __init__(self) -> None:
        self.output = _with_class(widgets.Output(layout=widgets.Layout(min_height="300px")), "rnnlib-output")
        self.readout = _with_class(widgets.HTML(), "rnnlib-readout")
        self.last_result = None
        self.png: bytes | None = None
        self.redraws = 0  # how many figures were drawn (tests check that stale requests draw nothing)
        self._generation = 0
        self._pending: asyncio.TimerHandle | None = None
        self.widget: widgets.Box | None = None

    # -- redraw scheduling -------------------------------------------------------------------------
    def _watch(self, *controls: widgets.Widget) -> None:
        for control in controls:
            control.observe(self._on_change, names="value")

    def _on_change(self, _change=None) -> None:
        self.request()

    def request(self) -> None:
        """Ask for a redraw with the current values: at once without an event loop, otherwise after
        :data:`DEBOUNCE_S` unless another request comes first (only the latest one draws)."""
        self._generation += 1
        generation = self._generation
        loop = _running_loop()
        if loop is None:
            self._run(generation)
            return
        if self._pending is not None:
            self._pending.cancel()
        self._pending = loop.call_later(DEBOUNCE_S, self._run, generation)

    def _run(self, generation: int) -> None:
        if generation != self._generation:
            return  # a newer request superseded this one
        try:
            self.update()
        except Exception as error:
            # a debounced redraw runs after the slider's message was handled, so JupyterLab would send
            # the traceback to its log console: say it in the lab itself, then let it propagate
            self.readout.value = _span("rnnlib-error", f"⚠ the lab failed: {type(error).__name__}: {error}")
            raise

    # -- drawing -----------------------------------------------------------------------------------
    def update(self):
        """Compute and draw with the current control values now, superseding any pending request;
        returns the result (``None`` and a message in the readout if a value is invalid)."""
        self._generation += 1
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            result = self.compute()
        except (ValueError, TrainingDiverged) as error:
            self.readout.value = _span("rnnlib-error", f"⚠ {error}")
            return None
        fig = self.draw(result)
        try:
            self.png = figure_png(fig)
        finally:
            plt.close(fig)  # never left for the inline backend to show again after the next cell
        self.output.outputs = ({
            "output_type": "display_data",
            "data": {"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": f"<{self.name}>"},
            "metadata": {},
        },)
        self.last_result = result
        self.redraws += 1
        self.readout.value = self.describe(result)
        return result

    def _check_start(self, requested: dict) -> None:
        """Refuse a starting value the controls cannot hold (a slider would silently clamp it)."""
        held = self.settings()
        for name, value in requested.items():
            if held[name] != value:
                raise ValueError(
                    f"{name}={value!r} cannot be set on the {self.name}: its control holds {held[name]!r} "
                    "(ranges: the constants in rnnlib.labs; gate biases only for gated models)"
                )

    def settings(self) -> dict:
        raise NotImplementedError

    def busy(self, text: str) -> None:
        """Say what is running before a long computation (the readout updates right away)."""
        self.readout.value = _span("rnnlib-busy", f"⏳ {text}")

    def compute(self):
        raise NotImplementedError

    def draw(self, result) -> Figure:
        raise NotImplementedError

    def describe(self, result) -> str:
        raise NotImplementedError

    # -- display -----------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{self.name}: run the notebook to use its controls"
        if self.png is not None:  # the static figure for viewers without a kernel
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
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
    css = "rnnlib-gradient-flow-lab"

    def __init__(self, arch: str = "rnn", hidden_dim: int = 64, seq_len: int = 50, *,
                 spectral_radius: float | None = None, forget_bias: float | None = None,
                 max_norm: float | None = None, seed: int = 0, train_steps: int = 0,
                 train_increment: int = 100) -> None:
        super().__init__()
        check_choice("arch", arch, labs.ARCHS)
        self.previous: labs.GradFlowResult | None = None
        self.arch = _with_class(widgets.ToggleButtons(options=ARCH_OPTIONS, value=arch,
                                                      description="architecture"), "rnnlib-arch")
        self.arch.style.button_width = "70px"
        self.hidden = _with_class(widgets.IntSlider(
            value=hidden_dim, min=labs.HIDDEN_RANGE[0], max=labs.HIDDEN_RANGE[1], step=4,
            description="hidden size", **_SLIDER), "rnnlib-hidden")
        self.seq_len = _with_class(widgets.IntSlider(
            value=seq_len, min=labs.SEQ_LEN_RANGE[0], max=labs.SEQ_LEN_RANGE[1], step=5,
            description="sequence length T", **_SLIDER), "rnnlib-seq-len")
        self.radius = _with_class(widgets.FloatSlider(
            value=1.0 if spectral_radius is None else spectral_radius, min=labs.SPECTRAL_RADIUS_RANGE[0],
            max=labs.SPECTRAL_RADIUS_RANGE[1], step=0.05, description="spectral radius ρ(W_hh)",
            **_SLIDER), "rnnlib-radius")
        self.rescale = _optional_slider("set ρ(W_hh)", self.radius, "rnnlib-rescale", spectral_radius is not None)
        self.gate_bias = _with_class(widgets.FloatSlider(
            value=3.0 if forget_bias is None else forget_bias, min=labs.GATE_BIAS_RANGE[0],
            max=labs.GATE_BIAS_RANGE[1], step=0.5, description="forget-gate bias", **_SLIDER),
            "rnnlib-gate-bias")
        self.set_bias = _optional_slider("set gate bias", self.gate_bias, "rnnlib-set-bias", forget_bias is not None)
        self.max_norm = _with_class(widgets.FloatLogSlider(
            value=1.0 if max_norm is None else max_norm, base=10, min=-2, max=2, step=0.25,
            description="max_norm", readout_format=".3g", **_SLIDER), "rnnlib-max-norm")
        self.clip = _optional_slider("clip gradients", self.max_norm, "rnnlib-clip", max_norm is not None)
        self.seed = _with_class(widgets.BoundedIntText(value=seed, min=0, max=9999, description="seed",
                                                       layout=widgets.Layout(width="150px")), "rnnlib-seed")
        self.train_steps = _with_class(widgets.IntSlider(
            value=train_steps, min=labs.TRAIN_STEPS_RANGE[0], max=labs.TRAIN_STEPS_RANGE[1], step=50,
            description="trained steps (long-range task)", **_SLIDER), "rnnlib-train-steps")
        self.train_increment = train_increment
        self.train_button = _with_class(widgets.Button(description=f"train +{train_increment} steps",
                                                       icon="play"), "rnnlib-train")
        self.train_button.on_click(self._train_more)
        self.arch.observe(self._arch_changed, names="value")
        self._arch_changed()
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

    def draw(self, result: labs.GradFlowResult) -> Figure:
        previous = self.last_result
        if previous is not None and previous.settings != result.settings:
            self.previous = previous
        faint = None if self.previous is None else {self.previous.label: self.previous.norms}
        fig = plots.plot_grad_norms({result.label: result.norms}, faint=faint, threshold=result.threshold)
        # the same y-range for every setting, widened by whole decades only when a curve leaves it
        shown = np.concatenate([result.norms] + ([self.previous.norms] if self.previous else []))
        shown = shown[np.isfinite(shown) & (shown > 0)]
        low, high = NORM_AXIS
        if shown.size:
            low = min(low, 10.0 ** np.floor(np.log10(shown.min())))
            high = max(high, 10.0 ** np.ceil(np.log10(shown.max())))
        fig.axes[0].set_ylim(low, high)
        return fig

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
    css = "rnnlib-clipping-lab"

    def __init__(self, max_norm: float = 1.0, *, spectral_radius: float = 2.0, lr: float = 0.05,
                 steps: int = 100, seed: int = 0) -> None:
        super().__init__()
        self.max_norm = _with_class(widgets.FloatLogSlider(
            value=max_norm, base=10, min=-2, max=2, step=0.25, description="max_norm (clipped run)",
            readout_format=".3g", **_SLIDER), "rnnlib-max-norm")
        self.radius = _with_class(widgets.FloatSlider(
            value=spectral_radius, min=labs.SPECTRAL_RADIUS_RANGE[0], max=labs.SPECTRAL_RADIUS_RANGE[1],
            step=0.05, description="spectral radius ρ(W_hh)", **_SLIDER), "rnnlib-radius")
        self.lr = _with_class(widgets.FloatLogSlider(
            value=lr, base=10, min=-4, max=0, step=0.1, description="learning rate (SGD)",
            readout_format=".3g", **_SLIDER), "rnnlib-lr")
        self.steps = _with_class(widgets.IntSlider(
            value=steps, min=labs.CLIP_STEPS_RANGE[0], max=labs.CLIP_STEPS_RANGE[1], step=10,
            description="steps", **_SLIDER), "rnnlib-steps")
        self.seed = _with_class(widgets.BoundedIntText(value=seed, min=0, max=9999, description="seed",
                                                       layout=widgets.Layout(width="150px")), "rnnlib-seed")
        self._unclipped: tuple[dict, labs.ClippingResult] | None = None
        self._watch(self.max_norm, self.radius, self.lr, self.steps, self.seed)
        self._assemble(widgets.HBox([self.radius, self.lr]), widgets.HBox([self.max_norm, self.steps, self.seed]))
        self._check_start(dict(spectral_radius=spectral_radius, lr=lr, steps=steps, seed=seed))
        if self.max_norm.value != max_norm:
            low, high = labs.MAX_NORM_RANGE
            raise ValueError(f"max_norm must be a number in [{low}, {high}] on the {self.name}, got {max_norm!r}")
        self.update()

    def settings(self) -> dict:
        """The :func:`rnnlib.labs.clipping_run` arguments shared by both runs."""
        return dict(spectral_radius=self.radius.value, lr=self.lr.value, steps=self.steps.value,
                    seed=self.seed.value)

    def compute(self) -> dict[str, labs.ClippingResult]:
        settings = self.settings()
        # the unclipped run does not depend on max_norm: moving that slider reruns only the clipped one
        if self._unclipped is None or self._unclipped[0] != settings:
            self._unclipped = (settings, labs.clipping_run(None, **settings))
        clipped = labs.clipping_run(self.max_norm.value, **settings)
        return {run.label: run for run in (self._unclipped[1], clipped)}

    def draw(self, result: dict[str, labs.ClippingResult]) -> Figure:
        fig = plots.plot_step_stats({label: run.history for label, run in result.items()})
        palette = plots.colors(result)
        for label, run in result.items():
            if run.diverged:  # where the run stopped: its next loss or gradient was no longer finite
                for ax in fig.axes[:2]:
                    ax.axvline(run.diverged_at, color=palette[label], linestyle="-.", linewidth=1.2,
                               label=f"{label}: diverged at step {run.diverged_at}")
        fig.axes[0].legend(fontsize="small")
        fig.axes[1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))  # as plot_step_stats
        return fig

    def describe(self, result: dict[str, labs.ClippingResult]) -> str:
        s = next(iter(result.values())).settings
        lines = [_span("rnnlib-setting", f"tanh RNN, H={s['hidden_dim']}, adding problem T={s['seq_len']}, "
                                         f"ρ(W_hh)={s['spectral_radius']:g}, SGD lr={s['lr']:.3g}, "
                                         f"{s['steps']} steps, seed {s['seed']}")]
        for label, run in result.items():
            h = run.history
            if run.diverged:
                text = f"{label}: diverged at step {run.diverged_at}. {run.message}"
                lines.append(_span("rnnlib-diverged", text))
            else:
                clipped = sum(h.clipped) / max(h.steps, 1)
                lines.append(html.escape(
                    f"{label}: finite for all {h.steps} steps, last loss {h.step_loss[-1]:.3g} (always "
                    f"predicting 1 scores {labs.ADDING_BASELINE_MSE:.3f}), largest ‖g‖ "
                    f"{max(h.step_grad_norm):.3g}, clipped on {clipped:.0%} of steps"))
        return "<br>".join(lines)


class GateLab(Lab):
    """Gate activations of a GRU or LSTM per word; see :func:`rnnlib.labs.sentence_gates`.

    Controls: ``arch`` (GRU/LSTM), ``sentence`` (pick an example or type one, Enter to apply),
    ``trained``, ``set_bias`` + ``gate_bias``, ``seed``.
    """

    name = "gate lab"
    css = "rnnlib-gate-lab"

    def __init__(self, arch: str = "lstm", sentence: str = labs.EXAMPLE_SENTENCES[0], *,
                 trained: bool = True, forget_bias: float | None = None, seed: int = 0) -> None:
        super().__init__()
        check_choice("arch", arch, labs.GATED_ARCHS)
        self.arch = _with_class(widgets.ToggleButtons(options=ARCH_OPTIONS[1:3], value=arch,
                                                      description="architecture"), "rnnlib-arch")
        self.sentence = _with_class(widgets.Combobox(
            value=sentence, options=list(labs.EXAMPLE_SENTENCES), ensure_option=False,
            description="sentence", placeholder="pick an example or type words, then Enter",
            continuous_update=False, layout=widgets.Layout(width="640px")), "rnnlib-sentence")
        self.trained = _with_class(widgets.Checkbox(value=trained, description="trained on the sentiment task",
                                                    indent=False), "rnnlib-trained")
        self.gate_bias = _with_class(widgets.FloatSlider(
            value=3.0 if forget_bias is None else forget_bias, min=labs.GATE_BIAS_RANGE[0],
            max=labs.GATE_BIAS_RANGE[1], step=0.5, description="forget-gate bias", **_SLIDER),
            "rnnlib-gate-bias")
        self.set_bias = _optional_slider("set gate bias", self.gate_bias, "rnnlib-set-bias", forget_bias is not None)
        self.seed = _with_class(widgets.BoundedIntText(value=seed, min=0, max=9999, description="seed",
                                                       layout=widgets.Layout(width="150px")), "rnnlib-seed")
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

    def draw(self, result: labs.GateTraceResult) -> Figure:
        shown = {name: result.gates[name] for name in labs.SHOWN_GATES[result.settings["arch"]]}
        return plots.plot_gate_heatmap(shown, tokens=result.tokens)

    def describe(self, r: labs.GateTraceResult) -> str:
        s = r.settings
        state = (f"trained {labs.GATE_EPOCHS} epochs on the sentiment task (test accuracy {r.test_accuracy:.0%})"
                 if s["trained"] else "untrained (PyTorch's initialisation)")
        positive = _span("rnnlib-positive", f"{r.positive:.2f}")
        text = [_span("rnnlib-setting", f"{s['arch'].upper()}, {state}"),
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
