"""Which networks the trick-axis figures show, and the numbers they draw of them.

Protocol networks only. The trick studies carry their own budget (the runs table's `budget`
column names it; with the training-set size it separates studies trained under different
conditions). Each figure takes its rows from one such group: the one that covers the figure
best, a trick study's own budget before the preset's on ties (`pick_group`).

- `trick_study`, `depth_sweep`, `heatmap_cells`: the depth x trick sweep and its cells (mean
  final test error over seeds, diverged networks counted apart).
- `gradient_profiles`: per-layer RMS of the back-propagated gradient at initialization and
  at the end of training, deepest networks, per trick.
- `dead_unit_panels`: ReLU-family dead and negative unit fractions (`dead_units`).
- `selu_networks`: the SELU networks and their per-layer activation statistics.

numpy and pandas load on first use (the figures import this module when the workflow plans).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from trainability.analysis.common import PAPER_BUDGET, PAPER_TRICK, dataset_rank, is_diverged
from trainability.analysis.dead_units import unit_fractions
from trainability.analysis.selection import MissingData
from trainability.lazy import lazy_import
from trainability.nets.activations import ACTIVATIONS

np = lazy_import("numpy")
pd = lazy_import("pandas")

Tables = Mapping[str, "pd.DataFrame"]

#: Columns that separate studies trained under different conditions.
GROUP_COLUMNS = ["budget", "train_size"]
#: Preferred initializer of a ReLU-family panel where several were run (He's first).
INIT_PREFERENCE = ("he_normal", "normalized", "lecun_normal", "standard")


def protocol(tables: Tables) -> pd.DataFrame:
    runs = tables["runs"]
    return runs[runs["protocol"].astype(bool)]


def pick_group(rows: pd.DataFrame, score: Callable[[pd.DataFrame], float]) -> pd.DataFrame:
    """The rows of the budget (or study) group with the highest `score`; on ties a trick
    study's own budget before the preset's, then by name. Empty rows give empty rows."""
    if rows.empty:
        return rows
    groups = [(name, block) for name, block in rows.groupby(GROUP_COLUMNS, sort=True,
                                                            dropna=False)]
    _, best = max(groups, key=lambda g: (score(g[1]), str(g[1]["budget"].iloc[0])
                                         != PAPER_BUDGET, str(g[0])))
    return best


def widest(rows: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Keep, per `keys`, only the rows at the largest width."""
    top = rows.groupby(list(keys))["width"].transform("max")
    return rows[rows["width"] == top]


def first_net(rows: pd.DataFrame) -> pd.Series:
    """The network a figure shows of a configuration: largest width, smallest init_seed."""
    rows = rows[rows["width"] == rows["width"].max()]
    return rows.sort_values(["init_seed", "run", "member"]).iloc[0]


def relu_family(activation: str) -> bool:
    """Whether units of `activation` can die (its family in trainability.nets.activations);
    False for an activation the registry does not know."""
    try:
        return ACTIVATIONS.build(str(activation)).relu_family
    except ValueError:
        return False


# ---- the depth x trick sweep ----------------------------------------------------------------
def trick_study(tables: Tables, dataset: str | None = None) -> pd.DataFrame:
    """Protocol runs of the depth x trick study: per dataset, the configurations (activation,
    initializer) trained with two tricks or more, in the budget (or study) group with the most
    (depth, trick) cells.

    Raises MissingData when no dataset has such rows.
    """
    runs = protocol(tables)
    if dataset is not None:
        runs = runs[runs["dataset"] == dataset]
    chosen = []
    for _, rows in sorted(runs.groupby("dataset"), key=lambda g: dataset_rank(g[0])):
        keys = [*GROUP_COLUMNS, "activation", "initializer"]
        several = rows.groupby(keys, dropna=False)["trick"].transform("nunique") > 1
        rows = rows[several]
        if rows.empty:
            continue
        chosen.append(pick_group(
            rows, lambda g: len(g[["depth", "trick"]].drop_duplicates())))
    if not chosen:
        where = f" on {dataset}" if dataset is not None else ""
        raise MissingData(f"needs protocol networks trained with a trick other than 'none'"
                          f"{where} (the tricks_depth study); the runs table has none")
    return pd.concat(chosen)


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


