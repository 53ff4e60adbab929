"""Build notebooks/06_char_lm.ipynb from the cell sources below (run once; the notebook is the product)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NAME = "06_char_lm"
cells = []


def md(text, **meta):
    cells.append(new_markdown_cell(text.strip("\n"), metadata=meta))


def code(text, **meta):
    cells.append(new_code_cell(text.strip("\n"), metadata=meta))


md(f"""
# 06 · Sequences out: a character language model

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rnnlib-course/rnnlib/blob/main/notebooks/{NAME}.ipynb) [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/rnnlib-course/rnnlib/HEAD?urlpath=lab/tree/notebooks/{NAME}.ipynb)
""", tags=["rnnlib-badges"])

code("""
# Set-up. On Colab: install rnnlib from the repository (torch is already there).
# Everywhere else rnnlib is already installed (make lab, Binder) and this does nothing.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "rnnlib @ git+https://github.com/rnnlib-course/rnnlib"

from rnnlib.notebook import setup

device = setup(seed=0)
""", tags=["rnnlib-setup"])

md("""
Every task so far was **many-to-one**: a sentence in, one label out. Now the network *writes*. A **character
language model** reads text one character at a time and, at every step, gives a probability to each possible next
character. Sample a character from it, feed it back in, repeat: the model generates text — here, Python code, learned
from the source files of the Python standard library already installed on your machine (the char-rnn of Karpathy's
*"The Unreasonable Effectiveness of Recurrent Neural Networks"* did the same with Linux source code).

**Learning objectives.** After this notebook you can

1. explain **teacher forcing** — why training reads the true text while generation reads the model's own output;
2. read a **perplexity** as the effective number of characters the model hesitates between, starting from the
   uniform model's vocabulary size;
3. train an LSTM and a vanilla RNN with **truncated BPTT across chunks** (state carried, but detached) and watch
   their samples improve;
4. use **temperature** to trade safe, repetitive text for varied, error-prone text;
5. measure **what a model remembers**: which earlier characters a prediction depends on, and a hidden unit that
   tracks whether the text is inside a quote;
6. explain why the **chunk length** of truncated BPTT is the horizon of what a model can learn, and measure it.

