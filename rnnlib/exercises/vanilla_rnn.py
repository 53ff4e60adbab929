"""Exercises of notebook 01 (vanilla RNN): one tanh step, its parameter count, and its backward step."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models import count_parameters
from . import solutions
from .delegation import AUTOGRAD, COUNTING, RNNLIB, layer
from .framework import (
    STEP_CASES,
    AnswerProblem,
    Exercise,
    StepCase,
    call_answer,
    describe,
    join_names,
    noting_constant,
    numeric_answers,
    seeded,
    step_cases,
    tensor_problem,
    unpack_answer,
)


class RNNStepExercise(Exercise):
    title = "Write one step of a vanilla RNN"
    answer_name = "rnn_step"
    solution_function = solutions.rnn_step
    forbidden = (*layer("rnn"), RNNLIB["rnn_step"], RNNLIB["unroll"])
    delegation_advice = (
        "Write the equation h_t = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) yourself with `@` and `torch.tanh`; "
        "the check compares it with nn.RNNCell for you."
    )
    prompt = r"""Write `rnn_step(x, h, w_ih, w_hh, b_ih, b_hh)`, one step of the tanh RNN on a batch:

$$h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$$

* `x` $= x_t$: (batch, input_size); `h` $= h_{t-1}$: (batch, hidden_size)
* the weights as `nn.RNNCell` stores them: `w_ih`: (hidden_size, input_size),
  `w_hh`: (hidden_size, hidden_size), `b_ih`, `b_hh`: (hidden_size,)
* return $h_t$: (batch, hidden_size)

