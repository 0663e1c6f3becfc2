"""Figure style shared by every figure: palette, markers, rcParams, atomic saving.

The paper's figures are plain: one panel per activation or initialization, one line per
hidden layer ("Layer 1" .. "Layer 5"), time in "epochs" of 20k updates. Colours are fixed per
layer (`layer_color`) and per configuration (`config_color`) so that "Layer 3" or "Tanh N"
looks the same in every figure. Figures are built as `matplotlib.figure.Figure` objects
(no pyplot state, nothing to close) inside `rc_context(RC)`, so importing this module changes
no global setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import ParamSpec

import matplotlib as mpl
import seaborn as sns
from matplotlib.figure import Figure

#: Updates per "epoch" on the paper's time axes (sec. 1.7 of the reference: "after every 20k
#: updates"; whether 20k updates or 20k examples is UNCONFIRMED, updates are used here).
EPOCH_UPDATES = 20_000

#: One colour per hidden layer, index 0 = "Layer 1" (seaborn "colorblind", 10 colours).
LAYER_PALETTE: tuple[tuple[float, float, float], ...] = tuple(sns.color_palette("colorblind", 10))
#: One marker per hidden layer, as the paper's black-and-white-friendly curves.
LAYER_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")

#: Colours of the paper's configurations (Figs. 11, 12 and the depth figure).
_CB = sns.color_palette("colorblind", 10)
CONFIG_PALETTE: dict[str, tuple[float, float, float]] = {
    "Sigmoid depth 5": (0.35, 0.35, 0.35), "Sigmoid depth 4": (0.65, 0.65, 0.65),
    "Sigmoid": (0.35, 0.35, 0.35), "Sigmoid N": _CB[5],
    "Tanh": _CB[3], "Tanh N": _CB[0], "Softsign": _CB[4], "Softsign N": _CB[2],
    "Pre-training": (0.0, 0.0, 0.0),
}
_EXTRA = tuple(sns.color_palette("muted", 10))

#: Colours of the trick axis (heat map, gradient figure): plain SGD black, the others by family.
TRICK_PALETTE: dict[str, tuple[float, float, float]] = {
    "none": (0.0, 0.0, 0.0),
    "batchnorm": _CB[0], "batchnorm:after": _CB[9], "residual": _CB[1],
    "batchnorm+residual": _CB[2], "clip_norm": _CB[3], "clip_value": _CB[4],
    "momentum": _CB[5], "adagrad": _CB[6], "rmsprop": _CB[7], "adam": _CB[8],
    "dropout": _EXTRA[0], "l2": _EXTRA[1], "l1": _EXTRA[2], "early_stopping": _EXTRA[3],
    "pretrain_dae": _EXTRA[4],
}

#: Colours of the activations where one panel compares them (dead units, the tricks figures).
ACTIVATION_PALETTE: dict[str, tuple[float, float, float]] = {
    "sigmoid": (0.35, 0.35, 0.35), "tanh": _CB[3], "softsign": _CB[4], "relu": _CB[0],
    "leaky_relu:0.01": _CB[2], "leaky_relu": _CB[2], "leaky_relu:0.2": _CB[1],
    "prelu": _CB[5], "rrelu": _CB[8], "elu": _CB[6], "selu": _CB[9], "maxout": _CB[7],
}

#: Sequential colour map of the heat maps (light = low error, dark = high).
HEATMAP_CMAP = "rocket_r"

#: Colours of the two initializations where one panel compares them (Jacobian figure).
INIT_COLORS = {"standard": sns.color_palette("colorblind")[3],
               "normalized": sns.color_palette("colorblind")[0]}

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


def layer_color(layer: int) -> tuple[float, float, float]:
    """Colour of hidden layer `layer` (1-based), the same in every figure."""
    return LAYER_PALETTE[(layer - 1) % len(LAYER_PALETTE)]


def layer_marker(layer: int) -> str:
    return LAYER_MARKERS[(layer - 1) % len(LAYER_MARKERS)]


def layer_label(layer: int) -> str:
    return f"Layer {layer}"


def config_color(label: str) -> tuple[float, float, float]:
    """Colour of a configuration label such as "Tanh N"; unknown labels get a stable colour."""
    if label in CONFIG_PALETTE:
        return CONFIG_PALETTE[label]
    return _EXTRA[sum(map(ord, label)) % len(_EXTRA)]


def trick_color(trick: str) -> tuple[float, float, float]:
    """Colour of a trick string ("none", "clip_norm:1", "batchnorm+residual", ...): by the
    whole string, else by its name without arguments, else a stable colour."""
    if trick in TRICK_PALETTE:
        return TRICK_PALETTE[trick]
    base = "+".join(item.split(":", 1)[0] for item in trick.split("+"))
    if base in TRICK_PALETTE:
        return TRICK_PALETTE[base]
    return _EXTRA[sum(map(ord, trick)) % len(_EXTRA)]


def activation_color(activation: str) -> tuple[float, float, float]:
    """Colour of an activation ("relu", "leaky_relu:0.2", "maxout:2", ...)."""
    for key in (activation, activation.split(":", 1)[0]):
        if key in ACTIVATION_PALETTE:
            return ACTIVATION_PALETTE[key]
    return _EXTRA[sum(map(ord, activation)) % len(_EXTRA)]


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
    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, [ax for row in axes for ax in row]


def savefig(fig: Figure, prefix: str | Path) -> list[Path]:
    """Write prefix.png (150 dpi) and prefix.svg, each atomically (temp name, then os.replace).

    Returns the two paths. Metadata that changes between runs (dates) is left out.
    """
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None})):
        final = prefix.with_name(f"{prefix.name}.{fmt}")
        temp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        try:
            with mpl.rc_context(RC):
                fig.savefig(temp, format=fmt, dpi=150, metadata=metadata)
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        written.append(final)
    return written
