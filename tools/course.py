"""Course maintenance: keep the notebooks' links in step with README.md, and run the notebooks.

The repository URL is written once, in README.md, on the line marked ``<!-- repository-url -->``.
README's badge block (with the classroom page's Voilà-on-Binder link), its nbgitpuller link for a
JupyterHub, every notebook's badge cell and Colab install line, and the classroom page's one code cell
are generated from it: after changing the URL for a fork, run ``make links``
(``python -m tools.course links``).
``make notebooks`` re-executes every notebook top to bottom in a fresh kernel and stores the outputs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NOTEBOOK_DIR = ROOT / "notebooks"
_URL_LINE = re.compile(r"^Repository: <(https://github\.com/([\w.-]+/[\w.-]+?))>\s*<!-- repository-url -->",
                       re.MULTILINE)
#: cell tags that mark the generated cells
BADGE_TAG, SETUP_TAG, CLASSROOM_TAG = "rnnlib-badges", "rnnlib-setup", "rnnlib-classroom"
#: the classroom page (served by Voilà); every other notebook in notebooks/ is a lesson
CLASSROOM = "classroom.ipynb"
#: stands for the teacher's JupyterHub in README's nbgitpuller link
HUB_PLACEHOLDER = "https://hub.example.edu"


def repository(readme: Path = README) -> tuple[str, str]:
    """``(url, "owner/name")`` from README's marked line."""
    match = _URL_LINE.search(Path(readme).read_text(encoding="utf-8"))
    if not match:
        raise ValueError(
            f"{readme} has no line 'Repository: <https://github.com/OWNER/NAME> <!-- repository-url -->'"
        )
    return match.group(1), match.group(2)


def badges(notebook: str, readme: Path = README) -> str:
    """Markdown for the Colab and Binder badges of ``notebook`` (a file name in notebooks/)."""
    _, slug = repository(readme)
    colab = f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{notebook}"
    binder = f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=lab/tree/notebooks/{notebook}"
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})"
    )


def lessons(notebook_dir: Path = NOTEBOOK_DIR) -> list[Path]:
    """The numbered lesson notebooks, in course order (the classroom page is not one)."""
    return sorted(p for p in Path(notebook_dir).glob("*.ipynb") if p.name[:1].isdigit())


def first_lesson(notebook_dir: Path = NOTEBOOK_DIR) -> str:
    """The file name of the first lesson (where links open)."""
    found = lessons(notebook_dir)
    return found[0].name if found else "01_vanilla_rnn.ipynb"


def voila_binder_link(readme: Path = README) -> str:
    """The classroom page opened through Voilà on Binder (no code, no JupyterLab around it)."""
    _, slug = repository(readme)
    return f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=voila/render/notebooks/{CLASSROOM}"


def nbgitpuller_link(hub: str = HUB_PLACEHOLDER, notebook: str | None = None, *, branch: str = "main",
                     readme: Path = README) -> str:
    """A link that makes ``hub`` (a JupyterHub with nbgitpuller) pull the course into each learner's
    home (``~/NAME``, updated on every click without overwriting their changes) and open ``notebook``
    (default: the first lesson) in JupyterLab."""
    from urllib.parse import urlencode, urlsplit

    url, slug = repository(readme)
    parts = urlsplit(hub)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"hub must be the hub's address, like {HUB_PLACEHOLDER}, got {hub!r}")
    notebook = notebook or first_lesson()
    folder = slug.split("/")[1]
    query = urlencode({"repo": url, "branch": branch, "urlpath": f"lab/tree/{folder}/notebooks/{notebook}"})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def _colab_install(url: str) -> str:
    """The lines that install rnnlib from the repository on Colab and do nothing anywhere else."""
    return f'import sys\n\nif "google.colab" in sys.modules:\n    %pip install --quiet "rnnlib @ git+{url}"\n'


def classroom_source(readme: Path = README) -> str:
    """The classroom page's one code cell (Voilà hides it; the page shows only its output)."""
    url, _ = repository(readme)
    return (
        "# The classroom page: every lab on one page. `make classroom` serves it with Voilà, which hides\n"
        "# this code. On Colab, the first lines install rnnlib from the repository (torch is already there).\n"
        + _colab_install(url) +
        "\n"
        "from rnnlib.classroom import page\n"
        "\n"
        "page()"
    )