The check copies the weights of a real `nn.RNNCell` and compares on random inputs of several sizes."""
    hints = (
        "torch stores every weight as (out_features, in_features): one row per hidden unit. To multiply a "
        "batch `x` of shape (batch, input_size) you need the transpose: `x @ w_ih.T` is (batch, hidden_size).",
        "PyTorch keeps two bias vectors, `b_ih` and `b_hh`: add both. The nonlinearity is `torch.tanh`.",
        "Check the shapes term by term: `x @ w_ih.T`, `h @ w_hh.T`, `b_ih` and `b_hh` must all broadcast to "
        "(batch, hidden_size) before the tanh.",
    )

    def run_checks(self, answer) -> str:
        for case in step_cases(nn.RNNCell):
            w_ih, w_hh, b_ih, b_hh = case.weights
            with torch.no_grad():
                expected = case.cell(case.x, case.h)
            got = call_answer(answer, case.x, case.h, *case.weights, case=case.text)
            problem = tensor_problem(
                "h_t", got, expected, axes=("batch", "unit"), against="nn.RNNCell's", case=case.text,
                mistakes=self._mistakes(case.x, case.h, w_ih, w_hh, b_ih, b_hh),
                advice="Compare your line with the equation term by term: two products, two biases, a tanh.",
            )
            if problem:
                raise AnswerProblem(problem)
        return (
            f"Your `rnn_step` equals `nn.RNNCell` with the same weights on {len(STEP_CASES)} random cases "
            "(3 shapes × 2 seeds). `nn.RNN` is this step applied at every time step with the same weights."
        )

    @staticmethod
    def _mistakes(x, h, w_ih, w_hh, b_ih, b_hh):
        pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)  # a_t, the pre-activation
        mistakes = [
            ("Your h_t leaves out `b_hh`: nn.RNNCell adds two bias vectors, `b_ih` and `b_hh`.",
             torch.tanh(pre - b_hh)),
            ("Your h_t leaves out `b_ih`: nn.RNNCell adds two bias vectors, `b_ih` and `b_hh`.",
             torch.tanh(pre - b_ih)),
            ("Your h_t has no bias: add `b_ih` and `b_hh`.", torch.tanh(pre - b_ih - b_hh)),
            ("Your h_t uses `h @ w_hh` where nn.RNNCell computes `h @ w_hh.T`: W_hh stores one row per hidden "
             "unit, so the product with a batch of row vectors needs the transpose.",
             torch.tanh(F.linear(x, w_ih, b_ih) + h @ w_hh + b_hh)),
            ("Your h_t is missing the tanh: h_t = tanh(a_t), which keeps every unit in (-1, 1).", pre),
            ("Your h_t uses a sigmoid where the vanilla RNN uses tanh.", torch.sigmoid(pre)),
            ("Your h_t uses ReLU where nn.RNNCell (nonlinearity='tanh') uses tanh.", torch.relu(pre)),
        ]
        if w_ih.shape[0] == w_ih.shape[1]:
            mistakes.append(
                ("Your h_t uses `x @ w_ih` where nn.RNNCell computes `x @ w_ih.T` (with input_size ≠ hidden_size "
                 "it would have raised a shape error).", torch.tanh(x @ w_ih + b_ih + F.linear(h, w_hh, b_hh)))
            )
        return mistakes


class RNNParameterCountExercise(Exercise):
    title = "Count the parameters of a stacked vanilla RNN"
    answer_name = "rnn_parameter_count"
    solution_function = solutions.rnn_parameter_count
    forbidden = (*layer("rnn"), *layer("gru"), *layer("lstm"), *COUNTING)
    delegation_advice = (
        "Count with a formula in input_size, hidden_size and num_layers (how many numbers does each weight matrix "
        "and bias hold?): no layer to build. The check builds the real layers for you."
    )
    prompt = r"""Section 2 counted one recurrent layer. Layers can be **stacked**: `nn.RNN(input_size, hidden_size,
num_layers)` feeds the hidden states $h_t$ of layer 1 as the input sequence of layer 2, and so on; each layer has
its own weights. Write `rnn_parameter_count(input_size, hidden_size, num_layers)` that returns, **in closed
form** (a formula, no torch), the number of trainable parameters of `nn.RNN(input_size, hidden_size, num_layers)`
(one direction, biases on). The check builds real layers of several sizes and counts
`sum(p.numel() for p in layer.parameters())`."""
    hints = (
        "List what `nn.RNN` learns: try `[(name, p.shape) for name, p in nn.RNN(5, 4, 2).named_parameters()]`. "
        "Every layer has W_ih, W_hh and two bias vectors.",
        "Layer 1 reads x_t, so its W_ih is (hidden_size, input_size). Layers 2 … num_layers read the hidden state of "
        "the layer below: their W_ih is (hidden_size, hidden_size). W_hh is (hidden_size, hidden_size) everywhere.",
    )
    #: (input_size, hidden_size, num_layers): the first has every term a different size (a missing term is
    #: identifiable), then stacks where input_size ≠ hidden_size tells layer 1 from the others
    sizes = ((5, 4, 1), (1, 1, 1), (5, 4, 3), (32, 64, 2), (300, 128, 2))

    def run_checks(self, answer) -> str:
        names = ("input_size", "hidden_size", "num_layers")
        cases = [(sizes, describe(**dict(zip(names, sizes)))) for sizes in self.sizes]
        answers = numeric_answers(answer, "count", cases)
        with torch.device("meta"):  # shapes only: no memory, no random numbers
            counts = [count_parameters(nn.RNN(*sizes)) for sizes in self.sizes]
        with noting_constant(answers, counts, "input_size, hidden_size and num_layers"):
            for sizes, got, expected in zip(self.sizes, answers, counts):
                if got != expected:
                    raise AnswerProblem(self._diagnose(got, expected, *sizes))
        return (
            "Right: (H·I + H² + 2H) for layer 1 plus (num_layers − 1)·(2H² + 2H) for the layers above it. The count "
            "does not depend on the sequence length: the same weights are used at every step. And it grows with H², "
            "so doubling the hidden size roughly quadruples it."
        )

    @staticmethod
    def _diagnose(got: float, expected: int, input_size: int, hidden_size: int, num_layers: int) -> str:
        one_layer = hidden_size * (input_size + hidden_size + 2)
        layer = f"nn.RNN({input_size}, {hidden_size}, {num_layers})"
        text = (
            f"For input_size={input_size}, hidden_size={hidden_size}, num_layers={num_layers} your count is {got:g}; "
            f"{layer} has {expected}."
        )
        if num_layers > 1 and got == num_layers * one_layer:
            return (f"{text} Only layer 1 reads x_t (input_size features); the layers above it read the hidden "
                    "state of the layer below, so their W_ih is (hidden_size, hidden_size).")
        if num_layers > 1 and got == one_layer:
            return f"{text} That is one layer: num_layers={num_layers} stacks {num_layers}, each with its own weights."
        missing = {
            hidden_size: "one bias vector: torch keeps two, b_ih and b_hh (hidden_size each)",
            2 * hidden_size: "both bias vectors b_ih and b_hh (hidden_size each)",
            hidden_size * hidden_size: "W_hh, the recurrent matrix (hidden_size × hidden_size)",
            hidden_size * input_size: "W_ih, the input matrix (hidden_size × input_size)",
        }
        if num_layers == 1 and expected - got in missing:
            return f"{text} You are missing {missing[expected - got]}."
        return f"{text} List the tensors: `[p.shape for p in {layer}.parameters()]`."


class RNNStepBackwardExercise(Exercise):
    title = "Backpropagate through one RNN step"
    answer_name = "rnn_step_backward"
    solution_function = solutions.rnn_step_backward
    forbidden = (AUTOGRAD, *layer("rnn"), RNNLIB["rnn_step_backward"], RNNLIB["rnn_backward"])
    delegation_advice = (
        "Derive the gradients by hand, starting from ∂L/∂a_t = dh_t ⊙ (1 − h_t²), with plain tensor products; "
        "the check runs autograd for you and compares."
    )
    prompt = r"""The forward step is $a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$ and
