"""rnnlib: the library behind the recurrent-network notebooks.

Every notebook imports what it runs from here (models, data, training, diagnostics, plots, widgets),
so each concept lives in one function.
"""

from .cells import ScratchRecurrent, unroll
from .data import adding_task, long_range_task, sentiment_task
from .device import current_device, get_device, use_device
from .initialization import set_forget_bias, set_spectral_radius, spectral_radii
from .lm import build_lm
from .models import (
    ARCHITECTURES,
    BiLSTMClassifier,
    GRUClassifier,
    LSTMClassifier,
    SimpleRNN,
    build_model,
    count_parameters,
)
from .training import TrainingDiverged, evaluate, fit, set_seed, set_threads

__version__ = "0.1.0"

__all__ = [
    "ARCHITECTURES",
    "BiLSTMClassifier",
    "GRUClassifier",
    "LSTMClassifier",
    "ScratchRecurrent",
    "SimpleRNN",
    "TrainingDiverged",
    "adding_task",
    "build_lm",
    "build_model",
    "count_parameters",
    "current_device",
    "evaluate",
    "fit",
    "get_device",
    "long_range_task",
    "sentiment_task",
    "set_forget_bias",
    "set_seed",
    "set_spectral_radius",
    "set_threads",
    "spectral_radii",
    "unroll",
    "use_device",
]
