"""The paper's learning-rate protocol: per configuration, keep the rate with the lowest
validation error at the end of training ("after a large number of updates").

Diverged members are never chosen; ties go to the smaller rate. A configuration whose every
rate diverged keeps the smallest rate, flagged `all_diverged`: it is a result (this network
cannot be trained at any rate tried), so the seeds stage reruns it there and the tables,
Table 1 and the heat map report it as diverged rather than leaving a hole in the grid.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from trainability.atomic import write_json
from trainability.train.config import BundleConfig
from trainability.train.outputs import read_run


def final_metrics(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per member: its last recorded value of every metric (NaN if diverged)."""
    last = curves[curves["update"] == curves["update"].max()]
    return last.pivot_table(index="member", columns="metric", values="value", dropna=False)


def select_rates(run_dir: str | Path) -> pd.DataFrame:
    """(activation, initializer, trick) -> chosen lr, its final valid error (NaN when every
    rate diverged), what was tried, which rates diverged, and `all_diverged`."""
    info, tables = read_run(run_dir)
    members = pd.DataFrame(info["config"]["members"])
    members["member"] = range(len(members))
    if "trick" not in members:
        members["trick"] = "none"
    final = final_metrics(tables["curves"]).reset_index()
    frame = members.merge(final, on="member")
    rows = []
    for (activation, initializer, trick), group in frame.groupby(
            ["activation", "initializer", "trick"]):
        finite = group[group["valid_error"].notna()].sort_values(["valid_error", "lr"])
        best = finite.iloc[0] if len(finite) else group.sort_values("lr").iloc[0]
        rows.append({
            "activation": activation, "initializer": initializer, "trick": trick,
            "lr": float(best["lr"]),
            "valid_error": float(best["valid_error"]) if len(finite) else math.nan,
            "tried": sorted(group["lr"].tolist()),
            "diverged": sorted(group.loc[group["valid_error"].isna(), "lr"].tolist()),
            "all_diverged": not len(finite),
        })
    return pd.DataFrame(rows)


def write_selection(run_dir: str | Path, out: str | Path) -> Path:
    """Write the selection as JSON (atomically) and return its path."""
    records = json.loads(select_rates(run_dir).to_json(orient="records"))
    return write_json(out, {"sweep": str(run_dir), "rates": records})


def read_selection(path: str | Path) -> dict[tuple[str, str, str], float]:
    """{(activation, initializer, trick): lr} for every configuration with a selection."""
    records = json.loads(Path(path).read_text())["rates"]
    return {(r["activation"], r["initializer"], r.get("trick", "none")): r["lr"]
            for r in records
            if r["lr"] is not None and not math.isnan(r["lr"])}


def seeds_bundle(job: dict, rates: dict[tuple[str, str, str], float]) -> BundleConfig:
    """The bundle of a seeds job: `job` as the plan holds it (trainability.pipeline.plan,
    PlannedJob.to_dict: its members' learning rates are null) with each member's rate the
    one selected for its (activation, initializer, trick)."""
    members = []
    for member in job["bundle"]["members"]:
        key = (member["activation"], member["initializer"], member["trick"])
        if key not in rates:
            raise ValueError(f"no selected learning rate for {'/'.join(key)}; rerun the "
                             "sweep stage")
        members.append(member | {"lr": rates[key]})
    return BundleConfig.from_dict(job["bundle"] | {"members": members})


def write_seeds_bundle(job: dict, selection: str | Path, out: str | Path) -> Path:
    """Write the seeds job's bundle (JSON, a `trainability train --config` file)."""
    return write_json(out, seeds_bundle(job, read_selection(selection)).to_dict())
