"""The report's "Signal propagation" section: what was measured at init and trained for the
theory's claims (T1-T5), and their verdicts."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trainability.analysis import isometry, phase_diagram, signal_at_init
from trainability.analysis.ledger import claim_order
from trainability.report.format import values_text


def signal_context(runs: pd.DataFrame, claims: list[dict[str, Any]]) -> dict[str, Any]:
    """The settings of the measurements at init (fixed in analysis), the networks of the
    signal budget as trained (from the runs table), and the theory's claims (T)."""
    t_claims = sorted((c for c in claims if c["id"].upper().startswith("T")),
                      key=lambda c: claim_order(c["id"]))
    result: dict[str, Any] = {
        "claims": t_claims, "budget": ", ".join(phase_diagram.SIGNAL_BUDGETS),
        "at_init": {"width": signal_at_init.WIDTH, "depth": signal_at_init.DEPTH,
                    "examples": signal_at_init.EXAMPLES},
        "spectra": {"width": isometry.WIDTH, "nets": isometry.NETS,
                    "depths": " and ".join(map(str, isometry.DEPTHS)), "band": isometry.BAND},
        "xi_multiple": f"{phase_diagram.XI_MULTIPLE:g}",
        "trained_fraction": f"{phase_diagram.TRAINED_FRACTION:g}", "trained": None}
    if runs.empty:
        return result
    rows = runs[runs["budget"].astype(str).isin(phase_diagram.SIGNAL_BUDGETS)]
    if rows.empty:
        return result
    result["trained"] = {
        "networks": len(rows), "depths": values_text(rows, "depth"),
        "widths": values_text(rows, "width", "{:,}"),
        "updates": values_text(rows, "updates", "{:,}"),
        "rates": values_text(rows, "lr", "{:g}"), "activations": values_text(rows, "activation"),
        "tricks": values_text(rows, "trick"),
        "wall_minutes": f"{rows.drop_duplicates('run')['wall_seconds'].sum() / 60:.1f}"
        if "wall_seconds" in rows else "–"}
    return result
