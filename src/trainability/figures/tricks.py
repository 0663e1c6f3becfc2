"""Figures of the trick axis (issue 5, reference sec. 6 and claims S1-S14).

From the tables (`trainability.results.read_tables`), protocol networks only:

- `tricks_heatmap`: final test error over depth x trick of the depth sweep (tricks run at
  three depths or more), rows of panels = datasets, columns = (activation, initializer),
  mean over seeds, diverged cells hatched and marked "div".
- `tricks_gradients`: per-layer RMS of the back-propagated gradient at initialization and at
  the end of training, deepest networks, one line per trick, only configurations with two
  tricks or more (no empty panels).
- `dead_units`: ReLU's dead fraction (no gradient on any monitor example) over training,
  against the leaky variants' negative fraction (s <= 0 on every example; never dead).
- `selu_stats`: per-layer mean and std of SELU activations over training, LeCun-normal init.

Without tables: `sigmoid_derivative` (the logistic sigmoid and its derivative, at most 1/4)
and `matrix_product` (the norm of a running product of random Gaussian 4x4 matrices).

The trick studies carry their own budget (the runs table's `budget` column names it; a
`study` column, when present, separates studies further). Each figure takes its rows from one
such group: the one that covers the figure best, a trick study's own budget before the
preset's on ties, and says in its subtitle which budget, width and number of updates it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullFormatter

from trainability.figures.paper import (
    _DATASET_NAMES,
    PLAIN_TRICK,
    PRESET_BUDGET,
    MissingData,
    Tables,
    _axis_for,
    _figure_legend,
    _suptitle,
    activation_name,
    trick_names,
    with_axes,
)
from trainability.figures.style import (
    HEATMAP_CMAP,
    activation_color,
    layer_color,
    layer_label,
    layer_marker,
    new_figure,
    styled,
    trick_color,
)

__all__ = [
    "RELU_FAMILY", "dead_units", "depth_sweep", "matrix_product", "matrix_product_norms",
    "lyapunov_exponent", "relu_family_fractions", "selu_stats", "sigmoid_derivative",
    "trick_order", "tricks_gradients", "tricks_heatmap", "trick_study",
]

#: Activations whose units can die (dead_fraction is recorded for them), in legend order.
RELU_FAMILY = ("relu", "leaky_relu", "prelu", "rrelu")
#: Order of the trick families on the heat map's y axis (plain SGD first).
TRICK_ORDER = ("batchnorm", "residual", "clip_norm", "clip_value", "momentum", "adagrad",
               "rmsprop", "adam", "dropout", "l2", "l1", "early_stopping", "pretrain_dae")
#: Preferred initializer per activation family where a figure shows one.
_INIT_PREFERENCE = ("he_normal", "normalized", "lecun_normal", "standard")
_ACTIVATION_ORDER = ("sigmoid", "tanh", "softsign", "relu", "leaky_relu", "prelu", "rrelu",
                     "elu", "selu", "maxout")


# ---- selection ----------------------------------------------------------------------------
def _protocol(tables: Tables) -> pd.DataFrame:
    runs = with_axes(tables["runs"])
    return runs[runs["protocol"].astype(bool)]


#: Columns that separate studies trained under different conditions, where present.
GROUP_COLUMNS = ("budget", "study", "train_size", "train_subset")


def _group_columns(runs: pd.DataFrame) -> list[str]:
    return [c for c in GROUP_COLUMNS if c in runs.columns]


def _pick_group(rows: pd.DataFrame, score: Callable[[pd.DataFrame], float]
                ) -> pd.DataFrame:
    """The rows of the budget (or study) group with the highest `score`; on ties a trick
    study's own budget before the preset's, then by name. Empty rows give empty rows."""
    if rows.empty:
        return rows
    columns = _group_columns(rows)
    groups = [(name, block) for name, block in rows.groupby(columns, sort=True, dropna=False)]
    _, best = max(groups, key=lambda g: (score(g[1]), str(g[1]["budget"].iloc[0])
                                         != PRESET_BUDGET, str(g[0])))
    return best


def _diverged(rows: pd.DataFrame) -> pd.Series:
    """diverged_at set, or no final test error (as the analysis counts them)."""
    flag = pd.Series(False, index=rows.index)
    if "diverged_at" in rows.columns:
        flag |= rows["diverged_at"].notna()
    return flag | rows["final_test_error"].isna()


def _widest(rows: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Keep, per `keys`, only the rows at the largest width."""
    top = rows.groupby(list(keys))["width"].transform("max")
    return rows[rows["width"] == top]


