"""What the paper's claims (P1-P12) share: their conventions, budgets and selections.

The claims themselves are in one module per section of the paper:
`paper_saturation` (Sec. 3, P1-P3), `paper_gradients` (Sec. 4, P4-P9) and `paper_errors`
(Sec. 5, P10-P12). Conventions (see also `trainability.analysis.common`):

- The paper's side uses only the paper's plain SGD at the scale preset's budget (trick
  "none", budget "preset"; the defaults of the selection helpers in
  `trainability.analysis.common`), except P12, which compares trick "pretrain_dae" with
  trick "none" at the budget of the pre-training study.
- The paper's figures use Shapeset-3x2, depth 5, tanh/softsign/sigmoid. The claim functions
  default to dataset "shapeset" and depth 5 and never fall back to another dataset.
- Statistics "at init" are those recorded at update 0, one network per init seed, whatever
  its learning rate. Statistics "during/after training" come from the protocol networks
  (selected learning rate, all seeds), averaged over seeds at each monitor point.
- Budgets: "epoch" = 20,000 updates (`EPOCH_UPDATES`). Claims about the end state of
  training are judged only when the protocol networks trained at least
  `MIN_UPDATES_FINAL` updates; claims about the course of training need
  `MIN_UPDATES_DYNAMICS` to conclude that a phenomenon is absent. Below those budgets the
  verdict is "inconclusive" and `numbers["provisional_verdict"]` says what the data would
  give at that budget. Likewise every claim on trained networks needs the paper's width,
  `MIN_WIDTH` = 1000 units per layer: narrower networks (smoke runs) give provisional
  verdicts only. Each such claim takes `min_updates` / `min_width` options to override.
- Several sub-checks combine as: any "not supported" -> not supported; all "supported" ->
  supported; otherwise inconclusive. Sub-verdicts are in `numbers["parts"]`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from trainability.analysis.common import (
    EPOCH_UPDATES,
    PAPER_WIDTH,
    config_rows,
    init_rows,
    protocol_runs,
)
from trainability.analysis.ledger import INCONCLUSIVE, Finding
from trainability.analysis.table1 import columns

# ---- budgets ------------------------------------------------------------------------------
#: End-of-training claims need at least this many updates (50 epochs, 1/5 of the paper's 5M).
MIN_UPDATES_FINAL = 50 * EPOCH_UPDATES
#: Concluding that a training-time phenomenon is absent needs this many updates (10 epochs).
MIN_UPDATES_DYNAMICS = 10 * EPOCH_UPDATES
#: Claims on networks narrower than this (the paper's width) are provisional only.
MIN_WIDTH = PAPER_WIDTH
WIDTH_NOTE = (f" Networks narrower than {MIN_WIDTH:,} units (the paper's width) give an "
              f"inconclusive verdict with the provisional one in the numbers.")


def paper_datasets() -> list[tuple[str, str]]:
    """(dataset, its Table 1 column) of each of the paper's datasets in the catalog, in the
    paper's column order: [("shapeset", "Shapeset"), ("mnist", "MNIST"), ...]."""
    return [(dataset, column) for column, dataset in columns() if dataset is not None]


def config_text(activation: str, initializer: str, depth: int, dataset: str) -> str:
    return f"{activation}/{initializer} depth {depth} on {dataset}"


def per_network(rows: pd.DataFrame) -> pd.DataFrame:
    """layer_stats rows -> frame indexed by (run, member, update), one column per layer."""
    return rows.pivot_table(index=["run", "member", "update"], columns="layer", values="value",
                            aggfunc="mean", dropna=False)


def seed_mean_curves(rows: pd.DataFrame) -> pd.DataFrame:
    """layer_stats rows -> update x layer: the mean over networks (NaN skipped)."""
    if len(rows) == 0:
        return pd.DataFrame()
    return rows.groupby(["update", "layer"])["value"].mean().unstack("layer").sort_index()


def init_profile(tables, dataset, depth, activation, initializer, quantity, stat
                  ) -> pd.DataFrame:
    """init_seed x layer values at update 0 (one network per seed)."""
    rows = init_rows(tables, "layer_stats", dataset, depth, activation, initializer,
                     quantity=quantity, stat=stat)
    if len(rows) == 0:
        return pd.DataFrame()
    return rows.pivot_table(index="init_seed", columns="layer", values="value",
                            aggfunc="mean").sort_index(axis=1)


def protocol_width(tables, dataset, depth, activation, initializer) -> int | None:
    """Width of the configuration's protocol networks (else of any of its networks)."""
    runs = protocol_runs(tables, dataset, depth, activation, initializer)
    if len(runs):
        return int(runs["width"].iloc[0])
    rows = config_rows(tables, "runs", dataset, depth, activation, initializer, False)
    return int(rows["width"].iloc[0]) if len(rows) else None


def protocol_updates(tables, dataset, depth, activation, initializer) -> float:
    """The shortest training budget (updates) of the configuration's protocol networks."""
    runs = protocol_runs(tables, dataset, depth, activation, initializer)
    return float(runs["updates"].min()) if len(runs) else math.nan


def first_update(series: pd.Series, condition: Callable[[pd.Series], pd.Series],
                 after: float = -math.inf) -> float:
    """First index (update) > after where condition holds, NaN if none."""
    hits = series[(series.index > after) & condition(series).to_numpy()]
    return float(hits.index[0]) if len(hits) else math.nan


def missing(what: str, **numbers: Any) -> Finding:
    return INCONCLUSIVE, f"Needed data absent: {what}.", dict(numbers)
