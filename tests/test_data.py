"""Data: the seed's sentiment sentences, the long-range and adding tasks, batching, the CSV loader."""

import csv

import pytest
import torch

from rnnlib import adding_task, long_range_task, sentiment_task
from rnnlib.data import (
    NEGATIVE_WORDS,
    NEUTRAL_WORDS,
    POSITIVE_WORDS,
    SENTIMENT_CSV,
    SequenceDataset,
    Vocabulary,
    adding_problem,
    generate_sentiment_sentences,
    load_csv,
    write_csv,
)

SENTIMENT = set(POSITIVE_WORDS) | set(NEGATIVE_WORDS)


def assert_same_dataset(a: SequenceDataset, b: SequenceDataset):
    for name in ("x", "y", "lengths"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


# --- the seed's sentiment task ---------------------------------------------------------------


def test_word_lists_have_the_seed_sizes_and_are_disjoint():
    assert (len(POSITIVE_WORDS), len(NEGATIVE_WORDS), len(NEUTRAL_WORDS)) == (18, 18, 18)
    words = POSITIVE_WORDS + NEGATIVE_WORDS + NEUTRAL_WORDS
    assert len(set(words)) == 54


def test_seed_sentences_have_the_documented_shape():
    texts, labels = generate_sentiment_sentences(2000, 42)
    assert len(texts) == len(labels) == 2000
    assert sum(labels) == 1000  # 50/50
    assert 400 < sum(labels[:1000]) < 600  # shuffled, not 1000 positives then 1000 negatives
    for text, label in zip(texts, labels):
        words = text.split()
        assert 4 <= len(words) <= 10
        sentiment = [w for w in words if w in SENTIMENT]
        assert 1 <= len(sentiment) <= 3
        assert set(sentiment) <= set(POSITIVE_WORDS if label else NEGATIVE_WORDS)
        assert set(words) - SENTIMENT <= set(NEUTRAL_WORDS)


def test_sentiment_task_split_vocabulary_and_padding():
    task = sentiment_task()
    texts, labels = generate_sentiment_sentences(2000, 42)
    assert (len(task.train), len(task.test)) == (1600, 400)  # 80/20, in generated order
    assert task.texts["train"] == texts[:1600] and task.texts["test"] == texts[1600:]
    assert task.train.y.tolist() == labels[:1600] and task.test.y.tolist() == labels[1600:]
    vocab = task.vocab
    assert vocab.itos[:2] == ["<pad>", "<unk>"] and vocab.stoi["<pad>"] == 0 and vocab.stoi["<unk>"] == 1
    assert set(vocab.itos[2:]) == {w for t in texts[:1600] for w in t.split()}  # train words only
    for row, text in enumerate(task.texts["train"][:50]):
        n = int(task.train.lengths[row])
        assert n == len(text.split())
        assert vocab.decode(task.train.x[row]) == text
        assert torch.all(task.train.x[row, n:] == 0) and torch.all(task.train.x[row, :n] > 1)
    assert task.model_kwargs() == {"vocab_size": len(vocab), "output_dim": 2}


def test_vocabulary_maps_unknown_words_to_1_and_decode_drops_padding():
    vocab = Vocabulary(["good", "film", "good"])
    assert vocab.itos == ["<pad>", "<unk>", "good", "film"]
    assert vocab.encode("good unseen film") == [2, 1, 3]
    assert vocab.decode([2, 3, 0, 0]) == "good film"


def test_generators_are_deterministic_and_seeded():
    assert_same_dataset(sentiment_task(seed=7).train, sentiment_task(seed=7).train)
    assert sentiment_task(seed=7).texts != sentiment_task(seed=8).texts
    assert_same_dataset(long_range_task(10, seed=3).train, long_range_task(10, seed=3).train)
    assert long_range_task(10, seed=3).texts != long_range_task(10, seed=4).texts
    assert_same_dataset(adding_task(20, seed=3).test, adding_task(20, seed=3).test)
    assert not torch.equal(adding_task(20, seed=3).train.x, adding_task(20, seed=4).train.x)


# --- the package's CSV copy and the loader ------------------------------------------------


def test_packaged_csv_is_exactly_the_generated_seed_dataset(tmp_path):
    assert load_csv(SENTIMENT_CSV) == generate_sentiment_sentences(2000, 42)
    fresh = write_csv(tmp_path / "sentiment.csv", *generate_sentiment_sentences(2000, 42))
    assert SENTIMENT_CSV.read_bytes() == fresh.read_bytes()


def test_sentiment_task_reads_a_learners_csv(tmp_path):
    texts = ["a fine film", "a dull film", "fine acting", "dull plot", "fine fine"]
    path = write_csv(tmp_path / "mine.csv", texts, [1, 0, 1, 0, 1])
    task = sentiment_task(csv_path=path)
    assert task.texts["train"] == texts[:4] and task.texts["test"] == texts[4:]
    assert task.test.y.tolist() == [1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "columns 'text' and 'label'"),  # empty file
        ("text,label\n", "no rows"),
        ("sentence,label\nnice,1\n", "missing \\['text'\\]"),
        ("text\nnice\n", "missing \\['label'\\]"),
        ("text,label\nnice,1\nbad,2\n", "line 3: label must be 0 or 1"),
        ("text,label\nnice,yes\n", "label must be 0 or 1"),
        ("text,label\nnice,1\n  ,0\n", "line 3: text is empty"),
    ],
)
def test_load_csv_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_csv(path)


