"""One function per figure of Glorot & Bengio (2010), each `figN(tables) -> Figure`.

`tables` is the dict of tidy DataFrames from `trainability.results.read_tables`
(runs, curves, layer_stats, histograms). A configuration's network is picked by
`select_network`: the protocol row (the learning rate the protocol selected) of the
configuration on the dataset, at the largest width present, with the smallest init_seed.
When the tables lack a configuration a figure needs, the function raises `MissingData`
naming it.

The paper's figures use only the paper's networks: plain SGD (`trick == "none"`) trained
with the scale preset's budget (`budget == "preset"`); tables without these columns hold
nothing else (`paper_runs`). The one exception is Fig. 11's pre-training reference curve,
taken from the networks whose trick includes `pretrain_dae`.

Figures that follow training over time put `update / 20_000` on the x axis ("epochs" of 20k
updates, as the paper does) unless the whole run is shorter than 20k updates, in which case
they show updates (`style.time_axis`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from trainability.analysis.common import PAPER_BUDGET, PAPER_TRICK, with_axes
from trainability.analysis.common import paper_rows as paper_runs
from trainability.figures import cost_surface as cs
from trainability.figures.style import (
    INIT_COLORS,
    TimeAxis,
    config_color,
    layer_color,
    layer_label,
    layer_marker,
    new_figure,
    styled,
    time_axis,
)

Tables = dict[str, pd.DataFrame]

__all__ = [
    "Config", "MissingData", "activation_name", "config_label", "paper_runs",
    "select_network", "trick_names", "with_axes",
    "fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9", "fig10",
    "fig11", "fig12", "fig_jacobian", "fig_depth",
]

#: Values the paper gives for the mean singular value of the layer Jacobians at init (tanh).
PAPER_JACOBIAN = {"standard": 0.5, "normalized": 0.8}
#: Most error bars / markers drawn per curve, so long runs stay readable.
MAX_MARKS = 20

_ACTIVATION_NAMES = {"sigmoid": "Sigmoid", "tanh": "Tanh", "softsign": "Softsign",
                     "relu": "ReLU", "leaky_relu": "Leaky ReLU", "elu": "ELU", "selu": "SELU",
                     "prelu": "PReLU", "rrelu": "RReLU", "maxout": "Maxout"}
#: Values of the trick axis and budget column for the paper's networks (and for tables
#: written before those columns existed).
PLAIN_TRICK = PAPER_TRICK
PRESET_BUDGET = PAPER_BUDGET
_DATASET_NAMES = {"shapeset": "Shapeset-3×2", "mnist": "MNIST", "cifar10": "CIFAR-10"}


class MissingData(LookupError):
    """The tables lack what a figure needs; the message names the configuration."""


def activation_name(activation: str) -> str:
    """Display name: "Tanh", "Leaky ReLU 0.2" (leaky_relu:0.2), "Maxout k=2" (maxout:2)."""
    base, _, argument = str(activation).partition(":")
    name = _ACTIVATION_NAMES.get(base, base)
    if not argument:
        return name
    return f"{name} k={argument}" if base == "maxout" else f"{name} {argument}"


def trick_names(trick: str) -> tuple[str, ...]:
    """The names of the items of a trick string, without arguments:
    "batchnorm+clip_norm:1" -> ("batchnorm", "clip_norm"); "none" -> ()."""
    if pd.isna(trick) or str(trick) in ("", PLAIN_TRICK):
        return ()
    return tuple(item.split(":", 1)[0].strip() for item in str(trick).split("+"))


@dataclass(frozen=True)
class Config:
    """A configuration of the paper: activation, initializer, depth, dataset."""

    activation: str
    initializer: str
    depth: int
    dataset: str = "shapeset"

    def describe(self) -> str:
        return (f"{self.dataset}, depth {self.depth}, {self.activation} with "
                f"{self.initializer} init")


def config_label(activation: str, initializer: str) -> str:
    """The paper's legend names: "Tanh", "Tanh N" (normalized init), "Softsign", ..."""
    name = activation_name(activation)
    if initializer == "standard":
        return name
    if initializer == "normalized":
        return f"{name} N"
    return f"{name} ({initializer})"


