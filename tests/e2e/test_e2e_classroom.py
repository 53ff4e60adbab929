"""The classroom page as a class sees it: notebooks/classroom.ipynb served by Voilà on a random loopback
port, opened in headless Chromium at 1280×720 (a projector) in presenter mode.

Asserts that no code cell, editor or prompt is visible; opens every tab, waits for its lab's figure,
moves one control and sees the figure change; fails on JavaScript console errors, Python tracebacks,
exceptions raised in widget callbacks and "Error displaying widget". Requests to other hosts (Voilà's
CDN assets) are refused, as on a machine without network, and only their own "failed to load" errors
are tolerated. Screenshots of the whole viewport per lab: test-output/e2e/test_classroom_page/.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import NOTEBOOKS, OUTPUT, ROOT, _missing
from labdriver import CHROMIUM, CHROMIUM_ARGS, ImageWatch, LabServer, NotebookPage, press_slider_keys, set_checkbox

pytestmark = pytest.mark.timeout(900)
PAGE = "classroom.ipynb"
VIEWPORT = {"width": 1280, "height": 720}


class VoilaServer(LabServer):
    """``voila notebooks/classroom.ipynb`` on 127.0.0.1 with a random free port and token; stopped as
    the JupyterLab server is (its own process group, kernels collected first)."""

    def start(self, timeout: float = 120.0) -> None:
        voila = Path(sys.executable).with_name("voila")
        command = [str(voila), "--no-browser", "--Voila.ip=127.0.0.1", f"--port={self.port}",
                   f"--token={self.token}", str(self.root_dir / PAGE)]
        log = open(self.log_path, "w")  # noqa: SIM115 - the server writes to it until stop()
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                                        cwd=self.root_dir, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # a GET would render the page (a kernel): the port is enough
            if self.process.poll() is not None:
                raise RuntimeError(f"voila exited with {self.process.returncode}:\n{self.log_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"voila did not listen within {timeout} s:\n{self.log_text()}")


class VoilaPage(NotebookPage):
    """The page in one browser tab; problems are searched in the whole page (Voilà has no cells)."""

    def open(self, timeout: float = 180.0, **query: str) -> None:
        self._log_start = len(self.server.log_text())
        # Voilà streams the page while the notebook runs, and its CDN requests never finish offline
        self.page.goto(self.server.url("/", **query), wait_until="domcontentloaded", timeout=timeout * 1000)
        self.page.locator(".rnnlib-classroom").wait_for(timeout=timeout * 1000)

    def wait_kernel_idle(self, timeout: float = 60.0) -> None:
        """Voilà shows no kernel status: the image watch waits until the figure settles instead."""

    def problems(self) -> list[str]:
        text = self.page.evaluate("() => document.body.innerText")
        found = self.console_errors + self.callback_errors
        if "Error displaying widget" in text:
            found.append("the page says 'Error displaying widget'")
        if "Traceback (most recent call last)" in text or re.search(r"\w+Error: ", text):
            found.append(f"the page shows an error: {text[-1500:]}")
        log = self.server.log_text()[self._log_start:]
        if "Traceback (most recent call last)" in log:
            found.append("kernel/server log traceback:\n" + log[log.index("Traceback"):][:2000])
        return found


@pytest.fixture
def voila_page(request, tmp_path):
    missing = _missing()
    if missing:
        if __import__("os").environ.get("RNNLIB_E2E_REQUIRED") == "1":
            pytest.fail(f"browser tests required but {missing}")
        pytest.skip(missing)
    if not (NOTEBOOKS / PAGE).exists():
        pytest.fail(f"notebooks/{PAGE} is missing")
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOKS / PAGE, root / PAGE)
    if (ROOT / "data").is_dir():
        shutil.copytree(ROOT / "data", tmp_path / "data")
    shots = OUTPUT / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    from playwright.sync_api import sync_playwright

    with VoilaServer(Path(sys.executable).with_name("jupyter"), root, tmp_path / "state",
                     tmp_path / "voila.log") as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            yield VoilaPage(context.new_page(), server, PAGE, shots)
        finally:
            browser.close()


def change_a_control(lab, kind: str) -> None:
    """One control per lab, the one a teacher would reach for first."""
    if kind == "rnnlib-gradient-flow-lab":
        press_slider_keys(lab.locator(".rnnlib-seq-len"), "ArrowRight")
    elif kind == "rnnlib-clipping-lab":
        press_slider_keys(lab.locator(".rnnlib-max-norm"), "ArrowRight")
    elif kind == "rnnlib-gate-lab":
        trained = lab.locator(".rnnlib-trained")
        set_checkbox(trained, not trained.locator("input").is_checked())
    else:  # a lab this test does not know yet: its first enabled slider, else its first checkbox
        sliders = lab.locator(".widget-slider:not(.mod-disabled)").filter(
            has=lab.page.locator(".noUi-target:not([disabled])"))
        if sliders.count():
            press_slider_keys(sliders.first, "ArrowRight")
        else:
            box = lab.locator(".widget-checkbox").first
            set_checkbox(box, not box.locator("input").is_checked())


def test_classroom_page(voila_page):
    page = voila_page
    page.open(presenter="1")
    root = page.page.locator(".rnnlib-classroom")
    # the URL's ?presenter=1 reached the kernel: presenter mode is on, and its switch says so
    assert "rnnlib-presenter" in root.get_attribute("class").split()
    assert "mod-active" in page.page.locator(".rnnlib-presenter-toggle").get_attribute("class")

    # no code: Voilà strips the cell's source; no editor, no prompt, no source text on the page
    hidden = page.page.evaluate("""() => [...document.querySelectorAll(
            '.jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt, .jp-InputArea-prompt, .jp-OutputArea-prompt,'
            + ' .CodeMirror, .cm-editor, .jp-CodeMirrorEditor')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0
                     && (e.innerText || '').trim() !== '')
        .map(e => e.className + ': ' + e.innerText.slice(0, 80))""")
    assert not hidden, f"code or prompts are visible: {hidden}"
    text = page.page.evaluate("() => document.body.innerText")
    for source in ("import sys", "from rnnlib", "page()", "In [", "Out["):
        assert source not in text, f"the page shows {source!r}"

    tabs = page.page.locator(".rnnlib-classroom-tabs .lm-TabBar-tab")
    titles = [tabs.nth(i).inner_text().strip() for i in range(tabs.count())]
    assert titles[:3] == ["Gradient flow", "Clipping", "Gates"], titles
    sections = page.page.locator(".rnnlib-classroom-section")
    kinds = []
    for index, title in enumerate(titles):
        tabs.nth(index).click()
        section = sections.nth(index)
        lab = section.locator(".rnnlib-lab").first
        lab.locator(".rnnlib-output img").first.wait_for(timeout=300_000)
        assert section.locator(".rnnlib-classroom-about").inner_text().strip()
        assert section.locator(".rnnlib-classroom-try").inner_text().startswith("What to try:")
        kind = next(c for c in lab.get_attribute("class").split() if c.endswith("-lab") and c != "rnnlib-lab")
        kinds.append(kind)
        page.page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(f"{title} presenter 1280x720")
        watch = ImageWatch(lab)
        page.change(watch, f"{title}: a control moved", lambda lab=lab, kind=kind: change_a_control(lab, kind),
                    timeout=300)
        # the figure's bottom at the bottom of the screen: the readout above it, the x axis (words) in view
        lab.locator(".rnnlib-output img").first.evaluate("img => img.scrollIntoView({block: 'end'})")
        page.screenshot(f"{title} presenter 1280x720 figure after the change")
        page.assert_no_problems()
    assert kinds[:3] == ["rnnlib-gradient-flow-lab", "rnnlib-clipping-lab", "rnnlib-gate-lab"], kinds

    # the switch turns presenter mode off again (and the page still has no problem)
    page.page.locator(".rnnlib-presenter-toggle").click()
    page.page.wait_for_function("() => !document.querySelector('.rnnlib-classroom.rnnlib-presenter')")
    page.page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot("presenter mode off 1280x720")
    page.assert_no_problems()
