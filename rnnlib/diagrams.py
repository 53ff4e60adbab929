"""Cell diagrams: the tanh RNN cell, the GRU and the LSTM, drawn with matplotlib patches and arrows.

Every box, node and arrow of a diagram belongs to one or more named **paths** (``PATHS``); ``highlight``
colours those paths and greys the rest, e.g. the LSTM's cell-state path that carries the gradient
(``draw_cell("lstm", highlight="cell")``) or one gate. :func:`lstm_build_up` draws the LSTM gate by gate.
Each path label is the symbol of the equations in the notebooks (h_{t-1}, x_t, f_t, c_t, ...).

Sized for a notebook (9 inches wide, about 900 px at the default 100 dpi); every artist carries
the name of its element as ``gid`` (``"lstm:f_box"``), which is what the tests read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

CELLS = ("rnn", "gru", "lstm")
#: the highlightable paths of each cell, and what they are
PATH_NAMES = {
    "rnn": {"recurrent": "h_{t-1} through W_hh", "input": "x_t through W_ih", "output": "tanh → h_t"},
    "gru": {"state": "h_{t-1} → h_t past the candidate (the update gate's skip path)", "update": "z_t",
            "reset": "r_t", "candidate": "n_t"},
    "lstm": {"cell": "the cell state c_{t-1} → c_t (the conveyor belt)", "forget": "f_t", "input": "i_t",
             "candidate": "g_t", "output": "o_t and h_t"},
}
#: the stages of :func:`lstm_build_up`: each adds (and highlights) these paths
LSTM_STAGES = (("cell",), ("forget",), ("input", "candidate"), ("output",))

WIDTH = 9.0  # inches: about 900 px at 100 dpi
#: (ymin, ymax) of each cell's drawing, in the layout's units (x runs from 0 to 10)
YLIM = {"rnn": (-0.1, 4.7), "gru": (-0.45, 5.5), "lstm": (-0.45, 5.5)}
FONT = 13
SMALL = 11
INK, GREY, HIGHLIGHT = "#263238", "#b0bec5", "#d84315"
FILL = {"sigmoid": "#e3f2fd", "tanh": "#fff3e0", "node": "white"}
EDGE = {"sigmoid": "#1565c0", "tanh": "#ef6c00", "node": INK}
BOX_W, BOX_H, NODE_R = 0.9, 0.62, 0.27


@dataclass(frozen=True)
class Element:
    """One drawable piece: ``kind`` box (text inside), node (× or +, a circle), arrow (a polyline ending in a
    head) or line (no head); ``paths``: the paths it belongs to; ``stage``: when :func:`lstm_build_up` adds it."""

    name: str
    kind: str
    points: tuple
    text: str = ""
    paths: tuple[str, ...] = ()
    label: str = ""
    label_at: tuple[float, float] | None = None
    style: str = "node"
    stage: int = 0


def _box_edge(center, side):
    x, y = center
    return {"bottom": (x, y - BOX_H / 2), "top": (x, y + BOX_H / 2), "left": (x - BOX_W / 2, y),
            "right": (x + BOX_W / 2, y)}[side]


def _node_edge(center, side):
    x, y = center
    return {"bottom": (x, y - NODE_R), "top": (x, y + NODE_R), "left": (x - NODE_R, y),
            "right": (x + NODE_R, y)}[side]


def _rnn() -> list[Element]:
    plus, tanh = (4.2, 2.4), (6.2, 2.4)
    return [
        Element("h_prev", "arrow", ((0.4, 2.4), _node_edge(plus, "left")), paths=("recurrent",),
                label="$h_{t-1}$", label_at=(0.55, 2.75)),
        Element("w_hh", "text", ((2.3, 2.05),), text="$W_{hh} h_{t-1} + b_{hh}$", paths=("recurrent",)),
        Element("x", "arrow", ((plus[0], 0.1), _node_edge(plus, "bottom")), paths=("input",),
                label="$x_t$", label_at=(plus[0] - 0.35, 0.35)),
        Element("w_ih", "text", ((plus[0] + 1.05, 1.1),), text="$W_{ih} x_t + b_{ih}$", paths=("input",)),
        Element("plus", "node", (plus,), text="+", paths=("recurrent", "input")),
        Element("a", "arrow", (_node_edge(plus, "right"), _box_edge(tanh, "left")), paths=("recurrent", "input"),
                label="$a_t$", label_at=(5.15, 2.7)),
        Element("tanh", "box", (tanh,), text="tanh", style="tanh", paths=("recurrent", "input", "output")),
        Element("h", "arrow", (_box_edge(tanh, "right"), (9.6, 2.4)), paths=("output",),
                label="$h_t$", label_at=(9.3, 2.75)),
        Element("h_up", "arrow", ((8.0, 2.4), (8.0, 4.3)), paths=("output",),
                label="to the readout", label_at=(8.1, 4.0)),
    ]


def _gru() -> list[Element]:
    top, bus = 4.9, 0.55
    times_z, plus, times_n, one_minus = (2.6, top), (7.4, top), (7.4, 3.7), (5.2, 3.7)
    z_box, r_box, n_box, times_r = (2.6, 2.3), (3.9, 2.3), (7.4, 2.3), (6.0, 1.45)
    return [
        Element("h_prev", "arrow", ((0.3, top), _node_edge(times_z, "left")), paths=("state",),
                label="$h_{t-1}$", label_at=(0.35, top + 0.3)),
        Element("h_down", "line", ((0.9, top), (0.9, bus)), paths=()),
        Element("x", "line", ((1.6, -0.2), (1.6, bus)), label="$x_t$", label_at=(1.7, -0.15), paths=()),
        Element("bus", "line", ((0.9, bus), (n_box[0] + 0.2, bus)), paths=(),
                label="$[h_{t-1}, x_t]$", label_at=(8.0, bus - 0.05)),
        Element("to_z", "arrow", ((z_box[0], bus), _box_edge(z_box, "bottom")), paths=("update",)),
        Element("z_box", "box", (z_box,), text="σ", style="sigmoid", paths=("update",)),
        Element("z_up", "arrow", (_box_edge(z_box, "top"), _node_edge(times_z, "bottom")), paths=("update",),
                label="$z_t$", label_at=(z_box[0] - 0.45, 3.3)),
        Element("z_right", "arrow", ((z_box[0], one_minus[1]), _node_edge(one_minus, "left")), paths=("update",)),
        Element("one_minus", "node", (one_minus,), text="1−", paths=("update",)),
        Element("one_minus_z", "arrow", (_node_edge(one_minus, "right"), _node_edge(times_n, "left")),
                paths=("update",), label="$1 - z_t$", label_at=(5.75, 3.95)),
        Element("times_z", "node", (times_z,), text="×", paths=("state", "update")),
        Element("state", "arrow", (_node_edge(times_z, "right"), _node_edge(plus, "left")), paths=("state",),
                label="$z_t \\odot h_{t-1}$", label_at=(3.6, top + 0.25)),
        Element("to_r", "arrow", ((r_box[0], bus), _box_edge(r_box, "bottom")), paths=("reset",)),
        Element("r_box", "box", (r_box,), text="σ", style="sigmoid", paths=("reset",)),
        Element("r_out", "arrow", (_box_edge(r_box, "right"), (times_r[0], r_box[1]), _node_edge(times_r, "top")),
                paths=("reset",), label="$r_t$", label_at=(4.9, 2.55)),
        Element("hn", "arrow", ((times_r[0], bus), _node_edge(times_r, "bottom")), paths=("reset", "candidate")),
        Element("hn_text", "text", ((5.0, 0.9),), text="$W_{hn} h_{t-1} + b_{hn}$", paths=("reset", "candidate")),
        Element("times_r", "node", (times_r,), text="×", paths=("reset", "candidate")),
        Element("reset_in", "arrow", (_node_edge(times_r, "right"), (n_box[0] - 0.2, times_r[1]),
                                      (n_box[0] - 0.2, n_box[1] - BOX_H / 2)),
                paths=("reset", "candidate")),
        Element("to_n", "arrow", ((n_box[0] + 0.2, bus), (n_box[0] + 0.2, n_box[1] - BOX_H / 2)),
                paths=("candidate",)),
        Element("in_text", "text", ((8.55, 1.3),), text="$W_{in} x_t + b_{in}$", paths=("candidate",)),
        Element("n_box", "box", (n_box,), text="tanh", style="tanh", paths=("candidate",)),
        Element("n_up", "arrow", (_box_edge(n_box, "top"), _node_edge(times_n, "bottom")), paths=("candidate",),
                label="$n_t$", label_at=(7.6, 2.95)),
        Element("times_n", "node", (times_n,), text="×", paths=("candidate", "update")),
        Element("new", "arrow", (_node_edge(times_n, "top"), _node_edge(plus, "bottom")),
                paths=("candidate", "update")),
        Element("plus", "node", (plus,), text="+", paths=("state", "candidate", "update")),
        Element("h", "arrow", (_node_edge(plus, "right"), (9.7, top)), paths=("state", "candidate", "update"),
                label="$h_t$", label_at=(9.35, top + 0.3)),
    ]


def _lstm() -> list[Element]:
    top, bus = 4.9, 0.55
    times_f, plus, times_ig, tanh_c, times_o = (2.4, top), (4.75, top), (4.75, 3.65), (8.3, 3.65), (8.3, 2.3)
    f_box, i_box, g_box, o_box = (2.4, 2.3), (3.85, 2.3), (5.65, 2.3), (7.0, 2.3)
    cell, forget, gates, output = 0, 1, 2, 3  # the stages of lstm_build_up
    return [
        Element("c_prev", "arrow", ((0.3, top), _node_edge(times_f, "left")), paths=("cell",),
                label="$c_{t-1}$", label_at=(0.35, top + 0.3), stage=cell),
        Element("times_f", "node", (times_f,), text="×", paths=("cell", "forget"), stage=cell),
        Element("belt", "arrow", (_node_edge(times_f, "right"), _node_edge(plus, "left")), paths=("cell",),
                stage=cell),
        Element("plus", "node", (plus,), text="+", paths=("cell", "input", "candidate"), stage=cell),
        Element("c", "arrow", (_node_edge(plus, "right"), (9.7, top)), paths=("cell",),
                label="$c_t$", label_at=(9.35, top + 0.3), stage=cell),
        Element("h_prev", "line", ((0.3, bus), (f_box[0], bus)), paths=(),
                label="$h_{t-1}$", label_at=(0.35, bus + 0.2), stage=forget),
        Element("bus_ig", "line", ((f_box[0], bus), (g_box[0], bus)), paths=(), stage=gates),
        Element("bus_o", "line", ((g_box[0], bus), (o_box[0], bus)), paths=(), stage=output),
        Element("x", "line", ((1.4, -0.2), (1.4, bus)), paths=(), label="$x_t$", label_at=(1.5, -0.15),
                stage=forget),
        Element("to_f", "arrow", ((f_box[0], bus), _box_edge(f_box, "bottom")), paths=("forget",), stage=forget),
        Element("f_box", "box", (f_box,), text="σ", style="sigmoid", paths=("forget",), stage=forget),
        Element("f_up", "arrow", (_box_edge(f_box, "top"), _node_edge(times_f, "bottom")), paths=("forget",),
                label="$f_t$", label_at=(f_box[0] + 0.12, 3.55), stage=forget),
        Element("to_i", "arrow", ((i_box[0], bus), _box_edge(i_box, "bottom")), paths=("input",), stage=gates),
        Element("i_box", "box", (i_box,), text="σ", style="sigmoid", paths=("input",), stage=gates),
        Element("i_up", "arrow", (_box_edge(i_box, "top"), (i_box[0], times_ig[1]), _node_edge(times_ig, "left")),
                paths=("input",), label="$i_t$", label_at=(i_box[0] - 0.4, 3.1), stage=gates),
        Element("to_g", "arrow", ((g_box[0], bus), _box_edge(g_box, "bottom")), paths=("candidate",), stage=gates),
        Element("g_box", "box", (g_box,), text="tanh", style="tanh", paths=("candidate",), stage=gates),
        Element("g_up", "arrow", (_box_edge(g_box, "top"), (g_box[0], times_ig[1]), _node_edge(times_ig, "right")),
                paths=("candidate",), label="$g_t$", label_at=(g_box[0] + 0.12, 3.1), stage=gates),
        Element("times_ig", "node", (times_ig,), text="×", paths=("input", "candidate"), stage=gates),
        Element("write", "arrow", (_node_edge(times_ig, "top"), _node_edge(plus, "bottom")),
                paths=("input", "candidate"), label="$i_t \\odot g_t$", label_at=(4.9, 4.2), stage=gates),
        Element("to_o", "arrow", ((o_box[0], bus), _box_edge(o_box, "bottom")), paths=("output",), stage=output),
        Element("o_box", "box", (o_box,), text="σ", style="sigmoid", paths=("output",), stage=output),
        Element("o_right", "arrow", (_box_edge(o_box, "right"), _node_edge(times_o, "left")), paths=("output",),
                label="$o_t$", label_at=(7.55, 2.6), stage=output),
        Element("c_down", "arrow", ((tanh_c[0], top), _box_edge(tanh_c, "top")), paths=("output",), stage=output),
        Element("tanh_c", "box", (tanh_c,), text="tanh", style="tanh", paths=("output",), stage=output),
        Element("tanh_down", "arrow", (_box_edge(tanh_c, "bottom"), _node_edge(times_o, "top")), paths=("output",),
                label="$\\tanh(c_t)$", label_at=(8.45, 2.95), stage=output),
        Element("times_o", "node", (times_o,), text="×", paths=("output",), stage=output),
        Element("h", "arrow", (_node_edge(times_o, "bottom"), (times_o[0], 1.2), (9.7, 1.2)), paths=("output",),
                label="$h_t$", label_at=(9.35, 1.45), stage=output),
    ]


LAYOUTS = {"rnn": _rnn, "gru": _gru, "lstm": _lstm}
TITLES = {"rnn": "vanilla RNN cell: $h_t = \\tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$",
          "gru": "GRU cell (PyTorch's variant): $h_t = (1 - z_t) \\odot n_t + z_t \\odot h_{t-1}$",
          "lstm": "LSTM cell: $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$,  $h_t = o_t \\odot \\tanh(c_t)$"}


def elements(cell: str) -> list[Element]:
    """The elements of ``cell``'s diagram (what the tests compare the drawn artists with)."""
    return LAYOUTS[_check_cell(cell)]()


