"""The paper's claims on activations and saturation during training (Sec. 3): P1-P3.

Shared conventions and budgets: `trainability.analysis.paper_claims`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from trainability.analysis.common import EPOCH_UPDATES, config_rows, drop_diverged
from trainability.analysis.ledger import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Outcome,
    claim,
    combine,
    fmt,
    fmt_count,
    scale_gate,
)
from trainability.analysis.paper_claims import (
    MIN_UPDATES_DYNAMICS,
    MIN_WIDTH,
    WIDTH_NOTE,
    config_text,
    first_update,
    missing,
    protocol_updates,
    protocol_width,
    seed_mean_curves,
)
from trainability.analysis.table1 import TABLE1_DEPTH

# ---- thresholds ---------------------------------------------------------------------------
P1_SATURATED_MEAN = 0.10  # top sigmoid layer "saturated near 0": mean activation below this
P1_DESATURATED_MEAN = 0.20  # ... and "desaturated" once it climbs back above this
P1_EARLY_EPOCHS = 10  # saturation must happen within this many epochs to count as "early"
P1_DESATURATION_EPOCH = 100  # the paper: desaturation "around epoch 100"
P1_TIMING_FACTOR = 2.0  # ... accepted within a factor 2: epochs 50 to 200
P2_SATURATION_LEVEL = 0.975  # tanh is saturated beyond |z| = 0.975 (f' < 5% of max)
P3_KNEE = (0.6, 0.8)  # softsign "knees", in |z|
P3_ASYMPTOTE = (0.8, 1.0)  # "near +-1", same width as the knee band
#: P3 compares softsign and tanh where training stopped; below this it is too early to say.
MIN_UPDATES_P3 = 5_000


# ---- P1 -----------------------------------------------------------------------------------

_P1_WINDOW = (P1_DESATURATION_EPOCH / P1_TIMING_FACTOR, P1_DESATURATION_EPOCH * P1_TIMING_FACTOR)


def _p1_track(curve: pd.Series) -> dict:
    t_sat = first_update(curve, lambda s: s < P1_SATURATED_MEAN)
    t_desat = (first_update(curve, lambda s: s >= P1_DESATURATED_MEAN, after=t_sat)
               if math.isfinite(t_sat) else math.nan)
    return {"t_saturated": t_sat, "t_desaturated": t_desat,
            "min_mean": float(curve.min()), "final_mean": float(curve.dropna().iloc[-1]),
            "last_update": float(curve.dropna().index[-1])}


@claim("P1", "Sigmoid, standard init, depth 4: the top hidden layer saturates near 0 early "
       "and slowly desaturates (around \"epoch\" 100); at depth 5 it never desaturates",
       rule=(f"Top hidden layer's mean sigmoid activation (protocol networks, mean over seeds, "
             f"Shapeset). Saturated: mean < {P1_SATURATED_MEAN} within the first "
             f"{P1_EARLY_EPOCHS} epochs (1 epoch = {EPOCH_UPDATES:,} updates). Desaturated: "
             f"after saturating, the mean climbs back to >= {P1_DESATURATED_MEAN}. Depth 4 "
             f"must saturate early and desaturate between epochs {_P1_WINDOW[0]:g} and "
             f"{_P1_WINDOW[1]:g}; depth 5 must saturate early and not desaturate before "
             f"epoch {_P1_WINDOW[1]:g}. Parts judged on a budget that has not reached the "
             f"time they need (epoch {P1_EARLY_EPOCHS} or {_P1_WINDOW[1]:g}) without "
             f"showing the event are inconclusive; overall verdict combines the parts."
             + WIDTH_NOTE))
def _p1(tables, dataset: str = "shapeset", min_width: int = MIN_WIDTH) -> Finding:
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"parts": parts}
    notes = []
    for depth in (4, 5):
        rows = config_rows(tables, "layer_stats", dataset, depth, "sigmoid", "standard", True,
                           quantity="activation", stat="mean", layer=depth)
        curve = seed_mean_curves(rows)
        if curve.empty or curve[depth].dropna().empty:
            parts[f"depth{depth}_saturates"] = INCONCLUSIVE
            parts[f"depth{depth}_desaturation"] = INCONCLUSIVE
            notes.append(f"depth {depth}: no protocol sigmoid/standard network on {dataset}")
            continue
        track = _p1_track(curve[depth])
        budget = protocol_updates(tables, dataset, depth, "sigmoid", "standard")
        track["updates"] = budget
        track["n_networks"] = int(rows[["run", "member"]].drop_duplicates().shape[0])
        numbers[f"depth{depth}"] = track
        epochs = {k: track[k] / EPOCH_UPDATES for k in ("t_saturated", "t_desaturated")}
        seen_until = track["last_update"] / EPOCH_UPDATES
        early = P1_EARLY_EPOCHS
        if math.isfinite(epochs["t_saturated"]) and epochs["t_saturated"] <= early:
            parts[f"depth{depth}_saturates"] = SUPPORTED
        elif seen_until >= early:
            parts[f"depth{depth}_saturates"] = NOT_SUPPORTED
        else:
            parts[f"depth{depth}_saturates"] = INCONCLUSIVE
        t = epochs["t_desaturated"]
        if depth == 4:
            if math.isfinite(t):
                in_window = _P1_WINDOW[0] <= t <= _P1_WINDOW[1]
                parts["depth4_desaturation"] = SUPPORTED if in_window else NOT_SUPPORTED
            elif not math.isfinite(epochs["t_saturated"]):
                parts["depth4_desaturation"] = (NOT_SUPPORTED if seen_until >= early
                                                else INCONCLUSIVE)
            else:
                parts["depth4_desaturation"] = (NOT_SUPPORTED if seen_until >= _P1_WINDOW[1]
                                                else INCONCLUSIVE)
        else:
            if math.isfinite(t):
                parts["depth5_desaturation"] = NOT_SUPPORTED
            elif math.isfinite(epochs["t_saturated"]):
                parts["depth5_desaturation"] = (SUPPORTED if seen_until >= _P1_WINDOW[1]
                                                else INCONCLUSIVE)
            else:
                parts["depth5_desaturation"] = (NOT_SUPPORTED if seen_until >= early
                                                else INCONCLUSIVE)
        notes.append(
            f"depth {depth} ({track['n_networks']} nets, seen to epoch {seen_until:.3g}): "
            f"top-layer mean min {fmt(track['min_mean'])}, final {fmt(track['final_mean'])}, "
            f"saturated at epoch {fmt(epochs['t_saturated'])}, desaturated at epoch "
            f"{fmt(t)}")
    widths = [protocol_width(tables, dataset, d, "sigmoid", "standard") for d in (4, 5)]
    widths = [w for w in widths if w is not None]
    outcome, note = scale_gate(combine(parts), numbers, min_width=min_width,
                               width=min(widths) if widths else math.nan)
    evidence = "; ".join(notes) + ". Parts: " + ", ".join(f"{k}={v}" for k, v in parts.items())
    return outcome, evidence + "." + note, numbers


# ---- P2 -----------------------------------------------------------------------------------

@claim("P2", "Tanh, standard init: layers saturate one after another, starting with layer 1",
       rule=(f"Per layer, the extreme-activation indicator max(p98, -p02) of tanh/standard "
             f"(protocol networks, depth 5, Shapeset, mean over seeds) and t_l = first monitor "
             f"update where it reaches {P2_SATURATION_LEVEL} (tanh's saturation boundary). "
             f"Supported: the layers that reach it are layers 1..k with k >= 2, t_1 < t_2 and "
             f"t_2 <= ... <= t_k. Not supported: a layer reaches it before a lower one, or "
             f"layer 1 is not strictly first, or (with >= {MIN_UPDATES_DYNAMICS:,} updates) "
             f"fewer than 2 layers saturate. Fewer than 2 saturated layers on a shorter "
             f"budget: inconclusive."
             + WIDTH_NOTE))
def _p2(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_width: int = MIN_WIDTH) -> Finding:
    outcome, evidence, numbers = _p2_ungated(tables, dataset, depth)
    if not numbers:
        return outcome, evidence, numbers
    outcome, note = scale_gate(outcome, numbers, width=numbers["width"], min_width=min_width)
    return outcome, evidence + note, numbers


def _p2_ungated(tables, dataset: str, depth: int) -> Finding:
    rows = config_rows(tables, "layer_stats", dataset, depth, "tanh", "standard", True,
                       quantity="activation")
    rows = rows[rows["stat"].isin(["p98", "p02"])] if len(rows) else rows
    if len(rows) == 0:
        return missing(f"protocol {config_text('tanh', 'standard', depth, dataset)} layer stats")
    rows = rows.assign(value=np.where(rows["stat"] == "p02", -rows["value"], rows["value"]))
    per_stat = rows.groupby(["update", "layer", "stat"])["value"].mean()
    indicator = per_stat.groupby(["update", "layer"]).max().unstack("layer").sort_index()
    times = {int(layer): first_update(indicator[layer], lambda s: s >= P2_SATURATION_LEVEL)
             for layer in indicator.columns}
    budget = protocol_updates(tables, dataset, depth, "tanh", "standard")
    reached = [layer for layer, t in times.items() if math.isfinite(t)]
    final = indicator.ffill().iloc[-1]
    numbers = {"t_reach": times, "final_indicator": {int(k): v for k, v in final.items()},
               "updates": budget,
               "width": protocol_width(tables, dataset, depth, "tanh", "standard")}
    text = ", ".join(f"L{layer}: {fmt_count(t) if math.isfinite(t) else 'never'}"
                     for layer, t in times.items())
    evidence = f"Updates at which max(p98,-p02) >= {P2_SATURATION_LEVEL}: {text}"
    prefix = reached == list(range(1, len(reached) + 1))
    ordered = all(times[a] <= times[b] for a, b in zip(reached, reached[1:], strict=False))
    if len(reached) >= 2:
        if prefix and ordered and times[1] < times[2]:
            return SUPPORTED, evidence + " (sequential, layer 1 first).", numbers
        return NOT_SUPPORTED, evidence + " (not one after another starting with layer 1).", numbers
    if reached and reached[0] != 1:
        return NOT_SUPPORTED, evidence + " (a higher layer saturated first).", numbers
    if budget >= MIN_UPDATES_DYNAMICS:
        return NOT_SUPPORTED, (evidence + f" (< 2 layers saturated in {fmt_count(budget)} "
                                          f"updates)."), numbers
    numbers["min_updates"] = MIN_UPDATES_DYNAMICS
    return INCONCLUSIVE, evidence + (f". Fewer than 2 layers saturated within "
                                     f"{fmt_count(budget)} updates, shorter than the "
                                     f"{MIN_UPDATES_DYNAMICS:,} needed to call the sequence "
                                     f"absent."), numbers


# ---- P3 -----------------------------------------------------------------------------------

def _final_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Per network, the rows of its last monitor update."""
    if len(rows) == 0:
        return rows
    last = rows.groupby(["run", "member"])["update"].transform("max")
    return rows[rows["update"] == last]


