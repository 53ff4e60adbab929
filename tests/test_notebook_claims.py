"""Every number a learner reads in a notebook's prose is one the notebook measured or set.

For every notebook (``notebooks/*.ipynb``: the course, and any notebook added later) this test reads
the markdown cells and finds each **number with a unit** (``99.8 %``, ``3×``, ``10 s``, ``40 steps``,
``2000 words``, ``5 epochs``, ``8194 parameters``, ``seeds 0–4``, …). Each must appear in that
notebook's own code or outputs (a setting the learner can see, or a measurement), or in a file of this
repository that the markdown links to (a script's committed results). A printed ``99.83%`` supports
"99.8 %" (rounding to the precision written), a fraction ``0.25`` supports "25 %", ``1,234`` and
``1234`` are the same number. Markdown that a cell *generates* from a measurement
(``display(Markdown(f"…"))``) is an output, so it is evidence, not a claim.

It also fails on references to files that are not in the repository (``measured-facts``, links and
backticked paths that do not exist) and on progress-bar residue in stored outputs (``0%|``).

The notebooks' stored outputs are the evidence, so this passes only on executed notebooks. To check
copies executed elsewhere (e.g. before committing outputs)::

    mkdir -p /tmp/executed && for nb in notebooks/0*.ipynb; do
        jupyter nbconvert --to notebook --execute "$nb" --output-dir /tmp/executed; done
    RNNLIB_NOTEBOOKS=/tmp/executed python -m pytest tests/test_notebook_claims.py

(paths in the notebooks are still resolved against this repository).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = Path(os.environ.get("RNNLIB_NOTEBOOKS", REPO / "notebooks"))
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: Statements that are definitions or quotations, not results: (notebook name prefix, regex on the
#: claim with its context). Keep this short; every entry says why the number needs no measurement.
ALLOWED = [
    # the original module's claim, quoted; notebook 02 prints the exact ratio 0.7500 that it checks
    ("", r"25 % fewer"),
    # the original module's claim, quoted as its own words; notebook 05 tests it
    ("", r'"~10–20 steps"'),
]

# --- reading a notebook ---------------------------------------------------------------------------

UNIT = (
    r"%|×|x(?![A-Za-z])|(?<=\s)s(?![\w-])|ms\b|min\b|minutes?\b|seconds?\b|hours?\b|times\b"
    r"|steps?\b|words?\b|tokens?\b|fillers?\b|filler words\b|epochs?\b|parameters?\b|seeds?\b|sentences?\b"
    r"|batch(?:es)?\b|units?\b|layers?\b|runs?\b|px\b|[KMG]i?B\b|points\b"
)
NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?![\d.])|\d+(?:\.\d+)?|\.\d+)"
LINK = r"(?:\s*(?:–|—|-|to|and|or)\s*)"
#: ``40 steps``, ``46–57 %``, ``1.5–2×``, ``$T = 50$ tokens``, ``2000-step`` (number first) …
CLAIM_AFTER = re.compile(
    rf"(?<![\w.,^{{\\/-])(?P<a>{NUMBER})(?:{LINK}(?P<b>{NUMBER}))?\$?(?:\s|\u00a0|\u202f|-)*\\?(?P<unit>{UNIT})"
)
#: … and ``steps 19 and 32``, ``seeds 0–4``, ``epoch 5`` (unit first)
CLAIM_BEFORE = re.compile(
    rf"\b(?P<unit>steps?|epochs?|seeds?)\s+(?P<a>{NUMBER})(?![\w.])(?:{LINK}(?P<b>{NUMBER})(?![\w.]))?"
)
EVIDENCE_NUMBER = re.compile(
    r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+(?![\d.])|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
)
TEXT_OUTPUTS = ("text/plain", "text/markdown", "text/html", "text/latex")
PROGRESS_RESIDUE = re.compile(r"\b0%\|")
FILE_EXTENSIONS = r"\.(?:py|md|json|csv|ipynb|txt|toml|ya?ml|cfg|sh|png|svg|html)"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def read(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def output_texts(cell: dict) -> list[str]:
    """The text a learner can read in a code cell's outputs (no images)."""
    texts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            texts.append(_text(output["text"]))
        for mime in TEXT_OUTPUTS:
            if mime in output.get("data", {}):
                texts.append(_text(output["data"][mime]))
        if output.get("output_type") == "error":
            texts.append(f"{output.get('ename')}: {output.get('evalue')}")
    return texts


