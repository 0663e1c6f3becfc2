"""Which networks the paper's figures show, and the numbers they draw of them.

A configuration's network is picked by `select_network`: the protocol row (the learning rate
the protocol selected) of the configuration on the dataset, among the paper's networks (plain
SGD at the scale preset's budget: `common.paper_rows`), at the largest width present, with the
smallest init_seed. When the tables lack what a figure needs, these functions raise
`MissingData` naming it; `trainability.figures` turns that into a placeholder.

`tables` is the dict of tidy DataFrames of `trainability.results.read_tables`. numpy and
pandas load on first use (the figures import this module when the workflow plans).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trainability.analysis.common import PAPER_BUDGET, paper_rows, trick_names
from trainability.lazy import lazy_import

np = lazy_import("numpy")
pd = lazy_import("pandas")

Tables = Mapping[str, "pd.DataFrame"]

#: The paper's Fig. 11 and 12 networks (activation, initializer, depth), in its legend order.
CURVE_CONFIGS: tuple[tuple[str, str, int], ...] = (
    ("sigmoid", "standard", 5),
    ("sigmoid", "standard", 4),
    ("tanh", "standard", 5),
    ("softsign", "standard", 5),
    ("softsign", "normalized", 5),
    ("tanh", "normalized", 5),
)
#: The paper's mean singular value of the layer Jacobians at initialization, tanh (Sec. 4.2.2).
PAPER_JACOBIAN = {"standard": 0.5, "normalized": 0.8}
#: The trick of Fig. 11's pre-training reference curve (any arguments).
PRETRAIN_TRICK = "pretrain_dae"


class MissingData(LookupError):
    """The tables lack what a figure needs; the message names the configuration."""


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


def select_network(tables: Tables, config: Config, width: int | None = None) -> pd.Series:
    """The runs row of `config`'s network: protocol rows of the dataset/activation/initializer/
    depth among the paper's networks (`paper_rows`: no trick, the preset's budget), the
    largest width present (or `width`), the smallest init_seed.

    Raises MissingData naming the configuration when there is none.
    """
    return select_among(paper_rows(tables["runs"]), config, width)


def select_among(runs: pd.DataFrame, config: Config, width: int | None = None) -> pd.Series:
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


def rows_of(table: pd.DataFrame, net: pd.Series) -> pd.DataFrame:
    """Rows of `table` that belong to network (run, member)."""
    return table[(table["run"] == net["run"]) & (table["member"] == net["member"])]


def describe_network(net: pd.Series) -> str:
    return (f"{net['dataset']}, depth {net['depth']}, {net['activation']} with "
            f"{net['initializer']} init (run {net['run']}, member {net['member']})")


def layer_stat_table(tables: Tables, net: pd.Series, quantity: str, stat: str
                     ) -> pd.DataFrame:
    """(update x layer) table of one layer statistic of one network."""
    rows = rows_of(tables["layer_stats"], net)
    rows = rows[(rows["quantity"] == quantity) & (rows["stat"] == stat)]
    if rows.empty:
        raise MissingData(f"needs layer statistic {quantity}/{stat} of {describe_network(net)}")
    return rows.pivot_table(index="update", columns="layer", values="value", aggfunc="first",
                            dropna=False).sort_index()


def histogram_rows(tables: Tables, net: pd.Series, quantity: str, update: int | None
                   ) -> tuple[int, pd.DataFrame]:
    """Histogram rows of one network and quantity at `update` (None = the last recorded)."""
    rows = rows_of(tables["histograms"], net)
    rows = rows[rows["quantity"] == quantity]
    if update is None and not rows.empty:
        update = int(rows["update"].max())
    rows = rows[rows["update"] == update]
    if rows.empty:
        when = "the end of training" if update is None else f"update {update}"
        raise MissingData(f"needs {quantity} histograms at {when} of {describe_network(net)}")
    return int(update), rows


def jacobian_at_init(tables: Tables, net: pd.Series) -> pd.Series:
    """Mean singular value of each layer Jacobian dz^i/dz^(i-1) at update 0, by layer."""
    values = layer_stat_table(tables, net, "jacobian", "mean_singular_value")
    if 0 not in values.index:
        raise MissingData(f"needs the Jacobian spectrum at update 0 of {describe_network(net)}")
    return values.loc[0].dropna()


# ---- Figs. 11 and 12: test error curves -------------------------------------------------------
def curve_networks(tables: Tables, dataset: str
                   ) -> tuple[list[tuple[tuple[str, str, int], pd.Series]],
                              list[tuple[str, str, int]]]:
    """(configuration, network) of each of `CURVE_CONFIGS` present on `dataset`, and the
    configurations absent."""
    present, absent = [], []
    for activation, initializer, depth in CURVE_CONFIGS:
        try:
            present.append(((activation, initializer, depth), select_network(
                tables, Config(activation, initializer, depth, dataset))))
        except MissingData:
            absent.append((activation, initializer, depth))
    return present, absent


def pretraining_networks(tables: Tables, dataset: str) -> list[pd.Series]:
    """Fig. 11's reference curve(s): protocol networks whose trick is `pretrain_dae` alone
    (else combined with other tricks), at any budget, at the deepest depth present; one per
    activation/initializer, in their order."""
    runs = tables["runs"]
    runs = runs[(runs["dataset"] == dataset) & runs["protocol"].astype(bool)]
    names = runs["trick"].map(trick_names)
    by_trick = names == (PRETRAIN_TRICK,)  # pre-training alone ...
    if not by_trick.any():  # ... else combined with other tricks
        by_trick = names.map(lambda n: PRETRAIN_TRICK in n)
    pre = runs[by_trick]
    if pre.empty:
        return []
    depth = int(pre["depth"].max())
    pre = pre[pre["depth"] == depth]
    configs = sorted({(a, i) for a, i in zip(pre["activation"], pre["initializer"],
                                             strict=True)})
    return [select_among(pre, Config(activation, initializer, depth, dataset))
            for activation, initializer in configs]


def own_budgets(nets: list[pd.Series]) -> list[tuple[str, int]]:
    """(budget, updates) of the networks trained with a budget of their own (not the
    preset's), sorted."""
    return sorted({(str(n["budget"]), int(n["updates"])) for n in nets
                   if str(n["budget"]) != PAPER_BUDGET})


def final_error(net: pd.Series) -> float:
    """Final test error for ordering; a diverged or missing value counts as the worst."""
    value = net.get("final_test_error")
    return float("inf") if value is None or pd.isna(value) else float(value)


def curve_of(tables: Tables, net: pd.Series, metric: str = "test_error") -> pd.DataFrame:
    """The network's curve of `metric` (rows of the curves table), by update."""
    rows = rows_of(tables["curves"], net)
    return rows[rows["metric"] == metric].sort_values("update")


# ---- final test error against depth (sec. 2.3) ------------------------------------------------
def depth_sweep_errors(tables: Tables, dataset: str = "shapeset") -> tuple[int, pd.DataFrame]:
    """(width, stats): the final test error of the paper's protocol networks on `dataset` per
    (activation, initializer, depth), as mean, std and count over networks (seeds), at the
    width that covers most (configuration, depth) cells (ties: the wider)."""
    runs = paper_rows(tables["runs"])
    rows = runs[(runs["dataset"] == dataset) & runs["protocol"].astype(bool)]
    if rows.empty:
        raise MissingData(f"needs protocol networks on {dataset} at several depths; none found")
    coverage = (rows.groupby("width")[["activation", "initializer", "depth"]]
                .apply(lambda g: len(g.drop_duplicates())))
    width = int(max(coverage.index, key=lambda w: (coverage[w], w)))
    rows = rows[rows["width"] == width]
    if rows["depth"].nunique() < 2:
        raise MissingData(f"needs protocol networks on {dataset} at two or more depths "
                          f"(width {width} has depth {sorted(rows['depth'].unique())} only)")
    stats = (rows.groupby(["activation", "initializer", "depth"])["final_test_error"]
             .agg(["mean", "std", "count"]).reset_index())
    return width, stats
