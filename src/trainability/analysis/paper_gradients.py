"""The paper's claims on gradients and their propagation (Sec. 4): P4-P9.

At initialization: activation spread (P4), back-propagated gradients (P5), weight gradients
(P6), layer Jacobians (P8); during training: the weight gradients' spread (P7); the cost
function: plateaus of the cross-entropy and quadratic costs (P9, on Fig. 5's surfaces).
Shared conventions and budgets: `trainability.analysis.paper_claims`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from trainability.analysis.common import config_rows
from trainability.analysis.cost_surface import FLAT_SLOPE, cost_surfaces, plateau_fraction
from trainability.analysis.ledger import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Finding,
    Outcome,
    claim,
    combine,
    fmt,
    scale_gate,
)
from trainability.analysis.paper_claims import (
    MIN_UPDATES_DYNAMICS,
    MIN_WIDTH,
    WIDTH_NOTE,
    config_text,
    init_profile,
    missing,
    per_network,
    protocol_updates,
    protocol_width,
)
from trainability.analysis.table1 import TABLE1_DEPTH

# ---- thresholds ---------------------------------------------------------------------------
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
P9_MIN_DIFFERENCE = 0.05  # quadratic plateau fraction - cross-entropy's, to call it


# ---- P4, P5, P6, P8: at initialization -------------------------------------------------------

def _init_ratio(tables, dataset, depth, initializer, quantity, stat,
                ratio: Callable[[pd.DataFrame], pd.Series]) -> tuple[float, dict]:
    profile = init_profile(tables, dataset, depth, "tanh", initializer, quantity, stat)
    if profile.empty or profile.shape[1] < 2:
        return math.nan, {}
    per_seed = ratio(profile)
    return float(per_seed.mean()), {
        "per_seed": {int(k): v for k, v in per_seed.items()},
        "layer_means": {int(k): v for k, v in profile.mean().items()},
        "n_seeds": len(profile),
        "width": protocol_width(tables, dataset, depth, "tanh", initializer)}


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
            texts.append(f"{initializer}: no {config_text('tanh', initializer, depth, dataset)} "
                         f"{quantity} stats at update 0")
            continue
        parts[initializer] = judge(initializer, value)
        texts.append(f"{initializer}: {label} {fmt(value)} over {detail['n_seeds']} seed(s) "
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
             + WIDTH_NOTE))
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
             + WIDTH_NOTE))
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
             + WIDTH_NOTE))
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
             + WIDTH_NOTE))
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
    per_net = per_network(rows)
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
             + WIDTH_NOTE))
def _p7(tables, dataset: str = "shapeset", depth: int = TABLE1_DEPTH,
        min_updates: int = MIN_UPDATES_DYNAMICS, min_width: int = MIN_WIDTH) -> Finding:
    spreads, numbers = {}, {}
    for initializer in ("standard", "normalized"):
        value, detail = _late_spread(tables, dataset, depth, initializer)
        spreads[initializer] = value
        numbers[initializer] = {"late_spread": value, **detail}
        if not math.isfinite(value):
            return missing(f"protocol {config_text('tanh', initializer, depth, dataset)} weight-"
                            f"gradient stats after update 0", **numbers)
    contrast = spreads["standard"] / spreads["normalized"]
    numbers["contrast"] = contrast
    ok = spreads["standard"] >= P7_DIVERGED_SPREAD and contrast >= P7_MIN_CONTRAST
    budget = min(protocol_updates(tables, dataset, depth, "tanh", i)
                 for i in ("standard", "normalized"))
    outcome, note = scale_gate(SUPPORTED if ok else NOT_SUPPORTED, numbers, updates=budget,
                               min_updates=min_updates, min_width=min_width,
                               width=protocol_width(tables, dataset, depth, "tanh", "standard"))
    evidence = (f"Late-training weight-gradient spread (max/min std over layers): standard "
                f"{fmt(spreads['standard'])} (at init {fmt(numbers['standard']['at_init'])}), "
                f"normalized {fmt(spreads['normalized'])} (at init "
                f"{fmt(numbers['normalized']['at_init'])}); contrast {fmt(contrast)}.{note}")
    return outcome, evidence, numbers


# ---- P9 -----------------------------------------------------------------------------------

SurfaceProvider = Callable[[], Mapping[str, Any]]


@claim("P9", "The cross-entropy cost surface has fewer/less severe plateaus than the quadratic "
       "cost",
       rule=(f"On the Fig. 5 surfaces (cost over a grid of one first-layer weight W1 and one "
             f"output weight W2, from trainability.analysis.cost_surface), plateau fraction = "
             f"share of grid points where |grad C| times the grid's diagonal is below "
             f"{FLAT_SLOPE} x the surface's 5-95% range. Supported if quadratic minus "
             f"cross-entropy >= {P9_MIN_DIFFERENCE}; not supported if <= 0; inconclusive in "
             f"between or when the surfaces are unavailable."))
def _p9(tables, surfaces: SurfaceProvider | Mapping[str, Any] = cost_surfaces) -> Finding:
    """`surfaces`: a mapping (or a zero-argument callable returning one) with 1-D grids
    "w1" (n1,) and "w2" (n2,) and 2-D "cross_entropy" and "quadratic" arrays (n1, n2),
    cost[i, j] at (w1[i], w2[j]). Default: `cost_surface.cost_surfaces` (needs torch).
    """
    try:
        data = surfaces() if callable(surfaces) else surfaces
    except ImportError as error:
        return INCONCLUSIVE, f"Cost surfaces unavailable: {error}.", {}
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
    evidence = (f"Plateau fraction: quadratic {fmt(fractions['quadratic'])}, cross-entropy "
                f"{fmt(fractions['cross_entropy'])} (difference {fmt(difference)}).")
    return outcome, evidence, numbers
