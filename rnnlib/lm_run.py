"""``python -m rnnlib lm``: a longer character-model run than notebook 06 can afford, written up as a
Markdown report (command, date, run time, perplexity at each checkpoint, samples) that the notebook shows."""

from __future__ import annotations

import argparse
import datetime
import platform
import shlex
import time

import torch

from . import lm
from .device import get_device, use_device
from .training import set_seed

#: share of the text held out for validation (its end)
VALID_FRACTION = 0.05


def lm_command(args: argparse.Namespace) -> int:
    if not args.out.parent.is_dir():  # fail before training, not after
        raise ValueError(f"--out: folder {str(args.out.parent)!r} does not exist")
    for temperature in args.temperatures:
        if not temperature > 0:
            raise ValueError(f"--temperatures must be numbers > 0, got {temperature}")
    command = "python -m rnnlib lm " + " ".join(_option(name, value) for name, value in vars(args).items()
                                                 if name not in ("handler", "command"))
    start = time.perf_counter()
    text = lm.corpus(args.corpus, n_chars=args.n_chars, seed=args.seed)
    vocab = lm.CharVocab.from_text(text)
    ids = vocab.encode(text)
    split = int(len(ids) * (1 - VALID_FRACTION))
    train, valid = ids[:split], ids[split:]
    set_seed(args.seed)
    device = use_device(get_device())
    model = lm.build_lm(args.arch, vocab_size=len(vocab), embed_dim=args.embed, hidden_dim=args.hidden,
                        num_layers=args.layers).to(device)
    print(f"{args.corpus}: {len(text):,} characters ({len(vocab)} distinct), {len(valid):,} held out; "
          f"{args.arch.upper()} hidden {args.hidden} on {device}")
    history = lm.fit_lm(model, train, valid, steps=args.steps, seq_len=args.seq_len, batch_size=args.batch_size,
                        lr=args.lr, max_norm=args.clip if args.clip > 0 else None, eval_every=args.eval_every,
                        seed=args.seed, callback=lambda h, _model: print(
                            f"step {h.steps[-1]}: validation perplexity {h.valid_perplexity[-1]:.3f} "
                            f"({h.seconds[-1]:.0f} s)", flush=True))
    samples = {t: lm.sample(model, vocab, args.prompt, args.length, temperature=t, seed=args.seed)
               for t in args.temperatures}
    seconds = time.perf_counter() - start
    report = _report(command, args, history, samples, seconds, len(text), len(vocab), len(valid), device)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    print(f"saved {args.out}")
    return 0


def _option(name: str, value) -> str:
    values = value if isinstance(value, list) else [value]
    return f"--{name.replace('_', '-')} " + " ".join(shlex.quote(str(v)) for v in values)


def _report(command, args, history, samples, seconds, n_chars, vocab_size, n_valid, device) -> str:
    rows = "\n".join(f"| {step} | {train:.2f} | {valid:.2f} | {sec:.0f} |" for step, train, valid, sec in
                     zip(history.steps, history.train_perplexity, history.valid_perplexity, history.seconds))
    text = "\n\n".join(f"**temperature {t:g}**\n\n```\n{args.prompt}{sample}\n```" for t, sample in samples.items())
    return f"""# Character language model: a longer run

Written by `{command}`.

* date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; run time {seconds / 60:.1f} min on
  {device} ({torch.get_num_threads()} thread(s)), Python {platform.python_version()}, torch {torch.__version__}
* text: `{args.corpus}`, {n_chars:,} characters, {vocab_size} distinct; the last {n_valid:,} held out for validation
* model: {args.arch.upper()}, embedding {args.embed}, hidden {args.hidden}, {args.layers} layer(s); truncated BPTT
  over chunks of {args.seq_len} characters, {args.batch_size} streams, Adam lr {args.lr:g}, clipping
  {args.clip:g}, {args.steps} steps, seed {args.seed}
* a uniform guess over the {vocab_size} characters has perplexity {vocab_size}

| step | train perplexity | validation perplexity | seconds |
|---:|---:|---:|---:|
{rows}

## Samples after `{args.prompt}` (seed {args.seed})

{text}
"""
