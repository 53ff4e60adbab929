"""Shared test set-up: one torch thread (small RNNs are fastest that way, and results repeat) and a
non-interactive matplotlib backend so plots render without a display."""

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)
