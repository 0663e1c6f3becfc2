"""Figures of the report's section on activation functions and saturation during training
(the paper's Sec. 3): Figs. 2, 3 and 4."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainability.analysis.selection import (
    Config,
    MissingData,
    Tables,
    layer_stat_table,
    select_network,
)
from trainability.figures.panels import (
    axis_for,
    dodge,
    figure_legend,
    histogram_figure,
    marks,
    net_title,
    percentile_std_handles,
    percentile_std_panel,
    setting,
    suptitle,
)
from trainability.figures.registry import figure
from trainability.figures.style import (
    TimeAxis,
    layer_color,
    layer_label,
    layer_marker,
    new_figure,
    styled,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SECTION = "activations"


def _mean_std_panel(ax: Axes, mean: pd.DataFrame, std: pd.DataFrame, axis: TimeAxis) -> None:
    """Mean as a line per layer, std as error bars (layers slightly dodged in x)."""
    x = axis(mean.index.to_numpy(dtype=float))
    layers = list(mean.columns)
    for k, layer in enumerate(layers):
        every = marks(len(x), k)
        ax.errorbar(x + dodge(len(layers), x, k), mean[layer], yerr=std[layer],
                    color=layer_color(layer), marker=layer_marker(layer), markevery=every,
                    errorevery=every, elinewidth=0.9, label=layer_label(layer))
    ax.set_xlabel(axis.label)
    ax.set_ylabel("activation value")


@figure("fig2", section=SECTION,
        caption="Mean (lines) and standard deviation (bars) of sigmoid activations per hidden "
                "layer during training on Shapeset-3×2, standard init, depth 4 (and depth 5 "
                "below).",
        claim="The top hidden layer saturates near 0 early and desaturates slowly (about "
              "epoch 100); at depth 5 it never does.",
        claim_ids=("P1",))
@styled
def fig2(tables: Tables) -> Figure:
    """Mean (lines) and std (bars) of sigmoid activations per hidden layer during training;
    standard init, depth 4, plus a depth-5 panel when present."""
    nets = [select_network(tables, Config("sigmoid", "standard", 4))]
    try:
        nets.append(select_network(tables, Config("sigmoid", "standard", 5)))
    except MissingData:
        pass
    axis = axis_for(nets)
    fig, axes = new_figure(len(nets), 1, panel=(4.6, 2.5), sharex=True)
    for ax, net in zip(axes, nets, strict=True):
        _mean_std_panel(ax, layer_stat_table(tables, net, "activation", "mean"),
                        layer_stat_table(tables, net, "activation", "std"), axis)
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(net_title(net, f", depth {net['depth']}"))
    for ax in axes[:-1]:
        ax.set_xlabel("")
    figure_legend(fig, axes[-1:])
    suptitle(fig, setting(nets, "; mean (line) and std (bars)"))
    return fig


@figure("fig3", section=SECTION,
        caption="98th percentile (markers) and standard deviation (lines) of activations per "
                "layer during training on Shapeset-3×2, depth 5, standard init: tanh (top), "
                "softsign (bottom).",
        claim="Tanh layers saturate one after the other from layer 1; softsign saturates "
              "less and all layers together.",
        claim_ids=("P2", "P3"))
@styled
def fig3(tables: Tables) -> Figure:
    """98th percentile (markers) and std (lines) of activations during training: tanh (top)
    and softsign (bottom), standard init, depth 5."""
    nets = [select_network(tables, Config("tanh", "standard", 5)),
            select_network(tables, Config("softsign", "standard", 5))]
    axis = axis_for(nets)
    fig, axes = new_figure(2, 1, panel=(4.6, 2.5), sharex=True)
    for ax, net in zip(axes, nets, strict=True):
        percentile_std_panel(ax, tables, net, axis)
    axes[0].set_xlabel("")
    figure_legend(fig, axes, percentile_std_handles())
    suptitle(fig, setting(nets))
    return fig


@figure("fig4", section=SECTION,
        caption="Normalized histograms of activation values per layer at the end of training "
                "on Shapeset-3×2, depth 5, standard init: tanh (top), softsign (bottom).",
        claim="Tanh activations pile up at ±1 (or 0); softsign activations peak at the knees "
              "(about ±0.6 to ±0.8).",
        claim_ids=("P3",))
@styled
def fig4(tables: Tables) -> Figure:
    """Normalized histograms of activation values at the end of training, per layer: tanh
    (top) and softsign (bottom), standard init, depth 5."""
    return histogram_figure(
        tables, [Config("tanh", "standard", 5), Config("softsign", "standard", 5)],
        "activation", None, "activation value", "end of training")
