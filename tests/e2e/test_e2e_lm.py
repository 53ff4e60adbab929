"""Notebook 06 in JupyterLab: Run All Cells, then drive its two labs (rnnlib/lm_widgets.py) as a learner
does — the temperature slider (arrow keys, then a typed value) must redraw the figure and bring new samples,
the connectivity lab's position slider must redraw for the new position."""

import re

import pytest
from conftest import NOTEBOOKS
from labdriver import ImageWatch, press_slider_keys, readout, type_into_readout, wait_for_text

pytestmark = pytest.mark.timeout(900)

NAME = "06_char_lm.ipynb"


def samples(lab) -> list[str]:
    return [s.inner_text() for s in lab.locator(".rnnlib-readout .rnnlib-sample").all()]


def test_temperature_and_connectivity_labs(open_notebook):
    if not (NOTEBOOKS / NAME).exists():
        pytest.skip(f"notebooks/{NAME} does not exist")
    notebook = open_notebook(NAME)
    notebook.run_all(timeout=600)
    notebook.assert_no_problems()

    lab = notebook.widget("rnnlib-temperature-lab")
    lab.scroll_into_view_if_needed()
    lab.locator(".rnnlib-output img").first.wait_for(timeout=120_000)
    watch = ImageWatch(lab)
    slider = lab.locator(".rnnlib-temperature")
    before_value, before_samples = float(readout(slider)), samples(lab)
    assert len(before_samples) == 2 and all(s.strip() for s in before_samples)

    notebook.change(watch, "temperature ArrowRight x2", lambda: press_slider_keys(slider, "ArrowRight", 2))
    new_value = float(readout(slider))
    assert new_value == pytest.approx(before_value + 0.1)  # step 0.05, one change per key press
    wait_for_text(lab.locator(".rnnlib-setting"), f"temperature {new_value:g} ", timeout=120)
    assert samples(lab) != before_samples

    notebook.change(watch, "temperature 1.5 (typed)", lambda: type_into_readout(slider, 1.5))
    wait_for_text(lab.locator(".rnnlib-setting"), "temperature 1.5 ", timeout=120)

    connectivity = notebook.widget("rnnlib-connectivity-lab")
    connectivity.scroll_into_view_if_needed()
    connectivity.locator(".rnnlib-output img").first.wait_for(timeout=120_000)
    position = connectivity.locator(".rnnlib-position")
    before = int(readout(position))
    notebook.change(ImageWatch(connectivity), "position ArrowLeft x3",
                    lambda: press_slider_keys(position, "ArrowLeft", 3))
    assert int(readout(position)) == before - 3
    # each key press is one change; a redraw already running finishes first, so allow for a slow figure
    wait_for_text(connectivity.locator(".rnnlib-setting"), re.compile(rf"^position {before - 3}:"), timeout=120)
    notebook.assert_no_problems()
