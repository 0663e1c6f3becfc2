"""Layout pieces several figures share: titles, subtitles, legends, marks, and the panels of
per-layer statistics and histograms that the paper's figures repeat.

Only drawing: what is drawn comes from `trainability.analysis.selection`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from trainability.analysis.selection import (
    Config,
    Tables,
    histogram_rows,
    layer_stat_table,
    select_network,
)
from trainability.figures.labels import activation_label, dataset_label
from trainability.figures.style import (
    TimeAxis,
    layer_color,
    layer_label,
    layer_marker,
    new_figure,
    time_axis,
)
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

np = lazy_import("numpy")
mlines = lazy_import("matplotlib.lines")

#: Most error bars / markers drawn per curve, so long runs stay readable.
MAX_MARKS = 20


def net_title(net: pd.Series, extra: str = "") -> str:
    """Panel title in the paper's manner: activation and initialization."""
    return f"{activation_label(net['activation'])}, {net['initializer']} init{extra}"


def setting(nets: Sequence[pd.Series], extra: str = "") -> str:
    """Figure subtitle: dataset, depth(s) and width(s) the networks really had."""
    def values(key: str) -> str:
        return "/".join(str(v) for v in sorted({int(n[key]) for n in nets}))

    datasets = sorted({dataset_label(n["dataset"]) for n in nets})
    return (f"{', '.join(datasets)}; depth {values('depth')}, width {values('width')}"
            f"{extra}")


def study_setting(rows: pd.DataFrame, extra: str = "") -> str:
    """Subtitle of a trick-study figure: budget(s), width(s), updates of the rows shown."""
    def values(column: str, fmt: str = "{}") -> str:
        return "/".join(fmt.format(v) for v in sorted(rows[column].dropna().unique()))

    return (f"budget {values('budget')}; width {values('width')}; "
            f"{values('updates', '{:,}')} updates{extra}")


def suptitle(fig: Figure, text: str) -> None:
    fig.suptitle(text, fontsize=8.5, color="0.25")


def marks(n: int, offset: int = 0) -> tuple[int, int]:
    """(start, step) for errorevery/markevery so that at most MAX_MARKS marks are drawn;
    `offset` staggers the marks of different layers."""
    step = max(1, int(np.ceil(n / MAX_MARKS)))
    return (offset % step, step)


def axis_for(nets: Iterable[pd.Series]) -> TimeAxis:
    """The time axis of a figure of these networks (the longest run decides)."""
    return time_axis(int(max(int(net["updates"]) for net in nets)))


def figure_legend(fig: Figure, axes: Sequence[Axes], extra: Sequence[Line2D] = ()) -> None:
    """One legend for the figure, right of the panels: every label once, in axes order."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    for handle in extra:
        seen.setdefault(handle.get_label(), handle)
    fig.legend(list(seen.values()), list(seen.keys()), loc="outside right center")


def dodge(n_series: int, x: np.ndarray, k: int, fraction: float = 0.006) -> float:
    """x shift of series k of n so that error bars at equal x do not hide each other."""
    span = float(np.nanmax(x) - np.nanmin(x)) if len(x) > 1 else 1.0
    return (k - (n_series - 1) / 2) * fraction * span


# ---- 98th percentile and standard deviation over training (Figs. 3 and 10) -------------------
def percentile_std_handles() -> list[Line2D]:
    """Legend entries for the two line styles of `percentile_std_panel` (drawn larger than
    the plotted marks, so that the two styles read apart)."""
    size = {"markersize": 6, "linewidth": 1.5}
    return [mlines.Line2D([], [], color="0.2", marker="o", markerfacecolor="none",
                          linestyle="none", label="98th percentile", **size),
            mlines.Line2D([], [], color="0.2", marker="o", linestyle="-",
                          label="standard deviation", **size)]


def percentile_std_panel(ax: Axes, tables: Tables, net: pd.Series, axis: TimeAxis) -> None:
    """98th percentile (markers alone) and std (lines with markers) of activations."""
    p98 = layer_stat_table(tables, net, "activation", "p98")
    std = layer_stat_table(tables, net, "activation", "std")
    x = axis(p98.index.to_numpy(dtype=float))
    for layer in p98.columns:
        color, marker = layer_color(layer), layer_marker(layer)
        every = marks(len(x), 0)
        ax.plot(x, p98[layer], linestyle="none", marker=marker, color=color,
                markevery=every, markerfacecolor="none")
        ax.plot(x, std[layer], linestyle="-", marker=marker, color=color, markevery=every,
                label=layer_label(layer))
    ax.set_xlabel(axis.label)
    ax.set_ylabel("activation value")
    ax.set_title(net_title(net))
    ax.set_ylim(0, 1.05)


# ---- normalized histograms per layer (Figs. 4, 6, 7, 8) --------------------------------------
def histogram_panel(ax: Axes, rows: pd.DataFrame) -> None:
    for layer, block in rows.groupby("layer", sort=True):
        block = block.sort_values("bin")
        centres = (block["bin_left"].to_numpy() + block["bin_right"].to_numpy()) / 2
        ax.plot(centres, block["fraction"].to_numpy(), color=layer_color(int(layer)),
                label=layer_label(int(layer)), linewidth=1.1)
    ax.set_ylabel("fraction of values per bin")
    ax.set_ylim(bottom=0)


def histogram_figure(tables: Tables, configs: Sequence[Config], quantity: str,
                     update: int | None, xlabel: str, when: str,
                     overlay: Callable[[Axes, pd.Series], None] | None = None) -> Figure:
    """One panel of per-layer histograms of `quantity` at `update` (None: the end of
    training) per configuration, stacked; `overlay(ax, net)` draws on each panel after."""
    nets = [select_network(tables, c) for c in configs]
    panels = [histogram_rows(tables, net, quantity, update) for net in nets]
    fig, axes = new_figure(len(nets), 1, panel=(4.6, 2.4), sharex=True)
    for ax, net, (at, rows) in zip(axes, nets, panels, strict=True):
        histogram_panel(ax, rows)
        if overlay is not None:
            overlay(ax, net)
        ax.set_title(net_title(net, "" if update is not None else f" (update {at:,})"))
        ax.set_xlim(rows["bin_left"].min(), rows["bin_right"].max())
    axes[-1].set_xlabel(xlabel)
    figure_legend(fig, axes)
    suptitle(fig, setting(nets, f"; {when}"))
    return fig
