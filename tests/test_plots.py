"""Every plot returns a Figure with labelled axes, never draws NaN, and rejects bad input clearly."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import seaborn as sns
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from rnnlib import build_model, fit, set_seed
from rnnlib.architectures import arch_color
from rnnlib.data import SequenceDataset
from rnnlib.diagnostics import gate_traces
from rnnlib.plots import (
    HEATMAP_MAX_WIDTH,
    arch_style,
    plot_comparison,
    plot_decay_during_training,
    plot_gate_heatmap,
    plot_grad_norms,
    plot_history,
    plot_jacobian_norms,
    plot_step_stats,
    use_theme,
)
from rnnlib.training import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def history(metric="accuracy", epochs=3, offset=0.0, test=True) -> History:
    h = History(metric=metric)
    for e in range(epochs):
        h.train_loss.append(1.0 / (e + 1))
        h.train_metric.append(0.5 + 0.1 * e + offset)
        h.grad_norm.append(1.0)
        h.seconds.append(0.5 + offset)
        if test:
            h.test_loss.append(1.1 / (e + 1))
            h.test_metric.append(0.45 + 0.1 * e + offset)
    return h


def main_axes(fig: Figure):
    """The plotting axes, without colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def assert_labelled_and_finite(fig: Figure, *, shared_x: bool = False):
    assert isinstance(fig, Figure)
    axes = main_axes(fig)
    assert axes
    for i, ax in enumerate(axes):
        assert ax.get_ylabel(), f"axis {i} has no y label"
        if not shared_x or i == len(axes) - 1:
            assert ax.get_xlabel(), f"axis {i} has no x label"
        for line in ax.get_lines():
            assert np.isfinite(np.asarray(line.get_ydata(), dtype=float)).all(), line.get_label()
            assert np.isfinite(np.asarray(line.get_xdata(), dtype=float)).all(), line.get_label()


def labels_of(ax):
    return [line.get_label() for line in ax.get_lines()]


# --- the architecture comparison ----------------------------------------------------------------


def test_plot_comparison_panels_values_and_file(tmp_path):
    histories = {"RNN": history(), "LSTM": history(offset=0.05)}
    path = tmp_path / "model_comparison.png"
    fig = plot_comparison(histories, {"RNN": 1234, "LSTM": 45_678}, title="seed task", path=path)
    assert_labelled_and_finite(fig)
    assert path.stat().st_size > 10_000
    curve, final, seconds = fig.axes
    assert curve.get_ylabel() == "test accuracy" and curve.get_xlabel() == "epoch"
    assert labels_of(curve) == ["RNN", "LSTM"]
    heights = [bar.get_height() for bar in final.patches]
    assert heights == pytest.approx([0.65, 0.70])
    assert [t.get_text() for t in final.texts] == ["65.0%", "70.0%"]  # value labels on the bars
    assert [bar.get_height() for bar in seconds.patches] == pytest.approx([1.5, 1.65])
    assert seconds.get_ylabel() == "training time (s)"
    assert [t.get_text() for t in final.get_xticklabels()] == ["RNN\n1.23k", "LSTM\n45.7k"]


def test_plot_comparison_mse_label():
    fig = plot_comparison({"GRU": history("mse")}, {"GRU": 10})
    assert fig.axes[0].get_ylabel() == "test MSE"
    assert fig.axes[1].get_ylabel() == "final test MSE"


def test_plot_comparison_bad_input():
    with pytest.raises(ValueError, match="params"):
        plot_comparison({"RNN": history()}, {})
    with pytest.raises(ValueError, match="one metric"):
        plot_comparison({"a": history(), "b": history("mse")}, {"a": 1, "b": 1})
    with pytest.raises(ValueError, match="no test metric"):
        plot_comparison({"a": history(test=False)}, {"a": 1})
    with pytest.raises(ValueError, match="non-empty dict"):
        plot_comparison({}, {})
    with pytest.raises(ValueError, match="must be a History"):
        plot_comparison({"a": [0.5]}, {"a": 1})


# --- gradient norms over time -------------------------------------------------------------------


