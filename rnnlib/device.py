"""Where rnnlib computes: one current device for the whole library.

:func:`rnnlib.notebook.setup` (the first cell of every notebook) picks the device with
:func:`get_device` (the GPU when there is one) and makes it current with :func:`use_device`. From then
on :func:`~rnnlib.fit` trains there, and every experiment rnnlib runs by itself (the labs, the
comparison and sweeps, the audit, the BPTT truncation experiment) builds its models there; functions
that take a batch move it to the model's device. Without ``setup()`` the current device is the CPU,
as in plain PyTorch.
"""

from __future__ import annotations

import torch

#: device types :func:`get_device` accepts (an index may follow a GPU type: ``"cuda:1"``)
DEVICE_TYPES = ("cpu", "cuda", "mps")

_current = torch.device("cpu")


def _available(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index is None or device.index < torch.cuda.device_count())
    if device.type == "mps":
        return torch.backends.mps.is_available()
    return True


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The GPU when one is present, otherwise the CPU; or ``prefer`` (``"cpu"``, ``"cuda"``,
    ``"cuda:1"``, ``"mps"``) if given and present here. ``ValueError`` names the valid values."""
    if prefer is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return check_device("prefer", prefer, DEVICE_TYPES)


def check_device(name: str, value, types: tuple[str, ...] = DEVICE_TYPES + ("meta",)) -> torch.device:
    """``value`` must name a device of one of ``types`` that is present here; returns it."""
    valid = ", ".join(repr(t) for t in types) + ' (a GPU type may carry an index, e.g. "cuda:1")'
    if not isinstance(value, str | torch.device):
        raise ValueError(f"{name} must be a device name, one of {valid}, or a torch.device; got {value!r}")
    try:
        device = torch.device(value)
    except RuntimeError:
        raise ValueError(f"{name} must be a device name, one of {valid}; got {value!r}") from None
    if device.type not in types:
        raise ValueError(f"{name} must be a device name, one of {valid}; got {value!r}")
    if not _available(device):
        present = [t for t in DEVICE_TYPES if _available(torch.device(t))]
        raise ValueError(f"{name}={str(device)!r} is not present on this machine; valid here: "
                         f"{', '.join(map(repr, present))}")
    return device


def use_device(device: str | torch.device) -> torch.device:
    """Make ``device`` rnnlib's current device (what ``setup()`` does with its choice); returns it.

    Also accepts ``"meta"`` (shapes without values), which the tests use to find tensors created on
    the wrong device without a GPU.
    """
    global _current
    _current = check_device("device", device, DEVICE_TYPES + ("meta",))
    return _current


def current_device() -> torch.device:
    """The device rnnlib builds and trains models on: the CPU until ``setup()`` or :func:`use_device`
    says otherwise."""
    return _current


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s parameters (the current device for a model without any)."""
    parameter = next(model.parameters(), None)
    return current_device() if parameter is None else parameter.device
