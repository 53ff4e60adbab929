"""Benchmark 3: how long a learner waits after moving a lab control.

Each case builds a lab at its "before" setting (untimed: that primes the labs' caches as a learner's
previous figure would), then sets one control on a running event loop, as a slider release in a kernel
does, and waits until the lab is idle. The lab's debounce (a fixed :data:`rnnlib.widgets.DEBOUNCE_S`
wait for a newer change before a redraw starts) is set to 0 here: it is a chosen delay, not work. Three
times per change, read from the lab's own clock (``lab.seconds``):

* **data**: the :mod:`rnnlib.labs` calls that produce the figures' data (all stages),
* **first image**: from the change to the first new image on screen (data, figure, PNG, readout),
* **last image**: to the complete figure. The clipping lab draws its runs as they train (a partial
  figure after their first 10 steps, then about every :data:`rnnlib.widgets.ClippingLab.PARTIAL_EVERY_S`
  of training); every other lab draws one image, so its first image is its last.

Settings: the labs' defaults, and the largest values the controls allow (the sliders' maxima, which
the widgets take from the ranges :mod:`rnnlib.labs` declares). Targets, on the first image: 0.1 s at
defaults for the gradient-flow and gate labs (the figure follows a dragged slider), 0.3 s for the
clipping lab at defaults (every control trains unless its runs were trained that far before: runs are
cached and continued), 1 s for every lab at its largest setting. The training actions ("train +N
steps", or an architecture change in the gate lab that trains a new model) are reported without a
target: the lab says it is busy while they run.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, field

from rnnlib import labs, widgets

from .timing import Row

SECTION_DATA = "3a. labs: seconds computing the figure's data after a control change"
SECTION_FIRST = "3b. labs: seconds from a control change to the first new image"
SECTION_LAST = "3c. labs: seconds from a control change to the complete figure"
DEFAULT_TARGET_S = 0.1
CLIPPING_DEFAULT_TARGET_S = 0.3
LARGEST_TARGET_S = 1.0


@dataclass
class LatencyCase:
    """Build ``lab`` with ``before`` keyword arguments, then set ``control`` to ``value``
    (``value=None``: click the control, a button). ``prime``: first set ``control`` to this value,
    untimed (so ``value``, the lab's starting value, is a setting it has drawn before)."""

    name: str
    setting: str  # "default", "largest" or "action"
    lab: type
    before: dict = field(default_factory=dict)
    control: str = ""
    value: object = None
    repeats: int | None = None  # fewer repetitions for slow actions
    prime: object = None

    @property
    def target(self) -> float | None:
        if self.setting == "default":
            return CLIPPING_DEFAULT_TARGET_S if self.lab.__name__ == "ClippingLab" else DEFAULT_TARGET_S
        return {"largest": LARGEST_TARGET_S}.get(self.setting)


def latency_cases(quick: bool) -> list[LatencyCase]:
    """The measured control changes. The largest settings are the sliders' maxima, which the widgets
    take from the labs' declared ranges; ``quick`` keeps two small cases (a smoke run)."""
    from rnnlib.widgets import ClippingLab, GateLab, GradientFlowLab

    max_hidden, max_len = labs.HIDDEN_RANGE[1], labs.SEQ_LEN_RANGE[1]
    sentences = labs.EXAMPLE_SENTENCES
    if quick:
        return [
            LatencyCase("gradient flow: hidden size", "default", GradientFlowLab, dict(hidden_dim=8), "hidden", 12),
            LatencyCase("clipping: max_norm", "default", ClippingLab, dict(steps=labs.CLIP_STEPS_RANGE[0]),
                        "max_norm", 10.0),
        ]
    longest = " ".join(" ".join(sentences).split()[: labs.MAX_SENTENCE_WORDS])
    train = 100  # the lab's default "train +100 steps" button
    return [
        LatencyCase("gradient flow: hidden size", "default", GradientFlowLab, {}, "hidden", 68),
        LatencyCase("gradient flow: sequence length", "default", GradientFlowLab, {}, "seq_len", 55),
        LatencyCase("clipping: max_norm", "default", ClippingLab, {}, "max_norm", 10.0),
        LatencyCase("clipping: spectral radius", "default", ClippingLab, {}, "radius", 2.45),
        LatencyCase("clipping: steps", "default", ClippingLab, {}, "steps", 60),
        LatencyCase("clipping: max_norm back to a setting run before", "default", ClippingLab, {}, "max_norm", 1.0,
                    prime=10.0),
        LatencyCase("gates: sentence", "default", GateLab, {}, "sentence", sentences[1]),
        *[
            LatencyCase(f"gradient flow {arch}: hidden size", "largest", GradientFlowLab,
                        dict(arch=arch, hidden_dim=max_hidden - 4, seq_len=max_len), "hidden", max_hidden)
            for arch in labs.ARCHS
        ],
        LatencyCase("clipping: spectral radius", "largest", ClippingLab, dict(steps=labs.CLIP_STEPS_RANGE[1]),
                    "radius", 2.45),
        LatencyCase("gates: sentence", "largest", GateLab, {}, "sentence", longest),
        LatencyCase(f"gradient flow: train +{train} steps", "action", GradientFlowLab,
                    dict(train_increment=train), "train_button"),
        LatencyCase(f"gradient flow lstm H={max_hidden} T={max_len}: train +{train} steps", "action",
                    GradientFlowLab, dict(arch="lstm", hidden_dim=max_hidden, seq_len=max_len, train_increment=train),
                    "train_button", repeats=1),
        LatencyCase("gates: architecture (trains a new model)", "action", GateLab, {}, "arch", "gru"),
    ]


def measure_change(case: LatencyCase) -> tuple[float, float, float]:
    """Seconds computing, to the first new image and to the last one, for one control change."""
    labs.clear_caches()
    lab = case.lab(**case.before)
    control = getattr(lab, case.control)
    if case.prime is not None:
        control.value = case.prime  # no event loop yet: drawn at once
    redraws = lab.redraws

    async def change() -> None:
        if case.value is None:
            control.click()
        else:
            control.value = case.value
        while not lab.idle:
            await asyncio.sleep(0.001)

    debounce, widgets.DEBOUNCE_S = widgets.DEBOUNCE_S, 0.0
    try:
        asyncio.run(change())
    finally:
        widgets.DEBOUNCE_S = debounce
    if lab.redraws <= redraws or (case.value is not None and control.value != case.value):
        raise RuntimeError(f"{case.name}: setting {case.control} to {case.value!r} did not redraw the lab")
    return lab.seconds["data"], lab.seconds["first image"], lab.seconds["rendered"]


def widget_latency(*, quick: bool, repeats: int) -> list[Row]:
    """Rows for the three sections: the median over ``repeats`` changes (cases taken in turn)."""
    cases = latency_cases(quick)
    times: dict[str, list[tuple[float, float, float]]] = {c.name + c.setting: [] for c in cases}
    for round_ in range(repeats):
        for case in cases if round_ % 2 == 0 else reversed(cases):
            if case.repeats is not None and round_ >= case.repeats:
                continue
            times[case.name + case.setting].append(measure_change(case))
    rows = []
    for index, section in enumerate((SECTION_DATA, SECTION_FIRST, SECTION_LAST)):
        for case in cases:
            measured = [t[index] for t in times[case.name + case.setting]]
            shown = ", ".join(f"{k}={_short(v)}" for k, v in case.before.items()) or "defaults"
            change = "click" if case.value is None else f"→ {_short(case.value)}"
            rows.append(Row(section, f"{case.name} ({case.setting})", statistics.median(measured), unit="s",
                            target=case.target if section == SECTION_FIRST else None,
                            detail=f"{case.lab.__name__}({shown}), {case.control} {change}; "
                                   f"{len(measured)} changes"))
    return rows


def _short(value) -> str:
    """A setting as the table shows it: numbers to 3 digits, long sentences as a word count."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, str) and len(value.split()) > 6:
        return f"a {len(value.split())}-word sentence"
    return repr(value) if isinstance(value, str) else str(value)
