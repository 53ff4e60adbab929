"""Model answers of the exercises, one function per exercise, named as the learner names theirs.

``solution()`` shows these functions' source; the tests run that shown source through the exercise's
own check, so what a learner reads is known to pass. Written for reading, not speed: plain torch,
one equation per line, the shapes in the docstring.
"""

import math

import torch


def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """One tanh RNN step. x: (batch, input_size), h: (batch, hidden_size) -> h_t: (batch, hidden_size)."""
    # torch stores W_ih as (hidden_size, input_size), one row per hidden unit: hence the transposes
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)  # h_t = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)


def rnn_parameter_count(input_size, hidden_size, num_layers):
    """Parameters of nn.RNN(input_size, hidden_size, num_layers): one direction, with biases."""
    first = hidden_size * input_size + hidden_size * hidden_size  # layer 1: W_ih (H, I), W_hh (H, H)
    above = (num_layers - 1) * 2 * hidden_size * hidden_size  # layers 2 … L read h of the layer below: W_ih (H, H)
    biases = num_layers * 2 * hidden_size  # b_ih and b_hh in every layer: torch keeps two bias vectors
    return first + above + biases


def rnn_step_backward(dh_t, h_t, h_prev, x_t, w_hh):
    """Backward through h_t = tanh(a_t), a_t = x_t W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh.

    dh_t = ∂L/∂h_t, h_t, h_prev: (batch, H); x_t: (batch, D); w_hh: (H, H).
    Returns dW_ih: (H, D), dW_hh: (H, H), db: (H,), dh_prev = ∂L/∂h_{t-1}: (batch, H).
    """
    da = dh_t * (1 - h_t**2)  # ∂L/∂a_t = ∂L/∂h_t ⊙ tanh'(a_t), and tanh' = 1 − tanh² = 1 − h_t²
    dw_ih = da.T @ x_t  # ∂L/∂W_ih = Σ_batch (∂L/∂a_t)ᵀ x_t
    dw_hh = da.T @ h_prev  # ∂L/∂W_hh = Σ_batch (∂L/∂a_t)ᵀ h_{t-1}
    db = da.sum(0)  # ∂L/∂b: the same for b_ih and b_hh, summed over the batch
    dh_prev = da @ w_hh  # ∂L/∂h_{t-1} = (∂L/∂a_t) W_hh: the factor that vanishes or explodes over T steps
    return dw_ih, dw_hh, db, dh_prev


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's GRU step. x: (batch, input_size), h: (batch, H) -> h_t: (batch, H).

    w_ih: (3H, input_size) and w_hh: (3H, H) stack the gates in the order r, z, n.
    """
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)  # r_t = σ(W_ir x + b_ir + W_hr h + b_hr)  reset gate
    z = torch.sigmoid(x_z + h_z)  # z_t = σ(W_iz x + b_iz + W_hz h + b_hz)  update gate
    n = torch.tanh(x_n + r * h_n)  # n_t = tanh(W_in x + b_in + r_t ⊙ (W_hn h + b_hn)): r after the product
    return (1 - z) * n + z * h  # h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}: z_t near 1 keeps the past


def gru_lstm_ratio(vocab_size, embed_dim, hidden_dim, output_dim):
    """Parameters of build_model("gru", ...) divided by those of build_model("lstm", ...), same sizes."""
    embedding = vocab_size * embed_dim  # the same in both models
    per_block = hidden_dim * (embed_dim + hidden_dim + 2)  # W_i* (H, E), W_h* (H, H), b_i*, b_h*
    fc = (hidden_dim + 1) * output_dim  # the output layer reads h_T: the same in both models
    gru = embedding + 3 * per_block + fc  # blocks r, z, n
    lstm = embedding + 4 * per_block + fc  # blocks i, f, g, o
    return gru / lstm


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step. x: (batch, input_size), h, c: (batch, H) -> (h_t, c_t), each (batch, H).

    w_ih: (4H, input_size) and w_hh: (4H, H) stack the gates in the order i, f, g, o.
    """
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)
    i = torch.sigmoid(i)  # input gate
    f = torch.sigmoid(f)  # forget gate
    g = torch.tanh(g)  # candidate cell c~_t
    o = torch.sigmoid(o)  # output gate
    c_t = f * c + i * g  # c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t
    h_t = o * torch.tanh(c_t)  # h_t = o_t ⊙ tanh(c_t): the new cell, squashed
    return h_t, c_t


