"""What the practitioner claims S1-S14 (fact sheet Sec. 11) share: conventions, selections.

The claims themselves are in one module per theme: `practitioner_activations` (S1-S4, S8,
S13: activations and initializations), `practitioner_remedies` (S5-S7, S12: batch norm,
residual connections, clipping, adaptive optimizers), `practitioner_gradients` (S9, S10:
exploding products, vanishing sigmoid gradients) and `practitioner_overfitting` (S11, S14).
Each claim is one `@claim` function of the aggregate tables (see
`trainability.analysis.ledger` for the mechanism). Conventions shared by all of them:

- **Networks.** Protocol networks (`runs.protocol`: the selected learning rate of each
  configuration, every seed) unless a claim says otherwise (S7 needs every learning rate,
  S10 every network at initialization). Activations are compared by their one spelling
  (the tables hold "leaky_relu:0.01", "maxout:2": trainability.registry).
- **One budget per claim.** Studies may carry their own budget (width, updates), so a claim
  never mixes budgets: it uses the budget that gives it the most comparisons (pairs or
  networks), or the one passed as the `budget` option; the evidence names it.
- **Training sets.** Networks trained on a subset of the training set (a `train_size`
  column with a number; the overfitting study) count only for the overfitting claims S11
  and S14, and pairs always share the training-set size.
- **Errors** are final test errors in percent. A diverged network (diverged_at set or no
  final test error) scores 100%: failing to train counts against its configuration.
- **Comparisons "A beats B"** pair networks that differ only in the compared axis: same
  dataset, depth, width, batch size, activation, initializer, trick, budget, init seed and
  data seed, and training-set size. With
  d = error(A) - error(B) per pair, the test is the one-sided Wilcoxon signed-rank test
  (`scipy.stats.wilcoxon`, H1: d < 0). Verdict: supported if mean d < 0 and p < `ALPHA`;
  not supported if mean d >= 0; inconclusive in between (the claimed direction, not
  significant) or with no pairs.
- **Trains**: a group of networks trains when its mean final test error is below
  `TRAINED_FRACTION` x the dataset's majority-class error (its `chance_error` in
  trainability.data.catalog), by a one-sided
  one-sample t-test on error / chance (`scipy.stats.ttest_1samp`).
- **Scale.** Below `S_MIN_WIDTH` units per layer or `S_MIN_UPDATES` updates (the smoke
  preset), a verdict is "inconclusive" with the provisional one in
  `numbers["provisional_verdict"]` (`scale_gate`); every claim takes `min_width` /
  `min_updates` options. These are practitioner-scale thresholds (a 100-unit MLP after
  2,000 SGD updates), not the paper's (width 1000, 5M updates): the S claims are about
  what practitioners see in ordinary training runs.
- Missing rows never raise: the claim is "inconclusive" and the evidence says "no runs of"
  what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from trainability.analysis.common import (
    PAPER_BUDGET,
    RUN_KEY,
    is_diverged,
    tables_empty,
    trick_names,
)
from trainability.analysis.ledger import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Outcome,
    fmt,
    scale_gate,
)
from trainability.analysis.stats import signed_rank_less, t_less
from trainability.data.catalog import DATASETS

# ---- conventions ----------------------------------------------------------------------------
#: Significance level of every test below.
ALPHA = 0.05
#: Practitioner scale: narrower or shorter runs give provisional verdicts only. The claims
#: are about whether deep nets train at all and how tricks rank, which nets of 64 units show
#: within 1,000 updates of batch 10 (the quick preset's `tricks` budget); smoke-scale nets
#: (16 units, 60 updates) stay provisional.
S_MIN_WIDTH = 64
S_MIN_UPDATES = 1_000
#: Error (%) scored for a diverged network.
DIVERGED_ERROR = 100.0
#: Majority-class error (fraction) of a dataset the catalog does not know (`chance_error`).
DEFAULT_CHANCE_ERROR = 0.9
#: A network group "trains" when its mean error is below this fraction of chance.
TRAINED_FRACTION = 0.8
#: Config columns that identify a network apart from the compared axis (see module doc).
PAIR_KEYS = ("dataset", "depth", "width", "batch_size", "activation", "initializer", "trick",
             "budget", "inputs", "init_seed", "data_seed")
#: The runs column of the training-set size (None: the full set; a number: a subset).
TRAINING_SET_COLUMN = "train_size"
#: "Deep" and "very deep" nets, in hidden layers.
DEEP_DEPTH = 5  # S1: "deep nets" = depth >= 5 hidden layers
VERY_DEEP_DEPTH = 20  # S3 (deep SELU nets), S6 (very deep nets)

SCALE_NOTE = (f" Below {S_MIN_WIDTH} units per layer or {S_MIN_UPDATES:,} updates the verdict "
              f"is inconclusive, with the provisional one in the numbers.")
PAIRED = (f"paired networks (same dataset, depth, width, activation, initializer, trick, "
          f"budget and seeds), one-sided Wilcoxon signed-rank test at p < {ALPHA}; supported "
          f"if the mean difference has the claimed sign and p < {ALPHA}, not supported if it "
          f"has the other sign (or is 0), inconclusive otherwise")


# ---- selection --------------------------------------------------------------------------------

def single(trick: str, name: str) -> bool:
    """The trick is exactly one spec called `name` (any arguments)."""
    return trick_names(trick) == (name,)


def chance_error(dataset: str) -> float:
    """The dataset's majority-class error (trainability.data.catalog); 0.9 for a dataset the
    catalog does not know."""
    known = DATASETS.get(str(dataset))
    return known.chance_error if known is not None else DEFAULT_CHANCE_ERROR


def on_subset(runs: pd.DataFrame) -> pd.Series:
    """True for networks trained on a subset of the training set (a training-set size column
    holds a positive number; empty = the full set)."""
    subset = pd.Series(False, index=runs.index)
    size = pd.to_numeric(runs[TRAINING_SET_COLUMN], errors="coerce")
    subset |= (size > 0).fillna(False).astype(bool)
    return subset


def networks(tables: Mapping[str, pd.DataFrame], protocol_only: bool = True,
             full_data: bool = True) -> pd.DataFrame:
    """Runs with `error` and `train_error` in % (diverged: 100) and `diverged`; the largest
    width of each configuration, duplicates of one network (same config, width, lr, seeds)
    counted once. With `full_data`, networks trained on a subset of the training set (the
    overfitting study) are left out."""
    if tables_empty(tables, "runs"):
        return pd.DataFrame(columns=[*RUN_KEY, *PAIR_KEYS, "lr", "updates", "protocol",
                                     "error", "train_error", "diverged"])
    runs = tables["runs"]
    if protocol_only:
        runs = runs[runs["protocol"].astype(bool)]
    if full_data:
        runs = runs[~on_subset(runs)]
    runs = runs.assign(trick=runs["trick"].astype(str), budget=runs["budget"].astype(str))
    diverged = is_diverged(runs).to_numpy()
    test = runs["final_test_error"].to_numpy(dtype=float) * 100.0
    train = runs["final_train_error"].to_numpy(dtype=float) * 100.0
    runs = runs.assign(diverged=diverged, error=np.where(diverged, DIVERGED_ERROR, test),
                       train_error=np.where(diverged, DIVERGED_ERROR, train))
    if len(runs) == 0:
        return runs
    config = ["dataset", "depth", "activation", "initializer", "trick", "budget", "inputs",
              TRAINING_SET_COLUMN]
    widest = runs.groupby(config, dropna=False)["width"].transform("max")
    runs = runs[runs["width"] == widest]
    network = [*config, "width", "lr", "init_seed", "data_seed", "batch_size"]
    return runs.sort_values(["stage", "run", "member"]).drop_duplicates(network)


def choose_budget(frame: pd.DataFrame, budget: str | None,
                  usable: Callable[[pd.DataFrame], int]) -> tuple[pd.DataFrame, str | None]:
    """The rows of one budget: `budget` if given, else the one with the most usable units
    (ties: a study's own budget before the preset, then by name)."""
    if budget is not None:
        return frame[frame["budget"] == budget], budget
    if len(frame) == 0:
        return frame, None
    names = sorted(set(frame["budget"]),
                   key=lambda b: (-usable(frame[frame["budget"] == b]), b == PAPER_BUDGET, b))
    return frame[frame["budget"] == names[0]], names[0]


def pair_keys(frame: pd.DataFrame, axis: str, extra: Sequence[str] = ()) -> list[str]:
    return [k for k in (*PAIR_KEYS, TRAINING_SET_COLUMN, *extra) if k in frame and k != axis]


def matched_pairs(frame: pd.DataFrame, axis: str, a: str, b: str, value: str = "error",
                  extra: Sequence[str] = ()) -> pd.DataFrame:
    """Networks with axis == a matched to those with axis == b on every other key; columns
    keys..., a, b, d = a - b (rows with a missing value dropped)."""
    keys = pair_keys(frame, axis, extra)
    if len(frame) == 0 or value not in frame:
        return pd.DataFrame(columns=[*keys, "a", "b", "d"])
    filled = frame.assign(**{k: frame[k].astype(object).where(frame[k].notna(), "-")
                             for k in keys})
    left = filled[filled[axis] == a].groupby(keys)[value].mean().rename("a")
    right = filled[filled[axis] == b].groupby(keys)[value].mean().rename("b")
    pairs = pd.concat([left, right], axis=1, join="inner").reset_index()
    pairs["d"] = pairs["a"] - pairs["b"]
    return pairs[np.isfinite(pairs["d"].to_numpy(dtype=float))]


def directional(result: Mapping[str, Any], bound: float = 0.0) -> Outcome:
    """The three-way rule: supported if mean < bound and p < ALPHA; not supported if
    mean >= bound; inconclusive otherwise or without data."""
    if not result["n"] or not math.isfinite(result["mean"]):
        return INCONCLUSIVE
    if result["mean"] >= bound:
        return NOT_SUPPORTED
    return SUPPORTED if result["p"] < ALPHA else INCONCLUSIVE


def compare(frame: pd.DataFrame, axis: str, a: str, b: str, value: str = "error",
            extra: Sequence[str] = ()) -> tuple[Outcome, dict[str, Any]]:
    pairs = matched_pairs(frame, axis, a, b, value, extra)
    result = signed_rank_less(pairs["d"])
    result.update(a=a, b=b, value=value, mean_a=float(pairs["a"].mean()) if len(pairs)
                  else math.nan, mean_b=float(pairs["b"].mean()) if len(pairs) else math.nan)
    if len(pairs):
        result["datasets"] = sorted(map(str, set(pairs["dataset"])))
        result["depths"] = sorted(int(d) for d in set(pairs["depth"]))
    return directional(result), result


def describe(result: Mapping[str, Any], unit: str = "points") -> str:
    if not result["n"]:
        return f"{result['a']} vs {result['b']}: no runs of matched pairs"
    return (f"{result['a']} {fmt(result['mean_a'])} vs {result['b']} {fmt(result['mean_b'])} "
            f"({result['value']}, mean diff {result['mean']:+.3g} {unit}, n={result['n']} "
            f"pairs, Wilcoxon p={fmt(result['p'])})")


def trains(rows: pd.DataFrame) -> tuple[Outcome, dict[str, Any]]:
    """The 'trains' rule on a group of networks (module doc)."""
    if len(rows) == 0:
        return INCONCLUSIVE, {"n": 0, "mean": math.nan, "p": math.nan}
    ratio = rows["error"] / 100.0 / rows["dataset"].map(chance_error)
    result = t_less(ratio, TRAINED_FRACTION)
    result["share_trained"] = float(np.mean(ratio < TRAINED_FRACTION))
    result["n_diverged"] = int(rows["diverged"].sum())
    return directional(result, TRAINED_FRACTION), result


def gate(outcome: Outcome, numbers: dict, rows: pd.DataFrame, min_updates: int,
         min_width: int) -> tuple[Outcome, str]:
    """scale_gate on the smallest budget (early-stopped networks aside) and width used; also
    records which runs, how many networks and which init seeds the claim looked at."""
    updates = width = math.nan
    if len(rows):
        numbers.update(runs=sorted(map(str, set(rows["run"]))), n_networks=len(rows),
                       seeds=sorted(int(s) for s in set(rows["init_seed"].dropna())))
        plain = rows[~rows["trick"].map(lambda t: "early_stopping" in trick_names(t))]
        budget_rows = plain if len(plain) else rows
        updates = float(budget_rows["updates"].min())
        width = float(rows["width"].min())
    return scale_gate(outcome, numbers, updates=updates, min_updates=min_updates,
                      width=width, min_width=min_width)


def no_runs(what: str, **numbers: Any) -> Finding:
    return INCONCLUSIVE, f"No runs of {what}.", dict(numbers)


def parts_text(parts: Mapping[str, Outcome]) -> str:
    return " Parts: " + ", ".join(f"{k}={v}" for k, v in parts.items()) + "."


def layer_stat_rows(tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame, quantity: str,
                    stat: str) -> pd.DataFrame:
    """layer_stats rows (update, layer, value) of the networks `rows`, with their config."""
    if tables_empty(tables, "layer_stats") or len(rows) == 0:
        return pd.DataFrame(columns=[*RUN_KEY, "update", "layer", "value"])
    stats_ = tables["layer_stats"]
    stats_ = stats_[(stats_["quantity"] == quantity) & (stats_["stat"] == stat)]
    stats_ = stats_[[*RUN_KEY, "update", "layer", "value"]]
    return stats_.merge(rows, on=RUN_KEY, how="inner")


def curve_rows(tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame,
               metrics: Sequence[str]) -> tuple[pd.DataFrame, str | None]:
    """curves rows (run, member, update, value in %) of `rows` for the first metric of
    `metrics` the curves hold."""
    if tables_empty(tables, "curves") or len(rows) == 0:
        return pd.DataFrame(columns=[*RUN_KEY, "update", "value"]), None
    curves = tables["curves"]
    for metric in metrics:
        chosen = curves[curves["metric"] == metric]
        chosen = chosen[[*RUN_KEY, "update", "value"]].merge(rows[RUN_KEY], on=RUN_KEY)
        if len(chosen):
            return chosen.assign(value=chosen["value"] * 100.0), metric
    return pd.DataFrame(columns=[*RUN_KEY, "update", "value"]), None
