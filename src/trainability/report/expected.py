"""Which networks the runs should hold, and the settings the report states: read from the plan
the pipeline wrote (results/plan.json, trainability.pipeline.plan), never planned again here.
Without a plan (a report built from tables alone) the networks are inferred from the runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from trainability.analysis.common import PAPER_UPDATES
from trainability.report.format import dataset_label, dataset_rank, finite_number, fmt_any
from trainability.report.runs import (
    PLAIN_TRICK,
    PRESET_BUDGET,
    budget_label,
    is_diverged,
    run_record,
    sort_runs,
    train_size_of,
)

#: What identifies a configuration (a grid point) in the runs table.
CONFIG_KEYS = ("dataset", "depth", "width", "activation", "initializer", "trick", "budget",
               "train_size")


def load_plan(path: str | Path | None) -> dict[str, Any] | None:
    """The plan document (trainability.pipeline.plan.Plan.to_dict), or None without one."""
    if path is None or not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text())


def _config_of(row: Any) -> tuple:
    """The CONFIG_KEYS of a runs row or a planned network (dicts), normalized."""
    return (str(row["dataset"]), int(row["depth"]), int(row["width"]),
            str(row["activation"]), str(row["initializer"]),
            str(row.get("trick") or PLAIN_TRICK), str(row.get("budget") or PRESET_BUDGET),
            train_size_of(row.get("train_size")))


def _inferred_schedule(runs: pd.DataFrame) -> tuple[list[float], list[int], list[int]]:
    """(sweep rates, sweep seeds, rerun seeds) seen in `runs`."""
    sweep = runs[runs["stage"] == "sweep"]
    seeds = runs[runs["stage"] == "seeds"]
    return (sorted(sweep["lr"].unique().tolist()), sorted(sweep["init_seed"].unique().tolist()),
            sorted(seeds["init_seed"].unique().tolist()))


def planned_networks(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every network of the plan: each job's members, with its stage; a seeds job's members
    have no learning rate yet (it is selected on the sweep)."""
    networks = []
    for job in plan["jobs"]:
        bundle = job["bundle"]
        for member in bundle["members"]:
            networks.append({**{key: bundle.get(key) for key in ("dataset", "depth", "width",
                                                                 "budget", "train_size")},
                             "activation": member["activation"],
                             "initializer": member["initializer"], "trick": member["trick"],
                             "stage": job["stage"], "lr": member["lr"],
                             "init_seed": member["seed"]})
    return networks


def expected_networks(plan: dict[str, Any] | None, runs: pd.DataFrame
                      ) -> tuple[list[dict[str, Any]], str]:
    """Every network the protocol should have trained, and where that list comes from: the
    plan; without one, the runs themselves (every configuration present should have every
    sweep rate and every seed that appears anywhere in its budget)."""
    if plan is not None:
        return planned_networks(plan), "the plan (results/plan.json)"
    if runs.empty:
        return [], "nothing (no plan was given and no run was found)"
    expected = []
    for budget_name in sorted(runs["budget"].astype(str).unique()):
        mine = runs[runs["budget"].astype(str) == budget_name]
        rates, sweep_seeds, other_seeds = _inferred_schedule(mine)
        for config in sorted({_config_of(r) for r in mine.to_dict("records")},
                             key=lambda c: (dataset_rank(c[0]), *map(str, c))):
            base = dict(zip(CONFIG_KEYS, config, strict=True))
            expected += [dict(base, stage="sweep", lr=float(lr), init_seed=int(seed))
                         for lr in rates for seed in sweep_seeds]
            expected += [dict(base, stage="seeds", lr=None, init_seed=int(seed))
                         for seed in other_seeds]
    return expected, ("the runs themselves (no plan was given): every configuration present "
                      "should have every sweep rate and every seed that appears anywhere in "
                      "its budget")


