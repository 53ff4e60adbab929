"""The character language model's contract: data, vocabulary, causality, state continuation, perplexity,
sampling, truncated BPTT and divergence."""

import math
import re

import numpy as np
import pytest
import torch

import rnnlib
from rnnlib import lm
from rnnlib.training import TrainingDiverged

TEXT = "def f(x):\n    return (x + 1) * 2  # a 'quoted' \"text\"\n"


@pytest.fixture(scope="module")
def vocab():
    return lm.CharVocab.from_text(TEXT)


def model_for(arch, vocab_size, seed=0, **kwargs):
    torch.manual_seed(seed)
    return rnnlib.build_lm(arch, vocab_size=vocab_size, embed_dim=8, hidden_dim=16, **kwargs)


def test_build_lm_is_exported_with_its_parts():
    model = rnnlib.build_lm("lstm", vocab_size=11)
    assert isinstance(model.embedding, torch.nn.Embedding) and model.embedding.num_embeddings == 11
    assert isinstance(model.rnn, torch.nn.LSTM) and model.rnn.hidden_size == 128 and model.rnn.input_size == 32
    assert isinstance(model.fc, torch.nn.Linear) and model.fc.out_features == 11
    assert isinstance(rnnlib.build_lm("rnn", vocab_size=5).rnn, torch.nn.RNN)
    assert isinstance(rnnlib.build_lm("gru", vocab_size=5).rnn, torch.nn.GRU)


@pytest.mark.parametrize("kwargs, name", [
    (dict(arch="bilstm", vocab_size=5), "arch"), (dict(arch="lstm", vocab_size=1), "vocab_size"),
    (dict(arch="lstm", vocab_size=5, hidden_dim=0), "hidden_dim"),
    (dict(arch="lstm", vocab_size=5, dropout=1.0), "dropout"),
    (dict(arch="lstm", vocab_size=5, num_layers=0), "num_layers"),
])
def test_build_lm_rejects_bad_settings(kwargs, name):
    arch = kwargs.pop("arch")
    with pytest.raises(ValueError, match=name):
        rnnlib.build_lm(arch, **kwargs)


@pytest.mark.parametrize("arch", lm.LM_ARCHS)
def test_logits_are_causal(arch):
    model = model_for(arch, 10, num_layers=2)
    x = torch.randint(10, (3, 12), generator=torch.Generator().manual_seed(1))
    changed = x.clone()
    changed[:, 7:] = (changed[:, 7:] + 3) % 10  # change every input after step 6
    logits, _ = model(x)
    assert logits.shape == (3, 12, 10)
    other, _ = model(changed)
    assert torch.equal(logits[:, :7], other[:, :7])
    assert not torch.allclose(logits[:, 7:], other[:, 7:])


