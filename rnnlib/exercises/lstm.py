"""Exercises of notebook 03 (LSTM): one LSTM step, and the forget-gate bias a long memory needs."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..cells import lstm_step
from . import solutions
from .delegation import AUTOGRAD, RNNLIB, Forbidden, layer
from .framework import (
    STEP_CASES,
    AnswerProblem,
    Exercise,
    StepCase,
    call_answer,
    close,
    describe,
    join_names,
    noting_constant,
    numeric_answers,
    reorder_gates,
    seeded,
    step_cases,
    tensor_problem,
    unpack_answer,
)

AXES = ("batch", "unit")


class LSTMStepExercise(Exercise):
    title = "Write one step of an LSTM"
    answer_name = "lstm_step"
    solution_function = solutions.lstm_step
    forbidden = (*layer("lstm"), RNNLIB["lstm_step"], RNNLIB["unroll"])
    delegation_advice = (
        "Write the four gates and the two updates yourself (`@`, `.chunk(4, dim=1)`, `torch.sigmoid`, "
        "`torch.tanh`); the check compares them with nn.LSTMCell for you."
    )
    prompt = r"""Write `lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh)`, one LSTM step, returning the pair `(h_t, c_t)`:

$$\begin{aligned}
i_t &= \sigma(x_t W_{ii}^\top + b_{ii} + h_{t-1} W_{hi}^\top + b_{hi}) &&\text{input gate}\\
f_t &= \sigma(x_t W_{if}^\top + b_{if} + h_{t-1} W_{hf}^\top + b_{hf}) &&\text{forget gate}\\
\tilde c_t &= \tanh(x_t W_{ig}^\top + b_{ig} + h_{t-1} W_{hg}^\top + b_{hg}) &&\text{candidate (block g)}\\
o_t &= \sigma(x_t W_{io}^\top + b_{io} + h_{t-1} W_{ho}^\top + b_{ho}) &&\text{output gate}\\
c_t &= f_t \odot c_{t-1} + i_t \odot \tilde c_t &&\text{the conveyor belt}\\
h_t &= o_t \odot \tanh(c_t)
\end{aligned}$$

* `x`: (batch, input_size); `h` $= h_{t-1}$, `c` $= c_{t-1}$: (batch, H)
* `w_ih`: (4H, input_size), `w_hh`: (4H, H), `b_ih`, `b_hh`: (4H,) stack the four blocks in **torch's
  order i, f, g, o** (g is the candidate $\tilde c_t$)

