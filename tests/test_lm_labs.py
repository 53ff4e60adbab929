"""Notebook 06's figures, labs and command: they draw, follow their controls, refuse bad input."""

import matplotlib.pyplot as plt
import pytest
import torch

import rnnlib
from rnnlib import lm, lm_plots, lm_widgets
from rnnlib.cli import main

TEXT = 'def f(x):\n    return "x" + (x)\n' * 3


@pytest.fixture(scope="module")
def setting():
    vocab = lm.CharVocab.from_text(TEXT)
    torch.manual_seed(0)
    models = {arch: rnnlib.build_lm(arch, vocab_size=len(vocab), embed_dim=4, hidden_dim=8) for arch in ("rnn", "lstm")}
    return vocab, models


def test_temperature_lab_redraws_with_new_samples_and_reports_bad_input(setting):
    vocab, models = setting
    lab = lm_widgets.temperature_lab(models["lstm"], vocab, prompt="def ", temperature=0.5, length=30)
    first = lab.last_result
    assert lab.png is not None and len(first["samples"]) == lm_widgets.SAMPLES
    assert first["samples"][0] == lm.sample(models["lstm"], vocab, "def ", 30, temperature=0.5, seed=0)
    assert list(first["probs"]) == ["T = 0.5", "T = 1 (the model's own)"]
    lab.temperature.value = 1.5  # no event loop here: redraws at once
    assert "temperature 1.5" in lab.readout.value and lab.last_result["samples"] != first["samples"]
    assert lab.readout.value.count('class="rnnlib-sample"') == lm_widgets.SAMPLES
    drawn = lab.redraws
    lab.prompt.value = "dZ"  # Z is not in the vocabulary: a message, the last figure stays
    assert "rnnlib-error" in lab.readout.value and "prompt" in lab.readout.value and lab.redraws == drawn
    with pytest.raises(ValueError, match="temperature"):
        lm_widgets.temperature_lab(models["lstm"], vocab, temperature=9.0)


def test_connectivity_lab_follows_its_position(setting):
    vocab, models = setting
    snippet = TEXT[:30]
    lab = lm_widgets.connectivity_lab(models, vocab, snippet, position=10)
    assert set(lab.grids) == {"rnn", "lstm"} and lab.grids["rnn"].shape == (29, 29)
    assert len(lab.last_result["rows"]["lstm"]) == 11 and "position 10" in lab.readout.value
    lab.position.value = 20
    assert len(lab.last_result["rows"]["rnn"]) == 21 and "position 20" in lab.readout.value
    with pytest.raises(ValueError, match="position"):
        lm_widgets.connectivity_lab(models, vocab, snippet, position=29)


def test_figures_are_labelled_and_refuse_mismatched_input(setting):
    vocab, models = setting
    ids = vocab.encode(TEXT)
    history = lm.fit_lm(models["rnn"], ids[:70], ids[70:], steps=4, seq_len=5, batch_size=2, eval_every=2,
                        progress=False)
    fig = lm_plots.plot_perplexity({"rnn": history}, vocab_size=len(vocab), best=2.0)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and "perplexity" in ax.get_ylabel() and "step" in ax.get_xlabel()
    assert any(f"uniform over {len(vocab)}" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig)
    grid = lm.connectivity(models["lstm"], ids[:12])
    fig = lm_plots.plot_connectivity({"lstm": grid}, TEXT[:12], position=4)
    assert "input position" in fig.axes[0].get_xlabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="grids"):
        lm_plots.plot_connectivity({"lstm": grid}, TEXT[:20])
    fig = lm_plots.plot_text_values("ab\ncd", [0.1, -0.2, 0.0, 0.3, 0.5], truth=[0, 1, 1, 0, 0])
    assert len(fig.axes[0].texts) == 5
    plt.close(fig)
    with pytest.raises(ValueError, match="values"):
        lm_plots.plot_text_values("abc", [1.0])


def test_lm_command_writes_a_report_and_refuses_bad_options(tmp_path, capsys):
    out = tmp_path / "report.md"
    status = main(["lm", "--n-chars", "20000", "--steps", "3", "--eval-every", "2", "--hidden", "8", "--embed", "4",
                   "--seq-len", "10", "--batch-size", "4", "--length", "20", "--temperatures", "0.5", "1",
                   "--out", str(out)])
    assert status == 0
    report = out.read_text()
    assert report.startswith("# Character language model") and "python -m rnnlib lm --arch lstm" in report
    assert "run time" in report and "| 3 |" in report and "**temperature 0.5**" in report
    assert main(["lm", "--out", str(tmp_path / "missing" / "r.md")]) == 2
    assert main(["lm", "--temperatures", "0", "--out", str(out)]) == 2
    assert "temperatures" in capsys.readouterr().err