**Prerequisites:** notebooks 01–03 (BPTT and its truncation, the LSTM's cell state and forget-gate bias) and
notebook 04's section on causal models. Everything below runs on a laptop CPU; a longer run (section 9) was made
with a command whose output is committed.
""")

code("""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from rnnlib import build_lm, lm, set_forget_bias, set_seed
from rnnlib.lm_plots import plot_perplexity, plot_text_values
from rnnlib.lm_widgets import connectivity_lab, temperature_lab
""")

md("""
## 1 · The data: your own Python standard library

`lm.corpus("python")` reads the source files of the standard library of the Python that runs this notebook — a
fixed, sorted list of its top-level modules — and joins them (tabs become four spaces, the rare non-ASCII character
becomes `?`). Nothing is downloaded: the text is already on your disk, under the Python Software Foundation licence.
We keep the first few hundred thousand characters, and hold out the last part for validation.
""")

code("""
text = lm.corpus("python", n_chars=400_000)
vocab = lm.CharVocab.from_text(text)  # every distinct character gets an id
ids = vocab.encode(text)  # (T,) LongTensor
valid_chars = 20_000
train_ids, valid_ids = ids[:-valid_chars], ids[-valid_chars:]
files = lm.stdlib_files()
print(f"{len(text):,} characters from {files[0].name}, {files[1].name}, {files[2].name}, … ({len(vocab)} distinct)")
print(f"training: {len(train_ids):,} characters · validation: the last {len(valid_ids):,}")
print("-" * 60)
print(text[3000:3400])
""")

md("""
## 2 · Teacher forcing: training reads the truth, generation reads itself

A language model predicts $x_{t+1}$ from $x_1, \\dots, x_t$. In training we have the whole text, so the **input is
the text and the target is the same text shifted by one**. One forward pass over a chunk of $T$ characters gives $T$
predictions at once, each scored against the true next character. This is **teacher forcing**: at every step the
model is fed the *true* previous character, never its own guess.
""")

code("""
chunk = text[3000:3012]
x, y = vocab.encode(chunk[:-1]), vocab.encode(chunk[1:])  # input, and the target: the same text one step later
for step, (a, b) in enumerate(zip(chunk[:-1], chunk[1:])):
    print(f"step {step:2d}: reads {a!r:5} → must predict {b!r}")
""")

md("""
At **generation** there is no true text: the model's own sample at step $t$ becomes its input at step $t+1$. A
mistake is then fed back in and the model continues from a situation it never saw in training (it always saw
correct text) — so errors can compound. That gap between training and generation is called *exposure bias*; we
will see its symptoms (repetition, drift) in the samples. `lm.sample` does the generation loop; its core is six
lines:

```python
logits, state = model(vocab.encode(prompt)[None])          # read the prompt, teacher-forced
for _ in range(length):
    p = torch.softmax(logits[0, -1] / temperature, dim=-1)   # distribution of the next character
    char = torch.multinomial(p, 1, generator=generator)      # draw one
    logits, state = model(char.view(1, 1), state)            # feed it back in, continue from the state
```

The model: an embedding of each character, one recurrent layer, and a linear layer that turns the hidden state at
every step into one score (logit) per character. `model(x, state)` returns the logits and the state at the end, so
a long text can be read chunk by chunk.
""")

code("""
set_seed(0)
model = build_lm("lstm", vocab_size=len(vocab), embed_dim=32, hidden_dim=128)
logits, state = model(x[None])  # x: (batch=1, time=11)
print(model)
print("logits:", tuple(logits.shape), "= (batch, time, vocab_size) · state: h and c, each", tuple(state[0].shape))
""")

md("""
Two properties make this model usable for both training and generation, checked here: it is **causal** (the logits
at step $t$ do not change when later characters change), and reading a text in two chunks, the second one starting
from the state the first one returned, gives exactly what one pass over the whole text gives.
""")

code("""
# NBVAL_CHECK_OUTPUT
with torch.no_grad():
    changed = x.clone()
    changed[5:] = (changed[5:] + 1) % len(vocab)  # change every character after step 4
    causal = torch.equal(model(changed[None])[0][:, :5], logits[:, :5])
    first, state_k = model(x[None, :5])
    second, _ = model(x[None, 5:], state_k)  # continue from the returned state
    continued = torch.allclose(torch.cat([first, second], 1), logits, atol=1e-6)
print("causal:", causal, "· two chunks with the carried state = one pass:", continued)
""")

md("""
## 3 · Perplexity: the effective number of choices

The training loss is the mean cross-entropy $-\\frac{1}{T}\\sum_t \\log p(x_{t+1} \\mid x_{\\le t})$, in nats per
character. Its exponential is the **perplexity**:

$$\\mathrm{PPL} = \\exp\\Big(-\\frac{1}{T}\\sum_t \\log p(x_{t+1} \\mid x_{\\le t})\\Big).$$

If the model always spread its probability evenly over $k$ characters and the right one was among them,
$\\log p = -\\log k$ at every step and the perplexity is exactly $k$. So read a perplexity as **the effective number
of characters the model hesitates between**. A model that knows nothing — every character equally likely — scores
the vocabulary size; a model that is always sure and right scores 1.

**Predict, then run.** Our LSTM is untrained: small random weights. What perplexity will it score on the
validation text?
(a) about 1 · (b) about the vocabulary size · (c) about $e^{\\text{vocabulary size}}$ · (d) no way to know.
Decide, then run the cell.
""")

code("""
uniform = build_lm("lstm", vocab_size=len(vocab))
torch.nn.init.zeros_(uniform.fc.weight)  # every logit equal: the uniform model
torch.nn.init.zeros_(uniform.fc.bias)
ppl_uniform = lm.perplexity(uniform, valid_ids)
ppl_untrained = lm.perplexity(model, valid_ids)
counts = torch.bincount(train_ids, minlength=len(vocab)).double()
unigram = counts / counts.sum()  # the best model that ignores all context: character frequencies
ppl_unigram = torch.exp(-torch.log(unigram[valid_ids[1:]]).mean()).item()
display(Markdown(
    f"* uniform model (equal logits): perplexity **{ppl_uniform:.2f}** — exactly the vocabulary size, "
    f"{len(vocab)}\\n"
    f"* untrained LSTM: **{ppl_untrained:.2f}** — (b): small random weights give nearly equal logits\\n"
    f"* character frequencies alone, no context: **{ppl_unigram:.2f}** — what a model gains by counting letters, "
    f"before it reads any context"
))
""")

md("""
## 4 · Training with truncated BPTT across chunks

The training text is one long sequence. `fit_lm` cuts it into `batch_size` consecutive **streams** read side by side,
and reads each stream in **chunks** of `seq_len` characters:

* the state at the end of a chunk is the start of the next one — **carried**, so the model reads each stream as one
  continuous text and can use context from before the chunk;
* but **detached** (`state.detach()`): backpropagation stops at the chunk border. A step costs `seq_len` steps of
  backward pass, whatever the text's length, and memory does not grow.

Everything else is notebook 01's recipe: Adam, the global gradient norm clipped at 1, a stop with advice if the loss
ever becomes NaN. Every 100 steps it measures the validation perplexity; the `callback` takes a sample from the LSTM
then, so we can watch the text improve. Two models of the same size: an LSTM and a vanilla RNN.
""")

code("""
STEPS, EVERY = 500, 100  # the longer run of section 9 trains for longer (its report shows its settings)
checkpoints = {}  # step -> an LSTM sample


def take_sample(history, model):
    checkpoints[history.steps[-1]] = lm.sample(model, vocab, "def ", 160, temperature=0.7, seed=0)


models, histories = {}, {}
for arch in ["lstm", "rnn"]:
    set_seed(0)
    models[arch] = build_lm(arch, vocab_size=len(vocab), embed_dim=32, hidden_dim=128)
    histories[arch] = lm.fit_lm(models[arch], train_ids, valid_ids, steps=STEPS, seq_len=64, batch_size=32, lr=5e-3,
                                max_norm=1.0, eval_every=EVERY, seed=0, callback=take_sample if arch == "lstm" else None)
plot_perplexity(histories, vocab_size=len(vocab), title="character model on the standard library's source");
""")

code("""
lstm_ppl, rnn_ppl = histories["lstm"].valid_perplexity, histories["rnn"].valid_perplexity
display(Markdown(
    f"Both curves start next to the uniform model (untrained LSTM {lstm_ppl[0]:.1f} at step 0, uniform "
    f"{ppl_uniform:.0f}) and fall fast: after {EVERY} steps the "
    f"LSTM hesitates between about {lstm_ppl[1]:.1f} characters, already better than character frequencies "
    f"({ppl_unigram:.1f}). After {STEPS} steps: LSTM **{lstm_ppl[-1]:.2f}**, vanilla RNN **{rnn_ppl[-1]:.2f}**"
    + (" — the LSTM is ahead, but at this small budget not by much: most of what is learnt first (spelling, "
       "indentation after a colon, common words) needs only the last few characters."
       if lstm_ppl[-1] < rnn_ppl[-1] else " — the vanilla RNN is not behind at this budget.")
))
""")

md("""
The samples the LSTM wrote at each checkpoint (prompt `def `, temperature 0.7, the same seed each time):
""")

code("""
for step, sample in checkpoints.items():
    print(f"──── step {step} ────")
    print("def " + sample)
""")

md("""
From noise to letters, to words and spaces, to lines with indentation, `self.`, brackets that open and close, and
keywords in plausible places. The model never saw a rule of Python: everything comes from predicting the next
character of real code. It still invents names and forgets what it opened long ago — the longer run of section 9
goes further.
""")

md("""
## 5 · Temperature

`lm.sample` divides the logits by a **temperature** $T$ before the softmax:
$p_i \\propto \\exp(z_i / T)$. At $T = 1$ it samples the model's own probabilities. Below 1 the largest logits
win more often — safer, more repetitive text; as $T \\to 0$ it always takes the most likely character (*greedy*).
Above 1 the distribution flattens towards uniform — more variety, more mistakes. Drag the slider: the bars show the
next-character distribution after the prompt at your temperature next to $T = 1$, the text shows two samples
(seeds 0 and 1). Without a running kernel you see the figure at $T = 0.7$.
""")

code("""
temperature_lab(models["lstm"], vocab, prompt="    def ", temperature=0.7)
""")

code("""
for temperature in [0.1, 0.5, 0.8, 1.5]:
    print(f"──── temperature {temperature} ────")
    print("    def " + lm.sample(models["lstm"], vocab, "    def ", 160, temperature=temperature, seed=0))
""")

md("""
**Try this:** compare the four samples above, from the near-greedy lowest temperature to the highest: where do
the same few words repeat, where does the text look most like code, where does it break into random characters?
Move the slider between them; change the prompt to `class ` or `import `, and the seed to draw other samples.

### Exercise 1 · Sampling with a temperature
""")

code("""
from rnnlib.exercises.lm import perplexity_exercise as q2
from rnnlib.exercises.lm import temperature_exercise as q1

q1
""")

code("""
def temperature_probs(logits, temperature):
    \"\"\"logits: (..., vocab) -> the sampling distribution at this temperature, same shape.\"\"\"
    ...  # your code here


q1.check()
""")

code("""
q1.hint()
# q1.solution()  # uncomment to see a model answer
""")

md("""
## 6 · What it remembers: which inputs does a prediction use?

How far back does the model look? For one validation text, take the log-probability the model gives to the true
next character, $\\log p(x_{t+1} \\mid x_{\\le t})$, and differentiate it with respect to the **embedding of every
earlier character**, $e_s$ for $s \\le t$. The norm $\\lVert \\partial \\log p(x_{t+1}) / \\partial e_s \\rVert$ says how
much a small change of character $s$ would move that prediction: a *connectivity* map (Distill's *"Memorization in
RNNs"* view). Rows are predictions, columns are inputs; above the diagonal it is exactly 0 — the model is causal.
Move the slider to pick a prediction and see, below, how its dependence fades with distance for the RNN and the
LSTM, trained above on the same text.
""")

code("""
snippet = text[-valid_chars:][2000:2090]  # 90 characters of the validation text
print(snippet)
lab = connectivity_lab({"rnn": models["rnn"], "lstm": models["lstm"]}, vocab, snippet)
lab
""")

code("""
def reach(grid, share=0.01):
    \"\"\"For each prediction t: how many characters back the dependence stays above `share` of its largest value.\"\"\"
    spans = []
    for t in range(grid.shape[0]):
        row = grid[t, : t + 1]
        spans.append(t - int((row >= share * row.max()).nonzero().min()))
    return np.array(spans)


late = slice(40, None)  # predictions with at least 40 characters of context
reaches = {arch: reach(grid)[late] for arch, grid in lab.grids.items()}
display(Markdown(
    "How far back each model's predictions reach (above 1 % of their strongest input), over the predictions with at "
    f"least 40 characters of context: vanilla RNN median **{np.median(reaches['rnn']):.0f}** characters "
    f"(longest {reaches['rnn'].max()}), LSTM median **{np.median(reaches['lstm']):.0f}** "
    f"(longest {reaches['lstm'].max()}). "
    + ("The LSTM's dependence fades more slowly: its cell state carries information further."
       if np.median(reaches["lstm"]) > np.median(reaches["rnn"]) else
       "At this training budget the two reach about as far.")
))
""")

md("""
Gradients are a *local* view: they say which inputs could change the prediction, not what the model computed
with them. For that, look at the hidden state itself — on a text where we know exactly what there is to remember.

## 7 · A unit that knows it is inside a quote

`lm.corpus("brackets")` is a synthetic text with known rules: filler letters, nested brackets `( )` (at most
`lm.MAX_DEPTH` deep), and quoted spans opened by `"` or `'` that hold only filler letters (no brackets inside) and close with the
**same** quote character, at least `lm.QUOTE_MIN` letters later. Because we generated it, we know the exact
probability of every next character (`lm.bracket_probs`), hence the **best possible perplexity**, and the true
depth and quote state at every position (`lm.bracket_labels`).
""")

code("""
brackets = lm.corpus("brackets", n_chars=120_000, seed=0)
b_vocab = lm.CharVocab.from_text(brackets)
b_ids = b_vocab.encode(brackets)
split = 100_000
best = lm.brackets_perplexity(brackets, start=split)  # what the generator itself scores on the held-out part
depth, quoted = lm.bracket_labels(brackets)
print(brackets[:240])
print(f"{len(b_vocab)} characters {b_vocab.chars} · quotes hold at least {lm.QUOTE_MIN} letters · "
      f"best possible perplexity {best:.3f} · inside a quote {quoted.mean():.0%} of the time")
""")

md("""
Two LSTMs, identical except for the chunk length of truncated BPTT: 64 characters, or 8 (with 8 times as many
streams, so each step sees the same number of characters). Both start with the forget-gate bias of notebook 03
(`set_forget_bias(model, 3)`), so their cell state keeps information by default.
""")

code("""
b_models, b_histories = {}, {}
for seq_len, streams in [(64, 8), (8, 64)]:
    set_seed(0)
    b_models[seq_len] = set_forget_bias(build_lm("lstm", vocab_size=len(b_vocab), embed_dim=8, hidden_dim=64), 3.0)
    b_histories[seq_len] = lm.fit_lm(b_models[seq_len], b_ids[:split], b_ids[split:], steps=600, seq_len=seq_len,
                                     batch_size=streams, lr=1e-2, eval_every=100, seed=0,
                                     desc=f"LSTM, chunks of {seq_len}")
colors = {f"chunks of {k}": c for k, c in [(64, "#029e73"), (8, "#cc78bc")]}
plot_perplexity({f"chunks of {k}": h for k, h in b_histories.items()}, vocab_size=len(b_vocab), best=best,
                colors=colors, title='LSTM on "brackets": two chunk lengths');
""")

md("""
Now look inside the model trained with 64-character chunks. Record its hidden state $h_t$ (64 units) on the
held-out text and correlate every unit with the true labels: *inside a quote* (0 or 1) and the bracket *depth*.
The best unit of each:
""")

code("""
model64 = b_models[64]
h = lm.hidden_states(model64, b_ids[split:]).numpy()  # (T, 64): the state after each character
truth = {"inside a quote": quoted[split:].astype(float), "bracket depth": depth[split:].astype(float)}
found = {}
for label, target in truth.items():
    r = np.array([np.corrcoef(h[:, j], target)[0, 1] for j in range(h.shape[1])])
    unit = int(np.nanargmax(np.abs(r)))
    found[label] = (unit, r[unit])
    print(f"{label:15}: unit {unit:2d} has correlation r = {r[unit]:+.3f}; the median unit |r| = {np.nanmedian(np.abs(r)):.3f}")
display(Markdown(
    f"One unit follows the quote state almost exactly (r = {found['inside a quote'][1]:+.2f}). The depth is tracked "
    f"{'well' if abs(found['bracket depth'][1]) > 0.7 else 'only weakly'} by any single unit "
    f"(best r = {found['bracket depth'][1]:+.2f}): knowing the depth helps only at depth 0 (no `)` can come) and at "
    f"the deepest level (no `(`), while the quote state changes the odds of every character."
))
""")

code("""
unit, r = found["inside a quote"]
window = slice(300, 620)
plot_text_values(brackets[split:][window], h[window, unit], truth=truth["inside a quote"][window],
                 truth_label="inside a quote (truth)", width=80,
                 title=f"LSTM unit {unit} over the text (red: positive, blue: negative; r = {r:+.2f})");
""")

md("""
Nobody told the model what a quote is. It found a unit whose value flips when a quote opens and flips back when it
closes, because knowing it makes the next character more predictable: inside a quote, no bracket can come, and
only the opening character can close it. This is the kind of "interpretable cell" Karpathy et al. (2015) found in
char-rnns trained on real code and prose: quote detectors, line-length counters, indentation trackers.

## 8 · Truncated BPTT: the chunk length is the horizon of learning

Carrying the state lets a model **use** context from before the chunk. But it can **learn** a dependency only if
the gradient connects the two ends — and the gradient stops at the chunk border. A quote in `"brackets"` closes at
least `QUOTE_MIN + 1` characters after it opened; to predict *which* quote character closes it, the model must have
stored the opening one. With chunks of 8 characters no chunk ever holds both an opening quote and the prediction of its
close: that dependency is never in any gradient.

Measured on the held-out text, at every position where a quote closes: the probability the model gives to the right
quote character, out of the probability it gives to any quote character (a model that cannot tell the two apart
scores one half; the generator itself is always right).
""")

code("""
states = lm.bracket_states(brackets)
closes = [t for t in range(split, len(brackets) - 1) if states[t].quote and brackets[t + 1] == states[t].quote]
quote_ids = [b_vocab.index[q] for q in lm.QUOTES]
right_quote = {}
for seq_len, m in b_models.items():
    with torch.no_grad():
        p = m(b_ids[None, split:-1])[0][0].softmax(-1)  # (T, vocab): p(next character) after each character
    rows = torch.tensor([t - split for t in closes])
    right = p[rows, torch.tensor([b_vocab.index[brackets[t + 1]] for t in closes])]
    right_quote[seq_len] = (right / p[rows][:, quote_ids].sum(-1)).mean().item()
display(Markdown(
    f"Over the {len(closes)} quote closings of the held-out text: P(right quote character | a quote closes) = "
    f"**{right_quote[64]:.2f}** with 64-character chunks, **{right_quote[8]:.2f}** with 8-character chunks. "
    f"Validation perplexity {b_histories[64].valid_perplexity[-1]:.3f} and {b_histories[8].valid_perplexity[-1]:.3f}; "
    f"the best possible is {best:.3f}. "
    + ("The short chunks never learned which quote closes — the rest of the text they model almost as well."
       if right_quote[8] < 0.65 <= right_quote[64] else
       "At this seed and budget the difference is smaller than usual: rerun with more steps.")
))
""")

md("""
**Why detach at all?** Without `detach`, the state handed to the next chunk still points into the previous
chunk's computation graph. After that graph was freed by the previous `backward()`, the next backward pass tries to
walk into it:
""")

code("""
chunks = b_ids[: 2 * 8 * 64].view(8, 2 * 64)  # 8 streams, two chunks of 64
scratch = build_lm("lstm", vocab_size=len(b_vocab), embed_dim=8, hidden_dim=16)
state = None
try:
    for i in range(2):
        logits, state = scratch(chunks[:, i * 64:(i + 1) * 64 - 1], state)  # state NOT detached
        F.cross_entropy(logits.flatten(0, 1), chunks[:, i * 64 + 1:(i + 1) * 64].flatten()).backward()
except RuntimeError as error:
    print("chunk", i + 1, "→ RuntimeError:", str(error).split(".")[0])
""")

md("""
Keeping that graph (`retain_graph=True`) would "work", but then chunk 100's backward pass runs through all 100
chunks: the cost and memory of one step grow with the text read so far — full BPTT over the whole corpus. Detaching
is the compromise: the forward pass sees unlimited context, the backward pass a fixed window of `seq_len` steps.
The price is the horizon measured above. In practice choose `seq_len` at least as long as the dependencies you
need the model to learn, and let the carried state do the rest.

## 9 · A longer run

The notebook's models trained for a few hundred steps. `python -m rnnlib lm` trains a larger LSTM (hidden size
256) for longer on more of the standard library and writes a report with its perplexity curve and samples. The
committed report (made with the command shown in it):
""")

code("""
from pathlib import Path

report = Path("../benchmarks/lm_python.md")
if report.exists():
    display(Markdown(report.read_text(encoding="utf-8").replace("# Character", "#### Character", 1)))
else:
    print("The report is in the repository: benchmarks/lm_python.md (run `python -m rnnlib lm` to make your own).")
""")

md("""
### Exercise 2 · Perplexity from the cross-entropy
""")

code("""
q2
""")

code("""
def perplexity_from_logits(logits, targets):
    \"\"\"logits: (T, vocab) scores of each next character, targets: (T,) true ids -> perplexity (a float).\"\"\"
    ...  # your code here


q2.check()
""")

code("""
q2.hint()
# q2.solution()  # uncomment to see a model answer
""")

md("""
## Summary
""")

code("""
display(Markdown(f\"\"\"
* A **character language model** predicts every next character: logits `(batch, time, vocab)` from an embedding, a
  recurrent layer and a linear readout. **Teacher forcing** trains it on the true text shifted by one; generation
  feeds its own samples back, so errors can compound.
* **Perplexity** $= \\\\exp(\\\\text{{mean cross-entropy}})$ is the effective number of choices per character: the
  uniform model scores the vocabulary size ({ppl_uniform:.0f} here), character frequencies {ppl_unigram:.1f}, our
  LSTM {lstm_ppl[-1]:.2f} and vanilla RNN {rnn_ppl[-1]:.2f} after {STEPS} steps.
* **Temperature** trades safety for variety: towards 0 the sampler becomes greedy and repetitive, at high
  temperatures the text dissolves into noise.
* **What it remembers:** the connectivity map $\\\\lVert\\\\partial \\\\log p(x_{{t+1}})/\\\\partial e_s\\\\rVert$ shows how far
  back a prediction reaches (median {np.median(reaches['rnn']):.0f} characters for the RNN,
  {np.median(reaches['lstm']):.0f} for the LSTM here); on `"brackets"` one LSTM unit tracks "inside a quote"
  (r = {found['inside a quote'][1]:+.2f}) without ever being told what a quote is.
* **Truncated BPTT** carries the state across chunks (context) but detaches it (bounded cost): the chunk length is
  the horizon of *learning* — with 8-character chunks the model could not learn which quote closes a span of
  {lm.QUOTE_MIN + 1} or more (P = {right_quote[8]:.2f} against {right_quote[64]:.2f} with 64).
\"\"\"))
""")

md("""
## What next

* Word-level models and subword tokens (byte-pair encoding) make each step carry more meaning; the same
  `fit_lm` loop applies with a larger vocabulary.
* Transformers replace the carried state with attention over a window of the past: no horizon inside the window,
  nothing beyond it — the same trade-off as the chunk length, made differently.
* Read: Karpathy, *The Unreasonable Effectiveness of Recurrent Neural Networks* (2015); Karpathy, Johnson & Fei-Fei,
  *Visualizing and Understanding Recurrent Networks* (2015); Madsen, *Visualizing memorization in RNNs* (Distill,
  2019); d2l.ai chapters 9.3–9.7 (language models, perplexity, truncated BPTT).
""")

nb = new_notebook(cells=cells, metadata={
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
})
nbformat.write(nb, f"notebooks/{NAME}.ipynb")
print(f"wrote notebooks/{NAME}.ipynb with {len(cells)} cells")
