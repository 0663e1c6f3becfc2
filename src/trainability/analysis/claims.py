"""The claims ledger: one small, quantitative function per claim of the fact sheet (Sec. 11).

Each claim is registered with the `claim` decorator, which records its id, its text and its
decision rule (a sentence built from the named threshold constants below, so the rule
printed in the ledger is the rule the code applies). The decorated function receives the
aggregate tables (`trainability.results.read_tables`) plus optional keyword
options and returns `(verdict, evidence, numbers)`; the decorator wraps that into a
`Verdict`. Verdicts are "supported", "not supported" or "inconclusive"; a claim is
inconclusive, with the reason in `evidence`, when the configuration it needs is absent or
the training budget is too short to judge it.

Adding a claim (e.g. the practitioner claims S1-S14, in a module of their own):

    from trainability.analysis.claims import claim, SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE

    @claim("S9", "A product of many random Gaussian matrices explodes ...",
           rule="log10 of the product's norm after 100 factors > 20")
    def _s9(tables, **options):
        ...
        return SUPPORTED, "norm 1e25 after 100 products", {"log10_norm": 25.0}

Modules named in `CLAIM_MODULES` are imported (when they exist) before the ledger is
evaluated, so that their claims are registered.

Conventions (see also `trainability.analysis.common`):

- The paper's side uses only the paper's plain SGD at the scale preset's budget (trick
  "none", budget "preset"; the defaults of the selection helpers in
  `trainability.analysis.common`), except P12, which compares trick "pretrain_dae" with
  trick "none" at the budget of the pre-training study.
- The paper's figures use Shapeset-3x2, depth 5, tanh/softsign/sigmoid. The claim functions
  default to dataset "shapeset" and depth 5 and never fall back to another dataset.
- Statistics "at init" are those recorded at update 0, one network per init seed, whatever
  its learning rate. Statistics "during/after training" come from the protocol networks
  (selected learning rate, all seeds), averaged over seeds at each monitor point.
- Budgets: "epoch" = 20,000 updates (`EPOCH_UPDATES`). Claims about the end state of
  training are judged only when the protocol networks trained at least
  `MIN_UPDATES_FINAL` updates; claims about the course of training need
  `MIN_UPDATES_DYNAMICS` to conclude that a phenomenon is absent. Below those budgets the
  verdict is "inconclusive" and `numbers["provisional_verdict"]` says what the data would
  give at that budget. Likewise every claim on trained networks needs the paper's width,
  `MIN_WIDTH` = 1000 units per layer: narrower networks (smoke runs) give provisional
  verdicts only. Each such claim takes `min_updates` / `min_width` options to override.
- Several sub-checks combine as: any "not supported" -> not supported; all "supported" ->
  supported; otherwise inconclusive. Sub-verdicts are in `numbers["parts"]`.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from trainability.analysis.common import (
    EPOCH_UPDATES,
    PAPER_TRICK,
    PAPER_WIDTH,
    atomic_write_text,
    config_rows,
    drop_diverged,
    dump_json,
    init_rows,
    is_diverged,
    jsonable,
    protocol_runs,
    tables_empty,
    trick_names,
    welch_less,
    with_axes,
)
from trainability.analysis.table1 import BOLD_ALPHA, TABLE1_DEPTH, table1

Outcome = Literal["supported", "not supported", "inconclusive"]
SUPPORTED: Outcome = "supported"
NOT_SUPPORTED: Outcome = "not supported"
INCONCLUSIVE: Outcome = "inconclusive"
OUTCOMES = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)

#: Modules holding further claims (e.g. the practitioner claims); imported when present.
CLAIM_MODULES: tuple[str, ...] = ("trainability.analysis.practitioner",)

# ---- budgets ------------------------------------------------------------------------------
#: End-of-training claims need at least this many updates (50 epochs, 1/5 of the paper's 5M).
MIN_UPDATES_FINAL = 50 * EPOCH_UPDATES
#: Concluding that a training-time phenomenon is absent needs this many updates (10 epochs).
MIN_UPDATES_DYNAMICS = 10 * EPOCH_UPDATES
#: P3 compares softsign and tanh where training stopped; below this it is too early to say.
MIN_UPDATES_P3 = 5_000
#: Claims on networks narrower than this (the paper's width) are provisional only.
MIN_WIDTH = PAPER_WIDTH
_WIDTH_NOTE = (f" Networks narrower than {MIN_WIDTH:,} units (the paper's width) give an "
               f"inconclusive verdict with the provisional one in the numbers.")

# ---- thresholds ---------------------------------------------------------------------------
P1_SATURATED_MEAN = 0.10  # top sigmoid layer "saturated near 0": mean activation below this
P1_DESATURATED_MEAN = 0.20  # ... and "desaturated" once it climbs back above this
P1_EARLY_EPOCHS = 10  # saturation must happen within this many epochs to count as "early"
P1_DESATURATION_EPOCH = 100  # the paper: desaturation "around epoch 100"
P1_TIMING_FACTOR = 2.0  # ... accepted within a factor 2: epochs 50 to 200
P2_SATURATION_LEVEL = 0.975  # tanh is saturated beyond |z| = 0.975 (f' < 5% of max)
P3_KNEE = (0.6, 0.8)  # softsign "knees", in |z|
P3_ASYMPTOTE = (0.8, 1.0)  # "near +-1", same width as the knee band
# P4 and P5 compare spreads one layer apart (the geometric mean over the depth), because the
# paper's own numbers are per layer: a mean Jacobian singular value of about 0.8 with
# normalized init (Sec. 4.2.2) means activations shrink by up to ~1/0.8 = 1.25 per layer even
# when the init "keeps them about constant", against ~1/0.5 = 2 per layer with standard init.
P4_STANDARD_MIN_RATIO = 1.4  # per-layer std ratio (lower / upper layer), standard init
P4_NORMALIZED_MAX_RATIO = 1.25  # the same ratio, normalized init: at most 1/0.8
P5_SHRINK_RATIO = 1.4  # per-layer std ratio of dCost/ds (upper / lower): standard shrinks
P5_NORMALIZED_MAX_RATIO = 1.25  # normalized init: at most 1/0.8 per layer
P6_MAX_SPREAD = 2.0  # max/min over layers of the weight-gradient std: "about the same"
P7_DIVERGED_SPREAD = 2.0  # the same spread, later in training, for standard init
P7_MIN_CONTRAST = 1.5  # standard spread / normalized spread: "much less" with normalized
P8_NORMALIZED_BAND = (0.7, 0.9)  # mean singular value, paper "about 0.8"
P8_STANDARD_BAND = (0.4, 0.6)  # paper "about 0.5"
P9_FLAT_SLOPE = 0.1  # plateau: |grad C| * grid extent < 10% of the cost's 5-95% range
P9_MIN_DIFFERENCE = 0.05  # quadratic plateau fraction - cross-entropy's, to call it
P10_ROBUST_REL = 0.05  # softsign "robust": |Softsign - Softsign N| <= 5% of their mean
P11_HALFWAY = 0.5  # speed threshold: this fraction of the way from the initial error
#                    down to the worst final error of the three good configurations
P12_TRICK = "pretrain_dae"  # the trick (any arguments) that marks pre-trained networks
P12_ALPHA = 0.05  # one-sided Welch t-test level: pre-trained best < each supervised config
#: The supervised curves of Fig. 11: the paper's activations and initializations (the trick
#: studies' other activations, e.g. ReLU or SELU, are not the paper's comparison).
P12_SUPERVISED = {"activation": ("sigmoid", "tanh", "softsign"),
                  "initializer": ("standard", "normalized")}

TABLE1_DATASETS = (("shapeset", "Shapeset"), ("mnist", "MNIST"), ("cifar10", "CIFAR-10"))


# ---- the ledger machinery -----------------------------------------------------------------

@dataclass
class Verdict:
    """One claim's verdict with its rule, a short human evidence string and the numbers."""

    id: str
    claim: str
    verdict: Outcome
    rule: str
    evidence: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