The check copies the weights of a real `nn.LSTMCell` and compares both outputs on random inputs."""
    hints = (
        "All four gates share one pre-activation: `x @ w_ih.T + b_ih + h @ w_hh.T + b_hh` is (batch, 4H); "
        "`.chunk(4, dim=1)` splits it into i, f, g, o, in that order.",
        "Three of the four blocks go through a sigmoid (i, f, o); the candidate g goes through tanh.",
        "h_t uses the *new* cell: h_t = o_t ⊙ tanh(c_t). Return `(h_t, c_t)` in that order, like nn.LSTMCell.",
    )

    def run_checks(self, answer) -> str:
        for case in step_cases(nn.LSTMCell):
            with torch.no_grad():
                h_exp, c_exp = case.cell(case.x, (case.h, case.c))
            got = call_answer(answer, case.x, case.h, case.c, *case.weights, case=case.text)
            h_got, c_got = unpack_answer(got, ("h_t", "c_t"), case.text)
            h_mistakes, c_mistakes = self._mistakes(case, c_exp)
            h_problem = tensor_problem("h_t", h_got, h_exp, axes=AXES, against="nn.LSTMCell's", mistakes=h_mistakes)
            c_problem = tensor_problem("c_t", c_got, c_exp, axes=AXES, against="nn.LSTMCell's", mistakes=c_mistakes)
            if h_problem and c_problem and _same(h_got, c_exp) and _same(c_got, h_exp):
                raise AnswerProblem(f"You returned `(c_t, h_t)`: return `(h_t, c_t)`, as nn.LSTMCell does.{case.text}")
            if c_problem:
                other = " Your h_t is right." if not h_problem else " (Your h_t is computed from c_t: fix c_t first.)"
                raise AnswerProblem(c_problem + other + case.text)
            if h_problem:
                raise AnswerProblem(f"Your c_t is right. {h_problem}{case.text}")
        return (
            f"Your `lstm_step` equals `nn.LSTMCell` with the same weights on {len(STEP_CASES)} random cases, "
            "h_t and c_t both. The cell update c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t has no matrix product on the way "
            "from c_{t-1} to c_t: with f_t near 1 the gradient flows back along it almost unchanged."
        )

    @staticmethod
    def _mistakes(case, c_exp):
        """(h mistakes, c mistakes): what common misreadings compute, built from rnnlib's LSTM step."""
        w_ih, w_hh, b_ih, b_hh = case.weights
        _, gates = lstm_step(F.linear(case.x, w_ih, b_ih), (case.h, case.c), w_hh, b_hh)
        o = gates["o"]
        h_mistakes = [
            ("Your h_t leaves out the tanh: h_t = o_t ⊙ tanh(c_t).", o * c_exp),
            ("Your h_t uses the old cell c_{t-1}: h_t = o_t ⊙ tanh(c_t), with the c_t you just computed.",
             o * torch.tanh(case.c)),
            ("Your h_t leaves out the output gate: h_t = o_t ⊙ tanh(c_t).", torch.tanh(c_exp)),
        ]
        c_mistakes = []
        for order, names in (((1, 0, 2, 3), "f, i, g, o"), ((0, 1, 3, 2), "i, f, o, g"), ((1, 0, 3, 2), "f, i, o, g")):
            r_ih, r_hh, r_bih, r_bhh = reorder_gates(case.weights, order)
            (_, c_wrong), _ = lstm_step(F.linear(case.x, r_ih, r_bih), (case.h, case.c), r_hh, r_bhh)
            c_mistakes.append(
                (f"Your c_t reads the gate blocks in the order {names}; torch stacks them i, f, g, o "
                 "(input, forget, candidate, output).", c_wrong)
            )
        c_mistakes.append(
            ("Your c_t forgets the input gate: c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t.",
             gates["f"] * case.c + gates["g"])
        )
        return h_mistakes, c_mistakes


def _same(got, expected) -> bool:
    return isinstance(got, torch.Tensor) and close(got.detach(), expected)


