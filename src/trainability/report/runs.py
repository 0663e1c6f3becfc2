"""The runs the report lists: the runs table read through the schema, one record per network,
and the depth sweep's table of mean errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from trainability.analysis.common import PAPER_BUDGET, PAPER_TRICK, is_diverged
from trainability.report.format import dataset_label, dataset_rank, finite_number, fmt_number
from trainability.results import REAGGREGATE, RUNS_COLUMNS, conform, read_table

#: The paper's plain SGD and the preset's budget, as the runs table spells them.
PLAIN_TRICK, PRESET_BUDGET = PAPER_TRICK, PAPER_BUDGET


def load_runs(tables_dir: str | Path | None) -> pd.DataFrame:
    """The runs table (trainability.results: every declared column, checked); an empty one
    with the declared columns when there is none."""
    path = Path(tables_dir) / "runs.parquet" if tables_dir is not None else None
    if path is None or not path.is_file():
        return conform(pd.DataFrame(columns=list(RUNS_COLUMNS)), "runs", aggregated=True)
    return read_table(path, "runs", aggregated=True, rebuild=REAGGREGATE)


def sort_runs(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return runs
    keys = runs.assign(_d=runs["dataset"].map(dataset_rank),
                       _s=runs["stage"].map({"sweep": 0, "seeds": 1}).fillna(2))
    order = ["_d", "dataset", "depth", "width", "activation", "initializer", "budget", "trick",
             "_s", "lr", "init_seed"]
    return keys.sort_values(order, kind="stable").drop(columns=["_d", "_s"])


def run_record(row: dict[str, Any]) -> dict[str, Any]:
    diverged_at = finite_number(row.get("diverged_at"))
    updates = row.get("updates")
    error = finite_number(row.get("final_test_error"))
    valid = finite_number(row.get("best_valid_error"))
    diverged = diverged_at is not None or error is None
    if diverged_at is not None:
        status = (f"DIVERGED at update {int(diverged_at)}"
                  + (f" of {int(updates)}" if finite_number(updates) is not None else ""))
    elif error is None:
        status = "DIVERGED (no final test error; update not recorded)"
    else:
        status = "trained"
    return {
        "run": row.get("run", ""), "dataset": dataset_label(row.get("dataset", "")),
        "depth": row.get("depth", ""), "width": row.get("width", ""),
        "activation": row.get("activation", ""), "initializer": row.get("initializer", ""),
        "lr": f"{row['lr']:g}" if finite_number(row.get("lr")) is not None else "–",
        "seed": row.get("init_seed", ""), "stage": row.get("stage", ""),
        "protocol": bool(row.get("protocol", False)),
        "trick": str(row["trick"]),
        "budget": budget_label(row["budget"], row.get("train_size")),
        "diverged": diverged,
        "status": status,
        "test_error": fmt_number(error * 100) if error is not None else "–",
        "valid_error": fmt_number(valid * 100) if valid is not None else "–",
    }


def train_size_of(value: Any) -> int | None:
    number = finite_number(value)
    return int(number) if number is not None else None


def budget_label(budget: Any, train_size: Any = None) -> str:
    """"preset", "tricks", "tricks, 1,000 training examples"."""
    size = train_size_of(train_size)
    return str(budget) + (f", {size:,} training examples" if size is not None else "")


def depth_table(runs: pd.DataFrame) -> dict[str, Any] | None:
    """Mean final test error (%) of the protocol networks by configuration x depth, for
    every dataset trained at three depths or more. None when there is no such dataset."""
    if runs.empty or "protocol" not in runs.columns:
        return None
    protocol = runs[runs["protocol"].astype(bool)].assign(_div=is_diverged(runs))
    tables = []
    for dataset, frame in sorted(protocol.groupby("dataset"), key=lambda x: dataset_rank(x[0])):
        depths = sorted(frame["depth"].unique().tolist())
        if len(depths) < 3:  # two depths (e.g. Table 1's 5 and sigmoid's 4) are no sweep
            continue
        rows = []
        for (activation, initializer), group in frame.groupby(["activation", "initializer"]):
            means = {}
            for depth in depths:
                at = group[group["depth"] == depth]
                finite = at.loc[~at["_div"], "final_test_error"].dropna()
                means[depth] = (float(finite.mean()) * 100 if len(finite) else None,
                                len(finite), int(at["_div"].sum()))
            finite_means = {d: m[0] for d, m in means.items() if m[0] is not None}
            best = min(finite_means, key=finite_means.get) if finite_means else None
            rows.append({"activation": activation, "initializer": initializer,
                         "best": best,
                         "cells": [{"depth": d, "mean": fmt_number(means[d][0]), "n": means[d][1],
                                    "diverged": means[d][2], "best": d == best}
                                   for d in depths]})
        tables.append({"dataset": dataset_label(dataset), "depths": depths, "rows": rows})
    return {"tables": tables} if tables else None
