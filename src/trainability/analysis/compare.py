"""Two runs side by side: what differs between them, judged by the rules of the report.

A *run* here is one set of aggregated tables (trainability.results.read_tables): a results
folder of the workflow, or reference results. Run A is the baseline and run B the run compared
with it; every difference is B − A.

- `table1_comparison`: Table 1 of each run (`trainability.analysis.table1.table1`, with its
  bold rule) and, per cell, the difference of the mean test errors B − A in percentage points
  and the p-value of Welch's two-sample t-test of B's networks against A's
  (`trainability.analysis.stats.welch_p`: the test of Table 1's bold rule) at the same level
  (`BOLD_ALPHA`, the paper's p = 0.005). A difference is *significant* when p < alpha; with
  fewer than 2 networks in either cell the test is undefined (p NaN) and the difference is
  not significant, as Table 1 bolds only the best cell then.
- `claims_comparison`: each claim's verdict in A and in B, and whether it changed.
- `error_curves`: the test-error curve (%) of every protocol network, with what identifies
  it, in the long format the interactive views draw (one row per network and update).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from trainability.analysis.common import RUN_KEY, is_diverged
from trainability.analysis.ledger import claim_order
from trainability.analysis.stats import welch_p
from trainability.analysis.table1 import BOLD_ALPHA, table1
from trainability.analysis.table1 import cell_errors as table1_cell

Tables = Mapping[str, pd.DataFrame]

#: What identifies a network's configuration in the curves views (the runs table's columns).
FACETS = ("dataset", "activation", "initializer", "depth", "trick", "budget")
#: Columns of `table1_comparison` besides the suffixed per-run ones.
CELL_KEYS = ("row", "dataset", "depth", "paper_test_error")
#: Per-run columns of the Table 1 comparison, suffixed "_a" and "_b".
SIDE_COLUMNS = ("status", "n_seeds", "n_diverged", "mean_test_error", "ci95_halfwidth",
                "bold", "best", "lr", "width", "updates")
#: How `table1_comparison` decides that a cell differs, in words (the report prints it).
DIFFERENCE_RULE = (f"Welch's two-sample t-test (unequal variances, two-sided) of run B's "
                   f"networks against run A's in the same cell; significant when p < "
                   f"{BOLD_ALPHA:g}, the level of Table 1's bold rule")


def _cell_errors(tables: Tables, row: Mapping[str, Any]) -> np.ndarray:
    """The test errors (%) of the networks in one Table 1 cell (a row of `table1`): the
    protocol networks of its configuration, diverged ones left out, as Table 1 counts them."""
    if not row["dataset_key"]:
        return np.array([])
    _, errors = table1_cell(tables, row["dataset_key"], int(row["depth"]), row["activation"],
                            row["initializer"])
    return errors


def table1_comparison(tables_a: Tables, tables_b: Tables, alpha: float = BOLD_ALPHA,
                      **table1_options: Any) -> pd.DataFrame:
    """One row per Table 1 cell (paper's row x dataset column, the paper's order):

        row, dataset, depth, paper_test_error,
        <SIDE_COLUMNS>_a, <SIDE_COLUMNS>_b   each run's Table 1 cell (errors in %),
        diff        mean_test_error_b − mean_test_error_a (percentage points; NaN unless
                    both cells have a mean),
        p_value     Welch's t-test of B's errors against A's (NaN with < 2 networks in a cell),
        significant p_value < alpha.

    `table1_options` go to `table1` for both runs (depth, sigmoid_depth).
    """
    frame_a = table1(tables_a, alpha=alpha, **table1_options)
    frame_b = table1(tables_b, alpha=alpha, **table1_options)
    records = []  # both frames list the same cells in the same order (ROWS x columns())
    for (_, row_a), (_, row_b) in zip(frame_a.iterrows(), frame_b.iterrows(), strict=True):
        p = welch_p(_cell_errors(tables_b, row_b), _cell_errors(tables_a, row_a))
        record = {key: row_a[key] for key in CELL_KEYS}
        for side, row in (("a", row_a), ("b", row_b)):
            record.update({f"{column}_{side}": row[column] for column in SIDE_COLUMNS})
        record.update(diff=row_b["mean_test_error"] - row_a["mean_test_error"], p_value=p,
                      significant=bool(math.isfinite(p) and p < alpha))
        records.append(record)
    return pd.DataFrame.from_records(records)


def claims_comparison(claims_a: Iterable[Mapping[str, Any]],
                      claims_b: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each claim of either run, in the ledger's order (P before S, by number): its id, its
    text, its verdict in A and in B (None where that run has no verdict for it) and whether
    the verdicts differ (`changed`; a claim judged in one run only counts as changed)."""
    by_a = {str(c["id"]): c for c in claims_a}
    by_b = {str(c["id"]): c for c in claims_b}
    rows = []
    for claim_id in sorted(set(by_a) | set(by_b), key=claim_order):
        a, b = by_a.get(claim_id), by_b.get(claim_id)
        verdict_a = a.get("verdict") if a is not None else None
        verdict_b = b.get("verdict") if b is not None else None
        rows.append({"id": claim_id, "claim": (a or b).get("claim", ""),
                     "verdict_a": verdict_a, "verdict_b": verdict_b,
                     "changed": verdict_a != verdict_b})
    return rows


def error_curves(tables: Tables, metric: str = "test_error",
                 protocol_only: bool = True) -> pd.DataFrame:
    """The `metric` curve of every network (only the protocol networks by default: each
    configuration at its selected learning rate, every seed), in the long format

        run, member, dataset, depth, width, activation, initializer, trick, budget,
        train_size, lr, init_seed, stage, diverged, update, value

    `value` is the metric in percent for an error metric (name ending in "_error"), else as
    recorded. Rows are ordered by network (run, member) and update. Empty (with these
    columns) when a table is missing or empty.
    """
    keys = [*RUN_KEY, "dataset", "depth", "width", "activation", "initializer", "trick",
            "budget", "train_size", "lr", "init_seed", "stage"]
    columns = [*keys, "diverged", "update", "value"]
    runs, curves = tables.get("runs"), tables.get("curves")
    if runs is None or curves is None or len(runs) == 0 or len(curves) == 0:
        return pd.DataFrame(columns=columns)
    if protocol_only:
        runs = runs[runs["protocol"].astype(bool)]
    networks = runs[keys].assign(diverged=is_diverged(runs).to_numpy())
    rows = curves.loc[curves["metric"] == metric, [*RUN_KEY, "update", "value"]]
    merged = networks.merge(rows, on=RUN_KEY, how="inner")
    if metric.endswith("_error"):
        merged["value"] = merged["value"] * 100.0
    return merged.sort_values([*RUN_KEY, "update"], kind="stable").reset_index(drop=True)[columns]
