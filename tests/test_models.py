"""The four classifiers: scratch ≡ torch, padding invariance, readout, parameter counts,
initialisation, and every bad argument."""

from functools import cache

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rnnlib import (
    BiLSTMClassifier,
    GRUClassifier,
    LSTMClassifier,
    SimpleRNN,
    build_model,
    count_parameters,
    set_forget_bias,
    set_spectral_radius,
    spectral_radii,
)
from rnnlib.cells import lstm_step

ARCHS = ["rnn", "gru", "lstm", "bilstm"]
GATES = {"rnn": 1, "gru": 3, "lstm": 4, "bilstm": 4}
VOCAB, EMBED, HIDDEN, FEATURES = 13, 5, 6, 3
TOL = 1e-5


def padded_tokens(lengths, *, time=None, seed=0, pad_with_garbage=False):
    """Token ids ``(batch, time)`` in [1, VOCAB); positions past each length are 0 (or random ids:
    a correct model never reads them, whatever they hold)."""
    g = torch.Generator().manual_seed(seed)
    time = time or max(lengths)
    x = torch.randint(1, VOCAB, (len(lengths), time), generator=g)
    if not pad_with_garbage:
        for row, n in enumerate(lengths):
            x[row, n:] = 0
    return x, torch.tensor(lengths)


def torch_and_scratch(arch, num_layers=1, **kwargs):
    """A torch model and a scratch model holding the same weights, both in eval mode."""
    torch.manual_seed(0)
    ref = build_model(arch, hidden_dim=HIDDEN, num_layers=num_layers, **kwargs).eval()
    scratch = build_model(arch, hidden_dim=HIDDEN, num_layers=num_layers, impl="scratch", **kwargs)
    scratch.load_state_dict(ref.state_dict())
    return ref, scratch.eval()


def output_and_grads(model, x, lengths, y):
    model.zero_grad()
    out = model(x, lengths)
    F.cross_entropy(out, y).backward()
    return out.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


# --- scratch ≡ torch -------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_state_dict_keys_and_shapes_are_identical(arch, num_layers):
    ref, scratch = torch_and_scratch(arch, num_layers, vocab_size=VOCAB, embed_dim=EMBED)
    shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in scratch.state_dict().items()}
    suffix = "_reverse" if arch == "bilstm" else ""
    assert f"rnn.weight_hh_l{num_layers - 1}{suffix}" in shapes
    assert shapes["rnn.weight_ih_l0"] == (GATES[arch] * HIDDEN, EMBED)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("direction", ["torch->scratch", "scratch->torch"])
def test_scratch_matches_torch_outputs_and_gradients(arch, num_layers, direction):
    ref, scratch = torch_and_scratch(
        arch, num_layers, vocab_size=VOCAB, embed_dim=EMBED, dropout=0.3
    )
    if direction == "scratch->torch":  # new scratch weights, loaded into the torch model
        torch.manual_seed(1)
        scratch = build_model(arch, vocab_size=VOCAB, embed_dim=EMBED, hidden_dim=HIDDEN,
                              num_layers=num_layers, dropout=0.3, impl="scratch").eval()
        ref.load_state_dict(scratch.state_dict())
    x, lengths = padded_tokens([7, 3, 1, 5], seed=2)
    y = torch.tensor([0, 1, 1, 0])
    out_ref, grads_ref = output_and_grads(ref, x, lengths, y)
    out_scratch, grads_scratch = output_and_grads(scratch, x, lengths, y)
    torch.testing.assert_close(out_scratch, out_ref, atol=TOL, rtol=0)
    assert grads_ref.keys() == grads_scratch.keys()
    for name, grad in grads_ref.items():
        torch.testing.assert_close(grads_scratch[name], grad, atol=TOL, rtol=0, msg=name)
    assert grads_ref["rnn.weight_hh_l0"].abs().sum() > 0  # the comparison is not 0 == 0


@pytest.mark.parametrize("arch", ARCHS)
def test_scratch_matches_torch_on_real_valued_input(arch):
    ref, scratch = torch_and_scratch(arch, input_dim=FEATURES, output_dim=1)
    x = torch.randn(3, 6, FEATURES, generator=torch.Generator().manual_seed(3))
    lengths = torch.tensor([6, 2, 4])
    for model in (ref, scratch):
        model.zero_grad()
        model(x, lengths).pow(2).sum().backward()
    torch.testing.assert_close(scratch(x, lengths), ref(x, lengths), atol=TOL, rtol=0)
    for (name, p), q in zip(ref.named_parameters(), scratch.parameters()):
        torch.testing.assert_close(q.grad, p.grad, atol=TOL, rtol=0, msg=name)


