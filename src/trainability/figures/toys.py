"""Figures without tables (report section "Training tricks", claims S9, S10): the sigmoid's
derivative and products of random matrices, as computed in trainability.analysis.toys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainability.analysis.selection import Tables
from trainability.analysis.toys import (
    SIGMOID_DERIVATIVE_BOUND,
    random_matrix_product_norms,
    sigmoid,
    sigmoid_derivative,
    top_lyapunov_exponent,
)
from trainability.figures.labels import activation_color
from trainability.figures.registry import figure
from trainability.figures.style import new_figure, styled
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    from matplotlib.figure import Figure

np = lazy_import("numpy")
mlines = lazy_import("matplotlib.lines")

#: The colour of the computed curves (ReLU's: a strong blue, distinct from the grey draws).
ACCENT = "relu"


@figure("sigmoid_derivative", section="tricks", title="The sigmoid's derivative",
        caption="The logistic sigmoid and its derivative (left), whose maximum 0.25 is at 0, "
                "and the bound 0.25^L on the product of L sigmoid derivatives (right).",
        claim="The sigmoid's derivative is at most 0.25, so gradients shrink geometrically "
              "through stacked sigmoid layers.",
        claim_ids=("S10",), needs_tables=False, claim_source="practice")
@styled
def sigmoid_derivative_figure(tables: Tables | None = None) -> Figure:
    """The logistic sigmoid and its derivative (maximum 1/4 at 0), and the bound 0.25^L on the
    product of L derivatives that back-propagation multiplies through L sigmoid layers."""
    x = np.linspace(-8, 8, 801)
    derivative = sigmoid_derivative(x)
    peak = float(derivative.max())
    accent = activation_color(ACCENT)
    fig, axes = new_figure(1, 2, panel=(3.4, 2.5))
    ax = axes[0]
    ax.plot(x, sigmoid(x), color="0.15", label="σ(x) = 1/(1+e^(−x))")
    ax.plot(x, derivative, color=accent, label="σ′(x) = σ(x)(1−σ(x))")
    ax.axhline(SIGMOID_DERIVATIVE_BOUND, color="0.45", linestyle="--", linewidth=0.9)
    ax.plot([0], [peak], marker="o", color=accent)
    ax.annotate(f"max σ′ = σ′(0) = {peak:.2f}", xy=(0, peak), xytext=(1.2, 0.42),
                fontsize=7.5, arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel("value")
    ax.set_ylim(0, 1.05)
    ax.set_title("Logistic sigmoid and its derivative")
    ax.legend(loc="upper left")
    ax = axes[1]
    layers = np.arange(1, 21)
    ax.semilogy(layers, SIGMOID_DERIVATIVE_BOUND ** layers, color=accent, marker="o",
                markersize=3)
    ax.set_xlabel("sigmoid layers L")
    ax.set_ylabel("bound on ∏ σ′ ($0.25^L$)")
    ax.set_title("Geometric shrinking of the gradient factor")
    ax.xaxis.get_major_locator().set_params(integer=True)
    return fig


@figure("matrix_product", section="tricks", title="Products of random matrices",
        caption="Norm of the running product of 100 random 4×4 matrices with N(0, 1) entries "
                "(log scale): single draws, median and 5–95% band over 200 draws, and the "
                "growth predicted by the top Lyapunov exponent.",
        claim="A product of many random Gaussian matrices explodes: 100 random 4×4 matrices "
              "reach about 1e25.",
        claim_ids=("S9",), needs_tables=False, claim_source="practice")
@styled
def matrix_product(tables: Tables | None = None, *, n_matrices: int = 100, size: int = 4,
                   draws: int = 200, seed: int = 0, shown: int = 25) -> Figure:
    """Spectral norm of the running product of `n_matrices` random N(0, 1) `size` x `size`
    matrices: `shown` draws (thin), the median and the 5-95% band over `draws` draws, and the
    growth exp(k * lambda_1) of the top Lyapunov exponent."""
    norms = random_matrix_product_norms(n_matrices, size, draws, seed, ord=2, running=True)
    k = np.arange(1, n_matrices + 1)
    accent = activation_color(ACCENT)
    fig, axes = new_figure(1, 1, panel=(5.0, 3.2))
    ax = axes[0]
    for row in norms[:shown]:
        ax.plot(k, row, color="0.6", linewidth=0.5, alpha=0.6)
    low, median, high = np.percentile(norms, [5, 50, 95], axis=0)
    ax.fill_between(k, low, high, color=accent, alpha=0.18, linewidth=0,
                    label="5–95% of draws")
    ax.plot(k, median, color=accent, linewidth=1.8, label="median")
    rate = top_lyapunov_exponent(size)
    ax.plot(k, np.exp(rate * k), color="black", linestyle="--", linewidth=1.1,
            label=f"exp(λ₁k), λ₁ = ½(ln 2 + ψ({size}/2)) = {rate:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("matrices multiplied k")
    ax.set_ylabel("spectral norm of M_k ⋯ M_1")
    ax.set_title(f"Products of random {size}×{size} matrices with N(0, 1) entries\n"
                 f"({draws} draws, seed {seed})")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(mlines.Line2D([], [], color="0.6", linewidth=0.5,
                                 label=f"{shown} single draws"))
    ax.legend(handles=handles, loc="upper left")
    ax.annotate(f"median after {n_matrices}: {median[-1]:.1e}", xy=(k[-1], median[-1]),
                xytext=(0.62, 0.35), textcoords="axes fraction", fontsize=7.5,
                arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8})
    return fig
