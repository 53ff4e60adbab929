"""Argument checks shared by every public function: each raises ``ValueError`` naming the parameter
and its valid range, so a learner reads what to change instead of a stack of torch internals."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from torch import Tensor


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` must be an integer in ``[low, high]`` (either bound may be open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer{_range(low, high)}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer{_range(low, high)}, got {value}")
    return int(value)


def check_float(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` must be a finite real number within the given bounds."""
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    span = f" in {lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise ValueError(f"{name} must be a number{span}, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a number{span}, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_lengths(lengths, batch: int, time: int) -> Tensor | None:
    """``lengths`` must be ``None`` or ``batch`` integers in ``[1, time]``; returns a long tensor."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.shape[0] != batch:
        raise ValueError(
            f"lengths must have shape (batch,) = ({batch},), one true length per sequence; "
            f"got shape {tuple(lengths.shape)}"
        )
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must hold integers, got dtype {lengths.dtype}")
    if batch and (int(lengths.min()) < 1 or int(lengths.max()) > time):
        raise ValueError(
            f"lengths must be in [1, {time}] (1 to the padded time length); got values from "
            f"{int(lengths.min())} to {int(lengths.max())}"
        )
    return lengths.long()


def check_series(name: str, values, *, min_size: int = 1) -> np.ndarray:
    """``values`` (a list, NumPy array or tensor) must be a 1-D sequence of at least ``min_size``
    numbers, e.g. one value per time step; returns them as a float64 NumPy array."""
    try:
        array = np.asarray(torch.as_tensor(values, dtype=torch.float64).detach().cpu())  # lists: no float32 detour
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{name} must be a 1-D sequence of numbers: {error}") from None
    if array.ndim != 1 or array.size < min_size:
        raise ValueError(
            f"{name} must be a 1-D sequence of at least {min_size} number(s), one per step; "
            f"got shape {array.shape}"
        )
    return array


def _range(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""
