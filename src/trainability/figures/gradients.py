"""Figures of the report's section on gradients and their propagation (the paper's Sec. 4):
Fig. 5 (cost surfaces), Figs. 6-8 (histograms at initialization), the layer Jacobians,
Fig. 9 (weight gradients during training) and Fig. 10 (tanh with normalized init)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainability.analysis import cost_surface as cs
from trainability.analysis import signal_at_init
from trainability.analysis.selection import (
    PAPER_JACOBIAN,
    Config,
    Tables,
    jacobian_at_init,
    layer_stat_table,
    select_network,
)
from trainability.figures.labels import config_color
from trainability.figures.panels import (
    axis_for,
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
from trainability.figures.style import layer_color, layer_label, new_figure, styled
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

np = lazy_import("numpy")
mfigure = lazy_import("matplotlib.figure")
mlines = lazy_import("matplotlib.lines")

SECTION = "gradients"
#: Figs. 6-8's overlays: how each theory's predicted +-1 std is drawn on the histograms.
THEORY_STYLES = {"mean_field": ("-", "mean field"), "linear": (":", "linear regime (eq. 5-6)")}


def spread_overlay(tables: Tables, quantity: str) -> Callable[[Axes, pd.Series], None]:
    """Draw, per layer in its colour, the predicted +-1 std of `quantity` at init
    (trainability.analysis.signal_at_init.predicted_spread) as short ticks along the top of
    the panel; a note says when no prediction applies."""

    def draw(ax: Axes, net: pd.Series) -> None:
        spread = signal_at_init.predicted_spread(tables, net, quantity)
        if spread is None:
            ax.text(0.99, 0.95, "no prediction for these inputs", fontsize=6, ha="right",
                    va="top", transform=ax.transAxes)
            return
        top = ax.get_ylim()[1]
        for row in spread.itertuples():
            for theory, (style, label) in THEORY_STYLES.items():
                std = getattr(row, theory)
                if not np.isfinite(std):
                    continue
                height = top * (1.0 - 0.04 * row.layer)
                ax.hlines(height, -std, std, colors=layer_color(int(row.layer)),
                          linestyles=style, linewidth=1.0,
                          label=f"predicted ±1 std: {label}")
        ax.set_ylim(top=top)

    return draw
#: The standard and the normalized initialization, tanh depth 5: the paper's comparison.
TANH_INITS = [Config("tanh", "standard", 5), Config("tanh", "normalized", 5)]


@figure("fig5", section=SECTION,
        caption="Cross-entropy (black) and quadratic (red) cost of a one-hidden-layer tanh "
                "network against one first-layer weight W1 and one output weight W2, for a "
                "random input and target.",
        claim="The quadratic cost has more severe plateaus than the cross-entropy.",
        claim_ids=("P9",), needs_tables=False)
@styled
def fig5(tables: Tables | None = None, *, setup: cs.SurfaceSetup | None = None) -> Figure:
    """Cross-entropy (black) and quadratic (red) cost of a one-hidden-layer tanh network as a
    function of one first-layer weight W1 and one output weight W2, each with its plateau
    fraction (trainability.analysis.cost_surface, the measure of claim P9)."""
    surface = cs.cost_surface(setup)
    plateaus = cs.plateau_fractions(surface)
    fig = mfigure.Figure(figsize=(5.2, 4.2), layout="constrained")
    ax = fig.add_subplot(projection="3d")
    w1, w2 = np.meshgrid(surface.w1, surface.w2, indexing="ij")
    stride = max(1, len(surface.w1) // 25)
    colors = {"cross_entropy": "black", "quadratic": "red"}
    names = {"cross_entropy": "cross-entropy", "quadratic": "quadratic"}
    handles = []
    for name in cs.COSTS:
        ax.plot_wireframe(w1, w2, surface.cost[name], rstride=stride, cstride=stride,
                          color=colors[name], linewidth=0.5)
        handles.append(mlines.Line2D([], [], color=colors[name],
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


@figure("fig6", section=SECTION,
        caption="Normalized histograms of tanh activations per layer at initialization, depth "
                "5 on Shapeset-3×2: standard init (top), normalized init (bottom).",
        claim="With standard init the activations shrink with depth (growing peak at 0); with "
              "normalized init they stay about the same.",
        claim_ids=("P4",))
@styled
def fig6(tables: Tables) -> Figure:
    """Activation histograms at initialization, tanh depth 5: standard (top) vs normalized
    (bottom) init."""
    return histogram_figure(tables, TANH_INITS, "activation", 0, "activation value",
                            "at initialization; bars: predicted ±1 std",
                            overlay=spread_overlay(tables, "activation"))


@figure("fig7", section=SECTION,
        caption="Normalized histograms of back-propagated gradients ∂Cost/∂s per layer at "
                "initialization, tanh depth 5 on Shapeset-3×2: standard (top), normalized "
                "(bottom).",
        claim="With standard init back-propagated gradients get smaller toward the input; "
              "with normalized init they do not.",
        claim_ids=("P5",))
@styled
def fig7(tables: Tables) -> Figure:
    """Back-propagated gradient (dCost/ds) histograms at initialization, tanh depth 5:
    standard (top) vs normalized (bottom) init."""
    return histogram_figure(
        tables, TANH_INITS, "backprop_grad", 0,
        "back-propagated gradient $\\partial$Cost/$\\partial s$ (nats)",
        "at initialization; bars: predicted ±1 std",
        overlay=spread_overlay(tables, "backprop_grad"))


@figure("fig8", section=SECTION,
        caption="Normalized histograms of weight gradients ∂Cost/∂W per layer at "
                "initialization, tanh depth 5 on Shapeset-3×2: standard (top), normalized "
                "(bottom).",
        claim="Weight-gradient variance is about the same in every layer, even with standard "
              "init.",
        claim_ids=("P6",))
@styled
def fig8(tables: Tables) -> Figure:
    """Weight-gradient (dCost/dW) histograms at initialization, tanh depth 5: standard (top)
    vs normalized (bottom) init."""
    return histogram_figure(tables, TANH_INITS, "weight_grad", 0,
                            "weight gradient $\\partial$Cost/$\\partial W$ (nats)",
                            "at initialization; bars: predicted ±1 std",
                            overlay=spread_overlay(tables, "weight_grad"))


@figure("jacobian", section=SECTION, title="Layer-Jacobian singular values",
        caption="Mean singular value of each layer Jacobian ∂z^i/∂z^(i−1) at initialization, "
                "tanh depth 5 on Shapeset-3×2, standard vs normalized init, with the paper's "
                "values dashed.",
        claim="The mean singular value is about 0.8 with normalized init and about 0.5 with "
              "standard init.",
        claim_ids=("P8",))
@styled
def fig_jacobian(tables: Tables) -> Figure:
    """Mean singular value of the layer Jacobians dz^i/dz^(i-1) at initialization, per layer,
    tanh depth 5, standard vs normalized init, with the paper's 0.5 and 0.8."""
    fig, axes = new_figure(1, 1, panel=(4.4, 3.0))
    ax = axes[0]
    widths = []
    for config in TANH_INITS:
        net = select_network(tables, config)
        widths.append(str(net["width"]))
        at_init = jacobian_at_init(tables, net)
        color = config_color(config.activation, config.initializer)
        ax.plot(at_init.index.to_numpy(), at_init.to_numpy(), marker="o", color=color,
                label=f"{config.initializer} init (measured)")
        ax.axhline(PAPER_JACOBIAN[config.initializer], color=color, linestyle="--",
                   linewidth=0.9, label=f"paper: ≈ {PAPER_JACOBIAN[config.initializer]}")
    ax.set_xlabel("layer $i$ (Jacobian $\\partial z^i/\\partial z^{i-1}$)")
    ax.set_ylabel("mean singular value")
    ax.set_ylim(0, 1.1)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title("Tanh, depth 5, at initialization (width " + ", ".join(sorted(set(widths)))
                 + ")")
    ax.legend(loc="lower right")
    return fig


