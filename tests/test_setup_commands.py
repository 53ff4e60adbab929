"""How a learner installs the course: the Makefile's default torch (read from ``make -n``), README's plain
commands for POSIX, Windows and conda, and environment.yml against pyproject.toml.

README's POSIX block itself runs in CI (``.ci/run`` → ``tools/readme_setup.py``); here its shape and the
substitutions CI makes are checked.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.readme_setup import ci_commands, posix_commands

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def make_dry_run(*variables: str) -> list[str]:
    """The set-up recipe ``make`` would run for a fresh ``.venv`` (``-n``: nothing runs, ``-B``: as if the
    environment were missing), with the user's defaults: no make variables inherited from a calling make
    (CI calls ``make test TORCH_SPEC=...``, which reaches this process through MAKEFLAGS)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "TORCH_SPEC", "TORCH_INDEX", "UNAME")}
    run = subprocess.run(["make", "-n", "-B", "-C", str(ROOT), ".venv/.rnnlib-installed", *variables],
                         env=env, capture_output=True, text=True, check=True)
    return [line for line in run.stdout.splitlines() if "pip install" in line]


def torch_line(lines: list[str]) -> str:
    (line,) = [line for line in lines if "torch" in line]
    return line


def test_linux_default_is_the_cpu_index_and_a_range():
    lines = make_dry_run("UNAME=Linux")
    line = torch_line(lines)
    assert f"--index-url {CPU_INDEX} " in line
    assert "'torch>=2.2'" in line and "==" not in line
    assert lines.index(line) < next(i for i, x in enumerate(lines) if "-e '.[dev]'" in x)  # torch first


def test_this_machines_default_matches_its_platform():
    line = torch_line(make_dry_run())
    assert (CPU_INDEX in line) == (os.uname().sysname == "Linux")


def test_macos_default_is_pypis_wheel():
    line = torch_line(make_dry_run("UNAME=Darwin"))
    assert "--index-url" not in line and "'torch>=2.2'" in line


def test_a_gpu_user_names_one_variable():
    cuda = "https://download.pytorch.org/whl/cu126"
    assert f"--index-url {cuda} 'torch>=2.2'" in torch_line(make_dry_run("UNAME=Linux", f"TORCH_INDEX={cuda}"))
    assert "--index-url" not in torch_line(make_dry_run("UNAME=Linux", "TORCH_INDEX="))
    assert f"TORCH_INDEX={cuda}" in README


def test_ci_names_its_own_torch_source():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "TORCH_SPEC=torch==2.13.0 TORCH_INDEX=" in ci and "tools/readme_setup.py" in ci


def test_readme_posix_block_is_complete_and_ci_swaps_only_what_it_must():
    commands = posix_commands()
    assert commands[0] == "python3 -m venv .venv"
    assert f".venv/bin/python -m pip install torch --index-url {CPU_INDEX}" in commands
    assert '.venv/bin/python -m pip install -e ".[dev]"' in commands
    assert any("-m pytest tests" in c for c in commands) and any("--nbval-lax" in c for c in commands)
    assert commands[-1] == ".venv/bin/jupyter lab notebooks/"
    ci = ci_commands(commands, "TORCH")
    changed = [(a, b) for a, b in zip(commands, ci, strict=True) if a != b]
    assert [b for _, b in changed] == [
        "TORCH",
        ".venv/bin/python -m pytest tests --ignore=tests/e2e --collect-only -q",
        ".venv/bin/python -m pytest --nbval-lax --nbval-current-env notebooks/ --collect-only -q",
        ".venv/bin/jupyter lab --version",
    ]


def test_readme_names_python3_venv_windows_and_conda():
    assert "python3-venv" in README
    windows = README[README.index("```powershell"):]
    windows = windows[:windows.index("```\n", 3)]
    assert ".venv\\Scripts\\python -m pip install torch --index-url " + CPU_INDEX in windows
    assert ".venv\\Scripts\\python -m pytest" in windows and ".venv/bin" not in windows
    assert "conda env create -f environment.yml" in README


#: pyproject name → conda-forge name, where they differ (the -base packages leave out GUI back-ends)
CONDA_NAMES = {"matplotlib": "matplotlib-base", "seaborn": "seaborn-base"}


def _requirements(lines, quoted: bool) -> dict[str, str]:
    """name → version range, from pyproject's ``"numpy>=1.23",`` or environment.yml's ``- numpy>=1.23``."""
    line_re = r'\s*"([A-Za-z0-9_.-]+)([<>=!~][^";]*)",?\s*(#.*)?' if quoted else r"\s*-\s*([A-Za-z0-9_.-]+)([<>=!~]\S*)"
    matches = (re.fullmatch(line_re, line) for line in lines)
    return {m.group(1).lower(): m.group(2) for m in matches if m}


def test_environment_yml_names_every_dependency_with_the_same_range():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject[pyproject.index("dependencies = ["):pyproject.index("browser = [")]
    wanted = _requirements(section.splitlines(), quoted=True)
    environment = _requirements((ROOT / "environment.yml").read_text(encoding="utf-8").splitlines(), quoted=False)
    assert len(wanted) >= 15  # runtime + dev
    for name, spec in wanted.items():
        assert environment.get(CONDA_NAMES.get(name, name)) == spec, name
    assert f"--index-url {CPU_INDEX}" in (ROOT / "environment.yml").read_text(encoding="utf-8")
