"""rnnlib calls no torch API newer than the minimum it declares (pyproject's ``torch>=``).

The torch names rnnlib's source uses (``torch.*``, ``nn.*``, ``F.*`` chains and ``from torch... import``
names, collected by :func:`tools.torch_api.used_torch_names`) must all be in :data:`MINIMUM_API`: those
of them that torch 2.2 defines. The listing was generated once, statically, from
the torch 2.2.2 wheel's .py/.pyi files (``python -m tools.torch_api <unpacked wheel>``; the commands are
in that module's docstring) and holds only what rnnlib uses. A new torch call fails here until it is
checked against torch 2.2 and added (or the minimum is raised, with a new listing).
Only names are checked, not keyword arguments.
"""

import importlib
import re
from pathlib import Path

import pytest
import torch

from tools.torch_api import names_in_source, used_torch_names

MINIMUM = "2.2"
#: what torch 2.2.2 defines, of the names rnnlib uses (see the module docstring for how it was made)
MINIMUM_API = frozenset({
    "torch.Generator",
    "torch.Tensor",
    "torch.Tensor.backward",
    "torch._C._VariableFunctions",
    "torch.__file__",
    "torch.__version__",
    "torch.allclose",
    "torch.arange",
    "torch.argsort",
    "torch.as_tensor",
    "torch.autograd.backward",
    "torch.autograd.grad",
    "torch.backends.mps.is_available",
    "torch.bool",
    "torch.cat",
    "torch.cuda.device_count",
    "torch.cuda.is_available",
    "torch.device",
    "torch.empty",
    "torch.exp",
    "torch.eye",
    "torch.float64",
    "torch.full",
    "torch.full_like",
    "torch.get_num_threads",
    "torch.isfinite",
    "torch.linalg.eigvals",
    "torch.linalg.matrix_norm",
    "torch.linalg.vector_norm",
    "torch.log_softmax",
    "torch.long",
    "torch.manual_seed",
    "torch.multinomial",
    "torch.nn",
    "torch.nn.Dropout",
    "torch.nn.Embedding",
    "torch.nn.GRU",
    "torch.nn.GRUCell",
    "torch.nn.LSTM",
    "torch.nn.LSTMCell",
    "torch.nn.Linear",
    "torch.nn.Module",
    "torch.nn.Module.__init__",
    "torch.nn.Module.named_parameters",
    "torch.nn.Module.parameters",
    "torch.nn.Parameter",
    "torch.nn.RNN",
    "torch.nn.RNNCell",
    "torch.nn.functional",
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.dropout",
    "torch.nn.functional.linear",
    "torch.nn.functional.mse_loss",
    "torch.nn.functional.one_hot",
    "torch.nn.init.uniform_",
    "torch.nn.utils.clip_grad_norm_",
    "torch.nn.utils.rnn.pack_padded_sequence",
    "torch.nn.utils.rnn.pad_packed_sequence",
    "torch.no_grad",
    "torch.ones",
    "torch.optim.Adam",
    "torch.optim.SGD",
    "torch.rand",
    "torch.randint",
    "torch.randn",
    "torch.random.fork_rng",
    "torch.randperm",
    "torch.relu",
    "torch.set_flush_denormal",
    "torch.set_num_threads",
    "torch.sigmoid",
    "torch.softmax",
    "torch.stack",
    "torch.tanh",
    "torch.tensor",
    "torch.where",
    "torch.zeros",
    "torch.zeros_like",
})


def declared_minimum(package: str) -> str:
    """The ``>=`` bound of ``package`` in pyproject.toml's dependencies (read as text: tomllib needs 3.11)."""
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(rf'^\s*"{package}>=([\d.]+)[",]', pyproject, re.MULTILINE)
    assert match, f"pyproject.toml declares no lower bound for {package}"
    return match.group(1)


def test_the_listing_is_of_the_declared_minimum():
    assert declared_minimum("torch") == MINIMUM


def test_rnnlib_calls_only_torch_apis_of_the_declared_minimum():
    used = used_torch_names()
    assert len(used) > 40  # the scan found rnnlib's torch calls
    newer = {name: files for name, files in used.items() if name not in MINIMUM_API}
    assert not newer, (
        f"not in torch {MINIMUM} (pyproject's minimum) as far as the listing knows: {newer}. Use an API "
        f"torch {MINIMUM} has, or check it in that release and add it to MINIMUM_API."
    )


@pytest.mark.parametrize("name", sorted(MINIMUM_API))
def test_every_listed_name_is_real(name):
    """Each listed name resolves in the installed torch: the listing holds no typo or mis-parsed chain."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
            break
        except ImportError:
            continue
    for attr in parts[cut:]:
        obj = getattr(obj, attr)


def test_the_scan_reads_aliases_and_from_imports():
    source = (
        "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
        "from torch.nn.utils.rnn import pad_sequence as pad\n"
        "def f(params, x):\n"
        "    return torch.nn.utils.get_total_norm(params), F.relu(x).sum(), nn.LSTM(1, 2), pad, x.detach()\n"
    )
    assert names_in_source(source) == {
        "torch.nn.utils.get_total_norm", "torch.nn.functional", "torch.nn.functional.relu", "torch.nn",
        "torch.nn.LSTM", "torch.nn.utils.rnn.pad_sequence",
    }
    # torch.nn.utils.get_total_norm came after 2.2: a call to it would fail the check above
    assert "torch.nn.utils.get_total_norm" not in MINIMUM_API
    assert hasattr(torch.nn.utils, "clip_grad_norm_")
