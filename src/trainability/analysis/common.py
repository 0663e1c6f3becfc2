"""What every part of the analysis means by a network, a configuration and the paper's side.

Everything here reads the tidy tables of `trainability.results.read_tables` (`runs`,
`curves`, `layer_stats`, `histograms`; every declared column present with its type) and never
modifies them.

Conventions used throughout the analysis layer (and by the figures, which draw what it picks):

- A *configuration* is (dataset, depth, activation, initializer); when several widths are
  present for one configuration the largest is used (the paper's width is 1000; smaller
  widths come from smoke runs) and the width is reported.
- *Protocol* networks are the rows with `protocol == True` in `runs`: the member at the
  selected learning rate of each sweep plus every member of the seeds stage. Statistics of
  other tables are attached to runs through the (run, member) key.
- A network is *diverged* when `diverged_at` is set or its final test error is NaN.
- The trick axis: every network has a `trick` ("none" = the paper's plain SGD) and a `budget`
  ("preset" = the scale preset's budget, else the name of a study with its own budget). The
  paper's side (Table 1, P1-P11, the paper's figures) uses only trick "none" at the preset
  budget: `protocol_runs`, `config_rows` and `init_rows` filter on (trick, budget), default
  ("none", "preset"); pass None to accept any value.
- "Epoch" means 20,000 updates, the unit of the paper's training-time figures (whether the
  paper meant updates or examples is UNCONFIRMED, see the fact sheet Sec. 1.7).

numpy and pandas load on first use: the figures import this module, and the workflow imports
the figures at every planning (trainability.lazy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from trainability.data.catalog import DATASETS
from trainability.lazy import lazy_import

np = lazy_import("numpy")
pd = lazy_import("pandas")

#: Updates in one "epoch" of the paper's training-time figures.
EPOCH_UPDATES = 20_000
#: The paper's training budget, in updates ("a large number of updates (5 million)").
PAPER_UPDATES = 5_000_000
#: The paper's units per hidden layer.
PAPER_WIDTH = 1000

RUN_KEY = ["run", "member"]
#: The paper's plain SGD on the trick axis, and the scale preset's budget.
PAPER_TRICK = "none"
PAPER_BUDGET = "preset"
#: Values of BundleConfig.inputs: raw pixels (the paper's setting), or standardized.
RAW_INPUTS, STANDARDIZED_INPUTS = "raw", "standardized"


def dataset_rank(dataset: str) -> tuple[int, str]:
    """Sort key of dataset names: the catalog's order (trainability.data.catalog), then
    datasets it does not know, by name."""
    order = list(DATASETS)
    return (order.index(dataset) if dataset in order else len(order), str(dataset))


def tables_empty(tables: Mapping[str, pd.DataFrame], name: str) -> bool:
    frame = tables.get(name)
    return frame is None or len(frame) == 0


def is_diverged(runs: pd.DataFrame) -> pd.Series:
    """Boolean Series: the network diverged (diverged_at set or no final test error)."""
    diverged = runs["diverged_at"].notna() if "diverged_at" in runs else False
    return pd.Series(np.asarray(diverged, dtype=bool) | runs["final_test_error"].isna().to_numpy(),
                     index=runs.index)


def on_axes(frame: pd.DataFrame, trick: str | None = PAPER_TRICK,
            budget: str | None = PAPER_BUDGET) -> pd.DataFrame:
    """Rows of `frame` (any of the four tables: each row carries its network's trick and
    budget) with this trick and budget (None: any)."""
    if trick is None and budget is None:
        return frame
    mask = np.ones(len(frame), dtype=bool)
    if trick is not None:
        mask &= (frame["trick"].astype(str) == trick).to_numpy()
    if budget is not None:
        mask &= (frame["budget"].astype(str) == budget).to_numpy()
    return frame[mask]


def paper_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's side: trick "none" at the preset budget."""
    return on_axes(frame, PAPER_TRICK, PAPER_BUDGET)


