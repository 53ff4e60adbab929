"""The labs driven as a learner's clicks would drive them, without a browser: values set from code,
figure and readout checked, bad values answered with a message, bursts of changes drawn once."""

import asyncio
import base64
import re

import pytest
import torch

from rnnlib import labfigures, labs, widgets
from rnnlib.notebook import setup
from rnnlib.training import fit

SMALL = dict(hidden_dim=8, seq_len=12)


def image(lab) -> bytes:
    """The PNG the lab's Output widget holds now (what a browser would show)."""
    (output,) = lab.output.outputs
    return base64.b64decode(output["data"]["image/png"])


def test_gradient_flow_lab_draws_at_once_and_reads_out_the_measurement():
    lab = widgets.gradient_flow_lab(**SMALL)
    assert lab.redraws == 1 and image(lab).startswith(b"\x89PNG")
    result = lab.last_result
    assert result.settings["hidden_dim"] == 8 and result.settings["seq_len"] == 12
    readout = lab.readout.value
    assert "H=8, T=12" in readout
    shown = re.search(r'rnnlib-decay-ratio">([^<]+)<', readout).group(1)
    assert float(shown) == pytest.approx(result.decay_ratio, rel=1e-2)
    assert re.search(r'rnnlib-memory-span">(\d+)<', readout).group(1) == str(result.memory_span)


def test_moving_a_control_redraws_and_keeps_the_previous_curve():
    lab = widgets.gradient_flow_lab(**SMALL)
    before, first = image(lab), lab.last_result
    lab.seq_len.value = 20
    assert lab.redraws == 2 and image(lab) != before
    assert lab.last_result.norms.shape == (20,) and "T=20" in lab.readout.value
    assert lab.previous is first  # drawn as the faint line
    lab.hidden.value = 16
    assert lab.last_result.settings["hidden_dim"] == 16 and lab.previous.settings["seq_len"] == 20


def test_every_control_reaches_the_measurement():
    lab = widgets.gradient_flow_lab(**SMALL)
    lab.arch.value = "lstm"
    lab.set_bias.value = True
    lab.gate_bias.value = 4.0
    lab.rescale.value = True
    lab.radius.value = 1.5
    lab.clip.value = True
    lab.max_norm.value = 0.01
    lab.seed.value = 3
    assert lab.last_result.settings == dict(arch="lstm", hidden_dim=8, seq_len=12, spectral_radius=1.5,
                                            forget_bias=4.0, max_norm=0.01, seed=3, batch_size=16,
                                            train_steps=0)
    assert lab.last_result.clip_scale < 1.0
    assert "scales this update by" in lab.readout.value
    assert lab.gate_bias.description == "forget-gate bias"
    lab.arch.value = "gru"
    assert lab.gate_bias.description == "update-gate bias"
    lab.arch.value = "rnn"  # a vanilla RNN has no gate: the bias control is off, not an error
    assert lab.gate_bias.disabled and lab.last_result.settings["forget_bias"] is None


def test_clipping_changes_the_readout_not_the_curve():
    lab = widgets.gradient_flow_lab(**SMALL, spectral_radius=2.0)
    free = lab.last_result
    lab.clip.value = True
    lab.max_norm.value = 0.01
    assert (lab.last_result.norms == free.norms).all()
    assert lab.last_result.clip_scale == pytest.approx(0.01 / free.grad_norm, rel=1e-3)


def test_train_button_trains_more_steps():
    lab = widgets.gradient_flow_lab(arch="lstm", **SMALL, train_increment=50)
    untrained = lab.last_result
    lab.train_button.click()
    assert lab.train_steps.value == 50 and lab.last_result.settings["train_steps"] == 50
    assert not (lab.last_result.norms == untrained.norms).all()
    assert "after 50 training steps" in lab.readout.value


def test_an_invalid_value_shows_a_message_not_a_traceback():
    lab = widgets.gradient_flow_lab(**SMALL)
    before, good = image(lab), lab.last_result
    lab.hidden.max = 1000  # code can widen a slider past what the lab allows
    lab.hidden.value = 1000
    assert 'class="rnnlib-error"' in lab.readout.value and "hidden_dim" in lab.readout.value
    assert image(lab) == before and lab.last_result is good  # the last good figure stays
    lab.hidden.value = 16
    assert "rnnlib-error" not in lab.readout.value and lab.last_result.settings["hidden_dim"] == 16