class ForgetBiasExercise(Exercise):
    title = "How large must the forget-gate bias be?"
    answer_name = "forget_bias"
    solution_function = solutions.forget_bias
    prompt = r"""At initialisation an LSTM's forget gate is about $f = \sigma(b)$, where $b = b_{if} + b_{hf}$ is its
total bias (the weights are small; ignore them). With nothing new written into the cell
($i_t \odot \tilde c_t = 0$) the cell only decays: $c_t = f\,c_{t-1}$.

Write `forget_bias(steps, keep)` that returns the **smallest** bias $b$ for which at least the fraction `keep`
(0 < keep < 1) of the cell survives `steps` steps: `forget_bias(1, 0.9)` keeps ≥ 90 % per step. Return the exact
value from a formula, not a rounded number.

The check runs a real `nn.LSTMCell` with zero weights and forget-gate bias $b$ for `steps` steps and measures
what is left of $c_0 = 1$."""
    hints = (
        "After `steps` steps the cell holds f^steps × c_0. So the gate must satisfy f^steps ≥ keep, "
        "i.e. f ≥ keep^(1/steps).",
        "Invert the sigmoid: σ(b) = f  ⇔  b = log(f / (1 − f)) (the logit).",
    )
    #: (steps, keep): the per-step question of the text, the long-range task's 50 filler words, and two more
    cases = ((1, 0.9), (50, 0.01), (100, 0.5), (10, 0.99))
    #: how much smaller than the answer a bias must fail, for the answer to count as the smallest
    margin = 0.01

    def run_checks(self, answer) -> str:
        cases = [((steps, keep), describe(steps=steps, keep=keep)) for steps, keep in self.cases]
        answers = numeric_answers(answer, "bias", cases)
        with noting_constant(answers, [solutions.forget_bias(*args) for args, _ in cases], "steps and keep"):
            for ((steps, keep), case), b in zip(cases, answers):
                kept = kept_fraction(b, steps)
                if kept < keep * (1 - 1e-6):
                    message = self._too_small(b, steps, keep, kept)
                    if kept_fraction(b + self.margin, steps) >= keep:
                        message += f" You are less than {self.margin} short: return the formula's value, unrounded."
                    raise AnswerProblem(message + case)
                smaller = kept_fraction(b - self.margin, steps)
                if smaller >= keep:
                    raise AnswerProblem(
                        f"b = {b:.6g} keeps {kept:.5g} ≥ {keep} of the cell after {_steps(steps)}, but it is not the "
                        f"smallest such bias: b − {self.margin} still keeps {smaller:.5g}. The smallest matters: deep "
                        f"in σ's flat tail (σ'(b) = {_sigmoid(b) * (1 - _sigmoid(b)):.2g}) the gate learns slowly to "
                        f"forget when the task needs it.{case}"
                    )
        long_range = solutions.forget_bias(50, 0.01)
        return (
            f"The bias must satisfy σ(b) ≥ keep^(1/steps). For the long-range task's 50 filler words with 1 % left "
            f"that is b ≥ {long_range:.2f} (f = {_sigmoid(long_range):.3f}). PyTorch's default init gives b ≈ 0, "
            f"f ≈ 0.5, which leaves 0.5^50 ≈ {0.5**50:.0e} of the cell after 50 steps. Measured on "
            "this course's long-range task: an LSTM with `rnnlib.set_forget_bias(model, 3)` learns it, with the "
            "default init it does not."
        )

    @staticmethod
    def _too_small(b: float, steps: int, keep: float, kept: float) -> str:
        message = (
            f"With b = {b:.6g} the forget gate is σ(b) = {_sigmoid(b):.5g}, and after {_steps(steps)} the cell keeps "
            f"{kept:.5g} of its content; it should keep at least {keep}."
        )
        f_needed = keep ** (1 / steps)
        if abs(b - f_needed) < 1e-6:
            message += " You returned the gate value f itself: the bias is the b with σ(b) = f."
        elif steps > 1 and abs(b - math.log(keep / (1 - keep))) < 1e-6:
            message += (
                f" You solved σ(b) = {keep} for a single step: the cell is multiplied by f at every step, "
                f"so it needs f^{steps} ≥ {keep}."
            )
        return message


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _sigmoid(b: float) -> float:
    return 0.5 * (1 + math.tanh(b / 2))  # σ(b), without overflow for any b


def kept_fraction(bias: float, steps: int) -> float:
    """What is left of ``c_0 = 1`` after ``steps`` steps of an ``nn.LSTMCell`` with zero weights, zero input and
    forget-gate bias ``bias``: the candidate is tanh(0) = 0, so c_t = σ(bias) c_{t-1}."""
    with seeded(0):  # the initialisation draws random numbers: keep them away from the learner's generator
        cell = nn.LSTMCell(1, 1, dtype=torch.float64)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih[1] = bias  # blocks i, f, g, o of one unit each: index 1 is the forget gate
        x = torch.zeros(1, 1, dtype=torch.float64)
        h, c = torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64)
        for _ in range(steps):
            h, c = cell(x, (h, c))
    return float(c)


