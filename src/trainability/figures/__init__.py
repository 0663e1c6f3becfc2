"""The paper's figures and the trick axis's, drawn from what trainability.analysis computes.

    from trainability.figures import FIGURES, render_figures
    results = render_figures("results/tables", "results/figures")
    # {"fig2": [Path(".../fig2.png"), Path(".../fig2.svg")], "fig12": "needs ...", ...}

A figure is one function plus its spec (`registry.figure`, a decorator next to the function:
section, title, caption, claim), in the module of its report section: `shapeset` (Fig. 1),
`saturation` (Figs. 2-4), `gradients` (Figs. 5-10, the layer Jacobians), `errors` (Figs. 11,
12, the depth sweep), `tricks_depth`, `tricks_activations` and `toys` (the trick axis),
`signal` (signal propagation: the theory beside measurement).
Shared pieces: `registry` (`FIGURES`, rendering), `style` (layer palette, rcParams, `savefig`,
the time axis), `labels` (names, colours and orders from the registries), `panels` (layout
pieces several figures share). `python -m trainability.figures TABLES OUT [NAMES]` renders
from the command line.

Importing this package is cheap (the workflow does it at every planning to learn the figures'
names and captions): matplotlib, numpy and pandas load when a figure is drawn.
"""

from trainability.analysis.selection import MissingData
from trainability.figures.registry import (
    FIGURES,
    FigureSpec,
    figure,
    figures_in,
    render_figure,
    render_figures,
)
from trainability.figures.style import savefig, time_axis

# The figure modules, in the report's order (importing one registers its figures, and a
# section shows its figures in the order they were registered): not sorted by name.
# isort: off
from trainability.figures import shapeset, saturation, gradients, errors
from trainability.figures import tricks_depth, tricks_activations, toys
from trainability.figures import signal
# isort: on

__all__ = ["FIGURES", "FigureSpec", "MissingData", "errors", "figure", "figures_in",
           "gradients", "render_figure", "render_figures", "saturation", "savefig", "shapeset",
           "signal", "time_axis", "toys", "tricks_activations", "tricks_depth"]