$h_t = \tanh(a_t)$. Backpropagation through time walks back over these steps; write one of them:
`rnn_step_backward(dh_t, h_t, h_prev, x_t, w_hh)` gets

* `dh_t` $= \partial L/\partial h_t$, `h_t`, `h_prev` $= h_{t-1}$: (batch, H); `x_t`: (batch, D); `w_hh`: (H, H)

and returns the tuple `(dw_ih, dw_hh, db, dh_prev)`:

* `dw_ih` $= \partial L/\partial W_{ih}$: (H, D), `dw_hh` $= \partial L/\partial W_{hh}$: (H, H), summed over the batch
* `db` $= \partial L/\partial b$: (H,), the gradient of `b_ih`, which equals that of `b_hh` (return it once)
* `dh_prev` $= \partial L/\partial h_{t-1}$: (batch, H), what flows on to the step before

Plain tensor operations only, no autograd: the check compares with autograd through `nn.RNNCell`."""
    hints = (
        "Start at the pre-activation: tanh'(a) = 1 − tanh(a)², and tanh(a_t) is h_t, which you are given. "
        "So ∂L/∂a_t = dh_t ⊙ (1 − h_t²), shape (batch, H). Every other gradient is built from it.",
        "a_t is linear in each weight. For a = x Wᵀ the gradient is ∂L/∂W = (∂L/∂a)ᵀ x: a matrix product that "
        "also sums over the batch. Let the expected shape, (H, D) for dw_ih, tell you the order.",
        "The bias gradient is ∂L/∂a_t summed over the batch. Since a_t contains h_{t-1} W_hhᵀ, the gradient flows "
        "back as ∂L/∂h_{t-1} = (∂L/∂a_t) W_hh: no transpose this time.",
    )
    names = ("dw_ih", "dw_hh", "db", "dh_prev")

    def run_checks(self, answer) -> str:
        for seed, batch, input_size, hidden_size in STEP_CASES:
            case = StepCase.draw(nn.RNNCell, seed, batch, input_size, hidden_size)
            with seeded(1000 + seed):
                dh = torch.randn(batch, hidden_size)
            expected, mistakes, h_t = self._reference(case, dh)
            got = call_answer(answer, dh, h_t, case.h, case.x, case.weights[1], case=case.text)
            problems = {}
            for name, value, axes in zip(self.names, unpack_answer(got, self.names, case.text), self._axes()):
                if name == "db" and isinstance(value, torch.Tensor) and tuple(value.shape) == (batch, hidden_size):
                    problems[name] = (
                        "Your db has shape (batch, H): b is shared by every sequence of the batch, so its gradient is "
                        "the sum over the batch (dim 0)."
                    )
                    continue
                problems[name] = tensor_problem(
                    name, value, expected[name], axes=axes, against="autograd's", mistakes=mistakes[name]
                )
            wrong = [text for text in problems.values() if text]
            if wrong:
                right = [name for name, text in problems.items() if not text]
                verdict = f" ({join_names(right)} {'is' if len(right) == 1 else 'are'} right.)" if right else ""
                raise AnswerProblem(" ".join(wrong) + verdict + case.text)
        return (
            f"All four gradients equal autograd's on {len(STEP_CASES)} random cases. Look at `dh_prev`: every step "
            "back multiplies the gradient by diag(1 − h_t²) W_hh, so over T steps ‖∂L/∂h_t‖ shrinks or grows "
            "geometrically. `rnnlib.bptt.rnn_backward` walks exactly this step from t = T down to 1."
        )

    @staticmethod
    def _axes():
        return (("hidden unit", "input feature"), ("hidden unit", "previous unit"), ("hidden unit",), ("batch", "unit"))

    def _reference(self, case, dh):
        """Autograd's gradients through nn.RNNCell, and what common mistakes would give instead."""
        cell = case.cell
        h_prev = case.h.clone().requires_grad_()
        h_t = cell(case.x, h_prev)
        grads = torch.autograd.grad(h_t, (cell.weight_ih, cell.weight_hh, cell.bias_ih, h_prev), dh)
        expected = dict(zip(self.names, grads))
        # the same forward without tanh: its gradients are what forgetting the factor (1 − h_t²) gives
        w_ih, w_hh, b_ih, b_hh = (w.clone().requires_grad_() for w in case.weights)
        pre = F.linear(case.x, w_ih, b_ih) + F.linear(h_prev, w_hh, b_hh)
        no_tanh = dict(zip(self.names, torch.autograd.grad(pre, (w_ih, w_hh, b_ih, h_prev), dh, retain_graph=True)))
        (da,) = torch.autograd.grad(torch.tanh(pre), pre, dh)  # ∂L/∂a_t
        forgot = "forgets the factor tanh'(a_t) = 1 − h_t²: every gradient passes through the tanh first."
        mistakes = {
            "dw_ih": [(f"Your dw_ih {forgot}", no_tanh["dw_ih"])],
            "dw_hh": [
                (f"Your dw_hh {forgot}", no_tanh["dw_hh"]),
                ("Your dw_hh uses h_t where h_prev belongs: W_hh multiplies the previous state h_{t-1}.",
                 da.T @ h_t.detach()),
            ],
            "db": [
                (f"Your db {forgot}", no_tanh["db"]),
                ("Your db is twice the right one: b_ih and b_hh each get this gradient; return it once.",
                 2 * expected["db"]),
            ],
            "dh_prev": [
                (f"Your dh_prev {forgot}", no_tanh["dh_prev"]),
                ("Your dh_prev multiplies by W_hhᵀ: a_t contains h_{t-1} W_hhᵀ, so the gradient flows back as "
                 "(∂L/∂a_t) W_hh, without the transpose.", da @ case.weights[1].T),
            ],
        }
        return {k: v.detach() for k, v in expected.items()}, mistakes, h_t.detach()


rnn_step_exercise = RNNStepExercise()
rnn_parameter_count_exercise = RNNParameterCountExercise()
rnn_step_backward_exercise = RNNStepBackwardExercise()