def test_an_unexpected_failure_in_a_redraw_is_said_in_the_lab(monkeypatch):
    lab = widgets.gradient_flow_lab(**SMALL)
    before = image(lab)

    def broken(*args, **kwargs):
        raise RuntimeError("deliberately broken")

    monkeypatch.setattr(labs, "grad_flow", broken)
    with pytest.raises(RuntimeError):
        lab._run(lab._generation)  # what the debounced callback runs
    assert 'class="rnnlib-error"' in lab.readout.value and "deliberately broken" in lab.readout.value
    assert image(lab) == before


@pytest.mark.parametrize(
    ("make", "kwargs", "name"),
    [(widgets.gradient_flow_lab, dict(hidden_dim=1000), "hidden_dim"),
     (widgets.gradient_flow_lab, dict(arch="transformer"), "arch"),
     (widgets.gradient_flow_lab, dict(arch="rnn", forget_bias=2.0), "forget_bias"),
     (widgets.clipping_lab, dict(max_norm=1e-5), "max_norm"),
     (widgets.clipping_lab, dict(steps=10_000), "steps"),
     (widgets.gate_lab, dict(arch="rnn"), "arch"),
     (widgets.gate_lab, dict(seed=-3), "seed")],
)
def test_a_lab_refuses_starting_values_its_controls_cannot_hold(make, kwargs, name):
    with pytest.raises(ValueError, match=name):
        make(**kwargs)


def test_a_burst_of_changes_draws_only_the_latest_setting():
    lab = widgets.gradient_flow_lab(**SMALL)

    async def press_arrow_keys():
        for seq_len in range(13, 23):  # ten key presses, each one change
            lab.seq_len.value = seq_len
            await asyncio.sleep(0)
        await asyncio.sleep(widgets.DEBOUNCE_S * 4)

    asyncio.run(press_arrow_keys())
    assert lab.redraws == 2  # the first draw and one for the whole burst
    assert lab.last_result.settings["seq_len"] == 22


def test_update_draws_now_and_cancels_the_pending_redraw():
    lab = widgets.gradient_flow_lab(**SMALL)

    async def set_then_update():
        lab.seq_len.value = 30  # in a kernel: scheduled
        assert lab.redraws == 1
        lab.update()  # what a notebook cell calls before reading last_result
        assert lab.redraws == 2 and lab.last_result.settings["seq_len"] == 30
        await asyncio.sleep(widgets.DEBOUNCE_S * 4)

    asyncio.run(set_then_update())
    assert lab.redraws == 2  # the scheduled redraw was superseded, not drawn twice


def test_a_drag_redraws_while_moving_and_never_draws_a_stale_setting():
    lab = widgets.gradient_flow_lab(**SMALL)
    drawn = []  # (setting computed, the slider's value when that redraw started)
    compute = lab.compute
    lab.compute = lambda: drawn.append(lab.seq_len.value) or compute()

    async def drag():
        for seq_len in range(13, 43):  # a drag: a change every 20 ms for 0.6 s
            lab.seq_len.value = seq_len
            await asyncio.sleep(0.02)
        await asyncio.sleep(widgets.DEBOUNCE_S * 4)

    asyncio.run(drag())
    assert 2 <= len(drawn) < 30  # live while moving, but not one redraw per change
    assert drawn == sorted(drawn) and drawn[-1] == 42  # each redraw took the newest value; the last one is drawn
    assert lab.result.settings["seq_len"] == 42 and lab.redraws == 1 + len(drawn)


def test_a_request_superseded_before_it_runs_is_dropped():
    lab = widgets.gradient_flow_lab(**SMALL)
    lab.request()  # no event loop here: draws at once
    assert lab.redraws == 2
    stale = lab._generation
    lab._generation += 1  # a newer request arrived
    lab._run(stale)
    assert lab.redraws == 2


