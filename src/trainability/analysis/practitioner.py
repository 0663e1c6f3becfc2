"""The practitioner claims S1-S14 of the claims ledger (fact sheet Sec. 11).

Each claim is one `@claim` function of the aggregate tables (see
`trainability.analysis.claims` for the mechanism). Conventions shared by all of them:

- **Networks.** Protocol networks (`runs.protocol`: the selected learning rate of each
  configuration, every seed) unless a claim says otherwise (S7 needs every learning rate,
  S10 every network at initialization). Tables without `trick`/`budget` columns read as
  trick "none" at budget "preset". Activation names are compared in canonical form
  ("leaky_relu" = "leaky_relu:0.01", "maxout" = "maxout:2").
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
  data seed (and the training-set size column when the tables have one). With
  d = error(A) - error(B) per pair, the test is the one-sided Wilcoxon signed-rank test
  (`scipy.stats.wilcoxon`, H1: d < 0). Verdict: supported if mean d < 0 and p < `ALPHA`;
  not supported if mean d >= 0; inconclusive in between (the claimed direction, not
  significant) or with no pairs.
- **Trains**: a group of networks trains when its mean final test error is below
  `TRAINED_FRACTION` x the dataset's majority-class error (`CHANCE_ERROR`), by a one-sided
  one-sample t-test on error / chance (`scipy.stats.ttest_1samp`).
- **Scale.** Below `S_MIN_WIDTH` units per layer or `S_MIN_UPDATES` updates (the smoke
  preset), a verdict is "inconclusive" with the provisional one in
  `numbers["provisional_verdict"]` (`scale_gate`); every claim takes `min_width` /
  `min_updates` options. These are practitioner-scale thresholds (a 100-unit MLP after
  2,000 SGD updates), not the paper's (width 1000, 5M updates): the S claims are about
  what practitioners see in ordinary training runs.
- Missing rows never raise: the claim is "inconclusive" and the evidence says "no runs of"
  what is missing.

Two pure computations are public because figures use them too:
`random_matrix_product_norms` (S9) and `sigmoid_derivative_max` (S10).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from trainability.analysis.claims import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Outcome,
    claim,
    combine,
    scale_gate,
)
from trainability.analysis.common import (
    PAPER_BUDGET,
    PAPER_TRICK,
    RUN_KEY,
    STANDARDIZED_INPUTS,
    is_diverged,
    tables_empty,
    trick_names,
    with_axes,
)

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
#: Majority-class test error (fraction) per dataset: Shapeset-3x2's largest class has prior
#: 1/6 (fact sheet Sec. 10), MNIST's ("1") 11.35%, CIFAR-10 is balanced.
CHANCE_ERROR = {"shapeset": 5 / 6, "mnist": 1 - 0.1135, "cifar10": 0.9}
DEFAULT_CHANCE_ERROR = 0.9
#: A network group "trains" when its mean error is below this fraction of chance.
TRAINED_FRACTION = 0.8
#: Datasets with a finite training set (overfitting claims S11, S14).
FINITE_DATASETS = ("mnist", "cifar10")
#: Config columns that identify a network apart from the compared axis (see module doc).
PAIR_KEYS = ("dataset", "depth", "width", "batch_size", "activation", "initializer", "trick",
             "budget", "inputs", "init_seed", "data_seed")
#: Training-set size columns matched too when present (e.g. a 1000-example MNIST subset).
TRAINING_SET_COLUMNS = ("train_size", "train_subset", "train_examples", "n_train")
ACTIVATION_ALIASES = {"leaky_relu": "leaky_relu:0.01", "maxout": "maxout:2",
                      "logistic": "sigmoid"}

# ---- thresholds of individual claims ----------------------------------------------------------
DEEP_DEPTH = 5  # S1: "deep nets" = depth >= 5 hidden layers
VERY_DEEP_DEPTH = 20  # S3 (deep SELU nets), S6 (very deep nets)
S1_ORDER = ("selu", "elu", "leaky_relu:0.01", "relu", "tanh", "sigmoid")  # best first
S3_MEAN_TOLERANCE = 0.3  # |mean activation| <= this counts as "mean ~ 0"
S3_STD_BAND = (0.7, 1.3)  # std in this band counts as "std ~ 1"
S3_MIN_SHARE = 0.9  # share of (layer, monitor point) cells that must be in both bands
S4_MIN_GROWTH = 0.01  # ReLU dead fraction must grow by more than 1 point (absolute)
S4_LEAKY = ("leaky_relu:0.01", "leaky_relu:0.2", "prelu", "rrelu")
S4_LEAKY_MAX_DEAD = 0.0  # a leaky variant "avoids" dying: its dead fraction stays 0
S5_SENSITIVITY_FACTOR = 0.5  # "removes most": spread with batch norm < half the plain spread
S5_ACTIVATIONS = ("sigmoid", "tanh", "relu")
S5_INITIALIZERS = ("standard", "normalized")
S8_RELU_FAMILY = ("relu",)
S8_SATURATING = ("tanh", "sigmoid")
S9_CLAIMED_LOG10 = 25.0  # "about 1e25"
S9_TOLERANCE = 2.0  # ... within two orders of magnitude
S9_EXPLODED_LOG10 = 10.0  # "explodes": grows by >= 10 orders of magnitude
SIGMOID_DERIVATIVE_BOUND = 0.25
S11_REGULARIZERS = ("dropout", "l2", "l1")
S12_OPTIMIZERS = ("adagrad", "rmsprop", "adam")
S12_POOR_INIT = "standard"  # the paper's Eq. 1, the poorly scaled init of deep nets
S12_MIN_DEPTH = 10
S13_MARGIN = 1.0  # percentage points: "matches" = maxout at most 1 point worse
S14_MIN_RISE = 1.0  # points: plain nets' test error must rise this much from its minimum

_SCALE_NOTE = (f" Below {S_MIN_WIDTH} units per layer or {S_MIN_UPDATES:,} updates the verdict "
               f"is inconclusive, with the provisional one in the numbers.")
_PAIRED = (f"paired networks (same dataset, depth, width, activation, initializer, trick, "
           f"budget and seeds), one-sided Wilcoxon signed-rank test at p < {ALPHA}; supported "
           f"if the mean difference has the claimed sign and p < {ALPHA}, not supported if it "
           f"has the other sign (or is 0), inconclusive otherwise")


# ---- selection --------------------------------------------------------------------------------

def canonical_activation(name: Any) -> str:
    """"leaky_relu" -> "leaky_relu:0.01", "maxout" -> "maxout:2", "leaky_relu:0.20" ->
    "leaky_relu:0.2"; other names unchanged."""
    text = str(name).strip()
    if text in ACTIVATION_ALIASES:
        return ACTIVATION_ALIASES[text]
    if ":" in text:
        head, args = text.split(":", 1)
        try:
            return f"{head}:{float(args):g}"
        except ValueError:
            return text
    return text


def _single(trick: str, name: str) -> bool:
    """The trick is exactly one spec called `name` (any arguments)."""
    return trick_names(trick) == (name,)


def chance_error(dataset: str) -> float:
    return CHANCE_ERROR.get(str(dataset), DEFAULT_CHANCE_ERROR)


def _on_subset(runs: pd.DataFrame) -> pd.Series:
    """True for networks trained on a subset of the training set (a training-set size column
    holds a positive number; empty = the full set)."""
    subset = pd.Series(False, index=runs.index)
    for column in TRAINING_SET_COLUMNS:
        if column in runs:
            size = pd.to_numeric(runs[column], errors="coerce")
            subset |= (size > 0).fillna(False).astype(bool)
    return subset


def _runs(tables: Mapping[str, pd.DataFrame], protocol_only: bool = True,
          full_data: bool = True) -> pd.DataFrame:
    """Runs with trick/budget filled, canonical activations, `error` and `train_error` in %
    (diverged: 100), `diverged`; the largest width of each configuration, duplicates of one
    network (same config, width, lr, seeds) counted once. With `full_data`, networks trained
    on a subset of the training set (the overfitting study) are left out."""
    if tables_empty(tables, "runs"):
        return pd.DataFrame(columns=[*RUN_KEY, *PAIR_KEYS, "lr", "updates", "protocol",
                                     "error", "train_error", "diverged"])
    runs = with_axes(tables["runs"])
    if protocol_only:
        runs = runs[runs["protocol"].astype(bool)]
    if full_data:
        runs = runs[~_on_subset(runs)]
    runs = runs.assign(activation=runs["activation"].map(canonical_activation),
                       trick=runs["trick"].astype(str), budget=runs["budget"].astype(str))
    diverged = is_diverged(runs).to_numpy()
    test = runs["final_test_error"].to_numpy(dtype=float) * 100.0
    train = (runs["final_train_error"].to_numpy(dtype=float) * 100.0
             if "final_train_error" in runs else np.full(len(runs), np.nan))
    runs = runs.assign(diverged=diverged, error=np.where(diverged, DIVERGED_ERROR, test),
                       train_error=np.where(diverged, DIVERGED_ERROR, train))
    if len(runs) == 0:
        return runs
    config = [c for c in ("dataset", "depth", "activation", "initializer", "trick", "budget",
                          "inputs", *TRAINING_SET_COLUMNS) if c in runs]
    if "width" in runs:
        widest = runs.groupby(config, dropna=False)["width"].transform("max")
        runs = runs[runs["width"] == widest]
    network = config + [c for c in ("width", "lr", "init_seed", "data_seed", "batch_size")
                        if c in runs]
    order = [c for c in ("stage", "run", "member") if c in runs]
    return runs.sort_values(order).drop_duplicates(network)


def _choose_budget(frame: pd.DataFrame, budget: str | None,
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


def _pair_keys(frame: pd.DataFrame, axis: str, extra: Sequence[str] = ()) -> list[str]:
    return [k for k in (*PAIR_KEYS, *TRAINING_SET_COLUMNS, *extra) if k in frame and k != axis]


def _pairs(frame: pd.DataFrame, axis: str, a: str, b: str, value: str = "error",
           extra: Sequence[str] = ()) -> pd.DataFrame:
    """Networks with axis == a matched to those with axis == b on every other key; columns
    keys..., a, b, d = a - b (rows with a missing value dropped)."""
    keys = _pair_keys(frame, axis, extra)
    if len(frame) == 0 or value not in frame:
        return pd.DataFrame(columns=[*keys, "a", "b", "d"])
    filled = frame.assign(**{k: frame[k].astype(object).where(frame[k].notna(), "-")
                             for k in keys})
    left = filled[filled[axis] == a].groupby(keys)[value].mean().rename("a")
    right = filled[filled[axis] == b].groupby(keys)[value].mean().rename("b")
    pairs = pd.concat([left, right], axis=1, join="inner").reset_index()
    pairs["d"] = pairs["a"] - pairs["b"]
    return pairs[np.isfinite(pairs["d"].to_numpy(dtype=float))]


def signed_rank_less(x: Iterable[float]) -> dict[str, Any]:
    """One-sided Wilcoxon signed-rank test of H1: x tends to be < 0 (x = paired differences).
    All-zero differences give p = 1; no values, p = NaN."""
    x = np.asarray(list(x), dtype=float)
    x = x[np.isfinite(x)]
    result = {"test": "Wilcoxon signed-rank, one-sided", "n": len(x),
              "mean": float(np.mean(x)) if len(x) else math.nan,
              "median": float(np.median(x)) if len(x) else math.nan, "p": math.nan}
    if len(x) == 0:
        return result
    if not np.any(x != 0):
        result["p"] = 1.0
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result["p"] = float(stats.wilcoxon(x, alternative="less").pvalue)
    return result


def t_less(x: Iterable[float], popmean: float) -> dict[str, Any]:
    """One-sided one-sample t-test of H1: mean(x) < popmean (scipy.stats.ttest_1samp).
    Fewer than 2 values: p = NaN; zero variance: p = 0 if mean < popmean else 1."""
    x = np.asarray(list(x), dtype=float)
    x = x[np.isfinite(x)]
    result = {"test": "one-sample t-test, one-sided", "n": len(x), "popmean": popmean,
              "mean": float(np.mean(x)) if len(x) else math.nan, "p": math.nan}
    if len(x) < 2:
        return result
    if np.var(x, ddof=1) == 0:
        result["p"] = 0.0 if np.mean(x) < popmean else 1.0
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result["p"] = float(stats.ttest_1samp(x, popmean, alternative="less").pvalue)
    return result


def directional(result: Mapping[str, Any], bound: float = 0.0) -> Outcome:
    """The three-way rule: supported if mean < bound and p < ALPHA; not supported if
    mean >= bound; inconclusive otherwise or without data."""
    if not result["n"] or not math.isfinite(result["mean"]):
        return INCONCLUSIVE
    if result["mean"] >= bound:
        return NOT_SUPPORTED
    return SUPPORTED if result["p"] < ALPHA else INCONCLUSIVE


def _compare(frame: pd.DataFrame, axis: str, a: str, b: str, value: str = "error",
             extra: Sequence[str] = ()) -> tuple[Outcome, dict[str, Any]]:
    pairs = _pairs(frame, axis, a, b, value, extra)
    result = signed_rank_less(pairs["d"])
    result.update(a=a, b=b, value=value, mean_a=float(pairs["a"].mean()) if len(pairs)
                  else math.nan, mean_b=float(pairs["b"].mean()) if len(pairs) else math.nan)
    if len(pairs):
        result["datasets"] = sorted(map(str, set(pairs["dataset"])))
        result["depths"] = sorted(int(d) for d in set(pairs["depth"]))
    return directional(result), result


def _describe(result: Mapping[str, Any], unit: str = "points") -> str:
    if not result["n"]:
        return f"{result['a']} vs {result['b']}: no runs of matched pairs"
    return (f"{result['a']} {_f(result['mean_a'])} vs {result['b']} {_f(result['mean_b'])} "
            f"({result['value']}, mean diff {result['mean']:+.3g} {unit}, n={result['n']} "
            f"pairs, Wilcoxon p={_f(result['p'])})")


def _trains(rows: pd.DataFrame) -> tuple[Outcome, dict[str, Any]]:
    """The 'trains' rule on a group of networks (module doc)."""
    if len(rows) == 0:
        return INCONCLUSIVE, {"n": 0, "mean": math.nan, "p": math.nan}
    ratio = rows["error"] / 100.0 / rows["dataset"].map(chance_error)
    result = t_less(ratio, TRAINED_FRACTION)
    result["share_trained"] = float(np.mean(ratio < TRAINED_FRACTION))
    result["n_diverged"] = int(rows["diverged"].sum())
    return directional(result, TRAINED_FRACTION), result


def _gate(outcome: Outcome, numbers: dict, rows: pd.DataFrame, min_updates: int,
          min_width: int) -> tuple[Outcome, str]:
    """scale_gate on the smallest budget (early-stopped networks aside) and width used; also
    records which runs, how many networks and which init seeds the claim looked at."""
    updates = width = math.nan
    if len(rows):
        numbers.update(runs=sorted(map(str, set(rows["run"]))), n_networks=len(rows),
                       seeds=sorted(int(s) for s in set(rows["init_seed"].dropna()))
                       if "init_seed" in rows else [])
        plain = rows[~rows["trick"].map(lambda t: "early_stopping" in trick_names(t))]
        budget_rows = plain if len(plain) else rows
        if "updates" in rows:
            updates = float(budget_rows["updates"].min())
        if "width" in rows:
            width = float(rows["width"].min())
    return scale_gate(outcome, numbers, updates=updates, min_updates=min_updates,
                      width=width, min_width=min_width)


def _no_runs(what: str, **numbers: Any) -> Finding:
    return INCONCLUSIVE, f"No runs of {what}.", dict(numbers)


def _f(value: Any, digits: int = 3) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "nan"
    return f"{value:.{digits}g}" if math.isfinite(value) else "nan"


def _parts_text(parts: Mapping[str, Outcome]) -> str:
    return " Parts: " + ", ".join(f"{k}={v}" for k, v in parts.items()) + "."


def _stat_rows(tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame, quantity: str,
               stat: str) -> pd.DataFrame:
    """layer_stats rows (update, layer, value) of the networks `rows`, with their config."""
    if tables_empty(tables, "layer_stats") or len(rows) == 0:
        return pd.DataFrame(columns=[*RUN_KEY, "update", "layer", "value"])
    stats_ = tables["layer_stats"]
    stats_ = stats_[(stats_["quantity"] == quantity) & (stats_["stat"] == stat)]
    stats_ = stats_[[*RUN_KEY, "update", "layer", "value"]]
    return stats_.merge(rows, on=RUN_KEY, how="inner")


def _curve_rows(tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame,
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


# ---- S1 -----------------------------------------------------------------------------------

@claim("S1", "Ranking for deep nets: SELU > ELU > leaky ReLU > ReLU > tanh > logistic",
       rule=(f"Trick none, depth >= {DEEP_DEPTH}, every dataset and initializer present; leaky "
             f"ReLU = slope 0.01. For each neighbouring pair of the claimed order "
             f"{' > '.join(S1_ORDER)}, the better-ranked one must have the lower final test "
             f"error: {_PAIRED}. Supported if all five pairs are supported, not supported if "
             f"any is not, inconclusive otherwise (also when an activation has no runs). The "
             f"evidence adds Kendall's tau between the claimed and the observed order of mean "
             f"errors." + _SCALE_NOTE))
def _s1(tables, min_depth: int = DEEP_DEPTH, budget: str | None = None,
        min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & (runs["depth"] >= min_depth)
                 & runs["activation"].isin(S1_ORDER)]

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(_pairs(sub, "activation", a, b)) for a, b in zip(S1_ORDER, S1_ORDER[1:],
                                                                          strict=False))

    frame, budget = _choose_budget(frame, budget, usable)
    if len(frame) == 0:
        return _no_runs(f"the activations {list(S1_ORDER)} with trick none at depth >= "
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
        parts[name], numbers["pairs"][name] = _compare(frame, "activation", a, b)
        notes.append(_describe(numbers["pairs"][name]))
    means = frame.groupby("activation")["error"].mean()
    numbers["mean_error_pct"] = {a: float(means[a]) for a in S1_ORDER if a in means}
    ranked = [a for a in S1_ORDER if a in means]
    if len(ranked) >= 2:
        tau = stats.kendalltau(range(len(ranked)), [means[a] for a in ranked])
        numbers["kendall_tau"] = float(tau.statistic)
        numbers["kendall_p"] = float(tau.pvalue)
        notes.append(f"Kendall tau (claimed order vs mean error) {_f(tau.statistic)}")
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers


# ---- S2 -----------------------------------------------------------------------------------

@claim("S2", "Leaky ReLU with a large leak (alpha = 0.2) beats a small leak (alpha = 0.01)",
       rule=(f"Trick none, every dataset, depth and initializer present: leaky_relu:0.2 must "
             f"have the lower final test error than leaky_relu:0.01; {_PAIRED}." + _SCALE_NOTE))
def _s2(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    large, small = "leaky_relu:0.2", "leaky_relu:0.01"
    runs = _runs(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["activation"].isin([large, small])]
    frame, budget = _choose_budget(frame, budget,
                                   lambda s: len(_pairs(s, "activation", large, small)))
    missing = [a for a in (large, small) if a not in set(frame["activation"])]
    if missing:
        return _no_runs(f"{' and '.join(missing)} with trick none")
    outcome, result = _compare(frame, "activation", large, small)
    numbers = {"budget": budget, **result}
    outcome, note = _gate(outcome, numbers, frame, min_updates, min_width)
    return outcome, f"Budget {budget!r}: {_describe(result)}.{note}", numbers


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
             + _SCALE_NOTE))
def _s3(tables, initializer: str = "lecun_normal", deep_depth: int = VERY_DEEP_DEPTH,
        budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & (runs["activation"] == "selu")
                 & (runs["initializer"] == initializer)]
    standardized = frame["inputs"].astype(str) == STANDARDIZED_INPUTS
    frame = frame[standardized] if standardized.any() else frame
    frame, budget = _choose_budget(frame, budget, len)
    if len(frame) == 0:
        return _no_runs(f"selu/{initializer} with trick none")
    parts: dict[str, Outcome] = {}
    inputs = ", ".join(sorted(set(frame["inputs"].astype(str))))
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "inputs": inputs}
    notes = [f"{inputs} inputs" + ("" if standardized.any() else
                                   " (the claim presumes standardized ones: premise unmet)")]
    means = _stat_rows(tables, frame, "activation", "mean")
    stds = _stat_rows(tables, frame, "activation", "std")
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
                     f"{_f(numbers['worst_abs_mean'])}, std {_f(numbers['std_range'][0])}.."
                     f"{_f(numbers['std_range'][1])})")
    deep = frame[frame["depth"] >= deep_depth]
    if len(deep) == 0:
        parts["deep_trains"] = INCONCLUSIVE
        notes.append(f"no runs of selu/{initializer} at depth >= {deep_depth}")
    else:
        parts["deep_trains"], numbers["deep_trains"] = _trains(deep)
        result = numbers["deep_trains"]
        notes.append(f"depth >= {deep_depth}: error/chance {_f(result['mean'])} over "
                     f"{result['n']} nets ({result['n_diverged']} diverged), t-test p "
                     f"{_f(result['p'])}")
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}, " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers


# ---- S4 -----------------------------------------------------------------------------------

def _dead_fractions(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """rows with, per network, from its layer statistics "activation" averaged over layers at
    its first and last monitor point: dead_start / dead_end (dead_fraction: units with
    f'(s) = 0, no gradient, on every monitor example), negative_start / negative_end
    (negative_fraction: units with s <= 0 on every example); dead_max, the largest dead
    fraction of any layer at any monitor point; dead_exact, whether dead_* are the no-gradient
    fraction. Networks recorded before negative_fraction existed recorded s <= 0 as
    dead_fraction: their negative_* are that, and for a leaky variant dead_* are only an upper
    bound on the no-gradient fraction (dead_exact False; for ReLU the two coincide). NaN when
    not recorded."""
    columns = ("dead_start", "dead_end", "dead_max", "negative_start", "negative_end")
    dead = _stat_rows(tables, rows, "activation", "dead_fraction").dropna(subset=["value"])
    if len(dead) == 0:
        return rows.assign(**dict.fromkeys(columns, math.nan), dead_exact=False)
    negative = _stat_rows(tables, rows, "activation", "negative_fraction").dropna(
        subset=["value"])

    def ends(stat_rows: pd.DataFrame, name: str) -> pd.DataFrame:
        per_update = stat_rows.groupby([*RUN_KEY, "update"])["value"].mean().reset_index()
        per_update = per_update.sort_values("update")
        return per_update.groupby(RUN_KEY)["value"].agg(
            **{f"{name}_start": "first", f"{name}_end": "last"})

    summary = ends(dead, "dead")
    summary["dead_max"] = dead.groupby(RUN_KEY)["value"].max()
    if len(negative):
        summary = summary.join(ends(negative, "negative"))
    else:
        summary = summary.assign(negative_start=math.nan, negative_end=math.nan)
    frame = rows.merge(summary.reset_index(), on=RUN_KEY, how="left")
    recorded = frame["negative_end"].notna()
    for end in ("start", "end"):  # older networks: dead_fraction meant s <= 0
        frame.loc[~recorded, f"negative_{end}"] = frame.loc[~recorded, f"dead_{end}"]
    return frame.assign(dead_exact=recorded | (frame["activation"] == "relu"))


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
             f"point. All parts must hold." + _SCALE_NOTE))
def _s4(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["activation"].isin(("relu", *S4_LEAKY))]
    frame, budget = _choose_budget(frame, budget,
                                   lambda s: int((s["activation"] == "relu").sum()))
    relu = frame[frame["activation"] == "relu"]
    if len(relu) == 0:
        return _no_runs("relu with trick none")
    frame = _dead_fractions(tables, frame)
    relu = frame[(frame["activation"] == "relu") & frame["dead_end"].notna()]
    if len(relu) == 0:
        return _no_runs("relu dead-fraction layer stats", budget=budget)
    parts: dict[str, Outcome] = {}
    growth = relu["dead_end"] - relu["dead_start"]
    result = signed_rank_less(S4_MIN_GROWTH - growth)
    result.update(mean_growth=float(growth.mean()), mean_start=float(relu["dead_start"].mean()),
                  mean_end=float(relu["dead_end"].mean()))
    parts["relu_dead_fraction_grows"] = directional(result)
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "relu": result, "leaky": {}}
    notes = [f"ReLU dead fraction {_f(result['mean_start'])} -> {_f(result['mean_end'])} "
             f"(mean growth {result['mean_growth']:+.3g} over {result['n']} nets, Wilcoxon p "
             f"{_f(result['p'])})"]
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
            texts.append(f"dead fraction max {_f(found['max_dead'])}")
        if len(bound):
            texts.append(f"dead fraction <= {_f(found['max_dead_bound'])} on the "
                         f"{len(bound)} of older tables (s <= 0 recorded)")
        notes.append(f"{variant} ({len(nets)} nets): {', '.join(texts)}; negative fraction "
                     f"(s <= 0 on every example, still gets gradient) "
                     f"{_f(found['negative_start'])} -> {_f(found['negative_end'])}")
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers


# ---- S5 -----------------------------------------------------------------------------------

def _auc(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """rows with `auc`: the mean training error (%) over the monitor points after update 0
    (test error when the curves have no train_error); NaN after divergence counts as 100."""
    curves, metric = _curve_rows(tables, rows, ("train_error", "test_error"))
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
             f"lower with batchnorm: {_PAIRED}. Both parts must hold." + _SCALE_NOTE))
def _s5(tables, trick: str = "batchnorm", budget: str | None = None,
        min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables)
    frame = runs[runs["trick"].isin([PAPER_TRICK, trick])
                 & runs["activation"].isin(S5_ACTIVATIONS)
                 & runs["initializer"].isin(S5_INITIALIZERS)]
    frame, budget = _choose_budget(frame, budget,
                                   lambda s: len(_pairs(s, "trick", trick, PAPER_TRICK)))
    missing = [t for t in (trick, PAPER_TRICK) if t not in set(frame["trick"])]
    if missing:
        return _no_runs(f"trick {' and '.join(missing)} with activations "
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
             f"{_f(both['bn'].mean())} with {trick} vs {_f(both['none'].mean())} without "
             f"({len(both)} dataset/depth cells, Wilcoxon p {_f(result['p'])})"
             if len(both) else "no runs of two or more matched configurations per depth"]
    timed = _auc(tables, frame)
    parts["faster"], numbers["speed"] = _compare(timed, "trick", trick, PAPER_TRICK, "auc")
    numbers["speed"]["metric"] = (str(timed["auc_metric"].iloc[0])
                                  if "auc_metric" in timed and len(timed) else None)
    notes.append("speed: " + _describe(numbers["speed"]))
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers


# ---- S6 -----------------------------------------------------------------------------------

@claim("S6", "Residual connections keep very deep nets trainable",
       rule=(f"Trick residual vs none at depth >= {VERY_DEEP_DEPTH}, every dataset, activation "
             f"and initializer. (a) Residual nets reach a lower final test error: {_PAIRED}. "
             f"(b) They train: final test error / majority-class error below "
             f"{TRAINED_FRACTION} (one-sided one-sample t-test, p < {ALPHA}; not supported if "
             f"the mean ratio is >= {TRAINED_FRACTION}). Both parts must hold." + _SCALE_NOTE))
def _s6(tables, trick: str = "residual", min_depth: int = VERY_DEEP_DEPTH,
        budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables)
    frame = runs[runs["trick"].isin([PAPER_TRICK, trick]) & (runs["depth"] >= min_depth)]
    frame, budget = _choose_budget(frame, budget,
                                   lambda s: len(_pairs(s, "trick", trick, PAPER_TRICK)))
    missing = [t for t in (trick, PAPER_TRICK) if t not in set(frame["trick"])]
    if missing:
        return _no_runs(f"trick {' and '.join(missing)} at depth >= {min_depth}")
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts}
    parts["lower_error"], numbers["comparison"] = _compare(frame, "trick", trick, PAPER_TRICK)
    parts["trains"], numbers["trains"] = _trains(frame[frame["trick"] == trick])
    plain = _trains(frame[frame["trick"] == PAPER_TRICK])[1]
    numbers["plain_trains"] = plain
    trained = numbers["trains"]
    notes = [_describe(numbers["comparison"]),
             f"share trained {trained['share_trained']:.0%} with {trick} vs "
             f"{plain['share_trained']:.0%} without; error/chance {_f(trained['mean'])} "
             f"(t-test p {_f(trained['p'])}, {trained['n']} nets)"]
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}, depth >= {min_depth}: " + "; ".join(notes) + "."
                     + _parts_text(parts) + note), numbers


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
        table = [[k_trick, n - k_trick], [k_plain, n - k_plain]]
        result["p"] = float(stats.fisher_exact(table, alternative="less").pvalue)
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
             f"clipping kinds must be supported." + _SCALE_NOTE))
def _s7(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
        min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables, protocol_only=False)
    kinds = ("clip_norm", "clip_value")
    is_clip = runs["trick"].map(lambda t: any(_single(t, k) for k in kinds))
    frame = runs[is_clip | (runs["trick"] == PAPER_TRICK)]
    frame = frame.assign(div=frame["diverged"].astype(float))

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(_pairs(sub, "trick", t, PAPER_TRICK, "div", ("lr",)))
                   for t in set(sub["trick"]) if t != PAPER_TRICK)

    frame, budget = _choose_budget(frame, budget, usable)
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "tricks": {}}
    notes = []
    for kind in kinds:
        tricks = sorted(t for t in set(frame["trick"]) if _single(t, kind))
        if not tricks or PAPER_TRICK not in set(frame["trick"]):
            parts[kind] = INCONCLUSIVE
            notes.append(f"no runs of {kind} and trick none")
            continue
        for trick in tricks:
            pairs = _pairs(frame, "trick", trick, PAPER_TRICK, "div", ("lr",))
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
                         f"{_f(result['p'])})")
    if not numbers["tricks"]:
        return _no_runs("clip_norm or clip_value with matched trick-none members",
                        budget=budget)
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers


# ---- S8 -----------------------------------------------------------------------------------

def _init_spread(tables, rows: pd.DataFrame) -> float:
    """Mean over networks of (activation std at layer 1 / at the top layer) ** (1/(L-1)) at
    update 0: > 1 means the signal shrinks with depth."""
    stds = _stat_rows(tables, rows, "activation", "std")
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
             f"normalized must have the lower error than he_normal. Each: {_PAIRED}. Both "
             f"parts must hold. The evidence adds the per-layer shrink of the activation std "
             f"at init, (std layer 1 / std top) ** (1/(L-1)), for each pairing." + _SCALE_NOTE))
def _s8(tables, he: str = "he_normal", glorot: str = "normalized", budget: str | None = None,
        min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["initializer"].isin([he, glorot])
                 & runs["activation"].isin((*S8_RELU_FAMILY, *S8_SATURATING))]

    def usable(sub: pd.DataFrame) -> int:
        return len(_pairs(sub, "initializer", he, glorot))

    frame, budget = _choose_budget(frame, budget, usable)
    if len(frame) == 0:
        return _no_runs(f"relu/tanh/sigmoid with initializers {he} and {glorot}")
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
        parts[name], numbers[name] = _compare(rows, "initializer", better, worse)
        notes.append(f"{name}: " + _describe(numbers[name]))
        for init in (better, worse):
            for activation in sorted(set(rows["activation"])):
                chosen = rows[(rows["initializer"] == init) & (rows["activation"] == activation)]
                numbers["init_std_shrink"][f"{activation}/{init}"] = _init_spread(tables, chosen)
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers


# ---- S9 -----------------------------------------------------------------------------------

def random_matrix_product_norms(n_matrices: int = 100, size: int = 4, draws: int = 200,
                                seed: int = 0, *, scale: float = 1.0, ord: int | str = 2,
                                running: bool = False, log10: bool = False) -> np.ndarray:
    """Norms of products of `n_matrices` random `size` x `size` matrices with i.i.d.
    N(0, scale^2) entries, over `draws` independent products (numpy Generator `seed`).

    Args:
        ord: 2 = spectral norm, "fro" = Frobenius norm.
        running: return (draws, n_matrices): the norm after each factor; else (draws,).
        log10: return log10 of the norms (computed without overflow: the product is
            renormalized after each factor and the log scale accumulated).
    """
    rng = np.random.default_rng(seed)
    product = np.broadcast_to(np.eye(size), (draws, size, size)).copy()
    log_scale = np.zeros(draws)
    history = np.empty((draws, n_matrices))
    for k in range(n_matrices):
        factors = rng.standard_normal((draws, size, size)) * scale
        product = factors @ product
        norm = np.linalg.norm(product, ord=ord, axis=(-2, -1))
        log_scale += np.log10(norm)
        product /= norm[:, None, None]
        history[:, k] = log_scale
    out = history if running else history[:, -1]
    if log10:
        return out.copy()
    with np.errstate(over="ignore"):
        return np.power(10.0, out)


def top_lyapunov_exponent(size: int = 4, scale: float = 1.0) -> float:
    """Top Lyapunov exponent (natural log, per factor) of products of size x size matrices
    with i.i.d. N(0, scale^2) entries: (ln 2 + digamma(size / 2)) / 2 + ln(scale)
    (Newman 1986); 0.558 for 4 x 4 standard Gaussian matrices."""
    return 0.5 * (math.log(2.0) + float(special.digamma(size / 2))) + math.log(scale)


@claim("S9", "A product of many random Gaussian matrices explodes (e.g. 100 random 4x4 matrices "
       "reach about 1e25)",
       rule=(f"Toy computation, no tables: products of 100 random 4x4 matrices with N(0,1) "
             f"entries, 200 seeded draws; m = median over draws of log10 of the product's "
             f"spectral norm. (a) Explodes: m >= {S9_EXPLODED_LOG10:g}. (b) \"About 1e25\": "
             f"|m - {S9_CLAIMED_LOG10:g}| <= {S9_TOLERANCE:g} (orders of magnitude). Both must "
             f"hold. The evidence adds the 2.5-97.5% range over draws and the theory "
             f"100 x lambda_1 / ln 10, lambda_1 = (ln 2 + digamma(2)) / 2."))
def _s9(tables, n_matrices: int = 100, size: int = 4, draws: int = 200, seed: int = 0,
        scale: float = 1.0) -> Finding:
    logs = random_matrix_product_norms(n_matrices, size, draws, seed, scale=scale, log10=True)
    frobenius = random_matrix_product_norms(n_matrices, size, draws, seed, scale=scale,
                                            ord="fro", log10=True)
    median = float(np.median(logs))
    low, high = (float(v) for v in np.percentile(logs, [2.5, 97.5]))
    theory = n_matrices * top_lyapunov_exponent(size, scale) / math.log(10.0)
    parts: dict[str, Outcome] = {
        "explodes": SUPPORTED if median >= S9_EXPLODED_LOG10 else NOT_SUPPORTED,
        "about_1e25": (SUPPORTED if abs(median - S9_CLAIMED_LOG10) <= S9_TOLERANCE
                       else NOT_SUPPORTED)}
    numbers = {"parts": parts, "median_log10_spectral": median,
               "median_log10_frobenius": float(np.median(frobenius)),
               "log10_range_95": [low, high], "theory_log10": theory,
               "lyapunov_per_factor": top_lyapunov_exponent(size, scale),
               "n_matrices": n_matrices, "size": size, "draws": draws, "seed": seed,
               "scale": scale}
    return combine(parts), (
        f"Product of {n_matrices} {size}x{size} N(0,{scale:g}^2) matrices, {draws} draws (seed "
        f"{seed}): median spectral norm 1e{median:.2f} (95% of draws 1e{low:.1f}..1e{high:.1f}; "
        f"Frobenius 1e{numbers['median_log10_frobenius']:.2f}); theory "
        f"{n_matrices} x {numbers['lyapunov_per_factor']:.3f} / ln 10 = 1e{theory:.2f}."
        + _parts_text(parts)), numbers


# ---- S10 ----------------------------------------------------------------------------------

def sigmoid_derivative_max(low: float = -10.0, high: float = 10.0, points: int = 200_001
                           ) -> float:
    """max of sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)) on a grid (0.25, at x = 0)."""
    x = np.linspace(low, high, points)
    s = special.expit(x)
    return float(np.max(s * (1.0 - s)))


def _backprop_shrink(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """Per network at update 0: r = (std of dCost/ds at the top layer / at layer 1)
    ** (1/(L-1)), the per-layer shrink toward the input, and whether the std falls at every
    step toward the input."""
    grads = _stat_rows(tables, rows, "backprop_grad", "std")
    grads = grads[(grads["update"] == 0) & (grads["value"] > 0)]
    records = []
    for key, net in grads.groupby(RUN_KEY):
        by_layer = net.groupby("layer")["value"].mean().sort_index()
        if len(by_layer) < 2:
            continue
        gaps = by_layer.index.max() - by_layer.index.min()
        records.append({"run": key[0], "member": key[1],
                        "ratio": (by_layer.iloc[-1] / by_layer.iloc[0]) ** (1.0 / gaps),
                        "monotone": bool(np.all(np.diff(by_layer.to_numpy()) > 0))})
    return pd.DataFrame(records, columns=[*RUN_KEY, "ratio", "monotone"])


@claim("S10", "The sigmoid's derivative is at most 0.25, so gradients shrink geometrically "
       "through stacked sigmoid layers",
       rule=(f"(a) max of sigmoid'(x) on a grid of 200,001 points over [-10, 10] is "
             f"{SIGMOID_DERIVATIVE_BOUND} (to 1e-9). (b) Sigmoid networks at init (update 0, "
             f"trick none, every dataset, depth >= 2, initializer and budget; one network per "
             f"configuration and init seed, whatever its learning rate): r = (std of "
             f"dCost/ds at the top hidden layer / at layer 1) ** (1/(L-1)), the shrink per "
             f"layer toward the input; one-sided Wilcoxon signed-rank test of -ln r < 0 over "
             f"networks: supported if mean ln r > 0 and p < {ALPHA}, not supported if mean "
             f"ln r <= 0. Both parts must hold. Width gate only (no training involved)."
             + _SCALE_NOTE))
def _s10(tables, min_width: int = S_MIN_WIDTH) -> Finding:
    maximum = sigmoid_derivative_max()
    parts: dict[str, Outcome] = {
        "derivative_at_most_0.25": (SUPPORTED if abs(maximum - SIGMOID_DERIVATIVE_BOUND) <= 1e-9
                                    else NOT_SUPPORTED)}
    numbers: dict[str, Any] = {"parts": parts, "sigmoid_derivative_max": maximum}
    notes = [f"max sigmoid'(x) = {maximum:.6f}"]
    runs = _runs(tables, protocol_only=False)
    rows = runs[(runs["trick"] == PAPER_TRICK) & (runs["activation"] == "sigmoid")
                & (runs["depth"] >= 2)]
    init_key = [c for c in ("dataset", "depth", "width", "initializer", "init_seed",
                            "data_seed", "batch_size", *TRAINING_SET_COLUMNS) if c in rows]
    rows = rows.sort_values(RUN_KEY).drop_duplicates(init_key)
    shrink = _backprop_shrink(tables, rows)
    if len(shrink) == 0:
        parts["gradients_shrink"] = INCONCLUSIVE
        notes.append("no runs of sigmoid networks with back-propagated gradient stats at "
                     "update 0")
        return combine(parts), "; ".join(notes) + "." + _parts_text(parts), numbers
    log_ratio = np.log(shrink["ratio"].to_numpy(dtype=float))
    result = signed_rank_less(-log_ratio)
    result.update(mean_ratio=float(np.exp(np.mean(log_ratio))),
                  share_monotone=float(shrink["monotone"].mean()))
    parts["gradients_shrink"] = directional(result)
    numbers["backprop"] = result
    used = rows.merge(shrink[RUN_KEY], on=RUN_KEY)
    numbers["depths"] = sorted(int(d) for d in set(used["depth"]))
    numbers["datasets"] = sorted(map(str, set(used["dataset"])))
    notes.append(f"sigmoid nets at init: back-propagated gradient std shrinks by "
                 f"{_f(result['mean_ratio'])}x per layer toward the input (geometric mean over "
                 f"{result['n']} nets, depths {numbers['depths']}; monotone in "
                 f"{result['share_monotone']:.0%}; Wilcoxon p {_f(result['p'])})")
    outcome, note = scale_gate(combine(parts), numbers, width=float(used["width"].min()),
                               min_width=min_width)
    return outcome, "; ".join(notes) + "." + _parts_text(parts) + note, numbers


# ---- S11 ----------------------------------------------------------------------------------

@claim("S11", "Dropout and L1/L2 regularization shrink the gap between training and test error "
       "on finite datasets",
       rule=(f"Finite datasets {list(FINITE_DATASETS)}; gap = final test error - final "
             f"training error (points). Each trick present of the kinds "
             f"{list(S11_REGULARIZERS)} (dropout:<p>, l2:<lambda>, l1:<lambda>) must have a "
             f"smaller gap than trick none: {_PAIRED}. Every kind must be supported (a kind "
             f"without runs leaves the claim inconclusive)." + _SCALE_NOTE))
def _s11(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
         min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables, full_data=False)
    regular = runs["trick"].map(lambda t: any(_single(t, k) for k in S11_REGULARIZERS))
    frame = runs[(regular | (runs["trick"] == PAPER_TRICK))
                 & runs["dataset"].isin(FINITE_DATASETS)]
    frame = frame.assign(gap=frame["error"] - frame["train_error"])

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(_pairs(sub, "trick", t, PAPER_TRICK, "gap"))
                   for t in set(sub["trick"]) if t != PAPER_TRICK)

    frame, budget = _choose_budget(frame, budget, usable)
    if len(frame) and frame["train_error"].isna().all():
        return INCONCLUSIVE, ("The runs table has no final_train_error: the train-test gap "
                              "cannot be computed."), {"budget": budget}
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "tricks": {}}
    notes = []
    for kind in S11_REGULARIZERS:
        tricks = sorted(t for t in set(frame["trick"]) if _single(t, kind))
        if not tricks or PAPER_TRICK not in set(frame["trick"]):
            parts[kind] = INCONCLUSIVE
            notes.append(f"no runs of {kind} and trick none on {list(FINITE_DATASETS)}")
            continue
        for trick in tricks:
            parts[trick], numbers["tricks"][trick] = _compare(frame, "trick", trick,
                                                              PAPER_TRICK, "gap")
            notes.append(_describe(numbers["tricks"][trick]))
    if not numbers["tricks"]:
        return _no_runs(f"dropout, l1 or l2 with matched trick-none networks on "
                        f"{list(FINITE_DATASETS)}", budget=budget)
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers


# ---- S12 ----------------------------------------------------------------------------------

@claim("S12", "Adaptive optimizers (Adagrad, RMSProp, Adam) make poorly initialized deep nets "
       "trainable",
       rule=(f"Poorly initialized deep nets: initializer {S12_POOR_INIT} (the paper's Eq. 1) "
             f"at depth >= {S12_MIN_DEPTH}, every dataset and activation. Each optimizer "
             f"{list(S12_OPTIMIZERS)} must reach a lower final test error than plain SGD "
             f"(trick none): {_PAIRED}. All three must be supported. The evidence adds the "
             f"share of networks that train (error < {TRAINED_FRACTION} x majority-class "
             f"error)." + _SCALE_NOTE))
def _s12(tables, initializer: str = S12_POOR_INIT, min_depth: int = S12_MIN_DEPTH,
         budget: str | None = None, min_updates: int = S_MIN_UPDATES,
         min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables)
    frame = runs[runs["trick"].isin([PAPER_TRICK, *S12_OPTIMIZERS])
                 & (runs["initializer"] == initializer) & (runs["depth"] >= min_depth)]

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(_pairs(sub, "trick", t, PAPER_TRICK)) for t in S12_OPTIMIZERS)

    frame, budget = _choose_budget(frame, budget, usable)
    if PAPER_TRICK not in set(frame["trick"]):
        return _no_runs(f"trick none with initializer {initializer} at depth >= {min_depth}")
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "share_trained": {}}
    notes = []
    for trick in (PAPER_TRICK, *S12_OPTIMIZERS):
        rows = frame[frame["trick"] == trick]
        if len(rows):
            numbers["share_trained"][trick] = _trains(rows)[1]["share_trained"]
    for trick in S12_OPTIMIZERS:
        if trick not in set(frame["trick"]):
            parts[trick] = INCONCLUSIVE
            notes.append(f"no runs of {trick}")
            continue
        parts[trick], numbers[trick] = _compare(frame, "trick", trick, PAPER_TRICK)
        notes.append(_describe(numbers[trick]) + f", trained "
                     f"{numbers['share_trained'][trick]:.0%} vs "
                     f"{numbers['share_trained'][PAPER_TRICK]:.0%}")
    outcome, note = _gate(combine(parts), numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}, {initializer} init, depth >= {min_depth}: "
                     + "; ".join(notes) + "." + _parts_text(parts) + note), numbers


# ---- S13 ----------------------------------------------------------------------------------

@claim("S13", "Maxout matches or beats ReLU",
       rule=(f"Trick none, every dataset, depth and initializer; d = error(maxout:2) - "
             f"error(relu) in points, paired networks (same config and seeds). Supported "
             f"(non-inferiority) if a one-sided paired t-test rejects mean d >= {S13_MARGIN} "
             f"(the 'matches' margin) at p < {ALPHA}; not supported if mean d > {S13_MARGIN} "
             f"and a one-sided paired t-test finds maxout worse (mean d > 0) at p < {ALPHA}; "
             f"inconclusive otherwise." + _SCALE_NOTE))
def _s13(tables, maxout: str = "maxout:2", budget: str | None = None,
         min_updates: int = S_MIN_UPDATES, min_width: int = S_MIN_WIDTH) -> Finding:
    maxout = canonical_activation(maxout)
    runs = _runs(tables)
    frame = runs[(runs["trick"] == PAPER_TRICK) & runs["activation"].isin([maxout, "relu"])]
    frame, budget = _choose_budget(frame, budget,
                                   lambda s: len(_pairs(s, "activation", maxout, "relu")))
    missing = [a for a in (maxout, "relu") if a not in set(frame["activation"])]
    if missing:
        return _no_runs(f"{' and '.join(missing)} with trick none")
    pairs = _pairs(frame, "activation", maxout, "relu")
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
    outcome, note = _gate(outcome, numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: {maxout} {_f(numbers['mean_maxout'])}% vs relu "
                     f"{_f(numbers['mean_relu'])}% (mean diff {mean:+.3g} points, n={len(d)} "
                     f"pairs; non-inferiority p {_f(noninferior['p'])} at margin "
                     f"{S13_MARGIN:g}, maxout-worse p {_f(worse['p'])}).{note}"), numbers


# ---- S14 ----------------------------------------------------------------------------------

def _test_rise(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """rows with `rise` = last - lowest test error (%) along each network's curve and
    `lowest` (NaN without a curve)."""
    curves, _ = _curve_rows(tables, rows, ("test_error",))
    curves = curves.dropna(subset=["value"])
    if len(curves) == 0:
        return rows.assign(rise=math.nan, lowest=math.nan)
    curves = curves.sort_values("update")
    summary = curves.groupby(RUN_KEY)["value"].agg(lowest="min", last="last").reset_index()
    summary["rise"] = summary["last"] - summary["lowest"]
    return rows.merge(summary[[*RUN_KEY, "rise", "lowest"]], on=RUN_KEY, how="left")


@claim("S14", "Early stopping on validation error avoids the test-error rise of overtraining",
       rule=(f"Finite datasets {list(FINITE_DATASETS)}, early_stopping (any patience) vs "
             f"trick none. Overtraining: rise = final - lowest test error along a plain "
             f"network's curve; while the mean rise is below {S14_MIN_RISE} points there is "
             f"no rise to avoid and the claim is inconclusive (the provisional verdict in the "
             f"numbers). Otherwise early-stopped networks (their final = restored best-"
             f"validation weights) must end with a lower test error than the plain ones: "
             f"{_PAIRED}." + _SCALE_NOTE))
def _s14(tables, budget: str | None = None, min_updates: int = S_MIN_UPDATES,
         min_width: int = S_MIN_WIDTH) -> Finding:
    runs = _runs(tables, full_data=False)
    stopped = runs["trick"].map(lambda t: _single(t, "early_stopping"))
    frame = runs[(stopped | (runs["trick"] == PAPER_TRICK))
                 & runs["dataset"].isin(FINITE_DATASETS)]

    def usable(sub: pd.DataFrame) -> int:
        return sum(len(_pairs(sub, "trick", t, PAPER_TRICK))
                   for t in set(sub["trick"]) if t != PAPER_TRICK)

    frame, budget = _choose_budget(frame, budget, usable)
    tricks = sorted(t for t in set(frame["trick"]) if _single(t, "early_stopping"))
    if not tricks or PAPER_TRICK not in set(frame["trick"]):
        return _no_runs(f"early_stopping and trick none on {list(FINITE_DATASETS)}",
                        budget=budget)
    plain = _test_rise(tables, frame[frame["trick"] == PAPER_TRICK])
    plain = plain[~plain["diverged"]]
    rise = float(plain["rise"].mean()) if plain["rise"].notna().any() else math.nan
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"budget": budget, "parts": parts, "plain_mean_rise": rise,
                               "plain_mean_lowest": float(plain["lowest"].mean()), "tricks": {}}
    notes = [f"plain nets' test error rises {_f(rise)} points above its lowest "
             f"({_f(numbers['plain_mean_lowest'])}%) by the end"]
    for trick in tricks:
        parts[trick], numbers["tricks"][trick] = _compare(frame, "trick", trick, PAPER_TRICK)
        notes.append(_describe(numbers["tricks"][trick]))
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
    outcome, note = _gate(outcome, numbers, frame, min_updates, min_width)
    return outcome, (f"Budget {budget!r}: " + "; ".join(notes) + "." + _parts_text(parts)
                     + note), numbers
