"""Drive JupyterLab in headless Chromium the way a learner does: open a notebook, run all cells,
move a widget's controls, and watch its plot redraw.

Nothing here knows about rnnlib: the test files say which widget (CSS class) and which controls.
Selectors were checked against JupyterLab 4.6 and ipywidgets 8.1 (see notebook-conventions.md).

- ``LabServer``: ``jupyter lab`` on 127.0.0.1 with a random free port and token, in its own process
  group, with its own config/settings/runtime folders; ``stop()`` always leaves no process behind.
- ``NotebookPage``: one notebook in one browser tab; ``problems()`` lists JavaScript console errors,
  "Error displaying widget" and Python tracebacks in cell outputs (cells tagged raises-exception
  excepted), exceptions raised in widget callbacks (read from the kernel's websocket messages) and
  tracebacks in the server's log. Requests to any other host than the server are refused.
- ``ImageWatch``: records, inside the page, every change of the images under a widget, with
  ``performance.now()`` time stamps, so the time from releasing a control to the new plot is
  measured in the browser itself rather than by Python polling.
- Control helpers: ``control``, ``readout``, ``type_into_readout``, ``press_slider_keys``,
  ``drag_slider``, ``set_checkbox``, ``click_button``, ``enter_text``, ``wait_for_text``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil

CHROMIUM = os.environ.get("RNNLIB_CHROMIUM", "/usr/bin/chromium")
# Root needs --no-sandbox; /dev/shm is small in containers; no GPU here. The background-networking
# flags stop Chromium from calling Google's services: this machine's closed network refuses them
# and Chromium logs the failures.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KERNEL_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
# JupyterLab's user settings for the test server: no "Jupyter news?" pop-up over the notebook.
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}
# Records when the learner last released a key or the mouse (performance.now(), page clock).
RELEASE_TRACKER = """
window.__e2eRelease = null;
for (const type of ['keyup', 'pointerup', 'mouseup']) {
  document.addEventListener(type, () => { window.__e2eRelease = performance.now(); }, true);
}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """``jupyter lab`` serving ``root_dir``; use as a context manager so it is always stopped."""

    def __init__(self, jupyter: Path, root_dir: Path, state_dir: Path, log_path: Path):
        self.jupyter, self.root_dir, self.state_dir, self.log_path = jupyter, root_dir, state_dir, log_path
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> LabServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # .ci/run exports MPLBACKEND=Agg for headless tests; a kernel that inherits it would not draw
        # inline figures, which a learner's kernel does.
        env.pop("MPLBACKEND", None)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                     "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
            folder = self.state_dir / name.lower()
            folder.mkdir(parents=True, exist_ok=True)
            env[name] = str(folder)
        env["JUPYTER_DATA_DIR"] = str(self.state_dir / "data")  # notebook-signing key, not the user's
        return env

    def start(self, timeout: float = 120.0) -> None:
        env = self._env()
        for name, settings in LAB_SETTINGS.items():
            path = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        command = [
            str(self.jupyter), "lab", "--no-browser", "--allow-root",
            "--ip", "127.0.0.1", "--port", str(self.port), f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=None",  # no request to the news feed (no network here)
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        log = open(self.log_path, "w")  # noqa: SIM115 - the server writes to it until stop()
        # Own process group: stop() can end the server and everything it started, whatever happens.
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                        cwd=self.root_dir, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(self.url("/api/status"), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.log_text()}")

    def url(self, path: str, **query: str) -> str:
        params = "&".join(f"{key}={value}" for key, value in {"token": self.token, **query}.items())
        return f"{self.base}{path}?{params}"

    def stop(self, grace: float = 15.0) -> None:
        """Ask the server to shut down (it stops its kernels), then end whatever is left of it.

        Kernels run in their own sessions (jupyter_client starts them so), so killing the server's
        process group alone could leave them running: their pids are collected first.
        """
        if self.process is None:
            return
        try:
            family = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        if self.process.poll() is None:
            try:
                request = urllib.request.Request(self.url("/api/shutdown"), method="POST")
                urllib.request.urlopen(request, timeout=5).close()
            except (urllib.error.URLError, OSError):
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(5)
                break
            except subprocess.TimeoutExpired:
                continue
        for child in family:  # each one by its pid: only what this server started
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(family, timeout=5)
        self.process.wait()
        self.process = None

    def shutdown_kernels(self) -> None:
        """End every notebook session (and so its kernel) through the REST API."""
        try:
            with urllib.request.urlopen(self.url("/api/sessions"), timeout=10) as response:
                sessions = json.load(response)
            for session in sessions:
                request = urllib.request.Request(self.url(f"/api/sessions/{session['id']}"), method="DELETE")
                urllib.request.urlopen(request, timeout=30).close()
        except (urllib.error.URLError, OSError):
            pass  # the server is gone already (stop() still ends whatever is left)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""



def kernel_message(payload: str | bytes) -> dict | None:
    """A kernel message from one websocket frame, in either protocol JupyterLab may speak: JSON text
    (legacy) or ``v1.kernel.websocket.jupyter.org`` binary (8-byte count, 8-byte little-endian
    offsets, then channel, header, parent header, metadata, content, buffers)."""
    if isinstance(payload, str):
        message = json.loads(payload)
    else:
        count = int.from_bytes(payload[:8], "little")
        offsets = [int.from_bytes(payload[8 + 8 * i:16 + 8 * i], "little") for i in range(count)]
        parts = [payload[start:end] for start, end in zip(offsets, offsets[1:], strict=False)]
        if len(parts) < 5:
            return None
        names = ("channel", "header", "parent_header", "metadata", "content")
        message = {"channel": parts[0].decode()} | {
            name: json.loads(part) for name, part in zip(names[1:], parts[1:5], strict=True)}
    return message if message.get("channel") == "iopub" else None


@dataclass
class StepTiming:
    """One control change, timed in the page: from release to the first and to the final new image."""

    step: str
    first_image_s: float
    final_image_s: float
    redraws: int


class NotebookPage:
    """One notebook open in one browser tab of JupyterLab."""

    def __init__(self, page, server: LabServer, name: str, shots_dir: Path):
        self.page, self.server, self.name, self.shots_dir = page, server, name, shots_dir
        self.console_errors: list[str] = []
        self.timings: list[StepTiming] = []
        self.run_all_seconds: list[float] = []
        self.expect_problems = False  # a test that breaks things on purpose sets this
        self._shot = 0
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        self.callback_errors: list[str] = []
        page.on("websocket", self._on_websocket)
        # Only the test server is reachable: a request elsewhere (a notebook's Colab/Binder badge) is
        # refused here and noted in `blocked`, whatever the machine's network; Chromium's console
        # error for exactly that refused URL is then expected, not a failure.
        self.blocked: list[str] = []
        page.route(lambda url: not url.startswith(server.base + "/"), self._block)
        page.add_init_script(RELEASE_TRACKER)
        cells = nbformat.read(server.root_dir / name, as_version=4).cells
        # Cells tagged raises-exception are meant to show a traceback (nbval and nbclient honour the tag).
        self.expected_errors = [i for i, cell in enumerate(cells)
                                if "raises-exception" in cell.get("metadata", {}).get("tags", [])]

    def _block(self, route) -> None:
        self.blocked.append(route.request.url)
        route.abort("blockedbyclient")

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and message.location.get("url") in self.blocked:
            return
        self.console_errors.append(f"console.error: {message.text} ({message.location.get('url')})")

    def _on_websocket(self, websocket) -> None:
        if "/api/kernels/" in websocket.url:
            websocket.on("framereceived", self._on_kernel_frame)

    def _on_kernel_frame(self, payload) -> None:
        """Keep the traceback of any exception raised in a widget callback.

        Output of a callback (an observer, or an ``interactive_output`` function) answers a
        ``comm_msg``; JupyterLab puts what is not inside an Output widget into its log console,
        not into the notebook, so the DOM alone would miss it. Every kernel message passes here.
        """
        message = kernel_message(payload)
        if not message or message["parent_header"].get("msg_type") != "comm_msg":
            return
        kind, content = message["header"].get("msg_type"), message["content"]
        if kind == "error":
            self.callback_errors.append(f"widget callback raised {content.get('ename')}: {content.get('evalue')}")
        elif kind == "stream" and "Traceback (most recent call last)" in content.get("text", ""):
            self.callback_errors.append(f"widget callback traceback: {content['text'][-1500:]}")

    def open(self, timeout: float = 120.0) -> None:
        """Load the notebook (``reset`` drops saved layouts) and wait until its kernel is idle."""
        self._log_start = len(self.server.log_text())  # problems() scans the log from here
        self.page.goto(self.server.url(f"/lab/tree/{self.name}", reset=""), timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
        # The execution indicator says "idle" before a kernel exists; the status bar names the kernel.
        self.page.wait_for_function(
            """(idle) => document.querySelector(idle) && [...document.querySelectorAll(
                   '.jp-StatusBar-TextItem')].some(e => / \\| Idle$/.test(e.textContent.trim()))""",
            arg=KERNEL_IDLE, timeout=timeout * 1000, polling=200)

    def run_all(self, timeout: float = 300.0) -> float:
        """Run → Run All Cells from the menu; wait until every code cell has run. Returns seconds."""
        start = time.monotonic()
        self.page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        self.page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        # Queued cells show [*] at once; the run is over when none does and the kernel is idle.
        self.page.wait_for_function(
            """(idle) => document.querySelector(idle) && ![...document.querySelectorAll(
                   '.jp-CodeCell .jp-InputArea-prompt')].some(p => p.textContent.includes('*'))""",
            arg=KERNEL_IDLE, timeout=timeout * 1000, polling=250)
        seconds = time.monotonic() - start
        self.run_all_seconds.append(seconds)
        not_run = self.page.evaluate(
            """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map((c, i) => [c, i])
                   .filter(([c]) => c.classList.contains('jp-CodeCell'))
                   .filter(([c]) => !/\\[\\d+\\]/.test(c.querySelector('.jp-InputArea-prompt').textContent))
                   .map(([, i]) => i)""")
        assert not not_run, f"{self.name}: cells {not_run} did not run\n" + "\n".join(self.problems())
        return seconds

    def wait_kernel_idle(self, timeout: float = 60.0) -> None:
        self.page.wait_for_selector(KERNEL_IDLE, state="attached", timeout=timeout * 1000)

    def problems(self) -> list[str]:
        """Everything a learner would see as broken: JS errors, widget errors, Python tracebacks."""
        # Playwright delivers page events (console, websocket frames) only while it talks to the
        # page: scan the DOM first, then read what the listeners collected.
        in_outputs = self.page.evaluate(
            """(expected) => {
                 const found = [];
                 document.querySelectorAll('.jp-Notebook .jp-Cell').forEach((cell, i) => {
                   // innermost outputs only: a widget's Output area sits inside the cell's output
                   [...cell.querySelectorAll('.jp-OutputArea-output')]
                       .filter(out => !out.querySelector('.jp-OutputArea-output')).forEach(out => {
                     const text = out.textContent;
                     if (text.includes('Error displaying widget'))
                       found.push(`cell ${i}: ${text.trim().slice(0, 300)}`);
                     else if (!expected.includes(i) && /Traceback \\(most recent call last\\)/.test(text))
                       found.push(`cell ${i}: Python traceback: ${text.trim().slice(-600)}`);
                   });
                 });
                 return found;
               }""",
            self.expected_errors)
        found = self.console_errors + self.callback_errors + in_outputs
        # The server's log holds its own tracebacks and whatever a kernel printed outside a message.
        log = self.server.log_text()[self._log_start:]
        if "Traceback (most recent call last)" in log:
            found.append("kernel/server log traceback:\n" + log[log.index("Traceback"):][:2000])
        return found

    def assert_no_problems(self) -> None:
        problems = self.problems()
        assert not problems, f"{self.name}:\n" + "\n".join(problems)

    def widget(self, css_class: str, timeout: float = 60.0):
        """The (first) widget carrying ``css_class``, scrolled into view once it has rendered."""
        locator = self.page.locator(f".{css_class}").first
        locator.wait_for(state="attached", timeout=timeout * 1000)
        locator.scroll_into_view_if_needed(timeout=timeout * 1000)
        locator.wait_for(state="visible", timeout=timeout * 1000)
        return locator

    def screenshot(self, step: str, locator=None) -> Path:
        """Save a numbered PNG of ``locator`` (or the whole page) for a person to look at."""
        self._shot += 1
        slug = re.sub(r"[^A-Za-z0-9]+", "-", step).strip("-").lower()
        path = self.shots_dir / f"{self._shot:02d}-{slug}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        (locator or self.page).screenshot(path=str(path))
        return path

    def change(self, watch: ImageWatch, step: str, action, timeout: float = 60.0) -> StepTiming:
        """Do ``action()`` (a control change), wait for the plot to change and settle, time it."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        before = watch.state()
        mark = watch.count()
        action()
        start = time.monotonic()
        while True:  # in short waits, so that a callback that raised fails the step at once
            try:
                watch.wait_changed(before, timeout=1.0)
                break
            except PlaywrightTimeout:
                problems = self.problems()
                waited = time.monotonic() - start
                if problems or waited > timeout:
                    self.screenshot(f"{step} failed", watch.root)
                    raise AssertionError(f"{step}: the plot did not change (waited {waited:.1f} s)\n"
                                         + "\n".join(problems)) from None
        self.wait_kernel_idle(timeout)
        watch.wait_settled(timeout=timeout)
        timing = watch.timing(step, since=mark)
        self.timings.append(timing)
        self.screenshot(step, watch.root)
        return timing


class ImageWatch:
    """Every change of the images under ``root`` (a Playwright locator), time-stamped in the page."""

    INSTALL = """(root) => {
      const hash = s => { let h = 2166136261;
        for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
        return (h >>> 0).toString(16) + ':' + s.length; };
      const state = () => [...root.querySelectorAll('img')].map(img => hash(img.src)).join('|');
      const watch = {current: state(), events: []};
      new MutationObserver(() => {
        const now = state();
        if (now !== watch.current) {
          watch.current = now;
          watch.events.push({t: performance.now(), state: now, release: window.__e2eRelease});
        }
      }).observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
      root.__e2eWatch = watch;
    }"""

    def __init__(self, root):
        self.root = root
        root.evaluate(self.INSTALL)

    def state(self) -> str:
        """The images now, as hashes of their ``src`` (empty string: no image)."""
        return self.root.evaluate("root => root.__e2eWatch.current")

    def count(self) -> int:
        return self.root.evaluate("root => root.__e2eWatch.events.length")

    def wait_changed(self, before: str, timeout: float = 60.0) -> None:
        self.root.page.wait_for_function(
            "([root, before]) => root.__e2eWatch.current !== before && root.__e2eWatch.current !== ''",
            arg=[self.root.element_handle(), before], timeout=timeout * 1000, polling=50)

    def wait_settled(self, quiet: float = 0.75, timeout: float = 60.0) -> None:
        """Until no image changed for ``quiet`` seconds (each arrow key press redraws once)."""
        self.root.page.wait_for_function(
            """([root, quiet]) => { const e = root.__e2eWatch.events;
                 return e.length && performance.now() - e[e.length - 1].t > quiet; }""",
            arg=[self.root.element_handle(), quiet * 1000], timeout=timeout * 1000, polling=100)

    def events(self, since: int = 0) -> list[dict]:
        """The image changes recorded since event number ``since``: ``{"t": ms (page clock), ...}``."""
        return self.root.evaluate("root => root.__e2eWatch.events")[since:]

    def timing(self, step: str, since: int) -> StepTiming:
        """Seconds from the last release before the change to the first and the final new image."""
        events, release = self.root.evaluate(
            "root => [root.__e2eWatch.events, window.__e2eRelease]")
        events = events[since:]
        release = release if release is not None else events[0]["t"]
        after = [event for event in events if event["t"] >= release] or events
        return StepTiming(step, (after[0]["t"] - release) / 1000, (after[-1]["t"] - release) / 1000,
                          len(events))


def control(root, description: str, kind: str = "widget-slider"):
    """The ipywidgets control of ``kind`` (a CSS class: widget-slider, widget-dropdown, ...) under
    ``root`` whose description label reads ``description``."""
    label = re.compile(rf"^\s*{re.escape(description)}\s*$")
    return root.locator(f".{kind}").filter(has=root.page.locator(".widget-label", has_text=label)).first


def readout(control) -> str:
    """The text a slider shows beside its track."""
    return control.locator(".widget-readout").inner_text().strip()


def type_into_readout(control, value) -> None:
    """Type ``value`` into a slider's editable readout and press Enter (one change, as on release)."""
    field = control.locator(".widget-readout")
    field.click()
    field.press("Control+A")
    field.press_sequentially(str(value))
    field.press("Enter")


def press_slider_keys(control, key: str = "ArrowRight", times: int = 1) -> None:
    """Focus the slider handle and press ``key`` ``times`` times (each press is one change)."""
    handle = control.locator(".noUi-handle")
    handle.focus()
    for _ in range(times):
        handle.press(key)


def drag_slider(control, fraction: float) -> None:
    """Drag the handle with the mouse to ``fraction`` (0..1) of the track and release it there."""
    page = control.page
    handle = control.locator(".noUi-handle").bounding_box()
    track = control.locator(".noUi-target").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()


def drag_slowly(control, fraction: float, seconds: float = 3.0, moves: int = 30) -> tuple[float, float]:
    """Hold the handle and move it to ``fraction`` (0..1) of the track in ``moves`` even moves over
    ``seconds``, as a hand would; then release. Returns (press, release) in the page clock (ms)."""
    page = control.page
    handle = control.locator(".noUi-handle").bounding_box()
    track = control.locator(".noUi-target").bounding_box()
    x0, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    x1 = track["x"] + fraction * track["width"]
    page.mouse.move(x0, y)
    page.mouse.down()
    pressed = page.evaluate("performance.now()")
    for move in range(1, moves + 1):
        page.mouse.move(x0 + (x1 - x0) * move / moves, y)
        page.wait_for_timeout(1000 * seconds / moves)
    page.mouse.up()
    return pressed, page.evaluate("performance.now()")


def set_checkbox(checkbox, on: bool = True) -> None:
    """Tick (or untick) an ipywidgets Checkbox (its outer element) with the mouse."""
    box = checkbox.locator("input[type=checkbox]")
    if box.is_checked() != on:
        box.click()


def click_button(root, text: str) -> None:
    """Click the button (a ToggleButtons option or a Button) under ``root`` that reads ``text``."""
    root.locator("button", has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")).first.click()


def enter_text(field, text: str) -> None:
    """Replace the text of a Text/Combobox widget (its outer element) and press Enter."""
    box = field.locator("input")
    box.fill(text)
    box.press("Enter")


def wait_for_text(locator, pattern: str | re.Pattern, timeout: float = 10.0) -> str:
    """Wait until ``locator``'s text contains ``pattern`` (a string or regex); return the text."""
    from playwright.sync_api import expect

    expect(locator).to_contain_text(pattern, timeout=timeout * 1000)
    return locator.inner_text()