def test_display_carries_the_widget_and_a_static_figure_with_title_and_readout():
    lab = widgets.gradient_flow_lab(**SMALL)
    bundle = lab._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == lab.widget.model_id
    static = base64.b64decode(bundle["image/png"])
    assert static.startswith(b"\x89PNG") and static != image(lab)  # the live image leaves the caption out
    figure = lab._figure
    assert figure.title.get_text() == lab.title and figure.title.get_visible()
    caption = figure.readout.get_text()
    result = lab.result
    assert "H=8, T=12" in caption and f"{result.decay_ratio:.2e}" in caption
    assert f"memory span: {result.memory_span} of 11 steps back" in caption
    assert "<" not in caption and "&" not in caption  # plain text, not the readout's HTML
    assert "run the notebook" in bundle["text/plain"]
    assert {"rnnlib-lab", "rnnlib-gradient-flow-lab"} <= set(lab.widget._dom_classes)
    for control, css in [(lab.hidden, "rnnlib-hidden"), (lab.seq_len, "rnnlib-seq-len"), (lab.clip, "rnnlib-clip"),
                         (lab.readout, "rnnlib-readout"), (lab.output, "rnnlib-output")]:
        assert css in control._dom_classes
    for slider in (lab.hidden, lab.seq_len, lab.radius, lab.gate_bias, lab.max_norm):
        assert slider.continuous_update is True  # the curve follows a dragged slider
    assert lab.train_steps.continuous_update is False  # training only when the slider is let go
    lab.train_steps.value = 50  # now every setting trains a model: no training at every drag position
    assert not any(s.continuous_update for s in (lab.hidden, lab.seq_len, lab.radius, lab.gate_bias, lab.max_norm))
    assert (lab.hidden.min, lab.hidden.max) == labs.HIDDEN_RANGE
    assert (lab.seq_len.min, lab.seq_len.max) == labs.SEQ_LEN_RANGE


def test_clipping_lab_shows_both_runs_and_reruns_only_the_clipped_one(monkeypatch):
    lab = widgets.clipping_lab(steps=60)
    runs = lab.last_result
    assert set(runs) == {"no clipping", "clip at max_norm=1"}
    assert runs["no clipping"].diverged and not runs["clip at max_norm=1"].diverged
    assert 'class="rnnlib-diverged"' in lab.readout.value and "finite for all 60 steps" in lab.readout.value
    before = image(lab)
    trained = []
    monkeypatch.setattr(labs, "fit", lambda *args, **kwargs: trained.append(kwargs["max_norm"]) or fit(*args, **kwargs))
    lab.max_norm.value = 10.0
    assert trained == [10.0]  # the unclipped run does not depend on max_norm: not trained again
    assert lab.last_result["no clipping"].history.step_loss == runs["no clipping"].history.step_loss
    assert "clip at max_norm=10" in lab.last_result and image(lab) != before
    lab.max_norm.value = 1.0  # back to a setting already run: drawn from the cache, nothing trained
    assert trained == [10.0] and image(lab) == before
    lab.radius.value = 0.5  # small weights: nothing explodes, with or without clipping
    assert not any(run.diverged for run in lab.last_result.values())


def test_clipping_lab_judges_learning_against_the_baseline_and_keeps_the_clipped_run_readable():
    lab = widgets.clipping_lab(steps=60)
    clipped, unclipped = lab.result["clip at max_norm=1"], lab.result["no clipping"]
    verdict = re.search(r'rnnlib-learned">([^<]+)<', lab.readout.value).group(1)
    assert verdict == ("learned" if clipped.learned else "did not learn")
    assert f"final loss {clipped.final_loss:.3g}" in lab.readout.value
    figure = lab.figure
    assert figure.baseline.get_ydata()[0] == labs.ADDING_BASELINE_MSE
    names = labfigures.legend_labels(figure.fig)
    assert any("always predicting the mean" in name for name in names)
    # the unclipped run climbs to ~1e19 before it diverges: the axes fit the clipped run instead
    top = figure.ax_norm.get_ylim()[1]
    assert max(unclipped.history.step_grad_norm) > 1e6 * top >= max(clipped.history.step_grad_norm)
    assert figure.exits[0][1].get_visible()  # ▲ where the unclipped run leaves the axis
    assert any(name.startswith("no clipping (▲ off the axis at step") for name in names)
    assert figure.ax_loss.get_ylim()[1] < 1e3 * max(labs.ADDING_BASELINE_MSE, max(clipped.history.step_loss))


def test_gate_lab_reads_a_typed_sentence_and_switches_architecture():
    lab = widgets.gate_lab()
    assert set(lab.last_result.gates) == {"i", "f", "g", "o", "c"}
    lab.sentence.value = "The acting was lovely, flibber"
    assert lab.last_result.tokens == ["the", "acting", "was", "lovely", "<unk>"]
    assert "flibber" in lab.readout.value and "rnnlib-positive" in lab.readout.value
    lab.arch.value = "gru"
    assert set(lab.last_result.gates) == {"r", "z", "n"} and lab.gate_bias.description == "update-gate bias"
    lab.sentence.value = "   "
    assert "rnnlib-error" in lab.readout.value and "sentence" in lab.readout.value


