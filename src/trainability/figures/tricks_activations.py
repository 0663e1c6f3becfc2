"""Figures of the trick studies' activations (report section "Training tricks", claims S3,
S4): dead units of ReLU and its leaky variants, and SELU's self-normalization. What they show
is picked in trainability.analysis.trick_study."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainability.analysis.dead_units import fraction_summary
from trainability.analysis.selection import Tables
from trainability.analysis.trick_study import dead_unit_panels, selu_networks
from trainability.figures.labels import (
    activation_color,
    activation_label,
    activation_rank,
    dataset_label,
)
from trainability.figures.panels import axis_for, figure_legend, study_setting, suptitle
from trainability.figures.registry import figure
from trainability.figures.style import (
    TimeAxis,
    layer_color,
    layer_label,
    layer_marker,
    new_figure,
    styled,
)
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

np = lazy_import("numpy")
pd = lazy_import("pandas")
mpl = lazy_import("matplotlib")
mcm = lazy_import("matplotlib.cm")
mcolors = lazy_import("matplotlib.colors")
mlines = lazy_import("matplotlib.lines")


@figure("dead_units", section="tricks", title="Dead units: ReLU and its leaky variants",
        caption="ReLU's fraction of dead hidden units (f′(s) = 0, so no gradient, on every "
                "monitor example; solid) against the fraction of units of leaky ReLU (slopes "
                "0.01, 0.2), PReLU and RReLU with s ≤ 0 on every example (dashed), which still "
                "get gradient at the leak's slope and so are never dead; averaged over layers "
                "and seeds, during training.",
        claim="A growing fraction of ReLU units dies during training; leaky variants avoid it.",
        claim_ids=("S4",), claim_source="practice")
@styled
def dead_units(tables: Tables) -> Figure:
    """Dead and negative units during training, averaged over layers and over the seeds'
    protocol networks; one panel per dataset and depth; plain SGD (trick "none").

    Solid: ReLU's dead fraction (units with f'(s) = 0, no gradient, on every monitor example).
    Dashed: each leaky variant's (leaky ReLU 0.01, 0.2, PReLU, RReLU) negative fraction (units
    with s <= 0 on every example): such a unit still gets gradient at the leak's slope, so a
    leaky unit is never dead by construction. A variant whose dead fraction is ever above 0
    (a PReLU slope learned to 0) gets a solid line too."""
    rows, panels, fallback = dead_unit_panels(tables)
    axis = axis_for(row for _, row in rows.iterrows())
    ncols = min(len(panels), 2)
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = new_figure(nrows, ncols, panel=(4.0, 2.6))
    for ax, (dataset, depth, initializer, mine) in zip(axes, panels, strict=False):
        # mean over layers per network, then mean (and range) over the seeds' networks
        per_net = mine.groupby(["activation", "run", "member", "update"])[
            ["dead", "negative"]].mean().reset_index()
        for activation in sorted(per_net["activation"].unique(), key=activation_rank):
            curves = per_net[per_net["activation"] == activation]
            relu = str(activation) == "relu"
            shown = ["dead"] if relu else ["negative"]
            if not relu and (curves["dead"] > 0).any():
                shown.append("dead")  # a leaky variant with dead units (PReLU slope 0)
            for column in shown:
                _fraction_line(ax, axis, curves, column, activation)
        ax.set_title(f"{dataset_label(dataset)}, depth {depth}, {initializer} init")
        ax.set_xlabel(axis.label)
        ax.set_ylabel("units (%)")
        ax.set_ylim(bottom=0)
    for ax in axes[len(panels):]:
        fig.delaxes(ax)
    figure_legend(fig, axes[:len(panels)])
    note = ("\nolder tables (no negative_fraction): their dead_fraction, s ≤ 0, is drawn "
            "dashed" if fallback else "")
    suptitle(fig, study_setting(rows, "; mean over layers and seeds (band: range over seeds)\n"
                                      "solid, dead: f′(s) = 0 (no gradient) on every monitor "
                                      "example (ReLU: s ≤ 0)\ndashed, s ≤ 0 on every example: "
                                      "a leaky unit there still gets gradient (slope > 0), "
                                      "so it is never dead" + note))
    return fig


def _fraction_line(ax: Axes, axis: TimeAxis, curves: pd.DataFrame, column: str,
                   activation: str) -> None:
    """Mean over the seeds' networks (line) and range (band) of one fraction over updates."""
    summary = fraction_summary(curves, column)
    if summary.empty:
        return
    x = axis(summary.index.to_numpy(dtype=float))
    color = activation_color(activation)
    what = "dead" if column == "dead" else "s ≤ 0"
    ax.plot(x, 100 * summary["mean"], color=color, marker="o", markersize=2.5,
            linestyle="-" if column == "dead" else "--",
            label=f"{activation_label(activation)} ({what})")
    if summary["count"].max() > 1:
        ax.fill_between(x, 100 * summary["min"], 100 * summary["max"], color=color,
                        alpha=0.12, linewidth=0)