def _band_masses(hist: pd.DataFrame) -> tuple[float, float]:
    """Mean over networks and layers of the activation mass with |z| in the knee and the
    asymptote bands (bins assigned by their centre)."""
    centre = (hist["bin_left"] + hist["bin_right"]).abs() / 2
    hist = hist.assign(knee=hist["fraction"].where(
        (centre >= P3_KNEE[0]) & (centre < P3_KNEE[1]), 0.0),
        asym=hist["fraction"].where((centre >= P3_ASYMPTOTE[0]) & (centre <= P3_ASYMPTOTE[1]),
                                    0.0))
    per_layer = hist.groupby(["run", "member", "layer"])[["knee", "asym"]].sum()
    return float(per_layer["knee"].mean()), float(per_layer["asym"].mean())


@claim("P3", "Softsign saturates less than tanh; its final activation histograms peak at the "
       "knees (about +-0.6 to +-0.8), not at +-1",
       rule=(f"At each protocol network's last monitor point (standard init, depth 5, "
             f"Shapeset): (a) the saturated fraction (f' < 5% of max f'), averaged over layers "
             f"and seeds, is lower for softsign than for tanh; (b) softsign's activation "
             f"histogram, averaged over layers and seeds, holds more mass in the knees "
             f"|z| in [{P3_KNEE[0]}, {P3_KNEE[1]}) than near +-1, |z| in "
             f"[{P3_ASYMPTOTE[0]}, {P3_ASYMPTOTE[1]}]. Diverged networks are left out. "
             f"Supported if both; judged at the end of the run's training when it lasted "
             f">= {MIN_UPDATES_P3:,} updates (the evidence states how far that is from the "
             f"paper's 5M)."
             + WIDTH_NOTE))
