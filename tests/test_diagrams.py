"""Cell diagrams: every element is drawn, exactly the highlighted paths are coloured, bad input is named."""

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

from rnnlib import diagrams  # noqa: E402


def drawn(fig):
    """{element name: set of colours of its lines and edges} from the artists' gids."""
    colours = {}
    for artist in fig.axes[0].get_children():
        gid = artist.get_gid()
        if not gid or gid.endswith(":label"):
            continue
        name = gid.split(":")[1]
        if isinstance(artist, FancyBboxPatch | Circle | FancyArrowPatch):
            colours.setdefault(name, set()).add(to_hex(artist.get_edgecolor()))
        elif hasattr(artist, "get_color") and not hasattr(artist, "get_text"):
            colours.setdefault(name, set()).add(to_hex(artist.get_color()))
        else:
            colours.setdefault(name, set())
    return colours


@pytest.mark.parametrize("cell", diagrams.CELLS)
def test_every_element_is_drawn_and_nothing_is_highlighted_by_default(cell):
    fig = diagrams.draw_cell(cell)
    colours = drawn(fig)
    assert set(colours) == {e.name for e in diagrams.elements(cell)}
    assert diagrams.HIGHLIGHT not in set().union(*colours.values())
    assert diagrams.TITLES[cell] == fig.axes[0].get_title()
    plt.close(fig)


@pytest.mark.parametrize("cell, path", [(c, p) for c in diagrams.CELLS for p in diagrams.PATH_NAMES[c]])
def test_highlight_colours_exactly_its_path(cell, path):
    fig = diagrams.draw_cell(cell, highlight=path)
    on = {e.name for e in diagrams.elements(cell) if path in e.paths}
    assert on, f"{cell}: path {path} has no elements"
    for name, colours in drawn(fig).items():
        if not colours:
            continue  # text only
        if name in on:
            assert colours == {diagrams.HIGHLIGHT} or diagrams.HIGHLIGHT in colours, name
        else:
            assert diagrams.HIGHLIGHT not in colours and diagrams.INK not in colours, name  # greyed
    plt.close(fig)


def test_the_lstm_cell_path_is_the_belt():
    belt = {e.name for e in diagrams.elements("lstm") if "cell" in e.paths}
    assert belt == {"c_prev", "times_f", "belt", "plus", "c"}  # no box: no matrix, no squashing on the belt


def test_several_paths_at_once():
    fig = diagrams.draw_cell("lstm", highlight=["input", "candidate"])
    colours = drawn(fig)
    assert diagrams.HIGHLIGHT in colours["i_box"] and diagrams.HIGHLIGHT in colours["g_box"]
    assert diagrams.HIGHLIGHT not in colours["f_box"]
    plt.close(fig)


def test_lstm_build_up_adds_one_stage_at_a_time():
    figs = diagrams.lstm_build_up()
    assert len(figs) == len(diagrams.LSTM_STAGES) == 4
    shown = [set(drawn(fig)) for fig in figs]
    assert all(a < b for a, b in zip(shown, shown[1:]))
    assert shown[-1] == {e.name for e in diagrams.elements("lstm")}
    assert "f_box" in shown[1] and "i_box" not in shown[1] and "o_box" not in shown[2]
    for fig, paths in zip(figs, diagrams.LSTM_STAGES):
        colours = drawn(fig)
        highlighted = {name for name, c in colours.items() if diagrams.HIGHLIGHT in c}
        assert highlighted == {e.name for e in diagrams.elements("lstm") if set(e.paths) & set(paths)}
        plt.close(fig)


def test_figure_fits_a_notebook_and_draws_into_given_axes():
    fig = diagrams.draw_cell("gru")
    width, height = fig.get_size_inches() * fig.dpi
    assert width == pytest.approx(900) and 400 < height < 700
    plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    assert diagrams.draw_cell("rnn", ax=axes[1]) is fig
    assert axes[1].get_title().startswith("vanilla RNN cell") and not axes[0].get_title()
    plt.close(fig)


@pytest.mark.parametrize("kwargs, message", [
    (dict(cell="lstmm"), "cell must be one of 'rnn', 'gru', 'lstm'; got 'lstmm'"),
    (dict(cell="gru", highlight="forget"),
     "highlight must be one (or a list) of 'state', 'update', 'reset', 'candidate' for the gru cell; got 'forget'"),
    (dict(cell="lstm", highlight=["cell", "belt"]), "highlight must be one (or a list) of 'cell', 'forget'"),
    (dict(cell="rnn", stage=1), "stage is for the lstm cell only"),
    (dict(cell="lstm", stage=4), r"stage must be an integer in \[0, 3\]; got 4"),
    (dict(cell="lstm", stage=True), r"stage must be an integer in \[0, 3\]; got True"),
])
def test_bad_input_names_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(or a list)", r"\(or a list\)")):
        diagrams.draw_cell(**kwargs)
