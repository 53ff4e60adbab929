"""Refusing answers that hand the exercise back to the library: an exercise that asks for the GRU's gate
equations is not answered by ``nn.GRUCell``, nor a parameter count by counting a real layer's parameters.

Two independent lines of defence:

* **at run time** (:func:`watching`): while the learner's function runs, ``sys.setprofile`` records every
  Python function and every C function called, however it was reached (an alias, a helper, a lambda); the
  first forbidden one is reported. Layers are caught at construction and in ``forward``; the fused kernels
  (``torch.rnn_tanh_cell``, ``torch._VF.gru_cell``, …) when called directly.
* **in the source** (:func:`source_uses`): names in the function's own code (``nn.GRUCell``,
  ``rnnlib.cells.gru_step``, an import inside the function) are resolved in its namespace and compared with
  the forbidden objects, so code that would delegate on another branch is refused too.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from .. import bptt, cells, models
from . import solutions

#: the fused kernels behind torch's recurrent layers and cells (``torch.X`` is ``torch._VF.X``)
KERNELS = {
    "rnn": ("rnn_tanh_cell", "rnn_relu_cell", "rnn_tanh", "rnn_relu"),
    "gru": ("gru_cell", "gru"),
    "lstm": ("lstm_cell", "lstm"),
}


@dataclass(frozen=True)
class Forbidden:
    """Something an answer must not use. ``name``: how the message calls it (``"nn.GRUCell"``);
    ``objects``: the classes (caught when built or run) and functions (caught when called) behind it."""

    name: str
    objects: tuple
    codes: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for obj in self.objects:
            for code in _codes(obj):
                self.codes[code] = self.name


def _codes(obj) -> list:
    """The code objects whose execution means ``obj`` is in use: a function's own, or for a class every
    method it defines itself (its ``__init__`` when built, ``forward`` when run)."""
    if inspect.isclass(obj):
        return [f.__code__ for f in vars(obj).values() if inspect.isfunction(f)]
    function = inspect.unwrap(obj)
    return [function.__code__] if inspect.isfunction(function) else []


def kernel(name: str):
    """The C function ``torch.<name>`` (the same object as ``torch._VF.<name>``)."""
    return getattr(torch._C._VariableFunctions, name)


def layer(arch: str) -> tuple[Forbidden, ...]:
    """torch's layer ``nn.RNN``/``nn.GRU``/``nn.LSTM``, its ``Cell`` and their fused kernels, each by name."""
    name = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[arch]
    return (
        Forbidden(f"nn.{name}Cell", (getattr(nn, name + "Cell"),)),
        Forbidden(f"nn.{name}", (getattr(nn, name),)),
        *(Forbidden(f"torch.{k}", (kernel(k),)) for k in KERNELS[arch]),
    )


def rnnlib_function(function: Callable, module_name: str) -> Forbidden:
    return Forbidden(f"rnnlib.{module_name}.{function.__name__}", (function,))


def solution(function: Callable) -> Forbidden:
    return Forbidden(f"rnnlib.exercises.solutions.{function.__name__}", (function,))


#: what every closed-form count must do without: building torch modules and asking them for parameters
COUNTING = (
    Forbidden("a torch module's parameters", (nn.Module.parameters, nn.Module.named_parameters)),
    Forbidden("rnnlib.models.count_parameters", (models.count_parameters,)),
    Forbidden("rnnlib.build_model", (models.build_model,)),
    Forbidden("a torch layer (nn.Module)", (nn.Module.__init__,)),
)
#: autograd, which a backward exercise asks the learner to replace
AUTOGRAD = Forbidden("autograd", (torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward))
ALL_SOLUTIONS = tuple(
    solution(f) for f in vars(solutions).values() if inspect.isfunction(f) and f.__module__ == solutions.__name__
)
#: rnnlib's implementations of what the exercises ask for
RNNLIB = {
    "rnn_step": rnnlib_function(cells.rnn_step, "cells"),
    "gru_step": rnnlib_function(cells.gru_step, "cells"),
    "lstm_step": rnnlib_function(cells.lstm_step, "cells"),
    "unroll": rnnlib_function(cells.unroll, "cells"),
    "run_direction": rnnlib_function(cells.run_direction, "cells"),
    "reverse_within_length": rnnlib_function(cells.reverse_within_length, "cells"),
    "rnn_step_backward": rnnlib_function(bptt.rnn_step_backward, "bptt"),
    "rnn_backward": rnnlib_function(bptt.rnn_backward, "bptt"),
    "read_last": rnnlib_function(models.read_last, "models"),
}


@contextmanager
def watching(forbidden: tuple[Forbidden, ...]) -> Iterator[list[str]]:
    """Record, while the block runs, the names of the forbidden things it uses (first use first).

    ``sys.setprofile`` sees every Python call (by its code object) and every C call (by the function
    object); a profiler the learner had installed is put back afterwards.
    """
    codes = {code: name for f in forbidden for code, name in f.codes.items()}
    c_functions = {id(obj): f.name for f in forbidden for obj in f.objects if inspect.isbuiltin(obj)}
    used: list[str] = []

    def profile(frame, event, arg):
        name = codes.get(frame.f_code) if event == "call" else c_functions.get(id(arg)) if event == "c_call" else None
        if name is not None and name not in used:
            used.append(name)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield used
    finally:
        sys.setprofile(previous)


def source_uses(function: Callable, forbidden: tuple[Forbidden, ...]) -> list[str]:
    """The names of the forbidden objects the function's source refers to, in the order they appear.

    Dotted names (``nn.GRUCell``, ``torch._VF.lstm_cell``, ``rnnlib.cells.gru_step``) and imports inside the
    function are resolved in the function's own namespace (globals, closure); comments and strings are not
    code. A function without readable source (code typed into a plain REPL) is left to the run-time watch.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return []
    owners = {}
    for f in forbidden:
        for obj in f.objects:
            owners.setdefault(id(obj), f.name)
    namespace = {**vars(builtins), **getattr(function, "__globals__", {}), **_closure(function)}
    found = []
    for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        for obj in _referenced(node, namespace):
            if id(obj) in owners and owners[id(obj)] not in found:
                found.append(owners[id(obj)])
    return found


def _closure(function) -> dict:
    code, cells_ = getattr(function, "__code__", None), getattr(function, "__closure__", None) or ()
    names = code.co_freevars if code is not None else ()
    values = {}
    for name, cell in zip(names, cells_):
        with contextlib.suppress(ValueError):  # an empty cell: the variable is not assigned yet
            values[name] = cell.cell_contents
    return values


def _referenced(node: ast.AST, namespace: dict) -> list:
    """The objects a Name/Attribute chain or an import statement refers to (nothing is executed)."""
    if isinstance(node, ast.Attribute | ast.Name):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in namespace:
            return []
        objects, obj = [], namespace[node.id]
        for part in reversed(parts):
            obj = inspect.getattr_static(obj, part, None) if not inspect.ismodule(obj) else getattr(obj, part, None)
            if obj is None:
                break
            objects.append(obj)
        return [namespace[node.id], *objects]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        module = sys.modules.get(node.module)
        return [getattr(module, alias.name, None) for alias in node.names] if module else []
    return []


def message(names: list[str], how: str, advice: str) -> str:
    """The feedback for a delegating answer: "Your function uses `nn.GRUCell`, which … {advice}"."""
    listed = " and ".join(f"`{name}`" for name in names[:2])
    return (
        f"Your function {how} {listed}, which {'does' if len(names[:2]) == 1 else 'do'} the work this exercise "
        f"asks you to do yourself (a check against it would only compare it with itself). {advice}"
    )
