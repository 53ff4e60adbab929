"""The benchmark's outputs: a console table, ``results.md`` and a figure of every figure."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from rnnlib.plots import colors, themed

from .timing import Row

UNIT_AXIS = {"×": "ratio (×)", "s": "time (s)", "%": "share of torch.mm throughput (%)"}
VERDICT = {True: "met", False: "MISSED", None: ""}
METHOD = (
    "Every figure is measured side by side in one run: the two sides of a ratio are timed alternately "
    "(A B B A …) and a ratio is the median over rounds of each back-to-back pair; a time is the median "
    "over repetitions. Sections marked *CPU time* count the CPU time of the thread doing the work (one "
    "torch thread): a neighbour taking the core away adds wall time, not CPU time. Latencies, notebooks "
    "and the thread comparison are wall time. Nothing here is a timed test: `tests/test_bench.py` only "
    "checks that the benchmark runs."
)


def _value(row: Row) -> str:
    if row.unit == "×":
        return f"{row.value:.2f}×"
    if row.unit == "%":
        return f"{row.value:.0f} %"
    digits = 2 if row.value < 0.1 else 3  # 0.0083 s, 0.56 s, 17.9 s
    return f"{row.value:.{digits}g} s"


def _sections(rows: list[Row]):
    return groupby(rows, key=lambda row: row.section)


def format_table(rows: list[Row]) -> str:
    """A plain-text table for the console: one block per section, one line per case."""
    width = max((len(row.case) for row in rows), default=10)
    lines = []
    for section, section_rows in _sections(rows):
        lines.append(section)
        for row in section_rows:
            lines.append(
                f"  {row.case:<{width}}  {_value(row):>9}  {row.target_text:<9}  {VERDICT[row.passed]:<6}  "
                f"{row.detail}".rstrip()
            )
    return "\n".join(lines)


def markdown(rows: list[Row], machine: dict[str, str], notes: list[str], *, command: str, image: str) -> str:
    """``results.md``: machine, method, one table per section, notes, the figure ``image``."""
    out = [
        "# rnnlib benchmarks",
        "",
        f"Produced by `{command}`. {METHOD}",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in machine.items()],
        "",
        *summary(rows),
        "## Results",
        "",
    ]
    for section, section_rows in _sections(rows):
        out += [f"### {section}", "", "| case | value | target | verdict | measured |", "|---|---:|---|---|---|"]
        out += [
            f"| {row.case} | {_value(row)} | {row.target_text} | {VERDICT[row.passed]} | {row.detail} |"
            for row in section_rows
        ]
        out.append("")
    if notes:
        out += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    out += [f"![benchmark results]({image})", ""]
    return "\n".join(out)


def summary(rows: list[Row]) -> list[str]:
    """Markdown lines: how many targets were met, and each one missed."""
    judged = [row for row in rows if row.passed is not None]
    missed = [row for row in judged if not row.passed]
    lines = ["## Summary", "", f"{len(judged) - len(missed)} of {len(judged)} figures with a target met it."]
    if missed:
        lines += ["", "Missed:", ""]
        lines += [f"- {row.section}: {row.case}: {_value(row)} (target {row.target_text})"
                  + (f"; the measured floor is {row.floor:.2f}{row.unit}, beyond the target: it cannot be met"
                     if row.unreachable else "") for row in missed]
    return lines + [""]


def plot_results(rows: list[Row]) -> Figure:
    """One panel per section: a horizontal bar per case coloured by its verdict, the target dashed.
    A panel whose values span more than 20× gets a log axis."""
    sections = [(section, list(section_rows)) for section, section_rows in _sections(rows)]
    heights = [1.0 + 0.32 * len(section_rows) for _, section_rows in sections]
    with themed():
        fig, axes = plt.subplots(len(sections), 1, squeeze=False, figsize=(10, sum(heights) + 0.6),
                                 gridspec_kw={"height_ratios": heights})
        palette = dict(zip(("met", "MISSED", "no target"), colors(range(3)).values(), strict=True))
        for ax, (section, section_rows) in zip(axes[:, 0], sections, strict=True):
            values = [row.value for row in section_rows]
            verdicts = [VERDICT[row.passed] or "no target" for row in section_rows]
            ax.barh(range(len(values)), values, color=[palette[v] for v in verdicts])
            ax.set_yticks(range(len(values)), [row.case for row in section_rows], fontsize=8)
            ax.invert_yaxis()
            for target in {row.target for row in section_rows if row.target is not None}:
                ax.axvline(target, color="black", linestyle="--", linewidth=1)
            if max(values) > 20 * min(values):
                ax.set_xscale("log")
            ax.set_xlabel(UNIT_AXIS[section_rows[0].unit], fontsize=9)
            ax.set_title(section, fontsize=10, loc="left")
        handles = [Patch(color=color, label=label) for label, color in palette.items()]
        handles.append(Line2D([], [], color="black", linestyle="--", label="target"))
        fig.legend(handles=handles, loc="upper center", ncol=4, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (sum(heights) + 0.6)))
    return fig


def write_results(out: Path, stem: str, rows: list[Row], machine: dict[str, str], notes: list[str],
                  *, command: str) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.png`` into ``out``; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    md_path, png_path = out / f"{stem}.md", out / f"{stem}.png"
    md_path.write_text(markdown(rows, machine, notes, command=command, image=png_path.name), encoding="utf-8")
    fig = plot_results(rows)
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return md_path, png_path

