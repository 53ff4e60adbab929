"""``rnnlib.compare.sweep`` (run_comparison over one setting), its table and chart, the ``num_layers`` and
``dropout`` settings, and ``rnnlib.plots.plot_sweep``."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from rnnlib.compare import run_comparison, settings_for, sweep, sweep_chart, sweep_finals, sweep_table
from rnnlib.plots import plot_sweep

TINY = dict(n_train=32, epochs=1, hidden_dim=4, embed_dim=4)


def test_sweep_runs_the_comparison_once_per_value_in_order():
    results = sweep("distance", (3, 1), task="long-range", archs=["rnn", "lstm"], **TINY)
    assert list(results) == [3, 1]
    for distance, result in results.items():
        assert result["settings"].distance == distance
        assert result["task"].name == f"long-range (distance {distance})"
        assert list(result["histories"]) == ["rnn", "lstm"]
    # each value is exactly the run_comparison it stands for
    alone = run_comparison("long-range", ["lstm"], distance=1, **TINY)
    assert results[1]["histories"]["lstm"].train_loss == alone["histories"]["lstm"].train_loss
    finals = sweep_finals(results)
    assert finals == {arch: {d: results[d]["histories"][arch].test_metric[-1] for d in (3, 1)}
                      for arch in ("rnn", "lstm")}


def test_sweep_table_has_a_row_per_value_and_reads_none_as_off():
    results = sweep("clip", (None, 1.0), task="long-range", archs=["gru"], distance=2, **TINY)
    lines = sweep_table(results, "clip").splitlines()
    assert len(lines) == 3 and "GRU test acc" in lines[0]
    assert lines[1].split()[0] == "off" and lines[2].split()[0] == "1"
    assert lines[1].strip().endswith("s)") and "%" in lines[1]


def test_sweep_chart_draws_a_line_per_model_and_chance():
    results = sweep("distance", (1, 2), task="long-range", archs=["rnn", "gru"], **TINY)
    fig = sweep_chart(results, "distance d (filler words)")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "distance d (filler words)" and ax.get_ylabel() == "final test accuracy"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["RNN", "GRU"] and labels[2].startswith("chance (")
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2]


def test_sweep_rejects_bad_arguments_before_training():
    with pytest.raises(ValueError, match="swept setting"):
        sweep("distance", (1, 2), distance=3)
    with pytest.raises(ValueError, match="each once"):
        sweep("distance", (1, 1))
    with pytest.raises(ValueError, match="each once"):
        sweep("distance", ())
    with pytest.raises(ValueError, match="unknown setting 'width'"):
        sweep("width", (1, 2))
    with pytest.raises(ValueError, match="distance applies to the long-range task"):
        sweep("distance", (1, 2), task="sentiment")
    with pytest.raises(ValueError, match="lr must be"):  # the last value is bad: nothing is trained first
        sweep("lr", (1e-2, -1.0), **TINY)
    for show in (sweep_finals, lambda results: sweep_table(results, "lr"), lambda results: sweep_chart(results, "x")):
        with pytest.raises(ValueError, match="results must be what sweep returned"):
            show({})


def test_num_layers_and_dropout_reach_the_model():
    result = run_comparison("long-range", ["lstm"], distance=1, num_layers=2, dropout=0.25, **TINY)
    model = result["models"]["lstm"]
    assert model.rnn.num_layers == 2 and model.rnn.dropout == 0.25
    assert "num_layers=2, dropout=0.25" in str(result["settings"])
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0.0, 1.0\)"):
        settings_for("sentiment", dropout=1.0)
    with pytest.raises(ValueError, match="num_layers must be an integer"):
        settings_for("sentiment", num_layers=0)


def test_plot_sweep_labels_and_validation():
    fig = plot_sweep({"A": {5: 1.0, 10: 0.5}, "B": {5: 0.9}}, xlabel="distance (steps)", chance=0.5, title="t")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "distance (steps)" and ax.get_ylabel() == "final test accuracy"
    assert [t for t in ax.get_xticks()] == [5, 10]
    assert ax.get_ylim() == (0, 1.05)
    fig = plot_sweep({"A": {1: 0.1, 2: 0.05}}, xlabel="length T (steps)", metric="mse")
    assert fig.axes[0].get_ylabel() == "final test MSE"
    with pytest.raises(ValueError, match="finals must be"):
        plot_sweep({}, xlabel="x")
    with pytest.raises(ValueError, match=r"finals\['A'\]"):
        plot_sweep({"A": {}}, xlabel="x")
    with pytest.raises(ValueError, match="chance"):
        plot_sweep({"A": {1: 0.5}}, xlabel="x", chance=float("nan"))
