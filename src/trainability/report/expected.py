"""Which networks the runs should hold, and the settings the report states: derived from the
workflow's settings by planning the grid again (trainability.pipeline).

Moved here unchanged from report/build.py, so that this module alone can be rewritten to read
the plan file the pipeline writes (results/plan.json) instead of planning again.
"""

from __future__ import annotations

from dataclasses import asdict
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


def _config_of(row: Any) -> tuple:
    """The CONFIG_KEYS of a runs row (a dict) or a grid point (an object), normalized."""
    get = row.get if isinstance(row, dict) else (lambda key, default=None:
                                                 getattr(row, key, default))
    return (str(get("dataset")), int(get("depth")), int(get("width")),
            str(get("activation")), str(get("initializer")),
            str(get("trick", PLAIN_TRICK) or PLAIN_TRICK),
            str(get("budget", PRESET_BUDGET) or PRESET_BUDGET),
            train_size_of(get("train_size", None)))


def _inferred_schedule(runs: pd.DataFrame) -> tuple[list[float], list[int], list[int]]:
    """(sweep rates, sweep seeds, rerun seeds) seen in `runs`."""
    sweep = runs[runs["stage"] == "sweep"]
    seeds = runs[runs["stage"] == "seeds"]
    return (sorted(sweep["lr"].unique().tolist()), sorted(sweep["init_seed"].unique().tolist()),
            sorted(seeds["init_seed"].unique().tolist()))


def _budget_of(grid: dict[str, Any], name: str, preset: Any) -> Any:
    """The Budget `name` of the report's grid config, or None when it is not defined there."""
    if name == PRESET_BUDGET:
        return preset
    from trainability.pipeline.settings import resolve_budget
    try:
        return resolve_budget(grid, name)
    except (ValueError, TypeError, KeyError):
        return None


def expected_networks(settings: dict[str, Any] | None, runs: pd.DataFrame
                      ) -> tuple[list[dict[str, Any]], str]:
    """Every network the protocol should have trained, and where that list comes from.

    From the studies of `settings` (see `resolve_settings`): each grid point x every learning
    rate of its budget's grid with the first seed (sweep), and x the other seeds at the
    selected rate (seeds). A study whose budget `settings` does not define (its `budgets`) is
    inferred from its runs. Without studies, inferred from the runs themselves: every
    configuration present should have every sweep rate and every seed that appears anywhere
    in its budget.
    """
    budget, _, grid = resolve_settings(settings)
    #: (config, rates, sweep seeds, other seeds)
    schedule: list[tuple[tuple, list, list, list]] = []
    inferred_budgets: list[str] = []
    if grid is not None and budget is not None:
        from trainability.pipeline.plan import grid_points
        source = "the workflow's studies and budget"
        for name, study in grid["studies"].items():
            budget_name = str(study.get("budget", PRESET_BUDGET))
            own = _budget_of(grid, budget_name, budget)
            if own is None:
                inferred_budgets.append(budget_name)
                continue
            try:
                points = grid_points({**grid, "studies": {name: study}})
            except (ValueError, KeyError):
                inferred_budgets.append(budget_name)
                continue
            for point in points:
                schedule.append((_config_of(point), list(own.lr_grid), [own.seeds[0]],
                                 list(own.seeds[1:])))
        if inferred_budgets:
            source += ("; for budget " + ", ".join(sorted(set(inferred_budgets)))
                       + ", which the settings do not define, the runs themselves")
    else:
        if runs.empty:
            return [], "nothing (no config was given and no run was found)"
        inferred_budgets = sorted(runs["budget"].astype(str).unique())
        source = ("the runs themselves (the studies were not given): every configuration "
                  "present should have every sweep rate and every seed that appears anywhere "
                  "in its budget")
    for budget_name in sorted(set(inferred_budgets)):
        mine = runs[runs["budget"].astype(str) == budget_name] if not runs.empty else runs
        if mine.empty:
            continue
        rates, sweep_seeds, other_seeds = _inferred_schedule(mine)
        for config in sorted({_config_of(r) for r in mine.to_dict("records")},
                             key=lambda c: (dataset_rank(c[0]), *map(str, c))):
            schedule.append((config, rates, sweep_seeds, other_seeds))
    expected, seen = [], set()
    for config, rates, sweep_seeds, other_seeds in schedule:
        if config in seen:  # a grid point that several studies ask for trains once
            continue
        seen.add(config)
        base = dict(zip(CONFIG_KEYS, config, strict=True))
        for lr in rates:
            for seed in sweep_seeds:
                expected.append(dict(base, stage="sweep", lr=float(lr), init_seed=int(seed)))
        for seed in other_seeds:
            expected.append(dict(base, stage="seeds", lr=None, init_seed=int(seed)))
    return expected, source


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


