"""The report's "Training tricks" section: the trick studies' networks per budget (the signal
budget's aside: trainability.report.signal), and the practitioners' claims."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trainability.analysis.common import is_diverged, paper_rows
from trainability.analysis.ledger import claim_order
from trainability.analysis.phase_diagram import SIGNAL_BUDGETS
from trainability.report.expected import preset_budget
from trainability.report.format import dataset_label, dataset_rank, values_text
from trainability.report.runs import PLAIN_TRICK, PRESET_BUDGET, budget_label, train_size_of


def tricks_context(runs: pd.DataFrame, claims: list[dict[str, Any]],
                   plan: dict[str, Any] | None) -> dict[str, Any]:
    """The networks of the trick studies (a trick other than "none", or a budget of their
    own), summarized per budget (and training-set size), and the practitioner claims (S)."""
    s_claims = sorted((c for c in claims if c["id"].upper().startswith("S")),
                      key=lambda c: claim_order(c["id"]))
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
        result["preset_width"] = values_text(plain, "width", "{:,}")
        result["preset_updates"] = values_text(plain, "updates", "{:,}")
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
            "depths": values_text(group, "depth"), "widths": values_text(group, "width", "{:,}"),
            "updates": values_text(group, "updates", "{:,}"),
            "inputs": values_text(group, "inputs"),
            "activations": values_text(group, "activation"),
            "initializers": values_text(group, "initializer"), "tricks": ", ".join(tricks)})
    result.update(n_networks=len(rows), widths=values_text(rows, "width", "{:,}"),
                  updates=values_text(rows, "updates", "{:,}"))
    return result
