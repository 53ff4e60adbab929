"""One source of truth: limits come from rnnlib.limits, names and colours from rnnlib.architectures."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex

from rnnlib import audit, compare, labs, limits, plots, widgets
from rnnlib.architectures import ARCHITECTURES, arch_color, display_name
from rnnlib.training import History


def test_the_widgets_controls_span_the_limits():
    lab = widgets.gradient_flow_lab(hidden_dim=8, seq_len=10)
    assert (lab.hidden.min, lab.hidden.max) == limits.HIDDEN_RANGE
    assert (lab.seq_len.min, lab.seq_len.max) == limits.SEQ_LEN_RANGE
    assert (lab.radius.min, lab.radius.max) == limits.SPECTRAL_RADIUS_RANGE
    assert (lab.gate_bias.min, lab.gate_bias.max) == limits.GATE_BIAS_RANGE
    assert (lab.train_steps.min, lab.train_steps.max) == limits.TRAIN_STEPS_RANGE
    assert (10**lab.max_norm.min, 10**lab.max_norm.max) == limits.MAX_NORM_RANGE
    assert (lab.seed.min, lab.seed.max) == limits.SEED_RANGE
    assert [label for label, _ in lab.arch.options] == [arch.name for arch in ARCHITECTURES.values()]


def test_the_clipping_lab_lr_slider_spans_the_limit():
    lab = widgets.clipping_lab(steps=10)
    assert math.isclose(10**lab.lr.min, limits.LR_RANGE[0]) and math.isclose(10**lab.lr.max, limits.LR_RANGE[1])
    assert (lab.steps.min, lab.steps.max) == limits.CLIP_STEPS_RANGE


def test_the_labs_read_the_same_objects():
    assert labs.HIDDEN_RANGE is limits.HIDDEN_RANGE and labs.SEED_RANGE is limits.SEED_RANGE


def test_no_second_table_of_architecture_names():
    assert not hasattr(compare, "MODEL_NAMES") and not hasattr(audit, "ARCH_NAMES")
    assert [(display_name(key), key) for key in ARCHITECTURES] == widgets.ARCH_OPTIONS


def test_a_plot_keyed_by_architecture_uses_each_architectures_colour():
    history = History(metric="accuracy", train_loss=[1.0], train_metric=[0.5], test_loss=[1.0],
                      test_metric=[0.5], grad_norm=[1.0], seconds=[1.0])
    names = {display_name(arch): history for arch in ("lstm", "rnn")}  # not the table's order
    fig = plots.plot_comparison(names, {name: 10 for name in names})
    lines = fig.axes[0].get_lines()
    assert [to_hex(line.get_color()) for line in lines] == [arch_color("lstm"), arch_color("rnn")]
    plt.close(fig)
    assert to_hex(plots.colors(["bilstm"])["bilstm"]) == arch_color("bilstm")
    assert len(set(map(to_hex, plots.colors(["a", "b"]).values()))) == 2  # other labels: the palette


def test_the_comparison_labels_its_models_by_display_name():
    result = compare.run_comparison("adding", ("rnn", "bilstm"), epochs=1, length=6, n_train=16, hidden_dim=4)
    table = compare.summary_table(result)
    assert "\nRNN " in table and "\nBiLSTM " in table and "SimpleRNN" not in table
