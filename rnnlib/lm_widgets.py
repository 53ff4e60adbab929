"""The labs of notebook 06, on the machinery of :mod:`rnnlib.widgets` (debounced redraws, a static PNG
for viewers without a kernel, errors in the readout):

* :func:`temperature_lab` → :class:`TemperatureLab`: a temperature slider (and prompt, seed) → the
  next-character distribution and new samples from a trained character model.
* :func:`connectivity_lab` → :class:`ConnectivityLab`: a position slider → which earlier characters
  the prediction at that position depends on, for several models side by side.

CSS classes for browser tests, besides those of every lab (``rnnlib-lab``, ``rnnlib-output``,
``rnnlib-readout``, ``rnnlib-setting``, ``rnnlib-error``): ``rnnlib-temperature-lab``,
``rnnlib-temperature`` (slider), ``rnnlib-prompt``, ``rnnlib-seed``, ``rnnlib-sample`` (each sample in
the readout); ``rnnlib-connectivity-lab``, ``rnnlib-position`` (slider).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from . import lm, lm_plots
from .architectures import display_name
from .limits import SEED_RANGE
from .validation import check_float, check_int
from .widgets import _SLIDER, Lab, _seed_box, _span, _with_class

#: the temperature slider's range and step
TEMPERATURE_RANGE = (0.1, 2.0)
TEMPERATURE_STEP = 0.05
#: samples drawn per setting (seeds seed, seed + 1, …)
SAMPLES = 2


class TemperatureLab(Lab):
    """Samples of ``model`` after ``prompt`` at the slider's temperature, and the next-character
    distribution after the prompt at that temperature next to temperature 1 (the model's own)."""

    name = "temperature lab"
    css = "rnnlib-temperature-lab"

    def __init__(self, model: lm.CharLM, vocab: lm.CharVocab, prompt: str = "def ", *, temperature: float = 1.0,
                 length: int = 160, seed: int = 0) -> None:
        super().__init__()
        self.model, self.vocab = model, vocab
        temperature = check_float("temperature", temperature, low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1])
        self.length = check_int("length", length, low=1, high=2000)
        self.temperature = _with_class(widgets.FloatSlider(
            value=temperature, min=TEMPERATURE_RANGE[0], max=TEMPERATURE_RANGE[1], step=TEMPERATURE_STEP,
            description="temperature", readout_format=".2f", **_SLIDER), "rnnlib-temperature")
        self.prompt = _with_class(widgets.Text(value=prompt, description="prompt", continuous_update=False,
                                               layout=widgets.Layout(width="360px")), "rnnlib-prompt")
        self.seed = _seed_box(seed)
        self._watch(self.temperature, self.prompt, self.seed)
        self._assemble(self.temperature, widgets.HBox([self.prompt, self.seed]))
        self._check_start(dict(temperature=round(temperature, 4), prompt=prompt, seed=seed))
        self.update()

    def settings(self) -> dict:
        return dict(temperature=round(self.temperature.value, 4), prompt=self.prompt.value, seed=self.seed.value)

    def compute(self) -> dict:
        s = self.settings()
        samples = [lm.sample(self.model, self.vocab, s["prompt"], self.length, temperature=s["temperature"],
                             seed=(s["seed"] + i) % (SEED_RANGE[1] + 1)) for i in range(SAMPLES)]
        with torch.no_grad():
            logits = self.model(self.vocab.encode(s["prompt"])[None].to(next(self.model.parameters()).device))[0]
        logits = logits[0, -1].cpu()
        probs = {f"T = {s['temperature']:g}": lm.temperature_probs(logits, s["temperature"])}
        if s["temperature"] != 1:
            probs["T = 1 (the model's own)"] = lm.temperature_probs(logits, 1.0)
        return dict(settings=s, samples=samples, probs=probs)

    def draw(self, result: dict) -> Figure:
        prompt = result["settings"]["prompt"]
        samples = {f"seed {result['settings']['seed'] + i}": prompt + text for i, text in enumerate(result["samples"])}
        return lm_plots.plot_next_char(result["probs"], self.vocab.chars, samples=samples,
                                       title=f"after {prompt!r} at temperature {result['settings']['temperature']:g}")

    def describe(self, result: dict) -> str:
        s = result["settings"]
        p = next(iter(result["probs"].values()))
        best = int(p.argmax())
        head = _span("rnnlib-setting", f"temperature {s['temperature']:g} · prompt {s['prompt']!r} · seed {s['seed']}")
        texts = "".join(f'<pre class="rnnlib-sample">{html.escape(s["prompt"] + t)}</pre>' for t in result["samples"])
        return (f"{head}<br>most likely next character {lm_plots.show_char(self.vocab.chars[best])!r} "
                f"with p = {float(p[best]):.2f}{texts}")


class ConnectivityLab(Lab):
    """The connectivity grids of several models on one text, with the row at the slider's position
    drawn below as bars: how much the prediction after that character depends on each earlier one."""

    name = "connectivity lab"
    css = "rnnlib-connectivity-lab"

    def __init__(self, models: dict[str, lm.CharLM], vocab: lm.CharVocab, text: str, *,
                 position: int | None = None) -> None:
        super().__init__()
        if not models:
            raise ValueError("models must map architecture keys ('rnn', 'gru', 'lstm') to trained models")
        ids = vocab.encode(text)
        if len(ids) < 3:
            raise ValueError(f"text must have at least 3 characters, got {len(text)}")
        self.text = text
        self.grids = {arch: lm.connectivity(model, ids) for arch, model in models.items()}
        last = len(text) - 2
        position = last if position is None else check_int("position", position, low=0, high=last)
        self.position = _with_class(widgets.IntSlider(value=position, min=0, max=last, description="position t",
                                                      **_SLIDER), "rnnlib-position")
        self._watch(self.position)
        self._assemble(self.position)
        self._check_start(dict(position=position))
        self.update()

    def settings(self) -> dict:
        return dict(position=self.position.value)

    def compute(self) -> dict:
        t = self.position.value
        return dict(position=t, rows={arch: grid[t, : t + 1] for arch, grid in self.grids.items()})

    def draw(self, result: dict) -> Figure:
        return lm_plots.plot_connectivity(self.grids, self.text, position=result["position"])

    def describe(self, result: dict) -> str:
        t = result["position"]
        head = _span("rnnlib-setting", f"position {t}: after {self.text[max(0, t - 20):t + 1]!r}, "
                                       f"predicting {self.text[t + 1]!r}")
        reach = []
        for arch, row in result["rows"].items():
            far = int((row >= 0.01 * row.max()).nonzero().min()) if row.max() > 0 else t
            reach.append(f"{display_name(arch)}: inputs within 1 % of the strongest reach back {t - far} characters")
        return head + "<br>" + "<br>".join(html.escape(r) for r in reach)


def temperature_lab(model: lm.CharLM, vocab: lm.CharVocab, **settings) -> TemperatureLab:
    """The temperature lab for a trained model (see :class:`TemperatureLab`); a cell ending with this call shows it."""
    return TemperatureLab(model, vocab, **settings)


def connectivity_lab(models: dict[str, lm.CharLM], vocab: lm.CharVocab, text: str, **settings) -> ConnectivityLab:
    """The connectivity lab (see :class:`ConnectivityLab`); a cell ending with this call shows it."""
    return ConnectivityLab(models, vocab, text, **settings)


__all__ = ["ConnectivityLab", "TemperatureLab", "connectivity_lab", "temperature_lab"]