def missing_networks(expected: list[dict[str, Any]], runs: pd.DataFrame
                     ) -> list[dict[str, Any]]:
    """The expected networks with no row in runs, grouped by configuration and stage."""
    present_sweep, present_seeds, all_diverged = set(), set(), set()
    if not runs.empty:
        runs = runs.assign(_div=is_diverged(runs))
        by_config: dict[tuple, list[bool]] = {}
        for row in runs.to_dict("records"):
            config = _config_of(row)
            if row["stage"] == "sweep":
                present_sweep.add((*config, round(float(row["lr"]), 12), int(row["init_seed"])))
                by_config.setdefault(config, []).append(bool(row["_div"]))
            else:
                present_seeds.add((*config, int(row["init_seed"])))
        all_diverged = {config for config, flags in by_config.items() if all(flags)}
    groups: dict[tuple, dict[str, Any]] = {}
    for net in expected:
        config = _config_of(net)
        if net["stage"] == "sweep":
            key = (*config, round(float(net["lr"]), 12), int(net["init_seed"]))
            if key in present_sweep:
                continue
            what = f"lr {net['lr']:g}, seed {net['init_seed']}"
        else:
            if (*config, int(net["init_seed"])) in present_seeds:
                continue
            what = f"seed {net['init_seed']}"
        group = groups.setdefault((*config, net["stage"]), {
            "dataset": dataset_label(config[0]), "depth": config[1], "width": config[2],
            "activation": config[3], "initializer": config[4], "trick": config[5],
            "budget": budget_label(config[6], config[7]), "stage": net["stage"],
            "members": [], "reason": "no result in runs.parquet"})
        group["members"].append(what)
        if net["stage"] == "seeds" and config in all_diverged:
            group["reason"] = "every sweep rate diverged, so no learning rate was selected"
    return list(groups.values())


def runs_context(runs: pd.DataFrame, plan: dict[str, Any] | None) -> dict[str, Any]:
    runs = sort_runs(runs)
    records = [run_record(r) for r in runs.to_dict("records")]
    expected, source = expected_networks(plan, runs)
    missing = missing_networks(expected, runs)
    return {
        "all": records,
        "diverged": [r for r in records if r["diverged"]],
        "missing": missing,
        "n_missing": sum(len(m["members"]) for m in missing),
        "n_expected": len(expected),
        "expected_source": source,
        "n_protocol": sum(r["protocol"] for r in records),
        "stages": {s: sum(r["stage"] == s for r in records) for s in ("sweep", "seeds")},
    }


def preset_budget(plan: dict[str, Any] | None) -> dict[str, Any] | None:
    """The preset's own budget (trainability.pipeline.settings.Budget, as a dict)."""
    return (plan or {}).get("budgets", {}).get(PRESET_BUDGET)


def settings_context(plan: dict[str, Any] | None) -> dict[str, Any]:
    """The preset's name, the budget the runs were given and the datasets."""
    budget = preset_budget(plan) or {}
    labels = {
        "updates": "SGD updates per network", "batch_size": "examples per update",
        "eval_every": "updates between error records",
        "monitor_every": "updates between layer statistics",
        "lr_grid": "learning-rate grid", "seeds": "init seeds", "width": "units per layer",
        "monitor_size": "monitor examples", "valid_size": "validation examples (Shapeset)",
        "test_size": "test examples (Shapeset)",
    }
    rows = []
    for key, value in budget.items():
        shown = (", ".join(fmt_any(v) for v in value) if isinstance(value, list | tuple)
                 else f"{value:,}" if isinstance(value, int) and not isinstance(value, bool)
                 else fmt_any(value))
        rows.append((labels.get(key, key), shown))
    if plan is not None:
        rows.append(("datasets", ", ".join(dataset_label(d) for d in plan["datasets"])))
    updates = finite_number(budget.get("updates"))
    return {
        "scale": (plan or {}).get("config", {}).get("scale"),
        "budget": rows,
        "fraction_of_paper": (f"{updates / PAPER_UPDATES * 100:.2g}%" if updates else None),
        "updates": f"{int(updates):,}" if updates else None,
    }