def prose(source: str) -> str:
    """Markdown without code (fenced or inline), HTML comments and link targets: what a learner reads
    as sentences."""
    source = re.sub(r"```.*?```", " ", source, flags=re.S)
    source = re.sub(r"<!--.*?-->", " ", source, flags=re.S)
    source = re.sub(r"`[^`]*`", " ", source)
    return re.sub(r"\]\([^)]*\)", "]", source)


def claims(source: str) -> list[tuple[str, list[str], str]]:
    """``(unit, numbers as written, the claim in context)`` for every number with a unit."""
    text = prose(source)
    found = []
    for pattern in (CLAIM_AFTER, CLAIM_BEFORE):
        for m in pattern.finditer(text):
            numbers = [n for n in (m.group("a"), m.group("b")) if n]
            context = " ".join(text[max(0, m.start() - 50) : m.end() + 20].split())
            found.append((m.group("unit"), numbers, context))
    return found


def parse(number: str) -> float:
    return float(number.replace(",", ""))


def decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def referenced_files(source: str) -> list[str]:
    """Local link targets and backticked paths in a markdown text."""
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)", source)]
    targets = [t for t in targets if t and not re.match(r"[a-z][\w+.-]*:", t)]  # not http:, mailto:, …
    for span in re.findall(r"`([^`\s]+)`", source):
        path_like = "/" in span or re.search(FILE_EXTENSIONS + "$", span)
        if path_like and re.fullmatch(r"[\w./-]+", span) and not span.startswith("/"):
            targets.append(span)
    return targets


def exists_in_repo(target: str) -> bool:
    return (REPO / "notebooks" / target).exists() or (REPO / target).exists()


class Notebook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.cells = read(path)["cells"]
        self.markdown = [(i, _text(c["source"])) for i, c in enumerate(self.cells) if c["cell_type"] == "markdown"]
        code = [c for c in self.cells if c["cell_type"] == "code"]
        self.outputs = [text for c in code for text in output_texts(c)]
        evidence = [_text(c["source"]) for c in code] + self.outputs
        for _, source in self.markdown:  # a results file the prose links to is evidence too
            for target in referenced_files(source):
                file = REPO / "notebooks" / target if (REPO / "notebooks" / target).is_file() else REPO / target
                if file.is_file() and file.suffix in (".json", ".csv", ".md", ".txt"):
                    evidence.append(file.read_text(encoding="utf-8"))
        self.numbers = sorted({parse(n) for text in evidence for n in EVIDENCE_NUMBER.findall(text)})

    def supports(self, written: str, unit: str) -> bool:
        """Is ``written`` (with ``unit``) a number this notebook shows, at the precision written?"""
        value, tolerance = parse(written), 0.5 * 10 ** -decimals(written) * (1 + 1e-9)
        candidates = [value, value / 100] if unit == "%" else [value]
        for target in candidates:
            scale = tolerance if target == value else tolerance / 100
            if any(math.isclose(n, target, abs_tol=scale) or abs(n - target) <= scale for n in self.numbers):
                return True
        return False

    def unsupported_claims(self) -> list[str]:
        problems = []
        for index, source in self.markdown:
            for unit, numbers, context in claims(source):
                if any(self.path.name.startswith(nb) and re.search(rx, context) for nb, rx in ALLOWED):
                    continue
                missing = [n for n in numbers if not self.supports(n, unit)]
                if missing:
                    problems.append(f"cell {index}: {', '.join(missing)} ({unit}) in “…{context}…”")
        return problems

    def missing_files(self) -> list[str]:
        problems = []
        texts = [(i, s) for i, s in self.markdown]
        texts += [(i, t) for i, c in enumerate(self.cells) if c["cell_type"] == "code" for t in output_texts(c)]
        texts += [(i, _text(c["source"])) for i, c in enumerate(self.cells) if c["cell_type"] == "code"]
        for index, text in texts:
            for name in ("measured-facts", "/work/shared"):
                if name in text:
                    problems.append(f"cell {index}: cites {name!r}, which learners cannot open")
        for index, source in self.markdown:
            for target in referenced_files(source):
                if not exists_in_repo(target):
                    problems.append(f"cell {index}: refers to {target!r}, not in the repository")
        return problems

    def progress_residue(self) -> list[str]:
        return [f"cell {i}: {line.strip()[:80]!r}" for i, c in enumerate(self.cells) if c["cell_type"] == "code"
                for text in output_texts(c) for line in text.splitlines() if PROGRESS_RESIDUE.search(line)]


