"""The original module's experiment: train the four architectures on one task and compare them.

:func:`run_comparison` is what ``python -m rnnlib compare`` runs; notebooks and the benchmarks call it
too. Each task has its own defaults (:data:`TASK_DEFAULTS`):

* ``"sentiment"``: the original script's run (20 epochs, batch 64, embed 32, hidden 64, Adam 1e-3,
  clip 5.0, the seed reset before each model). Every model reaches ~100 %: the task is too easy to
  tell the architectures apart.
* ``"long-range"``: the deciding word sits ``distance`` steps before the end. Settings from
  ``measured-facts.md`` (embed 16, hidden 32, Adam 1e-2, clip 1.0) and 8000 training sentences; the
  LSTMs start with forget-gate bias 3, without which the LSTM stays at chance at distance 50, as the
  vanilla RNN does.
* ``"adding"``: the adding problem with ``length`` steps (hidden 64, Adam 1e-2, clip 1.0); predicting
  the mean gives MSE 1/6 ≈ 0.167, the line a model must get below.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace

from matplotlib.figure import Figure

from .architectures import display_name
from .data import Task, adding_task, long_range_task, sentiment_task
from .limits import (
    ADDING_LENGTH_RANGE,
    GATE_BIAS_LIMIT,
    MAX_DISTANCE,
    MAX_EPOCHS,
    MAX_LAYERS,
    MAX_LR,
    MAX_WIDTH,
    SEED_RANGE,
)
from .models import ARCHITECTURES, RecurrentClassifier, build_model, count_parameters
from .plots import plot_comparison, plot_sweep
from .training import History, fit, own_random_state
from .validation import check_choice, check_float, check_int

TASKS = ("sentiment", "long-range", "adding")
ARCHS = tuple(ARCHITECTURES)
#: architectures whose forget gate ``forget_bias`` sets
FORGET_GATE_ARCHS = ("lstm", "bilstm")


@dataclass(frozen=True)
class CompareSettings:
    """Everything one comparison run depends on.

    ``clip``: global gradient-norm limit (``None``: no clipping). ``forget_bias``: LSTM/BiLSTM
    forget-gate bias (``None``: PyTorch's initialisation). ``num_layers``/``dropout``: stacked
    recurrent layers, and the dropout between them and before the output layer. ``seed``: model
    initialisation and batch order, reset before each model. ``distance``/``length``/``n_train``
    shape the long-range/adding data (``n_train=None``: the generator's default); the datasets use
    their generators' fixed seeds, so every model sees the same data.
    """

    epochs: int = 20
    batch_size: int = 64
    embed_dim: int = 32
    hidden_dim: int = 64
    lr: float = 1e-3
    clip: float | None = 5.0
    forget_bias: float | None = None
    num_layers: int = 1
    dropout: float = 0.0
    seed: int = 42
    distance: int = 50
    length: int = 100
    n_train: int | None = None

    def validated(self) -> CompareSettings:
        """The same settings after checking each one (``ValueError`` names the bad one)."""
        clip = None if self.clip in (None, 0) else check_float("clip", self.clip, low=0.0)
        forget_bias = self.forget_bias
        if forget_bias is not None:
            forget_bias = check_float("forget_bias", forget_bias, low=-GATE_BIAS_LIMIT, high=GATE_BIAS_LIMIT)
        return replace(
            self,
            epochs=check_int("epochs", self.epochs, low=1, high=MAX_EPOCHS),
            batch_size=check_int("batch_size", self.batch_size, low=1),
            embed_dim=check_int("embed_dim", self.embed_dim, low=1, high=MAX_WIDTH),
            hidden_dim=check_int("hidden_dim", self.hidden_dim, low=1, high=MAX_WIDTH),
            lr=check_float("lr", self.lr, low=0.0, high=MAX_LR, low_open=True),
            clip=clip,
            forget_bias=forget_bias,
            num_layers=check_int("num_layers", self.num_layers, low=1, high=MAX_LAYERS),
            dropout=check_float("dropout", self.dropout, low=0.0, high=1.0, high_open=True),
            seed=check_int("seed", self.seed, low=SEED_RANGE[0], high=SEED_RANGE[1]),
            distance=check_int("distance", self.distance, low=0, high=MAX_DISTANCE),
            length=check_int("length", self.length, low=ADDING_LENGTH_RANGE[0], high=ADDING_LENGTH_RANGE[1]),
            n_train=None if self.n_train is None else check_int("n_train", self.n_train, low=2),
        )


#: per-task defaults; long-range and adding follow measured-facts.md (2-CPU machine)
TASK_DEFAULTS = {
    "sentiment": CompareSettings(),
    # 8000 sequences: with 2000 the models can memorise the random filler words of the training set
    # instead of learning to remember the deciding word (train 100 %, test 50 %)
    "long-range": CompareSettings(
        epochs=12, embed_dim=16, hidden_dim=32, lr=1e-2, clip=1.0, forget_bias=3.0, n_train=8000
    ),
    "adding": CompareSettings(epochs=25, hidden_dim=64, lr=1e-2, clip=1.0, n_train=4000),
}


#: settings a task does not read (the sentiment data is the seed's fixed 2000 sentences)
UNUSED_SETTINGS = {
    "sentiment": ("distance", "length", "n_train"),
    "long-range": ("length",),
    "adding": ("distance", "embed_dim"),
}


def settings_for(task: str, **overrides) -> CompareSettings:
    """``task``'s default settings with ``overrides`` (any :class:`CompareSettings` field the task
    uses) applied."""
    check_choice("task", task, TASKS)
    known = {f.name for f in fields(CompareSettings)}
    for name in overrides:
        if name not in known:
            raise ValueError(f"unknown setting {name!r}; valid settings: {', '.join(sorted(known))}")
        if name in UNUSED_SETTINGS[task]:
            users = [t for t in TASKS if name not in UNUSED_SETTINGS[t]]
            raise ValueError(f"{name} applies to the {' and '.join(users)} task, not {task}")
    return replace(TASK_DEFAULTS[task], **overrides).validated()


def make_task(task: str, settings: CompareSettings) -> Task:
    """The dataset of ``task``: the seed's sentiment data, long-range at ``settings.distance`` or
    adding at ``settings.length``."""
    check_choice("task", task, TASKS)
    if task == "sentiment":
        return sentiment_task()
    sizes = {} if settings.n_train is None else {"n_train": settings.n_train}
    if task == "long-range":
        return long_range_task(settings.distance, **sizes)
    return adding_task(settings.length, **sizes)


def run_comparison(
    task: str = "sentiment",
    archs: Sequence[str] = ARCHS,
    *,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
    **overrides,
) -> dict:
    """Train each of ``archs`` on ``task`` with the same settings and the seed reset before each.

    ``overrides``: :class:`CompareSettings` fields replacing the task's defaults (e.g. ``epochs=2``).
    ``log`` receives the per-epoch lines and the final table (``print`` for a console; ``None``:
    silent). ``progress`` shows a tqdm bar per model.

    Returns ``{"task": Task, "settings": CompareSettings, "models": {arch: trained model},
    "histories": {arch: History}, "params": {arch: int}, "seconds": {arch: float},
    "total_seconds": float}``. ``seconds`` is each model's training time (``sum(history.seconds)``,
    test evaluations excluded); ``total_seconds`` the wall time of the whole run.
    """
    settings = settings_for(task, **overrides)
    archs = (archs,) if isinstance(archs, str) else tuple(archs)
    if not archs or len(set(archs)) != len(archs):
        raise ValueError(f"archs must name each of {', '.join(ARCHS)} at most once; got {archs}")
    for arch in archs:
        check_choice("arch", arch, ARCHS)
    data = make_task(task, settings)
    say = log or (lambda line: None)
    start = time.perf_counter()
    say(describe(task, data, settings))

    models: dict[str, RecurrentClassifier] = {}
    histories: dict[str, History] = {}
    params: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for arch in archs:
        forget_bias = settings.forget_bias if arch in FORGET_GATE_ARCHS else None
        # the original script's reset: each model starts from the same seed (the caller's state left alone)
        with own_random_state(settings.seed):
            model = models[arch] = build_model(
                arch, embed_dim=settings.embed_dim, hidden_dim=settings.hidden_dim, num_layers=settings.num_layers,
                dropout=settings.dropout, forget_bias=forget_bias, **data.model_kwargs(),
            )
        params[arch] = count_parameters(model)
        say(f"\n{display_name(arch)} ({params[arch]:,} parameters, {init_name(arch, settings)})")
        histories[arch] = fit(
            model, data.train, data.test, epochs=settings.epochs, lr=settings.lr,
            max_norm=settings.clip, batch_size=settings.batch_size, seed=settings.seed,
            progress=progress, desc=display_name(arch),
        )
        seconds[arch] = sum(histories[arch].seconds)
        for line in epoch_lines(histories[arch]):
            say(line)
    result = {
        "task": data, "settings": settings, "models": models, "histories": histories, "params": params,
        "seconds": seconds, "total_seconds": time.perf_counter() - start,
    }
    say("\n" + summary_table(result))
    return result


def sweep(
    setting: str,
    values: Sequence,
    task: str = "long-range",
    archs: Sequence[str] = ARCHS,
    *,
    progress: bool = False,
    **overrides,
) -> dict:
    """:func:`run_comparison` once per value of one setting: ``{value: result}``, in ``values``' order.

    ``setting``: a :class:`CompareSettings` field the task uses (e.g. ``"distance"``, ``"hidden_dim"``,
    ``"lr"``); ``overrides``: the other settings, the same for every value. Accuracy against
    dependency distance, for example, is ``sweep("distance", (5, 10, 20, 40))``.
    """
    if setting in overrides:
        raise ValueError(f"{setting} is the swept setting: give its values in values, not as an override")
    values = list(values)
    if not values or any(values.count(v) > 1 for v in values):
        raise ValueError(f"values must hold at least one value of {setting}, each once; got {values}")
    for value in values:  # every value and setting checked before any training
        settings_for(task, **{setting: value}, **overrides)
    return {value: run_comparison(task, archs, progress=progress, **{setting: value}, **overrides)
            for value in values}


def _check_sweep(results) -> None:
    if not isinstance(results, dict) or not results or not all(
            isinstance(r, dict) and "histories" in r for r in results.values()):
        raise ValueError("results must be what sweep returned: a non-empty dict of value → run_comparison result")


def sweep_finals(results: dict) -> dict[str, dict]:
    """Final test accuracy (or MSE) of a :func:`sweep`: ``{arch: {value: metric}}``."""
    _check_sweep(results)
    archs = next(iter(results.values()))["histories"]
    return {arch: {value: result["histories"][arch].test_metric[-1] for value, result in results.items()}
            for arch in archs}


def sweep_table(results: dict, setting: str) -> str:
    """The rows of a :func:`sweep` result: per value of ``setting``, each model's final test accuracy
    (or MSE) and training seconds."""
    finals = sweep_finals(results)
    metric = next(iter(results.values()))["histories"][next(iter(finals))].metric
    column = "test acc" if metric == "accuracy" else "test MSE"
    rows = [f"{setting:>12}" + "".join(f"{display_name(arch) + ' ' + column:>22}" for arch in finals)]
    for value, result in results.items():
        cells = []
        for arch in finals:
            final = finals[arch][value]
            shown = f"{100 * final:.1f}%" if metric == "accuracy" else f"{final:.4f}"
            cells.append(f"{shown} ({result['seconds'][arch]:.1f} s)")
        rows.append(f"{'off' if value is None else format(value, 'g'):>12}" + "".join(f"{c:>22}" for c in cells))
    return "\n".join(rows)


def sweep_chart(results: dict, xlabel: str, *, title: str | None = None) -> Figure:
    """Final test metric against the swept setting (numbers), one line per model; ``xlabel`` names the
    setting and its unit. Classification draws chance (the share of the commonest test label)."""
    _check_sweep(results)
    first = next(iter(results.values()))
    histories = first["histories"]
    metric = next(iter(histories.values())).metric
    chance = None
    if metric == "accuracy":
        labels = first["task"].test.y
        chance = float(labels.bincount().max()) / len(labels)
    finals = {display_name(arch): points for arch, points in sweep_finals(results).items()}
    return plot_sweep(finals, xlabel=xlabel, metric=metric, chance=chance, title=title)


def comparison_chart(result: dict, *, path=None) -> Figure:
    """The chart of a :func:`run_comparison` result (the original ``model_comparison.png``), saved to
    ``path`` if given."""
    settings = result["settings"]
    labels = {arch: display_name(arch) for arch in result["histories"]}
    inits = {init_name(arch, settings) for arch in labels if arch in FORGET_GATE_ARCHS}
    title = result["task"].name + "".join(f"; LSTMs: {init}" for init in inits if "bias" in init)
    return plot_comparison(
        {labels[arch]: history for arch, history in result["histories"].items()},
        {labels[arch]: count for arch, count in result["params"].items()},
        title=title, path=path,
    )


def init_name(arch: str, settings: CompareSettings) -> str:
    """How ``arch`` is initialised in this run, in words."""
    if arch in FORGET_GATE_ARCHS and settings.forget_bias is not None:
        return f"forget-gate bias {settings.forget_bias:g}"
    return "PyTorch default init"


def describe(task: str, data: Task, settings: CompareSettings) -> str:
    """One paragraph: the task, its size and every setting of the run."""
    unused = UNUSED_SETTINGS[task] + ("n_train",)  # the first line gives the data set's size
    s = {k: v for k, v in asdict(settings).items() if k not in unused}
    none = {"clip": "off", "forget_bias": "default"}
    shown = ", ".join(f"{k}={none[k] if v is None else v}" for k, v in s.items())
    return f"Task: {data.name}: {len(data.train)} train / {len(data.test)} test sequences\n{shown}"


def epoch_lines(history: History) -> list[str]:
    """``Epoch  3/20 | train loss 0.4123 acc 81.2% | test loss 0.3011 acc 90.0%`` per epoch."""
    lines = []
    for e in range(history.epochs):
        train = _loss_metric(history.train_loss[e], history.train_metric[e], history.metric)
        line = f"  epoch {e + 1:>3}/{history.epochs} | train {train}"
        if history.test_loss:
            test = _loss_metric(history.test_loss[e], history.test_metric[e], history.metric)
            line += f" | test {test}"
        lines.append(line + f" | {history.seconds[e]:.2f} s")
    return lines


def summary_table(result: dict) -> str:
    """The final table of a :func:`run_comparison` result: parameters, training seconds and final
    test accuracy (or MSE) per model, and the run's total time."""
    histories, params, seconds = result["histories"], result["params"], result["seconds"]
    settings = result["settings"]
    metric = next(iter(histories.values())).metric
    column = "test acc" if metric == "accuracy" else "test MSE"
    header = f"{'model':<10} {'init':<24} {'parameters':>10} {'seconds':>8} {column:>9}"
    rows = [header, "-" * len(header)]
    for arch, history in histories.items():
        value = history.test_metric[-1]
        shown = f"{100 * value:8.1f}%" if metric == "accuracy" else f"{value:9.4f}"
        rows.append(
            f"{display_name(arch):<10} {init_name(arch, settings):<24} {params[arch]:>10,} "
            f"{seconds[arch]:>8.1f} {shown}"
        )
    rows.append(f"total {result['total_seconds']:.1f} s (training, test evaluation and start-up)")
    return "\n".join(rows)


def _loss_metric(loss: float, metric: float, kind: str) -> str:
    return f"loss {loss:.4f} acc {100 * metric:5.1f}%" if kind == "accuracy" else f"MSE {metric:.4f}"