Finding = tuple[Outcome, str, dict]
ClaimFunction = Callable[..., Verdict]

#: id -> (claim text, function(tables, **options) -> Verdict). The function's decision rule
#: is its `.rule` attribute.
CLAIMS: dict[str, tuple[str, ClaimFunction]] = {}


def claim(claim_id: str, text: str, rule: str) -> Callable[[Callable[..., Finding]],
                                                           ClaimFunction]:
    """Register a claim: the decorated function maps (tables, **options) to a Finding."""

    def register(function: Callable[..., Finding]) -> ClaimFunction:
        if claim_id in CLAIMS:
            raise ValueError(f"claim {claim_id} is already registered")

        @functools.wraps(function)
        def evaluate(tables: Mapping[str, pd.DataFrame], **options: Any) -> Verdict:
            outcome, evidence, numbers = function(tables, **options)
            if outcome not in OUTCOMES:
                raise ValueError(f"claim {claim_id} returned verdict {outcome!r}")
            return Verdict(claim_id, text, outcome, rule, evidence, jsonable(numbers))

        evaluate.rule = rule  # type: ignore[attr-defined]
        evaluate.claim_id = claim_id  # type: ignore[attr-defined]
        CLAIMS[claim_id] = (text, evaluate)
        return evaluate

    return register


def _load_claim_modules() -> None:
    for name in CLAIM_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise


def _order(claim_id: str) -> tuple[str, int, str]:
    prefix = claim_id.rstrip("0123456789")
    digits = claim_id[len(prefix):]
    return prefix, int(digits) if digits else -1, claim_id


