"""The signal-propagation claims T1-T5: what the theory since 2010 predicts at init and for
trainability, judged against the suite's own networks.

Sources: the mean field (Poole et al. 2016, "Exponential expressivity in deep neural
networks through transient chaos"; Schoenholz et al. 2017, "Deep Information Propagation"),
dynamical isometry (Saxe et al. 2014; Pennington, Schoenholz & Ganguli 2017, "Resurrecting
the sigmoid in deep learning through dynamical isometry") and residual scaling (Zhang,
Dauphin & Ma 2019, "Fixup initialization"; Bachlechner et al. 2020, "ReZero is all you
need"). The equations are in trainability.analysis.mean_field and jacobian_spectrum.

T1, T3 and T5's theory need no training: their measurements are drawn here, at init, with
the suite's own networks (trainability.analysis.signal_at_init, isometry). T2, T4 and T5
read the aggregated tables.
"""

from __future__ import annotations

from trainability.analysis import isometry, phase_diagram, signal_at_init
from trainability.analysis.ledger import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Finding, claim
from trainability.analysis.mean_field import predict_layers, supported
from trainability.analysis.practitioner import (
    S_MIN_UPDATES,
    S_MIN_WIDTH,
    SCALE_NOTE,
    gate,
    networks,
)
from trainability.lazy import lazy_import

np = lazy_import("numpy")
pd = lazy_import("pandas")

#: T1 and T5: the relative error of a predicted variance allowed for a network (median over
#: its layers), and the share of networks that must meet it.
VARIANCE_TOLERANCE = 0.10
NETWORK_SHARE = 0.9
#: T5: the networks whose layer Jacobians the pipeline measured (the paper's, on Shapeset).
T5_DATASET = "shapeset"
T5_JACOBIAN_EXAMPLES = 10  # trainability.train.config.BundleConfig.jacobian_examples

SOURCES_MEAN_FIELD = "Poole et al. 2016; Schoenholz et al. 2017"


def _variance_errors(table, theory: str = "mean_field"):
    """Per network (activation, initializer) and quantity: the median over layers of
    |measured variance / predicted variance - 1| (variances: squared stds)."""
    rows = signal_at_init.relative_errors(table, theory, power=2)
    return rows.groupby(["quantity", "activation", "initializer"])["error"].median()


@claim("T1", "At init, the measured per-layer variance of activations and back-propagated "
       "gradients follows the mean-field prediction within 10%, for widths >= 256 "
       f"({SOURCES_MEAN_FIELD})",
       rule=(f"Networks of width {signal_at_init.WIDTH} and depth {signal_at_init.DEPTH}, every "
             f"activation the mean field predicts x every initializer of the registry, drawn as "
             f"training draws them, {signal_at_init.EXAMPLES} Shapeset-3x2 images "
             f"(trainability.analysis.signal_at_init). Per network and quantity, the median "
             f"over layers of |measured / predicted variance - 1|. Supported if at least "
             f"{NETWORK_SHARE:.0%} of the networks are within {VARIANCE_TOLERANCE:.0%} for "
             f"both quantities; not supported otherwise. The evidence names the families "
             f"outside."))
def _t1(tables, width: int | None = None, depth: int | None = None) -> Finding:
    width, depth = width or signal_at_init.WIDTH, depth or signal_at_init.DEPTH
    errors = _variance_errors(signal_at_init.at_init(width, depth))
    within = errors <= VARIANCE_TOLERANCE
    share = within.groupby("quantity").mean()
    outside = errors[~within].reset_index()
    by_activation = outside.groupby("activation").size().sort_values(ascending=False)
    numbers = {"share_within": share.to_dict(), "median_error": errors.groupby("quantity")
               .median().to_dict(), "outside_by_activation": by_activation.to_dict(),
               "networks": int(errors.index.droplevel(0).nunique())}
    verdict = SUPPORTED if bool((share >= NETWORK_SHARE).all()) else NOT_SUPPORTED
    evidence = (f"width {width}, depth {depth}: "
                + "; ".join(f"{q}: {share[q]:.0%} of networks within "
                            f"{VARIANCE_TOLERANCE:.0%} (median error "
                            f"{numbers['median_error'][q]:.1%})" for q in share.index)
                + (f"; most often outside: {', '.join(by_activation.index[:3])}"
                   if len(by_activation) else ""))
    return verdict, evidence, numbers


