"""A table of bad inputs, tried as a new learner would: each must be refused with the expected error
type and a message that names the parameter the caller passed AND its valid range (or values).

To add a case, append a :class:`Bad` to ``CASES`` (or extend ``CASES`` from another list):

    Bad("lm: sample temperature=0", lambda: lm.sample(model, vocab, temperature=0), "temperature", "> 0")

``call`` runs the bad call (a lambda, so nothing runs at import); ``name`` and ``valid`` are substrings
the message must contain; ``error`` the exception type (``ValueError`` unless said otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

from rnnlib import (
    TrainingDiverged,
    adding_task,
    audit,
    bptt,
    build_model,
    compare,
    diagnostics,
    evaluate,
    fit,
    get_device,
    labs,
    limits,
    long_range_task,
    sentiment_task,
    set_forget_bias,
    set_seed,
    set_spectral_radius,
    set_threads,
    use_device,
    widgets,
)
from rnnlib.data import BatchLoader, SequenceDataset, adding_problem, load_csv

SEED_TEXT = f"[0, {limits.SEED_RANGE[1]}]"
DATA_TEXT = "SequenceDataset"


@dataclass(frozen=True)
class Bad:
    label: str
    call: Callable[[], object]
    name: str
    valid: str
    error: type[Exception] = ValueError


def _rnn(**kwargs):
    return build_model("rnn", **(dict(vocab_size=10, embed_dim=4, hidden_dim=4) | kwargs))


def _lstm():
    return build_model("lstm", vocab_size=10, embed_dim=4, hidden_dim=4)


def _data(n: int = 8) -> SequenceDataset:
    return SequenceDataset(torch.ones(n, 3, dtype=torch.long), torch.zeros(n, dtype=torch.long),
                           torch.full((n,), 3))


def _batches():
    data = _data()
    return [(data.x, data.y, data.lengths)]


def _generator():
    yield from _batches()


def _csv(tmp: str, content: str) -> str:
    import pathlib
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp(prefix="rnnlib-bad-")) / tmp
    path.write_text(content, encoding="utf-8")
    return str(path)


X, Y = torch.ones(2, 3, dtype=torch.long), torch.zeros(2, dtype=torch.long)
SMALL_LAB = dict(hidden_dim=8, seq_len=10)

CASES: list[Bad] = [
    # ---- models -----------------------------------------------------------------------------
    Bad("build_model arch", lambda: build_model("transformer", vocab_size=10), "arch",
        "'rnn', 'gru', 'lstm', 'bilstm'"),
    Bad("build_model hidden_dim=0", lambda: _rnn(hidden_dim=0), "hidden_dim", f"[1, {limits.MAX_WIDTH}]"),
    Bad("build_model hidden_dim huge", lambda: build_model("gru", vocab_size=10, hidden_dim=64_000), "hidden_dim",
        f"[1, {limits.MAX_WIDTH}]"),
    Bad("build_model embed_dim=0", lambda: build_model("rnn", vocab_size=10, embed_dim=0), "embed_dim",
        f"[1, {limits.MAX_WIDTH}]"),
    Bad("build_model num_layers=17", lambda: _rnn(num_layers=17), "num_layers", f"[1, {limits.MAX_LAYERS}]"),
    Bad("build_model dropout=1", lambda: _rnn(dropout=1.0), "dropout", "[0.0, 1.0)"),
    Bad("build_model vocab_size=1", lambda: build_model("rnn", vocab_size=1), "vocab_size", ">= 2"),
    Bad("build_model output_dim=0", lambda: _rnn(output_dim=0), "output_dim", ">= 1"),
    Bad("build_model impl", lambda: _rnn(impl="cuda"), "impl", "'torch', 'scratch'"),
    Bad("build_model gru_variant on lstm", lambda: build_model("lstm", vocab_size=10, gru_variant="cho"),
        "gru_variant", 'arch "gru" with impl="scratch"'),
    Bad("build_model no input kind", lambda: build_model("rnn"), "vocab_size", "exactly one of"),
    Bad("build_model input_dim=0", lambda: build_model("rnn", input_dim=0), "input_dim", ">= 1"),
    Bad("build_model forget_bias on rnn", lambda: _rnn(forget_bias=1.0), "forget_bias", "'gru', 'lstm', 'bilstm'"),
    Bad("build_model forget_bias=50", lambda: build_model("lstm", vocab_size=10, forget_bias=50.0), "forget_bias",
        f"[-{limits.GATE_BIAS_LIMIT}, {limits.GATE_BIAS_LIMIT}]"),
    Bad("build_model spectral_radius=0", lambda: _rnn(spectral_radius=0.0), "spectral_radius",
        f"(0.0, {limits.MAX_SPECTRAL_RADIUS}]"),
    Bad("forward float ids", lambda: _rnn()(torch.ones(2, 3)), "x", "(batch, time)"),
    Bad("forward token id too large", lambda: _rnn()(torch.full((2, 3), 10)), "x", "[0, 9]"),
    Bad("forward lengths too long", lambda: _rnn()(X, torch.tensor([3, 4])), "lengths", "[1, 3]"),
    Bad("forward lengths shape", lambda: _rnn()(X, torch.tensor([3])), "lengths", "(batch,)"),
    Bad("forward real input dim", lambda: build_model("rnn", input_dim=2)(torch.ones(2, 3, 5)), "x", "input_dim=2"),
    # ---- initialization -----------------------------------------------------------------------
    Bad("set_spectral_radius -1", lambda: set_spectral_radius(_rnn(), -1.0), "radius",
        f"(0.0, {limits.MAX_SPECTRAL_RADIUS}]"),
    Bad("set_forget_bias 25", lambda: set_forget_bias(_lstm(), 25.0), "value",
        f"[-{limits.GATE_BIAS_LIMIT}, {limits.GATE_BIAS_LIMIT}]"),
    Bad("set_forget_bias on rnn", lambda: set_forget_bias(_rnn(), 1.0), "model", "GRU or LSTM"),
    # ---- data ---------------------------------------------------------------------------------
    Bad("long_range_task distance=-1", lambda: long_range_task(-1), "distance", f"[0, {limits.MAX_DISTANCE}]"),
    Bad("long_range_task distance huge", lambda: long_range_task(limits.MAX_DISTANCE + 1), "distance",
        f"[0, {limits.MAX_DISTANCE}]"),
    Bad("long_range_task n_train=1", lambda: long_range_task(5, n_train=1), "n_train", ">= 2"),
    Bad("long_range_task n_test=0", lambda: long_range_task(5, n_test=0), "n_test", ">= 2"),
    Bad("long_range_task seed=-1", lambda: long_range_task(5, seed=-1), "seed", SEED_TEXT),
    Bad("long_range_task distance float", lambda: long_range_task(2.5), "distance", "integer"),
    Bad("adding_task n_train=0", lambda: adding_task(10, n_train=0), "n_train", ">= 1"),
    Bad("adding_task n_test=0", lambda: adding_task(10, n_test=0), "n_test", ">= 1"),
    Bad("adding_task length=1", lambda: adding_task(1), "length", f"[{limits.ADDING_LENGTH_RANGE[0]}, "),
    Bad("adding_task seed max", lambda: adding_task(10, seed=limits.SEED_RANGE[1]), "seed",
        f"[0, {limits.SEED_RANGE[1] - 1}]"),
    Bad("adding_problem n=0", lambda: adding_problem(0, 10), "n", ">= 1"),
    Bad("sentiment_task n=1", lambda: sentiment_task(n=1), "n", ">= 2"),
    Bad("sentiment_task test_fraction=1", lambda: sentiment_task(test_fraction=1.0), "test_fraction", "(0.0, 1.0)"),
    Bad("sentiment_task seed", lambda: sentiment_task(seed=-5), "seed", SEED_TEXT),
    Bad("SequenceDataset sizes", lambda: SequenceDataset(X, torch.zeros(3), torch.ones(2)), "x, y and lengths",
        "same length"),
    Bad("BatchLoader batch_size=0", lambda: BatchLoader(_data(), 0), "batch_size", ">= 1"),
    Bad("dataset.batches seed", lambda: _data().batches(seed=-1), "seed", SEED_TEXT),
    # ---- CSV loading --------------------------------------------------------------------------
    Bad("csv missing file", lambda: sentiment_task(csv_path="/nonexistent/x.csv"), "csv_path", "text,label CSV"),
    Bad("csv missing column", lambda: load_csv(_csv("a.csv", "text,score\nhi,1\n")), "csv_path",
        "'text' and 'label'"),
    Bad("csv bad label", lambda: load_csv(_csv("b.csv", "text,label\nhi,2\n")), "label", "0 or 1"),
    Bad("csv empty text", lambda: load_csv(_csv("c.csv", "text,label\n ,1\n")), "text", "at least one word"),
    Bad("csv no rows", lambda: load_csv(_csv("d.csv", "text,label\n")), "csv_path", "at least one"),
    # ---- training -----------------------------------------------------------------------------
    Bad("fit train string", lambda: fit(_rnn(), "hello", progress=False), "train", DATA_TEXT),
    Bad("fit train tensor", lambda: fit(_rnn(), X, progress=False), "train", DATA_TEXT),
    Bad("fit generator 2 epochs", lambda: fit(_rnn(), _generator(), epochs=2, progress=False), "train",
        "one-shot"),
    Bad("fit empty list", lambda: fit(_rnn(), [], progress=False), "train", "at least one batch"),
    Bad("fit empty dataset", lambda: fit(_rnn(), _data().subset(slice(0, 0)), progress=False), "train",
        "at least one sequence"),
    Bad("fit batch of one tensor", lambda: fit(_rnn(), [(X,)], progress=False), "train", "(x, y) or (x, y, lengths)"),
    Bad("fit batch of strings", lambda: fit(_rnn(), [("a", "b")], progress=False), "train", "(x, y) or"),
    Bad("fit test string", lambda: fit(_rnn(), _data(), "abc", progress=False), "test", DATA_TEXT),
    Bad("fit test generator", lambda: fit(_rnn(), _data(), _generator(), epochs=3, progress=False), "test",
        "one-shot"),
    Bad("fit epochs=0", lambda: fit(_rnn(), _data(), epochs=0), "epochs", f"[1, {limits.MAX_EPOCHS}]"),
    Bad("fit lr=0", lambda: fit(_rnn(), _data(), lr=0), "lr", f"(0.0, {limits.MAX_LR}]"),
    Bad("fit lr=1000", lambda: fit(_rnn(), _data(), lr=1000.0), "lr", f"(0.0, {limits.MAX_LR}]"),
    Bad("fit max_norm=-1", lambda: fit(_rnn(), _data(), max_norm=-1.0), "max_norm", "(0.0, inf]"),
    Bad("fit optimizer", lambda: fit(_rnn(), _data(), optimizer="rmsprop"), "optimizer", "'adam', 'sgd'"),
    Bad("fit batch_size=0", lambda: fit(_rnn(), _batches(), batch_size=0), "batch_size", ">= 1"),
    Bad("fit seed=-1", lambda: fit(_rnn(), _data(), seed=-1), "seed", SEED_TEXT),
    Bad("fit max_steps=0", lambda: fit(_rnn(), _data(), max_steps=0), "max_steps", ">= 1"),
    Bad("fit device tpu", lambda: fit(_rnn(), _data(), device="tpu"), "device", "'cpu', 'cuda', 'mps'"),
    Bad("fit model", lambda: fit("model", _data()), "model", "nn.Module"),
    Bad("evaluate data int", lambda: evaluate(_rnn(), 42), "data", DATA_TEXT),
    Bad("evaluate batch_size=0", lambda: evaluate(_rnn(), _data(), batch_size=0), "batch_size", ">= 1"),
    Bad("get_device tpu", lambda: get_device("tpu"), "prefer", "'cpu', 'cuda', 'mps'"),
    Bad("get_device number", lambda: get_device(3), "prefer", "'cpu', 'cuda', 'mps'"),
    Bad("use_device nonsense", lambda: use_device("gpu please"), "device", "'cpu', 'cuda', 'mps'"),
    Bad("set_seed -1", lambda: set_seed(-1), "seed", SEED_TEXT),
    Bad("set_seed float", lambda: set_seed(0.5), "seed", SEED_TEXT),
    Bad("set_threads 0", lambda: set_threads(0), "threads", f"[1, {limits.MAX_THREADS}]"),
    # ---- diagnostics --------------------------------------------------------------------------
    Bad("hidden_grad_norms y shape", lambda: diagnostics.hidden_grad_norms(_rnn(), X, torch.zeros(3, dtype=torch.long)),
        "y", "(batch,) = (2,)"),
    Bad("hidden_grad_norms y class", lambda: diagnostics.hidden_grad_norms(_rnn(), X, torch.tensor([0, 5])), "y",
        "[0, 1]"),
    Bad("hidden_grad_norms model", lambda: diagnostics.hidden_grad_norms(torch.nn.Linear(2, 2), X, Y), "model",
        "build_model"),
    Bad("decay_ratio one norm", lambda: diagnostics.decay_ratio([1.0]), "norms", "at least 2"),
    Bad("memory_span threshold=0", lambda: diagnostics.memory_span([1.0, 2.0], threshold=0), "threshold",
        "(0.0, inf]"),
    Bad("jacobian_norms reduce", lambda: diagnostics.jacobian_norms(_rnn(), X, reduce="max"), "reduce",
        "'mean', 'none'"),
    Bad("gate_traces rnn", lambda: diagnostics.gate_traces(_rnn(), X), "model", "GRU, LSTM or BiLSTM"),
    Bad("gate_path_norms range", lambda: diagnostics.gate_path_norms(torch.full((1, 3, 2), 2.0)), "gate", "[0, 1]"),
    Bad("state_changes shape", lambda: diagnostics.state_changes(_rnn(), X, torch.ones(2, 4, dtype=torch.long)),
        "edited", "same shape as x"),
    # ---- labs ---------------------------------------------------------------------------------
    Bad("grad_flow hidden_dim", lambda: labs.grad_flow("rnn", 2), "hidden_dim", f"{list(limits.HIDDEN_RANGE)}"),
    Bad("grad_flow seq_len", lambda: labs.grad_flow("rnn", 8, 1000), "seq_len", f"{list(limits.SEQ_LEN_RANGE)}"),
    Bad("grad_flow arch", lambda: labs.grad_flow("mlp"), "arch", "'rnn', 'gru', 'lstm', 'bilstm'"),
    Bad("grad_flow spectral_radius", lambda: labs.grad_flow("rnn", 8, 10, spectral_radius=5.0), "spectral_radius",
        f"{list(limits.SPECTRAL_RADIUS_RANGE)}"),
    Bad("grad_flow forget_bias on rnn", lambda: labs.grad_flow("rnn", 8, 10, forget_bias=1.0), "forget_bias",
        "gru, lstm, bilstm"),
    Bad("grad_flow train_steps", lambda: labs.grad_flow("rnn", 8, 10, train_steps=1000), "train_steps",
        f"{list(limits.TRAIN_STEPS_RANGE)}"),
    Bad("grad_flow seed", lambda: labs.grad_flow("rnn", 8, 10, seed=2**32), "seed", SEED_TEXT),
    Bad("long_range_probe batch_size", lambda: labs.long_range_probe(10, batch_size=100), "batch_size",
        f"{list(limits.BATCH_RANGE)}"),
    Bad("clipping_run lr", lambda: labs.clipping_run(lr=2.0), "lr", f"{list(limits.LR_RANGE)}"),
    Bad("clipping_run steps", lambda: labs.clipping_run(steps=5), "steps", f"{list(limits.CLIP_STEPS_RANGE)}"),
    Bad("clipping_run max_norm", lambda: labs.clipping_run(1000.0), "max_norm", f"{list(limits.MAX_NORM_RANGE)}"),
    Bad("sentence_gates arch", lambda: labs.sentence_gates("rnn"), "arch", "'gru', 'lstm'"),
    Bad("sentence_gates empty sentence", lambda: labs.sentence_gates("lstm", "!!"), "sentence",
        f"1 to {limits.MAX_SENTENCE_WORDS} words"),
    Bad("sentence_gates hidden_dim", lambda: labs.sentence_gates("lstm", hidden_dim=100), "hidden_dim",
        f"{list(limits.GATE_HIDDEN_RANGE)}"),
    Bad("sentence_gates trained", lambda: labs.sentence_gates("lstm", trained="yes"), "trained", "True or False"),
    # ---- bptt, comparison, audit --------------------------------------------------------------
    Bad("bptt truncate=0", lambda: bptt.bptt(_rnn(), X, Y, truncate=0), "truncate", ">= 1"),
    Bad("bptt model", lambda: bptt.bptt(_lstm(), X, Y), "model", "build_model('rnn'"),
    Bad("truncation_experiment distance", lambda: bptt.truncation_experiment(distance=500), "distance",
        f"[0, {limits.MAX_BPTT_DISTANCE}]"),
    Bad("truncation_experiment ks", lambda: bptt.truncation_experiment(ks="abc"), "ks", "truncation lengths ≥ 1"),
    Bad("run_comparison task", lambda: compare.run_comparison("mnist"), "task", "'sentiment', 'long-range', 'adding'"),
    Bad("run_comparison archs", lambda: compare.run_comparison("sentiment", ("rnn", "rnn")), "archs", "at most once"),
    Bad("settings_for hidden_dim", lambda: compare.settings_for("long-range", hidden_dim=0), "hidden_dim",
        f"[1, {limits.MAX_WIDTH}]"),
    Bad("settings_for unknown", lambda: compare.settings_for("long-range", colour=1), "colour", "valid settings"),
    Bad("settings_for unused", lambda: compare.settings_for("sentiment", distance=5), "distance", "long-range"),
    Bad("sweep values", lambda: compare.sweep("distance", []), "values", "at least one value"),
    Bad("parameter_counts vocab_size", lambda: audit.parameter_counts(1), "vocab_size", ">= 2"),
    Bad("fused_layers device", lambda: audit.fused_layers("tpu"), "device", "'cpu', 'cuda', 'mps'"),
    Bad("word_vote string", lambda: audit.word_vote("good film"), "texts", "list of strings"),
    Bad("wall_clock_order archs", lambda: audit.wall_clock_order({"mlp": 1.0}), "seconds", "rnn, gru, lstm, bilstm"),
    # ---- widgets (a starting value the controls cannot hold) ----------------------------------
    Bad("gradient_flow_lab hidden_dim", lambda: widgets.gradient_flow_lab(hidden_dim=1000), "hidden_dim",
        f"[{limits.HIDDEN_RANGE[0]}, {limits.HIDDEN_RANGE[1]}]"),
    Bad("gradient_flow_lab seq_len", lambda: widgets.gradient_flow_lab(seq_len=1), "seq_len",
        f"[{limits.SEQ_LEN_RANGE[0]}, {limits.SEQ_LEN_RANGE[1]}]"),
    Bad("gradient_flow_lab seed", lambda: widgets.gradient_flow_lab(**SMALL_LAB, seed=-1), "seed", SEED_TEXT),
    Bad("gradient_flow_lab arch", lambda: widgets.gradient_flow_lab(arch="transformer"), "arch",
        "'rnn', 'gru', 'lstm', 'bilstm'"),
    Bad("clipping_lab steps", lambda: widgets.clipping_lab(steps=10_000), "steps",
        f"[{limits.CLIP_STEPS_RANGE[0]}, {limits.CLIP_STEPS_RANGE[1]}]"),
    Bad("clipping_lab max_norm", lambda: widgets.clipping_lab(max_norm=1e-5), "max_norm",
        f"[{limits.MAX_NORM_RANGE[0]}, {limits.MAX_NORM_RANGE[1]}]"),
    Bad("clipping_lab lr", lambda: widgets.clipping_lab(lr=5.0), "lr", f"[{limits.LR_RANGE[0]}, {limits.LR_RANGE[1]}]"),
    Bad("gate_lab arch", lambda: widgets.gate_lab(arch="rnn"), "arch", "'gru', 'lstm'"),
    Bad("gate_lab seed", lambda: widgets.gate_lab(seed=-3), "seed", SEED_TEXT),
]


# ---- the character language model (rnnlib.lm) ------------------------------------------------------
def _lm_parts():
    from rnnlib import build_lm, lm

    vocab = lm.CharVocab.from_text("abc ")
    return lm, vocab, build_lm("lstm", vocab_size=len(vocab), embed_dim=4, hidden_dim=8)


def _lm_call(method: str, *args, **kwargs):
    lm, vocab, model = _lm_parts()
    ids = vocab.encode("abcabc abc")
    calls = {
        "sample": lambda: lm.sample(model, vocab, *args, **kwargs),
        "perplexity": lambda: lm.perplexity(model, *(args or (ids,)), **kwargs),
        "fit_lm": lambda: lm.fit_lm(model, ids, **kwargs),
        "encode": lambda: vocab.encode(*args),
    }
    return calls[method]()


def _build_lm(**kwargs):
    from rnnlib import build_lm

    return build_lm(**(dict(arch="lstm", vocab_size=5) | kwargs))


def _corpus(*args, **kwargs):
    from rnnlib import lm

    return lm.corpus(*args, **kwargs)


LM_CASES = [
    Bad("lm: corpus name", lambda: _corpus("shakespeare"), "name", "'python', 'brackets'"),
    Bad("lm: corpus n_chars", lambda: _corpus("brackets", n_chars=0), "n_chars", ">= 2"),
    Bad("lm: corpus seed", lambda: _corpus("brackets", seed=-1), "seed", SEED_TEXT),
    Bad("lm: encode a missing character", lambda: _lm_call("encode", "xyz"), "'x'", "not in the vocabulary"),
    Bad("lm: build_lm arch", lambda: _build_lm(arch="bilstm"), "arch", "'rnn', 'gru', 'lstm'"),
    Bad("lm: build_lm vocab_size", lambda: _build_lm(vocab_size=1), "vocab_size", ">= 2"),
    Bad("lm: build_lm hidden_dim", lambda: _build_lm(hidden_dim=0), "hidden_dim", f"[1, {limits.MAX_WIDTH}]"),
    Bad("lm: build_lm num_layers", lambda: _build_lm(num_layers=0), "num_layers", f"[1, {limits.MAX_LAYERS}]"),
    Bad("lm: build_lm dropout", lambda: _build_lm(dropout=1.5), "dropout", "[0.0, 1.0)"),
    Bad("lm: sample temperature=0", lambda: _lm_call("sample", "ab", 5, temperature=0), "temperature", "(0.0, inf]"),
    Bad("lm: sample length=0", lambda: _lm_call("sample", "ab", 0), "length", ">= 1"),
    Bad("lm: sample prompt", lambda: _lm_call("sample", "xy", 5), "prompt", "not in the vocabulary"),
    Bad("lm: sample seed", lambda: _lm_call("sample", "ab", 5, seed=-1), "seed", SEED_TEXT),
    Bad("lm: perplexity seq_len", lambda: _lm_call("perplexity", seq_len=0), "seq_len", ">= 1"),
    Bad("lm: perplexity ids 2-D", lambda: _lm_call("perplexity", torch.tensor([[1, 2], [2, 3]])), "ids", "1-D"),
    Bad("lm: fit_lm steps", lambda: _lm_call("fit_lm", steps=0), "steps", f"[1, {limits.MAX_LM_STEPS}]"),
    Bad("lm: fit_lm lr", lambda: _lm_call("fit_lm", lr=-1), "lr", f"(0.0, {limits.MAX_LR}]"),
    Bad("lm: fit_lm max_norm", lambda: _lm_call("fit_lm", max_norm=0), "max_norm", "(0.0, inf]"),
]
CASES.extend(LM_CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_a_bad_input_is_refused_naming_the_parameter_and_its_valid_range(case):
    with pytest.raises(case.error) as caught:
        case.call()
    message = str(caught.value)
    assert case.name in message, f"the message does not name {case.name!r}: {message}"
    assert case.valid in message, f"the message does not give the valid range {case.valid!r}: {message}"


def test_the_table_is_large_and_every_label_unique():
    assert len(CASES) >= 60
    assert len({case.label for case in CASES}) == len(CASES)


def test_a_cuda_request_without_a_gpu_names_what_is_present():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present here")
    with pytest.raises(ValueError, match=r"prefer='cuda' is not present on this machine; valid here: 'cpu'"):
        get_device("cuda")


def test_the_seed_box_takes_every_seed_the_labs_take():
    lab = widgets.gradient_flow_lab(**SMALL_LAB, seed=10_000)
    assert lab.seed.max == limits.SEED_RANGE[1] and lab.last_result.settings["seed"] == 10_000


def test_a_refused_input_never_starts_the_progress_bar(monkeypatch):
    import rnnlib.training

    started = []
    monkeypatch.setattr(rnnlib.training, "progress_bar", lambda *args, **kwargs: started.append(1))
    for train, test in (("hello", None), (_generator(), None), (_data(), _generator()), ([("a", "b")], None)):
        with pytest.raises(ValueError):
            fit(_rnn(), train, test, epochs=2)
    assert not started


def test_a_bad_later_batch_is_named_when_reached():
    with pytest.raises(ValueError, match="train must be .* its batch 2 is a str"):
        fit(_rnn(), [(X, Y), "oops"], epochs=1, progress=False)


def test_the_documented_kinds_of_data_train():
    data = _data()
    pairs = [(data.x, data.y)]  # (x, y): every sequence fills the time axis
    for train in (data, pairs, _batches(), data.batches(4)):
        assert fit(_rnn(), train, epochs=2, progress=False).epochs == 2
    assert fit(_rnn(), _generator(), epochs=1, progress=False).epochs == 1
    assert evaluate(_rnn(), _generator())[1] in (0.0, 1.0)


def test_divergence_from_a_list_of_batches_still_stops_with_advice_and_a_finite_history():
    """As tests/test_training.py's divergence test, with the data given as (x, y) batches."""
    data = adding_problem(256, 30, seed=0)
    batches = [(x, y) for x, y, _ in data.batches(32)]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_model("rnn", input_dim=2, output_dim=1, hidden_dim=16, spectral_radius=3.0)
    with pytest.raises(TrainingDiverged, match="lower learning rate.*clipping") as caught:
        fit(model, batches, epochs=5, lr=10.0, optimizer="sgd", record_steps=True, progress=False)
    history = caught.value.history
    assert history.steps >= 1
    assert torch.isfinite(torch.tensor(history.step_loss + history.step_grad_norm)).all()
    assert all(torch.isfinite(p).all() for p in model.parameters())