def test_scratch_dropout_acts_between_layers_only_in_training():
    torch.manual_seed(0)
    model = build_model("gru", vocab_size=VOCAB, hidden_dim=HIDDEN, num_layers=2, dropout=0.5,
                        impl="scratch")
    x, lengths = padded_tokens([5, 5])
    torch.manual_seed(1)
    first = model.encode(x, lengths)
    second = model.encode(x, lengths)
    assert not torch.allclose(first, second)  # a fresh dropout mask per call
    model.eval()
    torch.testing.assert_close(model.encode(x, lengths), model.encode(x, lengths), atol=0, rtol=0)


# --- readout and padding ---------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("impl", ["torch", "scratch"])
def test_features_are_the_final_states_of_the_unpadded_sequence(arch, impl):
    """Independent of the model's readout: torch's own layer on each sequence *alone* (no padding)
    returns h_n; the model must read exactly that ([h_T→ ; h_1←] for the BiLSTM)."""
    torch.manual_seed(0)
    model = build_model(arch, vocab_size=VOCAB, embed_dim=EMBED, hidden_dim=HIDDEN, impl=impl).eval()
    mode_layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM, "bilstm": nn.LSTM}[arch]
    ref = mode_layer(EMBED, HIDDEN, batch_first=True, bidirectional=arch == "bilstm")
    ref.load_state_dict(model.rnn.state_dict())
    x, lengths = padded_tokens([6, 2, 4, 1], seed=4)
    features = model.features(x, lengths)
    for row, n in enumerate(lengths.tolist()):
        _, h_n = ref(model.embed(x[row : row + 1, :n]))
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n  # LSTM: (h_n, c_n)
        expected = torch.cat(list(h_n[:, 0]), dim=-1)  # (directions, 1, H) → (directions*H,)
        torch.testing.assert_close(features[row], expected, atol=TOL, rtol=0)


@cache
def cached_model(arch, impl, num_layers, real_valued):
    torch.manual_seed(5)
    kwargs = {"input_dim": FEATURES} if real_valued else {"vocab_size": VOCAB, "embed_dim": EMBED}
    return build_model(arch, hidden_dim=HIDDEN, num_layers=num_layers, impl=impl, **kwargs).eval()


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("impl", ["torch", "scratch"])
@settings(max_examples=15, deadline=None)
@given(
    num_layers=st.sampled_from([1, 2]),
    real_valued=st.booleans(),
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=6),
    extra_time=st.integers(0, 3),
    pick=st.integers(0, 5),
    garbage=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_padding_never_changes_a_prediction(
    arch, impl, num_layers, real_valued, lengths, extra_time, pick, garbage, seed
):
    """A sequence alone gives the same output as inside any padded batch (padding holding zeros or
    garbage, batch padded beyond its longest sequence or not)."""
    model = cached_model(arch, impl, num_layers, real_valued)
    pick %= len(lengths)
    time = max(lengths) + extra_time
    if real_valued:
        x = torch.randn(len(lengths), time, FEATURES, generator=torch.Generator().manual_seed(seed))
        if not garbage:
            for row, n in enumerate(lengths):
                x[row, n:] = 0
        lengths_t = torch.tensor(lengths)
    else:
        x, lengths_t = padded_tokens(lengths, time=time, seed=seed, pad_with_garbage=garbage)
    n = lengths[pick]
    with torch.no_grad():
        in_batch = model(x, lengths_t)[pick]
        alone = model(x[pick : pick + 1, :n], torch.tensor([n]))[0]
        alone_no_lengths = model(x[pick : pick + 1, :n])[0]
    torch.testing.assert_close(in_batch, alone, atol=TOL, rtol=0)
    torch.testing.assert_close(alone_no_lengths, alone, atol=TOL, rtol=0)


# --- the seed's constructor and attributes ---------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "layer", "arch"),
    [(SimpleRNN, nn.RNN, "rnn"), (GRUClassifier, nn.GRU, "gru"), (LSTMClassifier, nn.LSTM, "lstm"),
     (BiLSTMClassifier, nn.LSTM, "bilstm")],
)
def test_seed_constructor_and_attributes(cls, layer, arch):
    model = cls(VOCAB, EMBED, HIDDEN, 3, 2, 0.1)  # (vocab_size, embed_dim, hidden_dim, output_dim, ...)
    assert model.arch == arch
    assert isinstance(model.embedding, nn.Embedding) and model.embedding.padding_idx == 0
    assert isinstance(model.rnn, layer) and model.rnn.num_layers == 2
    assert model.rnn.bidirectional == (arch == "bilstm")
    assert isinstance(model.fc, nn.Linear)
    assert model.fc.in_features == HIDDEN * (2 if arch == "bilstm" else 1)
    x, lengths = padded_tokens([4, 2, 3])
    assert model(x, lengths).shape == (3, 3)
    assert type(build_model(arch, vocab_size=VOCAB)) is cls


