"""The benchmark runs and reports (smoke test, quick mode), and what it compares is comparable.

No timing thresholds here: timings depend on the machine. What is checked: every figure is written
and is a positive finite number, the timing helper alternates its candidates, and the hand-written
baselines do the same work as rnnlib (same final weights, same accuracy).
"""

import contextlib
import io
import math
from unittest import mock

import pytest
import torch

from rnnlib.data import sentiment_task
from rnnlib.models import build_model
from rnnlib.training import fit
from tools import benchmarks
from tools.benchmarks import runner
from tools.benchmarks.seed_run import SeedModel, seed_collate, seed_script
from tools.benchmarks.timing import Row, time_interleaved
from tools.benchmarks.training_overhead import BareClassifier, bare_loop


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``python -m tools.benchmarks --quick --out DIR``, keeping the rows it computed."""
    out = tmp_path_factory.mktemp("bench")
    rows = []
    run = runner.run_benchmarks

    def keep_rows(*args, **kwargs):
        rows.extend(run(*args, **kwargs))
        return rows

    console = io.StringIO()
    with mock.patch.object(runner, "run_benchmarks", keep_rows), contextlib.redirect_stdout(console):
        assert benchmarks.main(["--quick", "--out", str(out)]) == 0
    return out, rows, console.getvalue()


def test_quick_run_writes_table_markdown_and_plot(quick_run):
    out, rows, console = quick_run
    markdown = (out / "quick-results.md").read_text(encoding="utf-8")
    assert (out / "quick-results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "results.md").exists()  # a quick run never overwrites the full results
    for heading in ("## Machine", "CPU", "torch threads", "## Results"):
        assert heading in markdown
    sections = {row.section for row in rows}
    assert len(sections) >= 7  # threads, training, diagnostics, labs (2), seed, scratch, roofline
    for section in sections:
        assert f"### {section}" in markdown
        assert section in console
    for row in rows:
        assert row.case in markdown


def test_quick_run_figures_are_positive_finite(quick_run):
    _, rows, _ = quick_run
    assert rows
    for row in rows:
        assert math.isfinite(row.value) and row.value > 0, row
        assert row.unit in ("×", "s", "%")
    training = [row for row in rows if row.section.startswith("1.")]
    assert {row.case for row in training} == {"rnn", "gru", "lstm", "bilstm"}
    assert all("same final weights: yes" in row.detail for row in training)
    batched = [row for row in rows if row.section.startswith("3d.")]
    assert batched and all("the same update: yes" in row.detail for row in batched)
    labs_ = [row for row in rows if row.section.startswith(("3b.", "3c."))]
    first, last = ({row.case: row.value for row in labs_ if row.section.startswith(p)} for p in ("3b.", "3c."))
    assert first and all(first[case] <= last[case] for case in first)  # the first image never comes after the last


def test_time_interleaved_alternates_and_counts():
    calls = []
    timings = time_interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1,
        setup=lambda name: calls.append(name.upper()),
    )
    assert calls == ["A", "a", "B", "b", "B", "b", "A", "a", "A", "a", "B", "b", "B", "b", "A", "a"]
    assert [len(v) for v in timings.seconds.values()] == [3, 3]  # the warm-up round is not kept
    assert timings.ratio("a", "b") > 0
    with pytest.raises(ValueError, match="repeats"):
        time_interleaved({"a": lambda: None}, repeats=0)


def test_row_verdicts():
    assert Row("s", "c", 1.05, target=1.10).passed is True
    assert Row("s", "c", 1.2, target=1.10).passed is False
    assert Row("s", "c", 0.9, target=1.0, higher_is_better=True).passed is False
    assert Row("s", "c", 2.0).passed is None
    assert Row("s", "c", 0.2, unit="s", target=0.3).target_text == "≤ 0.3 s"
    assert Row("s", "c", 2.8, target=2.0, floor=3.1).unreachable  # the target is below the measured floor
    assert not Row("s", "c", 2.8, target=2.0, floor=1.5).unreachable
    assert not Row("s", "c", 2.8, target=2.0).unreachable


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm", "bilstm"])
def test_bare_loop_does_the_same_work_as_fit(arch):
    """The baseline of benchmark 1 trains to the same weights as fit (same batches, same maths)."""
    task = sentiment_task(n=150)
    torch.manual_seed(0)
    model = build_model(arch, **task.model_kwargs())
    bare = BareClassifier(model)
    settings = dict(epochs=2, lr=1e-2, max_norm=0.5, batch_size=32, seed=3)
    fit(model, task.train, progress=False, **settings)
    bare_loop(bare, task.train, **settings)
    for (name, p), q in zip(model.named_parameters(), bare.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4, msg=name)


def test_seed_recreation_reads_the_true_last_token_and_learns():
    """The re-created seed model packs: a padded batch gives each sentence its unpadded output."""
    task = sentiment_task(n=200)
    torch.manual_seed(0)
    for arch in ("gru", "bilstm"):
        model = SeedModel(arch, len(task.vocab)).eval()
        items = [(torch.tensor([5, 6, 7]), 0), (torch.tensor([8, 9, 5, 6, 7, 9]), 1)]
        x, _, lengths = seed_collate(items)
        assert x.shape == (2, 6) and lengths.tolist() == [3, 6]
        alone = model(items[0][0][None], torch.tensor([3]))
        torch.testing.assert_close(model(x, lengths)[:1], alone)
    accuracy = seed_script(task, ("lstm",), epochs=3)
    assert 0.5 < accuracy["lstm"] <= 1.0