@claim("T2", "Networks train only to a depth of a few correlation depth scales xi_c: "
       "trainable depth is set by the distance to the order-to-chaos boundary "
       "(Schoenholz et al. 2017)",
       rule=(f"The phase-diagram studies (budget {phase_diagram.BUDGET!r}: tanh over "
             f"(sigma_w^2, sigma_b^2), ReLU at and beside sigma_w^2 = 2, depths 10-100). A "
             f"network trains when its final training error is below "
             f"{phase_diagram.TRAINED_FRACTION:g} of the majority-class error (it learned beyond "
             f"the class prior within the budget). The depth scale xi is xi_c, or for ReLU, "
             f"whose correlation map is marginal, the gradients' |xi_grad| = 1/|ln chi_1|. "
             f"Fisher's exact test (one-sided) on "
             f"(depth <= {phase_diagram.XI_MULTIPLE:g} xi, beyond) x (trained, not): "
             f"supported if networks within train more often and p < {phase_diagram.ALPHA}; "
             f"not supported if they do not train more often; inconclusive without networks on "
             f"both sides or when p >= {phase_diagram.ALPHA}." + SCALE_NOTE))
def _t2(tables, budget: str = phase_diagram.BUDGET) -> Finding:
    points = phase_diagram.phase_points(tables, budget)
    if len(points) == 0:
        return INCONCLUSIVE, f"no networks of budget {budget!r}: run the signal studies", {}
    test = phase_diagram.depth_scale_test(points)
    numbers = {**test, "networks": len(points)}
    evidence = (f"{len(points)} networks: trained {test['trained_within']:.0%} of "
                f"{test['n_within']} within {phase_diagram.XI_MULTIPLE:g} xi, "
                f"{test['trained_beyond']:.0%} of {test['n_beyond']} beyond")
    if not test["n_within"] or not test["n_beyond"]:
        return INCONCLUSIVE, evidence + " (one side is empty)", numbers
    evidence += f"; Fisher p = {test['p']:.3g}"
    if test["trained_within"] <= test["trained_beyond"]:
        outcome = NOT_SUPPORTED
    else:
        outcome = SUPPORTED if test["p"] < phase_diagram.ALPHA else INCONCLUSIVE
    outcome, gated = gate(outcome, numbers, points, S_MIN_UPDATES, S_MIN_WIDTH)
    return outcome, evidence + gated, numbers


@claim("T3", "Orthogonal weights at the order-to-chaos boundary keep the whole Jacobian "
       "spectrum of a deep tanh net near 1 (dynamical isometry); Gaussian weights do not, and "
       "ReLU never does (Pennington, Schoenholz & Ganguli 2017)",
       rule=(f"Squared singular values lambda of the input-output Jacobian at init, "
             f"{isometry.NETS} networks of width {isometry.WIDTH} per family at depth "
             f"{max(isometry.DEPTHS)} (trainability.analysis.isometry). Share of lambda within "
             f"a factor {isometry.BAND:g} of 1: supported if at least "
             f"{isometry.CONCENTRATED_SHARE:.0%} for tanh with critical orthogonal weights and "
             f"at most {isometry.SPREAD_SHARE:.0%} for tanh with Gaussian weights at the same "
             f"(sigma_w^2, sigma_b^2) and for ReLU with Gaussian (He) and orthogonal weights; "
             f"not supported otherwise."))
