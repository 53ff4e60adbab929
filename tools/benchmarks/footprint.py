"""What a class costs: a learner's walk through the notebooks on one Jupyter server, measured.

``python -m tools.benchmarks.footprint`` starts ``jupyter lab`` (the server ``make lab`` starts) with
the Binder settings of ``jupyter-config/`` and, as a learner would, opens each lesson in order in its
own kernel (a session, as a notebook tab creates), runs it top to bottom through the kernel's websocket,
then closes it (deletes the session: what JupyterLab does when a tab closes with "Shut down kernel" on).
After the lessons it opens the classroom page in a kernel and opens each of its tabs, and finally
serves the page with Voilà and loads it once over HTTP.

Recorded (``benchmarks/footprint.md``):

* per notebook: the kernel's peak memory (peak RSS, ``VmHWM``; and the peak PSS sampled every 0.25 s),
  its CPU seconds (user + system), seconds from opening the notebook to its first lab figure (the
  first output of a widget carrying a PNG: a lab, or the classroom page with its first lab) and to the
  end of the run;
* the server with nothing open: memory and the CPU seconds of its start;
* the walk: the total PSS of the server and every running kernel, sampled throughout; the goal is
  ≤ 1 GiB (mybinder.org's smallest memory limit). PSS (proportional set size) counts a page shared by
  n processes 1/n in each, so sums over processes are what the machine really holds.

CPU seconds and latencies depend on the machine and its load; memory hardly does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..course import CLASSROOM, NOTEBOOK_DIR, lessons

ROOT = NOTEBOOK_DIR.parent
MODULE = __spec__.name if __spec__ else __name__  # "python -m MODULE" (``__name__`` is "__main__" then)
JUPYTER_CONFIG = ROOT / "jupyter-config"
GOAL_BYTES = 1024**3
MIB = 1024**2
SAMPLE_S = 0.25
#: what the classroom kernel runs after the page: a teacher opening every tab (``_`` is the page)
OPEN_EVERY_TAB = "for _index in range(len(_.sections)):\n    _.select(_index)"


#: what a notebook's kernel loads, in the order it loads it: (what, Python statement)
IMPORT_STEPS = (
    ("torch", "import torch"),
    ("rnnlib (models, data, training; tqdm and ipywidgets)", "import rnnlib"),
    ("matplotlib.pyplot", "import matplotlib.pyplot"),
    ("seaborn (with pandas)", "import seaborn"),
    ("rnnlib.notebook, rnnlib.widgets, rnnlib.exercises", "import rnnlib.notebook, rnnlib.widgets, rnnlib.exercises"),
    ("the first torch.optim optimiser (imports torch._dynamo)",
     "torch.optim.Adam([torch.zeros(1, requires_grad=True)])"),
)
_IMPORT_PROBE = """
import json, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
rows, before = [], rss()
for what, statement in json.loads(sys.argv[1]):
    start = time.perf_counter()
    exec(statement)
    rows.append([what, rss() - before, time.perf_counter() - start])
    before = rss()
print(json.dumps({"rows": rows, "python": before}))
"""


def import_costs() -> dict:
    """Resident memory and seconds each of :data:`IMPORT_STEPS` adds, in a fresh Python process."""
    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE, json.dumps(IMPORT_STEPS)], capture_output=True,
                         text=True, check=True, env={**os.environ, "MPLBACKEND": "Agg"}).stdout
    return json.loads(out)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psutil():
    import psutil  # a development dependency: only this benchmark and the browser tests need it

    return psutil


def _memory(process) -> tuple[int, int]:
    """``(pss, rss)`` of one process in bytes (0, 0 once it has gone)."""
    psutil = _psutil()
    try:
        info = process.memory_full_info()
        return getattr(info, "pss", info.rss), info.rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0, 0


def _peak_rss(process) -> int:
    """The process's peak resident memory so far (``VmHWM``), bytes."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _memory(process)[1]


def _cpu_seconds(process) -> float:
    psutil = _psutil()
    try:
        times = process.cpu_times()
        return times.user + times.system + times.children_user + times.children_system
    except psutil.NoSuchProcess:
        return 0.0