def heatmap_cells(tables: Tables, dataset: str | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, rows) of the depth sweep: per (dataset, activation, initializer, depth, trick)
    at its widest width, `mean` = mean final test error (%) of the networks that did not
    diverge (NaN if none), `n` networks, `n_div` diverged; and the runs rows they come from."""
    rows = depth_sweep(trick_study(tables, dataset))
    if rows.empty:
        raise MissingData("needs a depth sweep of protocol networks trained with tricks "
                          "(the tricks_depth study); the runs table has none")
    rows = rows.assign(_div=is_diverged(rows))
    keys = ["dataset", "activation", "initializer", "depth", "trick"]
    rows = widest(rows, keys)
    finite = rows[~rows["_div"]]
    means = (finite.groupby(keys)["final_test_error"].mean() * 100).rename("mean")
    counts = rows.groupby(keys).agg(n=("_div", "size"), n_div=("_div", "sum"))
    return counts.join(means).reset_index(), rows


# ---- back-propagated gradients per layer ----------------------------------------------------
def layer_rms(stats: pd.DataFrame) -> pd.DataFrame:
    """(run, member, update, layer) -> RMS = sqrt(mean^2 + std^2) of one quantity's stats."""
    wide = stats.pivot_table(index=["run", "member", "update", "layer"], columns="stat",
                             values="value", aggfunc="first")
    return np.sqrt(wide["mean"] ** 2 + wide["std"] ** 2).rename("rms").reset_index()