def test_setup_prints_one_line_and_sets_threads(capsys):
    threads = torch.get_num_threads()
    try:
        device = setup(seed=1, threads=1)
    finally:
        torch.set_num_threads(threads)
    line = capsys.readouterr().out
    assert device.type in ("cpu", "cuda") and line.count("\n") == 1 and "device:" in line


def test_every_lab_s_static_figure_carries_its_title_and_readout():
    gate = widgets.gate_lab()
    gate.static_png()
    caption = gate._figure.readout.get_text()
    assert gate._figure.title.get_text() == gate.title
    assert f"P(positive) = {gate.result.positive:.2f}" in caption and "LSTM, trained" in caption
    clipping = widgets.clipping_lab(steps=60)
    clipping.static_png()
    caption = clipping.figure.readout.get_text()
    assert "ρ(W_hh)=2" in caption and "no clipping: diverged at step" in caption
    assert ("did not learn" if not clipping.result["clip at max_norm=1"].learned else "learned") in caption
    assert clipping.figure.title.get_text() == clipping.title


def test_code_reads_a_lab_s_settings_and_result():
    lab = widgets.gradient_flow_lab(arch="lstm", forget_bias=2.0, **SMALL)
    assert lab.result is lab.last_result
    assert lab.settings()["forget_bias"] == 2.0 == lab.result.settings["forget_bias"]
    assert set(lab.seconds) == {"data", "first image", "rendered"}
    assert lab.seconds["rendered"] == lab.seconds["first image"] >= lab.seconds["data"] > 0  # one image
    assert widgets.plain_text("a<sub>1</sub> &lt; <span class='x'>b</span><br>c") == ["a_1 < b", "c"]


def test_a_lab_that_trains_draws_a_burst_of_key_presses_once():
    lab = widgets.clipping_lab(steps=10)  # no live sliders: every change waits for a quiet moment

    async def press_arrow_keys():
        for radius in (2.45, 2.4, 2.35, 2.3):  # four presses, 30 ms apart: each would train two runs
            lab.radius.value = radius
            await asyncio.sleep(0.03)
        await asyncio.sleep(widgets.DEBOUNCE_S * 4)

    asyncio.run(press_arrow_keys())
    assert lab.redraws == 2 and next(iter(lab.result.values())).settings["spectral_radius"] == 2.3


# --- live images: the kept background plus the dynamic artists --------------------------------------


def _pixels(figure, live: bool):
    """RGB pixels of ``figure`` rendered live (blitted) or whole, without caption."""
    import numpy as np

    from rnnlib import plots

    figure._layout(False)
    with plots.themed():
        (figure.render_live if live else figure.render_whole)()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].astype(int)


@pytest.mark.parametrize("make, control, value", [
    (lambda: widgets.gradient_flow_lab(**SMALL), "hidden", 12),
    (lambda: widgets.clipping_lab(steps=20), "max_norm", 10.0),
    (lambda: widgets.gate_lab(), "sentence", labs.EXAMPLE_SENTENCES[4]),
])
def test_a_live_image_is_the_whole_figure_drawn_over_the_kept_background(make, control, value):
    lab = make()
    getattr(lab, control).value = value  # a second image: over the background the first one kept
    figure = lab._figure
    live, whole = _pixels(figure, True), _pixels(figure, False)
    assert live.shape == whole.shape
    # only where a dynamic artist crosses a spine or tick the drawing order differs: a few pixels
    differing = (abs(live - whole).max(-1) > 8).mean()
    assert differing < 1e-3, f"{differing:.2%} of the pixels differ from the whole figure"


def test_the_background_is_rendered_again_only_when_its_key_changes():
    lab = widgets.gradient_flow_lab(**SMALL)
    figure = lab._figure
    drawn = figure.background_draws
    lab.hidden.value = 12  # same axes: the kept background serves
    assert figure.background_draws == drawn
    lab.seq_len.value = 30  # a longer time axis moves the ticks: a new background
    assert figure.background_draws == drawn + 1
    lab.static_png()  # the static image is drawn whole, over the kept pixels
    lab.hidden.value = 16
    assert figure.background_draws == drawn + 2


def test_the_gate_figure_keeps_its_size_for_any_sentence():
    lab = widgets.gate_lab()
    sizes = set()
    for sentence in ("the movie was great", " ".join(["disappointing"] * labs.MAX_SENTENCE_WORDS)):
        lab.sentence.value = sentence
        sizes.add(tuple(lab._figure.fig.get_size_inches()))
    assert len(sizes) == 1