@figure("selu_stats", section="tricks", title="SELU self-normalization",
        caption="Mean (left) and standard deviation (right) of SELU activations per hidden "
                "layer during training with LeCun-normal init, with the self-normalizing fixed "
                "point (0 and 1) dashed.",
        claim="SELU self-normalizes: every layer keeps mean ≈ 0 and std ≈ 1 during training.",
        claim_ids=("S3",), claim_source="practice")
@styled
def selu_stats(tables: Tables) -> Figure:
    """Per-layer mean (left, reference 0) and std (right, reference 1) of SELU activations
    during training with LeCun-normal init, deepest network, per dataset (rows)."""
    nets, stats = selu_networks(tables)
    axis = axis_for(nets)
    fig, axes = new_figure(len(nets), 2, panel=(3.3, 2.3), sharex=True)
    max_depth = max(int(net["depth"]) for net in nets)
    ramp = mpl.colormaps["viridis"]
    for r, net in enumerate(nets):
        mine = stats[(stats["run"] == net["run"]) & (stats["member"] == net["member"])]
        for ax, stat, reference in zip(axes[2 * r:2 * r + 2], ("mean", "std"), (0.0, 1.0),
                                       strict=True):
            table = mine[mine["stat"] == stat].pivot_table(
                index="update", columns="layer", values="value", aggfunc="first").sort_index()
            x = axis(table.index.to_numpy(dtype=float))
            for layer in table.columns:
                if max_depth > 10:
                    color = ramp((layer - 1) / max(max_depth - 1, 1))
                    ax.plot(x, table[layer], color=color, linewidth=1.0)
                else:
                    ax.plot(x, table[layer], color=layer_color(layer),
                            marker=layer_marker(layer), markersize=2.5,
                            label=layer_label(layer))
            ax.axhline(reference, color="0.2", linestyle="--", linewidth=0.9, zorder=0)
            ax.set_ylabel(f"activation {stat}")
            ax.set_title(f"{dataset_label(net['dataset'])}, {activation_label('selu')}, depth "
                         f"{int(net['depth'])}: {stat}")
    for ax in axes[-2:]:
        ax.set_xlabel(axis.label)
    reference = mlines.Line2D([], [], color="0.2", linestyle="--", label="fixed point (0 and 1)")
    if max_depth > 10:
        bar = fig.colorbar(mcm.ScalarMappable(mcolors.Normalize(1, max_depth), ramp), ax=axes,
                           label="layer", shrink=0.6)
        bar.ax.yaxis.get_major_locator().set_params(integer=True)
        fig.legend(handles=[reference], loc="outside lower center")
    else:
        figure_legend(fig, axes, [reference])
    suptitle(fig, study_setting(pd.DataFrame(nets), "; lecun_normal init, monitor examples"))
    return fig