def test_plot_grad_norms_log_axis_faint_and_threshold():
    norms = np.logspace(-12, 0, 20)
    fig = plot_grad_norms({"RNN": norms}, faint={"RNN": norms * 10}, threshold=0.01, title="t")
    assert_labelled_and_finite(fig)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "time step t"
    faint, main, level = ax.get_lines()
    assert faint.get_label() == "RNN (previous)" and faint.get_alpha() < 0.5
    assert faint.get_linewidth() < main.get_linewidth()
    np.testing.assert_array_equal(main.get_xdata(), np.arange(1, 21))  # steps 1 … T
    assert level.get_ydata()[0] == pytest.approx(0.01 * norms[-1])  # memory_span's level


def test_plot_grad_norms_masks_zeros_and_nan():
    norms = np.array([0.0, 0.0, 1e-30, np.nan, 1e-3, 1.0])
    fig = plot_grad_norms({"vanilla": torch.tensor(norms)})
    assert_labelled_and_finite(fig)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [3, 5, 6])
    assert "3 steps at 0/NaN not shown" in line.get_label()


def test_plot_grad_norms_draws_into_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    out = plot_grad_norms({"a": [1.0, 2.0]}, ax=right)
    assert out is fig and len(right.get_lines()) == 1 and not left.get_lines()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(curves=[1.0, 2.0]), "curves must be a non-empty dict"),
        (dict(curves={}), "curves must be a non-empty dict"),
        (dict(curves={"a": [[1.0, 2.0]]}), "1-D"),
        (dict(curves={"a": []}), "1-D"),
        (dict(curves={"a": ["x"]}), "numbers"),
        (dict(curves={"a": [1.0]}, threshold=0.0), "threshold"),
        (dict(curves={"a": [1.0]}, faint=[1.0]), "faint"),
        (dict(curves={"a": [1.0]}, ax="left"), "ax must be"),
    ],
)
def test_plot_grad_norms_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_grad_norms(**kwargs)


def test_plot_jacobian_norms_with_theory_line():
    measured = 0.5 ** np.arange(9, -1, -1.0)
    fig = plot_jacobian_norms({"RNN": measured}, radii={"RNN": 0.6})
    assert_labelled_and_finite(fig)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    line, theory = ax.get_lines()
    np.testing.assert_allclose(theory.get_ydata(), 0.6 ** np.arange(9, -1, -1.0))  # ρ^(T−t)
    assert plot_jacobian_norms(measured).axes[0].get_lines()[0].get_label() == "measured"
    with pytest.raises(ValueError, match="radii"):
        plot_jacobian_norms({"RNN": measured}, radii={"GRU": 0.5})


# --- gate heatmaps ------------------------------------------------------------------------------


def test_plot_gate_heatmap_from_gate_traces_with_tokens():
    set_seed(0)
    model = build_model("lstm", vocab_size=10, embed_dim=4, hidden_dim=5)
    traces = gate_traces(model, torch.tensor([[3, 4, 5, 6]]))
    tokens = ["a", "good", "film", "indeed"]
    fig = plot_gate_heatmap(traces["f"][0], tokens=tokens, title="forget gate")
    assert_labelled_and_finite(fig)
    ax = main_axes(fig)[0]
    assert ax.get_ylabel() == "hidden unit (index)" and "time step" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1  a", "2  good", "3  film", "4  indeed"]
    mesh = ax.collections[0]
    assert mesh.get_clim() == (0.0, 1.0)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(5, 4), traces["f"][0].T)
    colorbar = fig.axes[-1]
    assert colorbar.get_ylabel() == "gate activation"

    fig = plot_gate_heatmap({k: v[0] for k, v in traces.items()}, tokens=tokens)
    assert len(main_axes(fig)) == 5
    assert_labelled_and_finite(fig, shared_x=True)
    assert {ax.get_title() for ax in main_axes(fig)} >= {"forget gate f_t", "cell state c_t"}