def _check_cell(cell) -> str:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}; got {cell!r}")
    return cell


def _check_highlight(cell: str, highlight) -> tuple[str, ...]:
    if highlight is None:
        return ()
    paths = (highlight,) if isinstance(highlight, str) else tuple(highlight)
    valid = tuple(PATH_NAMES[cell])
    for path in paths:
        if path not in valid:
            raise ValueError(f"highlight must be one (or a list) of {', '.join(map(repr, valid))} for the "
                             f"{cell} cell; got {path!r}")
    return paths


def draw_cell(cell: str = "lstm", *, highlight: str | Iterable[str] | None = None, title: str | None = None,
              ax: Axes | None = None, stage: int | None = None) -> Figure:
    """Draw one cell. ``cell``: ``"rnn"``, ``"gru"`` or ``"lstm"``; ``highlight``: a path name of
    ``PATH_NAMES[cell]`` (or several), coloured while the rest turns grey; ``title``: replaces the cell's
    equation; ``ax``: draw into these axes; ``stage``: LSTM only, draw just the elements of the first
    ``stage + 1`` steps of :data:`LSTM_STAGES`. Returns the figure."""
    _check_cell(cell)
    paths = _check_highlight(cell, highlight)
    if stage is not None:
        if cell != "lstm":
            raise ValueError(f"stage is for the lstm cell only; got stage={stage!r} for {cell!r}")
        if isinstance(stage, bool) or not isinstance(stage, int) or not 0 <= stage < len(LSTM_STAGES):
            raise ValueError(f"stage must be an integer in [0, {len(LSTM_STAGES) - 1}]; got {stage!r}")
    low, high = YLIM[cell]
    if ax is None:
        height = WIDTH * (high - low) / 10.2 + 0.45  # room for the title
        fig = plt.figure(figsize=(WIDTH, height))
        ax = fig.add_axes((0, 0, 1, 1 - 0.45 / height))
    else:
        fig = ax.figure
    ax.set_xlim(-0.1, 10.1)
    ax.set_ylim(low, high)
    ax.set_aspect("equal")
    ax.axis("off")
    for element in elements(cell):
        if stage is not None and element.stage > stage:
            continue
        on = bool(set(element.paths) & set(paths))
        _draw(ax, cell, element, on=on, dim=bool(paths) and not on)
    ax.set_title(title if title is not None else TITLES[cell], fontsize=FONT, pad=4)
    return fig


