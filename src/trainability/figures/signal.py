"""Figures of the report's section on signal propagation: what the theory predicts at init
beside what the suite's networks do (trainability.analysis.signal_at_init, isometry,
phase_diagram). Figures only draw; every number comes from analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainability.analysis import isometry, phase_diagram, signal_at_init, signal_claims
from trainability.analysis.jacobian_spectrum import fuss_catalan_cdf
from trainability.analysis.practitioner import chance_error
from trainability.analysis.selection import MissingData, Tables
from trainability.figures.labels import activation_label
from trainability.figures.panels import figure_legend, suptitle
from trainability.figures.registry import figure
from trainability.figures.style import fallback_color, new_figure, styled
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    from matplotlib.figure import Figure

np = lazy_import("numpy")
sns = lazy_import("seaborn")

SECTION = "signal"
#: Initializers' colours in the per-layer figures (one per registry entry, in its order).
INIT_PALETTE = "tab10"


def _init_colors(initializers) -> dict[str, str]:
    colors = sns.color_palette(INIT_PALETTE, n_colors=max(len(initializers), 1)).as_hex()
    return dict(zip(initializers, colors, strict=False))


def _short(initializer: str) -> str:
    """A legend-sized initializer name (variance_scaling's defaults spelled out are long)."""
    name, _, args = initializer.partition(":")
    if name == "variance_scaling":
        parts = dict(p.split("=", 1) for p in args.split(",") if "=" in p)
        return f"N(0, {parts.get('scale', '1')}/fan_in)" if parts.get("distribution") in (
            "normal", "untruncated_normal") else f"trunc. N(0, {parts.get('scale', '1')}/fan_in)"
    return initializer


def _per_layer_figure(quantity: str, ylabel: str) -> Figure:
    table = signal_at_init.at_init()
    table = table[table["quantity"] == quantity]
    activations = list(dict.fromkeys(table["activation"]))
    initializers = list(dict.fromkeys(table["initializer"]))
    colors = _init_colors(initializers)
    ncols = 4
    nrows = -(-len(activations) // ncols)
    fig, axes = new_figure(nrows, ncols, panel=(3.2, 2.5), sharex=True)
    for ax, activation in zip(axes, activations, strict=False):
        rows = table[table["activation"] == activation]
        for initializer in initializers:
            one = rows[rows["initializer"] == initializer].sort_values("layer")
            color = colors[initializer]
            ax.plot(one["layer"], one["measured"] ** 2, "o", markersize=2.2, color=color,
                    alpha=0.8, label=f"{_short(initializer)} (measured)")
            if one["mean_field"].notna().any():
                ax.plot(one["layer"], one["mean_field"] ** 2, "-", color=color, linewidth=1.0,
                        label=f"{_short(initializer)} (mean field)")
        reason = rows["no_prediction"].iloc[0]
        if reason:
            ax.text(0.03, 0.04, f"no mean-field prediction:\n{reason}", fontsize=6,
                    transform=ax.transAxes, va="bottom")
        ax.set_yscale("log")
        ax.set_title(activation_label(activation), fontsize=9)
    for ax in axes[len(activations):]:
        ax.set_visible(False)
    for ax in axes[-ncols:]:
        ax.set_xlabel("hidden layer")
    for ax in axes[::ncols]:
        ax.set_ylabel(ylabel)
    figure_legend(fig, axes)
    suptitle(fig, f"At init: dots measured, lines the mean field; width "
                  f"{signal_at_init.WIDTH}, depth {signal_at_init.DEPTH}, "
                  f"{signal_at_init.EXAMPLES} Shapeset-3×2 images")
    return fig


@figure("signal_variance", section=SECTION, title="Predicted vs measured activation variance",
        caption=f"Variance of each hidden layer's activations at init for every activation "
                f"and initializer (width {signal_at_init.WIDTH}, depth {signal_at_init.DEPTH}): "
                f"measured (dots) and the mean-field length map's prediction (lines).",
        claim="The mean field predicts each layer's variance at init within 10% for widths "
              ">= 256.",
        claim_ids=("T1",), needs_tables=False, claim_source="theory")
@styled
def signal_variance(tables: Tables | None = None) -> Figure:
    """Measured (dots) and mean-field (lines) activation variance per layer at init, one panel
    per activation, one colour per initializer."""
    return _per_layer_figure("activation", "Var[activation]")


@figure("signal_gradients", section=SECTION,
        title="Predicted vs measured back-propagated gradient variance",
        caption=f"Variance of ∂Cost/∂s per hidden layer at init for every activation and "
                f"initializer (width {signal_at_init.WIDTH}, depth {signal_at_init.DEPTH}): "
                f"measured (dots) and the mean field's prediction (lines), which is relative "
                f"to the top layer and drawn on its measured scale.",
        claim="The mean field predicts each layer's gradient variance at init within 10% for "
              "widths >= 256.",
        claim_ids=("T1",), needs_tables=False, claim_source="theory")
@styled
def signal_gradients(tables: Tables | None = None) -> Figure:
    """Measured (dots) and mean-field (lines) back-propagated gradient variance per layer at
    init."""
    return _per_layer_figure("backprop_grad", "Var[∂Cost/∂s]")


@figure("jacobian_spectra", section=SECTION, title="Input-output Jacobian spectra at init",
        caption=f"Cumulative distribution of the squared singular values λ of the "
                f"input-output Jacobian at init ({isometry.NETS} networks of width "
                f"{isometry.WIDTH} per family), at depths "
                f"{' and '.join(map(str, isometry.DEPTHS))}. Dashed black: the Fuss-Catalan "
                f"law of the linear Gaussian network.",
        claim="Orthogonal weights at criticality keep a deep tanh net's whole spectrum near 1; "
              "Gaussian weights do not, and ReLU never does.",
        claim_ids=("T3",), needs_tables=False, claim_source="theory")
@styled
def jacobian_spectra(tables: Tables | None = None) -> Figure:
    """ECDF of log10 lambda per family, one panel per depth, with the Fuss-Catalan CDF."""
    spectra = isometry.spectra()
    summary = isometry.summary(spectra).set_index(["label", "depth"])
    fig, axes = new_figure(1, len(isometry.DEPTHS), panel=(4.4, 3.2), sharey=True)
    for ax, depth in zip(axes, isometry.DEPTHS, strict=True):
        for setup in isometry.setups():
            lam = np.sort(spectra[(spectra["label"] == setup.label)
                                  & (spectra["depth"] == depth)]["lambda"].to_numpy())
            lam = np.clip(lam, 1e-12, None)
            ax.step(lam, np.arange(1, len(lam) + 1) / len(lam), where="post",
                    color=fallback_color(setup.label),
                    linestyle="-" if setup.weights == "orthogonal" else "--", label=setup.label)
        shares = "\n".join(f"{s.label}: {summary.loc[(s.label, depth), 'near_one']:.0%}"
                           for s in isometry.setups())
        ax.text(0.98, 0.03, f"λ within ×{isometry.BAND:g} of 1:\n{shares}", fontsize=6,
                transform=ax.transAxes, va="bottom", ha="right")
        grid = np.logspace(-12, 2.5, 400)
        ax.plot(grid, fuss_catalan_cdf(depth, grid), color="black", linestyle=":",
                linewidth=1.2, label="Fuss-Catalan (linear, Gaussian): theory")
        ax.axvspan(1 / isometry.BAND, isometry.BAND, color="0.9", zorder=0)
        ax.set_xscale("log")
        ax.set_xlim(1e-12, 10 ** 2.5)
        ax.set_title(f"depth {depth}", fontsize=9)
        ax.set_xlabel("squared singular value λ of J")
    axes[0].set_ylabel("fraction of λ below")
    figure_legend(fig, axes)
    suptitle(fig, f"Grey band: λ within a factor {isometry.BAND:g} of 1; solid: orthogonal "
                  "weights, dashed: Gaussian")
    return fig


@figure("phase_diagram", section=SECTION, title="Order-to-chaos phase diagram",
        caption="Training error after the signal budget over (σw², depth), one panel per "
                "activation and σb²; dashed: the order-to-chaos boundary χ1 = 1; solid: "
                f"{phase_diagram.XI_MULTIPLE:g} ξc, the depth Schoenholz et al. (2017) find "
                "networks train to.",
        claim="Networks train only to a depth of a few ξc; trainable depth peaks on the "
              "order-to-chaos boundary.",
        claim_ids=("T2",), claim_source="theory")
@styled
def phase_diagram_figure(tables: Tables) -> Figure:
    """Training error (colour) over sigma_w^2 x depth per (activation, sigma_b^2), with the
    chi_1 = 1 line and XI_MULTIPLE xi_c."""
    points = phase_diagram.phase_points(tables)
    if len(points) == 0:
        raise MissingData("needs the signal studies' networks (signal_phase, "
                          "signal_relu_edge)")
    panels = list(points.groupby(["activation", "sb2"], sort=True))
    fig, axes = new_figure(1, len(panels), panel=(3.6, 3.2), sharey=True)
    depths = sorted(points["depth"].unique())
    # colour from the best training error to the class prior's: the differences a short
    # budget leaves are a few points
    chance = max(chance_error(d) for d in points["dataset"]) * 100.0
    low = float(np.nanmin(points["train_error"]))
    scatter = None
    for ax, ((activation, sb2), rows) in zip(axes, panels, strict=True):
        sw2_values = sorted(rows["sw2"].unique())
        grid = np.linspace(min(sw2_values) * 0.9, max(sw2_values) * 1.05, 200)
        lines, critical = phase_diagram.boundary(activation, [sb2], grid)
        scatter = ax.scatter(rows["sw2"], rows["depth"], c=rows["train_error"], s=140,
                             marker="s", cmap="viridis_r", vmin=low, vmax=chance,
                             edgecolors=np.where(rows["trained"], "black", "none"),
                             linewidths=1.6)
        limit = lines["depth_limit"].to_numpy()
        ax.plot(grid, np.where(np.isfinite(limit) & (limit > 0), limit, np.nan), color="black",
                linewidth=1.2, label=f"{phase_diagram.XI_MULTIPLE:g} ξ (mean field: ξc; ReLU: "
                                     "1/|ln χ1|)")
        if np.isfinite(critical[sb2]):
            ax.axvline(critical[sb2], color="crimson", linestyle="--", linewidth=1.1,
                       label="χ1 = 1 (order-to-chaos boundary)")
        ax.set_yscale("log")
        ax.set_ylim(min(depths) / 1.5, max(depths) * 1.5)
        ax.set_title(f"{activation_label(activation)}, σb² = {sb2:g}", fontsize=9)
        ax.set_xlabel("σw²")
    axes[0].set_ylabel("depth (hidden layers)")
    fig.colorbar(scatter, ax=axes, label="training error (%)", shrink=0.8)
    figure_legend(fig, axes)
    width = int(points["width"].iloc[0])
    suptitle(fig, f"Width {width}; black edge: trained (training error < "
                  f"{phase_diagram.TRAINED_FRACTION:g} × majority-class error); colour up to "
                  f"the class prior's error")
    return fig


@figure("residual_scaling", section=SECTION, title="Residual scaling at depth",
        caption="Training error after the signal budget of deep ReLU nets (He init) with "
                "two-layer residual branches: unscaled, scaled by 1/√L, Fixup and ReZero, "
                "beside the plain net; one panel per depth, each network at its selected "
                "rate; ✕: diverged.",
        claim="Fixup and ReZero train very deep residual nets without normalization where the "
              "unscaled skip does not.",
        claim_ids=("T4",), claim_source="theory")
@styled
def residual_scaling(tables: Tables) -> Figure:
    """Training error per residual arm (bars), one panel per depth >= T4_MIN_DEPTH."""
    outcomes = signal_claims.residual_outcomes(tables)
    if len(outcomes) == 0:
        raise MissingData("needs the signal_residual study's networks")
    depths = sorted(outcomes["depth"].unique())
    fig, axes = new_figure(1, len(depths), panel=(4.0, 3.0), sharey=True)
    # from 50% (a short budget leaves differences of a few points near the prior) or lower
    # where a network got there
    bottom = max(0.0, min(50.0, float(np.nanmin(outcomes["train_error"])) - 5.0))
    for ax, depth in zip(axes, depths, strict=True):
        rows = outcomes[outcomes["depth"] == depth].sort_values("trick")
        labels = list(rows["trick"])
        ax.bar(range(len(rows)), rows["train_error"], color=[
            fallback_color(t) for t in labels])
        for i, row in enumerate(rows.itertuples()):
            if row.diverged:
                ax.text(i, row.train_error, "✕", ha="center", va="bottom", fontsize=10)
        ax.axhline(float(rows["trained_below"].iloc[0]), color="black", linestyle="--",
                   linewidth=1.0, label="trained below this")
        ax.set_xticks(range(len(rows)), labels, rotation=35, ha="right", fontsize=7)
        ax.set_title(f"depth {depth}", fontsize=9)
        ax.set_ylim(bottom, 105)
    axes[0].set_ylabel("training error (%)")
    figure_legend(fig, axes[:1])
    first = outcomes.iloc[0]
    suptitle(fig, f"{activation_label(str(first['activation']))}, {first['initializer']}, "
                  f"width {int(first['width'])}")
    return fig