def _first_net(rows: pd.DataFrame) -> pd.Series:
    """The network a figure shows of a configuration: largest width, smallest init_seed."""
    rows = rows[rows["width"] == rows["width"].max()]
    return rows.sort_values(["init_seed", "run", "member"]).iloc[0]


def _dataset_rank(dataset: str) -> tuple[int, str]:
    order = list(_DATASET_NAMES)
    return (order.index(dataset) if dataset in order else len(order), str(dataset))


def _activation_rank(activation: str) -> tuple[int, str]:
    base = str(activation).split(":", 1)[0]
    rank = _ACTIVATION_ORDER.index(base) if base in _ACTIVATION_ORDER else len(_ACTIVATION_ORDER)
    return (rank, str(activation))


def _init_rank(initializer: str) -> tuple[int, str]:
    order = ("standard", "normalized", "he_normal", "lecun_normal")
    return (order.index(initializer) if initializer in order else len(order), str(initializer))


def trick_order(trick: str) -> tuple:
    """Sort key of trick strings: "none" first, then by family (TRICK_ORDER); a combination
    comes right after the last of its families ("batchnorm", "residual",
    "batchnorm+residual", "clip_norm:1", ...); then alphabetically."""
    names = trick_names(trick)
    if not names:
        return (-1, 0, "")
    last = max(TRICK_ORDER.index(n) if n in TRICK_ORDER else len(TRICK_ORDER) for n in names)
    return (last, len(names), str(trick))


def trick_study(tables: Tables, dataset: str | None = None) -> pd.DataFrame:
    """Protocol runs of the depth x trick study: per dataset, the configurations (activation,
    initializer) trained with two tricks or more, in the budget (or study) group with the most
    (depth, trick) cells.

    Raises MissingData when no dataset has such rows.
    """
    runs = _protocol(tables)
    if dataset is not None:
        runs = runs[runs["dataset"] == dataset]
    chosen = []
    for _, rows in sorted(runs.groupby("dataset"), key=lambda g: _dataset_rank(g[0])):
        keys = [*_group_columns(rows), "activation", "initializer"]
        several = rows.groupby(keys, dropna=False)["trick"].transform("nunique") > 1
        rows = rows[several]
        if rows.empty:
            continue
        chosen.append(_pick_group(
            rows, lambda g: len(g[["depth", "trick"]].drop_duplicates())))
    if not chosen:
        where = f" on {dataset}" if dataset is not None else ""
        raise MissingData(f"needs protocol networks trained with a trick other than 'none'"
                          f"{where} (the tricks_depth study); the runs table has none")
    return pd.concat(chosen)


def _setting(rows: pd.DataFrame, extra: str = "") -> str:
    """Subtitle: budget(s), width(s), updates of the rows shown."""
    def values(column: str, fmt: str = "{}") -> str:
        return "/".join(fmt.format(v) for v in sorted(rows[column].dropna().unique()))

    return (f"budget {values('budget')}; width {values('width')}; "
            f"{values('updates', '{:,}')} updates{extra}")


# ---- heat map -----------------------------------------------------------------------------
#: Cell size (inches) of the heat map and its annotation font size (points).
_CELL = (0.42, 0.27)
_CELL_FONT = 7.0


