"""The report's "Training tricks" section: the trick studies' networks per budget (the signal
budget's aside: trainability.report.signal), and the practitioners' claims."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from trainability.analysis.common import is_diverged, paper_rows
from trainability.analysis.phase_diagram import SIGNAL_BUDGETS
from trainability.report.expected import preset_budget
from trainability.report.format import dataset_label, dataset_rank
from trainability.report.runs import PLAIN_TRICK, PRESET_BUDGET, budget_label, train_size_of


def _claim_number(claim_id: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", claim_id)
    return (int(digits) if digits else 0, claim_id)


def _values(frame: pd.DataFrame, column: str, fmt: str = "{}") -> str:
    if column not in frame.columns:
        return "–"
    values = frame[column].dropna().unique().tolist()
    try:
        values = sorted(values)
    except TypeError:
        values = sorted(values, key=str)
    return ", ".join(fmt.format(v) for v in values) or "–"


def tricks_context(runs: pd.DataFrame, claims: list[dict[str, Any]],
                   plan: dict[str, Any] | None) -> dict[str, Any]:
    """The networks of the trick studies (a trick other than "none", or a budget of their
    own), summarized per budget (and training-set size), and the practitioner claims (S)."""
    s_claims = sorted((c for c in claims if c["id"].upper().startswith("S")),
                      key=lambda c: _claim_number(c["id"]))
    result: dict[str, Any] = {"studies": [], "claims": s_claims, "n_networks": 0,
                              "widths": "–", "updates": "–", "preset_width": None,
                              "preset_updates": None}
    budget = preset_budget(plan)
    if budget is not None:
        result["preset_width"] = f"{budget['width']:,}"
        result["preset_updates"] = f"{budget['updates']:,}"
    if runs.empty:
        return result
    plain = paper_rows(runs)
    if budget is None and not plain.empty:  # the paper's networks as run
        result["preset_width"] = _values(plain, "width", "{:,}")
        result["preset_updates"] = _values(plain, "updates", "{:,}")
    # the signal budget's networks belong to the signal-propagation section
    rows = runs[((runs["trick"].astype(str) != PLAIN_TRICK)
                 | (runs["budget"].astype(str) != PRESET_BUDGET))
                & ~runs["budget"].astype(str).isin(SIGNAL_BUDGETS)]
    if rows.empty:
        return result
    rows = rows.assign(_div=is_diverged(rows), _size=rows["train_size"].map(train_size_of))
    for (name, size), group in rows.groupby(["budget", rows["_size"].fillna(-1)], sort=True):
        tricks = sorted(group["trick"].astype(str).unique(),
                        key=lambda t: (t != PLAIN_TRICK, t))
        result["studies"].append({
            "budget": budget_label(name, None if size == -1 else size),
            "networks": len(group), "diverged": int(group["_div"].sum()),
            "datasets": ", ".join(dataset_label(d) for d in sorted(
                group["dataset"].unique(), key=dataset_rank)),
            "depths": _values(group, "depth"), "widths": _values(group, "width", "{:,}"),
            "updates": _values(group, "updates", "{:,}"), "inputs": _values(group, "inputs"),
            "activations": _values(group, "activation"),
            "initializers": _values(group, "initializer"), "tricks": ", ".join(tricks)})
    result.update(n_networks=len(rows), widths=_values(rows, "width", "{:,}"),
                  updates=_values(rows, "updates", "{:,}"))
    return result
