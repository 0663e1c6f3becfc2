"""Practitioner claims on activations and initializations: S1-S4, S8, S13.

The ranking of activations in deep nets (S1), the leak of leaky ReLU (S2), SELU's
self-normalization (S3), dying ReLUs (S4), He vs Glorot init (S8), maxout vs ReLU (S13).
Shared conventions: `trainability.analysis.practitioner`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from trainability.analysis.common import PAPER_TRICK, RUN_KEY, STANDARDIZED_INPUTS, tables_empty
from trainability.analysis.dead_units import network_ends, unit_fractions
from trainability.analysis.ledger import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Outcome,
    claim,
    combine,
    fmt,
)
from trainability.analysis.practitioner import (
    ALPHA,
    DEEP_DEPTH,
    PAIRED,
    S_MIN_UPDATES,
    S_MIN_WIDTH,
    SCALE_NOTE,
    TRAINED_FRACTION,
    VERY_DEEP_DEPTH,
    choose_budget,
    compare,
    describe,
    directional,
    gate,
    layer_stat_rows,
    matched_pairs,
    networks,
    no_runs,
    parts_text,
    trains,
)
from trainability.analysis.stats import kendall_tau, signed_rank_less, t_less

# ---- thresholds ---------------------------------------------------------------------------
S1_ORDER = ("selu", "elu", "leaky_relu:0.01", "relu", "tanh", "sigmoid")  # best first
S3_MEAN_TOLERANCE = 0.3  # |mean activation| <= this counts as "mean ~ 0"
S3_STD_BAND = (0.7, 1.3)  # std in this band counts as "std ~ 1"
S3_MIN_SHARE = 0.9  # share of (layer, monitor point) cells that must be in both bands
S4_MIN_GROWTH = 0.01  # ReLU dead fraction must grow by more than 1 point (absolute)
S4_LEAKY = ("leaky_relu:0.01", "leaky_relu:0.2", "prelu", "rrelu")
S4_LEAKY_MAX_DEAD = 0.0  # a leaky variant "avoids" dying: its dead fraction stays 0
S8_RELU_FAMILY = ("relu",)
S8_SATURATING = ("tanh", "sigmoid")
S13_MARGIN = 1.0  # percentage points: "matches" = maxout at most 1 point worse


# ---- S1 -----------------------------------------------------------------------------------

@claim("S1", "Ranking for deep nets: SELU > ELU > leaky ReLU > ReLU > tanh > logistic",
       rule=(f"Trick none, depth >= {DEEP_DEPTH}, every dataset and initializer present; leaky "
             f"ReLU = slope 0.01. For each neighbouring pair of the claimed order "
             f"{' > '.join(S1_ORDER)}, the better-ranked one must have the lower final test "
             f"error: {PAIRED}. Supported if all five pairs are supported, not supported if "
             f"any is not, inconclusive otherwise (also when an activation has no runs). The "
             f"evidence adds Kendall's tau between the claimed and the observed order of mean "
             f"errors." + SCALE_NOTE))
def _s1(tables, min_depth: int = DEEP_DEPTH, budget: str | None = None,
        min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & (runs["depth"] >= min_depth)
                 & runs["activation"].isin(S1_ORDER)]

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(matched_pairs(sub, "activation", a, b))
                   for a, b in zip(S1_ORDER, S1_ORDER[1:], strict=False))

    frame, budget = choose_budget(frame, budget, usable)
    if len(frame) == 0:
        return no_runs(f"the activations {list(S1_ORDER)} with trick none at depth >= "
                        f"{min_depth}")
    present = set(frame["activation"])
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "pairs": {}}
    notes = []
    for a, b in zip(S1_ORDER, S1_ORDER[1:], strict=False):
        name = f"{a} < {b}"
        if not {a, b} <= present:
            parts[name] = INCONCLUSIVE
            notes.append(f"{name}: no runs of {' or '.join(x for x in (a, b) if x not in present)}")
            continue
        parts[name], numbers["pairs"][name] = compare(frame, "activation", a, b)
        notes.append(describe(numbers["pairs"][name]))
    means = frame.groupby("activation")["error"].mean()
    numbers["mean_error_pct"] = {a: float(means[a]) for a in S1_ORDER if a in means}
    ranked = [a for a in S1_ORDER if a in means]
    if len(ranked) >= 2:
        tau, p = kendall_tau(range(len(ranked)), [means[a] for a in ranked])
        numbers["kendall_tau"] = tau
        numbers["kendall_p"] = p
        notes.append(f"Kendall tau (claimed order vs mean error) {fmt(tau)}")
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers


# ---- S2 -----------------------------------------------------------------------------------

@claim("S2", "Leaky ReLU with a large leak (alpha = 0.2) beats a small leak (alpha = 0.01)",
       rule=(f"Trick none, every dataset, depth and initializer present: leaky_relu:0.2 must "
             f"have the lower final test error than leaky_relu:0.01; {PAIRED}." + SCALE_NOTE))
def _s2(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    large, small = "leaky_relu:0.2", "leaky_relu:0.01"
    runs = networks(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["activation"].isin([large, small])]
    frame, budget = choose_budget(frame, budget,
                                   lambda s: len(matched_pairs(s, "activation", large, small)))
    missing = [a for a in (large, small) if a not in set(frame["activation"])]
    if missing:
        return no_runs(f"{' and '.join(missing)} with trick none")
    outcome, result = compare(frame, "activation", large, small)
    numbers = {"budget": budget, **result}
    outcome, note = gate(outcome, numbers, frame, min_updates, min_width)
    return outcome, f"Budget {budget!r}: {describe(result)}.{note}", numbers


# ---- S3 -----------------------------------------------------------------------------------

@claim("S3", "SELU self-normalizes: with LeCun-normal init and standardized inputs, every layer "
       "keeps mean ~ 0 and std ~ 1 during training; deep SELU nets train",
       rule=(f"selu/lecun_normal, trick none. (a) Self-normalization: per-layer activation mean "
             f"and std (layer_stats, averaged over the protocol networks at each monitor point "
             f"and layer, every depth and dataset); supported if at least {S3_MIN_SHARE:.0%} of "
             f"the (depth, layer, monitor point) cells have |mean| <= {S3_MEAN_TOLERANCE} and std "
             f"in [{S3_STD_BAND[0]}, {S3_STD_BAND[1]}], not supported otherwise; inconclusive "
             f"without a monitor point after update 0. (b) Deep nets train: the networks of "
             f"depth >= {VERY_DEEP_DEPTH} have final test error / majority-class error below "
             f"{TRAINED_FRACTION} (one-sided one-sample t-test, p < {ALPHA}; not supported if "
             f"the mean ratio is >= {TRAINED_FRACTION}). Both parts must hold. The claim presumes "
             f"standardized inputs: networks trained with `inputs: standardized` are used when "
             f"there are any; on raw inputs the evidence says the premise is unmet."
             + SCALE_NOTE))
def _s3(tables, initializer: str = "lecun_normal", deep_depth: int = VERY_DEEP_DEPTH,
        budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & (runs["activation"] == "selu")
                 & (runs["initializer"] == initializer)]
    standardized = frame["inputs"].astype(str) == STANDARDIZED_INPUTS
    frame = frame[standardized] if standardized.any() else frame
    frame, budget = choose_budget(frame, budget, len)
    if len(frame) == 0:
        return no_runs(f"selu/{initializer} with trick none")
    parts: dict[str, Outcome] = {}
    inputs = ", ".join(sorted(set(frame["inputs"].astype(str))))
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "inputs": inputs}
    notes = [f"{inputs} inputs" + ("" if standardized.any() else
                                   " (the claim presumes standardized ones: premise unmet)")]
    means = layer_stat_rows(tables, frame, "activation", "mean")
    stds = layer_stat_rows(tables, frame, "activation", "std")
    cell = ["depth", "layer", "update"]
    if len(means) == 0 or len(stds) == 0:
        parts["self_normalizes"] = INCONCLUSIVE
        notes.append(f"no runs of selu/{initializer} activation mean/std layer stats")
    else:
        table = pd.concat([means.groupby(cell)["value"].mean().rename("mean"),
                           stds.groupby(cell)["value"].mean().rename("std")], axis=1).dropna()
        ok = ((table["mean"].abs() <= S3_MEAN_TOLERANCE) & (table["std"] >= S3_STD_BAND[0])
              & (table["std"] <= S3_STD_BAND[1]))
        share = float(ok.mean()) if len(ok) else math.nan
        trained_points = table.index.get_level_values("update") > 0
        numbers.update(share_in_band=share, n_cells=len(table),
                       worst_abs_mean=float(table["mean"].abs().max()),
                       std_range=[float(table["std"].min()), float(table["std"].max())])
        if not trained_points.any():
            parts["self_normalizes"] = INCONCLUSIVE
            notes.append("only update-0 statistics: no monitor point during training")
        else:
            parts["self_normalizes"] = SUPPORTED if share >= S3_MIN_SHARE else NOT_SUPPORTED
        notes.append(f"{share:.0%} of {len(table)} (depth, layer, update) cells with |mean| <= "
                     f"{S3_MEAN_TOLERANCE} and std in {list(S3_STD_BAND)} (max |mean| "
                     f"{fmt(numbers['worst_abs_mean'])}, std {fmt(numbers['std_range'][0])}.."
                     f"{fmt(numbers['std_range'][1])})")
    deep = frame[frame["depth"] >= deep_depth]
    if len(deep) == 0:
        parts["deep_trains"] = INCONCLUSIVE
        notes.append(f"no runs of selu/{initializer} at depth >= {deep_depth}")
    else:
        parts["deep_trains"], numbers["deep_trains"] = trains(deep)
        result = numbers["deep_trains"]
        notes.append(f"depth >= {deep_depth}: error/chance {fmt(result['mean'])} over "
                     f"{result['n']} nets ({result['n_diverged']} diverged), t-test p "
                     f"{fmt(result['p'])}")
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}, " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers


# ---- S4 -----------------------------------------------------------------------------------

def _dead_fractions(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """rows with, per network, from `dead_units.unit_fractions` averaged over layers at its
    first and last monitor point: dead_start / dead_end (units with f'(s) = 0, no gradient,
    on every monitor example), negative_start / negative_end (units with s <= 0 on every
    example); dead_max, the largest dead fraction of any layer at any monitor point;
    dead_exact, whether dead_* are the no-gradient fraction (for networks recorded before
    negative_fraction existed, a leaky variant's dead_* are only an upper bound). NaN for a
    network without dead fractions."""
    columns = ("dead_start", "dead_end", "dead_max", "negative_start", "negative_end")
    stats = (tables["layer_stats"].merge(rows[RUN_KEY], on=RUN_KEY)
             if not tables_empty(tables, "layer_stats") and len(rows) else None)
    fractions = unit_fractions(stats) if stats is not None else None
    if fractions is None or fractions["dead"].isna().all():
        return rows.assign(**dict.fromkeys(columns, math.nan), dead_exact=False)
    dead = fractions.dropna(subset=["dead"])
    summary = network_ends(dead, "dead")
    summary["dead_max"] = dead.groupby(RUN_KEY)["dead"].max()
    summary = summary.join(network_ends(fractions, "negative"))
    summary["exact"] = fractions.groupby(RUN_KEY)["exact"].first()
    frame = rows.merge(summary.reset_index(), on=RUN_KEY, how="left")
    exact = frame.pop("exact")
    return frame.assign(dead_exact=exact.fillna(False).astype(bool)
                        | (frame["activation"] == "relu"))


@claim("S4", "\"Dying ReLU\": a growing fraction of ReLU units output 0 for every input during "
       "training; leaky variants avoid it",
       rule=(f"Trick none, every dataset, depth and initializer. Dead fraction = share of a "
             f"layer's units with f'(s) = 0 (no gradient) on every monitor example (for ReLU: "
             f"s <= 0 on all of them), averaged over layers. (a) ReLU's grows: growth = dead "
             f"fraction at the last monitor point - at the first, per network; supported if "
             f"the mean growth > {S4_MIN_GROWTH} with a one-sided Wilcoxon signed-rank test of "
             f"growth - {S4_MIN_GROWTH} > 0 at p < {ALPHA}, not supported if the mean growth "
             f"<= {S4_MIN_GROWTH}. (b) Each leaky variant present among {list(S4_LEAKY)} "
             f"avoids it: supported if its dead fraction is 0 in every layer at every monitor "
             f"point of every network, not supported if it is ever > 0 (a PReLU slope learned "
             f"to 0), inconclusive without its layer statistics; tables recorded before "
             f"negative_fraction existed only bound it (their dead_fraction counted s <= 0), "
             f"so there a bound of 0 supports and a positive bound is inconclusive. The "
             f"evidence gives each variant's negative fraction (units with s <= 0 on every "
             f"example, which still get gradient at the leak's slope), first -> last monitor "
             f"point. All parts must hold." + SCALE_NOTE))
def _s4(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["activation"].isin(("relu", *S4_LEAKY))]
    frame, budget = choose_budget(frame, budget,
                                   lambda s: int((s["activation"] == "relu").sum()))
    relu = frame[frame["activation"] == "relu"]
    if len(relu) == 0:
        return no_runs("relu with trick none")
    frame = _dead_fractions(tables, frame)
    relu = frame[(frame["activation"] == "relu") & frame["dead_end"].notna()]
    if len(relu) == 0:
        return no_runs("relu dead-fraction layer stats", budget=budget)
    parts: dict[str, Outcome] = {}
    growth = relu["dead_end"] - relu["dead_start"]
    result = signed_rank_less(S4_MIN_GROWTH - growth)
    result.update(mean_growth=float(growth.mean()), mean_start=float(relu["dead_start"].mean()),
                  mean_end=float(relu["dead_end"].mean()))
    parts["relu_dead_fraction_grows"] = directional(result)
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "relu": result, "leaky": {}}
    notes = [f"ReLU dead fraction {fmt(result['mean_start'])} -> {fmt(result['mean_end'])} "
             f"(mean growth {result['mean_growth']:+.3g} over {result['n']} nets, Wilcoxon p "
             f"{fmt(result['p'])})"]
    leaky = [a for a in S4_LEAKY if a in set(frame["activation"])]
    if not leaky:
        parts["leaky_never_dead"] = INCONCLUSIVE
        notes.append(f"no runs of the leaky variants {list(S4_LEAKY)}")
    for variant in leaky:
        part = f"{variant} never dead"
        nets = frame[(frame["activation"] == variant) & frame["dead_max"].notna()]
        if len(nets) == 0:
            parts[part] = INCONCLUSIVE
            notes.append(f"no runs of {variant} dead-fraction layer stats")
            continue
        exact = nets[nets["dead_exact"].astype(bool)]
        bound = nets[~nets["dead_exact"].astype(bool)]
        if (exact["dead_max"] > S4_LEAKY_MAX_DEAD).any():
            parts[part] = NOT_SUPPORTED
        elif (bound["dead_max"] > S4_LEAKY_MAX_DEAD).any():
            parts[part] = INCONCLUSIVE
        else:
            parts[part] = SUPPORTED
        numbers["leaky"][variant] = {
            "n": len(nets), "n_bound_only": len(bound),
            "max_dead": float(exact["dead_max"].max()) if len(exact) else math.nan,
            "max_dead_bound": float(bound["dead_max"].max()) if len(bound) else math.nan,
            "mean_dead_end": float(exact["dead_end"].mean()) if len(exact) else math.nan,
            "negative_start": float(nets["negative_start"].mean()),
            "negative_end": float(nets["negative_end"].mean())}
        found = numbers["leaky"][variant]
        texts = []
        if len(exact):
            texts.append(f"dead fraction max {fmt(found['max_dead'])}")
        if len(bound):
            texts.append(f"dead fraction <= {fmt(found['max_dead_bound'])} on the "
                         f"{len(bound)} of older tables (s <= 0 recorded)")
        notes.append(f"{variant} ({len(nets)} nets): {', '.join(texts)}; negative fraction "
                     f"(s <= 0 on every example, still gets gradient) "
                     f"{fmt(found['negative_start'])} -> {fmt(found['negative_end'])}")
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers

# ---- S8 -----------------------------------------------------------------------------------

def _init_spread(tables, rows: pd.DataFrame) -> float:
    """Mean over networks of (activation std at layer 1 / at the top layer) ** (1/(L-1)) at
    update 0: > 1 means the signal shrinks with depth."""
    stds = layer_stat_rows(tables, rows, "activation", "std")
    stds = stds[(stds["update"] == 0) & (stds["value"] > 0)]
    if len(stds) == 0:
        return math.nan
    ratios = []
    for _, net in stds.groupby(RUN_KEY):
        by_layer = net.groupby("layer")["value"].mean()
        if len(by_layer) >= 2:
            gaps = by_layer.index.max() - by_layer.index.min()
            ratios.append((by_layer.iloc[0] / by_layer.iloc[-1]) ** (1.0 / gaps))
    return float(np.mean(ratios)) if ratios else math.nan


@claim("S8", "He init suits ReLU; Glorot init suits tanh/sigmoid",
       rule=(f"Trick none, every dataset and depth. (a) ReLU: he_normal must have the lower "
             f"final test error than normalized (Glorot); (b) tanh and sigmoid (pooled): "
             f"normalized must have the lower error than he_normal. Each: {PAIRED}. Both "
             f"parts must hold. The evidence adds the per-layer shrink of the activation std "
             f"at init, (std layer 1 / std top) ** (1/(L-1)), for each pairing." + SCALE_NOTE))
def _s8(tables, he: str = "he_normal", glorot: str = "normalized", budget: str | None = None,
        min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["initializer"].isin([he, glorot])
                 & runs["activation"].isin((*S8_RELU_FAMILY, *S8_SATURATING))]

    def usable(sub: pd.DataFrame) -> int:
        return len(matched_pairs(sub, "initializer", he, glorot))

    frame, budget = choose_budget(frame, budget, usable)
    if len(frame) == 0:
        return no_runs(f"relu/tanh/sigmoid with initializers {he} and {glorot}")
    relu = frame["activation"].isin(S8_RELU_FAMILY)
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "init_std_shrink": {}}
    notes = []
    for name, rows, better, worse in (("relu: he < glorot", frame[relu], he, glorot),
                                      ("tanh/sigmoid: glorot < he", frame[~relu], glorot, he)):
        if not {better, worse} <= set(rows["initializer"]):
            parts[name] = INCONCLUSIVE
            notes.append(f"{name}: no runs of both initializers")
            continue
        parts[name], numbers[name] = compare(rows, "initializer", better, worse)
        notes.append(f"{name}: " + describe(numbers[name]))
        for init in (better, worse):
            for activation in sorted(set(rows["activation"])):
                chosen = rows[(rows["initializer"] == init) & (rows["activation"] == activation)]
                numbers["init_std_shrink"][f"{activation}/{init}"] = _init_spread(tables, chosen)
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers

# ---- S13 ----------------------------------------------------------------------------------

@claim("S13", "Maxout matches or beats ReLU",
       rule=(f"Trick none, every dataset, depth and initializer; d = error(maxout:2) - "
             f"error(relu) in points, paired networks (same config and seeds). Supported "
             f"(non-inferiority) if a one-sided paired t-test rejects mean d >= {S13_MARGIN} "
             f"(the 'matches' margin) at p < {ALPHA}; not supported if mean d > {S13_MARGIN} "
             f"and a one-sided paired t-test finds maxout worse (mean d > 0) at p < {ALPHA}; "
             f"inconclusive otherwise." + SCALE_NOTE))
def _s13(tables, maxout: str = "maxout:2", budget: str | None = None,
         min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["activation"].isin([maxout, "relu"])]
    frame, budget = choose_budget(frame, budget,
                                   lambda s: len(matched_pairs(s, "activation", maxout, "relu")))
    missing = [a for a in (maxout, "relu") if a not in set(frame["activation"])]
    if missing:
        return no_runs(f"{' and '.join(missing)} with trick none")
    pairs = matched_pairs(frame, "activation", maxout, "relu")
    d = pairs["d"].to_numpy(dtype=float)
    noninferior = t_less(d, S13_MARGIN)
    worse = t_less(-d, 0.0)  # H1: mean d > 0
    mean = float(np.mean(d)) if len(d) else math.nan
    if not len(d):
        outcome = INCONCLUSIVE
    elif noninferior["p"] < ALPHA:
        outcome = SUPPORTED
    elif mean > S13_MARGIN and worse["p"] < ALPHA:
        outcome = NOT_SUPPORTED
    else:
        outcome = INCONCLUSIVE
    numbers = {"budget": budget, "n": len(d), "mean_diff": mean, "margin": S13_MARGIN,
               "p_noninferiority": noninferior["p"], "p_worse": worse["p"],
               "mean_maxout": float(pairs["a"].mean()) if len(d) else math.nan,
               "mean_relu": float(pairs["b"].mean()) if len(d) else math.nan,
               "test": "paired t-test (scipy.stats.ttest_1samp on differences), one-sided"}
    outcome, note = gate(outcome, numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: {maxout} {fmt(numbers['mean_maxout'])}% vs relu "
                     f"{fmt(numbers['mean_relu'])}% (mean diff {mean:+.3g} points, n={len(d)} "
                     f"pairs; non-inferiority p {fmt(noninferior['p'])} at margin "
                     f"{S13_MARGIN:g}, maxout-worse p {fmt(worse['p'])}).{note}"), numbers
