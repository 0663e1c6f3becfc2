"""Trainability over the order-to-chaos phase diagram: measured training error beside the
mean field's depth scales (Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017, "Deep
Information Propagation", Sec. 5 and Fig. 5).

The studies `signal_phase` and `signal_relu_edge` (config.yaml) train deep narrow nets whose
weights are N(0, sigma_w^2 / fan_in) and biases N(0, sigma_b^2) (the initializer spec
`gaussian:sw2=<sigma_w^2>,sb2=<sigma_b^2>`) for a fixed budget. Schoenholz et al. find that
a network trains only if its depth is at most a few correlation depth scales xi_c (their
Fig. 5: about 6 xi_c, `XI_MULTIPLE`); xi_c diverges on the order-to-chaos boundary chi_1 = 1
(tanh at sigma_b = 0: sigma_w^2 = 1; ReLU: sigma_w^2 = 2).

The depth scale compared with depth is xi_c where the correlation map has a finite one (tanh:
everywhere but on the boundary). For positively homogeneous activations (ReLU) at
sigma_b = 0 the correlation map is marginal at c* = 1 (xi_c is infinite for every
sigma_w^2), and what limits depth is the length of the signal and of the gradients, which
grow or shrink by chi_1 = sigma_w^2 / 2 per layer: there the scale is |xi_grad| =
1 / |ln chi_1| (`depth_scales`).

A network "trains" when its final training error is below `TRAINED_FRACTION` of its
dataset's majority-class error. The practitioners' claims ask for 0.8; the signal budget
(1,500 updates at the quick preset, on Shapeset-3x2, which even the paper's networks learn
slowly) asks only that a network learn beyond the class prior within it: 0.95 (on Shapeset
a training error below 79%, against 83% for the prior).
"""

from __future__ import annotations

import functools

from trainability.analysis.mean_field import critical_sw2, sigmas, signal_propagation, supported
from trainability.analysis.practitioner import chance_error, networks
from trainability.lazy import lazy_import

np = lazy_import("numpy")
pd = lazy_import("pandas")
stats = lazy_import("scipy.stats")

#: The budget the phase-diagram studies train under (config.yaml: presets.*.budgets.signal),
#: and the residual-scaling study's (the same settings, bundles of its own: claim T4).
BUDGET = "signal"
RESIDUAL_BUDGET = "signal_residual"
#: The signal-propagation section's budgets (their networks are that section's).
SIGNAL_BUDGETS = (BUDGET, RESIDUAL_BUDGET)
#: Schoenholz et al. (2017): networks train up to about this many correlation depth scales.
XI_MULTIPLE = 6.0
#: Significance of the depth-scale test (claim T2).
ALPHA = 0.05
#: Trained: final training error below this fraction of the majority-class error (see the
#: module docstring).
TRAINED_FRACTION = 0.95


#: What `phase_points` and the residual outcomes keep of each network: its configuration,
#: errors, and what practitioner.gate reads (run, updates, init seed, trick).
NETWORK_COLUMNS = ("dataset", "activation", "initializer", "depth", "width", "trick", "lr",
                   "train_error", "error", "diverged", "run", "updates", "init_seed")


def trained(runs):
    """(trained, threshold): per network (rows of practitioner.networks), whether its final
    training error (%) is below TRAINED_FRACTION of its dataset's majority-class error, and
    that threshold (%)."""
    threshold = np.array([chance_error(d) for d in runs["dataset"]]) * 100.0 * TRAINED_FRACTION
    return runs["train_error"].to_numpy(dtype=float) < threshold, threshold


_sigmas = functools.lru_cache(maxsize=256)(sigmas)  # one spec, many networks


def depth_scales(frame):
    """The depth scale limiting trainability per row of a `signal_propagation` frame: xi_c
    where it is finite and positive, else (a marginal correlation map: ReLU) |xi_grad|
    (inf on the boundary chi_1 = 1)."""
    xi_c = frame["xi_c"].to_numpy(dtype=float)
    xi_grad = np.abs(frame["xi_grad"].to_numpy(dtype=float))
    usable = np.isfinite(xi_c) & (xi_c > 0)
    return np.where(usable, xi_c, xi_grad)


