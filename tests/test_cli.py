"""``python -m rnnlib compare`` with tiny runs, its reusable ``run_comparison``, and bad options."""

import subprocess
import sys

import pytest
import torch

from rnnlib import TrainingDiverged, build_model, compare, count_parameters
from rnnlib.cli import main
from rnnlib.compare import TASK_DEFAULTS, run_comparison, settings_for

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY_LONG_RANGE = ["--task", "long-range", "--distance", "3", "--n-train", "64", "--hidden", "4"]
TINY_ADDING = ["--task", "adding", "--length", "6", "--n-train", "64", "--hidden", "4"]


def run_cli(capsys, *args):
    status = main(["compare", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_sentiment_one_epoch_two_archs_prints_epochs_table_and_writes_the_chart(capsys, tmp_path):
    png = tmp_path / "chart.png"
    status, out, _ = run_cli(capsys, "--epochs", "1", "--archs", "rnn", "bilstm", "--out", str(png))
    assert status == 0
    assert "Task: sentiment: 1600 train / 400 test" in out
    assert "clip=5.0" in out and "lr=0.001" in out and "hidden_dim=64" in out  # the seed's settings
    assert out.count("epoch   1/1 | train loss") == 2
    table = out[out.index("model "):]
    assert "RNN" in table and "BiLSTM" in table and "test acc" in table and "GRU" not in table
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_long_range_tiny_quiet_prints_only_the_table(capsys, tmp_path):
    png = tmp_path / "lr.png"
    status, out, _ = run_cli(capsys, *TINY_LONG_RANGE, "--epochs", "1", "--archs", "rnn", "lstm",
                             "--quiet", "--out", str(png))
    assert status == 0
    assert "epoch" not in out and "Task:" not in out
    assert "forget-gate bias 3" in out  # the long-range default for LSTMs
    assert "PyTorch default init" in out  # the RNN has no forget gate
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_adding_tiny_reports_mse(capsys, tmp_path):
    status, out, _ = run_cli(capsys, *TINY_ADDING, "--epochs", "2", "--archs", "gru",
                             "--forget-bias", "none", "--clip", "0", "--out", str(tmp_path / "a.png"))
    assert status == 0
    assert "Task: adding (T = 6): 64 train / 500 test" in out and "clip=off" in out
    assert "test MSE" in out and out.count("train MSE") == 2


def test_run_comparison_resets_the_seed_per_model_and_counts_parameters():
    tiny = {"epochs": 1, "n_train": 32, "hidden_dim": 4, "length": 5}
    first = run_comparison("adding", ("rnn", "lstm"), **tiny)
    again = run_comparison("adding", ("lstm",), **tiny)
    # the LSTM trained second repeats the LSTM trained alone: the seed is reset before each model
    assert first["histories"]["lstm"].train_loss == again["histories"]["lstm"].train_loss
    for name, p in first["models"]["lstm"].state_dict().items():
        assert torch.equal(p, again["models"]["lstm"].state_dict()[name]), name
    reference = build_model("rnn", input_dim=2, output_dim=1, hidden_dim=4)
    assert first["params"] == {"rnn": count_parameters(reference),
                               "lstm": count_parameters(first["models"]["lstm"])}
    assert set(first["seconds"]) == {"rnn", "lstm"} and first["total_seconds"] > 0
    assert first["settings"] == settings_for("adding", **tiny)


def test_task_defaults_follow_the_seed_and_the_measured_settings():
    seed = TASK_DEFAULTS["sentiment"]
    assert (seed.epochs, seed.batch_size, seed.embed_dim, seed.hidden_dim, seed.lr, seed.clip) == (
        20, 64, 32, 64, 1e-3, 5.0)
    assert seed.forget_bias is None  # PyTorch's initialisation stays the default
    long_range = TASK_DEFAULTS["long-range"]
    assert (long_range.hidden_dim, long_range.lr, long_range.clip, long_range.forget_bias) == (
        32, 1e-2, 1.0, 3.0)


def test_help_lists_the_task_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "task defaults:" in out and "--forget-bias" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "required: command"),
        (["compare", "--task", "poetry"], "invalid choice: 'poetry'"),
        (["compare", "--archs", "transformer"], "invalid choice: 'transformer'"),
        (["compare", "--epochs", "0"], "--epochs: must be an integer >= 1"),
        (["compare", "--epochs", "two"], "--epochs: must be an integer >= 1"),
        (["compare", "--distance", "-1"], "--distance: must be an integer >= 0"),
        (["compare", "--forget-bias", "high"], "--forget-bias: must be a number or 'none'"),
        (["compare", "--lr", "fast"], "--lr: invalid float value"),
    ],
)
def test_bad_options_exit_2_with_argparse_message(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clip", "-1"], "error: clip must be a number in [0.0, inf]"),
        (["--lr", "0"], "error: lr must be a number"),
        (["--archs", "rnn", "rnn"], "error: archs must name each"),
        (["--distance", "5"], "error: distance applies to the long-range task, not sentiment"),
        (["--task", "adding", "--embed", "8"], "error: embed_dim applies to the sentiment and long-range"),
        (["--out", "no/such/folder/chart.png"], "error: --out: folder 'no/such/folder' does not exist"),
    ],
)
def test_bad_values_exit_2_with_error_message(capsys, args, message):
    status, out, err = run_cli(capsys, *args)
    assert status == 2
    assert message in err
    assert "Task:" not in out  # rejected before any training


def test_diverged_training_exits_1_with_the_advice(capsys, monkeypatch):
    def diverge(*args, **kwargs):
        raise TrainingDiverged("training diverged at epoch 1, step 3: try a lower learning rate")

    monkeypatch.setattr(compare, "run_comparison", diverge)  # cli imports it when the command runs
    status, _, err = run_cli(capsys, "--epochs", "1")
    assert status == 1 and "error: training diverged" in err and "lower learning rate" in err


def test_python_dash_m_rnnlib_exits_non_zero_on_a_bad_option():
    done = subprocess.run([sys.executable, "-m", "rnnlib", "compare", "--epochs", "0"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--epochs: must be an integer >= 1" in done.stderr
