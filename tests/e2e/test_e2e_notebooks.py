"""The course notebooks in JupyterLab, driven as a learner drives them: Run All Cells, then move each
rnnlib lab's controls and check that its plot is redrawn and its readout names the new setting.

Labs are found by the CSS classes documented in rnnlib/widgets.py: every lab a notebook shows is
exercised (``LAB_STEPS``). Timings (release of a control → new image) go to the terminal summary.
"""

import math
import re

import nbformat
import pytest
from conftest import NOTEBOOKS, record_latency
from labdriver import (
    ImageWatch,
    click_button,
    enter_text,
    press_slider_keys,
    readout,
    set_checkbox,
    type_into_readout,
    wait_for_text,
)

from rnnlib.labs import EXAMPLE_SENTENCES

pytestmark = pytest.mark.timeout(600)

GRADIENT_FLOW, CLIPPING, GATE = "rnnlib-gradient-flow-lab", "rnnlib-clipping-lab", "rnnlib-gate-lab"
# how a notebook's code shows each lab (widgets.py: gradient_flow_lab() or GradientFlowLab(), ...)
LAB_CALLS = {GRADIENT_FLOW: ("gradient_flow_lab(", "GradientFlowLab("),
             CLIPPING: ("clipping_lab(", "ClippingLab("),
             GATE: ("gate_lab(", "GateLab(")}
# the labs each notebook must show (rnnlib issue 4); other labs found in its code are exercised too
REQUIRED = {"01_vanilla_rnn.ipynb": {GRADIENT_FLOW, CLIPPING}}
COURSE = ["01_vanilla_rnn.ipynb", "02_gru.ipynb", "03_lstm.ipynb", "05_comparison.ipynb"]


def labs_in(path) -> set[str]:
    """The lab kinds (CSS classes) that the notebook's code cells create."""
    code = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    return {kind for kind, calls in LAB_CALLS.items() if any(call in code for call in calls)}


def setting(lab):
    """The readout's span naming the settings the figure was drawn with."""
    return lab.locator(".rnnlib-readout .rnnlib-setting")


def other(value: float, preferred: float, fallback: float) -> float:
    return preferred if value != preferred else fallback


def gradient_flow_steps(notebook, lab, watch) -> None:
    """Hidden size (typed), sequence length (three arrow presses), clipping on, max_norm (typed)."""
    hidden = lab.locator(".rnnlib-hidden")
    new_hidden = int(other(int(readout(hidden)), 128, 32))
    notebook.change(watch, f"hidden size {new_hidden}", lambda: type_into_readout(hidden, new_hidden))
    assert readout(hidden) == str(new_hidden)
    wait_for_text(setting(lab), f"H={new_hidden},")

    seq_len = lab.locator(".rnnlib-seq-len")
    before = int(readout(seq_len))
    key, sign = ("ArrowRight", 1) if before + 15 <= 200 else ("ArrowLeft", -1)
    notebook.change(watch, f"sequence length {key} x3", lambda: press_slider_keys(seq_len, key, 3))
    new_len = int(readout(seq_len))
    assert new_len == before + sign * 15  # step 5, one change per key press
    wait_for_text(setting(lab), f"T={new_len}")

    clip, max_norm = lab.locator(".rnnlib-clip"), lab.locator(".rnnlib-max-norm")
    if not clip.locator("input").is_checked():
        notebook.change(watch, "clip gradients on", lambda: set_checkbox(clip, True))
        wait_for_text(setting(lab), f"clip {float(readout(max_norm)):.3g}")
    new_norm = other(float(readout(max_norm)), 10.0, 0.1)
    notebook.change(watch, f"max_norm {new_norm:g}", lambda: type_into_readout(max_norm, new_norm))
    assert float(readout(max_norm)) == new_norm
    wait_for_text(setting(lab), f"clip {new_norm:.3g}")
    wait_for_text(lab.locator(".rnnlib-readout"), f"clipping at max_norm {new_norm:.3g}")


