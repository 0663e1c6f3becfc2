"""Figures of the report's section on error curves and conclusions (the paper's Sec. 5):
Figs. 11 and 12 (test error during training) and the final error against depth (Sec. 2.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainability.analysis.selection import (
    CURVE_CONFIGS,
    Config,
    MissingData,
    Tables,
    curve_networks,
    curve_of,
    depth_sweep_errors,
    final_error,
    own_budgets,
    pretraining_networks,
)
from trainability.data.catalog import DATASETS
from trainability.figures.labels import config_color, config_label, dataset_label
from trainability.figures.panels import axis_for, suptitle
from trainability.figures.registry import figure
from trainability.figures.style import TimeAxis, fallback_color, new_figure, styled
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

pd = lazy_import("pandas")

SECTION = "errors"
#: Fig. 11's shallower sigmoid (depth 4) is a lighter grey than the depth-5 one.
SHALLOWER_COLOR = "#a6a6a6"
#: Fig. 11's pre-training reference curve (dashed).
PRETRAINING_COLOR = "#000000"
#: Legend order of the depth figure: the paper's configurations, then the others.
DEPTH_ORDER = (("sigmoid", "standard"), ("sigmoid", "normalized"), ("tanh", "standard"),
               ("softsign", "standard"), ("softsign", "normalized"), ("tanh", "normalized"))

#: (label, network, colour, dashed) of one curve.
Curve = tuple[str, "pd.Series", str, bool]


def _curve_label(activation: str, initializer: str, depth: int) -> str:
    """The paper's legend name: "Tanh N", and "Sigmoid depth 4" for a configuration that
    Figs. 11 and 12 show at several depths."""
    label = config_label(activation, initializer)
    depths = {d for a, i, d in CURVE_CONFIGS if (a, i) == (activation, initializer)}
    return f"{label} depth {depth}" if len(depths) > 1 else label


def _curve_color(activation: str, initializer: str, depth: int) -> str:
    depths = [d for a, i, d in CURVE_CONFIGS if (a, i) == (activation, initializer)]
    return SHALLOWER_COLOR if depth < max(depths) else config_color(activation, initializer)


def _curves(tables: Tables, dataset: str, with_pretraining: bool
            ) -> tuple[list[Curve], list[str]]:
    """The curves of the paper's configurations present on `dataset` (and of pre-training),
    and the labels of the configurations absent."""
    present, absent = curve_networks(tables, dataset)
    curves = [(_curve_label(*config), net, _curve_color(*config), False)
              for config, net in present]
    if with_pretraining:
        nets = pretraining_networks(tables, dataset)
        for net in nets:
            if len(nets) == 1:
                curves.append(("Pre-training", net, PRETRAINING_COLOR, True))
            else:
                label = f"Pre-training ({config_label(net['activation'], net['initializer'])})"
                curves.append((label, net, fallback_color(label), True))
    return curves, [_curve_label(*config) for config in absent]


def _test_error_panel(ax: Axes, tables: Tables, curves: list[Curve], absent: list[str],
                      axis: TimeAxis) -> None:
    """Test error curves, legend ordered top to bottom by decreasing final error."""
    for label, net, color, dashed in sorted(curves, key=lambda c: -final_error(c[1])):
        rows = curve_of(tables, net, "test_error")
        diverged = not pd.isna(net.get("diverged_at", pd.NA))
        ax.plot(axis(rows["update"].to_numpy(dtype=float)), 100 * rows["value"].to_numpy(),
                color=color, label=label + (" (diverged)" if diverged else ""),
                linestyle="--" if dashed else "-")
    ax.set_xlabel(axis.label)
    ax.set_ylabel("test error (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if absent:
        ax.text(0.01, 0.02, "not run: " + ", ".join(absent), transform=ax.transAxes,
                fontsize=7, color="0.35", va="bottom")


def _widths(curves: list[Curve]) -> str:
    return ", ".join(sorted({str(net["width"]) for _, net, _, _ in curves}))


@figure("fig11", section=SECTION,
        caption="Test error during online training on Shapeset-3×2 for each activation/init "
                "(N = normalized), legend ordered by decreasing final error.",
        claim="Sigmoid and standard-init tanh converge slower and to worse error; Tanh N is "
              "best of the supervised nets; pre-training beats them all.",
        claim_ids=("P10", "P11", "P12"))
@styled
def fig11(tables: Tables) -> Figure:
    """Test error during online training on Shapeset-3×2, curves ordered by decreasing final
    error (legend top to bottom); N = normalized init; pre-training when present."""
    curves, absent = _curves(tables, "shapeset", with_pretraining=True)
    if not curves:
        raise MissingData("needs at least one of the Fig. 11 configurations on shapeset ("
                          + "; ".join(Config(a, i, d).describe() for a, i, d in CURVE_CONFIGS)
                          + ")")
    fig, axes = new_figure(1, 1, panel=(5.6, 3.0))
    _test_error_panel(axes[0], tables, curves, absent, axis_for(c[1] for c in curves))
    axes[0].set_title(f"{dataset_label('shapeset')}, online training (width "
                      f"{_widths(curves)})")
    own = own_budgets([net for _, net, _, dashed in curves if dashed])
    if own:
        suptitle(fig, "pre-training with its own budget: " + "; ".join(
            f"{budget}, {updates:,} updates" for budget, updates in own))
    return fig


def fig12_datasets() -> list[str]:
    """The paper's datasets with a fixed training set, in the catalog's order: the datasets
    with a Table 1 column that are not generated (MNIST, CIFAR-10)."""
    return [name for name, d in DATASETS.items() if d.column is not None and not d.generated]


@figure("fig12", section=SECTION,
        caption="Test error during training on MNIST (top) and CIFAR-10 (bottom) for each "
                "activation/init (N = normalized), legend ordered by decreasing final error.",
        claim="Same ranking as on Shapeset: sigmoid worst, normalized init helps tanh most.",
        claim_ids=("P10", "P11", "P12"))
@styled
def fig12(tables: Tables) -> Figure:
    """Test error during training on MNIST (top) and CIFAR-10 (bottom), ordered by decreasing
    final error; a dataset not run is marked so."""
    datasets = fig12_datasets()
    panels = {dataset: _curves(tables, dataset, with_pretraining=False) for dataset in datasets}
    if not any(curves for curves, _ in panels.values()):
        raise MissingData("needs the Fig. 12 configurations (depth 5 sigmoid, tanh, softsign "
                          f"with standard/normalized init) on {' or '.join(datasets)}; "
                          "neither is run")
    fig, axes = new_figure(len(datasets), 1, panel=(5.6, 2.6))
    for ax, (dataset, (curves, absent)) in zip(axes, panels.items(), strict=True):
        name = dataset_label(dataset)
        if not curves:
            ax.set_title(name)
            ax.text(0.5, 0.5, f"{name}: not run", transform=ax.transAxes, ha="center",
                    va="center", color="0.35")
            ax.set_axis_off()
            continue
        _test_error_panel(ax, tables, curves, absent, axis_for(c[1] for c in curves))
        ax.set_title(f"{name} (width {_widths(curves)})")
    return fig


@figure("depth", section=SECTION, title="Depth sweep",
        caption="Final test error on Shapeset-3×2 against the number of hidden layers (1-5) "
                "for each activation/init, mean ± std over the protocol networks.",
        claim="The best depth is 5 for every model except the sigmoid, whose best is 4 (sec. "
              "2.3; not in the claims ledger).")
@styled
def fig_depth(tables: Tables, dataset: str = "shapeset") -> Figure:
    """Final test error against depth (1-5 hidden layers), per activation/initializer:
    mean ± std over the configuration's protocol networks (seeds), at one width."""
    width, stats = depth_sweep_errors(tables, dataset)
    fig, axes = new_figure(1, 1, panel=(5.0, 3.0))
    ax = axes[0]
    groups = sorted(stats.groupby(["activation", "initializer"]),
                    key=lambda g: (DEPTH_ORDER.index(g[0]) if g[0] in DEPTH_ORDER
                                   else len(DEPTH_ORDER), g[0]))
    for k, ((activation, initializer), block) in enumerate(groups):
        block = block.sort_values("depth")
        shift = (k - (len(groups) - 1) / 2) * 0.04  # keep error bars apart
        ax.errorbar(block["depth"] + shift, 100 * block["mean"],
                    yerr=100 * block["std"].fillna(0), marker="o",
                    color=config_color(activation, initializer),
                    label=config_label(activation, initializer), capsize=2)
    ax.set_xlabel("number of hidden layers")
    ax.set_ylabel("final test error (%)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    n = int(stats["count"].max())
    ax.set_title(f"{dataset_label(dataset)}, width {width} "
                 f"(mean ± std over ≤ {n} network{'s' if n > 1 else ''})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