def evaluate_claims(tables: Mapping[str, pd.DataFrame], ids: Iterable[str] | None = None,
                    options: Mapping[str, Mapping[str, Any]] | None = None,
                    strict: bool = False) -> list[Verdict]:
    """Evaluate the claims `ids` (default: every registered claim, P before S, by number).

    `options` maps a claim id to keyword options of its function (e.g.
    {"P10": {"min_updates": 0}} or {"P9": {"surfaces": provider}}). Unless `strict`, an
    exception inside a claim function gives an "inconclusive" verdict that names the error.
    """
    _load_claim_modules()
    options = options or {}
    chosen = sorted(CLAIMS, key=_order) if ids is None else list(ids)
    unknown = [i for i in chosen if i not in CLAIMS]
    if unknown:
        raise KeyError(f"unknown claim ids: {unknown}; known: {sorted(CLAIMS, key=_order)}")
    verdicts = []
    for claim_id in chosen:
        text, function = CLAIMS[claim_id]
        try:
            verdicts.append(function(tables, **options.get(claim_id, {})))
        except Exception as error:
            if strict:
                raise
            verdicts.append(Verdict(claim_id, text, INCONCLUSIVE, function.rule,
                                    f"evaluation failed: {type(error).__name__}: {error}", {}))
    return verdicts


