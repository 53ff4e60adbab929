"""One device policy, tested without a GPU: rnnlib's current device is set to ``meta`` (tensors with
shapes and no values) and every call runs under :class:`OnMeta`, which records each torch operation
that mixes a meta tensor with a CPU one: the operations a GPU would refuse ("expected all tensors to
be on the same device"). Reading a value (``.item()``, ``float()``, ``.cpu()``) gives a placeholder,
so loops that log numbers run through. A library function that creates a tensor on the CPU and
uses it with the model, or forgets to move a batch, shows up here.
"""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

import rnnlib
from rnnlib import audit, bptt, compare, current_device, data, diagnostics, labs, use_device
from rnnlib.exercises import NOTEBOOK_EXERCISES
from rnnlib.notebook import setup

#: operations that move data between devices, or accept CPU indices/lengths by design on a GPU too
TRANSFERS = {"to", "copy_", "cpu", "__getitem__", "__setitem__", "_pack_padded_sequence",
             "_has_compatible_shallow_copy_type"}
PLACEHOLDER = {"__float__": 1.0, "__int__": 1, "__bool__": False, "__index__": 1}


class OnMeta(TorchFunctionMode):
    """Records in ``mixed`` the name of every operation whose tensors sit on more than one device
    (a CPU scalar, which GPUs accept, does not count)."""

    def __init__(self) -> None:
        super().__init__()
        self.mixed: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        tensors = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        on_meta = bool(tensors) and tensors[0].device.type == "meta"
        if on_meta and name in PLACEHOLDER:
            return PLACEHOLDER[name]
        if on_meta and name == "item":
            return 1.0 if tensors[0].is_floating_point() else 1
        if on_meta and (name in ("cpu", "numpy", "tolist") or (name == "to" and _to_cpu(args, kwargs))):
            out = torch.ones(tensors[0].shape, dtype=tensors[0].dtype)
            return out.numpy() if name == "numpy" else out.tolist() if name == "tolist" else out
        if len({t.device.type for t in tensors if t.device.type != "cpu" or t.dim() > 0}) > 1 and name not in TRANSFERS:
            self.mixed.append(name)
        return func(*args, **kwargs)


def _to_cpu(args, kwargs) -> bool:
    targets = [a for a in (*args[1:], *kwargs.values()) if isinstance(a, str | torch.device)]
    return any(torch.device(t).type == "cpu" for t in targets)


@pytest.fixture(autouse=True)
def on_meta():
    labs.clear_caches()
    use_device("meta")
    yield
    use_device("cpu")
    labs.clear_caches()


def _tokens(arch="rnn"):
    return rnnlib.build_model(arch, vocab_size=10, embed_dim=4, hidden_dim=4).to(current_device())


X = torch.randint(1, 10, (3, 5), generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 1, 0])
LENGTHS = torch.tensor([5, 3, 2])
ADDING = data.adding_problem(16, 6)

#: label → call that must run with no tensor on the wrong device; CPU data goes in, as in a notebook
CALLS = {
    "fit + test set": lambda: rnnlib.fit(rnnlib.build_model("lstm", input_dim=2, output_dim=1, hidden_dim=4),
                                         ADDING, data.adding_problem(8, 6), epochs=1, progress=False),
    "fit (x, y) batches": lambda: rnnlib.fit(_tokens("gru"), [(X, Y)], epochs=2, progress=False),
    "evaluate": lambda: rnnlib.evaluate(_tokens(), [(X, Y, LENGTHS)]),
    "bptt": lambda: bptt.bptt(_tokens(), X, Y, LENGTHS, truncate=2),
    "truncation_experiment": lambda: bptt.truncation_experiment(distance=2, ks=(1, None), steps=2),
    "hidden_grad_norms": lambda: diagnostics.hidden_grad_norms(_tokens("gru"), X, Y, LENGTHS),
    "jacobian_norms": lambda: diagnostics.jacobian_norms(_tokens(), X, LENGTHS),
    "gate_traces": lambda: diagnostics.gate_traces(_tokens("lstm"), X, LENGTHS),
    "state_changes": lambda: diagnostics.state_changes(_tokens("bilstm"), X, X.flip(1)),
    "labs.grad_flow trained": lambda: labs.grad_flow("lstm", 8, 8, train_steps=2, max_norm=1.0),
    "labs.clipping_run": lambda: labs.clipping_run(1.0, steps=10, seq_len=6, hidden_dim=4, batch_size=4),
    "labs.sentence_gates": lambda: labs.sentence_gates("gru", trained=False, hidden_dim=2),
    "compare.run_comparison": lambda: compare.run_comparison("adding", ("rnn", "bilstm"), epochs=1, length=6,
                                                             n_train=16, hidden_dim=4),
    "audit.fused_layers": audit.fused_layers,
    "audit.radius_decay": lambda: audit.radius_decay((0.5,), seq_len=6, hidden_dim=4),
}
CALLS |= {f"{exercise.__class__.__name__}.check": (lambda exercise=exercise: exercise.check(exercise.solution_function))
          for exercises in NOTEBOOK_EXERCISES.values() for exercise in exercises}


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
def test_no_tensor_lands_on_the_wrong_device(call):
    mode = OnMeta()
    with mode:
        call()
    assert not mode.mixed, f"operations mixing devices: {sorted(set(mode.mixed))}"


def test_the_recorder_catches_a_batch_left_on_the_cpu():
    """What bptt did before it moved x: the embedding of CPU ids with the model's weights."""
    mode = OnMeta()
    with mode:
        _tokens().embed(X)
    assert mode.mixed == ["embedding"]


def test_what_rnnlib_builds_lives_on_the_current_device():
    with OnMeta():
        result = compare.run_comparison("adding", ("gru",), epochs=1, length=6, n_train=16, hidden_dim=4)
        model = result["models"]["gru"]
        assert {p.device.type for p in model.parameters()} == {"meta"}
        trained = labs._grad_flow_model("rnn", 8, 8, None, None, None, 0, 1, labs.long_range_probe(8)[0])[0]
        assert {p.device.type for p in trained.parameters()} == {"meta"}
        cpu_model = rnnlib.build_model("rnn", input_dim=2, output_dim=1, hidden_dim=4)
        rnnlib.fit(cpu_model, ADDING, epochs=1, progress=False)  # fit trains on the current device
        assert next(cpu_model.parameters()).device.type == "meta"


def test_setup_makes_its_device_current(capsys):
    assert setup(seed=0, device="cpu") == current_device() == torch.device("cpu")
    assert "device: cpu" in capsys.readouterr().out
    assert rnnlib.get_device() == torch.device("cuda" if torch.cuda.is_available() else "cpu")
