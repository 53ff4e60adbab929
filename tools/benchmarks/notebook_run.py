"""Benchmark 4: each course notebook run top to bottom in a fresh kernel, as nbval and learners do."""

from __future__ import annotations

from pathlib import Path

from ..course import NOTEBOOK_DIR, run_notebooks
from .timing import Row

SECTION = "4. notebooks: seconds top to bottom (fresh kernel)"
TOTAL_TARGET_S = 180.0


def notebook_times(notebook_dir: Path = NOTEBOOK_DIR) -> tuple[list[Row], str | None]:
    """One row per notebook and one for the total; with no notebooks, no rows and a note saying so."""
    paths = sorted(Path(notebook_dir).glob("*.ipynb"))
    if not paths:
        return [], f"notebooks: none found in {notebook_dir}, not measured"
    seconds = run_notebooks(paths, write=False)
    rows = [Row(SECTION, name, secs, unit="s") for name, secs in seconds.items()]
    rows.append(Row(SECTION, f"total ({len(seconds)} notebooks)", sum(seconds.values()), unit="s",
                    target=TOTAL_TARGET_S, detail="kernel start included"))
    return rows, None