def test_load_csv_missing_file(tmp_path):
    with pytest.raises(ValueError, match="csv_path .* does not exist"):
        sentiment_task(csv_path=tmp_path / "nowhere.csv")


def test_write_csv_quotes_commas_so_load_csv_reads_them_back(tmp_path):
    path = write_csv(tmp_path / "q.csv", ['good, "really" good', "bad"], [1, 0])
    assert load_csv(path) == (['good, "really" good', "bad"], [1, 0])
    with path.open(newline="") as fh:
        assert next(csv.reader(fh)) == ["text", "label"]


# --- long-range task -------------------------------------------------------------------------


@pytest.mark.parametrize("distance", [0, 1, 7, 50])
def test_long_range_deciding_word_sits_distance_steps_before_the_end(distance):
    task = long_range_task(distance, n_train=200, n_test=50)
    for split in ("train", "test"):
        data = getattr(task, split)
        assert 0.4 < data.y.float().mean() < 0.6
        for row, text in enumerate(task.texts[split]):
            words = text.split()
            position = len(words) - 1 - distance
            assert [i for i, w in enumerate(words) if w in SENTIMENT] == [position]
            decisive = POSITIVE_WORDS if int(data.y[row]) == 1 else NEGATIVE_WORDS
            assert words[position] in decisive
            assert int(data.lengths[row]) == len(words)
            assert distance + 1 <= len(words) <= distance + 5  # 0–4 neutral words before it
    assert len(task.train) == 200 and len(task.test) == 50


# --- adding problem --------------------------------------------------------------------------


def test_adding_problem_targets_are_the_marked_sums():
    data = adding_problem(300, 40, seed=1)
    assert data.x.shape == (300, 40, 2) and torch.all(data.lengths == 40)
    values, markers = data.x[..., 0], data.x[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :20].sum(1) == 1) and torch.all(markers[:, 20:].sum(1) == 1)
    torch.testing.assert_close(data.y, (values * markers).sum(1))
    assert torch.all((values >= 0) & (values <= 1))


def test_adding_problem_baseline_mse_is_one_sixth():
    data = adding_problem(20000, 10, seed=0)
    baseline = ((data.y - 1.0) ** 2).mean().item()  # always predict the mean sum, 1
    assert baseline == pytest.approx(1 / 6, abs=0.005)


def test_adding_task_is_a_regression_task_with_a_separate_test_draw():
    task = adding_task(12, n_train=50, n_test=20)
    assert task.is_regression and task.model_kwargs() == {"input_dim": 2, "output_dim": 1}
    assert not torch.equal(task.train.x[:20], task.test.x)


# --- batches ---------------------------------------------------------------------------------


def test_batches_return_tokens_labels_lengths_trimmed_to_the_longest():
    data = sentiment_task().train
    seen = []
    for x, y, lengths in data.batches(64):
        assert x.shape == (len(y), int(lengths.max()))
        assert x.dtype == torch.long and y.dtype == torch.long and lengths.dtype == torch.long
        seen.append(y)
    assert torch.equal(torch.cat(seen), data.y)  # no shuffle: the dataset order


def test_shuffled_batches_cover_every_example_once_and_repeat_per_seed():
    data = adding_problem(100, 5)

    def order(seed, passes=1):
        loader = data.batches(32, shuffle=True, seed=seed)
        return [torch.cat([y for _, y, _ in loader]) for _ in range(passes)]

    first, second = order(0, passes=2)
    assert sorted(first.tolist()) == sorted(data.y.tolist())
    assert not torch.equal(first, second)  # a new order each pass
    assert torch.equal(order(0)[0], first)  # the same order for the same seed
    assert not torch.equal(order(1)[0], first)


# --- bad arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: long_range_task(-1), "distance"),
        (lambda: long_range_task(5, n_train=0), "n_train"),
        (lambda: long_range_task(5, n_test=1), "n_test"),
        (lambda: adding_task(1), "length"),
        (lambda: adding_problem(0, 10), "n"),
        (lambda: adding_task(10, seed=-1), "seed"),
        (lambda: sentiment_task(n=1), "n"),
        (lambda: sentiment_task(test_fraction=1.0), "test_fraction"),
        (lambda: sentiment_task(n=2, test_fraction=0.1), "test_fraction"),
        (lambda: adding_problem(5, 5).batches(0), "batch_size"),
        (lambda: SequenceDataset(torch.zeros(3, 2), torch.zeros(2), torch.ones(3)), "same length"),
        (lambda: adding_problem(5, 5).subset(slice(0, 0)).batches(4), "empty"),
    ],
)
def test_data_functions_reject_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_long_range_before_fixes_the_deciding_words_position():
    from rnnlib.data import NEGATIVE_WORDS, POSITIVE_WORDS, long_range_sentences

    texts, labels = long_range_sentences(20, 6, seed=3, before=4)
    sentiment = set(POSITIVE_WORDS) | set(NEGATIVE_WORDS)
    for text, label in zip(texts, labels):
        words = text.split()
        assert len(words) == 4 + 1 + 6 and [w in sentiment for w in words].index(True) == 4
        assert (words[4] in POSITIVE_WORDS) == bool(label)
    # without it, the sentences are exactly the ones the course always generated (0-4 words before)
    assert long_range_sentences(20, 6, seed=3) == long_range_sentences(20, 6, seed=3, before=None)
    assert {len(t.split()) - 7 for t in long_range_sentences(200, 6, seed=3)[0]} == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match="before"):
        long_range_sentences(20, 6, before=-1)