def _t3(tables) -> Finding:
    summary = isometry.summary(isometry.spectra())
    deepest = summary[summary["depth"] == summary["depth"].max()].set_index("label")
    checks = {}
    for setup in isometry.setups():
        share = float(deepest.loc[setup.label, "near_one"])
        if setup.role == "isometric" and setup.activation == "tanh":
            checks[setup.label] = share >= isometry.CONCENTRATED_SHARE
        elif setup.role == "spread":
            checks[setup.label] = share <= isometry.SPREAD_SHARE
    numbers = {"near_one": deepest["near_one"].to_dict(),
               "variance": deepest["variance"].to_dict(),
               "predicted_variance": deepest["predicted_variance"].to_dict(),
               "checks": checks}
    evidence = "; ".join(f"{label}: {deepest.loc[label, 'near_one']:.0%} near 1 "
                         f"(Var {deepest.loc[label, 'variance']:.3g}, predicted "
                         f"{deepest.loc[label, 'predicted_variance']:.3g})"
                         for label in checks)
    return (SUPPORTED if all(checks.values()) else NOT_SUPPORTED), evidence, numbers


@claim("T5", "At init, each layer Jacobian's mean squared singular value is sigma_w^2 "
       f"E[phi'(h)^2], as the mean field predicts ({SOURCES_MEAN_FIELD})",
       rule=(f"The monitor's mean squared singular value of dz^l/dz^(l-1) at update 0, every "
             f"{T5_DATASET} network of the preset's plain-SGD grid with raw inputs, against the "
             f"mean field's prediction for its activation, initializer and monitor inputs. Per "
             f"network, the median over layers of |measured / predicted - 1|; supported if at "
             f"least {NETWORK_SHARE:.0%} of the networks are within {VARIANCE_TOLERANCE:.0%}, "
             f"not supported otherwise; inconclusive without such networks."))
def _t5(tables) -> Finding:
    errors = _jacobian_errors(tables)
    if len(errors) == 0:
        return INCONCLUSIVE, (f"no {T5_DATASET} network with a layer-Jacobian measurement "
                              "at init"), {}
    share = float((errors <= VARIANCE_TOLERANCE).mean())
    numbers = {"networks": len(errors), "share_within": share,
               "median_error": float(errors.median()), "max_error": float(errors.max())}
    evidence = (f"{share:.0%} of {len(errors)} networks within {VARIANCE_TOLERANCE:.0%} "
                f"(median error {errors.median():.1%}, largest {errors.max():.1%})")
    return (SUPPORTED if share >= NETWORK_SHARE else NOT_SUPPORTED), evidence, numbers


def _jacobian_errors(tables):
    """Per network: median over layers of |measured / predicted - 1| for the layer
    Jacobian's mean squared singular value at update 0."""
    if "layer_stats" not in tables or len(tables["layer_stats"]) == 0:
        return pd.Series(dtype=float)
    runs = networks(tables)
    runs = runs[(runs["dataset"] == T5_DATASET) & (runs["trick"] == "none")
                & (runs["inputs"] == "raw") & (runs["depth"] >= 2)]
    runs = runs[[supported(a) is None for a in runs["activation"]]]
    stats = tables["layer_stats"]
    stats = stats[(stats["update"] == 0) & (stats["quantity"] == "jacobian")
                  & (stats["stat"] == "mean_sq_singular_value")]
    measured = stats.set_index(["run", "member"])
    errors = {}
    for net in runs.itertuples():
        key = (net.run, net.member)
        if key not in measured.index:
            continue
        rows = measured.loc[[key]].set_index("layer")["value"].dropna()
        if len(rows) == 0:
            continue
        x, _ = signal_at_init.inputs(T5_JACOBIAN_EXAMPLES, int(net.data_seed), net.dataset)
        moments = signal_at_init.input_moments(x)
        predicted = predict_layers(net.activation, net.initializer, moments, x.shape[1],
                                   int(net.width), int(net.depth))
        predicted = predicted[predicted["quantity"] == "jacobian"].set_index("layer")["value"]
        ratio = rows / predicted.reindex(rows.index)
        errors[key] = float((ratio - 1).abs().median())
    return pd.Series(errors, dtype=float)


