"""Course maintenance: keep the notebooks' links in step with README.md, and run the notebooks.

The repository URL is written once, in README.md, on the line marked ``<!-- repository-url -->``.
README's badge block and every notebook's badge cell and Colab install line are generated from it:
after changing the URL for a fork, run ``make links`` (``python -m tools.course links``).
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
BADGE_TAG, SETUP_TAG = "rnnlib-badges", "rnnlib-setup"


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


def setup_source(readme: Path = README) -> str:
    """The first code cell of every notebook."""
    url, _ = repository(readme)
    return (
        "# Set-up. On Colab: install rnnlib from the repository (torch is already there).\n"
        "# Everywhere else rnnlib is already installed (make lab, Binder) and this does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "rnnlib @ git+{url}"\n'
        "\n"
        "from rnnlib.notebook import setup\n"
        "\n"
        "device = setup(seed=0)"
    )


_README_BADGES = re.compile(r"(<!-- badges -->\n).*?(\n<!-- /badges -->)", re.DOTALL)


def sync_links(notebook_dir: Path = NOTEBOOK_DIR, readme: Path = README) -> list[Path]:
    """Rewrite README's badge block and the tagged badge and set-up cells of every notebook from
    README's repository line; returns the files changed."""
    import nbformat

    changed = []
    text = Path(readme).read_text(encoding="utf-8")
    if not _README_BADGES.search(text):
        raise ValueError(f"{readme} has no '<!-- badges -->' ... '<!-- /badges -->' block")
    first = sorted(Path(notebook_dir).glob("*.ipynb"))
    block = badges(first[0].name if first else "01_vanilla_rnn.ipynb", readme)
    updated = _README_BADGES.sub(lambda m: m.group(1) + block + m.group(2), text)
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
    """``python -m tools.course links`` or ``python -m tools.course run [NOTEBOOK ...]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.course", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("links", help="regenerate badge and set-up cells from README's repository URL")
    run = sub.add_parser("run", help="execute notebooks top to bottom and store their outputs")
    run.add_argument("notebooks", nargs="*", help="notebook files (default: all in notebooks/)")
    args = parser.parse_args(argv)
    if args.command == "links":
        for path in sync_links():
            print(f"updated {path.name}")
        return 0
    for name, secs in run_notebooks(args.notebooks or None).items():
        print(f"{name}: {secs:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
