"""The one call every notebook makes in its first cell: :func:`setup`."""

from __future__ import annotations

import sys

import torch

from . import __version__, plots
from .device import get_device, use_device
from .training import set_seed, set_threads


def enable_widgets() -> None:
    """On Colab, turn on the custom widget manager that ipywidgets 8 needs there; elsewhere nothing."""
    if "google.colab" in sys.modules:
        from google.colab import output  # only importable on Colab

        output.enable_custom_widget_manager()


def setup(seed: int = 0, threads: int | None = 1, device: str | torch.device | None = None) -> torch.device:
    """Prepare a notebook: widgets, threads, seed, plot theme, device; print one line saying where it runs.

    * Colab: turn on its custom widget manager, which ipywidgets 8 needs there (silent elsewhere).
    * ``threads`` CPU threads for torch (one is fastest for these small models; ``None`` reads
      ``RNNLIB_THREADS``), then every random generator seeded with ``seed``.
    * The rnnlib seaborn theme for the notebook's own plots.
    * ``device`` (``None``: the GPU when there is one, else the CPU) becomes rnnlib's current device:
      ``fit``, the labs, the comparisons and the audit run there (see :mod:`rnnlib.device`).

    Returns that device.
    """
    enable_widgets()
    threads = set_threads(threads)
    set_seed(seed)
    plots.use_theme()
    device = use_device(get_device(device))
    where = f"{device.type} ({threads} thread{'s' if threads > 1 else ''})" if device.type == "cpu" else str(device)
    print(f"rnnlib {__version__} · torch {torch.__version__} · device: {where} · seed {seed}")
    return device