@pytest.mark.parametrize("arch", lm.LM_ARCHS)
def test_running_in_two_chunks_from_the_state_equals_one_run(arch):
    model = model_for(arch, 10, num_layers=2)
    x = torch.randint(10, (4, 20), generator=torch.Generator().manual_seed(2))
    whole, whole_state = model(x)
    first, state = model(x[:, :8])
    second, last_state = model(x[:, 8:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=1e-6, rtol=1e-5)
    for a, b in zip(last_state if arch == "lstm" else (last_state,), whole_state if arch == "lstm" else (whole_state,)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_model_rejects_bad_ids():
    model = model_for("lstm", 10)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        model(torch.tensor([[3, 10]]))
    with pytest.raises(ValueError, match="batch, time"):
        model(torch.tensor([3, 4]))


def uniform_model(vocab_size, arch="lstm"):
    model = model_for(arch, vocab_size)
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.fill_(0.7)  # equal logits, whatever their value
    return model


@pytest.mark.parametrize("seq_len, batch_size", [(128, 32), (5, 3), (1000, 1)])
def test_uniform_logits_score_exactly_the_vocabulary_size(seq_len, batch_size):
    ids = torch.randint(13, (101,), generator=torch.Generator().manual_seed(0))
    assert lm.perplexity(uniform_model(13), ids, seq_len=seq_len, batch_size=batch_size) == pytest.approx(13, rel=1e-12)


def test_perplexity_is_exp_of_the_mean_cross_entropy_of_every_prediction():
    model = model_for("gru", 9)
    ids = torch.randint(9, (57,), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits, _ = model(ids[None, :-1])  # one stream: every prediction sees the whole prefix
    expected = math.exp(torch.nn.functional.cross_entropy(logits[0].double(), ids[1:]).item())
    assert lm.perplexity(model, ids, batch_size=1, seq_len=10) == pytest.approx(expected, rel=1e-6)
    # more streams restart the state more often, but still count each of the 56 predictions once
    streams = lm.perplexity(model, ids, batch_size=4, seq_len=7)
    inputs, targets = lm._streams(ids, 4)
    assert (targets >= 0).sum() == 56 and streams > 1


def test_perplexity_rejects_bad_input():
    model = model_for("rnn", 9)
    with pytest.raises(ValueError, match="ids"):
        lm.perplexity(model, torch.tensor([1]))
    with pytest.raises(ValueError, match="ids"):
        lm.perplexity(model, torch.tensor([1, 9]))
    with pytest.raises(ValueError, match="seq_len"):
        lm.perplexity(model, torch.tensor([1, 2]), seq_len=0)


def test_vocab_round_trip_and_unknown_characters(vocab):
    assert len(vocab) == len(set(TEXT))
    ids = vocab.encode(TEXT)
    assert ids.dtype == torch.long and ids.shape == (len(TEXT),)
    assert vocab.decode(ids) == TEXT and vocab.decode(ids.tolist()) == TEXT
    with pytest.raises(ValueError, match="'Z'"):
        vocab.encode("fZ")
    with pytest.raises(ValueError, match="ids"):
        vocab.decode([len(vocab)])


def test_sample_is_seeded_and_leaves_the_global_random_state_alone(vocab):
    model = model_for("lstm", len(vocab))
    torch.manual_seed(123)
    before = torch.get_rng_state()
    text = lm.sample(model, vocab, "def ", 40, seed=5)
    assert torch.equal(torch.get_rng_state(), before)
    assert len(text) == 40 and set(text) <= set(vocab.chars)
    assert lm.sample(model, vocab, "def ", 40, seed=5) == text
    assert lm.sample(model, vocab, "def ", 40, seed=6) != text


def test_sample_goes_greedy_as_the_temperature_goes_to_zero(vocab):
    model = model_for("gru", len(vocab))
    ids = vocab.encode("return ")
    with torch.no_grad():  # the argmax continuation, written out
        logits, state = model(ids[None])
        greedy = []
        for _ in range(30):
            greedy.append(int(logits[0, -1].argmax()))
            logits, state = model(torch.tensor([[greedy[-1]]]), state)
    expected = vocab.decode(greedy)
    assert lm.sample(model, vocab, "return ", 30, temperature=1e-6, seed=0) == expected
    assert lm.sample(model, vocab, "return ", 30, temperature=1e-6, seed=99) == expected


@pytest.mark.parametrize("kwargs, name", [
    (dict(temperature=0.0), "temperature"), (dict(temperature=-1.0), "temperature"), (dict(length=0), "length"),
    (dict(prompt="dZf"), "prompt"), (dict(prompt=""), "prompt"),
])
def test_sample_rejects_bad_input(vocab, kwargs, name):
    args = dict(prompt="def", length=5) | kwargs
    with pytest.raises(ValueError, match=name):
        lm.sample(model_for("rnn", len(vocab)), vocab, args.pop("prompt"), args.pop("length"), **args)


def test_python_corpus_is_the_stdlib_source_in_a_fixed_order():
    text = lm.corpus("python", n_chars=5000)
    assert len(text) == 5000 and text == lm.corpus("python", n_chars=5000)
    first = lm.stdlib_files()[0]
    assert text.startswith(first.read_text()[:200].replace("\t", "    "))
    assert set(text) <= {chr(i) for i in range(128)} and "\t" not in text
    assert lm.corpus("python", n_chars=200_000).startswith(text)


def test_brackets_corpus_is_seeded_balanced_and_labelled():
    text = lm.corpus("brackets", n_chars=20_000, seed=1)
    assert text == lm.corpus("brackets", n_chars=20_000, seed=1) != lm.corpus("brackets", n_chars=20_000, seed=2)
    depth, quoted = lm.bracket_labels(text)
    assert depth.min() == 0 and depth.max() == lm.MAX_DEPTH and quoted.any() and not quoted.all()
    # brackets never occur inside a quote; depth moves only at brackets
    inside = np.concatenate([[False], quoted[:-1]])
    assert not any(c in "()" for c, q in zip(text, inside) if q)
    steps = np.diff(np.concatenate([[0], depth]))
    assert all((s == 1) == (c == "(") and (s == -1) == (c == ")") for c, s in zip(text, steps))
    # a quote closes with its own character after at least QUOTE_MIN letters
    spans = re.findall(r"([\"'])([abc ]*)([\"'])", text)  # (opening, letters, closing), in order
    assert len(spans) > 100 and sum(map(len, ("".join(span) for span in spans))) == quoted.sum() + len(spans)
    assert all(opening == closing and len(body) >= lm.QUOTE_MIN for opening, body, closing in spans)
    # character frequencies match the grammar's exact probabilities
    mid = [(c, q, d) for c, q, d in zip(text[1:], quoted[:-1], depth[:-1]) if not q and 0 < d < lm.MAX_DEPTH]
    assert sum(c == "(" for c, _, _ in mid) / len(mid) == pytest.approx(lm.P_OPEN, abs=0.01)
    assert 1 < lm.brackets_perplexity(text) < len(set(text))
    with pytest.raises(ValueError, match="brackets"):
        lm.bracket_labels("ab)")
    with pytest.raises(ValueError, match="brackets"):
        lm.bracket_labels("a'b'")  # closes before QUOTE_MIN letters


def test_corpus_rejects_bad_input():
    with pytest.raises(ValueError, match="name"):
        lm.corpus("shakespeare")
    with pytest.raises(ValueError, match="n_chars"):
        lm.corpus("python", n_chars=0)


class Recorder(torch.nn.Module):
    """A model wrapper that records the state each chunk starts from."""

    def __init__(self, model):
        super().__init__()
        self.model, self.arch, self.vocab_size, self.seen = model, model.arch, model.vocab_size, []

    def forward(self, x, state=None):
        if torch.is_grad_enabled():
            self.seen.append(state)
        logits, new_state = self.model(x, state)
        if torch.is_grad_enabled():
            self.seen.append(new_state)
        return logits, new_state


def test_fit_lm_carries_the_state_detached_from_chunk_to_chunk():
    ids = lm.CharVocab.from_text(TEXT).encode(TEXT * 20)
    model = Recorder(model_for("rnn", len(set(TEXT))))
    lm.fit_lm(model, ids, steps=6, seq_len=10, batch_size=4, eval_every=3, progress=False)
    starts, ends = model.seen[0::2], model.seen[1::2]
    assert starts[0] is None  # the first chunk of a pass starts from zeros
    for start, previous_end in zip(starts[1:], ends[:-1]):
        assert start is not None and start.grad_fn is None and not start.requires_grad  # detached ...
        torch.testing.assert_close(start, previous_end.detach())  # ... but carried
    assert ends[0].grad_fn is not None


def test_fit_lm_learns_is_seeded_and_leaves_the_global_random_state_alone():
    text = lm.corpus("python", n_chars=6000)
    vocab = lm.CharVocab.from_text(text)
    ids = vocab.encode(text)
    runs = []
    for _ in range(2):
        model = model_for("lstm", len(vocab), dropout=0.1)
        torch.manual_seed(7)
        before = torch.get_rng_state()
        history = lm.fit_lm(model, ids[:5000], ids[5000:], steps=30, seq_len=20, batch_size=8, eval_every=10,
                            lr=1e-2, progress=False)
        assert torch.equal(torch.get_rng_state(), before)
        runs.append((history, model.fc.weight.detach().clone()))
    (first, w1), (second, w2) = runs
    assert first.steps == [0, 10, 20, 30] and len(first.valid_perplexity) == 4
    assert first.valid_perplexity == second.valid_perplexity and torch.equal(w1, w2)
    assert first.valid_perplexity[-1] < 0.5 * first.valid_perplexity[0]


def test_fit_lm_stops_with_advice_when_training_diverges():
    ids = torch.randint(5, (400,), generator=torch.Generator().manual_seed(0))
    model = model_for("rnn", 5)
    with torch.no_grad():
        model.fc.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="lower learning rate") as caught:
        lm.fit_lm(model, ids, steps=5, seq_len=10, batch_size=4, progress=False)
    assert caught.value.history.steps == [0]


@pytest.mark.parametrize("kwargs, name", [
    (dict(steps=0), "steps"), (dict(seq_len=0), "seq_len"), (dict(batch_size=0), "batch_size"), (dict(lr=0), "lr"),
    (dict(max_norm=-1.0), "max_norm"), (dict(seq_len=500), "at least"),
])
def test_fit_lm_rejects_bad_settings(kwargs, name):
    ids = torch.randint(5, (400,), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=name):
        lm.fit_lm(model_for("rnn", 5), ids, **kwargs)


def test_connectivity_is_causal_and_matches_autograd():
    model = model_for("lstm", 10)
    ids = torch.randint(10, (9,), generator=torch.Generator().manual_seed(4))
    grid = lm.connectivity(model, ids)
    assert grid.shape == (8, 8)
    assert torch.all(grid.triu(1) == 0) and torch.all(grid.diagonal() > 0)
    # one entry, recomputed independently through nn.Module's forward with a hook on the embedding
    t, s = 6, 2
    embedded = model.embedding(ids[:-1]).detach().requires_grad_(True)
    logits, _ = model.rnn(embedded[None])
    log_p = torch.log_softmax(model.fc(logits[0]), -1)[t, ids[t + 1]]
    (grad,) = torch.autograd.grad(log_p, embedded)
    assert grid[t, s].item() == pytest.approx(grad[s].norm().item(), rel=1e-5)


class EqualLogits(torch.nn.Module):
    """Any ``model(x, state) -> (logits, state)`` works with perplexity and sample: here one with equal logits."""

    def forward(self, x, state=None):
        return torch.zeros(*x.shape, 6), state


def test_perplexity_and_sample_take_any_model_with_the_forward_contract():
    ids = torch.randint(6, (50,), generator=torch.Generator().manual_seed(0))
    assert lm.perplexity(EqualLogits(), ids, seq_len=7, batch_size=3) == pytest.approx(6, rel=1e-12)
    vocab = lm.CharVocab.from_text("abcdef")
    text = lm.sample(EqualLogits(), vocab, "ab", 300, seed=1)
    assert len(text) == 300 and set(text) == set("abcdef")  # uniform: every character turns up