def depth_sweep(rows: pd.DataFrame) -> pd.DataFrame:
    """The depth sweep of trick-study rows: per dataset and (activation, initializer), the
    tricks observed at >= min(3, number of distinct depths in `rows`) depths, and of those
    only the configurations left with two tricks or more. One-depth studies (dropout, L1/L2,
    pretraining at depth 5) drop out; rows of a single depth keep everything."""
    if rows.empty:
        return rows
    needed = min(3, rows["depth"].nunique())
    combo = ["dataset", "activation", "initializer"]
    depths = rows.groupby([*combo, "trick"], dropna=False)["depth"].transform("nunique")
    rows = rows[depths >= needed]
    tricks = rows.groupby(combo, dropna=False)["trick"].transform("nunique")
    return rows[tricks > 1]


@styled
def tricks_heatmap(tables: Tables, dataset: str | None = None) -> Figure:
    """Final test error (%) over depth (x) x trick (y) of the depth sweep (`depth_sweep`),
    mean over the protocol networks' seeds; rows of panels = datasets, columns =
    (activation, initializer); one colour scale. A cell whose every network diverged is
    hatched and says "div"; "*" = some diverged; "–" = not run."""
    rows = depth_sweep(trick_study(tables, dataset))
    if rows.empty:
        raise MissingData("needs a depth sweep of protocol networks trained with tricks "
                          "(the tricks_depth study); the runs table has none")
    rows = rows.assign(_div=_diverged(rows))
    keys = ["dataset", "activation", "initializer", "depth", "trick"]
    rows = _widest(rows, keys)
    finite = rows[~rows["_div"]]
    means = (finite.groupby(keys)["final_test_error"].mean() * 100).rename("mean")
    counts = rows.groupby(keys).agg(n=("_div", "size"), n_div=("_div", "sum"))
    cells = counts.join(means).reset_index()

    datasets = sorted(cells["dataset"].unique(), key=_dataset_rank)
    combos = sorted({(a, i) for a, i in zip(cells["activation"], cells["initializer"],
                                             strict=True)},
                    key=lambda c: (_activation_rank(c[0]), _init_rank(c[1])))
    depths = sorted(int(d) for d in cells["depth"].unique())
    tricks = sorted(cells["trick"].unique(), key=trick_order)
    titles = [f"{activation_name(a)}, {i} init" for a, i in combos]
    # width per panel: its cells, and at least its title (about 0.068 in per character)
    panel_w = max(_CELL[0] * len(depths), 0.068 * max(map(len, titles)) + 0.15)
    panel_h = _CELL[1] * len(tricks)
    label_w = 0.062 * max(len(str(t)) for t in tricks) + 0.55
    fig = Figure(figsize=(label_w + len(combos) * (panel_w + 0.2) + 0.9,
                          0.75 + len(datasets) * (panel_h + 0.75)), layout="constrained")
    grid = fig.subplots(len(datasets), len(combos), squeeze=False)
    axes = [ax for line in grid for ax in line]
    vmax = float(np.nanmax(cells["mean"])) if cells["mean"].notna().any() else 100.0
    norm = Normalize(0.0, min(100.0, max(10.0, np.ceil(vmax / 10) * 10)))
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
                ax.set_ylabel(_DATASET_NAMES.get(dataset_name, dataset_name),
                              fontsize=9.5, fontweight="bold")
                labelled = True
    for c in range(len(combos)):  # the depth axis is named under each column's last panel
        column = [r for r, cc in drawn if cc == c]
        if column:
            grid[max(column)][c].set_xlabel("depth (hidden layers)", fontsize=8)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, label="final test error (%)", shrink=0.8,
                           aspect=25, pad=0.02)
        bar.ax.tick_params(labelsize=7.5)
    _suptitle(fig, "Final test error (%) over depth × trick, protocol networks, mean over "
                   "seeds\n" + _setting(rows)
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
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.92", hatch="////",
                                   edgecolor="0.45", linewidth=0.0, zorder=2))
            ax.text(j, i, "div", ha="center", va="center", fontsize=_CELL_FONT, color="0.1",
                    fontweight="bold", zorder=3)
            continue
        color = to_rgb(cmap(norm(cell.mean)))
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