def clipping_steps(notebook, lab, watch) -> None:
    """max_norm of the clipped run (typed), then the spectral radius (two arrow presses)."""
    max_norm = lab.locator(".rnnlib-max-norm")
    new_norm = other(float(readout(max_norm)), 5.0, 0.5)
    notebook.change(watch, f"clipping max_norm {new_norm:g}", lambda: type_into_readout(max_norm, new_norm))
    assert float(readout(max_norm)) == new_norm
    wait_for_text(lab.locator(".rnnlib-readout"), f"clip at max_norm={new_norm:g}")

    radius = lab.locator(".rnnlib-radius")
    before = float(readout(radius))
    key = "ArrowLeft" if before > 1.0 else "ArrowRight"
    notebook.change(watch, f"spectral radius {key} x2", lambda: press_slider_keys(radius, key, 2))
    new_radius = float(readout(radius))
    assert abs(new_radius - before) == pytest.approx(0.1)
    wait_for_text(setting(lab), f"ρ(W_hh)={new_radius:g},")


def gate_steps(notebook, lab, watch) -> None:
    """Another sentence (typed, Enter), the other architecture, trained on/off."""
    sentence = lab.locator(".rnnlib-sentence")
    current = sentence.locator("input").input_value()
    new_sentence = next(s for s in EXAMPLE_SENTENCES if s != current and len(s.split()) < 8)
    notebook.change(watch, "another sentence", lambda: enter_text(sentence, new_sentence))
    wait_for_text(lab.locator(".rnnlib-readout"), f"“{new_sentence}”")

    arch = lab.locator(".rnnlib-arch")
    new_arch = "LSTM" if setting(lab).inner_text().startswith("GRU") else "GRU"
    notebook.change(watch, f"architecture {new_arch}", lambda: click_button(arch, new_arch))
    wait_for_text(setting(lab), re.compile(rf"^{new_arch},"))

    trained = lab.locator(".rnnlib-trained")
    now_trained = not trained.locator("input").is_checked()
    notebook.change(watch, f"trained {now_trained}", lambda: set_checkbox(trained, now_trained))
    wait_for_text(setting(lab), re.compile(r", trained " if now_trained else r", untrained"))


LAB_STEPS = {GRADIENT_FLOW: gradient_flow_steps, CLIPPING: clipping_steps, GATE: gate_steps}


def exercise_labs(notebook, kinds) -> None:
    """Every rendered lab, in notebook order: wait for its figure, then run its kind's steps."""
    notebook.widget("rnnlib-lab")  # the first one has rendered
    labs = notebook.page.locator(".rnnlib-lab")
    shown = []
    for index in range(labs.count()):
        lab = labs.nth(index)
        kind = next(kind for kind in LAB_STEPS if kind in lab.get_attribute("class").split())
        shown.append(kind)
        lab.scroll_into_view_if_needed()
        lab.locator(".rnnlib-output img").first.wait_for(timeout=120_000)
        notebook.screenshot(f"{kind} {index} after Run All", lab)
        LAB_STEPS[kind](notebook, lab, ImageWatch(lab))
    assert set(kinds) <= set(shown), f"labs created but not shown: {set(kinds) - set(shown)}"


@pytest.mark.parametrize("name", COURSE)
def test_notebook_labs(open_notebook, name):
    path = NOTEBOOKS / name
    if not path.exists():
        pytest.skip(f"notebooks/{name} does not exist yet")
    kinds = labs_in(path)
    missing = REQUIRED.get(name, set()) - kinds
    assert not missing, f"{name} shows no {sorted(missing)}"
    if not kinds:
        pytest.skip(f"{name} shows no rnnlib lab")
    notebook = open_notebook(name)
    notebook.run_all()
    notebook.assert_no_problems()
    exercise_labs(notebook, kinds)
    # every control change's latency (release → final image) is recorded for the benchmark's reader
    figures = {timing.step: timing.final_image_s for timing in notebook.timings}
    assert figures and record_latency(f"test_notebook_labs[{name}]", figures)[f"test_notebook_labs[{name}]"] == figures
    assert all(math.isfinite(seconds) and seconds >= 0 for seconds in figures.values())
    notebook.assert_no_problems()


def test_gate_lab_is_in_the_course():
    """The gate lab is tested in whichever of the GRU/LSTM notebooks shows it; one of them must."""
    names = ("02_gru.ipynb", "03_lstm.ipynb")
    if not all((NOTEBOOKS / name).exists() for name in names):
        pytest.skip("notebooks/02_gru.ipynb or 03_lstm.ipynb does not exist yet")
    assert any(GATE in labs_in(NOTEBOOKS / name) for name in names), f"no gate lab in {names}"

