"""Every limit an rnnlib argument is checked against, defined once.

Models, data, training, initialisation, the comparison, the labs and the widgets' sliders all read
these names, so a range a learner is told about in an error message is the range a control offers.
Ranges are ``(low, high)``, both ends allowed.
"""

from __future__ import annotations

# ---- models, training, data (what a learner's own call may ask for) -------------------------------
#: any seed a generator accepts: torch, NumPy and Python all take 32-bit unsigned seeds
SEED_RANGE = (0, 2**32 - 1)
#: embedding and hidden sizes: far beyond a CPU's budget, and a typo (64000) fails fast instead of
#: allocating gigabytes
MAX_WIDTH = 4096
#: stacked recurrent layers; deeper stacks do not train without residual connections anyway
MAX_LAYERS = 16
#: epochs of one fit call (and steps of the hand-made BPTT experiment)
MAX_EPOCHS = 100_000
#: learning rate: any lr above this diverges at once with Adam or SGD on these models
MAX_LR = 100.0
#: CPU threads torch may use
MAX_THREADS = 256
#: spectral radius of W_hh set by ``set_spectral_radius`` (a radius of 100 already explodes in a step)
MAX_SPECTRAL_RADIUS = 100.0
#: forget-gate / update-gate bias: σ(±20) is 1 or 0 to float32 precision, so larger values change nothing
GATE_BIAS_LIMIT = 20.0
#: steps between the deciding word and the end of a long-range sentence
MAX_DISTANCE = 2000
#: the adding problem's sequence length (at least 2: one marker in each half)
ADDING_LENGTH_RANGE = (2, 5000)
#: the distance of the hand-made BPTT truncation experiment (it loops step by step in Python)
MAX_BPTT_DISTANCE = 200

# ---- the labs (the widgets' slider ranges come from here) -----------------------------------------
# They keep the largest setting of each lab at about a second on a small CPU.
HIDDEN_RANGE = (4, 256)
SEQ_LEN_RANGE = (5, 200)
#: spectral radius of each recurrent block W_hh (None keeps PyTorch's init, ≈ 0.6 at any size)
SPECTRAL_RADIUS_RANGE = (0.1, 3.0)
#: LSTM forget-gate / GRU update-gate bias (None keeps PyTorch's init, ≈ 0)
GATE_BIAS_RANGE = (-4.0, 8.0)
#: the clipping threshold; the widgets' log sliders span these powers of ten
MAX_NORM_RANGE = (0.01, 100.0)
BATCH_RANGE = (1, 64)
TRAIN_STEPS_RANGE = (0, 500)  # 500 steps at the largest size take over a minute on 2 cores
#: SGD learning rate of the clipping lab (a log slider from 1e-4 to 1)
LR_RANGE = (1e-4, 1.0)
CLIP_STEPS_RANGE = (10, 500)
GATE_HIDDEN_RANGE = (2, 64)
MAX_SENTENCE_WORDS = 50

# ---- the character language model (rnnlib.lm) --------------------------------------------------------
#: optimiser steps of one fit_lm call
MAX_LM_STEPS = 10_000_000
#: characters per truncated-BPTT chunk, and chunks per batch
MAX_LM_CHUNK = 100_000
