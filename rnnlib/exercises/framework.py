"""The machinery behind every self-checking exercise: ``check()``, ``hint()``, ``solution()``.

An exercise asks the learner for a function, calls it on freshly generated cases (random inputs,
weights copied from a real torch layer, several seeds and shapes) and compares what comes back with
torch's own answer. Feedback says *what* is wrong and where; when the answer matches a known mistake
(a missing transpose, a wrong gate order, ...) it names that mistake. An answer that raises gets a
short message with the failing line, never a traceback dump.

In Jupyter everything is shown as Markdown; anywhere else it is printed as plain text.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..training import own_random_state
from ..validation import check_int
from . import delegation

#: heading colour of each kind of message in Jupyter
COLOURS = {"Correct": "#2e7d32", "Not yet": "#c62828", "Not quite": "#ef6c00", "Hint": "#1565c0",
           "Solution": "#6a1b9a"}
#: tolerances for comparing a learner's float32 tensors with torch's
ATOL, RTOL = 1e-5, 1e-4
#: (seed, batch, input_size, hidden_size) of the cases a step function runs on: all sizes different first
#: (mixing two of them up fails loudly), then a square case where a missing transpose still runs
STEP_CASES = tuple((seed, *sizes) for sizes in ((3, 5, 4), (1, 2, 7), (4, 6, 6)) for seed in (0, 1))
#: code in these folders is never "the learner's line" of a traceback
_LIBRARY_DIRS = (str(Path(torch.__file__).parent), str(Path(__file__).parent.parent))


class AnswerProblem(Exception):
    """Raised inside a check when the learner's answer is wrong; the message is the feedback."""


#: (what the exercise running now forbids, what to do instead): set by ``Exercise.check`` for ``call_answer``
_FORBIDDEN: ContextVar[tuple[tuple[delegation.Forbidden, ...], str]] = ContextVar("forbidden", default=((), ""))


class CheckResult:
    """What ``check()`` returns: truthy when the answer is right; ``.message`` is the feedback shown.

    ``check()`` has already displayed the feedback, so in Jupyter the result shows nothing itself (no
    stray ``True`` under the message); it compares equal to ``True``/``False`` and prints as one.
    """

    __slots__ = ("passed", "message")

    def __init__(self, passed: bool, message: str) -> None:
        self.passed = bool(passed)
        self.message = message

    def __bool__(self) -> bool:
        return self.passed

    def __eq__(self, other) -> bool:
        return self.passed == bool(other) if isinstance(other, bool | CheckResult) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.passed)

    def __repr__(self) -> str:
        return repr(self.passed)

    def _ipython_display_(self) -> None:
        """Shown already by ``check()``."""


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, nbval), where Markdown renders."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def show(label: str, markdown: str, plain: str | None = None) -> None:
    """Display one message: coloured Markdown in Jupyter, ``label: plain`` elsewhere."""
    if in_notebook():
        from IPython.display import Markdown, display

        heading = f'<span style="color:{COLOURS[label]}">**{label}:**</span>' if label else ""
        display(Markdown(f"{heading} {markdown}".strip()))
    else:
        text = markdown if plain is None else plain
        print(f"{label}: {text}" if label else text)


def seeded(seed: int):
    """Draw case data from torch's generator at ``seed`` without touching the learner's random state."""
    return own_random_state(seed)


def describe(**sizes) -> str:
    """``" (case: batch=3, hidden_size=4, seed=0)"``: appended to every message about one case."""
    return " (case: " + ", ".join(f"{k}={v}" for k, v in sizes.items()) + ")"