def readme_badges(readme: Path = README, notebook_dir: Path = NOTEBOOK_DIR) -> str:
    """README's badge block: the first lesson's badges, then the classroom page on Binder."""
    return (f"{badges(first_lesson(notebook_dir), readme)} · "
            f"[classroom page (Voilà on Binder)]({voila_binder_link(readme)})")


def setup_source(readme: Path = README) -> str:
    """The first code cell of every notebook."""
    url, _ = repository(readme)
    return (
        "# Set-up. On Colab: install rnnlib from the repository (torch is already there).\n"
        "# Everywhere else rnnlib is already installed (make lab, Binder) and this does nothing.\n"
        + _colab_install(url) +
        "\n"
        "from rnnlib.notebook import setup\n"
        "\n"
        "device = setup(seed=0)"
    )


_README_BADGES = re.compile(r"(<!-- badges -->\n).*?(\n<!-- /badges -->)", re.DOTALL)
_README_PULL = re.compile(r"(<!-- nbgitpuller -->\n).*?(\n<!-- /nbgitpuller -->)", re.DOTALL)


def sync_links(notebook_dir: Path = NOTEBOOK_DIR, readme: Path = README) -> list[Path]:
    """Rewrite README's badge block and the tagged badge and set-up cells of every notebook from
    README's repository line; returns the files changed."""
    import nbformat

    changed = []
    text = Path(readme).read_text(encoding="utf-8")
    for block, name in ((_README_BADGES, "badges"), (_README_PULL, "nbgitpuller")):
        if not block.search(text):
            raise ValueError(f"{readme} has no '<!-- {name} -->' ... '<!-- /{name} -->' block")
    badge_block = readme_badges(readme, notebook_dir)
    pull_block = f"```\n{nbgitpuller_link(readme=readme)}\n```"
    updated = _README_BADGES.sub(lambda m: m.group(1) + badge_block + m.group(2), text)
    updated = _README_PULL.sub(lambda m: m.group(1) + pull_block + m.group(2), updated)
    if updated != text:
        Path(readme).write_text(updated, encoding="utf-8")
        changed.append(Path(readme))
    for path in sorted(Path(notebook_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        for cell in nb.cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if BADGE_TAG in tags:
                title = cell.source.split("\n", 1)[0]
                cell.source = f"{title}\n\n{badges(path.name, readme)}"
            elif SETUP_TAG in tags:
                cell.source = setup_source(readme)
            elif CLASSROOM_TAG in tags:
                cell.source = classroom_source(readme)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def run_notebooks(paths=None, *, timeout: int = 600, write: bool = True) -> dict[str, float]:
    """Execute notebooks top to bottom in a fresh kernel each (cwd: their folder); seconds per file.

    With ``write`` the executed notebook (outputs included) replaces the file.
    """
    import nbformat
    from nbclient import NotebookClient

    paths = sorted(NOTEBOOK_DIR.glob("*.ipynb")) if paths is None else [Path(p) for p in paths]
    seconds = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        seconds[path.name] = time.perf_counter() - start
        if write:
            nbformat.write(nb, path)
    return seconds


def main(argv=None) -> int:
    """``python -m tools.course links``, ``run [NOTEBOOK ...]`` or ``pull-link --hub URL``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.course", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("links", help="regenerate badge and set-up cells from README's repository URL")
    run = sub.add_parser("run", help="execute notebooks top to bottom and store their outputs")
    run.add_argument("notebooks", nargs="*", help="notebook files (default: all in notebooks/)")
    pull = sub.add_parser("pull-link", help="print the nbgitpuller link that hands the course out on a JupyterHub")
    pull.add_argument("--hub", required=True, help=f"the hub's address, like {HUB_PLACEHOLDER}")
    pull.add_argument("--notebook", help="the notebook it opens (default: the first lesson)")
    args = parser.parse_args(argv)
    if args.command == "links":
        for path in sync_links():
            print(f"updated {path.name}")
        return 0
    if args.command == "pull-link":
        print(nbgitpuller_link(args.hub, args.notebook))
        return 0
    for name, secs in run_notebooks(args.notebooks or None).items():
        print(f"{name}: {secs:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
