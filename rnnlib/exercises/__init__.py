"""Self-checking exercises for the notebooks, in the style of Kaggle Learn.

In a notebook::

    from rnnlib.exercises import rnn_step_exercise as q1
    q1               # shows the task
    def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
        ...
    q1.check()       # finds `rnn_step` in the notebook (or: q1.check(my_function))
    q1.hint()        # q1.hint(2), ... for more
    q1.solution()    # a model answer, as code

Each exercise is named after the function the learner writes, plus ``_exercise``. Checks run the
learner's function on several seeds and shapes against torch itself (weights copied from a real
``nn.RNNCell``/``GRUCell``/``LSTMCell``/``LSTM``, parameters counted on real layers, autograd for
gradients) and say what is wrong when it is. ``check()`` returns a truthy/falsy :class:`CheckResult`.

An answer that hands the work back to what it should replace (``nn.GRUCell`` in a GRU step, counting
``nn.RNN(...).parameters()`` for a parameter count, rnnlib's own implementation, autograd in a backward step)
is refused with a message naming what it used (:mod:`rnnlib.exercises.delegation`); a numeric answer that is
the same for every input is named as such. :mod:`rnnlib.exercises.predictions` holds the predict-then-run
questions and the lab challenge.
"""

from .bilstm import bilstm_readout_exercise, reverse_within_length_exercise
from .comparison import bilstm_lstm_ratio_exercise, per_step_factor_exercise
from .framework import CheckResult, Exercise
from .gru import gru_lstm_ratio_exercise, gru_step_exercise
from .lstm import forget_bias_exercise, lstm_step_backward_exercise, lstm_step_exercise
from .vanilla_rnn import rnn_parameter_count_exercise, rnn_step_backward_exercise, rnn_step_exercise

#: the exercises of each notebook, in the order they appear
NOTEBOOK_EXERCISES: dict[str, tuple[Exercise, ...]] = {
    "01_vanilla_rnn": (rnn_step_exercise, rnn_parameter_count_exercise, rnn_step_backward_exercise),
    "02_gru": (gru_step_exercise, gru_lstm_ratio_exercise),
    "03_lstm": (lstm_step_exercise, forget_bias_exercise, lstm_step_backward_exercise),
    "04_bilstm": (reverse_within_length_exercise, bilstm_readout_exercise),
    "05_comparison": (bilstm_lstm_ratio_exercise, per_step_factor_exercise),
}

__all__ = [
    "NOTEBOOK_EXERCISES",
    "CheckResult",
    "Exercise",
    "bilstm_lstm_ratio_exercise",
    "bilstm_readout_exercise",
    "forget_bias_exercise",
    "gru_lstm_ratio_exercise",
    "gru_step_exercise",
    "lstm_step_backward_exercise",
    "lstm_step_exercise",
    "per_step_factor_exercise",
    "reverse_within_length_exercise",
    "rnn_parameter_count_exercise",
    "rnn_step_backward_exercise",
    "rnn_step_exercise",
]
