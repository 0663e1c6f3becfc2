"""Activation functions, by name.

Each entry is an `Activation`: the elementwise function plus what the monitor needs to know
about it. Add one with a single registration, e.g.

    @ACTIVATIONS.register("gelu")
    def _gelu() -> Activation:
        return Activation("gelu", lambda s: torch.nn.functional.gelu(s), label="GELU",
                          family="smooth", color="#8c613c")

(`torch` is imported lazily, so the function names torch's op inside a lambda: building an
activation, which planning does to check and canonicalize specs, must not load torch.)

Saturation is defined the same way for every activation, from its derivative: a unit is
*saturated* on an example when f'(s) < SATURATION_RATIO * max f'. For tanh that is
|tanh(s)| > 0.975, for the sigmoid z < 0.0127 or z > 0.987, for softsign |z| > 0.776,
for ReLU s < 0. *Dead* units (ReLU family only) output zero for every monitored example.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from trainability.lazy import lazy_import
from trainability.registry import Registry, format_value

torch = lazy_import("torch")  # loaded when an activation is first applied, not when planning

#: A unit is saturated where f'(s) is below this fraction of the activation's largest slope.
SATURATION_RATIO = 0.05

#: SELU constants from Klambauer et al. (2017), as printed in the paper (and torch.nn.SELU).
SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


#: Activation families: "sigmoid" (bounded, saturating: sigmoid, tanh, softsign), "relu"
#: (piecewise linear with a zero or leaky half: units can die), "smooth" (ELU, SELU),
#: "maxout", "linear".
FAMILIES = ("sigmoid", "relu", "smooth", "maxout", "linear")


@dataclass(frozen=True, eq=False)
class Activation:
    """An elementwise nonlinearity z = f(s), with what the monitor and the figures use.

    Attributes:
        name: the spec that built it, in its one spelling, e.g. "leaky_relu:0.2".
        fn: maps pre-activations s of any shape to activations z of the same shape.
        label: how figures and the report name it ("Tanh", "Leaky ReLU 0.2").
        family: one of FAMILIES.
        color: its colour where figures compare activations (a hex string; None: figures
            pick a stable one from the name). Figures order activations as registered.
        value_range: the interval the outputs lie in (used for histogram bin edges).
        pieces: linear pieces per unit (maxout): `fn` maps (..., n * pieces) to (..., n);
            1 for elementwise activations.
        learnable_slope: PReLU: the initial value of the learnable negative slope, one per
            member and layer (`fn` uses this initial value); None otherwise.
        random_slopes: RReLU: (lower, upper) of the negative slope drawn per element while
            training (`fn` is the evaluation form, slope (lower + upper) / 2); None otherwise.
        alpha_dropout: self-normalizing activations (SELU): -alpha', the magnitude of the
            value their units saturate to, which dropout keeps the mean and variance with
            (alpha dropout, Klambauer et al. 2017); None: plain dropout.

    Saturation (`saturated`) is derived from f' for every activation alike.
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    label: str
    family: str
    color: str | None = None
    value_range: tuple[float, float] = field(default=(-math.inf, math.inf))
    pieces: int = 1
    learnable_slope: float | None = None
    random_slopes: tuple[float, float] | None = None
    alpha_dropout: float | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"activation family must be one of {FAMILIES}, got {self.family!r}")

    @property
    def relu_family(self) -> bool:
        """True when units can die (output exactly zero, or leak, on a half-line)."""
        return self.family == "relu"

    @property
    def elementwise(self) -> bool:
        """True when f acts on each unit alone with no parameters (the paper's activations)."""
        return self.pieces == 1 and self.learnable_slope is None and self.random_slopes is None

    def __call__(self, s: torch.Tensor) -> torch.Tensor:
        return self.fn(s)

    def derivative(self, s: torch.Tensor) -> torch.Tensor:
        """f'(s), elementwise, by automatic differentiation (same shape as s)."""
        with torch.enable_grad():
            s = s.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.fn(s).sum(), s)
        return grad

    @cached_property
    def max_derivative(self) -> float:
        """The largest slope of f on a fine grid over [-20, 20] (for the saturation rule)."""
        grid = torch.linspace(-20.0, 20.0, 400_001, dtype=torch.float64)
        return float(self.derivative(grid).abs().max())

    def saturated(self, s: torch.Tensor) -> torch.Tensor:
        """Boolean mask, shape of s: True where f'(s) < SATURATION_RATIO * max f'."""
        return self.saturated_slope(self.derivative(s))

    def saturated_slope(self, slope: torch.Tensor) -> torch.Tensor:
        """`saturated` from the slopes f'(s) already computed (any shape): same mask."""
        return slope.abs() < SATURATION_RATIO * self.max_derivative


ACTIVATIONS: Registry[Activation] = Registry("activation")


# Registered in the order figures show them.
@ACTIVATIONS.register("sigmoid")
def _sigmoid() -> Activation:
    return Activation("sigmoid", lambda s: torch.sigmoid(s), "Sigmoid", "sigmoid", "#595959",
                      value_range=(0.0, 1.0))


