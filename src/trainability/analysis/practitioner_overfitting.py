"""Practitioner claims on overfitting: S11 (dropout, L1/L2) and S14 (early stopping).

Both need a finite training set: the datasets the catalog marks finite
(trainability.data.catalog.finite_datasets). Shared conventions:
`trainability.analysis.practitioner`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from trainability.analysis.common import PAPER_TRICK, RUN_KEY
from trainability.analysis.ledger import (
    INCONCLUSIVE,
    Finding,
    Outcome,
    claim,
    combine,
    fmt,
)
from trainability.analysis.practitioner import (
    PAIRED,
    S_MIN_UPDATES,
    S_MIN_WIDTH,
    SCALE_NOTE,
    choose_budget,
    compare,
    curve_rows,
    describe,
    gate,
    matched_pairs,
    networks,
    no_runs,
    parts_text,
    single,
)
from trainability.data.catalog import finite_datasets

# ---- thresholds ---------------------------------------------------------------------------
S11_REGULARIZERS = ("dropout", "l2", "l1")
S14_MIN_RISE = 1.0  # points: plain nets' test error must rise this much from its minimum


# ---- S11 ----------------------------------------------------------------------------------

@claim("S11", "Dropout and L1/L2 regularization shrink the gap between training and test error "
       "on finite datasets",
       rule=(f"Finite datasets {finite_datasets()}; gap = final test error - final "
             f"training error (points). Each trick present of the kinds "
             f"{list(S11_REGULARIZERS)} (dropout:<p>, l2:<lambda>, l1:<lambda>) must have a "
             f"smaller gap than trick none: {PAIRED}. Every kind must be supported (a kind "
             f"without runs leaves the claim inconclusive)." + SCALE_NOTE))
def _s11(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
         min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables, full_data=False)
    regular = runs["trick"].map(lambda t: any(single(t, k) for k in S11_REGULARIZERS))
    frame = runs[(regular | (runs["trick"] == PAPER_TRICK))
                 & runs["dataset"].isin(finite_datasets())]
    frame = frame.assign(gap=frame["error"] - frame["train_error"])

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(matched_pairs(sub, "trick", t, PAPER_TRICK, "gap"))
                   for t in set(sub["trick"]) if t != PAPER_TRICK)

    frame, budget = choose_budget(frame, budget, usable)
    if len(frame) and frame["train_error"].isna().all():
        return INCONCLUSIVE, ("The runs table has no final_train_error: the train-test gap "
                              "cannot be computed."), {"budget": budget}
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "tricks": {}}
    notes = []
    for kind in S11_REGULARIZERS:
        tricks = sorted(t for t in set(frame["trick"]) if single(t, kind))
        if not tricks or PAPER_TRICK not in set(frame["trick"]):
            parts[kind] = INCONCLUSIVE
            notes.append(f"no runs of {kind} and trick none on {finite_datasets()}")
            continue
        for trick in tricks:
            parts[trick], numbers["tricks"][trick] = compare(frame, "trick", trick,
                                                              PAPER_TRICK, "gap")
            notes.append(describe(numbers["tricks"][trick]))
    if not numbers["tricks"]:
        return no_runs(f"dropout, l1 or l2 with matched trick-none networks on "
                        f"{finite_datasets()}", budget=budget)
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers

# ---- S14 ----------------------------------------------------------------------------------

def _test_rise(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """rows with `rise` = last - lowest test error (%) along each network's curve and
    `lowest` (NaN without a curve)."""
    curves, _ = curve_rows(tables, rows, ("test_error",))
    curves = curves.dropna(subset=["value"])
    if len(curves) == 0:
        return rows.assign(rise=math.nan, lowest=math.nan)
    curves = curves.sort_values("update")
    summary = curves.groupby(RUN_KEY)["value"].agg(lowest="min", last="last").reset_index()
    summary["rise"] = summary["last"] - summary["lowest"]
    return rows.merge(summary[[*RUN_KEY, "rise", "lowest"]], on=RUN_KEY, how="left")


@claim("S14", "Early stopping on validation error avoids the test-error rise of overtraining",
       rule=(f"Finite datasets {finite_datasets()}, early_stopping (any patience) vs "
             f"trick none. Overtraining: rise = final - lowest test error along a plain "
             f"network's curve; while the mean rise is below {S14_MIN_RISE} points there is "
             f"no rise to avoid and the claim is inconclusive (the provisional verdict in the "
             f"numbers). Otherwise early-stopped networks (their final = restored best-"
             f"validation weights) must end with a lower test error than the plain ones: "
             f"{PAIRED}." + SCALE_NOTE))
def _s14(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
         min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables, full_data=False)
    stopped = runs["trick"].map(lambda t: single(t, "early_stopping"))
    frame = runs[(stopped | (runs["trick"] == PAPER_TRICK))
                 & runs["dataset"].isin(finite_datasets())]

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(matched_pairs(sub, "trick", t, PAPER_TRICK))
                   for t in set(sub["trick"]) if t != PAPER_TRICK)

    frame, budget = choose_budget(frame, budget, usable)
    tricks = sorted(t for t in set(frame["trick"]) if single(t, "early_stopping"))
    if not tricks or PAPER_TRICK not in set(frame["trick"]):
        return no_runs(f"early_stopping and trick none on {finite_datasets()}",
                        budget=budget)
    plain = _test_rise(tables, frame[frame["trick"] == PAPER_TRICK])
    plain = plain[~plain["diverged"]]
    rise = float(plain["rise"].mean()) if plain["rise"].notna().any() else math.nan
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "plain_mean_rise": rise,
                               "plain_mean_lowest": float(plain["lowest"].mean()), "tricks": {}}
    notes = [f"plain nets' test error rises {fmt(rise)} points above its lowest "
             f"({fmt(numbers['plain_mean_lowest'])}%) by the end"]
    for trick in tricks:
        parts[trick], numbers["tricks"][trick] = compare(frame, "trick", trick, PAPER_TRICK)
        notes.append(describe(numbers["tricks"][trick]))
    outcome = combine(parts)
    if not math.isfinite(rise):
        outcome = INCONCLUSIVE
        notes.append("no runs of plain test-error curves")
    elif rise < S14_MIN_RISE:
        numbers["provisional_verdict"] = outcome
        outcome = INCONCLUSIVE
        notes.append(f"no overtraining rise (< {S14_MIN_RISE:g} points) to avoid, so "
                     f"inconclusive (the comparison alone gives: "
                     f"{numbers['provisional_verdict']})")
    outcome, note = gate(outcome, numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers
