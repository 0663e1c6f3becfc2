"""Names, colours and orders of what figures compare, each read from its registry.

- activations: `trainability.nets.activations.ACTIVATIONS` (label, colour, registration order);
- initializers: `trainability.nets.initializers.INITIALIZERS` (registration order);
- datasets: `trainability.data.catalog.DATASETS` (label, order);
- tricks: `trainability.tricks` (each unit's colour, the figure order of the registered
  tricks, plain SGD's colour).

What a registry does not know (a spec from a plugin that is not loaded) gets its own name and a
stable fallback colour (`style.fallback_color`). The paper's configuration names ("Tanh N":
tanh with the normalized initialization) and the colours of the paper's normalized-init
configurations are the paper figures' own.
"""

from __future__ import annotations

from trainability.analysis.common import trick_names
from trainability.data.catalog import DATASETS
from trainability.figures.style import fallback_color
from trainability.nets.activations import ACTIVATIONS, Activation
from trainability.nets.initializers import INITIALIZERS
from trainability.registry import parse_spec
from trainability.tricks.spec import NONE, NONE_COLOR, figure_order, parse_trick

#: Colours of the paper's configurations with the normalized initialization ("Tanh N", ...);
#: with the standard one a configuration has its activation's colour.
NORMALIZED_COLORS = {"sigmoid": "#ca9161", "tanh": "#0173b2", "softsign": "#029e73"}



def _activation(spec: str) -> Activation | None:
    try:
        return ACTIVATIONS.build(str(spec))
    except ValueError:  # not registered here (e.g. a plugin's), or bad arguments
        return None


def activation_label(spec: str) -> str:
    """How figures name an activation: its registry label ("Tanh", "Leaky ReLU 0.2"), else
    the spec itself."""
    activation = _activation(spec)
    return activation.label if activation is not None else str(spec)


def activation_color(spec: str) -> str:
    """Colour of an activation where figures compare them: its registry colour, else a stable
    fallback."""
    activation = _activation(spec)
    if activation is not None and activation.color is not None:
        return activation.color
    return fallback_color(str(spec))


def activation_rank(spec: str) -> tuple[int, str]:
    """Sort key of activation specs: the registry's order of their names, then by spec."""
    order = ACTIVATIONS.registered()
    name = parse_spec(str(spec)).name
    return (order.index(name) if name in order else len(order), str(spec))


def init_rank(initializer: str) -> tuple[int, str]:
    """Sort key of initializer specs: the registry's order of their names, then by spec."""
    order = INITIALIZERS.registered()
    name = parse_spec(str(initializer)).name
    return (order.index(name) if name in order else len(order), str(initializer))


def dataset_label(dataset: str) -> str:
    """How figures name a dataset: its catalog label ("Shapeset-3×2"), else its name."""
    known = DATASETS.get(str(dataset))
    return known.label if known is not None else str(dataset)


def config_label(activation: str, initializer: str) -> str:
    """The paper's legend names: "Tanh", "Tanh N" (normalized init), "Softsign", ..."""
    name = activation_label(activation)
    if initializer == "standard":
        return name
    if initializer == "normalized":
        return f"{name} N"
    return f"{name} ({initializer})"


def config_color(activation: str, initializer: str) -> str:
    """Colour of a configuration of the paper's figures: with the standard init its
    activation's, with the normalized init `NORMALIZED_COLORS`; else a stable fallback."""
    if initializer == "standard":
        known = _activation(activation)
        if known is not None and known.color is not None:
            return known.color
    if initializer == "normalized" and activation in NORMALIZED_COLORS:
        return NORMALIZED_COLORS[activation]
    return fallback_color(config_label(activation, initializer))


def trick_color(trick: str) -> str:
    """Colour of a trick string: plain SGD ("none") black, one trick its unit's colour
    ("clip_norm:1" as clip_norm, "batchnorm:after" its own), a combination or a trick the
    registry does not know a stable colour."""
    if str(trick) == NONE:
        return NONE_COLOR
    try:
        units = parse_trick(str(trick)).units
    except ValueError:  # not registered here (e.g. a plugin's), or not a valid trick
        units = ()
    if len(units) == 1 and units[0].color is not None:
        return units[0].color
    return fallback_color(str(trick))


def trick_order(trick: str) -> tuple:
    """Sort key of trick strings: "none" first, then by family in the order figures show the
    registered tricks (trainability.tricks.spec.figure_order); a combination comes right
    after the last of its tricks ("batchnorm", "residual", "batchnorm+residual",
    "clip_norm:1", ...); then alphabetically."""
    names = trick_names(trick)
    if not names:
        return (-1, 0, "")
    order = figure_order()
    last = max(order.index(n) if n in order else len(order) for n in names)
    return (last, len(names), str(trick))