def test_plot_gate_heatmap_change_panel_is_centred_on_zero():
    change = np.array([[0.0, 0.0], [2.0, -1.0], [3.0, -0.5]])  # (time 3, hidden 2)
    fig = plot_gate_heatmap({"f": np.full((3, 2), 0.9), "Δc": change})
    gate_ax, change_ax = main_axes(fig)
    assert gate_ax.collections[0].get_clim() == (0.0, 1.0)
    assert change_ax.get_title() == "change of the cell state c_t: Δc_t"
    # centred on 0: no change gets the middle (neutral) colour of the diverging map, so a sign reads as a colour
    mesh = change_ax.collections[0]
    np.testing.assert_allclose(mesh.to_rgba(0.0), sns.color_palette("vlag", as_cmap=True)(0.5), atol=0.02)
    assert fig.axes[-1].get_ylabel() == "change (edited − original)"


def test_plot_gate_heatmap_leaves_padding_blank():
    gates = np.full((4, 3), 0.5)
    gates[2:] = np.nan
    fig = plot_gate_heatmap(gates)
    mesh = main_axes(fig)[0].collections[0]
    assert np.ma.count_masked(mesh.get_array()) == 6


def test_plot_gate_heatmap_bad_input():
    with pytest.raises(ValueError, match="one sequence"):
        plot_gate_heatmap(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="one label per step"):
        plot_gate_heatmap(np.zeros((4, 3)), tokens=["a"])
    with pytest.raises(ValueError, match="same number of steps"):
        plot_gate_heatmap({"f": np.zeros((4, 3)), "i": np.zeros((5, 3))})
    with pytest.raises(ValueError, match="non-empty"):
        plot_gate_heatmap({})


# --- training curves ----------------------------------------------------------------------------


def test_plot_history_train_dashed_test_solid():
    fig = plot_history({"RNN": history(), "GRU": history(offset=0.1)})
    assert_labelled_and_finite(fig)
    loss, metric = fig.axes
    styles = {line.get_label(): line.get_linestyle() for line in loss.get_lines()}
    assert styles == {"RNN train": "--", "RNN test": "-", "GRU train": "--", "GRU test": "-"}
    assert metric.get_ylabel() == "accuracy" and loss.get_ylabel() == "loss (cross-entropy)"
    assert len(plot_history({"RNN": history("mse")}, metric=False).axes) == 1


def test_plot_history_bad_input():
    with pytest.raises(ValueError, match="no epoch"):
        plot_history({"a": History(metric="accuracy")})


@pytest.fixture(scope="module")
def step_histories():
    g = torch.Generator().manual_seed(0)
    data = SequenceDataset(torch.randint(1, 8, (48, 6), generator=g), torch.rand(48, generator=g),
                           torch.full((48,), 6))
    histories = {}
    for label, max_norm in (("no clipping", None), ("clip 0.05", 0.05)):
        set_seed(0)
        model = build_model("rnn", vocab_size=8, hidden_dim=8, output_dim=1)
        histories[label] = fit(model, data, epochs=2, lr=1e-2, max_norm=max_norm, batch_size=8,
                               record_steps=True, progress=False)
    return histories


def test_plot_step_stats_marks_clipping(step_histories):
    fig = plot_step_stats(step_histories)
    assert_labelled_and_finite(fig)
    loss, norm = fig.axes
    assert loss.get_yscale() == norm.get_yscale() == "log"
    assert loss.get_xlabel() == "optimiser step"
    clipped = step_histories["clip 0.05"].clipped
    assert sum(clipped) > 0
    (marks,) = [c for c in norm.collections if isinstance(c, PathCollection)]
    assert len(marks.get_offsets()) == sum(clipped)
    assert "clip 0.05: max_norm = 0.05" in labels_of(norm)
    assert not any("no clipping: after" in label for label in labels_of(norm))


def test_plot_step_stats_needs_step_records():
    with pytest.raises(ValueError, match="record_steps=True"):
        plot_step_stats({"a": history()})


# --- theme --------------------------------------------------------------------------------------


def test_plots_leave_global_style_alone_and_use_theme_sets_it():
    before = dict(plt.rcParams)
    plot_grad_norms({"a": [1.0, 0.5]})
    assert dict(plt.rcParams) == before
    try:
        use_theme()
        assert plt.rcParams["axes.facecolor"] == "white" and plt.rcParams["axes.grid"]
    finally:
        plt.rcParams.update(before)


