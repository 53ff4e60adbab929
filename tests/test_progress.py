"""Progress bars leave nothing behind: outside a notebook a silent or text bar, in a notebook an output
that closing empties (so a saved notebook shows no bar stuck at 0 %)."""

from __future__ import annotations

import pytest

from rnnlib import progress


def test_outside_a_notebook_it_is_a_plain_tqdm_bar(capsys):
    assert list(progress.progress_bar(range(3), desc="quiet", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""  # disabled: nothing at all
    assert list(progress.progress_bar(range(3), desc="loud")) == [0, 1, 2]
    assert "loud" in capsys.readouterr().err


def test_in_a_notebook_closing_the_bar_empties_its_output(monkeypatch):
    pytest.importorskip("ipywidgets")
    display = pytest.importorskip("IPython.display")
    updates, shown = [], []

    class Handle:
        def update(self, obj, raw=False):
            updates.append((obj, raw))

    def fake_display(obj, display_id=False):
        shown.append(obj)
        return Handle()

    monkeypatch.setattr(display, "display", fake_display)
    monkeypatch.setattr(progress, "tqdm", progress.notebook_tqdm)  # what tqdm.auto picks in a kernel
    bar = progress.progress_bar(range(4), desc="epochs")
    assert isinstance(bar, progress.notebook_tqdm) and len(shown) == 1 and not updates
    assert list(bar) == [0, 1, 2, 3]  # the loop ends: tqdm closes the bar
    assert updates == [({"text/plain": ""}, True)]
    bar.close()  # closing twice updates once
    assert len(updates) == 1
    silent = progress.progress_bar(range(2), desc="off", enabled=False)
    assert list(silent) == [0, 1] and len(shown) == 1  # disabled: never displayed