def trick_names(trick: Any) -> tuple[str, ...]:
    """The spec names of a trick string: "batchnorm+clip_norm:1" -> ("batchnorm",
    "clip_norm"); "none" (or a missing value) -> ()."""
    if trick is None or (isinstance(trick, float) and math.isnan(trick)):
        return ()
    text = str(trick).strip()
    if text in ("", PAPER_TRICK):
        return ()
    return tuple(item.split(":", 1)[0].strip() for item in text.split("+"))


def _match(frame: pd.DataFrame, **where: Any) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        if value is None:
            continue
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def largest_width(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep only the rows of the largest width present."""
    if len(frame) == 0 or "width" not in frame:
        return frame
    return frame[frame["width"] == frame["width"].max()]


def protocol_runs(tables: Mapping[str, pd.DataFrame], dataset: str, depth: int,
                  activation: str, initializer: str, trick: str | None = PAPER_TRICK,
                  budget: str | None = PAPER_BUDGET) -> pd.DataFrame:
    """The protocol networks of one configuration (largest width), one row per seed.

    Only networks with this trick and budget (default: the paper's plain SGD at the preset
    budget; None = any). If the same (width, lr, seed, data seed) network appears in both
    stages it is counted once.
    """
    if tables_empty(tables, "runs"):
        return pd.DataFrame()
    runs = on_axes(tables["runs"], trick, budget)
    rows = _match(runs[runs["protocol"].astype(bool)], dataset=dataset, depth=depth,
                  activation=activation, initializer=initializer)
    rows = largest_width(rows)
    keys = [c for c in ("width", "lr", "init_seed", "data_seed", "batch_size") if c in rows]
    return rows.sort_values(["stage", "run", "member"]).drop_duplicates(keys)


def config_rows(tables: Mapping[str, pd.DataFrame], name: str, dataset: str, depth: int,
                activation: str, initializer: str, protocol_only: bool,
                trick: str | None = PAPER_TRICK, budget: str | None = PAPER_BUDGET,
                **where: Any) -> pd.DataFrame:
    """Rows of table `name` for one configuration (largest width).

    With protocol_only, only rows of protocol networks (matched by run and member) are kept;
    otherwise every network of the configuration, whatever its learning rate. Only networks
    with this trick and budget (default the paper's; None = any).
    """
    if tables_empty(tables, name):
        return pd.DataFrame()
    rows = _match(tables[name], dataset=dataset, depth=depth, activation=activation,
                  initializer=initializer, **where)
    rows = on_axes(rows, trick, budget)
    if protocol_only and len(rows):
        chosen = protocol_runs(tables, dataset, depth, activation, initializer, trick, budget)
        if len(chosen) == 0:
            return rows.iloc[0:0]
        rows = rows.merge(chosen[RUN_KEY], on=RUN_KEY, how="inner")
    return largest_width(rows)


def init_rows(tables: Mapping[str, pd.DataFrame], name: str, dataset: str, depth: int,
              activation: str, initializer: str, trick: str | None = PAPER_TRICK,
              budget: str | None = PAPER_BUDGET, **where: Any) -> pd.DataFrame:
    """Rows at update 0 (initialization), one network per init seed.

    At update 0 the learning rate plays no part, so every network of the configuration
    counts, and networks sharing an init seed (the same weights at different rates) are
    counted once: the first by (run, member).
    """
    rows = config_rows(tables, name, dataset, depth, activation, initializer,
                       protocol_only=False, trick=trick, budget=budget, update=0, **where)
    if len(rows) == 0:
        return rows
    first = (rows[[*RUN_KEY, "init_seed"]].drop_duplicates()
             .sort_values(RUN_KEY).drop_duplicates("init_seed"))
    return rows.merge(first[RUN_KEY], on=RUN_KEY, how="inner")


def drop_diverged(rows: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """`rows` without those of diverged networks (matched by run and member)."""
    if len(rows) == 0 or tables_empty(tables, "runs"):
        return rows
    runs = tables["runs"]
    diverged = runs.loc[is_diverged(runs), RUN_KEY].drop_duplicates()
    if len(diverged) == 0:
        return rows
    marked = rows.merge(diverged.assign(_diverged=True), on=RUN_KEY, how="left")
    return rows[marked["_diverged"].isna().to_numpy()]


def jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to JSON-ready Python; NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        return [jsonable(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    return value if isinstance(value, str) else str(value)