@ACTIVATIONS.register("tanh")
def _tanh() -> Activation:
    return Activation("tanh", lambda s: torch.tanh(s), "Tanh", "sigmoid", "#d55e00",
                      value_range=(-1.0, 1.0))


@ACTIVATIONS.register("softsign")
def _softsign() -> Activation:
    return Activation("softsign", lambda s: torch.nn.functional.softsign(s), "Softsign",
                      "sigmoid", "#cc78bc", value_range=(-1.0, 1.0))


@ACTIVATIONS.register("relu")
def _relu() -> Activation:
    return Activation("relu", lambda s: torch.relu(s), "ReLU", "relu", "#0173b2",
                      value_range=(0.0, math.inf))


#: Colours of the two leaks the trick studies compare; other leaks get a stable one.
_LEAKY_COLORS = {0.01: "#029e73", 0.2: "#de8f05"}


@ACTIVATIONS.register("leaky_relu")
def _leaky_relu(slope: float = 0.01) -> Activation:
    slope = float(slope)
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"leaky_relu slope must lie in [0, 1), got {slope}")
    return Activation(
        f"leaky_relu:{format_value(slope)}",
        lambda s: torch.nn.functional.leaky_relu(s, negative_slope=slope),
        f"Leaky ReLU {format_value(slope)}", "relu", _LEAKY_COLORS.get(slope),
    )


@ACTIVATIONS.register("prelu")
def _prelu(init: float = 0.25) -> Activation:
    """He et al. (2015): max(0, s) + a min(0, s), a learnable per member and layer (torch's
    nn.PReLU(num_parameters=1, init=0.25)); never weight-decayed, as torch's docs advise."""
    init = float(init)
    default = init == 0.25
    return Activation("prelu" if default else f"prelu:{format_value(init)}",
                      lambda s: torch.where(s >= 0, s, init * s),
                      "PReLU" if default else f"PReLU {format_value(init)}", "relu", "#ca9161",
                      learnable_slope=init)


@ACTIVATIONS.register("rrelu")
def _rrelu(lower: float = 1.0 / 8, upper: float = 1.0 / 3) -> Activation:
    """Xu et al. (2015): negative slope ~ U(lower, upper) per element in training, the mean
    slope at evaluation (torch.nn.RReLU defaults 1/8, 1/3)."""
    lower, upper = float(lower), float(upper)
    if not 0 <= lower <= upper < 1:
        raise ValueError(f"rrelu needs 0 <= lower <= upper < 1, got {lower}, {upper}")
    default = (lower, upper) == (1.0 / 8, 1.0 / 3)
    arguments = f"{format_value(lower)},{format_value(upper)}"
    mean = (lower + upper) / 2
    return Activation("rrelu" if default else f"rrelu:{arguments}",
                      lambda s: torch.where(s >= 0, s, mean * s),
                      "RReLU" if default else f"RReLU {arguments}", "relu", "#ece133",
                      random_slopes=(lower, upper))


@ACTIVATIONS.register("elu")
def _elu(alpha: float = 1.0) -> Activation:
    alpha = float(alpha)
    default = alpha == 1.0
    return Activation(
        "elu" if default else f"elu:{format_value(alpha)}",
        lambda s: torch.nn.functional.elu(s, alpha=alpha),
        "ELU" if default else f"ELU {format_value(alpha)}", "smooth", "#fbafe4",
        value_range=(-alpha, math.inf),
    )


@ACTIVATIONS.register("selu")
def _selu() -> Activation:
    return Activation("selu", lambda s: torch.nn.functional.selu(s), "SELU", "smooth",
                      "#56b4e9", value_range=(-SELU_LAMBDA * SELU_ALPHA, math.inf),
                      alpha_dropout=SELU_LAMBDA * SELU_ALPHA)


@ACTIVATIONS.register("maxout")
def _maxout(pieces: int = 2) -> Activation:
    """Goodfellow et al. (2013): h_i = max_j s_ij over `pieces` linear pieces per unit.

    Not elementwise: the layer below computes n * pieces pre-activations, consecutive groups
    of `pieces` belonging to one unit. Piecewise linear, so it never saturates.
    """
    if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 2:
        raise ValueError(f"maxout needs an integer number of pieces >= 2, got {pieces!r}")
    return Activation(f"maxout:{pieces}", lambda s: s.unflatten(-1, (-1, pieces)).amax(-1),
                      f"Maxout k={pieces}", "maxout", "#949494", pieces=pieces)


@ACTIVATIONS.register("identity")
def _identity() -> Activation:
    return Activation("identity", lambda s: s, "Identity", "linear")


def shared_pieces(specs) -> int:
    """The maxout pieces that the members of one bundle share (1: none are maxout), from their
    activation specs. ValueError when they differ: their hidden weights would have different
    widths, so such members need bundles of their own."""
    pieces = {ACTIVATIONS.build(spec).pieces for spec in specs}
    if len(pieces) > 1:
        raise ValueError("members of one bundle must share the number of maxout pieces; put "
                         "maxout:<k> members in a bundle of their own")
    return pieces.pop()
