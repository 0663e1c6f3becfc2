"""Figures of the trick study's depth sweep (report section "Training tricks", claims S5, S6,
S7, S10, S12): the final test error over depth x trick, and the back-propagated gradient per
layer with and without tricks. What they show is picked in trainability.analysis.trick_study.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from trainability.analysis.common import PAPER_TRICK, dataset_rank
from trainability.analysis.selection import MissingData, Tables
from trainability.analysis.trick_study import gradient_profiles, heatmap_cells
from trainability.figures.labels import (
    activation_label,
    activation_rank,
    dataset_label,
    init_rank,
    trick_color,
    trick_order,
)
from trainability.figures.panels import study_setting, suptitle
from trainability.figures.registry import figure
from trainability.figures.style import HEATMAP_CMAP, new_figure, styled
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

np = lazy_import("numpy")
mcolors = lazy_import("matplotlib.colors")
mfigure = lazy_import("matplotlib.figure")
mlines = lazy_import("matplotlib.lines")
mpatches = lazy_import("matplotlib.patches")
mticker = lazy_import("matplotlib.ticker")

#: Cell size (inches) of the heat map and its annotation font size (points).
_CELL = (0.42, 0.27)
_CELL_FONT = 7.0


@figure("tricks_heatmap", section="tricks", title="Test error over depth × trick",
        caption="Final test error (%) of the trick study's depth sweep (tricks run at three "
                "depths or more) over depth × trick, mean over the protocol networks' seeds; "
                "rows of panels: datasets, columns: activation and initialization; hatched "
                "cells marked div: every seed diverged; – : not run.",
        claim="Batch normalization and residual connections keep deep nets trainable and "
              "remove most of the init/activation sensitivity; clipping prevents divergence; "
              "adaptive optimizers rescue poorly initialized deep nets.",
        claim_ids=("S5", "S6", "S7", "S12"), claim_source="practice")
@styled
def tricks_heatmap(tables: Tables, dataset: str | None = None) -> Figure:
    """Final test error (%) over depth (x) x trick (y) of the depth sweep
    (`trick_study.heatmap_cells`), mean over the protocol networks' seeds; rows of panels =
    datasets, columns = (activation, initializer); one colour scale. A cell whose every
    network diverged is hatched and says "div"; "*" = some diverged; "–" = not run."""
    cells, rows = heatmap_cells(tables, dataset)
    datasets = sorted(cells["dataset"].unique(), key=dataset_rank)
    combos = sorted({(a, i) for a, i in zip(cells["activation"], cells["initializer"],
                                             strict=True)},
                    key=lambda c: (activation_rank(c[0]), init_rank(c[1])))
    depths = sorted(int(d) for d in cells["depth"].unique())
    tricks = sorted(cells["trick"].unique(), key=trick_order)
    titles = [f"{activation_label(a)}, {i} init" for a, i in combos]
    # width per panel: its cells, and at least its title (about 0.068 in per character)
    panel_w = max(_CELL[0] * len(depths), 0.068 * max(map(len, titles)) + 0.15)
    panel_h = _CELL[1] * len(tricks)
    label_w = 0.062 * max(len(str(t)) for t in tricks) + 0.55
    fig = mfigure.Figure(figsize=(label_w + len(combos) * (panel_w + 0.2) + 0.9,
                                  0.75 + len(datasets) * (panel_h + 0.75)),
                         layout="constrained")
    grid = fig.subplots(len(datasets), len(combos), squeeze=False)
    axes = [ax for line in grid for ax in line]
    vmax = float(np.nanmax(cells["mean"])) if cells["mean"].notna().any() else 100.0
    norm = mcolors.Normalize(0.0, min(100.0, max(10.0, np.ceil(vmax / 10) * 10)))
    # Here, not at the top: seaborn (its "rocket" colour map) is slow to import.
    import seaborn as sns

    cmap = sns.color_palette(HEATMAP_CMAP, as_cmap=True).with_extremes(bad="white")
    image = None
    drawn: list[tuple[int, int]] = []
    for r, dataset_name in enumerate(datasets):
        labelled = False
        for c, (activation, initializer) in enumerate(combos):
            ax = grid[r][c]
            block = cells[(cells["dataset"] == dataset_name) & (cells["activation"] == activation)
                          & (cells["initializer"] == initializer)]
            if block.empty:
                ax.set_axis_off()
                continue
            drawn.append((r, c))
            image = _heat_panel(ax, block, depths, tricks, cmap, norm)
            ax.set_title(titles[c], fontsize=8.5)
            ax.set_gid(f"{dataset_name}/{activation}/{initializer}")  # for tests and SVG
            if labelled:  # the row's tricks are labelled on its first panel
                ax.set_yticklabels([])
            else:
                ax.set_ylabel(dataset_label(dataset_name), fontsize=9.5, fontweight="bold")
                labelled = True
    for c in range(len(combos)):  # the depth axis is named under each column's last panel
        column = [r for r, cc in drawn if cc == c]
        if column:
            grid[max(column)][c].set_xlabel("depth (hidden layers)", fontsize=8)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, label="final test error (%)", shrink=0.8,
                           aspect=25, pad=0.02)
        bar.ax.tick_params(labelsize=7.5)
    suptitle(fig, "Final test error (%) over depth × trick, protocol networks, mean over "
                  "seeds\n" + study_setting(rows)
                  + "\nhatched, div: every seed diverged; *: some seeds diverged (mean of "
                    "the others); –: not run")
    return fig


def _heat_panel(ax: Axes, block: pd.DataFrame, depths: list, tricks: list, cmap, norm):
    grid = np.full((len(tricks), len(depths)), np.nan)
    seen = set()
    for cell in block.itertuples(index=False):
        i, j = tricks.index(cell.trick), depths.index(int(cell.depth))
        seen.add((i, j))
        grid[i, j] = cell.mean
        if cell.n_div == cell.n:  # every network diverged
            ax.add_patch(mpatches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.92",
                                            hatch="////", edgecolor="0.45", linewidth=0.0,
                                            zorder=2))
            ax.text(j, i, "div", ha="center", va="center", fontsize=_CELL_FONT, color="0.1",
                    fontweight="bold", zorder=3)
            continue
        color = mcolors.to_rgb(cmap(norm(cell.mean)))
        ink = "white" if 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] < 0.5 else "0.1"
        star = "*" if cell.n_div else ""
        ax.text(j, i, f"{cell.mean:.1f}{star}", ha="center", va="center", fontsize=_CELL_FONT,
                color=ink, zorder=3)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto",
                      interpolation="nearest")
    for i in range(len(tricks)):
        for j in range(len(depths)):
            if (i, j) not in seen:
                ax.text(j, i, "–", ha="center", va="center", fontsize=_CELL_FONT, color="0.6")
    ax.set_xticks(range(len(depths)), [str(d) for d in depths], fontsize=7.5)
    ax.set_yticks(range(len(tricks)), [str(t) for t in tricks], fontsize=7.5)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


@figure("tricks_gradients", section="tricks",
        title="Back-propagated gradients with and without tricks",
        caption="Root mean square of the back-propagated gradient ∂Cost/∂s per layer at "
                "initialization and at the end of training, deepest networks of the trick "
                "study, one line per trick (dashed: diverged), for each activation and "
                "initialization trained with two tricks or more.",
        claim="Without remedies the gradient shrinks toward the input layers (by at most 1/4 "
              "per sigmoid layer); batch normalization and residual connections keep it level.",
        claim_ids=("S5", "S6", "S10"), claim_source="practice")
@styled
def tricks_gradients(tables: Tables, dataset: str | None = None) -> Figure:
    """RMS of the back-propagated gradient dCost/ds per layer, at initialization and at the
    end of training, for the deepest networks of the trick study (the deepest depth with two
    tricks on one configuration): one line per trick; per
    (activation, initializer) trained with two tricks or more at that depth, two panels side
    by side ("at initialization", "end of training"), two such pairs per row. Panels without
    data are left out."""
    dataset, depth, rows, panels = gradient_profiles(tables, dataset)
    for lines in panels.values():  # tricks in the legend's order (stable: seeds kept in order)
        lines.sort(key=lambda line: trick_order(line[0]))

    def full(lines: list) -> bool:  # two tricks or more, and both panels have a line
        return (len(lines) > 1 and any(not line[2].empty for line in lines)
                and any(not line[3].empty for line in lines))

    combos = sorted((c for c, lines in panels.items() if full(lines)),
                    key=lambda c: (activation_rank(c[0]), init_rank(c[1])))
    if not combos:
        raise MissingData(f"needs layer statistics backprop_grad of two tricks or more on one "
                          f"(activation, initializer) at depth {depth} on {dataset}")
    pairs_per_row = 1 if len(combos) == 1 else 2
    n_rows = int(np.ceil(len(combos) / pairs_per_row))
    fig, axes = new_figure(n_rows, 2 * pairs_per_row, panel=(2.45, 2.0))
    for ax in axes[2 * len(combos):]:  # an odd number of pairs: no empty panels
        fig.delaxes(ax)
    diverged = False
    tricks: list[str] = []
    for k, (activation, initializer) in enumerate(combos):
        pair = axes[2 * k:2 * k + 2]
        for ax, when in zip(pair, ("init", "end"), strict=True):
            for trick, failed, first, last in panels[(activation, initializer)]:
                at = first if when == "init" else last
                if at.empty:
                    continue
                diverged |= failed
                if trick not in tricks:
                    tricks.append(trick)
                ax.plot(at["layer"], at["rms"], color=trick_color(trick),
                        marker="o" if depth <= 20 else None, markersize=2.5,
                        linestyle="--" if failed else "-",
                        linewidth=1.6 if trick == PAPER_TRICK else 1.1, label=trick)
            ax.set_yscale("log")
            ax.set_title(f"{activation_label(activation)}, {initializer} init\n"
                         f"{'at initialization' if when == 'init' else 'end of training'}",
                         fontsize=8)
            ax.xaxis.get_major_locator().set_params(integer=True)
            if k >= len(combos) - pairs_per_row:
                ax.set_xlabel("hidden layer")
        if k % pairs_per_row == 0:
            pair[0].set_ylabel("RMS ∂Cost/∂s")
        _share_y(pair)
    tricks.sort(key=trick_order)
    handles = [mlines.Line2D([], [], color=trick_color(t),
                             linewidth=1.6 if t == PAPER_TRICK else 1.1, label=t)
               for t in tricks]
    if diverged:
        handles.append(mlines.Line2D([], [], color="0.3", linestyle="--",
                                     label="dashed: diverged\n(last finite point)"))
    fig.legend(handles=handles, loc="outside right center")
    suptitle(fig, f"{dataset_label(dataset)}, depth {depth}; "
             + study_setting(rows, "\nRMS = √(mean² + std²) over examples and units"))
    return fig


def _share_y(axes: Sequence[Axes]) -> None:
    """Give the panels (log y axes) the same y range, so init and end compare; at least a
    decade, so that a power of ten is labelled, and no labels on the minor ticks."""
    drawn = [ax for ax in axes if ax.get_lines()]
    if not drawn:
        return
    low = min(ax.get_ylim()[0] for ax in drawn)
    high = max(ax.get_ylim()[1] for ax in drawn)
    if 0 < low and high / low < 10:
        centre = np.sqrt(low * high)
        low, high = centre / np.sqrt(10), centre * np.sqrt(10)
    for ax in drawn:
        ax.set_ylim(low, high)
        ax.yaxis.set_minor_formatter(mticker.NullFormatter())
