"""The classroom page (rnnlib.classroom): one tab per lab, each built when first opened, presenter mode
from the switch or the Voilà URL, clear errors. The page in a real browser: tests/e2e/test_e2e_classroom.py."""

import base64

import ipywidgets
import matplotlib.pyplot as plt
import nbformat
import pytest

from rnnlib import classroom
from rnnlib import widgets as lab_widgets
from tools import course


class FakeLab:
    """Stands in for a lab (building real ones takes seconds each): records its settings; its figure
    is 15 inches wide with one title, drawn again by ``update()`` as a lab does."""

    def __init__(self, **settings):
        self.settings = settings
        self.widget = ipywidgets.HTML("a lab")
        self.updates = 0
        self.update()

    def draw(self, result):
        fig = plt.figure(figsize=(self.settings.get("width", 15), 4))
        fig.add_subplot().set_title("loss", fontsize=10)
        return fig

    def update(self):
        self.updates += 1
        self.figure = self.draw(None)
        plt.close(self.figure)


def title_size(lab):
    return lab.figure.axes[0].title.get_fontsize()


@pytest.fixture
def fake_labs(monkeypatch):
    built = []

    def factory(name):
        def make(**settings):
            built.append(name)
            return FakeLab(**settings)
        return make

    for section in classroom.SECTIONS:
        monkeypatch.setattr(lab_widgets, section.factory, factory(section.factory), raising=False)
    monkeypatch.delenv("QUERY_STRING", raising=False)
    return built


def test_one_tab_per_lab_each_with_explanation_and_what_to_try(fake_labs):
    page = classroom.page()
    assert list(page.tabs.titles) == [section.title for section in classroom.SECTIONS]
    for box in page.tabs.children:
        about, try_this, _ = box.children
        assert len(about.value) > 100
        assert "What to try:" in try_this.value


def test_a_lab_is_built_when_its_tab_is_first_opened(fake_labs):
    page = classroom.page(gate_lab={"arch": "gru"})
    assert fake_labs == ["gradient_flow_lab"]  # only the first tab so far
    page.tabs.selected_index = 2  # as a click on "Gates" does
    assert fake_labs == ["gradient_flow_lab", "gate_lab"]
    lab = page.labs["Gates"]
    assert lab.settings == {"arch": "gru"}
    assert page.tabs.children[2].children[2].children == (lab.widget,)
    page.select(2)
    page.select(0)
    assert fake_labs == ["gradient_flow_lab", "gate_lab"]  # never built twice


def test_the_padding_trap_lab_joins_when_rnnlib_has_it(fake_labs, monkeypatch):
    assert "Padding trap" in [s.title for s in classroom.available_sections()]
    monkeypatch.delattr(lab_widgets, "padding_trap_lab")
    assert [s.title for s in classroom.available_sections()] == ["Gradient flow", "Clipping", "Gates"]
    assert list(classroom.page().tabs.titles) == ["Gradient flow", "Clipping", "Gates"]


def test_presenter_mode_from_the_switch_the_argument_and_the_url(fake_labs, monkeypatch):
    page = classroom.page()
    assert "rnnlib-presenter" not in page.widget._dom_classes
    page.presenter.value = True
    assert "rnnlib-presenter" in page.widget._dom_classes
    page.presenter.value = False
    assert "rnnlib-presenter" not in page.widget._dom_classes
    assert "rnnlib-presenter" in classroom.page(presenter=True).widget._dom_classes
    monkeypatch.setenv("QUERY_STRING", "presenter=1")  # what Voilà hands the kernel for ?presenter=1
    assert classroom.page().presenter.value is True
    assert classroom.page(presenter=False).presenter.value is False  # the argument wins
    monkeypatch.setenv("QUERY_STRING", "presenter=0&x=1")
    assert classroom.page().presenter.value is False


def test_presenter_mode_redraws_wide_figures_with_larger_text(fake_labs):
    page = classroom.page()
    lab = page.labs["Gradient flow"]
    assert title_size(lab) == 10
    page.presenter.value = True
    assert title_size(lab) == pytest.approx(10 * 15 / classroom.READABLE_WIDTH_IN)
    page.select(1)  # a lab built in presenter mode is drawn enlarged too
    assert title_size(page.labs["Clipping"]) == pytest.approx(10 * 15 / classroom.READABLE_WIDTH_IN)
    page.presenter.value = False
    assert title_size(lab) == 10 and title_size(page.labs["Clipping"]) == 10


def test_presenter_mode_leaves_narrow_figures_alone(fake_labs):
    page = classroom.page(gradient_flow_lab={"width": 8})
    lab = page.labs["Gradient flow"]
    page.presenter.value = True
    assert title_size(lab) == 10
    updates = lab.updates
    page.presenter.value = False
    page.presenter.value = True
    assert lab.updates == updates  # known to be narrow: not redrawn for nothing


def test_enlarge_wide_figure_scales_every_text_and_leaves_narrow_figures_alone():
    wide, ax = plt.subplots(figsize=(18, 4))
    ax.plot([0, 1], label="a line")
    ax.set(xlabel="step", title="loss")
    legend = ax.legend(fontsize=8)
    tick, label = ax.xaxis.get_ticklabels()[0].get_fontsize(), ax.xaxis.label.get_fontsize()
    classroom.enlarge_wide_figure(wide, readable_width_in=9)
    wide.canvas.draw()  # ticks are re-created at draw time: their size must survive
    assert ax.xaxis.get_ticklabels()[0].get_fontsize() == pytest.approx(2 * tick)
    assert legend.get_texts()[0].get_fontsize() == pytest.approx(16)
    assert ax.xaxis.label.get_fontsize() == pytest.approx(2 * label)
    narrow, ax = plt.subplots(figsize=(8, 4))
    ax.set_title("loss", fontsize=10)
    classroom.enlarge_wide_figure(narrow, readable_width_in=9)
    assert ax.title.get_fontsize() == 10
    plt.close("all")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"presenter": "yes"}, "presenter must be"),
    ({"gate_lab": 3}, "gate_lab must be a dict"),
    ({"no_such_lab": {}}, "no lab named"),
])
def test_bad_arguments_are_refused(fake_labs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        classroom.page(**kwargs)


def test_select_refuses_a_tab_that_does_not_exist(fake_labs):
    page = classroom.page()
    with pytest.raises(ValueError, match=r"index must be in \[0, 3\]"):
        page.select(4)


def test_the_real_first_lab_draws_and_the_page_prints_nothing(capsys, monkeypatch):
    monkeypatch.delenv("QUERY_STRING", raising=False)
    page = classroom.page()
    lab = page.labs["Gradient flow"]
    assert isinstance(lab, lab_widgets.GradientFlowLab)
    assert lab.png  # its figure was drawn
    assert capsys.readouterr().out == ""
    bundle = page._repr_mimebundle_()
    assert bundle["text/plain"].startswith(classroom.TITLE)
    assert base64.b64decode(bundle["image/png"]) == lab.png  # the static figure, for GitHub/nbviewer


def test_the_notebook_is_one_generated_cell_that_shows_the_page():
    nb = nbformat.read(course.NOTEBOOK_DIR / course.CLASSROOM, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) == 1 and course.CLASSROOM_TAG in code[0].metadata["tags"]
    assert code[0].source == course.classroom_source()
    assert code[0].source.rstrip().endswith("page()")
