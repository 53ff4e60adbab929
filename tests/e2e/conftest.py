"""Fixtures for the browser tests: one JupyterLab server and one headless Chromium per session, a
fresh browser tab per test, screenshots under test-output/e2e/, timings in the terminal summary.

Needs Debian's Chromium (/usr/bin/chromium, or $RNNLIB_CHROMIUM) and the Python package playwright
(`pip install -e .[browser]`); browsers are never downloaded. Without them the tests are skipped,
unless RNNLIB_E2E_REQUIRED=1 (set by `make test-browser`, hence CI): then they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import nbformat
import pytest
from labdriver import CHROMIUM, CHROMIUM_ARGS, LabServer, NotebookPage, StepTiming

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
OUTPUT = ROOT / "test-output" / "e2e"
FIXTURE, BROKEN = "e2e_fixture.ipynb", "e2e_broken.ipynb"
DRAG = "e2e_gradient_flow_drag.ipynb"  # the gradient-flow lab alone, for the drag test
#: the latency figures the browser tests measured, by test: written after every test that measures one
LATENCY = OUTPUT / "latency.json"
# for the terminal summary: (test, timing) of every control change, (test, notebook, seconds) of every Run All
TIMINGS: list[tuple[str, StepTiming]] = []
RUN_ALL: list[tuple[str, str, float]] = []
BLOCKED: set[str] = set()  # requests to other hosts, refused (tests are hermetic)

FIXTURE_SOURCE = '''\
%matplotlib inline
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display


def draw(frequency):
    {draw_fault}x = np.linspace(0, 2 * np.pi, 400)
    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.plot(x, np.sin(frequency * x))
    ax.set(xlim=(0, 2 * np.pi), ylim=(-1.1, 1.1), xlabel="x (rad)", ylabel="sin(frequency · x)")
    plt.show()


def show(change):
    {show_fault}readout.value = f"frequency = {{change['new']}}"


frequency = widgets.IntSlider(value=2, min=1, max=10, description="frequency", continuous_update=False)
readout = widgets.Label(f"frequency = {{frequency.value}}")
readout.add_class("e2e-readout")
plot = widgets.interactive_output(draw, {{"frequency": frequency}})
frequency.observe(show, names="value")
lab = widgets.VBox([frequency, readout, plot])
lab.add_class("e2e-lab")
display(lab)
'''


def write_fixture_notebook(path: Path, broken: bool = False) -> None:
    """The harness's own tiny lab: an IntSlider, a Label readout, a matplotlib plot redrawn by
    ``interactive_output``, after a cell tagged ``raises-exception``. ``broken=True``: both callbacks
    raise after the first change, and a last cell shows a view of a widget model that does not exist."""
    draw_fault = 'if frequency != 2:\n        raise RuntimeError("deliberately broken draw")\n    '
    show_fault = 'if change["new"] != 2:\n        raise RuntimeError("deliberately broken observer")\n    '
    source = FIXTURE_SOURCE.format(draw_fault=draw_fault if broken else "",
                                   show_fault=show_fault if broken else "")
    # a cell meant to raise (tag honoured by nbval, nbclient and JupyterLab): its traceback is no problem
    expected_error = nbformat.v4.new_code_cell('int("seven")  # a ValueError, on purpose',
                                               metadata={"tags": ["raises-exception"]})
    cells = [expected_error, nbformat.v4.new_code_cell(source)]
    if broken:  # a view of a widget model that does not exist: JupyterLab says "Error displaying widget"
        cells.append(nbformat.v4.new_code_cell(
            "from IPython.display import display\n\n"
            'view = {"model_id": "no-such-model", "version_major": 2, "version_minor": 0}\n'
            'display({"application/vnd.jupyter.widget-view+json": view}, raw=True)'))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def write_drag_notebook(path: Path) -> None:
    """The gradient-flow lab at the size the course shows it, with one torch thread (on a shared
    machine a second thread waits for a busy core)."""
    source = ("import torch\n\ntorch.set_num_threads(1)\n\n"
              "from rnnlib.widgets import gradient_flow_lab\n\ngradient_flow_lab()")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def record_latency(test: str, figures: dict[str, float]) -> dict:
    """Add ``figures`` (name → seconds or rate) under ``test`` to :data:`LATENCY`; returns the file's content."""
    LATENCY.parent.mkdir(parents=True, exist_ok=True)
    recorded = json.loads(LATENCY.read_text()) if LATENCY.exists() else {}
    recorded[test] = figures
    LATENCY.write_text(json.dumps(recorded, indent=1, sort_keys=True))
    return json.loads(LATENCY.read_text())


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install -e '.[browser]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """JupyterLab on a temporary copy of notebooks/ plus the fixture notebooks; always stopped."""
    missing = _missing()
    if missing:
        if os.environ.get("RNNLIB_E2E_REQUIRED") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    root.mkdir(exist_ok=True)
    write_fixture_notebook(root / FIXTURE)
    write_fixture_notebook(root / BROKEN, broken=True)
    write_drag_notebook(root / DRAG)
    jupyter = Path(sys.executable).with_name("jupyter")
    # A CI runner that gives up sends SIGTERM: turn it into KeyboardInterrupt, which pytest answers by
    # running the teardowns, so the server is stopped then too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with LabServer(jupyter, root, base / "state", base / "server.log") as server:
            yield server
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def browser(lab_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_notebook(request, browser, lab_server):
    """``open_notebook(name)`` → a NotebookPage in a fresh browser context, kernel idle.

    At the end of the test: fails on any problem the test did not already report, closes the tab and
    shuts the notebook's kernel down (two cores: idle torch kernels must not pile up).
    """
    shots = OUTPUT / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    opened: list[tuple[object, NotebookPage]] = []

    def open_(name: str, timeout: float = 120.0) -> NotebookPage:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        notebook = NotebookPage(context.new_page(), lab_server, name, shots)
        opened.append((context, notebook))
        notebook.open(timeout)
        return notebook

    yield open_
    problems = []
    try:
        for _, notebook in opened:
            TIMINGS.extend((request.node.name, timing) for timing in notebook.timings)
            request.node.user_properties += [  # in --junitxml reports
                (f"{timing.step}: release → final image [s]", round(timing.final_image_s, 3))
                for timing in notebook.timings]
            RUN_ALL.extend((request.node.name, notebook.name, seconds) for seconds in notebook.run_all_seconds)
            BLOCKED.update(notebook.blocked)
            if not notebook.expect_problems:
                found = notebook.problems()
                if found:
                    notebook.screenshot("problem")
                problems += found
    finally:  # even when the page is gone (interrupted run): close tabs, stop kernels
        for context, _ in opened:
            with contextlib.suppress(Exception):
                context.close()
        lab_server.shutdown_kernels()
    report = getattr(request.node, "rep_call", None)
    if problems and report is not None and report.passed:  # a failed test has already said why
        pytest.fail("\n".join(problems))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a fixture's teardown can see how the test went."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter):
    """Timings measured in the browser: reported, never a pass/fail bound."""
    if not (TIMINGS or RUN_ALL):
        return
    write = terminalreporter.write_line
    terminalreporter.section("browser timings (release of a control → new plot, in the page)")
    for test, notebook, seconds in RUN_ALL:
        write(f"{test}: Run All Cells of {notebook}: {seconds:.1f} s")
    for test, timing in TIMINGS:
        write(f"{test}: {timing.step}: first new image {timing.first_image_s:.2f} s, "
              f"final {timing.final_image_s:.2f} s ({timing.redraws} redraw(s))")
    if BLOCKED:
        write(f"requests to other hosts refused (badges; the tests use no network): {', '.join(sorted(BLOCKED))}")
    write(f"screenshots: {OUTPUT}")