# ---- gradients ----------------------------------------------------------------------------
def _layer_rms(stats: pd.DataFrame) -> pd.DataFrame:
    """(run, member, update, layer) -> RMS = sqrt(mean^2 + std^2) of one quantity's stats."""
    wide = stats.pivot_table(index=["run", "member", "update", "layer"], columns="stat",
                             values="value", aggfunc="first")
    return np.sqrt(wide["mean"] ** 2 + wide["std"] ** 2).rename("rms").reset_index()


def _profiles(rms: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One network's per-layer RMS at its first monitor point and at its last monitor point
    with a finite positive value (a diverged network's last one before divergence)."""
    finite = rms[np.isfinite(rms["rms"]) & (rms["rms"] > 0)]
    if finite.empty:
        return finite, finite
    first = rms[rms["update"] == rms["update"].min()]
    first = first[np.isfinite(first["rms"]) & (first["rms"] > 0)]
    last = finite[finite["update"] == finite["update"].max()]
    return first.sort_values("layer"), last.sort_values("layer")


@styled
def tricks_gradients(tables: Tables, dataset: str | None = None) -> Figure:
    """RMS of the back-propagated gradient dCost/ds per layer, at initialization and at the
    end of training, for the deepest networks of the trick study (the deepest depth with two
    tricks on one configuration): one line per trick; per
    (activation, initializer) trained with two tricks or more at that depth, two panels side
    by side ("at initialization", "end of training"), two such pairs per row. Panels without
    data are left out."""
    rows = trick_study(tables)
    if dataset is None:
        dataset = min(rows["dataset"].unique(), key=_dataset_rank)
    rows = rows[rows["dataset"] == dataset]
    if rows.empty:
        raise MissingData(f"needs protocol networks of the trick study on {dataset}")
    # the deepest depth at which some (activation, initializer) was trained with two tricks
    tricks_at = rows.groupby(["depth", "activation", "initializer"])["trick"].nunique()
    several = tricks_at[tricks_at > 1]
    depth = int(several.index.get_level_values("depth").max() if len(several)
                else rows["depth"].max())
    rows = rows[rows["depth"] == depth]
    rows = rows.assign(net_diverged=_diverged(rows))
    nets = pd.DataFrame([_first_net(block) for _, block in
                         rows.groupby(["activation", "initializer", "trick"], sort=False)])
    stats = tables["layer_stats"]
    stats = stats[(stats["quantity"] == "backprop_grad") & stats["stat"].isin(["mean", "std"])]
    stats = stats.merge(nets[["run", "member"]], on=["run", "member"])
    if stats.empty:
        raise MissingData(f"needs layer statistics backprop_grad/mean and std of the depth-"
                          f"{depth} trick networks on {dataset}; the layer_stats table has none")
    rms = _layer_rms(stats)
    # (activation, initializer) -> [(trick, diverged, at init, at the end)], tricks in order
    panels: dict[tuple[str, str], list] = {}
    for net in sorted(nets.itertuples(index=False), key=lambda n: trick_order(n.trick)):
        mine = rms[(rms["run"] == net.run) & (rms["member"] == net.member)]
        first, last = _profiles(mine)
        if not first.empty or not last.empty:
            panels.setdefault((net.activation, net.initializer), []).append(
                (net.trick, bool(net.net_diverged), first, last))

    def full(lines: list) -> bool:  # two tricks or more, and both panels have a line
        return (len(lines) > 1 and any(not line[2].empty for line in lines)
                and any(not line[3].empty for line in lines))

    combos = sorted((c for c, lines in panels.items() if full(lines)),
                    key=lambda c: (_activation_rank(c[0]), _init_rank(c[1])))
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
                        linewidth=1.6 if trick == PLAIN_TRICK else 1.1, label=trick)
            ax.set_yscale("log")
            ax.set_title(f"{activation_name(activation)}, {initializer} init\n"
                         f"{'at initialization' if when == 'init' else 'end of training'}",
                         fontsize=8)
            ax.xaxis.get_major_locator().set_params(integer=True)
            if k >= len(combos) - pairs_per_row:
                ax.set_xlabel("hidden layer")
        if k % pairs_per_row == 0:
            pair[0].set_ylabel("RMS ∂Cost/∂s")
        _share_y(pair)
    tricks.sort(key=trick_order)
    handles = [Line2D([], [], color=trick_color(t), linewidth=1.6 if t == PLAIN_TRICK else 1.1,
                      label=t) for t in tricks]
    if diverged:
        handles.append(Line2D([], [], color="0.3", linestyle="--",
                              label="dashed: diverged\n(last finite point)"))
    fig.legend(handles=handles, loc="outside right center")
    _suptitle(fig, f"{_DATASET_NAMES.get(dataset, dataset)}, depth {depth}; "
              + _setting(rows, "\nRMS = √(mean² + std²) over examples and units"))
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
        ax.yaxis.set_minor_formatter(NullFormatter())


# ---- dead units ---------------------------------------------------------------------------
def _family(activation: str) -> bool:
    return str(activation).split(":", 1)[0] in RELU_FAMILY


def relu_family_fractions(stats: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Layer statistics "activation" of ReLU-family networks as (run, member, update, layer,
    dead, negative), and whether any network needed the fallback for older tables.

    dead = dead_fraction: units with f'(s) = 0 (no gradient) on every monitor example;
    negative = negative_fraction: units with s <= 0 on every example. Networks recorded before
    negative_fraction existed recorded s <= 0 as dead_fraction: there negative = that value
    and dead is NaN (where `stats` has the activation column), except for ReLU, whose units
    with s <= 0 are exactly its dead ones."""
    stats = stats[(stats["quantity"] == "activation")
                  & stats["stat"].isin(["dead_fraction", "negative_fraction"])]
    keys = ["run", "member", "update", "layer"]
    if stats.empty:
        return pd.DataFrame(columns=[*keys, "dead", "negative"]), False
    wide = stats.groupby([*keys, "stat"])["value"].first().unstack("stat")
    wide = wide.reindex(columns=["dead_fraction", "negative_fraction"])
    wide.columns = ["dead", "negative"]
    wide = wide.reset_index()
    recorded = wide.groupby(["run", "member"])["negative"].transform(
        lambda v: v.notna().any())
    old = ~recorded.astype(bool)
    wide.loc[old, "negative"] = wide.loc[old, "dead"]
    if "activation" in stats.columns:  # older tables: only ReLU's dead fraction is known
        activation = stats.groupby(["run", "member"])["activation"].first()
        relu = pd.Series(list(zip(wide["run"], wide["member"], strict=True)),
                         index=wide.index).map(activation).astype(str) == "relu"
        wide.loc[old & ~relu, "dead"] = np.nan
    return wide.assign(_old=old), bool(old.any())


@styled
def dead_units(tables: Tables) -> Figure:
    """Dead and negative units during training, averaged over layers and over the seeds'
    protocol networks; one panel per dataset and depth; plain SGD (trick "none").

    Solid: ReLU's dead fraction (units with f'(s) = 0, no gradient, on every monitor example).
    Dashed: each leaky variant's (leaky ReLU 0.01, 0.2, PReLU, RReLU) negative fraction (units
    with s <= 0 on every example): such a unit still gets gradient at the leak's slope, so a
    leaky unit is never dead by construction. A variant whose dead fraction is ever above 0
    (a PReLU slope learned to 0) gets a solid line too."""
    runs = _protocol(tables)
    rows = runs[(runs["trick"].astype(str) == PLAIN_TRICK) & runs["activation"].map(_family)]
    rows = _pick_group(rows, lambda g: g["activation"].nunique())
    if rows.empty:
        raise MissingData("needs protocol networks with relu, leaky_relu, prelu or rrelu "
                          "(trick none; the tricks_activations study); the runs table has none")
    fractions, _ = relu_family_fractions(tables["layer_stats"].merge(
        rows[["run", "member"]], on=["run", "member"]))
    panels = []
    for (dataset, depth), block in sorted(rows.groupby(["dataset", "depth"]),
                                          key=lambda g: (_dataset_rank(g[0][0]), g[0][1])):
        per_init = block.groupby("initializer")["activation"].nunique()
        initializer = max(per_init.index, key=lambda i: (
            per_init[i], -(_INIT_PREFERENCE.index(i) if i in _INIT_PREFERENCE else 99)))
        block = _widest(block[block["initializer"] == initializer], ["activation"])
        mine = fractions.merge(block[["run", "member", "activation"]], on=["run", "member"])
        mine = mine[mine["dead"].notna() | mine["negative"].notna()]
        if not mine.empty:
            panels.append((dataset, depth, initializer, mine))
    if not panels:
        raise MissingData("needs layer statistic activation/dead_fraction of the relu-family "
                          "networks; the layer_stats table has none")
    compared = [p for p in panels if p[3]["activation"].nunique() > 1]
    panels = compared or panels  # panels that compare ReLU with a variant, where there are
    fallback = any(bool(mine["_old"].any()) for *_, mine in panels)
    axis = _axis_for(row for _, row in rows.iterrows())
    ncols = min(len(panels), 2)
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = new_figure(nrows, ncols, panel=(4.0, 2.6))
    for ax, (dataset, depth, initializer, mine) in zip(axes, panels, strict=False):
        # mean over layers per network, then mean (and range) over the seeds' networks
        per_net = mine.groupby(["activation", "run", "member", "update"])[
            ["dead", "negative"]].mean().reset_index()
        for activation in sorted(per_net["activation"].unique(), key=_activation_rank):
            curves = per_net[per_net["activation"] == activation]
            relu = str(activation) == "relu"
            shown = ["dead"] if relu else ["negative"]
            if not relu and (curves["dead"] > 0).any():
                shown.append("dead")  # a leaky variant with dead units (PReLU slope 0)
            for column in shown:
                _fraction_line(ax, axis, curves, column, activation)
        ax.set_title(f"{_DATASET_NAMES.get(dataset, dataset)}, depth {depth}, "
                     f"{initializer} init")
        ax.set_xlabel(axis.label)
        ax.set_ylabel("units (%)")
        ax.set_ylim(bottom=0)
    for ax in axes[len(panels):]:
        fig.delaxes(ax)
    _figure_legend(fig, axes[:len(panels)])
    note = ("\nolder tables (no negative_fraction): their dead_fraction, s ≤ 0, is drawn "
            "dashed" if fallback else "")
    _suptitle(fig, _setting(rows, "; mean over layers and seeds (band: range over seeds)\n"
                                  "solid, dead: f′(s) = 0 (no gradient) on every monitor "
                                  "example (ReLU: s ≤ 0)\ndashed, s ≤ 0 on every example: a "
                                  "leaky unit there still gets gradient (slope > 0), "
                                  "so it is never dead" + note))
    return fig


def _fraction_line(ax: Axes, axis, curves: pd.DataFrame, column: str, activation: str) -> None:
    """Mean over the seeds' networks (line) and range (band) of one fraction over updates."""
    curves = curves[curves[column].notna()]
    if curves.empty:
        return
    summary = curves.groupby("update")[column].agg(["mean", "min", "max", "count"])
    x = axis(summary.index.to_numpy(dtype=float))
    color = activation_color(activation)
    what = "dead" if column == "dead" else "s ≤ 0"
    ax.plot(x, 100 * summary["mean"], color=color, marker="o", markersize=2.5,
            linestyle="-" if column == "dead" else "--",
            label=f"{activation_name(activation)} ({what})")
    if summary["count"].max() > 1:
        ax.fill_between(x, 100 * summary["min"], 100 * summary["max"], color=color,
                        alpha=0.12, linewidth=0)