def rms_profiles(rms: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One network's per-layer RMS at its first monitor point and at its last monitor point
    with a finite positive value (a diverged network's last one before divergence)."""
    finite = rms[np.isfinite(rms["rms"]) & (rms["rms"] > 0)]
    if finite.empty:
        return finite, finite
    first = rms[rms["update"] == rms["update"].min()]
    first = first[np.isfinite(first["rms"]) & (first["rms"] > 0)]
    last = finite[finite["update"] == finite["update"].max()]
    return first.sort_values("layer"), last.sort_values("layer")


def gradient_profiles(tables: Tables, dataset: str | None = None
                      ) -> tuple[str, int, pd.DataFrame, dict[tuple[str, str], list]]:
    """(dataset, depth, rows, panels): the deepest networks of the trick study on `dataset`
    (default: the first in the catalog's order), at the deepest depth where some (activation,
    initializer) was trained with two tricks; `panels` maps (activation, initializer) to
    [(trick, diverged, profile at init, profile at the end)] (`rms_profiles` of the
    back-propagated gradient dCost/ds), one per trick, for the networks that have one."""
    rows = trick_study(tables)
    if dataset is None:
        dataset = min(rows["dataset"].unique(), key=dataset_rank)
    rows = rows[rows["dataset"] == dataset]
    if rows.empty:
        raise MissingData(f"needs protocol networks of the trick study on {dataset}")
    tricks_at = rows.groupby(["depth", "activation", "initializer"])["trick"].nunique()
    several = tricks_at[tricks_at > 1]
    depth = int(several.index.get_level_values("depth").max() if len(several)
                else rows["depth"].max())
    rows = rows[rows["depth"] == depth]
    rows = rows.assign(net_diverged=is_diverged(rows))
    nets = pd.DataFrame([first_net(block) for _, block in
                         rows.groupby(["activation", "initializer", "trick"], sort=False)])
    stats = tables["layer_stats"]
    stats = stats[(stats["quantity"] == "backprop_grad") & stats["stat"].isin(["mean", "std"])]
    stats = stats.merge(nets[["run", "member"]], on=["run", "member"])
    if stats.empty:
        raise MissingData(f"needs layer statistics backprop_grad/mean and std of the depth-"
                          f"{depth} trick networks on {dataset}; the layer_stats table has none")
    rms = layer_rms(stats)
    panels: dict[tuple[str, str], list] = {}
    for net in nets.itertuples(index=False):
        mine = rms[(rms["run"] == net.run) & (rms["member"] == net.member)]
        first, last = rms_profiles(mine)
        if not first.empty or not last.empty:
            panels.setdefault((net.activation, net.initializer), []).append(
                (net.trick, bool(net.net_diverged), first, last))
    return dataset, depth, rows, panels


# ---- dead units -----------------------------------------------------------------------------
def dead_unit_panels(tables: Tables) -> tuple[pd.DataFrame, list[tuple], bool]:
    """(rows, panels, fallback) of the dead-units figure: plain-SGD protocol networks of the
    ReLU family in the budget group with the most such activations; per (dataset, depth),
    the initializer run with the most of them (`INIT_PREFERENCE` on ties), widest networks:
    panels = [(dataset, depth, initializer, fractions)] with `dead_units.unit_fractions`
    (`dead` NaN where only a bound is known) and each row's activation, only the panels
    comparing two activations or more when there are such; fallback: some network needed
    the older-tables fallback."""
    runs = protocol(tables)
    rows = runs[(runs["trick"].astype(str) == PAPER_TRICK) & runs["activation"].map(relu_family)]
    rows = pick_group(rows, lambda g: g["activation"].nunique())
    if rows.empty:
        raise MissingData("needs protocol networks with relu, leaky_relu, prelu or rrelu "
                          "(trick none; the tricks_activations study); the runs table has none")
    fractions = unit_fractions(tables["layer_stats"].merge(rows[["run", "member"]],
                                                          on=["run", "member"]))
    # where only a bound on the dead fraction is known (older tables), none is drawn
    fractions = fractions.assign(dead=fractions["dead"].where(fractions["exact"]))
    panels = []
    for (dataset, depth), block in sorted(rows.groupby(["dataset", "depth"]),
                                          key=lambda g: (dataset_rank(g[0][0]), g[0][1])):
        per_init = block.groupby("initializer")["activation"].nunique()
        initializer = max(per_init.index, key=lambda i: (
            per_init[i], -(INIT_PREFERENCE.index(i) if i in INIT_PREFERENCE else 99)))
        block = widest(block[block["initializer"] == initializer], ["activation"])
        mine = fractions.merge(block[["run", "member", "activation"]], on=["run", "member"])
        mine = mine[mine["dead"].notna() | mine["negative"].notna()]
        if not mine.empty:
            panels.append((dataset, depth, initializer, mine))
    if not panels:
        raise MissingData("needs layer statistic activation/dead_fraction of the relu-family "
                          "networks; the layer_stats table has none")
    compared = [p for p in panels if p[3]["activation"].nunique() > 1]
    panels = compared or panels  # panels that compare ReLU with a variant, where there are
    fallback = any(bool(mine["old"].any()) for *_, mine in panels)
    return rows, panels, fallback


# ---- SELU -----------------------------------------------------------------------------------
def selu_networks(tables: Tables) -> tuple[list[pd.Series], pd.DataFrame]:
    """(nets, stats): per dataset, the deepest plain-SGD SELU network with LeCun-normal init
    (in the budget group with the deepest networks, then the most datasets), and the layer
    statistics activation/mean and std of those networks."""
    runs = protocol(tables)
    rows = runs[(runs["activation"] == "selu") & (runs["initializer"] == "lecun_normal")
                & (runs["trick"].astype(str) == PAPER_TRICK)]
    rows = pick_group(rows, lambda g: (g["depth"].max(), g["dataset"].nunique()))
    if rows.empty:
        raise MissingData("needs protocol networks with selu and lecun_normal init (trick none; "
                          "the tricks_activations study); the runs table has none")
    nets = []
    for _, block in sorted(rows.groupby("dataset"), key=lambda g: dataset_rank(g[0])):
        nets.append(first_net(block[block["depth"] == block["depth"].max()]))
    stats = tables["layer_stats"]
    stats = stats[(stats["quantity"] == "activation") & stats["stat"].isin(["mean", "std"])]
    stats = stats.merge(pd.DataFrame(nets)[["run", "member"]], on=["run", "member"])
    if stats.empty:
        raise MissingData("needs layer statistics activation/mean and std of the selu "
                          "networks with lecun_normal init; the layer_stats table has none")
    return nets, stats