@dataclass
class Server:
    """A Jupyter server (``jupyter lab`` or ``voila``) in its own process group in a scratch folder."""

    command: list[str]
    root: Path
    log_path: Path
    port: int = field(default_factory=_free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen | None = None
    started: float = 0.0

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # a learner's kernel draws inline figures
        state = self.root.parent / "state"
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                     "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "JUPYTER_DATA_DIR"):
            (state / name.lower()).mkdir(parents=True, exist_ok=True)
            env[name] = str(state / name.lower())
        # the Binder settings, read as Binder reads them after postBuild copied them into the prefix
        env["JUPYTER_CONFIG_PATH"] = str(JUPYTER_CONFIG / "etc" / "jupyter")
        return env

    def start(self, ready_path: str | None = "/api/status", timeout: float = 180.0) -> None:
        with open(self.log_path, "w") as log:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                [*self.command, f"--port={self.port}"], stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[0]} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if ready_path is None:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                with urllib.request.urlopen(self.url(ready_path), timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise TimeoutError(f"{self.command[0]} did not answer within {timeout} s")

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}?token={self.token}"

    def request(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url(path), data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            text = response.read()
        return json.loads(text) if text else None

    def processes(self) -> list:
        """The server and everything it started (kernels included)."""
        psutil = _psutil()
        try:
            server = psutil.Process(self.process.pid)
            return [server, *server.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kernels(self) -> dict[str, object]:
        """Running kernel processes by kernel id (read from their connection file's name)."""
        found = {}
        for process in self.processes()[1:]:
            try:
                for arg in process.cmdline():
                    name = Path(arg).name
                    if name.startswith("kernel-") and name.endswith(".json"):
                        found[name[len("kernel-"):-len(".json")]] = process
            except _psutil().NoSuchProcess:
                continue
        return found

    def stop(self) -> None:
        if self.process is None:
            return
        psutil = _psutil()
        family = self.processes()[1:]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        for child in family:  # kernels run in their own sessions: each by its pid
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.process = None


class Sampler:
    """Samples the total PSS of the server and all its kernels in a thread; keeps the peak."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak_total = 0
        self.kernel_peak_pss: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def total(self) -> tuple[int, dict[str, int]]:
        """``(total PSS, {kernel id: PSS})`` now."""
        total = sum(_memory(process)[0] for process in self.server.processes())
        per_kernel = {kid: _memory(process)[0] for kid, process in self.server.kernels().items()}
        return total, per_kernel

    def _run(self) -> None:
        while not self._stop.is_set():
            total, per_kernel = self.total()
            self.peak_total = max(self.peak_total, total)
            for kid, pss in per_kernel.items():
                self.kernel_peak_pss[kid] = max(self.kernel_peak_pss.get(kid, 0), pss)
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class NotebookRun:
    """One notebook in its own kernel: what it cost."""

    name: str
    peak_rss: int
    peak_pss: int
    cpu_s: float
    first_figure_s: float | None
    run_s: float
    total_after: int  # PSS of the server and every kernel still running when it had run
    total_after_close: int | None  # the same after its tab was closed (None: left open)


async def _execute(ws_url: str, cells: list[tuple[str, bool]], started: float) -> float | None:
    """Run ``cells`` ([(code, may_raise)]) in the kernel behind ``ws_url`` one after the other; return
    the seconds from ``started`` to the first lab figure (None if no cell showed one)."""
    from tornado.websocket import websocket_connect

    session = uuid.uuid4().hex
    connection = await websocket_connect(ws_url, max_message_size=256 * MIB)
    first_figure = None
    try:
        for code, may_raise in cells:
            msg_id = uuid.uuid4().hex
            await connection.write_message(json.dumps({
                "header": {"msg_id": msg_id, "session": session, "username": "learner", "version": "5.3",
                           "msg_type": "execute_request", "date": datetime.datetime.now().isoformat()},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True},
            }))
            replied = idle = False
            while not (replied and idle):
                raw = await connection.read_message()
                if raw is None:
                    raise RuntimeError("the kernel's websocket closed during a cell")
                if isinstance(raw, bytes):
                    continue  # binary frames carry widget buffers only
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["header"]["msg_type"], message["content"]
                if kind == "execute_reply":
                    replied = True
                    if content["status"] != "ok" and not may_raise:
                        raise RuntimeError(f"cell failed: {content.get('ename')}: {content.get('evalue')}\n{code}")
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
                elif (kind in ("display_data", "execute_result") and first_figure is None
                      and {"application/vnd.jupyter.widget-view+json", "image/png"} <= set(content["data"])):
                    first_figure = time.monotonic() - started
    finally:
        connection.close()
    return first_figure


def run_notebook(server: Server, path: Path, sampler: Sampler, *, close: bool = True,
                 extra: list[str] = ()) -> NotebookRun:
    """Open ``path`` (relative to the server's root) in a new kernel, run every code cell (then
    ``extra`` code), measure, and close it unless ``close`` is False."""
    import nbformat

    nb = nbformat.read(server.root / path, as_version=4)
    cells = [(cell.source, "raises-exception" in cell.metadata.get("tags", []))
             for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]
    cells += [(code, False) for code in extra]
    started = time.monotonic()
    session = server.request("POST", "/api/sessions", {
        "path": str(path), "name": path.name, "type": "notebook", "kernel": {"name": "python3"}})
    kernel_id = session["kernel"]["id"]
    ws_url = server.url(f"/api/kernels/{kernel_id}/channels", scheme="ws")
    first_figure = asyncio.run(_execute(ws_url, cells, started))
    run_s = time.monotonic() - started
    kernel = server.kernels()[kernel_id]
    peak_rss, cpu_s = _peak_rss(kernel), _cpu_seconds(kernel)
    total_after, _ = sampler.total()
    total_after_close = None
    if close:
        server.request("DELETE", f"/api/sessions/{session['id']}")
        deadline = time.monotonic() + 30
        while kernel_id in server.kernels() and time.monotonic() < deadline:
            time.sleep(0.2)
        if kernel_id in server.kernels():
            raise RuntimeError(f"{path.name}: its kernel still runs 30 s after its session was closed")
        total_after_close, _ = sampler.total()
    return NotebookRun(path.name, peak_rss, sampler.kernel_peak_pss.get(kernel_id, 0), cpu_s, first_figure,
                       run_s, total_after, total_after_close)


@dataclass
class Footprint:
    """Everything one run measured."""

    server_idle_pss: int = 0
    server_idle_rss: int = 0
    server_start_cpu_s: float = 0.0
    server_start_s: float = 0.0
    runs: list[NotebookRun] = field(default_factory=list)
    peak_total: int = 0
    voila: NotebookRun | None = None
    voila_server_pss: int = 0
    keep_open: bool = False
    seconds: float = 0.0
    imports: dict = field(default_factory=dict)

    @property
    def within_goal(self) -> bool:
        return self.peak_total <= GOAL_BYTES


def _scratch_course(base: Path, notebooks: list[Path]) -> Path:
    root = base / "notebooks"
    root.mkdir()
    for path in notebooks:
        shutil.copy(path, root / path.name)
    if (ROOT / "data").is_dir():  # beside notebooks/, as in the repository
        shutil.copytree(ROOT / "data", base / "data")
    return root


def measure(notebooks: list[Path] | None = None, *, classroom: bool = True, voila: bool = True,
            keep_open: bool = False, log=print) -> Footprint:
    """The walk (see the module docstring). ``notebooks``: the lessons to walk through (default: all);
    ``keep_open``: never close a notebook (a learner who closes no tab)."""
    bin_dir = Path(sys.executable).parent
    lessons_ = lessons() if notebooks is None else [Path(p) for p in notebooks]
    result = Footprint(keep_open=keep_open)
    begun = time.monotonic()
    result.imports = import_costs()
    with tempfile.TemporaryDirectory(prefix="rnnlib-footprint-") as scratch:
        base = Path(scratch)
        page = NOTEBOOK_DIR / CLASSROOM
        root = _scratch_course(base, lessons_ + ([page] if (classroom or voila) and page.exists() else []))
        server = Server([str(bin_dir / "jupyter"), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                         "--LabApp.news_url=None",
                         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                        root, base / "lab.log")
        server.command.append(f"--ServerApp.token={server.token}")
        try:
            server.start()
            result.server_start_s = time.monotonic() - server.started
            time.sleep(5)  # settle: what a server with nothing open holds
            processes = server.processes()
            result.server_start_cpu_s = sum(_cpu_seconds(p) for p in processes)
            result.server_idle_pss = sum(_memory(p)[0] for p in processes)
            result.server_idle_rss = sum(_memory(p)[1] for p in processes)
            log(f"server idle: {result.server_idle_pss / MIB:.0f} MiB PSS")
            with Sampler(server) as sampler:
                for path in lessons_:
                    run = run_notebook(server, Path(path.name), sampler, close=not keep_open)
                    result.runs.append(run)
                    log(f"{run.name}: peak RSS {run.peak_rss / MIB:.0f} MiB, total after "
                        f"{run.total_after / MIB:.0f} MiB, {run.cpu_s:.0f} CPU s, {run.run_s:.0f} s")
                if classroom and page.exists():
                    run = run_notebook(server, Path(CLASSROOM), sampler, close=not keep_open,
                                       extra=[OPEN_EVERY_TAB])
                    run.name = f"{CLASSROOM} (every tab opened)"
                    result.runs.append(run)
                    log(f"{run.name}: peak RSS {run.peak_rss / MIB:.0f} MiB")
            result.peak_total = sampler.peak_total
        finally:
            server.stop()
        if voila and page.exists():
            result.voila, result.voila_server_pss = _voila_page(bin_dir, root, base, page.name)
            log(f"classroom under Voilà: peak RSS {result.voila.peak_rss / MIB:.0f} MiB")
    result.seconds = time.monotonic() - begun
    return result


def _voila_page(bin_dir: Path, root: Path, base: Path, name: str) -> tuple[NotebookRun, int]:
    """Serve the page with Voilà and load it once over HTTP (Voilà runs the notebook before it answers:
    the first tab's lab is drawn by then). Returns the kernel's run and the server's own PSS."""
    server = Server([str(bin_dir / "voila"), "--no-browser", "--Voila.ip=127.0.0.1", name], root,
                    base / "voila.log")
    server.command.insert(-1, f"--token={server.token}")
    try:
        server.start(ready_path=None)
        idle = sum(_memory(p)[0] for p in server.processes())
        started = time.monotonic()
        with Sampler(server) as sampler, urllib.request.urlopen(server.url("/"), timeout=600) as response:
            html = response.read().decode("utf-8", errors="replace")
            loaded = time.monotonic() - started
            kernels = server.kernels()
        if "rnnlib-classroom" not in html and "application/vnd.jupyter.widget-view+json" not in html:
            raise RuntimeError("Voilà's page holds no classroom widget")
        (kid, kernel), = kernels.items()
        run = NotebookRun(f"{name} under Voilà (first tab)", _peak_rss(kernel), sampler.kernel_peak_pss.get(kid, 0),
                          _cpu_seconds(kernel), loaded, loaded, sampler.peak_total, None)
        return run, idle
    finally:
        server.stop()


def _mib(value: int | None) -> str:
    return "—" if value is None else f"{value / MIB:.0f}"


def report(result: Footprint, command: str) -> str:
    """The results as Markdown."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# rnnlib footprint: a learner's walk through the notebooks",
        "",
        f"Produced by `{command}` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC in "
        f"{result.seconds / 60:.0f} min ({os.cpu_count()} CPU cores, load average {load} at the end; "
        f"python {platform.python_version()}). Method: `{MODULE}`'s docstring. Memory is what the "
        "kernels hold; CPU seconds and latencies grow with the machine's load (they were measured on a "
        "shared machine).",
        "",
        f"**Walk total (server + every running kernel, PSS, sampled every {SAMPLE_S} s): peak "
        f"{_mib(result.peak_total)} MiB; goal ≤ {GOAL_BYTES // MIB} MiB: "
        f"{'met' if result.within_goal else 'missed'}.** "
        + ("Every notebook was left open (no tab closed)." if result.keep_open else
           "Each notebook was closed (its session deleted, as JupyterLab does with “Shut down kernel” "
           "on close) before the next was opened."),
        "",
        f"`jupyter lab` with nothing open: {_mib(result.server_idle_pss)} MiB PSS "
        f"({_mib(result.server_idle_rss)} MiB RSS), {result.server_start_cpu_s:.1f} CPU s to start "
        f"({result.server_start_s:.1f} s until it answered).",
        "",
        "| notebook | kernel peak RSS (MiB) | kernel peak PSS (MiB) | CPU s | s to first lab figure | s to run | "
        "total after (MiB) | total after closing (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    runs = result.runs + ([result.voila] if result.voila else [])
    for run in runs:
        first = "—" if run.first_figure_s is None else f"{run.first_figure_s:.1f}"
        lines.append(f"| {run.name} | {_mib(run.peak_rss)} | {_mib(run.peak_pss)} | {run.cpu_s:.0f} | {first} | "
                     f"{run.run_s:.0f} | {_mib(run.total_after)} | {_mib(run.total_after_close)} |")
    if result.voila:
        lines += ["", f"The Voilà row: `voila notebooks/{CLASSROOM}` serving one page load "
                      f"(server alone {_mib(result.voila_server_pss)} MiB PSS; its total includes it); the "
                      "first-figure time is the page's load time, when its first tab's lab is drawn."]
    lessons_ = [run for run in result.runs if run.name[:1].isdigit()]
    if lessons_:
        lines += ["", "Kept open instead of closed, the lessons' kernels would add up to about "
                      f"{_mib(result.server_idle_pss + sum(run.peak_pss for run in lessons_))} MiB (server + the "
                      "sum of each kernel's peak PSS; an upper bound)."]
    if result.imports:
        lines += ["", "## What a kernel loads before any work", "",
                  "In a fresh Python process, in this order (`IMPORT_STEPS`); resident memory each step adds, "
                  "and its wall time on this machine:", "",
                  "| step | + RSS (MiB) | s |", "|---|---:|---:|"]
        lines += [f"| {what} | {added / MIB:.0f} | {secs:.1f} |" for what, added, secs in result.imports["rows"]]
        lines.append(f"| total resident after all of them | {result.imports['python'] / MIB:.0f} | |")
    return "\n".join(lines) + "\n"


#: the pace the sizing table assumes: one lesson per class period of this many minutes
MINUTES_PER_LESSON = 45
README = ROOT / "README.md"
_README_SIZING = re.compile(r"(<!-- sizing -->\n).*?(\n<!-- /sizing -->)", re.DOTALL)


def sizing_table(data: dict) -> str:
    """README's sizing table for teachers, from a run's JSON (``footprint.json``)."""
    lessons_ = [run for run in data["runs"] if run["name"][:1].isdigit()]
    if not lessons_:
        raise ValueError("the footprint run holds no lesson")
    peak = data["peak_total"] / MIB
    kept_open = (data["server_idle_pss"] + sum(run["peak_pss"] for run in lessons_)) / MIB
    cpu_total = sum(run["cpu_s"] for run in lessons_)
    longest = max(lessons_, key=lambda run: run["cpu_s"])
    core_share = cpu_total / (len(lessons_) * MINUTES_PER_LESSON * 60)
    rows = [
        ("memory per learner", f"{peak:.0f} MiB",
         "the walk's peak: `jupyter lab` plus the open notebook's kernel (PSS), each notebook closed before the "
         "next; set a hub's `mem_limit` to 1G and `mem_guarantee` to this"),
        ("learners per GB of memory", f"{1024 / peak:.1f}", "1024 MiB ÷ the line above"),
        ("memory if no notebook is closed", f"≤ {kept_open:.0f} MiB",
         "the server plus the sum of every lesson kernel's peak PSS (an upper bound): "
         f"{'past' if kept_open > GOAL_BYTES / MIB else 'within'} Binder's 1 GB; each notebook's last cell says "
         "how to shut its kernel down"),
        ("CPU for the whole course", f"{cpu_total:.0f} CPU s",
         f"the {len(lessons_)} lessons run top to bottom, kernel CPU time (one torch thread each)"),
        ("learners per core, on average", f"{1 / core_share:.0f}",
         f"at one lesson per {MINUTES_PER_LESSON} minutes (reading, exercises, labs): the line above ÷ "
         f"({len(lessons_)} × {MINUTES_PER_LESSON} min) = {core_share:.3f} of a core per learner"),
        ("learners per core when a whole class runs a notebook at once", "1 (per run)",
         f"a kernel uses one thread: L learners on one core wait about L × the notebook's CPU time (the longest, "
         f"{longest['name']}, {longest['cpu_s']:.0f} CPU s); plan cores for these bursts, memory for the peak"),
    ]
    if data.get("voila"):
        rows.append(("the classroom page under Voilà", f"{data['voila']['peak_pss'] / MIB:.0f} MiB",
                     "its kernel's peak PSS for one page load (first tab); each visitor gets a kernel"))
    lines = ["| per learner | figure | how it was derived |", "|---|---:|---|"]
    lines += [f"| {what} | {figure} | {how} |" for what, figure, how in rows]
    return "\n".join(lines)


def update_readme(data: dict, readme: Path = README) -> bool:
    """Write :func:`sizing_table` into README's ``<!-- sizing -->`` block; True if README changed."""
    text = readme.read_text(encoding="utf-8")
    if not _README_SIZING.search(text):
        raise ValueError(f"{readme} has no '<!-- sizing -->' ... '<!-- /sizing -->' block")
    updated = _README_SIZING.sub(lambda m: m.group(1) + sizing_table(data) + m.group(2), text)
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def as_json(result: Footprint) -> dict:
    from dataclasses import asdict

    return asdict(result) | {"within_goal": result.within_goal}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks",
                        help="folder for footprint.md and footprint.json (default: benchmarks/)")
    parser.add_argument("--keep-open", action="store_true", help="never close a notebook (no tab closed)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="lessons to walk through (default: all)")
    args = parser.parse_args(argv)
    result = measure(args.notebooks or None, keep_open=args.keep_open)
    command = " ".join([f"python -m {MODULE}", *(argv if argv is not None else sys.argv[1:])])
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "footprint-keep-open" if args.keep_open else "footprint"
    (args.out / f"{stem}.md").write_text(report(result, command), encoding="utf-8")
    (args.out / f"{stem}.json").write_text(json.dumps(as_json(result), indent=1), encoding="utf-8")
    if not args.keep_open and not args.notebooks:
        update_readme(as_json(result))
    print(report(result, command))
    return 0 if result.within_goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