def _p3(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_updates: int = MIN_UPDATES_P3, min_width: int = MIN_WIDTH) -> Finding:
    numbers: dict[str, Any] = {}
    parts: dict[str, Outcome] = {}
    saturation = {}
    for activation in ("softsign", "tanh"):
        rows = config_rows(tables, "layer_stats", dataset, depth, activation, "standard", True,
                           quantity="activation", stat="saturated_fraction")
        rows = drop_diverged(rows, tables)
        rows = _final_rows(rows.dropna(subset=["value"])) if len(rows) else rows
        if len(rows) == 0:
            return missing(f"protocol {config_text(activation, 'standard', depth, dataset)} "
                            f"saturation stats")
        saturation[activation] = float(rows.groupby(["run", "member"])["value"].mean().mean())
    hist = config_rows(tables, "histograms", dataset, depth, "softsign", "standard", True,
                       quantity="activation")
    hist = _final_rows(drop_diverged(hist, tables))
    if len(hist) == 0:
        return missing(f"protocol {config_text('softsign', 'standard', depth, dataset)} histograms")
    knee, asym = _band_masses(hist)
    numbers.update(saturated_fraction=saturation, softsign_knee_mass=knee,
                   softsign_asymptote_mass=asym, final_update=int(hist["update"].max()),
                   parts=parts)
    parts["saturates_less"] = (SUPPORTED if saturation["softsign"] < saturation["tanh"]
                               else NOT_SUPPORTED)
    parts["knee_peak"] = SUPPORTED if knee > asym else NOT_SUPPORTED
    budget = min(protocol_updates(tables, dataset, depth, a, "standard")
                 for a in ("softsign", "tanh"))
    width = protocol_width(tables, dataset, depth, "softsign", "standard")
    outcome, note = scale_gate(combine(parts), numbers, updates=budget, min_updates=min_updates,
                               width=width, min_width=min_width)
    evidence = (f"Final saturated fraction softsign {fmt(saturation['softsign'])} vs tanh "
                f"{fmt(saturation['tanh'])}; softsign mass in knees {fmt(knee)} vs near +-1 "
                f"{fmt(asym)} (update {numbers['final_update']:,}).{note}")
    return outcome, evidence, numbers
