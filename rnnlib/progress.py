"""Progress bars that leave nothing behind in a saved notebook: :func:`progress_bar`.

In a notebook tqdm draws a widget. A notebook saved after the run keeps, for each bar, the text the
widget had when it was first displayed (``0%|          | 0/8``), so GitHub and nbviewer show every bar
stuck at zero. Here the bar is displayed under a display id, and closing it replaces that output with
nothing: the live bar disappears when the loop ends (like ``leave=False``) and the stored output is
empty. Outside a notebook it is tqdm's text bar, also removed when done.
"""

from __future__ import annotations

from collections.abc import Iterable

from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm


class _NotebookBar(notebook_tqdm):
    """tqdm's notebook bar, shown under a display id that :meth:`close` empties."""

    def __init__(self, *args, **kwargs) -> None:
        from IPython.display import display  # a notebook bar only exists where IPython runs

        super().__init__(*args, display=False, leave=False, **kwargs)
        self._handle = display(self.container, display_id=True) if not self.disable else None

    def close(self) -> None:
        super().close()
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            handle.update({"text/plain": ""}, raw=True)  # the saved notebook keeps an empty output


def progress_bar(iterable: Iterable, *, desc: str, enabled: bool = True) -> tqdm:
    """``tqdm(iterable, desc=desc)`` that removes itself when the loop ends; ``enabled=False``: silent.

    Iterate over it like the iterable; ``set_postfix`` and ``close`` work as in tqdm.
    """
    if issubclass(tqdm, notebook_tqdm):  # tqdm.auto chose the widget: we run in a notebook kernel
        return _NotebookBar(iterable, desc=desc, disable=not enabled)
    return tqdm(iterable, desc=desc, disable=not enabled, leave=False)