#: T4: the residual-scaling arms and the unscaled skips they are compared with (all on
#: two-layer branches, trainability.tricks.units.residual), at depths >= T4_MIN_DEPTH.
T4_SCALED = ("residual:block=2+fixup", "residual:block=2+rezero")
T4_UNSCALED = ("residual:block=2",)
T4_MIN_DEPTH = 50


def residual_outcomes(tables, budget: str = phase_diagram.RESIDUAL_BUDGET):
    """The residual-scaling study's networks (budget `budget`, depth >= T4_MIN_DEPTH), every
    arm: one row per (dataset, activation, initializer, depth, trick) with its training
    error (%), whether it diverged, whether it trained (phase_diagram.TRAINED_FRACTION) and
    the threshold it was held to ("trained_below", %)."""
    runs = networks(tables)
    runs = runs[(runs["budget"] == budget) & (runs["depth"] >= T4_MIN_DEPTH)]
    rows = runs[list(phase_diagram.NETWORK_COLUMNS)].copy()
    rows["trained"], rows["trained_below"] = phase_diagram.trained(rows)
    return rows.reset_index(drop=True)


@claim("T4", "Fixup and ReZero residual nets train at depth >= 50 where the unscaled skip "
       "does not (Zhang, Dauphin & Ma 2019; Bachlechner et al. 2020; SkipInit: De & Smith "
       "2020)",
       rule=(f"The residual-scaling study (budget {phase_diagram.RESIDUAL_BUDGET!r}, ReLU, He "
             f"init, two-layer branches, depths >= {T4_MIN_DEPTH}), each network at its selected "
             f"rate. A network trains when its final training error is below "
             f"{phase_diagram.TRAINED_FRACTION:g} of the majority-class error. Supported if every "
             f"{' and '.join(T4_SCALED)} network trains and every {' and '.join(T4_UNSCALED)} "
             f"network of the same depths does not; not supported if a Fixup or ReZero network "
             f"does not train; inconclusive when the unscaled skip trains too (nothing to "
             f"rescue) or a side is missing." + SCALE_NOTE))
def _t4(tables, budget: str = phase_diagram.RESIDUAL_BUDGET) -> Finding:
    outcomes = residual_outcomes(tables, budget)
    outcomes = outcomes[outcomes["trick"].isin([*T4_SCALED, *T4_UNSCALED, "none"])]
    scaled = outcomes[outcomes["trick"].isin(T4_SCALED)]
    unscaled = outcomes[outcomes["trick"].isin(T4_UNSCALED)]
    if len(scaled) == 0 or len(unscaled) == 0:
        return INCONCLUSIVE, (f"no residual-scaling networks at depth >= {T4_MIN_DEPTH} of "
                              f"budget {budget!r}: run the signal_residual study"), {}
    per = outcomes.groupby(["trick", "depth"])[["trained", "diverged"]].mean()
    numbers = {"trained": {f"{t} d{d}": float(v) for (t, d), v in per["trained"].items()},
               "diverged": {f"{t} d{d}": float(v) for (t, d), v in per["diverged"].items()},
               "train_error": {f"{r.trick} d{r.depth}": float(r.train_error)
                               for r in outcomes.itertuples()}}
    evidence = "; ".join(f"{r.trick} at depth {r.depth}: "
                         + ("diverged" if r.diverged else f"training error {r.train_error:.1f}%")
                         for r in outcomes.sort_values(["depth", "trick"]).itertuples())
    if not scaled["trained"].all():
        outcome = NOT_SUPPORTED
    elif unscaled["trained"].any():
        outcome, evidence = INCONCLUSIVE, evidence + " (the unscaled skip trains too)"
    else:
        outcome = SUPPORTED
    outcome, gated = gate(outcome, numbers, outcomes, S_MIN_UPDATES, S_MIN_WIDTH)
    return outcome, evidence + gated, numbers