def _init_name(initializer: str) -> str:
    return f"{initializer} init"


def select_network(tables: Tables, config: Config, width: int | None = None) -> pd.Series:
    """The runs row of `config`'s network: protocol rows of the dataset/activation/initializer/
    depth among the paper's networks (`paper_runs`: no trick, the preset's budget), the
    largest width present (or `width`), the smallest init_seed.

    Raises MissingData naming the configuration when there is none.
    """
    return _select(paper_runs(tables["runs"]), config, width)


def _select(runs: pd.DataFrame, config: Config, width: int | None = None) -> pd.Series:
    """As `select_network`, among the rows `runs`."""
    mask = ((runs["dataset"] == config.dataset) & runs["protocol"].astype(bool)
            & (runs["activation"] == config.activation)
            & (runs["initializer"] == config.initializer) & (runs["depth"] == config.depth))
    if width is not None:
        mask &= runs["width"] == width
    rows = runs[mask]
    if rows.empty:
        where = "" if width is None else f", width {width}"
        raise MissingData(f"needs {config.describe()}{where} (a protocol network); "
                          "the tables have none")
    rows = rows[rows["width"] == rows["width"].max()]
    return rows.sort_values(["init_seed", "run", "member"]).iloc[0]


def _of(table: pd.DataFrame, net: pd.Series) -> pd.DataFrame:
    """Rows of `table` that belong to network (run, member)."""
    return table[(table["run"] == net["run"]) & (table["member"] == net["member"])]


def _describe_net(net: pd.Series) -> str:
    return (f"{net['dataset']}, depth {net['depth']}, {net['activation']} with "
            f"{net['initializer']} init (run {net['run']}, member {net['member']})")


def _title(net: pd.Series, extra: str = "") -> str:
    """Panel title in the paper's manner: activation and initialization."""
    name = activation_name(net["activation"])
    return f"{name}, {_init_name(net['initializer'])}{extra}"


def _setting(nets: Sequence[pd.Series], extra: str = "") -> str:
    """Figure subtitle: dataset, depth(s) and width(s) the networks really had."""
    def values(key: str) -> str:
        return "/".join(str(v) for v in sorted({int(n[key]) for n in nets}))

    datasets = sorted({_DATASET_NAMES.get(n["dataset"], n["dataset"]) for n in nets})
    return (f"{', '.join(datasets)}; depth {values('depth')}, width {values('width')}"
            f"{extra}")


def _suptitle(fig: Figure, text: str) -> None:
    fig.suptitle(text, fontsize=8.5, color="0.25")


def _stat(tables: Tables, net: pd.Series, quantity: str, stat: str) -> pd.DataFrame:
    """(update x layer) table of one layer statistic of one network."""
    rows = _of(tables["layer_stats"], net)
    rows = rows[(rows["quantity"] == quantity) & (rows["stat"] == stat)]
    if rows.empty:
        raise MissingData(f"needs layer statistic {quantity}/{stat} of {_describe_net(net)}")
    return rows.pivot_table(index="update", columns="layer", values="value", aggfunc="first",
                            dropna=False).sort_index()


def _histograms(tables: Tables, net: pd.Series, quantity: str, update: int | None
                ) -> tuple[int, pd.DataFrame]:
    """Histogram rows of one network and quantity at `update` (None = the last recorded)."""
    rows = _of(tables["histograms"], net)
    rows = rows[rows["quantity"] == quantity]
    if update is None and not rows.empty:
        update = int(rows["update"].max())
    rows = rows[rows["update"] == update]
    if rows.empty:
        when = "the end of training" if update is None else f"update {update}"
        raise MissingData(f"needs {quantity} histograms at {when} of {_describe_net(net)}")
    return int(update), rows