# --- learner-readable figures: architecture styles, legends, chance, marked and shared heatmaps ----


def test_arch_style_colours_by_architecture_and_dashes_untrained():
    assert arch_style("gru") == {"color": arch_color("gru"), "linestyle": "-"}
    assert arch_style("rnn", trained=False) == {"color": arch_color("rnn"), "linestyle": "--"}
    assert arch_color("rnn") != arch_color("gru")
    with pytest.raises(ValueError, match="arch"):
        arch_style("transformer")


def test_styles_reach_the_lines_and_many_entries_put_the_legend_beside_the_axes():
    curves = {name: np.geomspace(1e-3, 1.0, 10) for name in ("GRU, untrained", "GRU", "RNN", "RNN, untrained")}
    styles = {"GRU, untrained": arch_style("gru", trained=False), "RNN": arch_style("rnn")}
    ax = plot_grad_norms(curves, styles=styles).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["GRU, untrained"].get_linestyle() == "--"
    assert lines["GRU, untrained"].get_color() == arch_color("gru")
    assert lines["RNN"].get_color() == arch_color("rnn")
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().bounds[0] > ax.get_window_extent().x1 - 1  # right of the axes
    with pytest.raises(ValueError, match="styles"):
        plot_grad_norms(curves, styles={"LSTM": arch_style("lstm")})


def test_plot_history_accuracy_axis_from_0_to_100_percent_with_chance_line():
    fig = plot_history({"RNN": history(), "GRU": history(offset=0.1)}, chance=0.5,
                       colors_by_label={"GRU": arch_color("gru")})
    loss_ax, accuracy_ax = fig.axes
    assert accuracy_ax.get_ylim() == (0.0, 1.02) and loss_ax.get_ylim()[0] == 0.0
    chance = [line for line in accuracy_ax.get_lines() if line.get_label().startswith("chance")]
    assert len(chance) == 1 and chance[0].get_ydata()[0] == 0.5
    gru = [line for line in accuracy_ax.get_lines() if line.get_label().startswith("GRU")]
    assert {line.get_color() for line in gru} == {arch_color("gru")}
    with pytest.raises(ValueError, match="chance"):
        plot_history({"RNN": history()}, chance=2.0)


def test_plot_gate_heatmap_marks_a_step_shares_the_change_scale_and_stays_narrow():
    time = 60
    change = np.zeros((time, 4))
    change[5:, 0] = 0.5
    tokens = [f"w{t}" for t in range(time)]
    fig = plot_gate_heatmap({"f": np.full((time, 4), 0.9), "Δc": change}, tokens=tokens, mark=5, change_limit=2.0)
    assert fig.get_size_inches()[0] <= HEATMAP_MAX_WIDTH
    gate_ax, change_ax = main_axes(fig)
    assert change_ax.collections[0].get_clim() == (-2.0, 2.0)  # the given symmetric scale, not ±0.5
    outlines = [p for p in gate_ax.patches if not p.get_fill()]
    assert len(outlines) == 1 and outlines[0].get_x() == 5
    bold = [t for t in change_ax.get_xticklabels() if t.get_fontweight() == "bold"]
    assert [t.get_text() for t in bold] == ["6  w5"]
    default = plot_gate_heatmap({"Δa": change, "Δc": 3 * change})  # one scale shared by all change panels
    assert {ax.collections[0].get_clim() for ax in main_axes(default)} == {(-1.5, 1.5)}
    with pytest.raises(ValueError, match="mark"):
        plot_gate_heatmap(change, mark=time)


def test_plot_decay_during_training_shades_the_held_band():
    fig = plot_decay_during_training({"seed 0": [1e-11, 1e-6, 3e-3], "seed 1": [1e-12, 0.5, 2.0]})
    ax = fig.axes[0]
    band = [p for p in ax.patches if p.get_label().startswith("held")]
    assert len(band) == 1
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["seed 0"].get_xdata()) == [0, 1, 2]  # epoch 0 is before training
    assert ax.get_yscale() == "log"
