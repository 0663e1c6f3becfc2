"""The paper's figures, drawn from the suite's tidy tables.

    from trainability.figures import FIGURES, render_figures
    results = render_figures("results/tables", "results/figures")
    # {"fig2": [Path(".../fig2.png"), Path(".../fig2.svg")], "fig12": "needs ...", ...}

Modules: `style` (palette, rcParams, `savefig`, the time axis), `paper` (one function per
figure, `MissingData`), `cost_surface` (Fig. 5's surfaces and plateau measure), `registry`
(`FIGURES`, captions, claims, rendering). `python -m trainability.figures TABLES OUT [NAMES]`
renders from the command line.
"""

from trainability.figures.paper import MissingData
from trainability.figures.registry import FIGURES, FigureSpec, render_figure, render_figures
from trainability.figures.style import savefig, time_axis

__all__ = ["FIGURES", "FigureSpec", "MissingData", "render_figure", "render_figures", "savefig",
           "time_axis"]
