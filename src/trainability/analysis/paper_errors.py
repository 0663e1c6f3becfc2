"""The paper's claims on error curves and conclusions (Sec. 5): P10-P12.

Table 1's ranking (P10), the speed and final error of the error curves (P11), and
pre-training against the purely supervised networks (P12). Shared conventions and budgets:
`trainability.analysis.paper_claims`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from trainability.analysis.common import (
    PAPER_TRICK,
    config_rows,
    is_diverged,
    protocol_runs,
    tables_empty,
    trick_names,
)
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
    MIN_UPDATES_FINAL,
    MIN_WIDTH,
    WIDTH_NOTE,
    first_update,
    missing,
    paper_datasets,
    protocol_updates,
    protocol_width,
)
from trainability.analysis.stats import welch_less
from trainability.analysis.table1 import BOLD_ALPHA, TABLE1_DEPTH, table1

# ---- thresholds ---------------------------------------------------------------------------
P10_ROBUST_REL = 0.05  # softsign "robust": |Softsign - Softsign N| <= 5% of their mean
P11_HALFWAY = 0.5  # speed threshold: this fraction of the way from the initial error
#                    down to the worst final error of the three good configurations
P12_TRICK = "pretrain_dae"  # the trick (any arguments) that marks pre-trained networks
P12_ALPHA = 0.05  # one-sided Welch t-test level: pre-trained best < each supervised config
#: The supervised curves of Fig. 11: the paper's activations and initializations (the trick
#: studies' other activations, e.g. ReLU or SELU, are not the paper's comparison).
P12_SUPERVISED = {"activation": ("sigmoid", "tanh", "softsign"),
                  "initializer": ("standard", "normalized")}


# ---- P10 ----------------------------------------------------------------------------------

def _column(frame: pd.DataFrame, dataset: str) -> dict[str, float]:
    rows = frame[(frame["dataset"] == dataset) & (frame["status"] == "ok")]
    return dict(zip(rows["row"], rows["mean_test_error"], strict=True))


@claim("P10", "Table 1: sigmoid worst on every dataset; normalized init helps tanh most; "
       "softsign is robust to the init; Tanh N best on Shapeset",
       rule=(f"On Table 1 (protocol networks, depth 5; see trainability.analysis.table1), per "
             f"dataset with all five cells: (a) Sigmoid's mean error is the highest; "
             f"(b) Tanh - Tanh N > 0 and > Softsign - Softsign N; (c) |Softsign - Softsign N| "
             f"<= {P10_ROBUST_REL} x their mean; (d) on Shapeset Tanh N is bold (lowest, or "
             f"not different from the lowest by Welch's t-test at p = {BOLD_ALPHA}). Any "
             f"failed check -> not supported; all pass on Shapeset, MNIST and CIFAR-10 -> "
             f"supported; all pass but a dataset is incomplete -> inconclusive. Judged only "
             f"after >= {MIN_UPDATES_FINAL:,} updates."
             + WIDTH_NOTE))
def _p10(tables, depth: int = TABLE1_DEPTH, sigmoid_depth: int = TABLE1_DEPTH,
         min_updates: int = MIN_UPDATES_FINAL, min_width: int = MIN_WIDTH) -> Finding:
    if tables_empty(tables, "runs"):
        return missing("runs table")
    frame = table1(tables, depth=depth, sigmoid_depth=sigmoid_depth)
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"parts": parts, "means": {}, "sigmoid_depth": sigmoid_depth}
    notes, incomplete = [], []
    for _, label in paper_datasets():
        means = _column(frame, label)
        numbers["means"][label] = means
        if len(means) < 5:
            incomplete.append(label)
            continue
        others = [v for k, v in means.items() if k != "Sigmoid"]
        tanh_gain = means["Tanh"] - means["Tanh N"]
        softsign_gain = means["Softsign"] - means["Softsign N"]
        softsign_rel = abs(softsign_gain) / ((means["Softsign"] + means["Softsign N"]) / 2)
        parts[f"{label}: sigmoid worst"] = SUPPORTED if means["Sigmoid"] > max(others) \
            else NOT_SUPPORTED
        parts[f"{label}: normalized helps tanh most"] = (
            SUPPORTED if tanh_gain > 0 and tanh_gain > softsign_gain else NOT_SUPPORTED)
        parts[f"{label}: softsign robust"] = (SUPPORTED if softsign_rel <= P10_ROBUST_REL
                                              else NOT_SUPPORTED)
        notes.append(f"{label}: sigmoid {fmt(means['Sigmoid'], 4)}% vs worst other "
                     f"{fmt(max(others), 4)}%, tanh gain {tanh_gain:+.2f} vs softsign gain "
                     f"{softsign_gain:+.2f} pts, softsign rel. diff {softsign_rel:.1%}")
        if label == "Shapeset":
            cell = frame[(frame["dataset"] == label) & (frame["row"] == "Tanh N")].iloc[0]
            parts["Shapeset: Tanh N best"] = SUPPORTED if cell["bold"] else NOT_SUPPORTED
            numbers["shapeset_tanh_n_p_vs_best"] = cell["p_value"]
            notes.append(f"Shapeset Tanh N bold={bool(cell['bold'])} (p vs best "
                         f"{fmt(cell['p_value'])})")
    numbers["incomplete_datasets"] = incomplete
    outcome = combine(parts) if parts else INCONCLUSIVE
    if outcome == SUPPORTED and incomplete:
        outcome = INCONCLUSIVE
        notes.append(f"all checks pass but {', '.join(incomplete)} lack(s) some of the five "
                     f"configurations")
    elif not parts:
        notes.append("no dataset has all five Table 1 configurations")
    n_min = int(frame.loc[frame["status"] == "ok", "n_seeds"].min()) if parts else 0
    numbers["min_seeds_per_cell"] = n_min
    budget = float(frame.loc[frame["status"] == "ok", "updates"].min()) if parts else math.nan
    width = float(frame.loc[frame["status"] == "ok", "width"].min()) if parts else math.nan
    outcome, note = scale_gate(outcome, numbers, updates=budget, min_updates=min_updates,
                               width=width, min_width=min_width)
    return outcome, "; ".join(notes) + f" (>= {n_min} seeds per cell)." + note, numbers


# ---- P11 ----------------------------------------------------------------------------------

P11_BAD = (("sigmoid", "standard"), ("tanh", "standard"))
P11_GOOD = (("softsign", "standard"), ("softsign", "normalized"), ("tanh", "normalized"))


def _test_curve(tables, dataset, depth, activation, initializer) -> pd.Series:
    rows = config_rows(tables, "curves", dataset, depth, activation, initializer, True,
                       metric="test_error")
    if len(rows) == 0:
        return pd.Series(dtype=float)
    return rows.groupby("update")["value"].mean().sort_index()


@claim("P11", "Sigmoid and standard-init tanh converge slower and to worse error",
       rule=(f"Per dataset (Shapeset required; MNIST, CIFAR-10 when run), protocol networks, "
             f"depth 5 (sigmoid: `sigmoid_depth`, default 5), test-error curves averaged over "
             f"seeds. Worse: both sigmoid/standard and tanh/standard end with a higher final "
             f"error than each of softsign, softsign N and tanh N. Slower: with g = the worst "
             f"final error of those three and e0 = the mean initial error of all five, each "
             f"bad configuration first reaches e0 - {P11_HALFWAY} (e0 - g) later than every "
             f"good one (never counts as later). Supported if both hold on every dataset "
             f"present; judged only after >= {MIN_UPDATES_FINAL:,} updates."
             + WIDTH_NOTE))
def _p11(tables, sigmoid_depth: int = TABLE1_DEPTH, depth: int = TABLE1_DEPTH,
         min_updates: int = MIN_UPDATES_FINAL, min_width: int = MIN_WIDTH) -> Finding:
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"parts": parts}
    notes = []
    budgets, widths = [], []
    for key, label in paper_datasets():
        curves = {}
        for activation, initializer in P11_BAD + P11_GOOD:
            d = sigmoid_depth if activation == "sigmoid" else depth
            curve = _test_curve(tables, key, d, activation, initializer).dropna()
            if len(curve):
                curves[f"{activation}/{initializer}"] = curve
                budgets.append(protocol_updates(tables, key, d, activation, initializer))
                widths.append(protocol_width(tables, key, d, activation, initializer))
        if len(curves) < 5:
            if key == "shapeset":
                return missing(f"test-error curves of all five configurations on {label} "
                                f"(have {sorted(curves)})", **numbers)
            continue
        final = {k: float(c.iloc[-1]) for k, c in curves.items()}
        bad = [f"{a}/{i}" for a, i in P11_BAD]
        good = [f"{a}/{i}" for a, i in P11_GOOD]
        g = max(final[k] for k in good)
        e0 = float(np.mean([c.iloc[0] for c in curves.values()]))
        threshold = e0 - P11_HALFWAY * (e0 - g)
        reach = {k: first_update(c, lambda s, t=threshold: s <= t) for k, c in curves.items()}
        slowest_good = max(reach[k] for k in good)
        worse = all(final[b] > g for b in bad)
        slower = all(not math.isfinite(reach[b]) or reach[b] > slowest_good for b in bad)
        parts[f"{label}: worse final error"] = SUPPORTED if worse else NOT_SUPPORTED
        parts[f"{label}: slower"] = SUPPORTED if slower else NOT_SUPPORTED
        numbers[label] = {"final": final, "threshold": threshold, "reach_update": reach}
        notes.append(f"{label}: final " + ", ".join(f"{k} {v:.3f}" for k, v in final.items())
                     + f"; update reaching {threshold:.3f}: "
                     + ", ".join(f"{k} {fmt_count(v) if math.isfinite(v) else 'never'}"
                                 for k, v in reach.items()))
    budget = min(budgets) if budgets else math.nan
    width = min(widths) if widths else math.nan
    outcome, note = scale_gate(combine(parts), numbers, updates=budget, min_updates=min_updates,
                               width=width, min_width=min_width)
    return outcome, "; ".join(notes) + "." + note, numbers


# ---- P12 ----------------------------------------------------------------------------------

def _p12_side(tables, dataset: str, budget: str, trick_filter: Callable[[str], bool],
              depths: Iterable[int] | None = None,
              where: Mapping[str, Iterable[str]] | None = None) -> dict[tuple, np.ndarray]:
    """{(activation, initializer, depth, trick): final test errors (%) of the protocol
    networks, diverged ones left out} for the tricks passing `trick_filter`."""
    runs = tables["runs"]
    runs = runs[runs["protocol"].astype(bool) & (runs["dataset"] == dataset)
                & (runs["budget"].astype(str) == budget)]
    runs = runs[runs["trick"].astype(str).map(trick_filter)]
    if depths is not None:
        runs = runs[runs["depth"].isin(list(depths))]
    for column, allowed in (where or {}).items():
        runs = runs[runs[column].isin(allowed)]
    configs = runs[["activation", "initializer", "depth", "trick"]].drop_duplicates()
    out = {}
    for activation, initializer, depth, trick in configs.itertuples(index=False):
        chosen = protocol_runs(tables, dataset, int(depth), activation, initializer,
                               trick=trick, budget=budget)
        kept = chosen[~is_diverged(chosen)]
        out[activation, initializer, int(depth), trick] = (
            kept["final_test_error"].to_numpy(dtype=float) * 100.0)
    return out


def _is_pretraining(trick: str) -> bool:
    return trick_names(trick) == (P12_TRICK,)


@claim("P12", "Unsupervised layer-wise pretraining (denoising auto-encoders) beats all purely "
       "supervised curves on Shapeset",
       rule=(f"Shapeset, protocol networks. Pre-trained: trick {P12_TRICK} (any arguments); "
             f"purely supervised: trick none with the paper's activations "
             f"{list(P12_SUPERVISED['activation'])} and initializations "
             f"{list(P12_SUPERVISED['initializer'])}, at the same budget (the budget holding "
             f"the most pre-trained networks) and the same depths. Per configuration (activation, "
             f"initializer, depth) the mean final test error over seeds, diverged networks "
             f"left out as in Table 1. Supported if the best pre-trained configuration's mean "
             f"is below every supervised configuration's mean, each difference significant "
             f"by a one-sided Welch t-test at p < {P12_ALPHA}; not supported if a supervised "
             f"configuration's mean is at or below it; inconclusive otherwise or while either "
             f"side has no runs. Judged only after >= {MIN_UPDATES_FINAL:,} updates."
             + WIDTH_NOTE))
def _p12(tables, dataset: str = "shapeset", budget: str | None = None,
         min_updates: int = MIN_UPDATES_FINAL, min_width: int = MIN_WIDTH) -> Finding:
    if tables_empty(tables, "runs"):
        return missing("runs table")
    runs = tables["runs"]
    marked = runs[runs["trick"].astype(str).map(_is_pretraining)
                  & (runs["dataset"] == dataset) & runs["protocol"].astype(bool)]
    if budget is None and len(marked):
        budget = str(marked["budget"].astype(str).value_counts().sort_index()
                     .sort_values(ascending=False, kind="stable").index[0])
    marked = marked[marked["budget"].astype(str) == budget] if len(marked) else marked
    if len(marked) == 0:
        return INCONCLUSIVE, (f"No runs of pre-training (trick {P12_TRICK}) on {dataset}: the "
                              f"suite has not run the tricks_pretraining study yet."), {}
    pre = {k: v for k, v in _p12_side(tables, dataset, budget, _is_pretraining).items()
           if len(v)}
    depths = sorted({k[2] for k in pre})
    sup = {k: v for k, v in _p12_side(tables, dataset, budget,
                                      lambda t: t == PAPER_TRICK, depths,
                                      P12_SUPERVISED).items() if len(v)}
    numbers: dict[str, Any] = {"budget": budget, "depths": depths}
    if not pre:
        return missing(f"non-diverged pre-trained networks on {dataset} at budget {budget}",
                        **numbers)
    if not sup:
        return INCONCLUSIVE, (f"No runs of purely supervised (trick none) networks on "
                              f"{dataset} at budget {budget!r}, depth(s) {depths}, to compare "
                              f"the pre-trained ones with."), numbers

    def label(key: tuple) -> str:
        return f"{key[0]}/{key[1]} d{key[2]}"

    best = min(pre, key=lambda k: float(np.mean(pre[k])))
    best_mean = float(np.mean(pre[best]))
    comparisons = {label(k): {"mean_pct": float(np.mean(v)), "n": len(v),
                              "welch_p_less": welch_less(pre[best], v)}
                   for k, v in sup.items()}
    numbers.update(pretrained={label(k): {"mean_pct": float(np.mean(v)), "n": len(v)}
                               for k, v in pre.items()},
                   best_pretrained=label(best), best_pretrained_mean_pct=best_mean,
                   supervised=comparisons)
    beaten = all(c["mean_pct"] > best_mean for c in comparisons.values())
    significant = all(c["welch_p_less"] < P12_ALPHA for c in comparisons.values())
    if not beaten:
        outcome = NOT_SUPPORTED
    else:
        outcome = SUPPORTED if significant else INCONCLUSIVE
    best_sup = min(comparisons, key=lambda k: comparisons[k]["mean_pct"])
    chosen = [protocol_runs(tables, dataset, k[2], k[0], k[1], trick=k[3], budget=budget)
              for k in (*pre, *sup)]
    outcome, note = scale_gate(outcome, numbers,
                               updates=float(min(c["updates"].min() for c in chosen)),
                               min_updates=min_updates,
                               width=float(min(c["width"].min() for c in chosen)),
                               min_width=min_width)
    worst_p = max(c["welch_p_less"] for c in comparisons.values())
    return outcome, (f"Budget {budget!r}: best pre-trained {label(best)} {best_mean:.2f}% "
                     f"(n={len(pre[best])}) vs best supervised {best_sup} "
                     f"{comparisons[best_sup]['mean_pct']:.2f}% (n="
                     f"{comparisons[best_sup]['n']}); {len(sup)} supervised configuration(s), "
                     f"largest one-sided Welch p {fmt(worst_p)}.{note}"), numbers
