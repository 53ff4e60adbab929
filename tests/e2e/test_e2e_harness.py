"""The harness proven on its own tiny lab (tests/e2e/conftest.py writes it): a slider moved by
keyboard, by typing into its readout and by dragging redraws the plot; a broken callback, a traceback,
"Error displaying widget" and a JS console error are each caught, a raises-exception cell is not."""

import pytest
from conftest import BROKEN, FIXTURE
from labdriver import ImageWatch, control, drag_slider, press_slider_keys, readout, type_into_readout

pytestmark = pytest.mark.timeout(300)


def open_fixture_lab(open_notebook, name):
    notebook = open_notebook(name)
    notebook.run_all()
    lab = notebook.widget("e2e-lab")
    lab.locator(".widget-output img").first.wait_for()
    notebook.screenshot("after Run All", lab)
    return notebook, lab, control(lab, "frequency")


def test_slider_redraws_plot(open_notebook):
    notebook, lab, frequency = open_fixture_lab(open_notebook, FIXTURE)
    # the first cell, tagged raises-exception, shows its traceback; that is not counted as a problem
    expected_error = notebook.page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-OutputArea-output")
    assert "Traceback (most recent call last)" in expected_error.text_content()
    label = lab.locator(".e2e-readout")
    watch = ImageWatch(lab)
    seen = {watch.state()}
    steps = [
        ("arrow key right", lambda: press_slider_keys(frequency, "ArrowRight"), "3"),
        ("type 7 into readout", lambda: type_into_readout(frequency, 7), "7"),
        ("drag to the left end", lambda: drag_slider(frequency, 0.0), "1"),
    ]
    for step, action, expected in steps:
        notebook.change(watch, step, action)
        assert readout(frequency) == expected
        assert label.inner_text() == f"frequency = {expected}"
        assert watch.state() not in seen, f"{step}: the plot shows an earlier picture"
        seen.add(watch.state())
    notebook.assert_no_problems()


def test_broken_callback_is_caught(open_notebook):
    """The checks can fail: a callback that raises leaves the plot unchanged and is reported (from the
    kernel's messages, and as a traceback in the widget's output); so is "Error displaying widget"."""
    notebook, lab, frequency = open_fixture_lab(open_notebook, BROKEN)
    notebook.expect_problems = True
    watch = ImageWatch(lab)
    before = watch.state()
    type_into_readout(frequency, 5)
    with pytest.raises(Exception, match="Timeout"):
        watch.wait_changed(before, timeout=5)
    problems = notebook.problems()
    assert "widget callback raised RuntimeError: deliberately broken draw" in problems
    assert "widget callback raised RuntimeError: deliberately broken observer" in problems
    in_output = [problem for problem in problems if problem.startswith("cell 1: Python traceback")]
    assert in_output and "deliberately broken draw" in in_output[0]
    assert any(problem.startswith("cell 2: Error displaying widget") for problem in problems)


def test_console_error_is_caught(open_notebook):
    notebook = open_notebook(FIXTURE)
    notebook.expect_problems = True
    notebook.page.evaluate("console.error('deliberate console error')")
    assert any("deliberate console error" in problem for problem in notebook.problems())