class LSTMStepBackwardExercise(Exercise):
    title = "Backpropagate through one LSTM step (advanced)"
    answer_name = "lstm_step_backward"
    solution_function = solutions.lstm_step_backward
    forbidden = (AUTOGRAD, *layer("lstm"), RNNLIB["lstm_step"])
    delegation_advice = (
        "Derive the gradients by hand with plain tensor operations (notebook 01's `rnn_step_backward` is the "
        "pattern); the check runs autograd through nn.LSTMCell for you and compares."
    )
    prompt = r"""Notebook 01 walked one step of the vanilla RNN backwards. Do the same for the LSTM step above
(gates in torch's order i, f, g, o). Write
`lstm_step_backward(dh_t, dc_t, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)`:

* `dh_t` $= \partial L/\partial h_t$ and `dc_t` $= \partial L/\partial c_t$ as sent back by the **next** step
  (the belt): (batch, H)
* the step's inputs `x`: (batch, D), `h_prev` $= h_{t-1}$, `c_prev` $= c_{t-1}$: (batch, H), and its weights
  `w_ih`: (4H, D), `w_hh`: (4H, H), `b_ih`, `b_hh`: (4H,)

Return the tuple `(dx, dh_prev, dc_prev, dw_ih, dw_hh, db)`: $\partial L/\partial x_t$ (batch, D),
$\partial L/\partial h_{t-1}$ and $\partial L/\partial c_{t-1}$ (batch, H), $\partial L/\partial W_{ih}$ (4H, D),
$\partial L/\partial W_{hh}$ (4H, H), both summed over the batch, and `db` (4H,), the gradient of `b_ih`
(equal to that of `b_hh`; return it once).

Plain tensor operations, no autograd: recompute the gates from the inputs. The check runs autograd through a
real `nn.LSTMCell` with the same weights on several shapes."""
    hints = (
        "Recompute the forward step first: i, f, g, o and c_t. Then start at c_t. It reaches the loss twice: "
        "along the belt (`dc_t`) and through h_t = o_t ⊙ tanh(c_t). So "
        "∂L/∂c_t = dc_t + dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)).",
        "From that total ∂L/∂c_t: the gates get di = ∂L/∂c_t ⊙ g, df = ∂L/∂c_t ⊙ c_{t-1}, dg = ∂L/∂c_t ⊙ i, and "
        "do = dh_t ⊙ tanh(c_t); the belt passes on dc_prev = ∂L/∂c_t ⊙ f. Then through the nonlinearities: "
        "σ' = σ(1 − σ) for i, f, o and tanh' = 1 − g² for g.",
        "Stack the four pre-activation gradients in torch's order i, f, g, o into `da`: (batch, 4H). The rest is "
        "the RNN backward again: dx = da W_ih, dh_prev = da W_hh, dW_ih = daᵀ x, dW_hh = daᵀ h_{t-1}, "
        "db = da summed over the batch.",
    )
    names = ("dx", "dh_prev", "dc_prev", "dw_ih", "dw_hh", "db")
    axes = (("batch", "input feature"), ("batch", "unit"), ("batch", "unit"), ("gate row", "input feature"),
            ("gate row", "previous unit"), ("gate row",))

    def run_checks(self, answer) -> str:
        for seed, batch, input_size, hidden_size in STEP_CASES:
            case = StepCase.draw(nn.LSTMCell, seed, batch, input_size, hidden_size)
            with seeded(1000 + seed):
                dh, dc = torch.randn(batch, hidden_size), torch.randn(batch, hidden_size)
            expected = self._reference(case, dh, dc)
            mistakes = self._mistakes(case, dh, dc, expected)
            got = call_answer(answer, dh, dc, case.x, case.h, case.c, *case.weights, case=case.text)
            values = unpack_answer(got, self.names, case.text)
            problems = {
                name: tensor_problem(name, value, expected[name], axes=axes, against="autograd's",
                                     mistakes=mistakes.get(name, ()))
                for name, value, axes in zip(self.names, values, self.axes)
            }
            wrong = [text for text in problems.values() if text]
            if wrong:
                right = [name for name, text in problems.items() if not text]
                verdict = f" ({join_names(right)} {'is' if len(right) == 1 else 'are'} right.)" if right else ""
                raise AnswerProblem(" ".join(wrong[:2]) + verdict + case.text)
        return (
            f"All six gradients equal autograd's through nn.LSTMCell on {len(STEP_CASES)} random cases. Compare "
            "`dc_prev = ∂L/∂c_t ⊙ f_t` with the RNN's `dh_prev = (∂L/∂a_t) W_hh`: along the belt the gradient is "
            "multiplied by the forget gate only, no matrix and no tanh', which is why an LSTM with f_t near 1 "
            "keeps its gradient over many steps."
        )

    def _reference(self, case, dh, dc) -> dict:
        """Autograd's gradients through the real nn.LSTMCell."""
        cell = case.cell
        x, h, c = (t.clone().requires_grad_() for t in (case.x, case.h, case.c))
        h_t, c_t = cell(x, (h, c))
        grads = torch.autograd.grad((h_t, c_t), (x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih), (dh, dc))
        return dict(zip(self.names, (g.detach() for g in grads)))

    def _mistakes(self, case, dh, dc, expected) -> dict:
        """What the common slips compute, each by autograd through a step written with that slip."""
        mistakes = {name: [] for name in self.names}
        no_c_path = _step_grads(case, dh, dc, c_path=False)
        for name in self.names:
            mistakes[name].append(
                (f"Your {name} misses the path from h_t into c_t: h_t = o_t ⊙ tanh(c_t), so "
                 "∂L/∂c_t = dc_t + dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)), not dc_t alone.", no_c_path[name]))
        for order, names in (((1, 0, 2, 3), "f, i, g, o"), ((0, 1, 3, 2), "i, f, o, g")):
            wrong = _step_grads(case, dh, dc, order=order)
            for name in self.names:
                mistakes[name].append(
                    (f"Your {name} reads the gate blocks in the order {names}; torch stacks them i, f, g, o "
                     "(input, forget, candidate, output), in the forward step and in the gradients.", wrong[name]))
        mistakes["dc_prev"].append(
            ("Your dc_prev forgets the forget gate: along the belt ∂c_t/∂c_{t-1} = diag(f_t), so "
             "dc_prev = ∂L/∂c_t ⊙ f_t.", _total_dc(case, dh, dc)))
        mistakes["db"].append(
            ("Your db is twice the right one: b_ih and b_hh each get this gradient; return it once.",
             2 * expected["db"]))
        return mistakes