@dataclass
class StepCase:
    """One test case of a step exercise: a torch cell and random inputs, drawn at one seed.

    ``weights = (w_ih, w_hh, b_ih, b_hh)``: copies of the cell's parameters, handed to the learner.
    ``x: (batch, input_size)``, ``h`` in (-1, 1) and ``c``: (batch, hidden_size).
    """

    cell: nn.Module
    x: Tensor
    h: Tensor
    c: Tensor
    weights: tuple[Tensor, Tensor, Tensor, Tensor]
    text: str

    @classmethod
    def draw(cls, cell_class: type[nn.Module], seed: int, batch: int, input_size: int, hidden_size: int):
        with seeded(seed):
            cell = cell_class(input_size, hidden_size)
            x = torch.randn(batch, input_size)
            h = torch.rand(batch, hidden_size) * 2 - 1
            c = torch.randn(batch, hidden_size)
        weights = tuple(p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
        text = describe(batch=batch, input_size=input_size, hidden_size=hidden_size, seed=seed)
        return cls(cell, x, h, c, weights, text)


def step_cases(cell_class: type[nn.Module]) -> Iterator[StepCase]:
    for seed, batch, input_size, hidden_size in STEP_CASES:
        yield StepCase.draw(cell_class, seed, batch, input_size, hidden_size)


def call_answer(answer: Callable, *args, case: str = ""):
    """Call the learner's function on copies of ``args`` (so in-place edits cannot spoil the check).

    Any exception becomes an :class:`AnswerProblem` that names the error and the learner's line. Inside
    ``Exercise.check`` the call is watched: using what the exercise forbids (its torch layer, rnnlib's own
    implementation, ...) is an :class:`AnswerProblem` too, whatever the function returns.
    """
    forbidden, advice = _FORBIDDEN.get()
    copies = [a.clone() if isinstance(a, Tensor) else a for a in args]
    with delegation.watching(forbidden) as used:
        try:
            result = answer(*copies)
        except Exception as error:  # a learner's bug of any kind: report it, never a traceback
            result, problem = None, raised_message(error, case)
        else:
            problem = None
    if used:
        raise AnswerProblem(delegation.message(used, "uses", advice))
    if problem:
        raise AnswerProblem(problem)
    return result


def raised_message(error: Exception, case: str = "") -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    message = f"Your function raised `{type(error).__name__}{': ' + text if text else ''}`{case}."
    line = _learner_line(error)
    if line:
        message += f" The failing line: `{line}`."
    if "shape" in text or "size of tensor" in text or "must match the size" in text:
        message += (
            " Shapes: torch stores a weight as (out_features, in_features), so a batch `x` of shape "
            "(batch, in_features) is multiplied as `x @ W.T` (or `torch.nn.functional.linear(x, W, b)`)."
        )
    return message


def _learner_line(error: Exception) -> str | None:
    """The source line of the innermost traceback frame outside torch and rnnlib."""
    for frame in reversed(inspect.getinnerframes(error.__traceback__, context=1)[1:]):
        if not frame.filename.startswith(_LIBRARY_DIRS) and frame.code_context:
            return frame.code_context[0].strip()
    return None


def as_tensor_answer(name: str, got, shape: tuple[int, ...], axes: tuple[str, ...], case: str = "") -> Tensor:
    """Check that ``got`` is a finite tensor of ``shape`` and return it as float64; else AnswerProblem."""
    if got is None:
        raise AnswerProblem(f"Your {name} is `None`: did you forget to `return` it?{case}")
    if not isinstance(got, Tensor):
        raise AnswerProblem(
            f"Your {name} should be a torch.Tensor of shape {shape} ({', '.join(axes)}); "
            f"it is a {type(got).__name__}.{case}"
        )
    if tuple(got.shape) != tuple(shape):
        message = f"Your {name} has shape {tuple(got.shape)}; expected {tuple(shape)} = ({', '.join(axes)})."
        if len(shape) == 2 and tuple(got.shape) == tuple(shape)[::-1]:
            message += " That is the transposed shape: check the order of the factors in your product."
        raise AnswerProblem(message + case)
    got = got.detach().double()
    if not torch.isfinite(got).all():
        raise AnswerProblem(f"Your {name} contains NaN or inf values.{case}")
    return got


def close(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a.double(), b.double(), rtol=RTOL, atol=ATOL)


def where_worst(got: Tensor, expected: Tensor, axes: tuple[str, ...]) -> tuple[float, str]:
    """Largest absolute difference and where it is, e.g. ``(0.31, "batch 0, unit 3")``."""
    diff = (got.double() - expected.double()).abs()
    index = np.unravel_index(int(diff.argmax()), tuple(diff.shape))
    return float(diff.max()), ", ".join(f"{axis} {i}" for axis, i in zip(axes, index))


def tensor_problem(
    name: str,
    got,
    expected: Tensor,
    *,
    axes: tuple[str, ...],
    against: str,
    case: str = "",
    mistakes: Iterable[tuple[str, Tensor]] = (),
    advice: str = "",
) -> str | None:
    """Feedback on a tensor answer, or ``None`` when it equals ``expected``.

    ``mistakes``: (message, what that mistake computes) pairs, tried in order; the first one the answer
    equals is reported. Otherwise the message gives the largest difference and where it is, plus
    ``advice``.
    """
    try:
        got = as_tensor_answer(name, got, tuple(expected.shape), axes, case)
    except AnswerProblem as problem:
        return str(problem)
    if close(got, expected):
        return None
    for message, wrong in mistakes:
        if close(got, wrong):
            return message + case
    if got.dim() == 2 and got.shape[0] == got.shape[1] and close(got, expected.T):
        return f"Your {name} is the transpose of the right one: check the order of the factors.{case}"
    diff, where = where_worst(got, expected, axes)
    return f"Your {name} differs from {against} by {diff:.3g} at {where}{case}. {advice}".strip()


def unpack_answer(got, names: tuple[str, ...], case: str = "") -> tuple:
    """A learner's tuple answer with one value per name; else AnswerProblem naming the expected tuple."""
    if not isinstance(got, tuple | list) or len(got) != len(names):
        kind = f"{len(got)} values" if isinstance(got, tuple | list) else f"a {type(got).__name__}"
        raise AnswerProblem(f"Return the tuple `({', '.join(names)})`; your function returned {kind}.{case}")
    return tuple(got)


def join_names(names: list[str]) -> str:
    """``["a", "b", "c"]`` → ``"a, b and c"``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def reorder_gates(tensors: Iterable[Tensor], order: tuple[int, ...]) -> tuple[Tensor, ...]:
    """Restack the gate blocks of stacked weights/biases (dim 0) in ``order``: a learner who reads the gates
    in the wrong order computes what the right code computes with the blocks reordered."""
    return tuple(torch.cat([t.chunk(len(order), dim=0)[i] for i in order]) for t in tensors)


def known_mistake(got: float, known: dict[float, str], *, rel_tol: float = 1e-9) -> str | None:
    """The message for the first value in ``known`` (typical wrong answer → what went wrong) that
    ``got`` equals to ``rel_tol``, or ``None``."""
    return next((message for value, message in known.items() if math.isclose(got, value, rel_tol=rel_tol)), None)


def as_number(name: str, got, case: str = "") -> float:
    """A learner's scalar answer (int, float, numpy or 0-d tensor) as a float; else AnswerProblem."""
    if isinstance(got, Tensor | np.ndarray | np.generic):
        size = got.numel() if isinstance(got, Tensor) else got.size
        if size != 1:
            raise AnswerProblem(f"Your {name} should be one number; it is an array of shape {tuple(got.shape)}.{case}")
        got = got.item()
    if got is None:
        raise AnswerProblem(f"Your {name} is `None`: did you forget to `return` it?{case}")
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise AnswerProblem(f"Your {name} should be a number; it is a {type(got).__name__}.{case}")
    if not np.isfinite(float(got)):
        raise AnswerProblem(f"Your {name} is {got}, not a finite number.{case}")
    return float(got)


def numeric_answers(answer: Callable, name: str, cases: Iterable[tuple[tuple, str]]) -> list[float]:
    """The learner's number for every ``(arguments, case text)``, all computed before any is judged."""
    return [as_number(name, call_answer(answer, *args, case=text), text) for args, text in cases]


@contextmanager
def noting_constant(got: list[float], expected: list[float], inputs: str) -> Iterator[None]:
    """Add to the feedback of a wrong answer that the learner's function gave one value for every case although
    the right answers differ: a number copied from somewhere, not a function of its ``inputs``."""
    constant = len(got) > 1 and len(set(got)) == 1
    spread = max(expected) - min(expected) > 1e-9 * max(map(abs, expected))
    try:
        yield
    except AnswerProblem as problem:
        if not (constant and spread):
            raise
        raise AnswerProblem(
            f"{problem} And your function returns {got[0]:.6g} whatever {inputs} are, while the right answer "
            f"changes with them (from {min(expected):.6g} to {max(expected):.6g} in these cases): compute it "
            "from the arguments."
        ) from None


class Exercise:
    """One exercise. Subclasses set the texts and implement :meth:`run_checks`.

    ``answer_name``: the name of the function the learner defines; ``check()`` without an argument
    looks it up in the calling notebook. ``solution_function``: the model answer (in
    :mod:`rnnlib.exercises.solutions`), shown by ``solution()`` as source code.
    """

    title: str = ""
    answer_name: str = ""
    prompt: str = ""
    hints: tuple[str, ...] = ()
    solution_function: Callable
    #: what the answer must not use (besides any model answer), and what to do instead
    forbidden: tuple[delegation.Forbidden, ...] = ()
    delegation_advice: str = ""

    def run_checks(self, answer: Callable) -> str:
        """Raise :class:`AnswerProblem` for a wrong answer; return the success message otherwise."""
        raise NotImplementedError

    def check(self, answer: Callable | None = None) -> CheckResult:
        """Check ``answer`` (default: the function named :attr:`answer_name` where ``check()`` is called).

        Displays the verdict and returns a :class:`CheckResult` (truthy when right).
        """
        try:
            if answer is None:
                answer = self._find_answer(inspect.currentframe().f_back)
            if not callable(answer):
                raise AnswerProblem(
                    f"Pass your function itself, e.g. `check({self.answer_name})` (without parentheses "
                    f"after the name); got a {type(answer).__name__}."
                )
            forbidden = (*self.forbidden, *delegation.ALL_SOLUTIONS)
            used = delegation.source_uses(answer, forbidden)
            if used:
                raise AnswerProblem(delegation.message(used, "refers to", self.delegation_advice))
            token = _FORBIDDEN.set((forbidden, self.delegation_advice))
            try:
                result = CheckResult(True, self.run_checks(answer))
            finally:
                _FORBIDDEN.reset(token)
        except AnswerProblem as problem:
            result = CheckResult(False, str(problem))
        show("Correct" if result else "Not yet", result.message)
        return result

    def _find_answer(self, frame) -> Callable:
        namespace = {**frame.f_globals, **frame.f_locals} if frame is not None else {}
        if self.answer_name not in namespace:
            raise AnswerProblem(
                f"I can't find a function called `{self.answer_name}`: define it in a cell above and run "
                f"that cell, or pass your function: `check(my_function)`."
            )
        return namespace[self.answer_name]

    def hint(self, n: int = 1) -> None:
        """Show hint ``n`` (1 = the gentlest)."""
        n = check_int("n", n, low=1, high=len(self.hints))
        more = f" (`hint({n + 1})` gives another.)" if n < len(self.hints) else ""
        show("Hint", f"{self.hints[n - 1]}{more}")

    @property
    def solution_source(self) -> str:
        """The model answer as runnable source code, with the imports it uses (``torch``, ``math``)."""
        function = self.solution_function
        modules = [name for name in function.__code__.co_names if inspect.ismodule(function.__globals__.get(name))]
        imports = "".join(f"import {name}\n" for name in sorted(modules))
        return f"{imports}\n\n{inspect.getsource(function)}" if imports else inspect.getsource(function)

    def solution(self) -> None:
        """Show the model answer as code."""
        source = self.solution_source
        show("Solution", f"\n\n```python\n{source}```", "\n" + source)

    def show(self) -> None:
        """Show the exercise's prompt (in Jupyter, evaluating the exercise object does the same)."""
        show("", self._repr_markdown_(), self._plain_prompt())

    def _plain_prompt(self) -> str:
        return f"{self.title}\n\n{self.prompt}\n\nCheck with check({self.answer_name})."

    def _repr_markdown_(self) -> str:
        return (
            f"### {self.title}\n\n{self.prompt}\n\n"
            f"Check your answer with `check()`; stuck? `hint()`; `solution()` shows a model answer."
        )

    def __repr__(self) -> str:
        return f"<exercise {self.answer_name!r}: {self.title}>"