def runs_context(runs: pd.DataFrame, settings: dict[str, Any] | None) -> dict[str, Any]:
    runs = sort_runs(runs)
    records = [run_record(r) for r in runs.to_dict("records")]
    expected, source = expected_networks(settings, runs)
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


def resolve_settings(settings: dict[str, Any] | None
                     ) -> tuple[Any, list[str] | None, dict[str, Any] | None]:
    """(Budget or None, datasets or None, a config for `plan.grid_points` or None).

    `settings` is either what the workflow passes (`workflow_settings()` in
    workflow/rules/common.smk: scale, datasets, resolved_datasets, budget, and optionally
    studies and `budgets`, the studies' own budgets by name, each a full budget) or a full
    config.yaml (presets, studies). The grid needs the studies; it carries the studies' own
    budgets that the settings define.
    """
    from trainability.pipeline.settings import Budget, resolve_budget, resolve_datasets

    settings = dict(settings or {})
    budget = None
    if isinstance(settings.get("budget"), dict):
        fields = Budget.__dataclass_fields__
        budget = Budget(**{k: v for k, v in settings["budget"].items() if k in fields})
    elif settings.get("scale") in (settings.get("presets") or {}):
        budget = resolve_budget(settings)
    datasets = settings.get("resolved_datasets")
    if datasets is None and "presets" in settings and "studies" in settings:
        datasets = resolve_datasets(settings)
    if datasets is None and isinstance(settings.get("datasets"), list):
        datasets = list(settings["datasets"])
    grid = None
    if budget is not None and datasets is not None and isinstance(settings.get("studies"), dict):
        grid = {"scale": "report",
                "presets": {"report": {**asdict(budget), "budgets": _own_budgets(settings)}},
                "datasets": list(datasets), "studies": settings["studies"]}
    return budget, datasets, grid


def _own_budgets(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The studies' own budgets by name, as full budget dicts: from the settings' `budgets`,
    or resolved from a full config's preset."""
    from trainability.pipeline.settings import resolve_budget

    if isinstance(settings.get("budgets"), dict):
        return {str(k): dict(v) for k, v in settings["budgets"].items() if isinstance(v, dict)}
    preset = (settings.get("presets") or {}).get(settings.get("scale")) or {}
    budgets = {}
    for name in preset.get("budgets") or {}:
        try:
            budgets[str(name)] = asdict(resolve_budget(settings, name))
        except (TypeError, ValueError):  # an older resolve_budget without named budgets
            continue
    return budgets


def settings_context(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The preset's name and the budget the runs were given."""
    budget_obj, datasets, _ = resolve_settings(settings)
    budget = asdict(budget_obj) if budget_obj is not None else {}
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
                 else f"{value:,}" if isinstance(value, int) else fmt_any(value))
        rows.append((labels.get(key, key), shown))
    if datasets is not None:
        shown = (", ".join(dataset_label(d) for d in datasets)
                 if isinstance(datasets, list | tuple) else str(datasets))
        rows.append(("datasets", shown))
    updates = finite_number(budget.get("updates"))
    return {
        "scale": (settings or {}).get("scale"),
        "budget": rows,
        "fraction_of_paper": (f"{updates / PAPER_UPDATES * 100:.2g}%" if updates else None),
        "updates": f"{int(updates):,}" if updates else None,
    }
