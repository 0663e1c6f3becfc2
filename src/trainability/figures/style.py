"""Figure style shared by every figure: layer palette, markers, rcParams, the time axis, saving.

The paper's figures are plain: one panel per activation or initialization, one line per
hidden layer ("Layer 1" .. "Layer 5"), time in "epochs" of 20k updates. Colours are fixed per
layer (`layer_color`) so that "Layer 3" looks the same in every figure; activations,
datasets and tricks take their names and colours from their registries
(`trainability.figures.labels`). Figures are built as `matplotlib.figure.Figure` objects (no
pyplot state, nothing to close) inside `rc_context(RC)`, so importing this module changes no
global setting.

matplotlib loads when the first figure is drawn: the workflow imports `trainability.figures`
at every planning to learn the figures' names and captions (trainability.lazy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec

from trainability.analysis.common import EPOCH_UPDATES
from trainability.atomic import replacing
from trainability.lazy import lazy_import

if TYPE_CHECKING:
    from matplotlib.figure import Figure

mpl = lazy_import("matplotlib")
mfigure = lazy_import("matplotlib.figure")

#: seaborn's "colorblind" palette: one colour per hidden layer, index 0 = "Layer 1".
LAYER_PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4",
                 "#949494", "#ece133", "#56b4e9")
#: One marker per hidden layer, as the paper's black-and-white-friendly curves.
LAYER_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
#: seaborn's "muted" palette: stable colours for what a registry gives none (`fallback_color`).
FALLBACK_PALETTE = ("#4878d0", "#ee854a", "#6acc64", "#d65f5f", "#956cb4", "#8c613c",
                    "#dc7ec0", "#797979", "#d5bb67", "#82c6e2")

#: Sequential colour map of the heat maps (light = low error, dark = high; seaborn's).
HEATMAP_CMAP = "rocket_r"

#: rcParams for single-column print (figures about 3.3-7 in wide): text stays >= 8 pt.
RC: dict[str, object] = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "lines.linewidth": 1.3,
    "lines.markersize": 4,
    "errorbar.capsize": 2,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "svg.fonttype": "none",  # text stays text in the SVG
    "svg.hashsalt": "trainability",  # deterministic SVG ids
    "pdf.fonttype": 42,
}

P = ParamSpec("P")


def layer_color(layer: int) -> str:
    """Colour of hidden layer `layer` (1-based), the same in every figure."""
    return LAYER_PALETTE[(layer - 1) % len(LAYER_PALETTE)]


def layer_marker(layer: int) -> str:
    return LAYER_MARKERS[(layer - 1) % len(LAYER_MARKERS)]


def layer_label(layer: int) -> str:
    return f"Layer {layer}"


def fallback_color(name: str) -> str:
    """A stable colour for `name` (the same in every figure and run)."""
    return FALLBACK_PALETTE[sum(map(ord, name)) % len(FALLBACK_PALETTE)]


@dataclass(frozen=True)
class TimeAxis:
    """How the x axis shows training time: x = update / divisor, labelled `label`."""

    divisor: float
    label: str

    def __call__(self, updates):
        return updates / self.divisor


def time_axis(run_updates: int) -> TimeAxis:
    """The paper's "epochs" of 20k updates, or plain updates for runs shorter than one epoch.

    `run_updates` is the length of the whole run (the `updates` column of the runs table), so
    all panels of a figure should pass the largest one.
    """
    if run_updates >= EPOCH_UPDATES:
        return TimeAxis(EPOCH_UPDATES, "epochs (×20k updates)")
    return TimeAxis(1.0, "updates")


def styled(function: Callable[P, Figure]) -> Callable[P, Figure]:
    """Build the figure under the suite's rcParams (without touching the global ones)."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with mpl.rc_context(RC):
            return function(*args, **kwargs)

    return wrapper


def new_figure(nrows: int = 1, ncols: int = 1, panel: tuple[float, float] = (4.6, 2.6),
               **subplot_kw) -> tuple[Figure, list]:
    """A constrained-layout figure of nrows x ncols panels of `panel` inches; axes as a flat
    list (row-major)."""
    fig = mfigure.Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, [ax for row in axes for ax in row]


def savefig(fig: Figure, prefix: str | Path) -> list[Path]:
    """Write prefix.png (150 dpi) and prefix.svg, each atomically (trainability.atomic).

    Returns the two paths. Metadata that changes between runs (dates) is left out.
    """
    prefix = Path(prefix)
    written = []
    for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
        final = prefix.with_name(f"{prefix.name}.{fmt}")
        with replacing(final) as partial, mpl.rc_context(RC):
            fig.savefig(partial, format=fmt, dpi=150, metadata=metadata)
        written.append(final)
    return written