# --- the checker, checked ---------------------------------------------------------------------------


def test_claims_are_found_in_their_usual_forms():
    text = ("Training 40 steps gave 99.8 % after 5 epochs and $T = 50$ tokens; seeds 0–4 reached 46–57 %, "
            "a 2000-step run, 1.5–2× slower, between steps 19 and 32; see `epochs=63` and [a](x.md). "
            "Notebook 05 and $10^{-14}$ have no unit.")
    found = {(unit, tuple(numbers)) for unit, numbers, _ in claims(text)}
    assert found == {("steps", ("40",)), ("%", ("99.8",)), ("epochs", ("5",)), ("tokens", ("50",)),
                     ("seeds", ("0", "4")), ("%", ("46", "57")), ("step", ("2000",)), ("×", ("1.5", "2")),
                     ("steps", ("19", "32"))}


def test_support_needs_the_number_at_the_written_precision(tmp_path):
    cell = {"cell_type": "code", "source": "fit(model, epochs=8, lr=1e-3)\n", "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ["accuracy 99.83%, 1,600 sentences, fraction 0.25\n"]}]}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    nb = Notebook(path)
    for written, unit in [("99.8", "%"), ("100", "%"), ("1600", "sentences"), ("1,600", "words"), ("25", "%"),
                          ("8", "epochs"), (".25", "times")]:
        assert nb.supports(written, unit), written
    for written, unit in [("99.9", "%"), ("99.80", "%"), ("1601", "words"), ("26", "%"), ("9", "epochs")]:
        assert not nb.supports(written, unit), written


def test_references_found():
    source = "see [04](04_bilstm.ipynb#top), `measured-facts.md`, `rnnlib/plots.py`, `x @ w.T`, [w](https://x.org/a.md)"
    assert referenced_files(source) == ["04_bilstm.ipynb", "measured-facts.md", "rnnlib/plots.py"]
    assert exists_in_repo("rnnlib/plots.py") and not exists_in_repo("measured-facts.md")


# --- the notebooks ----------------------------------------------------------------------------------


def test_there_are_notebooks_to_check():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_number_in_the_prose_is_measured_or_set_in_the_notebook(path):
    problems = Notebook(path).unsupported_claims()
    assert not problems, (f"{path.name}: numbers in markdown that no code or output of the notebook shows "
                          "(measure them in a cell, generate the sentence, or cite a committed results file):\n  "
                          + "\n  ".join(problems))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_file_the_notebook_refers_to_is_in_the_repository(path):
    problems = Notebook(path).missing_files()
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_progress_bar_residue_in_stored_outputs(path):
    problems = Notebook(path).progress_residue()
    assert not problems, f"{path.name}: progress bars stuck in the stored outputs:\n  " + "\n  ".join(problems)