def test_a_scheduled_clipping_redraw_shows_the_runs_as_they_train(monkeypatch):
    lab = widgets.clipping_lab(steps=60)
    monkeypatch.setattr(widgets.ClippingLab, "FIRST_PARTIAL_S", 0.0)  # a partial figure after every chunk
    monkeypatch.setattr(widgets.ClippingLab, "PARTIAL_EVERY_S", 0.0)
    monkeypatch.setattr(widgets, "DEBOUNCE_S", 0.0)
    readouts = []
    lab.readout.observe(lambda change: readouts.append(change["new"]), names="value")

    async def change():
        lab.radius.value = 1.5
        for _ in range(200):
            await asyncio.sleep(0.01)
            if lab.redraws > 1 and lab.result["no clipping"].settings["steps"] == 60:
                break

    asyncio.run(change())
    steps = [re.search(r"training: step (\d+) of 60", text) for text in readouts]
    partial = [int(found.group(1)) for found in steps if found]
    assert partial == [10, 20, 30, 40, 50]  # the lines grew, 10 steps at a time
    during = [text for text, found in zip(readouts, steps, strict=True) if found]
    assert not any("learn" in text for text in during)  # no verdict on a run still training
    assert "clip at max_norm=1: loss " in during[0] and "at step 10" in during[0]
    assert lab.redraws == 1 + 6 and lab.seconds["first image"] < lab.seconds["rendered"]
    assert "training: step" not in lab.readout.value  # the last image is the complete run
    assert lab.result["clip at max_norm=1"].history.step_loss == labs.clipping_run(
        1.0, spectral_radius=1.5, steps=60).history.step_loss


def test_a_newer_change_stops_a_scheduled_redraw_between_two_stages(monkeypatch):
    lab = widgets.clipping_lab(steps=60)
    monkeypatch.setattr(widgets.ClippingLab, "FIRST_PARTIAL_S", 0.0)
    monkeypatch.setattr(widgets.ClippingLab, "PARTIAL_EVERY_S", 0.0)
    monkeypatch.setattr(widgets, "DEBOUNCE_S", 0.0)
    drawn = []
    monkeypatch.setattr(lab, "draw", lambda result, draw=lab.draw: drawn.append(
        next(iter(result.values())).settings["spectral_radius"]) or draw(result))

    async def change_twice():
        lab.radius.value = 1.5
        while not drawn:  # the first partial figure of ρ = 1.5 is on screen
            await asyncio.sleep(0.001)
        lab.radius.value = 0.5  # ρ = 1.5's remaining stages are dropped
        await asyncio.sleep(0.5)
        while lab.result["no clipping"].settings["steps"] < 60 or lab.result["no clipping"].settings[
                "spectral_radius"] != 0.5:
            await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(change_twice(), timeout=60))  # never hangs the suite
    assert drawn[0] == 1.5 and drawn.count(1.5) < 6 and drawn[-1] == 0.5


def test_png_bytes_is_a_png_any_reader_decodes_to_the_same_pixels():
    import io

    import numpy as np
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(labfigures.png_bytes(rgb)))
    assert decoded.mode == "RGB" and decoded.size == (5, 7)
    assert np.array_equal(np.asarray(decoded), rgb)
    with pytest.raises(ValueError, match="rgb"):
        labfigures.png_bytes(rgb[..., :2])


def test_a_failing_redraw_says_so_in_the_readout_and_propagates(monkeypatch):
    lab = widgets.gradient_flow_lab(**SMALL)

    def broken(result):
        raise RuntimeError("the figure broke")

    monkeypatch.setattr(lab, "draw", broken)
    with pytest.raises(RuntimeError, match="the figure broke"):
        lab.hidden.value = 12  # no event loop: drawn at once
    assert "the lab failed: RuntimeError: the figure broke" in lab.readout.value
    lab.readout.value = ""
    monkeypatch.setattr(widgets, "DEBOUNCE_S", 0.0)
    errors = []

    async def change():
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context["exception"]))
        lab.hidden.value = 16  # scheduled: the stage fails after the slider's message was handled
        while not lab.idle:
            await asyncio.sleep(0.001)

    asyncio.run(asyncio.wait_for(change(), timeout=60))
    assert "the lab failed: RuntimeError: the figure broke" in lab.readout.value
    assert [type(error) for error in errors] == [RuntimeError] and lab.idle
