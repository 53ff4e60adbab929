"""Binder and JupyterHub: the Jupyter settings postBuild installs exist in the installed Jupyter, the
environment has what the README's links need, every lesson ends by saying how to free its kernel, and
the README's sizing table is the one the committed footprint results give."""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from tools import course
from tools.benchmarks import footprint

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "jupyter-config"


def test_postbuild_copies_the_jupyter_settings_into_the_environment():
    lines = [line.strip() for line in (ROOT / "postBuild").read_text().splitlines()]
    assert "cp -r jupyter-config/. \"$(python -c 'import sys; print(sys.prefix)')\"" in lines


def test_the_server_settings_are_real_kernel_manager_settings():
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager

    files = list((CONFIG / "etc" / "jupyter" / "jupyter_server_config.d").glob("*.json"))
    assert files
    settings = {}
    for path in files:
        settings.update(json.loads(path.read_text()))
    manager = MappingKernelManager(config=Config(settings))
    for name, value in settings["MappingKernelManager"].items():
        assert manager.trait_has_value(name) or hasattr(manager, name), name
        assert getattr(manager, name) == value  # a misspelt name would leave the default
    assert manager.cull_idle_timeout > 0 and manager.cull_interval > 0
    assert manager.cull_connected is False  # a notebook that is open is never culled under its learner


def test_closing_a_notebook_tab_shuts_its_kernel_down_in_jupyterlab():
    overrides = json.loads((CONFIG / "share" / "jupyter" / "lab" / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/notebook-extension:tracker"]["kernelShutdown"] is True
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    if not schemas.is_dir():
        pytest.skip("JupyterLab's schemas are not installed in this environment")
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        for key, value in values.items():
            assert key in schema["properties"], f"{plugin} has no setting {key}"
            assert schema["properties"][key]["type"] == type(value).__name__.replace("bool", "boolean")


def test_the_environment_has_voila_and_nbgitpuller():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- voila\b", text, re.MULTILINE)  # README's Voilà-on-Binder link
    assert re.search(r"^\s*- nbgitpuller\b", text, re.MULTILINE)  # README's nbgitpuller link


@pytest.mark.parametrize("path", course.lessons(), ids=lambda p: p.name)
def test_every_lesson_ends_by_saying_how_to_free_its_kernel(path):
    last = nbformat.read(path, as_version=4).cells[-1]
    assert last.cell_type == "markdown"
    assert "Close and Shut Down Notebook" in last.source and "Binder" in last.source


def test_readme_sizing_table_comes_from_the_committed_footprint_results():
    data = json.loads((ROOT / "benchmarks" / "footprint.json").read_text())
    assert footprint.sizing_table(data) in (ROOT / "README.md").read_text()
    assert {run["name"] for run in data["runs"]} >= {p.name for p in course.lessons()}