@figure("fig9", section=SECTION,
        caption="Standard-deviation intervals (mean ± std) of weight gradients per layer "
                "during training, tanh depth 5 on Shapeset-3×2: standard (top), normalized "
                "(bottom).",
        claim="With standard init the weight-gradient spread diverges across layers during "
              "training; normalized init keeps it about equal.",
        claim_ids=("P7",))
@styled
def fig9(tables: Tables) -> Figure:
    """Std intervals (mean ± std) of the weight gradients per layer during training, tanh
    depth 5: standard (top) vs normalized (bottom) init."""
    nets = [select_network(tables, config) for config in TANH_INITS]
    axis = axis_for(nets)
    fig, axes = new_figure(2, 1, panel=(4.6, 2.5), sharex=True)
    for ax, net in zip(axes, nets, strict=True):
        mean = layer_stat_table(tables, net, "weight_grad", "mean")
        std = layer_stat_table(tables, net, "weight_grad", "std")
        x = axis(mean.index.to_numpy(dtype=float))
        start, step = marks(len(x))
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
        ax.set_title(net_title(net))
    axes[-1].set_xlabel(axis.label)
    figure_legend(fig, axes)
    suptitle(fig, setting(nets, "; weight gradients, mean ± std"))
    return fig


@figure("fig10", section=SECTION,
        caption="98th percentile (markers) and standard deviation (lines) of tanh activations "
                "per layer during training, normalized init, depth 5 on Shapeset-3×2.",
        claim="With normalized init tanh layers do not saturate one after the other; they "
              "behave like softsign.",
        claim_ids=("P2",))
@styled
def fig10(tables: Tables) -> Figure:
    """As Fig. 3, for tanh with normalized init (depth 5)."""
    net = select_network(tables, Config("tanh", "normalized", 5))
    fig, axes = new_figure(1, 1, panel=(4.6, 2.6))
    percentile_std_panel(axes[0], tables, net, axis_for([net]))
    figure_legend(fig, axes, percentile_std_handles())
    suptitle(fig, setting([net]))
    return fig