# ---- SELU ---------------------------------------------------------------------------------
@styled
def selu_stats(tables: Tables) -> Figure:
    """Per-layer mean (left, reference 0) and std (right, reference 1) of SELU activations
    during training with LeCun-normal init, deepest network, per dataset (rows)."""
    runs = _protocol(tables)
    rows = runs[(runs["activation"] == "selu") & (runs["initializer"] == "lecun_normal")
                & (runs["trick"].astype(str) == PLAIN_TRICK)]
    rows = _pick_group(rows, lambda g: (g["depth"].max(), g["dataset"].nunique()))
    if rows.empty:
        raise MissingData("needs protocol networks with selu and lecun_normal init (trick none; "
                          "the tricks_activations study); the runs table has none")
    nets = []
    for _, block in sorted(rows.groupby("dataset"), key=lambda g: _dataset_rank(g[0])):
        nets.append(_first_net(block[block["depth"] == block["depth"].max()]))
    stats = tables["layer_stats"]
    stats = stats[(stats["quantity"] == "activation") & stats["stat"].isin(["mean", "std"])]
    stats = stats.merge(pd.DataFrame(nets)[["run", "member"]], on=["run", "member"])
    if stats.empty:
        raise MissingData("needs layer statistics activation/mean and std of the selu "
                          "networks with lecun_normal init; the layer_stats table has none")
    axis = _axis_for(nets)
    fig, axes = new_figure(len(nets), 2, panel=(3.3, 2.3), sharex=True)
    max_depth = max(int(net["depth"]) for net in nets)
    import seaborn as sns

    ramp = sns.color_palette("viridis", as_cmap=True)
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
            ax.set_title(f"{_DATASET_NAMES.get(net['dataset'], net['dataset'])}, SELU, "
                         f"depth {int(net['depth'])}: {stat}")
    for ax in axes[-2:]:
        ax.set_xlabel(axis.label)
    reference = Line2D([], [], color="0.2", linestyle="--", label="fixed point (0 and 1)")
    if max_depth > 10:
        from matplotlib.cm import ScalarMappable

        bar = fig.colorbar(ScalarMappable(Normalize(1, max_depth), ramp), ax=axes,
                           label="layer", shrink=0.6)
        bar.ax.yaxis.get_major_locator().set_params(integer=True)
        fig.legend(handles=[reference], loc="outside lower center")
    else:
        _figure_legend(fig, axes, [reference])
    _suptitle(fig, _setting(pd.DataFrame(nets), "; lecun_normal init, monitor examples"))
    return fig


