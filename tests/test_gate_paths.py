"""gate_path_norms (the factor a keep gate alone carries back through time) and flip_update_gate (the two
conventions for the GRU's update gate), checked against autograd and against rnnlib's two GRU variants."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlib import build_model, set_seed
from rnnlib.cells import gru_step
from rnnlib.diagnostics import gate_path_norms, gate_traces, jacobian_norms
from rnnlib.initialization import flip_update_gate, gate_blocks

VOCAB, HIDDEN, TIME = 11, 5, 6


def batch(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(2, VOCAB, (4, TIME), generator=generator)
    lengths = torch.tensor([TIME, 3, 5, 1])
    x[torch.arange(TIME)[None, :] >= lengths[:, None]] = 0  # padding after each true end
    return x, lengths


def gru(variant: str = "torch", seed: int = 0):
    set_seed(seed)
    impl = "scratch" if variant == "cho" else "torch"
    return build_model("gru", vocab_size=VOCAB, embed_dim=3, hidden_dim=HIDDEN, impl=impl, gru_variant=variant)


def reference_path_norms(gate: np.ndarray, lengths) -> np.ndarray:
    """max_j ∏_{s=t+1}^{τ} g_{s,j} by a plain loop; 0 after τ = lengths - 1."""
    out = np.zeros(gate.shape[:2])
    for b, length in enumerate(lengths):
        for t in range(length):
            product = np.ones(gate.shape[2])
            for s in range(t + 1, length):
                product = product * gate[b, s]
            out[b, t] = product.max()
    return out


def test_gate_path_norms_equal_a_plain_loop_with_padding():
    rng = np.random.default_rng(0)
    gate = rng.uniform(0, 1, (4, TIME, 3))
    lengths = [TIME, 3, 5, 1]
    for b, length in enumerate(lengths):
        gate[b, length:] = np.nan  # as gate_traces marks padding
    expected = reference_path_norms(gate, lengths)
    np.testing.assert_allclose(gate_path_norms(gate, reduce="none"), expected, rtol=1e-12, atol=0)
    present = np.arange(TIME)[None, :] < np.array(lengths)[:, None]
    np.testing.assert_allclose(gate_path_norms(gate), expected.sum(0) / present.sum(0), rtol=1e-12)
    assert np.isnan(gate).sum() == (~present).sum() * 3  # the input was not edited


@pytest.mark.parametrize("variant", ["torch", "cho"])
def test_without_recurrent_weights_the_gru_jacobian_is_the_gate_product(variant):
    """With W_hh = 0 every gate ignores h_{t-1}, so ∂h_t/∂h_{t-1} is exactly diag(z_t) (PyTorch's variant) or
    diag(1 - z_t) (the course text's): jacobian_norms (autograd) must equal the product of the gate."""
    model = gru(variant).double()
    with torch.no_grad():
        model.rnn.weight_hh_l0.zero_()
    x, lengths = batch()
    z = gate_traces(model, x, lengths)["z"]
    keep = z if variant == "torch" else 1 - z
    np.testing.assert_allclose(gate_path_norms(keep, reduce="none"),
                               jacobian_norms(model, x, lengths, reduce="none").numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gate_path_norms(keep), jacobian_norms(model, x, lengths).numpy(), rtol=1e-10)


def test_with_recurrent_weights_the_gate_product_is_only_part_of_the_jacobian():
    model = gru()
    x, lengths = batch()
    z = gate_traces(model, x, lengths)["z"]
    assert not np.allclose(gate_path_norms(z), jacobian_norms(model, x, lengths).numpy(), rtol=1e-3)


def test_flipped_update_gate_computes_one_minus_z():
    model = gru()
    w_ih, w_hh, b_ih, b_hh = (p.detach().clone() for p in (model.rnn.weight_ih_l0, model.rnn.weight_hh_l0,
                                                             model.rnn.bias_ih_l0, model.rnn.bias_hh_l0))
    x, h = torch.randn(3, 3), torch.rand(3, HIDDEN)
    _, gates = gru_step(F.linear(x, w_ih, b_ih), h, w_hh, b_hh)
    flip_update_gate(model)
    rnn = model.rnn
    _, flipped = gru_step(F.linear(x, rnn.weight_ih_l0, rnn.bias_ih_l0), h, rnn.weight_hh_l0, rnn.bias_hh_l0)
    torch.testing.assert_close(flipped["z"], 1 - gates["z"])
    torch.testing.assert_close(flipped["r"], gates["r"])  # only z changes
    torch.testing.assert_close(flipped["n"], gates["n"])
    flip_update_gate(model)
    torch.testing.assert_close(model.rnn.weight_hh_l0, w_hh, rtol=0, atol=0)  # twice: the identity


def test_flipping_z_leaves_only_the_reset_placement_between_the_variants():
    """PyTorch's variant with flipped z equals the course text's once r_t ≡ 1 (then r_t ⊙ (W h + b) and
    W (r_t ⊙ h) + b agree); with a working reset gate the two still differ."""
    torch_model = build_model("gru", vocab_size=VOCAB, embed_dim=3, hidden_dim=HIDDEN, impl="scratch").double()
    cho_model = build_model("gru", vocab_size=VOCAB, embed_dim=3, hidden_dim=HIDDEN, impl="scratch",
                            gru_variant="cho").double()
    x, lengths = batch()
    cho_model.load_state_dict(torch_model.state_dict())
    flip_update_gate(cho_model)
    with torch.no_grad():
        assert (torch_model(x, lengths) - cho_model(x, lengths)).abs().max() > 1e-3
        for model in (torch_model, cho_model):  # r_t = σ(40) = 1 in float64, whatever the input
            for p in model.rnn.parameters():
                gate_blocks(p, "GRU")["r"].zero_()
            gate_blocks(model.rnn.bias_ih_l0, "GRU")["r"].fill_(40.0)
        torch.testing.assert_close(torch_model(x, lengths), cho_model(x, lengths), rtol=0, atol=1e-12)


def test_copy_is_untouched_and_bad_arguments_raise():
    model = gru()
    original = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match="needs a GRU"):
        flip_update_gate(build_model("lstm", vocab_size=VOCAB, hidden_dim=HIDDEN))
    assert all(torch.equal(original[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="batch, time, hidden"):
        gate_path_norms(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gate_path_norms(np.full((1, 2, 2), 1.5))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gate_path_norms(np.array([[[0.5, np.nan], [0.5, 0.5]]]))  # NaN inside a real step
    with pytest.raises(ValueError, match="reduce"):
        gate_path_norms(np.ones((1, 2, 2)), reduce="sum")