def forget_bias(steps, keep):
    """The smallest forget-gate bias b with σ(b)^steps ≥ keep (no input, zero weights)."""
    f = keep ** (1 / steps)  # c_steps = f^steps c_0, so the gate must be at least keep^(1/steps)
    return math.log(f / (1 - f))  # σ(b) = f  ⇔  b = log(f / (1 − f))


def reverse_within_length(x, lengths):
    """Reverse each sequence's first lengths[b] steps; padding stays at the end.

    x: (batch, time, features), lengths: (batch,) -> (batch, time, features).
    """
    out = x.clone()
    for b, length in enumerate(lengths.tolist()):
        out[b, :length] = x[b, :length].flip(0)  # real tokens reversed, padding untouched
    return out


def bilstm_readout(output, lengths):
    """[h_T→ ; h_1←] from a packed BiLSTM run. output: (batch, time, 2H), lengths: (batch,) -> (batch, 2H)."""
    hidden = output.shape[-1] // 2
    rows = torch.arange(output.shape[0])
    forward_last = output[rows, lengths - 1, :hidden]  # h_T→: forward state at each true last token
    backward_first = output[:, 0, hidden:]  # h_1←: the backward direction finishes at position 0
    return torch.cat([forward_last, backward_first], dim=1)


def bilstm_lstm_ratio(vocab_size, embed_dim, hidden_dim, output_dim):
    """Parameters of build_model("bilstm", ...) divided by those of build_model("lstm", ...)."""
    embedding = vocab_size * embed_dim  # shared: the same in both models
    lstm = 4 * hidden_dim * (embed_dim + hidden_dim + 2)  # one direction: gates i, f, g, o
    fc_lstm = (hidden_dim + 1) * output_dim  # reads h_T
    fc_bilstm = (2 * hidden_dim + 1) * output_dim  # reads [h_T→ ; h_1←]
    return (embedding + 2 * lstm + fc_bilstm) / (embedding + lstm + fc_lstm)


def per_step_factor(norms):
    """ρ with ‖∂L/∂h_1‖ = ρ^(T−1) ‖∂L/∂h_T‖. norms: (T,), norms[t] = ‖∂L/∂h_{t+1}‖."""
    steps = len(norms) - 1  # T norms are T − 1 steps apart
    return float((norms[0] / norms[-1]) ** (1 / steps))  # the (T−1)-th root of the decay ratio


def lstm_step_backward(dh_t, dc_t, x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    """Backward through one LSTM step, by hand (torch's gate order i, f, g, o).

    dh_t = ∂L/∂h_t and dc_t = ∂L/∂c_t from the step after: (batch, H); x: (batch, D); h_prev, c_prev: (batch, H);
    w_ih: (4H, D), w_hh: (4H, H), b_ih, b_hh: (4H,).
    Returns dx: (batch, D), dh_prev, dc_prev: (batch, H), dw_ih: (4H, D), dw_hh: (4H, H), db: (4H,).
    """
    # the forward step again: the backward step needs its gates
    i, f, g, o = (x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh).chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    tanh_c = torch.tanh(f * c_prev + i * g)  # tanh(c_t)
    # c_t reaches the loss twice: along the belt (dc_t) and through h_t = o_t ⊙ tanh(c_t)
    dc = dc_t + dh_t * o * (1 - tanh_c**2)
    # ∂L/∂(each gate): c_t = f ⊙ c_{t-1} + i ⊙ g and h_t = o ⊙ tanh(c_t)
    di, df, dg, do = dc * g, dc * c_prev, dc * i, dh_t * tanh_c
    # back through the nonlinearities (σ' = σ(1 − σ), tanh' = 1 − tanh²), stacked like the weights: i, f, g, o
    da = torch.cat([di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], dim=1)  # (batch, 4H)
    dx = da @ w_ih  # ∂L/∂x_t: the pre-activation contains x_t W_ihᵀ
    dh_prev = da @ w_hh  # ∂L/∂h_{t-1}: only through the gates
    dc_prev = dc * f  # ∂L/∂c_{t-1} along the belt: the forget gate, no matrix
    dw_ih = da.T @ x  # summed over the batch
    dw_hh = da.T @ h_prev
    db = da.sum(0)  # the same for b_ih and b_hh
    return dx, dh_prev, dc_prev, dw_ih, dw_hh, db