# --- parameter counts ------------------------------------------------------------------------


def recurrent_formula(arch, input_size, hidden, layers):
    """G·(E·H + H² + 2H) per layer and direction; layers above the first read D·H inputs."""
    directions = 2 if arch == "bilstm" else 1
    total = 0
    for layer in range(layers):
        inputs = input_size if layer == 0 else directions * hidden
        total += directions * GATES[arch] * (inputs * hidden + hidden * hidden + 2 * hidden)
    return total


@settings(max_examples=30, deadline=None)
@given(
    arch=st.sampled_from(ARCHS),
    impl=st.sampled_from(["torch", "scratch"]),
    vocab=st.integers(2, 50),
    embed=st.integers(1, 12),
    hidden=st.integers(1, 12),
    layers=st.integers(1, 3),
    outputs=st.integers(1, 4),
)
def test_parameter_counts_match_closed_form(arch, impl, vocab, embed, hidden, layers, outputs):
    model = build_model(arch, vocab_size=vocab, embed_dim=embed, hidden_dim=hidden,
                        num_layers=layers, output_dim=outputs, impl=impl)
    recurrent = recurrent_formula(arch, embed, hidden, layers)
    directions = 2 if arch == "bilstm" else 1
    assert count_parameters(model, recurrent_only=True) == recurrent
    assert count_parameters(model) == vocab * embed + recurrent + directions * hidden * outputs + outputs


@pytest.mark.parametrize(("embed", "hidden"), [(32, 64), (16, 32), (7, 5)])
def test_parameter_ratios_between_architectures(embed, hidden):
    count = {arch: count_parameters(build_model(arch, vocab_size=10, embed_dim=embed,
                                                hidden_dim=hidden), recurrent_only=True)
             for arch in ARCHS}
    assert count["rnn"] == embed * hidden + hidden**2 + 2 * hidden
    assert count["gru"] == 3 * count["rnn"]
    assert count["lstm"] == 4 * count["rnn"]
    assert count["bilstm"] == 2 * count["lstm"]
    assert count["gru"] / count["lstm"] == 0.75


# --- initialisation --------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["lstm", "bilstm"])
@pytest.mark.parametrize("impl", ["torch", "scratch"])
def test_set_forget_bias_opens_the_lstm_forget_gate(arch, impl):
    torch.manual_seed(0)
    model = build_model(arch, vocab_size=VOCAB, hidden_dim=HIDDEN, num_layers=2, impl=impl)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    set_forget_bias(model, 3.0)
    h = slice(HIDDEN, 2 * HIDDEN)  # torch's gate order i, f, g, o: f is the second block
    for name, value in model.state_dict().items():
        if name.startswith("rnn.bias_ih"):
            assert torch.all(value[h] == 3.0)
        elif name.startswith("rnn.bias_hh"):
            assert torch.all(value[h] == 0.0)
        if name.startswith("rnn.bias"):  # every other gate keeps its initialisation
            mask = torch.ones(4 * HIDDEN, dtype=torch.bool)
            mask[h] = False
            assert torch.equal(value[mask], before[name][mask])
        else:
            assert torch.equal(value, before[name])
    # with zero input and state the forget gate now keeps σ(3) ≈ 0.95 of the cell
    zeros = torch.zeros(1, HIDDEN)
    b = model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0
    _, gates = lstm_step(b.unsqueeze(0), (zeros, zeros), model.rnn.weight_hh_l0, torch.zeros_like(b))
    torch.testing.assert_close(gates["f"], torch.full((1, HIDDEN), 1 / (1 + np.exp(-3.0))))


@pytest.mark.parametrize(("variant", "sign"), [("torch", 1.0), ("cho", -1.0)])
def test_set_forget_bias_on_a_gru_biases_the_update_gate_towards_keeping(variant, sign):
    model = build_model("gru", vocab_size=VOCAB, hidden_dim=HIDDEN, impl="scratch",
                        gru_variant=variant, forget_bias=2.0)
    z = slice(HIDDEN, 2 * HIDDEN)  # gate order r, z, n
    assert torch.all(model.rnn.bias_ih_l0[z] == sign * 2.0)
    assert torch.all(model.rnn.bias_hh_l0[z] == 0.0)


