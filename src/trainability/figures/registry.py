"""Every figure by name, with its caption, the paper's claim, and the claim ids it bears on.

`render_figures(tables_dir, out_dir)` writes out_dir/<name>.png and .svg for each figure and
returns, per name, the paths written or, when the tables lack what the figure needs, the
reason as a string (so a report can say why a figure is absent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from trainability.figures import paper, tricks
from trainability.figures.paper import MissingData
from trainability.figures.style import savefig


@dataclass(frozen=True)
class FigureSpec:
    """A figure: how to draw it from the tables, and what it is evidence for."""

    name: str
    function: Callable[..., Figure]
    caption: str  #: one sentence: what is shown, in which setting
    claim: str  #: the claim it bears on, one line (the paper's, or the practitioners')
    claim_ids: tuple[str, ...]  #: ids in the claims ledger (reference sec. 11)
    needs_tables: bool = True
    #: whose claim `claim` is: "paper" (Glorot & Bengio) or "practice" (claims S1-S14)
    claim_source: str = "paper"


_SPECS = (
    FigureSpec(
        "fig1", paper.fig1,
        "Shapeset-3×2 samples rendered at 64×64 with their class (training uses 32×32).",
        "Shapeset-3×2 images hold one or two triangles, parallelograms or ellipses; 9 classes.",
        (), needs_tables=False),
    FigureSpec(
        "fig2", paper.fig2,
        "Mean (lines) and standard deviation (bars) of sigmoid activations per hidden layer "
        "during training on Shapeset-3×2, standard init, depth 4 (and depth 5 below).",
        "The top hidden layer saturates near 0 early and desaturates slowly (about epoch 100); "
        "at depth 5 it never does.",
        ("P1",)),
    FigureSpec(
        "fig3", paper.fig3,
        "98th percentile (markers) and standard deviation (lines) of activations per layer "
        "during training on Shapeset-3×2, depth 5, standard init: tanh (top), softsign "
        "(bottom).",
        "Tanh layers saturate one after the other from layer 1; softsign saturates less and "
        "all layers together.",
        ("P2", "P3")),
    FigureSpec(
        "fig4", paper.fig4,
        "Normalized histograms of activation values per layer at the end of training on "
        "Shapeset-3×2, depth 5, standard init: tanh (top), softsign (bottom).",
        "Tanh activations pile up at ±1 (or 0); softsign activations peak at the knees "
        "(about ±0.6 to ±0.8).",
        ("P3",)),
    FigureSpec(
        "fig5", paper.fig5,
        "Cross-entropy (black) and quadratic (red) cost of a one-hidden-layer tanh network "
        "against one first-layer weight W1 and one output weight W2, for a random input and "
        "target.",
        "The quadratic cost has more severe plateaus than the cross-entropy.",
        ("P9",), needs_tables=False),
    FigureSpec(
        "fig6", paper.fig6,
        "Normalized histograms of tanh activations per layer at initialization, depth 5 on "
        "Shapeset-3×2: standard init (top), normalized init (bottom).",
        "With standard init the activations shrink with depth (growing peak at 0); with "
        "normalized init they stay about the same.",
        ("P4",)),
    FigureSpec(
        "fig7", paper.fig7,
        "Normalized histograms of back-propagated gradients ∂Cost/∂s per layer at "
        "initialization, tanh depth 5 on Shapeset-3×2: standard (top), normalized (bottom).",
        "With standard init back-propagated gradients get smaller toward the input; with "
        "normalized init they do not.",
        ("P5",)),
    FigureSpec(
        "fig8", paper.fig8,
        "Normalized histograms of weight gradients ∂Cost/∂W per layer at initialization, tanh "
        "depth 5 on Shapeset-3×2: standard (top), normalized (bottom).",
        "Weight-gradient variance is about the same in every layer, even with standard init.",
        ("P6",)),
    FigureSpec(
        "fig9", paper.fig9,
        "Standard-deviation intervals (mean ± std) of weight gradients per layer during "
        "training, tanh depth 5 on Shapeset-3×2: standard (top), normalized (bottom).",
        "With standard init the weight-gradient spread diverges across layers during training; "
        "normalized init keeps it about equal.",
        ("P7",)),
    FigureSpec(
        "fig10", paper.fig10,
        "98th percentile (markers) and standard deviation (lines) of tanh activations per "
        "layer during training, normalized init, depth 5 on Shapeset-3×2.",
        "With normalized init tanh layers do not saturate one after the other; they behave "
        "like softsign.",
        ("P2",)),
    FigureSpec(
        "fig11", paper.fig11,
        "Test error during online training on Shapeset-3×2 for each activation/init "
        "(N = normalized), legend ordered by decreasing final error.",
        "Sigmoid and standard-init tanh converge slower and to worse error; Tanh N is best of "
        "the supervised nets; pre-training beats them all.",
        ("P10", "P11", "P12")),
    FigureSpec(
        "fig12", paper.fig12,
        "Test error during training on MNIST (top) and CIFAR-10 (bottom) for each "
        "activation/init (N = normalized), legend ordered by decreasing final error.",
        "Same ranking as on Shapeset: sigmoid worst, normalized init helps tanh most.",
        ("P10", "P11", "P12")),
    FigureSpec(
        "jacobian", paper.fig_jacobian,
        "Mean singular value of each layer Jacobian ∂z^i/∂z^(i−1) at initialization, tanh "
        "depth 5 on Shapeset-3×2, standard vs normalized init, with the paper's values dashed.",
        "The mean singular value is about 0.8 with normalized init and about 0.5 with "
        "standard init.",
        ("P8",)),
    FigureSpec(
        "depth", paper.fig_depth,
        "Final test error on Shapeset-3×2 against the number of hidden layers (1-5) for each "
        "activation/init, mean ± std over the protocol networks.",
        "The best depth is 5 for every model except the sigmoid, whose best is 4 (sec. 2.3; "
        "not in the claims ledger).",
        ()),
    # ---- the trick axis (issue 5): practitioner claims S1-S14 -------------------------------
    FigureSpec(
        "tricks_heatmap", tricks.tricks_heatmap,
        "Final test error (%) of the trick study's depth sweep (tricks run at three depths or "
        "more) over depth × trick, mean over the protocol networks' seeds; rows of panels: "
        "datasets, columns: activation and initialization; hatched cells marked div: every "
        "seed diverged; – : not run.",
        "Batch normalization and residual connections keep deep nets trainable and remove most "
        "of the init/activation sensitivity; clipping prevents divergence; adaptive optimizers "
        "rescue poorly initialized deep nets.",
        ("S5", "S6", "S7", "S12"), claim_source="practice"),
    FigureSpec(
        "tricks_gradients", tricks.tricks_gradients,
        "Root mean square of the back-propagated gradient ∂Cost/∂s per layer at "
        "initialization and at the end of training, deepest networks of the trick study, one "
        "line per trick (dashed: diverged), for each activation and initialization trained "
        "with two tricks or more.",
        "Without remedies the gradient shrinks toward the input layers (by at most 1/4 per "
        "sigmoid layer); batch normalization and residual connections keep it level.",
        ("S5", "S6", "S10"), claim_source="practice"),
    FigureSpec(
        "dead_units", tricks.dead_units,
        "ReLU's fraction of dead hidden units (f′(s) = 0, so no gradient, on every monitor "
        "example; solid) against the fraction of units of leaky ReLU (slopes 0.01, 0.2), PReLU "
        "and RReLU with s ≤ 0 on every example (dashed), which still get gradient at the "
        "leak's slope and so are never dead; averaged over layers and seeds, during training.",
        "A growing fraction of ReLU units dies during training; leaky variants avoid it.",
        ("S4",), claim_source="practice"),
    FigureSpec(
        "selu_stats", tricks.selu_stats,
        "Mean (left) and standard deviation (right) of SELU activations per hidden layer "
        "during training with LeCun-normal init, with the self-normalizing fixed point "
        "(0 and 1) dashed.",
        "SELU self-normalizes: every layer keeps mean ≈ 0 and std ≈ 1 during training.",
        ("S3",), claim_source="practice"),
    FigureSpec(
        "sigmoid_derivative", tricks.sigmoid_derivative,
        "The logistic sigmoid and its derivative (left), whose maximum 0.25 is at 0, and the "
        "bound 0.25^L on the product of L sigmoid derivatives (right).",
        "The sigmoid's derivative is at most 0.25, so gradients shrink geometrically through "
        "stacked sigmoid layers.",
        ("S10",), needs_tables=False, claim_source="practice"),
    FigureSpec(
        "matrix_product", tricks.matrix_product,
        "Norm of the running product of 100 random 4×4 matrices with N(0, 1) entries "
        "(log scale): single draws, median and 5–95% band over 200 draws, and the growth "
        "predicted by the top Lyapunov exponent.",
        "A product of many random Gaussian matrices explodes: 100 random 4×4 matrices reach "
        "about 1e25.",
        ("S9",), needs_tables=False, claim_source="practice"),
)

#: The figures of the trick axis, in the order of the report's "Training tricks" section.
TRICK_FIGURES = ("tricks_heatmap", "tricks_gradients", "dead_units", "selu_stats",
                 "sigmoid_derivative", "matrix_product")

FIGURES: dict[str, FigureSpec] = {spec.name: spec for spec in _SPECS}


def _load(tables_dir: str | Path | None) -> dict[str, pd.DataFrame] | str:
    """The tables, or the reason they cannot be read."""
    if tables_dir is None:
        return "no tables directory given"
    from trainability.results import SchemaError
    from trainability.results import read_tables as load_tables

    try:
        return load_tables(tables_dir)
    except (OSError, SchemaError) as error:
        return f"cannot read the tables in {tables_dir}: {error}"


def _check(names: Iterable[str] | None) -> list[str]:
    names = list(FIGURES) if names is None else list(names)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; known: {list(FIGURES)}")
    return names


def _draw(spec: FigureSpec, tables: dict[str, pd.DataFrame] | str) -> Figure:
    if not spec.needs_tables:
        return spec.function(None)
    if isinstance(tables, str):
        raise MissingData(tables)
    return spec.function(tables)


def render_figures(tables_dir: str | Path | None, out_dir: str | Path,
                   names: Iterable[str] | None = None) -> dict[str, list[Path] | str]:
    """Write out_dir/<name>.png and .svg for each figure (all by default).

    Returns name -> [png, svg] paths, or name -> reason (str) when the tables lack what the
    figure needs (MissingData); other errors propagate.
    """
    names = _check(names)
    tables: dict[str, pd.DataFrame] | str = "not loaded"
    if any(FIGURES[n].needs_tables for n in names):
        tables = _load(tables_dir)
    results: dict[str, list[Path] | str] = {}
    for name in names:
        try:
            figure = _draw(FIGURES[name], tables)
        except MissingData as error:
            results[name] = str(error)
            continue
        results[name] = savefig(figure, Path(out_dir) / name)
    return results


def render_figure(name: str, tables_dir: str | Path | None, out_prefix: str | Path
                  ) -> list[Path]:
    """Write out_prefix.png and .svg for one figure; raises MissingData if it cannot be drawn."""
    (name,) = _check([name])
    spec = FIGURES[name]
    tables = _load(tables_dir) if spec.needs_tables else "not needed"
    return savefig(_draw(spec, tables), out_prefix)