def _marks(n: int, offset: int = 0) -> tuple[int, int]:
    """(start, step) for errorevery/markevery so that at most MAX_MARKS marks are drawn;
    `offset` staggers the marks of different layers."""
    step = max(1, int(np.ceil(n / MAX_MARKS)))
    return (offset % step, step)


def _axis_for(nets: Iterable[pd.Series]) -> TimeAxis:
    return time_axis(int(max(int(net["updates"]) for net in nets)))


def _figure_legend(fig: Figure, axes: Sequence[Axes], extra: Sequence[Line2D] = ()) -> None:
    """One legend for the figure, right of the panels: every label once, in axes order."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    for handle in extra:
        seen.setdefault(handle.get_label(), handle)
    fig.legend(list(seen.values()), list(seen.keys()), loc="outside right center")


def _dodge(n_series: int, x: np.ndarray, k: int, fraction: float = 0.006) -> float:
    """x shift of series k of n so that error bars at equal x do not hide each other."""
    span = float(np.nanmax(x) - np.nanmin(x)) if len(x) > 1 else 1.0
    return (k - (n_series - 1) / 2) * fraction * span


# ---- Fig. 1 -----------------------------------------------------------------------------------
@styled
def fig1(tables: Tables | None = None, *, seed: int = 0, rows: int = 3, cols: int = 6
         ) -> Figure:
    """Shapeset-3×2 samples at 64×64 (the paper's Fig. 1, top; Small-ImageNet is not shown)."""
    from trainability.data.shapeset import CLASS_NAMES, ShapesetConfig, generate, stream_key

    config = ShapesetConfig(image_size=64, n_vertices=(3, 4, 30))  # the authors' viewer
    batch = generate(stream_key(seed, "train"), 0, rows * cols, config)
    lo, hi = (0.0, 1.0) if config.pixel_range == "zero_one" else (-1.0, 1.0)
    fig, axes = new_figure(rows, cols, panel=(1.0, 1.12))
    for k, ax in enumerate(axes):
        # The authors' arrays are indexed [x, y]: show the transpose, as their pygame view.
        ax.imshow(batch.images[k].T.numpy(), cmap="gray", vmin=lo, vmax=hi,
                  interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(True)
        ax.set_xlabel(CLASS_NAMES[int(batch.labels[k])], fontsize=8, labelpad=2)
    fig.suptitle("Shapeset-3×2 at 64×64 (training uses 32×32); "
                 "T triangle, P parallelogram, E ellipse", fontsize=8.5)
    return fig


# ---- Fig. 2 -----------------------------------------------------------------------------------
def _mean_std_panel(ax: Axes, mean: pd.DataFrame, std: pd.DataFrame, axis: TimeAxis) -> None:
    """Mean as a line per layer, std as error bars (layers slightly dodged in x)."""
    x = axis(mean.index.to_numpy(dtype=float))
    layers = list(mean.columns)
    for k, layer in enumerate(layers):
        every = _marks(len(x), k)
        ax.errorbar(x + _dodge(len(layers), x, k), mean[layer], yerr=std[layer],
                    color=layer_color(layer), marker=layer_marker(layer), markevery=every,
                    errorevery=every, elinewidth=0.9, label=layer_label(layer))
    ax.set_xlabel(axis.label)
    ax.set_ylabel("activation value")


@styled
def fig2(tables: Tables) -> Figure:
    """Mean (lines) and std (bars) of sigmoid activations per hidden layer during training;
    standard init, depth 4, plus a depth-5 panel when present."""
    nets = [select_network(tables, Config("sigmoid", "standard", 4))]
    try:
        nets.append(select_network(tables, Config("sigmoid", "standard", 5)))
    except MissingData:
        pass
    axis = _axis_for(nets)
    fig, axes = new_figure(len(nets), 1, panel=(4.6, 2.5), sharex=True)
    for ax, net in zip(axes, nets, strict=True):
        _mean_std_panel(ax, _stat(tables, net, "activation", "mean"),
                        _stat(tables, net, "activation", "std"), axis)
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(_title(net, f", depth {net['depth']}"))
    for ax in axes[:-1]:
        ax.set_xlabel("")
    _figure_legend(fig, axes[-1:])
    _suptitle(fig, _setting(nets, "; mean (line) and std (bars)"))
    return fig


# ---- Figs. 3 and 10 ---------------------------------------------------------------------------
_STYLE_HANDLES = (
    Line2D([], [], color="0.2", marker="o", markerfacecolor="none", linestyle="none",
           label="98th percentile"),
    Line2D([], [], color="0.2", marker="o", linestyle="-", label="standard deviation"),
)


def _percentile_std_panel(ax: Axes, tables: Tables, net: pd.Series, axis: TimeAxis) -> None:
    """98th percentile (markers alone) and std (lines with markers) of activations."""
    p98 = _stat(tables, net, "activation", "p98")
    std = _stat(tables, net, "activation", "std")
    x = axis(p98.index.to_numpy(dtype=float))
    for layer in p98.columns:
        color, marker = layer_color(layer), layer_marker(layer)
        every = _marks(len(x), 0)
        ax.plot(x, p98[layer], linestyle="none", marker=marker, color=color,
                markevery=every, markerfacecolor="none")
        ax.plot(x, std[layer], linestyle="-", marker=marker, color=color, markevery=every,
                label=layer_label(layer))
    ax.set_xlabel(axis.label)
    ax.set_ylabel("activation value")
    ax.set_title(_title(net))
    ax.set_ylim(0, 1.05)


@styled
def fig3(tables: Tables) -> Figure:
    """98th percentile (markers) and std (lines) of activations during training: tanh (top)
    and softsign (bottom), standard init, depth 5."""
    nets = [select_network(tables, Config("tanh", "standard", 5)),
            select_network(tables, Config("softsign", "standard", 5))]
    axis = _axis_for(nets)
    fig, axes = new_figure(2, 1, panel=(4.6, 2.5), sharex=True)
    for ax, net in zip(axes, nets, strict=True):
        _percentile_std_panel(ax, tables, net, axis)
    axes[0].set_xlabel("")
    _figure_legend(fig, axes, _STYLE_HANDLES)
    _suptitle(fig, _setting(nets))
    return fig


@styled
def fig10(tables: Tables) -> Figure:
    """As Fig. 3, for tanh with normalized init (depth 5)."""
    net = select_network(tables, Config("tanh", "normalized", 5))
    fig, axes = new_figure(1, 1, panel=(4.6, 2.6))
    _percentile_std_panel(axes[0], tables, net, _axis_for([net]))
    _figure_legend(fig, axes, _STYLE_HANDLES)
    _suptitle(fig, _setting([net]))
    return fig


# ---- Histograms: Figs. 4, 6, 7, 8 -------------------------------------------------------------
def _histogram_panel(ax: Axes, rows: pd.DataFrame) -> None:
    for layer, block in rows.groupby("layer", sort=True):
        block = block.sort_values("bin")
        centres = (block["bin_left"].to_numpy() + block["bin_right"].to_numpy()) / 2
        ax.plot(centres, block["fraction"].to_numpy(), color=layer_color(int(layer)),
                label=layer_label(int(layer)), linewidth=1.1)
    ax.set_ylabel("fraction of values per bin")
    ax.set_ylim(bottom=0)


def _histogram_figure(tables: Tables, configs: Sequence[Config], quantity: str,
                      update: int | None, xlabel: str, when: str) -> Figure:
    nets = [select_network(tables, c) for c in configs]
    panels = [_histograms(tables, net, quantity, update) for net in nets]
    fig, axes = new_figure(len(nets), 1, panel=(4.6, 2.4), sharex=True)
    for ax, net, (at, rows) in zip(axes, nets, panels, strict=True):
        _histogram_panel(ax, rows)
        ax.set_title(_title(net, "" if update is not None else f" (update {at:,})"))
        ax.set_xlim(rows["bin_left"].min(), rows["bin_right"].max())
    axes[-1].set_xlabel(xlabel)
    _figure_legend(fig, axes)
    _suptitle(fig, _setting(nets, f"; {when}"))
    return fig


@styled
def fig4(tables: Tables) -> Figure:
    """Normalized histograms of activation values at the end of training, per layer: tanh
    (top) and softsign (bottom), standard init, depth 5."""
    return _histogram_figure(
        tables, [Config("tanh", "standard", 5), Config("softsign", "standard", 5)],
        "activation", None, "activation value", "end of training")


@styled
def fig6(tables: Tables) -> Figure:
    """Activation histograms at initialization, tanh depth 5: standard (top) vs normalized
    (bottom) init."""
    return _histogram_figure(
        tables, [Config("tanh", "standard", 5), Config("tanh", "normalized", 5)],
        "activation", 0, "activation value", "at initialization")


@styled
def fig7(tables: Tables) -> Figure:
    """Back-propagated gradient (dCost/ds) histograms at initialization, tanh depth 5:
    standard (top) vs normalized (bottom) init."""
    return _histogram_figure(
        tables, [Config("tanh", "standard", 5), Config("tanh", "normalized", 5)],
        "backprop_grad", 0, "back-propagated gradient $\\partial$Cost/$\\partial s$ (nats)",
        "at initialization")


@styled
def fig8(tables: Tables) -> Figure:
    """Weight-gradient (dCost/dW) histograms at initialization, tanh depth 5: standard (top)
    vs normalized (bottom) init."""
    return _histogram_figure(
        tables, [Config("tanh", "standard", 5), Config("tanh", "normalized", 5)],
        "weight_grad", 0, "weight gradient $\\partial$Cost/$\\partial W$ (nats)",
        "at initialization")


# ---- Fig. 9 -----------------------------------------------------------------------------------
@styled
def fig9(tables: Tables) -> Figure:
    """Std intervals (mean ± std) of the weight gradients per layer during training, tanh
    depth 5: standard (top) vs normalized (bottom) init."""
    nets = [select_network(tables, Config("tanh", "standard", 5)),
            select_network(tables, Config("tanh", "normalized", 5))]
    axis = _axis_for(nets)
    fig, axes = new_figure(2, 1, panel=(4.6, 2.5), sharex=True)
    for ax, net in zip(axes, nets, strict=True):
        mean = _stat(tables, net, "weight_grad", "mean")
        std = _stat(tables, net, "weight_grad", "std")
        x = axis(mean.index.to_numpy(dtype=float))
        start, step = _marks(len(x))
        keep = np.arange(start, len(x), step)
        span = (x.max() - x.min()) if len(x) > 1 else 1.0
        layers = list(mean.columns)
        dodge = 0.4 * span / max(len(keep), 1) / max(len(layers), 1)
        for k, layer in enumerate(layers):
            shift = (k - (len(layers) - 1) / 2) * dodge
            ax.errorbar(x[keep] + shift, mean[layer].to_numpy()[keep],
                        yerr=std[layer].to_numpy()[keep], fmt="_", color=layer_color(layer),
                        elinewidth=1.6, capsize=0, label=layer_label(layer))
        ax.axhline(0, color="0.6", linewidth=0.6, zorder=0)
        ax.set_ylabel("$\\partial$Cost/$\\partial W$ (nats)")
        ax.set_title(_title(net))
    axes[-1].set_xlabel(axis.label)
    _figure_legend(fig, axes)
    _suptitle(fig, _setting(nets, "; weight gradients, mean ± std"))
    return fig


# ---- Fig. 5 -----------------------------------------------------------------------------------
@styled
def fig5(tables: Tables | None = None, *, setup: cs.SurfaceSetup | None = None,
         rel_threshold: float = 0.05) -> Figure:
    """Cross-entropy (black) and quadratic (red) cost of a one-hidden-layer tanh network as a
    function of one first-layer weight W1 and one output weight W2 (see cost_surface)."""
    surface = cs.cost_surface(setup)
    plateaus = cs.plateau_fractions(surface, rel_threshold)
    fig = Figure(figsize=(5.2, 4.2), layout="constrained")
    ax = fig.add_subplot(projection="3d")
    w1, w2 = np.meshgrid(surface.w1, surface.w2, indexing="ij")
    stride = max(1, len(surface.w1) // 25)
    colors = {"cross_entropy": "black", "quadratic": "red"}
    names = {"cross_entropy": "cross-entropy", "quadratic": "quadratic"}
    handles = []
    for name in cs.COSTS:
        ax.plot_wireframe(w1, w2, surface.cost[name], rstride=stride, cstride=stride,
                          color=colors[name], linewidth=0.5)
        handles.append(Line2D([], [], color=colors[name],
                              label=f"{names[name]} (plateau fraction "
                                    f"{plateaus[name]:.2f})"))
    ax.set_xlabel("W1 (first layer)")
    ax.set_ylabel("W2 (output layer)")
    ax.set_zlabel("cost (nats / squared error)")
    s = surface.setup
    ax.set_title(f"tanh net {s.n_inputs}-{s.n_hidden}-{s.n_classes}, "
                 f"{s.n_examples} random example(s), seed {s.seed}")
    ax.legend(handles=handles, loc="upper left", fontsize=7)
    ax.view_init(elev=25, azim=-60)
    return fig


# ---- Figs. 11 and 12: test error curves -------------------------------------------------------
#: The paper's Fig. 11 configurations (legend names per [N3]).
CURVE_CONFIGS: tuple[tuple[str, str, str, int], ...] = (
    ("Sigmoid depth 5", "sigmoid", "standard", 5),
    ("Sigmoid depth 4", "sigmoid", "standard", 4),
    ("Tanh", "tanh", "standard", 5),
    ("Softsign", "softsign", "standard", 5),
    ("Softsign N", "softsign", "normalized", 5),
    ("Tanh N", "tanh", "normalized", 5),
)
PRETRAIN_INITIALIZER = "pretrain_dae"


def _curve_entries(tables: Tables, dataset: str, with_pretraining: bool
                   ) -> tuple[list[tuple[str, pd.Series]], list[str]]:
    """(label, network) of each configuration present, and the labels of those absent."""
    present, absent = [], []
    for label, activation, initializer, depth in CURVE_CONFIGS:
        try:
            present.append((label, select_network(
                tables, Config(activation, initializer, depth, dataset))))
        except MissingData:
            absent.append(label)
    if with_pretraining:
        present += _pretraining_entries(tables, dataset)
    return present, absent


def _pretraining_entries(tables: Tables, dataset: str) -> list[tuple[str, pd.Series]]:
    """Fig. 11's reference curve(s): protocol networks whose trick includes `pretrain_dae`
    (any budget), or, in older tables, whose initializer is "pretrain_dae"; at the deepest
    depth present, one per activation/initializer ("Pre-training" when there is one)."""
    runs = with_axes(tables["runs"])
    runs = runs[(runs["dataset"] == dataset) & runs["protocol"].astype(bool)]
    names = runs["trick"].map(trick_names)
    by_trick = names == (PRETRAIN_INITIALIZER,)  # pre-training alone ...
    if not by_trick.any():  # ... else combined with other tricks
        by_trick = names.map(lambda n: PRETRAIN_INITIALIZER in n)
    legacy = paper_runs(runs)
    legacy = legacy[legacy["initializer"] == PRETRAIN_INITIALIZER]
    pre = runs[by_trick] if by_trick.any() else legacy
    if pre.empty:
        return []
    depth = int(pre["depth"].max())
    pre = pre[pre["depth"] == depth]
    configs = sorted({(a, i) for a, i in zip(pre["activation"], pre["initializer"],
                                             strict=True)})
    entries = []
    for activation, initializer in configs:
        if len(configs) == 1:
            label = "Pre-training"
        elif initializer == PRETRAIN_INITIALIZER:
            label = f"Pre-training ({activation})"
        else:
            label = f"Pre-training ({config_label(activation, initializer)})"
        entries.append((label, _select(pre, Config(activation, initializer, depth, dataset))))
    return entries


def _final_error(net: pd.Series) -> float:
    """Final test error for ordering; a diverged or missing value counts as the worst."""
    value = net.get("final_test_error")
    return float("inf") if value is None or pd.isna(value) else float(value)


def _test_error_panel(ax: Axes, tables: Tables, entries: list[tuple[str, pd.Series]],
                      absent: list[str], axis: TimeAxis) -> None:
    """Test error curves, legend ordered top to bottom by decreasing final error."""
    curves = tables["curves"]
    ordered = sorted(entries, key=lambda e: -_final_error(e[1]))
    for label, net in ordered:
        rows = _of(curves, net)
        rows = rows[rows["metric"] == "test_error"].sort_values("update")
        diverged = not pd.isna(net.get("diverged_at", pd.NA))
        ax.plot(axis(rows["update"].to_numpy(dtype=float)), 100 * rows["value"].to_numpy(),
                color=config_color(label), label=label + (" (diverged)" if diverged else ""),
                linestyle="--" if label.startswith("Pre-training") else "-")
    ax.set_xlabel(axis.label)
    ax.set_ylabel("test error (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if absent:
        ax.text(0.01, 0.02, "not run: " + ", ".join(absent), transform=ax.transAxes,
                fontsize=7, color="0.35", va="bottom")


@styled
def fig11(tables: Tables) -> Figure:
    """Test error during online training on Shapeset-3×2, curves ordered by decreasing final
    error (legend top to bottom); N = normalized init; pre-training when present."""
    entries, absent = _curve_entries(tables, "shapeset", with_pretraining=True)
    if not entries:
        raise MissingData("needs at least one of the Fig. 11 configurations on shapeset ("
                          + "; ".join(Config(a, i, d).describe()
                                      for _, a, i, d in CURVE_CONFIGS) + ")")
    fig, axes = new_figure(1, 1, panel=(5.6, 3.0))
    _test_error_panel(axes[0], tables, entries, absent, _axis_for(n for _, n in entries))
    axes[0].set_title("Shapeset-3×2, online training (width "
                      + ", ".join(sorted({str(n['width']) for _, n in entries})) + ")")
    own = sorted({(str(n["budget"]), int(n["updates"])) for label, n in entries
                  if label.startswith("Pre-training") and "budget" in n
                  and str(n["budget"]) != PRESET_BUDGET})
    if own:
        _suptitle(fig, "pre-training with its own budget: " + "; ".join(
            f"{budget}, {updates:,} updates" for budget, updates in own))
    return fig


@styled
def fig12(tables: Tables) -> Figure:
    """Test error during training on MNIST (top) and CIFAR-10 (bottom), ordered by decreasing
    final error; a dataset not run is marked so."""
    panels = {dataset: _curve_entries(tables, dataset, with_pretraining=False)
              for dataset in ("mnist", "cifar10")}
    if not any(entries for entries, _ in panels.values()):
        raise MissingData("needs the Fig. 12 configurations (depth 5 sigmoid, tanh, softsign "
                          "with standard/normalized init) on mnist or cifar10; neither is run")
    fig, axes = new_figure(2, 1, panel=(5.6, 2.6))
    for ax, (dataset, (entries, absent)) in zip(axes, panels.items(), strict=True):
        name = _DATASET_NAMES[dataset]
        if not entries:
            ax.set_title(name)
            ax.text(0.5, 0.5, f"{name}: not run", transform=ax.transAxes, ha="center",
                    va="center", color="0.35")
            ax.set_axis_off()
            continue
        _test_error_panel(ax, tables, entries, absent, _axis_for(n for _, n in entries))
        ax.set_title(f"{name} (width "
                     + ", ".join(sorted({str(n['width']) for _, n in entries})) + ")")
    return fig


# ---- Extra: layer Jacobians at init (sec. 4.2.2) ----------------------------------------------
@styled
def fig_jacobian(tables: Tables) -> Figure:
    """Mean singular value of the layer Jacobians dz^i/dz^(i-1) at initialization, per layer,
    tanh depth 5, standard vs normalized init, with the paper's 0.5 and 0.8."""
    fig, axes = new_figure(1, 1, panel=(4.4, 3.0))
    ax = axes[0]
    widths = []
    for initializer in ("standard", "normalized"):
        net = select_network(tables, Config("tanh", initializer, 5))
        widths.append(str(net["width"]))
        values = _stat(tables, net, "jacobian", "mean_singular_value")
        if 0 not in values.index:
            raise MissingData(f"needs the Jacobian spectrum at update 0 of {_describe_net(net)}")
        at_init = values.loc[0].dropna()
        color = INIT_COLORS[initializer]
        ax.plot(at_init.index.to_numpy(), at_init.to_numpy(), marker="o", color=color,
                label=f"{_init_name(initializer)} (measured)")
        ax.axhline(PAPER_JACOBIAN[initializer], color=color, linestyle="--", linewidth=0.9,
                   label=f"paper: ≈ {PAPER_JACOBIAN[initializer]}")
    ax.set_xlabel("layer $i$ (Jacobian $\\partial z^i/\\partial z^{i-1}$)")
    ax.set_ylabel("mean singular value")
    ax.set_ylim(0, 1.1)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Tanh, depth 5, at initialization (width " + ", ".join(sorted(set(widths)))
                 + ")")
    ax.legend(loc="lower right")
    return fig


# ---- Extra: final test error vs depth (sec. 2.3) ----------------------------------------------
@styled
def fig_depth(tables: Tables, dataset: str = "shapeset") -> Figure:
    """Final test error against depth (1-5 hidden layers), per activation/initializer:
    mean ± std over the configuration's protocol networks (seeds), at one width."""
    runs = paper_runs(tables["runs"])
    rows = runs[(runs["dataset"] == dataset) & runs["protocol"].astype(bool)]
    if rows.empty:
        raise MissingData(f"needs protocol networks on {dataset} at several depths; none found")
    # The width covering most (configuration, depth) cells; ties go to the wider network.
    coverage = (rows.groupby("width")[["activation", "initializer", "depth"]]
                .apply(lambda g: len(g.drop_duplicates())))
    width = int(max(coverage.index, key=lambda w: (coverage[w], w)))
    rows = rows[rows["width"] == width]
    if rows["depth"].nunique() < 2:
        raise MissingData(f"needs protocol networks on {dataset} at two or more depths "
                          f"(width {width} has depth {sorted(rows['depth'].unique())} only)")
    stats = (rows.groupby(["activation", "initializer", "depth"])["final_test_error"]
             .agg(["mean", "std", "count"]).reset_index())
    fig, axes = new_figure(1, 1, panel=(5.0, 3.0))
    ax = axes[0]
    order = {label: k for k, label in enumerate(
        ("Sigmoid", "Sigmoid N", "Tanh", "Softsign", "Softsign N", "Tanh N"))}
    groups = sorted(stats.groupby(["activation", "initializer"]),
                    key=lambda g: (order.get(config_label(*g[0]), len(order)), g[0]))
    for k, ((activation, initializer), block) in enumerate(groups):
        label = config_label(activation, initializer)
        block = block.sort_values("depth")
        shift = (k - (len(groups) - 1) / 2) * 0.04  # keep error bars apart
        ax.errorbar(block["depth"] + shift, 100 * block["mean"],
                    yerr=100 * block["std"].fillna(0), marker="o", color=config_color(label),
                    label=label, capsize=2)
    ax.set_xlabel("number of hidden layers")
    ax.set_ylabel("final test error (%)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    n = int(stats["count"].max())
    ax.set_title(f"{_DATASET_NAMES.get(dataset, dataset)}, width {width} "
                 f"(mean ± std over ≤ {n} network{'s' if n > 1 else ''})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
