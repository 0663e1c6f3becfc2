"""Practitioner claims on remedies for training deep nets: S5-S7, S12.

Batch normalization (S5), residual connections (S6), gradient clipping (S7) and adaptive
optimizers (S12), each against plain SGD. Shared conventions:
`trainability.analysis.practitioner`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from trainability.analysis.common import PAPER_TRICK, RUN_KEY
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
    DIVERGED_ERROR,
    PAIRED,
    S_MIN_UPDATES,
    S_MIN_WIDTH,
    SCALE_NOTE,
    TRAINED_FRACTION,
    VERY_DEEP_DEPTH,
    choose_budget,
    compare,
    curve_rows,
    describe,
    directional,
    gate,
    matched_pairs,
    networks,
    no_runs,
    parts_text,
    single,
    trains,
)
from trainability.analysis.stats import fisher_less, signed_rank_less

# ---- thresholds ---------------------------------------------------------------------------
S5_SENSITIVITY_FACTOR = 0.5  # "removes most": spread with batch norm < half the plain spread
S5_ACTIVATIONS = ("sigmoid", "tanh", "relu")
S5_INITIALIZERS = ("standard", "normalized")
S12_OPTIMIZERS = ("adagrad", "rmsprop", "adam")
S12_POOR_INIT = "standard"  # the paper's Eq. 1, the poorly scaled init of deep nets
S12_MIN_DEPTH = 10


# ---- S5 -----------------------------------------------------------------------------------

def _auc(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """rows with `auc`: the mean training error (%) over the monitor points after update 0
    (test error when the curves have no train_error); NaN after divergence counts as 100."""
    curves, metric = curve_rows(tables, rows, ("train_error", "test_error"))
    if len(curves) == 0:
        return rows.assign(auc=math.nan)
    curves = curves[curves["update"] > 0]
    auc = curves["value"].fillna(DIVERGED_ERROR).groupby(
        [curves["run"], curves["member"]]).mean().rename("auc").reset_index()
    return rows.merge(auc, on=RUN_KEY, how="left").assign(auc_metric=metric)


def _spreads(frame: pd.DataFrame, configs: set) -> pd.Series:
    """Per (dataset, depth): max - min over the (activation, initializer) configurations in
    `configs` of their mean error over seeds."""
    rows = frame[[c in configs for c in zip(frame["activation"], frame["initializer"],
                                             strict=True)]]
    means = rows.groupby(["dataset", "depth", "activation", "initializer"])["error"].mean()
    grouped = means.groupby(["dataset", "depth"])
    spread = grouped.max() - grouped.min()
    return spread[grouped.size() >= 2]


@claim("S5", "Batch normalization removes most of the init/activation sensitivity and speeds "
       "training",
       rule=(f"Trick batchnorm vs none, activations {list(S5_ACTIVATIONS)} x initializers "
             f"{list(S5_INITIALIZERS)}, every dataset and depth. (a) Sensitivity: per (dataset, "
             f"depth), spread = max - min over the (activation, initializer) configurations "
             f"present in both of the mean final test error; with d = spread(batchnorm) - "
             f"{S5_SENSITIVITY_FACTOR} x spread(none) per (dataset, depth), a one-sided "
             f"Wilcoxon signed-rank test (H1: d < 0) at p < {ALPHA}; supported if mean d < 0 "
             f"and p < {ALPHA}, not supported if mean d >= 0. (b) Speed: the mean training "
             f"error over the monitor points after update 0 (area under the curve) must be "
             f"lower with batchnorm: {PAIRED}. Both parts must hold." + SCALE_NOTE))
def _s5(tables, trick: str = "batchnorm", budget: str | None = None,
        min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[runs["trick"].isin([PAPER_TRICK, trick])
                 & runs["activation"].isin(S5_ACTIVATIONS)
                 & runs["initializer"].isin(S5_INITIALIZERS)]
    frame, budget = choose_budget(frame, budget,
                                   lambda s: len(matched_pairs(s, "trick", trick, PAPER_TRICK)))
    missing = [t for t in (trick, PAPER_TRICK) if t not in set(frame["trick"])]
    if missing:
        return no_runs(f"trick {' and '.join(missing)} with activations "
                        f"{list(S5_ACTIVATIONS)} and initializers {list(S5_INITIALIZERS)}")
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts}
    configs = (set(zip(frame.loc[frame["trick"] == trick, "activation"],
                       frame.loc[frame["trick"] == trick, "initializer"], strict=True))
               & set(zip(frame.loc[frame["trick"] == PAPER_TRICK, "activation"],
                         frame.loc[frame["trick"] == PAPER_TRICK, "initializer"], strict=True)))
    with_bn = _spreads(frame[frame["trick"] == trick], configs)
    plain = _spreads(frame[frame["trick"] == PAPER_TRICK], configs)
    both = pd.concat([with_bn.rename("bn"), plain.rename("none")], axis=1, join="inner")
    result = signed_rank_less(both["bn"] - S5_SENSITIVITY_FACTOR * both["none"])
    result.update(spread_batchnorm={f"{k[0]} d{k[1]}": v for k, v in both["bn"].items()},
                  spread_none={f"{k[0]} d{k[1]}": v for k, v in both["none"].items()},
                  configurations=sorted(f"{a}/{i}" for a, i in configs))
    parts["sensitivity_halved"] = directional(result)
    numbers["sensitivity"] = result
    notes = [f"error spread over {len(configs)} activation/init configurations, mean "
             f"{fmt(both['bn'].mean())} with {trick} vs {fmt(both['none'].mean())} without "
             f"({len(both)} dataset/depth cells, Wilcoxon p {fmt(result['p'])})"
             if len(both) else "no runs of two or more matched configurations per depth"]
    timed = _auc(tables, frame)
    parts["faster"], numbers["speed"] = compare(timed, "trick", trick, PAPER_TRICK, "auc")
    numbers["speed"]["metric"] = (str(timed["auc_metric"].iloc[0])
                                  if "auc_metric" in timed and len(timed) else None)
    notes.append("speed: " + describe(numbers["speed"]))
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers


# ---- S6 -----------------------------------------------------------------------------------

@claim("S6", "Residual connections keep very deep nets trainable",
       rule=(f"Trick residual vs none at depth >= {VERY_DEEP_DEPTH}, every dataset, activation "
             f"and initializer. (a) Residual nets reach a lower final test error: {PAIRED}. "
             f"(b) They train: final test error / majority-class error below "
             f"{TRAINED_FRACTION} (one-sided one-sample t-test, p < {ALPHA}; not supported if "
             f"the mean ratio is >= {TRAINED_FRACTION}). Both parts must hold." + SCALE_NOTE))
def _s6(tables, trick: str = "residual", min_depth: int = VERY_DEEP_DEPTH,
        budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[runs["trick"].isin([PAPER_TRICK, trick]) & (runs["depth"] >= min_depth)]
    frame, budget = choose_budget(frame, budget,
                                   lambda s: len(matched_pairs(s, "trick", trick, PAPER_TRICK)))
    missing = [t for t in (trick, PAPER_TRICK) if t not in set(frame["trick"])]
    if missing:
        return no_runs(f"trick {' and '.join(missing)} at depth >= {min_depth}")
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts}
    parts["lower_error"], numbers["comparison"] = compare(frame, "trick", trick, PAPER_TRICK)
    parts["trains"], numbers["trains"] = trains(frame[frame["trick"] == trick])
    plain = trains(frame[frame["trick"] == PAPER_TRICK])[1]
    numbers["plain_trains"] = plain
    trained = numbers["trains"]
    notes = [describe(numbers["comparison"]),
             f"share trained {trained['share_trained']:.0%} with {trick} vs "
             f"{plain['share_trained']:.0%} without; error/chance {fmt(trained['mean'])} "
             f"(t-test p {fmt(trained['p'])}, {trained['n']} nets)"]
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}, depth >= {min_depth}: " + "; ".join(notes) + "."
                     + parts_text(parts) + note), numbers


# ---- S7 -----------------------------------------------------------------------------------

def _divergence_test(pairs: pd.DataFrame) -> dict[str, Any]:
    """Fisher's exact test (one-sided: fewer divergences with the trick) on matched members:
    a = diverged with the trick (0/1), b = diverged without."""
    n = len(pairs)
    k_trick, k_plain = int(pairs["a"].sum()), int(pairs["b"].sum())
    result = {"test": "Fisher exact, one-sided", "n": n, "diverged_trick": k_trick,
              "diverged_none": k_plain, "p": math.nan,
              "rate_trick": k_trick / n if n else math.nan,
              "rate_none": k_plain / n if n else math.nan}
    if n:
        result["p"] = fisher_less(k_trick, k_plain, n)
    return result


@claim("S7", "Gradient clipping (by norm or by value) prevents divergence at large learning "
       "rates or depths",
       rule=(f"Every member of the learning-rate sweep (not only the protocol one: the "
             f"protocol picks a rate that did not diverge). Each clip_norm:<c> and "
             f"clip_value:<c> trick present is matched to trick none on dataset, depth, width, "
             f"activation, initializer, learning rate and seeds; Fisher's exact test "
             f"(one-sided) on the 2x2 table trick x diverged. Per trick: supported if its "
             f"divergence rate is lower and p < {ALPHA}; not supported if it is not lower while "
             f"plain SGD diverged; inconclusive when plain SGD never diverged in the matched "
             f"members (nothing to prevent) or the difference is not significant. Both "
             f"clipping kinds must be supported." + SCALE_NOTE))
def _s7(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables, protocol_only=False)
    kinds = ("clip_norm", "clip_value")
    is_clip = runs["trick"].map(lambda t: any(single(t, k) for k in kinds))
    frame = runs[is_clip | (runs["trick"] == PAPER_TRICK)]
    frame = frame.assign(div=frame["diverged"].astype(float))

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(matched_pairs(sub, "trick", t, PAPER_TRICK, "div", ("lr",)))
                   for t in set(sub["trick"]) if t != PAPER_TRICK)

    frame, budget = choose_budget(frame, budget, usable)
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "tricks": {}}
    notes = []
    for kind in kinds:
        tricks = sorted(t for t in set(frame["trick"]) if single(t, kind))
        if not tricks or PAPER_TRICK not in set(frame["trick"]):
            parts[kind] = INCONCLUSIVE
            notes.append(f"no runs of {kind} and trick none")
            continue
        for trick in tricks:
            pairs = matched_pairs(frame, "trick", trick, PAPER_TRICK, "div", ("lr",))
            result = _divergence_test(pairs)
            numbers["tricks"][trick] = result
            if not result["n"] or result["diverged_none"] == 0:
                parts[trick] = INCONCLUSIVE
            elif result["rate_trick"] >= result["rate_none"]:
                parts[trick] = NOT_SUPPORTED
            else:
                parts[trick] = SUPPORTED if result["p"] < ALPHA else INCONCLUSIVE
            notes.append(f"{trick}: diverged {result['diverged_trick']}/{result['n']} vs "
                         f"{result['diverged_none']}/{result['n']} without (Fisher p "
                         f"{fmt(result['p'])})")
    if not numbers["tricks"]:
        return no_runs("clip_norm or clip_value with matched trick-none members",
                        budget=budget)
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + parts_text(parts)
                     + note), numbers

# ---- S12 ----------------------------------------------------------------------------------

@claim("S12", "Adaptive optimizers (Adagrad, RMSProp, Adam) make poorly initialized deep nets "
       "trainable",
       rule=(f"Poorly initialized deep nets: initializer {S12_POOR_INIT} (the paper's Eq. 1) "
             f"at depth >= {S12_MIN_DEPTH}, every dataset and activation. Each optimizer "
             f"{list(S12_OPTIMIZERS)} must reach a lower final test error than plain SGD "
             f"(trick none): {PAIRED}. All three must be supported. The evidence adds the "
             f"share of networks that train (error < {TRAINED_FRACTION} x majority-class "
             f"error)." + SCALE_NOTE))
def _s12(tables, initializer: str = S12_POOR_INIT, min_depth: int = S12_MIN_DEPTH,
         budget: str | None = None, min_updates: int = S_MIN_UPDATES,
         min_width: int = S_MIN_WIDTH) -> Finding:
    runs = networks(tables)
    frame = runs[runs["trick"].isin([PAPER_TRICK, *S12_OPTIMIZERS])
                 & (runs["initializer"] == initializer) & (runs["depth"] >= min_depth)]

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(matched_pairs(sub, "trick", t, PAPER_TRICK)) for t in S12_OPTIMIZERS)

    frame, budget = choose_budget(frame, budget, usable)
    if PAPER_TRICK not in set(frame["trick"]):
        return no_runs(f"trick none with initializer {initializer} at depth >= {min_depth}")
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "share_trained": {}}
    notes = []
    for trick in (PAPER_TRICK, *S12_OPTIMIZERS):
        rows = frame[frame["trick"] == trick]
        if len(rows):
            numbers["share_trained"][trick] = trains(rows)[1]["share_trained"]
    for trick in S12_OPTIMIZERS:
        if trick not in set(frame["trick"]):
            parts[trick] = INCONCLUSIVE
            notes.append(f"no runs of {trick}")
            continue
        parts[trick], numbers[trick] = compare(frame, "trick", trick, PAPER_TRICK)
        notes.append(describe(numbers[trick]) + f", trained "
                     f"{numbers['share_trained'][trick]:.0%} vs "
                     f"{numbers['share_trained'][PAPER_TRICK]:.0%}")
    outcome, note = gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}, {initializer} init, depth >= {min_depth}: "
                     + "; ".join(notes) + "." + parts_text(parts) + note), numbers