def _draw(ax: Axes, cell: str, e: Element, *, on: bool, dim: bool) -> None:
    colour = HIGHLIGHT if on else GREY if dim else INK
    width = 3.0 if on else 1.6
    gid = f"{cell}:{e.name}"
    if e.kind == "box":
        (x, y), = e.points
        edge = HIGHLIGHT if on else GREY if dim else EDGE[e.style]
        patch = FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, facecolor=FILL[e.style],
                               boxstyle="round,pad=0.02,rounding_size=0.1", edgecolor=edge, linewidth=width,
                               zorder=3, gid=gid)
        ax.add_patch(patch)
        ax.text(x, y, e.text, ha="center", va="center", fontsize=FONT, color=INK if not dim else GREY, zorder=4,
                gid=gid)
    elif e.kind == "node":
        (x, y), = e.points
        ax.add_patch(Circle((x, y), NODE_R, facecolor="white", edgecolor=colour, linewidth=width, zorder=3, gid=gid))
        ax.text(x, y, e.text, ha="center", va="center", fontsize=FONT if len(e.text) == 1 else SMALL,
                color=colour, zorder=4, gid=gid)
    elif e.kind == "text":
        (x, y), = e.points
        ax.text(x, y, e.text, ha="center", va="center", fontsize=SMALL, color=colour, gid=gid)
    else:  # arrow or line: a polyline, the last segment with a head for arrows
        points = list(e.points)
        for start, end in zip(points[:-2], points[1:-1]):
            ax.plot(*zip(start, end), color=colour, linewidth=width, solid_capstyle="round", zorder=2, gid=gid)
        head = "-|>" if e.kind == "arrow" else "-"
        ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle=head, mutation_scale=14, color=colour,
                                     linewidth=width, shrinkA=0, shrinkB=0, zorder=2, gid=gid))
    if e.label:
        ax.text(*e.label_at, e.label, ha="left", va="center", fontsize=FONT, color=colour if on or dim else INK,
                zorder=5, gid=f"{gid}:label")


def lstm_build_up() -> list[Figure]:
    """The LSTM gate by gate: the cell state alone, then the forget gate, the input gate with its candidate,
    and the output gate; each figure adds one step of :data:`LSTM_STAGES` and highlights it."""
    titles = ("1 · the cell state $c_t$: a belt with no matrix on it",
              "2 · the forget gate $f_t$ scales what stays on the belt",
              "3 · the input gate $i_t$ writes the candidate $g_t$ onto it",
              "4 · the output gate $o_t$ shows part of it: $h_t = o_t \\odot \\tanh(c_t)$")
    return [draw_cell("lstm", highlight=paths, stage=k, title=titles[k]) for k, paths in enumerate(LSTM_STAGES)]


__all__ = ["CELLS", "LSTM_STAGES", "PATH_NAMES", "draw_cell", "elements", "lstm_build_up"]