# ---- sigmoid derivative (no tables) -------------------------------------------------------
@styled
def sigmoid_derivative(tables: Tables | None = None) -> Figure:
    """The logistic sigmoid and its derivative (maximum 1/4 at 0), and the bound 0.25^L on the
    product of L derivatives that back-propagation multiplies through L sigmoid layers."""
    x = np.linspace(-8, 8, 801)
    sigma = 1 / (1 + np.exp(-x))
    derivative = sigma * (1 - sigma)
    peak = float(derivative.max())
    fig, axes = new_figure(1, 2, panel=(3.4, 2.5))
    ax = axes[0]
    ax.plot(x, sigma, color="0.15", label="σ(x) = 1/(1+e^(−x))")
    ax.plot(x, derivative, color=activation_color("relu"), label="σ′(x) = σ(x)(1−σ(x))")
    ax.axhline(0.25, color="0.45", linestyle="--", linewidth=0.9)
    ax.plot([0], [peak], marker="o", color=activation_color("relu"))
    ax.annotate(f"max σ′ = σ′(0) = {peak:.2f}", xy=(0, peak), xytext=(1.2, 0.42),
                fontsize=7.5, arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel("value")
    ax.set_ylim(0, 1.05)
    ax.set_title("Logistic sigmoid and its derivative")
    ax.legend(loc="upper left")
    ax = axes[1]
    layers = np.arange(1, 21)
    ax.semilogy(layers, 0.25 ** layers, color=activation_color("relu"), marker="o",
                markersize=3)
    ax.set_xlabel("sigmoid layers L")
    ax.set_ylabel("bound on ∏ σ′ ($0.25^L$)")
    ax.set_title("Geometric shrinking of the gradient factor")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


# ---- random matrix products (no tables) ---------------------------------------------------
def lyapunov_exponent(size: int = 4) -> float:
    """Top Lyapunov exponent of products of size x size matrices with i.i.d. N(0, 1) entries:
    (ln 2 + digamma(size/2)) / 2 (Newman 1986; Cohen and Newman 1984)."""
    from scipy.special import digamma

    return 0.5 * (np.log(2.0) + float(digamma(size / 2)))


def matrix_product_norms(n_matrices: int = 100, size: int = 4, draws: int = 200,
                         seed: int = 0) -> np.ndarray:
    """(draws, n_matrices) spectral norms ||M_k ... M_1||_2 of running products of
    i.i.d. N(0, 1) size x size matrices, k = 1..n_matrices."""
    rng = np.random.default_rng(seed)
    matrices = rng.standard_normal((draws, n_matrices, size, size))
    norms = np.empty((draws, n_matrices))
    product = np.broadcast_to(np.eye(size), (draws, size, size)).copy()
    for k in range(n_matrices):
        product = matrices[:, k] @ product
        norms[:, k] = np.linalg.norm(product, ord=2, axis=(1, 2))
    return norms


def _norms(n_matrices: int, size: int, draws: int, seed: int) -> tuple[np.ndarray, str]:
    """The claims' own computation (trainability.analysis.practitioner) when it gives a
    (draws, n_matrices) array, else `matrix_product_norms`; with the norm's description."""
    try:
        from trainability.analysis.practitioner import random_matrix_product_norms
        norms = np.asarray(random_matrix_product_norms(
            n_matrices=n_matrices, size=size, draws=draws, seed=seed, ord=2, running=True),
            dtype=float)
        if norms.shape == (draws, n_matrices) and np.all(norms > 0):
            return norms, "spectral norm"
    except (ImportError, AttributeError, TypeError, ValueError):
        pass
    return matrix_product_norms(n_matrices, size, draws, seed), "spectral norm"


@styled
def matrix_product(tables: Tables | None = None, *, n_matrices: int = 100, size: int = 4,
                   draws: int = 200, seed: int = 0, shown: int = 25) -> Figure:
    """Norm of the running product of `n_matrices` random N(0, 1) `size` x `size` matrices:
    `shown` draws (thin), the median and the 5-95% band over `draws` draws, and the growth
    exp(k * lambda_1) of the top Lyapunov exponent."""
    norms, kind = _norms(n_matrices, size, draws, seed)
    k = np.arange(1, n_matrices + 1)
    fig, axes = new_figure(1, 1, panel=(5.0, 3.2))
    ax = axes[0]
    for row in norms[:shown]:
        ax.plot(k, row, color="0.6", linewidth=0.5, alpha=0.6)
    low, median, high = np.percentile(norms, [5, 50, 95], axis=0)
    ax.fill_between(k, low, high, color=activation_color("relu"), alpha=0.18, linewidth=0,
                    label="5–95% of draws")
    ax.plot(k, median, color=activation_color("relu"), linewidth=1.8, label="median")
    rate = lyapunov_exponent(size)
    ax.plot(k, np.exp(rate * k), color="black", linestyle="--", linewidth=1.1,
            label=f"exp(λ₁k), λ₁ = ½(ln 2 + ψ({size}/2)) = {rate:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("matrices multiplied k")
    ax.set_ylabel(f"{kind} of M_k ⋯ M_1")
    ax.set_title(f"Products of random {size}×{size} matrices with N(0, 1) entries\n"
                 f"({draws} draws, seed {seed})")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="0.6", linewidth=0.5, label=f"{shown} single draws"))
    ax.legend(handles=handles, loc="upper left")
    ax.annotate(f"median after {n_matrices}: {median[-1]:.1e}", xy=(k[-1], median[-1]),
                xytext=(0.62, 0.35), textcoords="axes fraction", fontsize=7.5,
                arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})
    return fig