def test_set_forget_bias_rejects_a_vanilla_rnn_and_bad_values():
    with pytest.raises(ValueError, match="RNN"):
        set_forget_bias(build_model("rnn", vocab_size=VOCAB), 1.0)
    with pytest.raises(ValueError, match="value"):
        set_forget_bias(build_model("lstm", vocab_size=VOCAB), float("nan"))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("radius", [0.5, 1.0, 3.0])
def test_set_spectral_radius_sets_every_recurrent_block(arch, radius):
    torch.manual_seed(0)
    model = build_model(arch, vocab_size=VOCAB, hidden_dim=HIDDEN, num_layers=2, impl="scratch")
    set_spectral_radius(model, radius)
    radii = spectral_radii(model)
    directions = 2 if arch == "bilstm" else 1
    assert len(radii) == 2 * directions * (GATES[arch] if arch != "rnn" else 1)
    assert radii == pytest.approx({k: radius for k in radii}, rel=1e-5)
    # independent check with NumPy on each gate block
    for name, weight in model.rnn.named_parameters():
        if name.startswith("weight_hh"):
            for block in np.split(weight.detach().double().numpy(), GATES[arch]):
                assert np.abs(np.linalg.eigvals(block)).max() == pytest.approx(radius, rel=1e-5)


def test_build_model_applies_the_initialisation_options():
    model = build_model("lstm", input_dim=2, hidden_dim=HIDDEN, forget_bias=1.0, spectral_radius=0.9)
    assert torch.all(model.rnn.bias_ih_l0[HIDDEN : 2 * HIDDEN] == 1.0)
    assert all(r == pytest.approx(0.9, rel=1e-5) for r in spectral_radii(model).values())
    with pytest.raises(ValueError, match="radius"):
        set_spectral_radius(model, 0.0)


# --- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"arch": "transformer"}, "arch"),
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"embed_dim": 0}, "embed_dim"),
        ({"num_layers": 0}, "num_layers"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout": 1.0}, "dropout"),
        ({"hidden_dim": 2.5}, "hidden_dim"),
        ({"input_dim": 3}, "vocab_size"),  # both given
        ({"vocab_size": None}, "vocab_size"),  # neither given
        ({"impl": "numpy"}, "impl"),
        ({"gru_variant": "cho"}, "gru_variant"),  # cho exists only for a scratch GRU
        ({"arch": "rnn", "forget_bias": 1.0}, "RNN"),
    ],
)
def test_build_model_rejects_bad_arguments(kwargs, name):
    args = {"arch": "lstm", "vocab_size": VOCAB} | kwargs
    with pytest.raises(ValueError, match=name):
        build_model(args.pop("arch"), **args)


@pytest.mark.parametrize("impl", ["torch", "scratch"])
@pytest.mark.parametrize(
    ("x", "lengths", "name"),
    [
        (torch.tensor([[1, 2, VOCAB]]), None, "token ids"),
        (torch.tensor([[1, -1, 2]]), None, "token ids"),
        (torch.tensor([[1.0, 2.0]]), None, "x must be integer"),
        (torch.tensor([1, 2, 3]), None, "x must be integer"),
        (torch.zeros(0, 3, dtype=torch.long), None, "at least one"),
        (torch.tensor([[1, 2, 3], [1, 2, 0]]), torch.tensor([3]), "lengths must have shape"),
        (torch.tensor([[1, 2, 3], [1, 2, 0]]), torch.tensor([[3, 2]]), "lengths must have shape"),
        (torch.tensor([[1, 2, 3], [1, 2, 0]]), torch.tensor([3, 0]), "lengths must be in"),
        (torch.tensor([[1, 2, 3], [1, 2, 0]]), torch.tensor([4, 2]), "lengths must be in"),
        (torch.tensor([[1, 2, 3], [1, 2, 0]]), torch.tensor([3.0, 2.0]), "lengths must hold"),
    ],
)
def test_forward_rejects_bad_inputs(impl, x, lengths, name):
    model = build_model("bilstm", vocab_size=VOCAB, hidden_dim=HIDDEN, impl=impl)
    with pytest.raises(ValueError, match=name):
        model(x, lengths)


def test_forward_rejects_real_input_of_the_wrong_shape():
    model = build_model("gru", input_dim=FEATURES)
    with pytest.raises(ValueError, match="input_dim=3"):
        model(torch.randn(2, 5, FEATURES + 1))
    with pytest.raises(ValueError, match="input_dim=3"):
        model(torch.ones(2, 5, dtype=torch.long))