def _gates(x, h, w_ih, w_hh, b_ih, b_hh, order=(0, 1, 2, 3)):
    """(i, f, g, o) of one LSTM step, reading the stacked blocks in ``order`` (a mix-up when not 0, 1, 2, 3)."""
    blocks = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, dim=1)
    i, f, g, o = (blocks[k] for k in order)
    return torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)


def _step_grads(case, dh, dc, *, c_path: bool = True, order=(0, 1, 2, 3)) -> dict:
    """Autograd's gradients of one LSTM step written with a slip: ``c_path=False`` cuts h_t's path into c_t
    (h_t = o_t ⊙ tanh(c_t) with c_t treated as a constant), ``order`` reads the gates in another order."""
    x, h, c, *weights = (t.clone().requires_grad_() for t in (case.x, case.h, case.c, *case.weights))
    i, f, g, o = _gates(x, h, *weights, order=order)
    c_t = f * c + i * g
    h_t = o * torch.tanh(c_t if c_path else c_t.detach())
    grads = torch.autograd.grad((h_t, c_t), (x, h, c, *weights[:3]), (dh, dc))
    return dict(zip(LSTMStepBackwardExercise.names, (g.detach() for g in grads)))


def _total_dc(case, dh, dc) -> torch.Tensor:
    """∂L/∂c_t, both paths: what a dc_prev that forgets the factor f_t returns."""
    i, f, g, o = _gates(case.x, case.h, *case.weights)
    c_t = (f * case.c + i * g).requires_grad_()
    (total,) = torch.autograd.grad((o * torch.tanh(c_t), c_t), c_t, (dh, dc))
    return total


ForgetBiasExercise.forbidden = (Forbidden("rnnlib.exercises.lstm.kept_fraction", (kept_fraction,)),)
ForgetBiasExercise.delegation_advice = (
    "Solve σ(b)^steps = keep for b with a formula; the check measures the cell for you."
)

lstm_step_exercise = LSTMStepExercise()
forget_bias_exercise = ForgetBiasExercise()
lstm_step_backward_exercise = LSTMStepBackwardExercise()