def write_claims(tables_dir: str | Path, out_json: str | Path,
                 ids: Iterable[str] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Evaluate the ledger on the tables in `tables_dir`; write JSON atomically."""
    from trainability.results import read_tables as load_tables

    verdicts = evaluate_claims(load_tables(tables_dir), ids=ids, options=options)
    counts = {o: sum(v.verdict == o for v in verdicts) for o in OUTCOMES}
    payload = {"tables": str(tables_dir), "counts": counts,
               "claims": [v.to_dict() for v in verdicts]}
    return atomic_write_text(out_json, dump_json(payload))


# ---- helpers ------------------------------------------------------------------------------

def combine(parts: Mapping[str, Outcome]) -> Outcome:
    values = list(parts.values())
    if NOT_SUPPORTED in values:
        return NOT_SUPPORTED
    if values and all(v == SUPPORTED for v in values):
        return SUPPORTED
    return INCONCLUSIVE


def scale_gate(outcome: Outcome, numbers: dict, *, updates: float = math.inf,
               min_updates: int = 0, width: float | None = math.inf,
               min_width: int = 0) -> tuple[Outcome, str]:
    """Downgrade to inconclusive below `min_updates` updates or `min_width` units per layer.

    The provisional verdict (what the data give at this scale) is kept in `numbers`.
    """
    width = math.nan if width is None else float(width)
    reasons = []
    if min_updates:
        numbers.update(updates=updates, min_updates=min_updates)
        if not math.isfinite(updates) or updates < min_updates:
            reasons.append(f"{_n(updates)} updates < {min_updates:,} needed")
    if min_width:
        numbers.update(width=width, min_width=min_width)
        if not math.isfinite(width) or width < min_width:
            reasons.append(f"width {_n(width)} < the paper's {min_width:,}")
    if not reasons:
        return outcome, ""
    if outcome == INCONCLUSIVE:
        return INCONCLUSIVE, f" Also below the required scale ({'; '.join(reasons)})."
    numbers["provisional_verdict"] = outcome
    return INCONCLUSIVE, (f" Scale too small ({'; '.join(reasons)}), so the verdict is "
                          f"inconclusive (at this scale the data give: {outcome}).")


def _n(value: float) -> str:
    return f"{int(value):,}" if math.isfinite(value) else "?"


def _f(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}g}" if value is not None and math.isfinite(value) else "nan"


def _cfg(activation: str, initializer: str, depth: int, dataset: str) -> str:
    return f"{activation}/{initializer} depth {depth} on {dataset}"


def _per_network(rows: pd.DataFrame) -> pd.DataFrame:
    """layer_stats rows -> frame indexed by (run, member, update), one column per layer."""
    return rows.pivot_table(index=["run", "member", "update"], columns="layer", values="value",
                            aggfunc="mean", dropna=False)


def _seed_mean_curves(rows: pd.DataFrame) -> pd.DataFrame:
    """layer_stats rows -> update x layer: the mean over networks (NaN skipped)."""
    if len(rows) == 0:
        return pd.DataFrame()
    return rows.groupby(["update", "layer"])["value"].mean().unstack("layer").sort_index()


def _init_profile(tables, dataset, depth, activation, initializer, quantity, stat
                  ) -> pd.DataFrame:
    """init_seed x layer values at update 0 (one network per seed)."""
    rows = init_rows(tables, "layer_stats", dataset, depth, activation, initializer,
                     quantity=quantity, stat=stat)
    if len(rows) == 0:
        return pd.DataFrame()
    return rows.pivot_table(index="init_seed", columns="layer", values="value",
                            aggfunc="mean").sort_index(axis=1)


def _width(tables, dataset, depth, activation, initializer) -> int | None:
    runs = protocol_runs(tables, dataset, depth, activation, initializer)
    if len(runs):
        return int(runs["width"].iloc[0])
    rows = config_rows(tables, "runs", dataset, depth, activation, initializer, False)
    return int(rows["width"].iloc[0]) if len(rows) else None


def _budget(tables, dataset, depth, activation, initializer) -> float:
    runs = protocol_runs(tables, dataset, depth, activation, initializer)
    return float(runs["updates"].min()) if len(runs) else math.nan


def _first_update(series: pd.Series, condition: Callable[[pd.Series], pd.Series],
                  after: float = -math.inf) -> float:
    """First index (update) > after where condition holds, NaN if none."""
    hits = series[(series.index > after) & condition(series).to_numpy()]
    return float(hits.index[0]) if len(hits) else math.nan


def _missing(what: str, **numbers: Any) -> Finding:
    return INCONCLUSIVE, f"Needed data absent: {what}.", dict(numbers)


# ---- P1 -----------------------------------------------------------------------------------

_P1_WINDOW = (P1_DESATURATION_EPOCH / P1_TIMING_FACTOR, P1_DESATURATION_EPOCH * P1_TIMING_FACTOR)


def _p1_track(curve: pd.Series) -> dict:
    t_sat = _first_update(curve, lambda s: s < P1_SATURATED_MEAN)
    t_desat = (_first_update(curve, lambda s: s >= P1_DESATURATED_MEAN, after=t_sat)
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
             + _WIDTH_NOTE))
def _p1(tables, dataset: str = "shapeset", min_width: int = MIN_WIDTH) -> Finding:
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"parts": parts}
    notes = []
    for depth in (4, 5):
        rows = config_rows(tables, "layer_stats", dataset, depth, "sigmoid", "standard", True,
                           quantity="activation", stat="mean", layer=depth)
        curve = _seed_mean_curves(rows)
        if curve.empty or curve[depth].dropna().empty:
            parts[f"depth{depth}_saturates"] = INCONCLUSIVE
            parts[f"depth{depth}_desaturation"] = INCONCLUSIVE
            notes.append(f"depth {depth}: no protocol sigmoid/standard network on {dataset}")
            continue
        track = _p1_track(curve[depth])
        budget = _budget(tables, dataset, depth, "sigmoid", "standard")
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
            f"top-layer mean min {_f(track['min_mean'])}, final {_f(track['final_mean'])}, "
            f"saturated at epoch {_f(epochs['t_saturated'])}, desaturated at epoch "
            f"{_f(t)}")
    widths = [_width(tables, dataset, d, "sigmoid", "standard") for d in (4, 5)]
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
             + _WIDTH_NOTE))
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
        return _missing(f"protocol {_cfg('tanh', 'standard', depth, dataset)} layer stats")
    rows = rows.assign(value=np.where(rows["stat"] == "p02", -rows["value"], rows["value"]))
    per_stat = rows.groupby(["update", "layer", "stat"])["value"].mean()
    indicator = per_stat.groupby(["update", "layer"]).max().unstack("layer").sort_index()
    times = {int(layer): _first_update(indicator[layer], lambda s: s >= P2_SATURATION_LEVEL)
             for layer in indicator.columns}
    budget = _budget(tables, dataset, depth, "tanh", "standard")
    reached = [layer for layer, t in times.items() if math.isfinite(t)]
    final = indicator.ffill().iloc[-1]
    numbers = {"t_reach": times, "final_indicator": {int(k): v for k, v in final.items()},
               "updates": budget, "width": _width(tables, dataset, depth, "tanh", "standard")}
    text = ", ".join(f"L{layer}: {_n(t) if math.isfinite(t) else 'never'}"
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
        return NOT_SUPPORTED, evidence + f" (< 2 layers saturated in {_n(budget)} updates).", \
            numbers
    numbers["min_updates"] = MIN_UPDATES_DYNAMICS
    return INCONCLUSIVE, evidence + (f". Fewer than 2 layers saturated within {_n(budget)} "
                                     f"updates, shorter than the {MIN_UPDATES_DYNAMICS:,} "
                                     f"needed to call the sequence absent."), numbers


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
             + _WIDTH_NOTE))
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
            return _missing(f"protocol {_cfg(activation, 'standard', depth, dataset)} "
                            f"saturation stats")
        saturation[activation] = float(rows.groupby(["run", "member"])["value"].mean().mean())
    hist = config_rows(tables, "histograms", dataset, depth, "softsign", "standard", True,
                       quantity="activation")
    hist = _final_rows(drop_diverged(hist, tables))
    if len(hist) == 0:
        return _missing(f"protocol {_cfg('softsign', 'standard', depth, dataset)} histograms")
    knee, asym = _band_masses(hist)
    numbers.update(saturated_fraction=saturation, softsign_knee_mass=knee,
                   softsign_asymptote_mass=asym, final_update=int(hist["update"].max()),
                   parts=parts)
    parts["saturates_less"] = (SUPPORTED if saturation["softsign"] < saturation["tanh"]
                               else NOT_SUPPORTED)
    parts["knee_peak"] = SUPPORTED if knee > asym else NOT_SUPPORTED
    budget = min(_budget(tables, dataset, depth, a, "standard") for a in ("softsign", "tanh"))
    width = _width(tables, dataset, depth, "softsign", "standard")
    outcome, note = scale_gate(combine(parts), numbers, updates=budget, min_updates=min_updates,
                               width=width, min_width=min_width)
    evidence = (f"Final saturated fraction softsign {_f(saturation['softsign'])} vs tanh "
                f"{_f(saturation['tanh'])}; softsign mass in knees {_f(knee)} vs near +-1 "
                f"{_f(asym)} (update {numbers['final_update']:,}).{note}")
    return outcome, evidence, numbers


# ---- P4, P5, P6, P8: at initialization -------------------------------------------------------

def _init_ratio(tables, dataset, depth, initializer, quantity, stat,
                ratio: Callable[[pd.DataFrame], pd.Series]) -> tuple[float, dict]:
    profile = _init_profile(tables, dataset, depth, "tanh", initializer, quantity, stat)
    if profile.empty or profile.shape[1] < 2:
        return math.nan, {}
    per_seed = ratio(profile)
    return float(per_seed.mean()), {
        "per_seed": {int(k): v for k, v in per_seed.items()},
        "layer_means": {int(k): v for k, v in profile.mean().items()},
        "n_seeds": len(profile), "width": _width(tables, dataset, depth, "tanh", initializer)}


def _init_claim(tables, dataset, depth, quantity, stat, ratio, judge, label,
                min_width: int = MIN_WIDTH, standard_suffices: bool = False) -> Finding:
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"parts": parts}
    texts = []
    for initializer in ("standard", "normalized"):
        value, detail = _init_ratio(tables, dataset, depth, initializer, quantity, stat, ratio)
        numbers[initializer] = {"ratio": value, **detail}
        if not math.isfinite(value):
            parts[initializer] = INCONCLUSIVE
            texts.append(f"{initializer}: no {_cfg('tanh', initializer, depth, dataset)} "
                         f"{quantity} stats at update 0")
            continue
        parts[initializer] = judge(initializer, value)
        texts.append(f"{initializer}: {label} {_f(value)} over {detail['n_seeds']} seed(s) "
                     f"(width {detail['width']}) -> {parts[initializer]}")
    widths = [numbers[i].get("width") for i in ("standard", "normalized")]
    widths = [w for w in widths if w is not None]
    outcome = combine(parts)
    if standard_suffices and parts["normalized"] == INCONCLUSIVE != parts["standard"]:
        outcome = parts["standard"]
        texts.append("normalized init absent: judged on standard init alone")
    outcome, note = scale_gate(outcome, numbers, min_width=min_width,
                               width=min(widths) if widths else math.nan)
    return outcome, "; ".join(texts) + "." + note, numbers


@claim("P4", "At init, tanh + standard init: activation spread shrinks with layer index; "
       "normalized init keeps it about constant",
       rule=(f"At update 0 (tanh, depth 5, Shapeset), r = (std of layer-1 activations / std "
             f"of top-layer activations) ** (1 / (depth - 1)), the shrink per layer, per init "
             f"seed, averaged over seeds. Supported if r(standard) > {P4_STANDARD_MIN_RATIO} "
             f"and r(normalized) <= {P4_NORMALIZED_MAX_RATIO} (= 1/0.8, the paper's own "
             f"Jacobian value for normalized init)."
             + _WIDTH_NOTE))
def _p4(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_width: int = MIN_WIDTH) -> Finding:
    def judge(initializer: str, r: float) -> Outcome:
        if initializer == "standard":
            return SUPPORTED if r > P4_STANDARD_MIN_RATIO else NOT_SUPPORTED
        return SUPPORTED if r <= P4_NORMALIZED_MAX_RATIO else NOT_SUPPORTED

    return _init_claim(tables, dataset, depth, "activation", "std",
                       lambda p: _per_layer(p[p.columns.min()] / p[p.columns.max()], p),
                       judge, "(std(layer 1)/std(top))^(1/(depth-1))", min_width)


@claim("P5", "At init, back-propagated gradients shrink toward the input layers with standard "
       "init, not with normalized init",
       rule=(f"At update 0 (tanh, depth 5, Shapeset), r = (std of dCost/ds at the top hidden "
             f"layer / std at layer 1) ** (1 / (depth - 1)), the shrink per layer toward the "
             f"input, per init seed, averaged over seeds. Supported if r(standard) > "
             f"{P5_SHRINK_RATIO} and r(normalized) <= {P5_NORMALIZED_MAX_RATIO} (= 1/0.8)."
             + _WIDTH_NOTE))
def _p5(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_width: int = MIN_WIDTH) -> Finding:
    def judge(initializer: str, r: float) -> Outcome:
        if initializer == "standard":
            return SUPPORTED if r > P5_SHRINK_RATIO else NOT_SUPPORTED
        return SUPPORTED if r <= P5_NORMALIZED_MAX_RATIO else NOT_SUPPORTED

    return _init_claim(tables, dataset, depth, "backprop_grad", "std",
                       lambda p: _per_layer(p[p.columns.max()] / p[p.columns.min()], p),
                       judge, "(std(top)/std(layer 1))^(1/(depth-1))", min_width)


def _per_layer(ratio, by_layer):
    """A ratio between the first and last layer, as the geometric mean per layer gap."""
    gaps = max(int(by_layer.columns.max() - by_layer.columns.min()), 1)
    return ratio ** (1.0 / gaps)


@claim("P6", "At init, weight-gradient variance is about the same in every layer, even with "
       "standard init",
       rule=(f"At update 0 (tanh, depth 5, Shapeset), spread = max over layers / min over "
             f"layers of the std of dCost/dW, per init seed, averaged over seeds. Supported if "
             f"spread < {P6_MAX_SPREAD} for standard init and, when present, for normalized "
             f"init; a missing normalized configuration leaves the verdict to the standard "
             f"one (the claim's point is 'even with standard init')."
             + _WIDTH_NOTE))
def _p6(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_width: int = MIN_WIDTH) -> Finding:
    def judge(initializer: str, spread: float) -> Outcome:
        return SUPPORTED if spread < P6_MAX_SPREAD else NOT_SUPPORTED

    return _init_claim(tables, dataset, depth, "weight_grad", "std",
                       lambda p: p.max(axis=1) / p.min(axis=1), judge, "max/min std",
                       min_width, standard_suffices=True)


@claim("P8", "Mean singular value of layer Jacobians at init: about 0.8 (normalized) vs about "
       "0.5 (standard), tanh",
       rule=(f"At update 0 (tanh, depth 5, Shapeset), the mean singular value of "
             f"J^l = dz^l/dz^(l-1), averaged over layers 2..depth and then over init seeds. "
             f"Supported if normalized is in [{P8_NORMALIZED_BAND[0]}, {P8_NORMALIZED_BAND[1]}] "
             f"and standard in [{P8_STANDARD_BAND[0]}, {P8_STANDARD_BAND[1]}]."
             + _WIDTH_NOTE))
def _p8(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_width: int = MIN_WIDTH) -> Finding:
    def judge(initializer: str, value: float) -> Outcome:
        low, high = P8_NORMALIZED_BAND if initializer == "normalized" else P8_STANDARD_BAND
        return SUPPORTED if low <= value <= high else NOT_SUPPORTED

    return _init_claim(tables, dataset, depth, "jacobian", "mean_singular_value",
                       lambda p: p.mean(axis=1), judge, "mean singular value", min_width)


# ---- P7 -----------------------------------------------------------------------------------

def _late_spread(tables, dataset, depth, initializer) -> tuple[float, dict]:
    rows = config_rows(tables, "layer_stats", dataset, depth, "tanh", initializer, True,
                       quantity="weight_grad", stat="std")
    if len(rows) == 0:
        return math.nan, {}
    per_net = _per_network(rows)
    spread = (per_net.max(axis=1) / per_net.min(axis=1)).groupby("update").mean().dropna()
    trained = spread[spread.index > 0]
    if len(trained) == 0:
        return math.nan, {"at_init": float(spread.iloc[0]) if len(spread) else math.nan}
    last = trained.index.max()
    late = trained[trained.index >= last / 2]
    return float(late.median()), {
        "at_init": float(spread.get(0, math.nan)), "late_updates": [int(u) for u in late.index],
        "spread_by_update": {int(k): v for k, v in spread.items()}}


@claim("P7", "During training, weight-gradient spread diverges across layers with standard "
       "init, much less with normalized init",
       rule=(f"Spread = max over layers / min over layers of the std of dCost/dW per protocol "
             f"network (tanh, depth 5, Shapeset), averaged over seeds at each monitor point; "
             f"S = its median over the monitor points of the second half of training "
             f"(updates >= half the last). Supported if S(standard) >= {P7_DIVERGED_SPREAD} and "
             f"S(standard) / S(normalized) >= {P7_MIN_CONTRAST}; judged only after "
             f">= {MIN_UPDATES_DYNAMICS:,} updates."
             + _WIDTH_NOTE))
def _p7(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_updates: int = MIN_UPDATES_DYNAMICS, min_width: int = MIN_WIDTH) -> Finding:
    spreads, numbers = {}, {}
    for initializer in ("standard", "normalized"):
        value, detail = _late_spread(tables, dataset, depth, initializer)
        spreads[initializer] = value
        numbers[initializer] = {"late_spread": value, **detail}
        if not math.isfinite(value):
            return _missing(f"protocol {_cfg('tanh', initializer, depth, dataset)} weight-"
                            f"gradient stats after update 0", **numbers)
    contrast = spreads["standard"] / spreads["normalized"]
    numbers["contrast"] = contrast
    ok = spreads["standard"] >= P7_DIVERGED_SPREAD and contrast >= P7_MIN_CONTRAST
    budget = min(_budget(tables, dataset, depth, "tanh", i) for i in ("standard", "normalized"))
    outcome, note = scale_gate(SUPPORTED if ok else NOT_SUPPORTED, numbers, updates=budget,
                               min_updates=min_updates, min_width=min_width,
                               width=_width(tables, dataset, depth, "tanh", "standard"))
    evidence = (f"Late-training weight-gradient spread (max/min std over layers): standard "
                f"{_f(spreads['standard'])} (at init {_f(numbers['standard']['at_init'])}), "
                f"normalized {_f(spreads['normalized'])} (at init "
                f"{_f(numbers['normalized']['at_init'])}); contrast {_f(contrast)}.{note}")
    return outcome, evidence, numbers


# ---- P9 -----------------------------------------------------------------------------------

SurfaceProvider = Callable[[], Mapping[str, Any]]
#: Names tried, in order, in trainability.figures.cost_surface for the default provider.
P9_PROVIDER_NAMES = ("cost_surfaces", "compute_surfaces", "surfaces")


def _default_surface_provider() -> tuple[SurfaceProvider | None, str]:
    try:
        module = importlib.import_module("trainability.figures.cost_surface")
    except ImportError as error:
        return None, f"trainability.figures.cost_surface is not importable ({error})"
    for name in P9_PROVIDER_NAMES:
        if callable(getattr(module, name, None)):
            return getattr(module, name), ""
    return None, (f"trainability.figures.cost_surface has none of {list(P9_PROVIDER_NAMES)}")


def plateau_fraction(cost: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> float:
    """Fraction of grid points where |grad C| * extent < P9_FLAT_SLOPE * (C95 - C5).

    The slope is scaled by the grid's extent and the surface's own robust range (5th to
    95th percentile), so surfaces of different scales compare.
    """
    cost = np.asarray(cost, dtype=float)
    w1, w2 = np.asarray(w1, dtype=float), np.asarray(w2, dtype=float)
    g1, g2 = np.gradient(cost, w1, w2)  # cost[i, j] at (w1[i], w2[j])
    extent = math.hypot(np.ptp(w1), np.ptp(w2))
    low, high = np.nanpercentile(cost, [5, 95])
    scale = high - low
    if not scale > 0:
        return 1.0
    slope = np.hypot(g1, g2) * extent / scale
    return float(np.mean(slope < P9_FLAT_SLOPE))


@claim("P9", "The cross-entropy cost surface has fewer/less severe plateaus than the quadratic "
       "cost",
       rule=(f"On the Fig. 5 surfaces (cost over a grid of one first-layer weight W1 and one "
             f"output weight W2, from trainability.figures.cost_surface), plateau fraction = "
             f"share of grid points where |grad C| times the grid's diagonal is below "
             f"{P9_FLAT_SLOPE} x the surface's 5-95% range. Supported if quadratic minus "
             f"cross-entropy >= {P9_MIN_DIFFERENCE}; not supported if <= 0; inconclusive in "
             f"between or when the surfaces are unavailable."))
def _p9(tables, surfaces: SurfaceProvider | Mapping[str, Any] | None = None) -> Finding:
    """`surfaces`: a mapping (or a zero-argument callable returning one) with 1-D grids
    "w1" (n1,) and "w2" (n2,) and 2-D "cross_entropy" and "quadratic" arrays (n1, n2),
    cost[i, j] at (w1[i], w2[j]). Default: a provider from trainability.figures.cost_surface.
    """
    if surfaces is None:
        provider, reason = _default_surface_provider()
        if provider is None:
            return INCONCLUSIVE, f"Cost surfaces unavailable: {reason}.", {}
        surfaces = provider
    data = surfaces() if callable(surfaces) else surfaces
    needed = ("w1", "w2", "cross_entropy", "quadratic")
    absent = [k for k in needed if k not in data]
    if absent:
        return INCONCLUSIVE, f"Cost-surface provider lacks {absent}.", {}
    fractions = {name: plateau_fraction(data[name], data["w1"], data["w2"])
                 for name in ("cross_entropy", "quadratic")}
    difference = fractions["quadratic"] - fractions["cross_entropy"]
    numbers = {"plateau_fraction": fractions, "difference": difference,
               "grid": [len(data["w1"]), len(data["w2"])]}
    if difference >= P9_MIN_DIFFERENCE:
        outcome = SUPPORTED
    elif difference <= 0:
        outcome = NOT_SUPPORTED
    else:
        outcome = INCONCLUSIVE
    evidence = (f"Plateau fraction: quadratic {_f(fractions['quadratic'])}, cross-entropy "
                f"{_f(fractions['cross_entropy'])} (difference {_f(difference)}).")
    return outcome, evidence, numbers


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
             + _WIDTH_NOTE))
def _p10(tables, depth: int = TABLE1_DEPTH, sigmoid_depth: int = TABLE1_DEPTH,
         min_updates: int = MIN_UPDATES_FINAL, min_width: int = MIN_WIDTH) -> Finding:
    if tables_empty(tables, "runs"):
        return _missing("runs table")
    frame = table1(tables, depth=depth, sigmoid_depth=sigmoid_depth)
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"parts": parts, "means": {}, "sigmoid_depth": sigmoid_depth}
    notes, incomplete = [], []
    for _, label in TABLE1_DATASETS:
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
        notes.append(f"{label}: sigmoid {_f(means['Sigmoid'], 4)}% vs worst other "
                     f"{_f(max(others), 4)}%, tanh gain {tanh_gain:+.2f} vs softsign gain "
                     f"{softsign_gain:+.2f} pts, softsign rel. diff {softsign_rel:.1%}")
        if label == "Shapeset":
            cell = frame[(frame["dataset"] == label) & (frame["row"] == "Tanh N")].iloc[0]
            parts["Shapeset: Tanh N best"] = SUPPORTED if cell["bold"] else NOT_SUPPORTED
            numbers["shapeset_tanh_n_p_vs_best"] = cell["p_value"]
            notes.append(f"Shapeset Tanh N bold={bool(cell['bold'])} (p vs best "
                         f"{_f(cell['p_value'])})")
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
             + _WIDTH_NOTE))
def _p11(tables, sigmoid_depth: int = TABLE1_DEPTH, depth: int = TABLE1_DEPTH,
         min_updates: int = MIN_UPDATES_FINAL, min_width: int = MIN_WIDTH) -> Finding:
    parts: dict[str, Outcome] = {}
    numbers: dict[str, Any] = {"parts": parts}
    notes = []
    budgets, widths = [], []
    for key, label in TABLE1_DATASETS:
        curves = {}
        for activation, initializer in P11_BAD + P11_GOOD:
            d = sigmoid_depth if activation == "sigmoid" else depth
            curve = _test_curve(tables, key, d, activation, initializer).dropna()
            if len(curve):
                curves[f"{activation}/{initializer}"] = curve
                budgets.append(_budget(tables, key, d, activation, initializer))
                widths.append(_width(tables, key, d, activation, initializer))
        if len(curves) < 5:
            if key == "shapeset":
                return _missing(f"test-error curves of all five configurations on {label} "
                                f"(have {sorted(curves)})", **numbers)
            continue
        final = {k: float(c.iloc[-1]) for k, c in curves.items()}
        bad = [f"{a}/{i}" for a, i in P11_BAD]
        good = [f"{a}/{i}" for a, i in P11_GOOD]
        g = max(final[k] for k in good)
        e0 = float(np.mean([c.iloc[0] for c in curves.values()]))
        threshold = e0 - P11_HALFWAY * (e0 - g)
        reach = {k: _first_update(c, lambda s, t=threshold: s <= t) for k, c in curves.items()}
        slowest_good = max(reach[k] for k in good)
        worse = all(final[b] > g for b in bad)
        slower = all(not math.isfinite(reach[b]) or reach[b] > slowest_good for b in bad)
        parts[f"{label}: worse final error"] = SUPPORTED if worse else NOT_SUPPORTED
        parts[f"{label}: slower"] = SUPPORTED if slower else NOT_SUPPORTED
        numbers[label] = {"final": final, "threshold": threshold, "reach_update": reach}
        notes.append(f"{label}: final " + ", ".join(f"{k} {v:.3f}" for k, v in final.items())
                     + f"; update reaching {threshold:.3f}: "
                     + ", ".join(f"{k} {_n(v) if math.isfinite(v) else 'never'}"
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
    runs = with_axes(tables["runs"])
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
             + _WIDTH_NOTE))
def _p12(tables, dataset: str = "shapeset", budget: str | None = None,
         min_updates: int = MIN_UPDATES_FINAL, min_width: int = MIN_WIDTH) -> Finding:
    if tables_empty(tables, "runs"):
        return _missing("runs table")
    runs = with_axes(tables["runs"])
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
        return _missing(f"non-diverged pre-trained networks on {dataset} at budget {budget}",
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
                     f"largest one-sided Welch p {_f(worst_p)}.{note}"), numbers
