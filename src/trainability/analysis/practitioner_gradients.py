"""Practitioner claims on exploding and vanishing gradients: S9, S10.

Products of random Gaussian matrices explode (S9, a computation without tables); the
sigmoid's derivative is at most 1/4, so gradients shrink through stacked sigmoid layers (S10).
The computations themselves are in `trainability.analysis.toys`, which the figures draw.
Shared conventions: `trainability.analysis.practitioner`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
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
    scale_gate,
)
from trainability.analysis.practitioner import (
    ALPHA,
    S_MIN_WIDTH,
    SCALE_NOTE,
    TRAINING_SET_COLUMN,
    directional,
    layer_stat_rows,
    networks,
    parts_text,
)
from trainability.analysis.stats import signed_rank_less
from trainability.analysis.toys import (
    SIGMOID_DERIVATIVE_BOUND,
    random_matrix_product_norms,
    sigmoid_derivative_max,
    top_lyapunov_exponent,
)

# ---- thresholds ---------------------------------------------------------------------------
S9_CLAIMED_LOG10 = 25.0  # "about 1e25"
S9_TOLERANCE = 2.0  # ... within two orders of magnitude
S9_EXPLODED_LOG10 = 10.0  # "explodes": grows by >= 10 orders of magnitude


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
        + parts_text(parts)), numbers

def _backprop_shrink(tables, rows: pd.DataFrame) -> pd.DataFrame:
    """Per network at update 0: r = (std of dCost/ds at the top layer / at layer 1)
    ** (1/(L-1)), the per-layer shrink toward the input, and whether the std falls at every
    step toward the input."""
    grads = layer_stat_rows(tables, rows, "backprop_grad", "std")
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
             + SCALE_NOTE))
def _s10(tables, min_width: int = S_MIN_WIDTH) -> Finding:
    maximum = sigmoid_derivative_max()
    parts: dict[str, Outcome] = {
        "derivative_at_most_0.25": (SUPPORTED if abs(maximum - SIGMOID_DERIVATIVE_BOUND) <= 1e-9
                                    else NOT_SUPPORTED)}
    numbers: dict[str, Any] = {"parts": parts, "sigmoid_derivative_max": maximum}
    notes = [f"max sigmoid'(x) = {maximum:.6f}"]
    runs = networks(tables, protocol_only=False)
    rows = runs[(runs["trick"] == PAPER_TRICK) & (runs["activation"] == "sigmoid")
                & (runs["depth"] >= 2)]
    init_key = ["dataset", "depth", "width", "initializer", "init_seed", "data_seed",
                "batch_size", TRAINING_SET_COLUMN]
    rows = rows.sort_values(RUN_KEY).drop_duplicates(init_key)
    shrink = _backprop_shrink(tables, rows)
    if len(shrink) == 0:
        parts["gradients_shrink"] = INCONCLUSIVE
        notes.append("no runs of sigmoid networks with back-propagated gradient stats at "
                     "update 0")
        return combine(parts), "; ".join(notes) + "." + parts_text(parts), numbers
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
                 f"{fmt(result['mean_ratio'])}x per layer toward the input (geometric mean over "
                 f"{result['n']} nets, depths {numbers['depths']}; monotone in "
                 f"{result['share_monotone']:.0%}; Wilcoxon p {fmt(result['p'])})")
    outcome, note = scale_gate(combine(parts), numbers, width=float(used["width"].min()),
                               min_width=min_width)
    return outcome, "; ".join(notes) + "." + parts_text(parts) + note, numbers
