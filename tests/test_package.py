"""The built wheel: it builds without warnings, holds only what learners use, and works installed alone.

The wheel is built as pip builds it for a user (``pip wheel .``), without build isolation so the test
needs no index (the dev extra carries a setuptools that accepts the SPDX licence). It is then
installed into a fresh virtual environment whose only other content is a ``.pth`` line naming the dev
environment's site-packages, for torch & co.: a directory added by a ``.pth`` line has its own
``.pth`` files ignored, so the editable rnnlib install living there is invisible and the rnnlib that
imports is the wheel's (checked). A full resolve of the dependencies from an index is what README's
plain set-up commands do in CI (``.ci/run``); here it would cost minutes and a download.
"""

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from rnnlib.data import SENTIMENT_CSV

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    build = _run(sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-v",
                 "-w", str(out), cwd=out)
    assert build.returncode == 0, build.stdout + build.stderr
    (path,) = out.glob("rnnlib-*.whl")
    return path, build.stdout + build.stderr


@pytest.fixture(scope="module")
def wheel_env(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel installed; returns its python."""
    path, _ = wheel
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "Scripts" / "python.exe" if os.name == "nt" else env_dir / "bin" / "python"
    site = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = _run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
                   "--prefix", str(env_dir), str(path))
    assert install.returncode == 0, install.stdout + install.stderr
    return python


def test_the_wheel_builds_without_warnings(wheel):
    _, log = wheel
    assert "Successfully built rnnlib" in log or "Created wheel for rnnlib" in log
    warnings = [line for line in log.splitlines() if "warn" in line.lower() or line.strip() == "!!"]
    assert not warnings, "\n".join(warnings)


def test_the_wheel_holds_the_package_data_and_nothing_for_maintainers(wheel):
    path, _ = wheel
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        csv = archive.read("rnnlib/datasets/sentiment.csv")
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert csv == SENTIMENT_CSV.read_bytes()
    for needed in ("rnnlib/py.typed", "rnnlib/datasets/README.md", "rnnlib/__main__.py", "rnnlib/widgets.py",
                   "rnnlib/exercises/__init__.py"):
        assert needed in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {n.split("/")[0] for n in names} == {"rnnlib", "rnnlib-0.1.0.dist-info"}  # no tools/, tests/
    maintenance = [n for n in names if "bench" in n or n.endswith("course.py") or "/tests/" in n]
    assert not maintenance, maintenance
    assert "License-Expression: MIT" in metadata
    requires = [line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist: ")]
    runtime = [r for r in requires if ";" not in r]  # leaves out extras and platform-only caps
    assert {r.split(">")[0].split("<")[0] for r in runtime} >= {"torch", "numpy", "matplotlib", "ipywidgets"}
    assert all(">=" in r and "==" not in r for r in runtime), runtime  # ranges, never pins


def test_the_installed_wheel_works_on_its_own(wheel_env, tmp_path):
    script = (
        "import importlib.util, sys, rnnlib\n"
        f"assert rnnlib.__file__.startswith({str(wheel_env.parent.parent)!r}), rnnlib.__file__\n"
        "task = rnnlib.sentiment_task()\n"
        "print(len(task.train), len(task.test))\n"
        "import rnnlib.widgets\n"
        "assert importlib.util.find_spec('rnnlib.benchmarks') is None\n"
        "assert importlib.util.find_spec('tools') is None\n"
    )
    run = _run(str(wheel_env), "-c", script, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1600", "400"]
    help_ = _run(str(wheel_env), "-m", "rnnlib", "compare", "--help", cwd=tmp_path)
    assert help_.returncode == 0, help_.stderr
    assert "--task" in help_.stdout and "task defaults:" in help_.stdout


def test_the_command_line_loads_a_subcommand_only_when_it_runs():
    """``import rnnlib.cli`` (every ``python -m rnnlib`` call) loads no command's modules up front."""
    probe = "import sys, rnnlib.cli; print(sorted(m for m in sys.modules if m.startswith(('rnnlib.compare', 'tools'))))"
    run = _run(sys.executable, "-c", probe, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