@functools.lru_cache(maxsize=256)
def _theory(activation: str, sw2: float, sb2: float) -> tuple[float, float, float]:
    frame = signal_propagation(activation, sw2, sb2)
    return (float(frame["chi1"].iloc[0]), float(depth_scales(frame)[0]),
            float(frame["q_star"].iloc[0]))


def phase_points(tables, budget: str = BUDGET):
    """One row per trained network of `budget` (plain SGD, activations the mean field
    predicts, Gaussian weights): its sigma_w^2, sigma_b^2, depth, training and test error
    (%), whether it trained, and the theory's chi_1, xi_c, q* and whether its depth is within
    XI_MULTIPLE xi (`depth_scales`, column "xi_c"). Empty when the studies did not run."""
    runs = networks(tables)
    runs = runs[(runs["budget"] == budget) & (runs["trick"] == "none")]
    runs = runs[[supported(a) is None for a in runs["activation"]]]
    if len(runs) == 0:
        return pd.DataFrame(columns=[*NETWORK_COLUMNS, "sw2", "sb2", "trained", "chi1",
                                     "xi_c", "q_star", "within"])
    rows = runs[list(NETWORK_COLUMNS)].copy()
    pairs = [_sigmas(i, int(w)) for i, w in zip(rows["initializer"], rows["width"], strict=True)]
    rows["sw2"] = [p[0] for p in pairs]
    rows["sb2"] = [p[1] for p in pairs]
    theory = [_theory(a, round(sw2, 12), round(sb2, 12)) for a, sw2, sb2
              in zip(rows["activation"], rows["sw2"], rows["sb2"], strict=True)]
    rows["chi1"], rows["xi_c"], rows["q_star"] = (np.array([t[i] for t in theory])
                                                  for i in range(3))
    rows["trained"], _ = trained(rows)
    rows["within"] = rows["depth"].to_numpy(dtype=float) <= XI_MULTIPLE * rows["xi_c"]
    return rows.sort_values(["activation", "sb2", "sw2", "depth"]).reset_index(drop=True)


def boundary(activation: str, sb2_values, sw2_grid):
    """The theory's lines for the diagram: per sigma_b^2, XI_MULTIPLE xi_c over the
    sigma_w^2 grid (columns activation, sb2, sw2, xi_c, depth_limit) and, separately, the
    critical sigma_w^2 (chi_1 = 1) of each sigma_b^2: (lines, {sb2: critical sigma_w^2})."""
    frames = []
    for sb2 in sb2_values:
        frame = signal_propagation(activation, np.asarray(sw2_grid, dtype=float), sb2)
        xi = depth_scales(frame)
        frames.append(pd.DataFrame({"activation": activation, "sb2": sb2, "sw2": frame["sw2"],
                                    "xi_c": xi, "depth_limit": XI_MULTIPLE * xi}))
    critical = dict(zip(sb2_values, critical_sw2(activation, list(sb2_values)), strict=True))
    return pd.concat(frames, ignore_index=True), critical


def depth_scale_test(points) -> dict:
    """Do networks within XI_MULTIPLE xi_c train more often than those beyond? Fisher's
    exact test, one-sided, on the 2 x 2 table (within, beyond) x (trained, not)."""
    within, beyond = points[points["within"]], points[~points["within"]]
    table = [[int(within["trained"].sum()), int((~within["trained"]).sum())],
             [int(beyond["trained"].sum()), int((~beyond["trained"]).sum())]]
    result = {"table": table, "n_within": len(within), "n_beyond": len(beyond),
              "trained_within": float(within["trained"].mean()) if len(within) else np.nan,
              "trained_beyond": float(beyond["trained"].mean()) if len(beyond) else np.nan,
              "p": np.nan}
    if len(within) and len(beyond):
        result["p"] = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return result
