"""Activation functions, by name.

Each entry is an `Activation`: the elementwise function plus what the monitor needs to know
about it. Add one with a single registration, e.g.

    @ACTIVATIONS.register("gelu")
    def _gelu() -> Activation:
        return Activation("gelu", F.gelu)

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

import torch
import torch.nn.functional as F

from trainability.registry import Registry

#: A unit is saturated where f'(s) is below this fraction of the activation's largest slope.
SATURATION_RATIO = 0.05

#: SELU constants from Klambauer et al. (2017), as printed in the paper (and torch.nn.SELU).
SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


@dataclass(frozen=True, eq=False)
class Activation:
    """An elementwise nonlinearity z = f(s) with the metadata the monitor uses.

    Attributes:
        name: the spec that built it, e.g. "leaky_relu:0.2".
        fn: maps pre-activations s of any shape to activations z of the same shape.
        relu_family: True when units can die (output exactly zero on a half-line).
        value_range: the interval the outputs lie in (used for histogram bin edges).
    """

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    relu_family: bool = False
    value_range: tuple[float, float] = field(default=(-math.inf, math.inf))

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
        return self.derivative(s).abs() < SATURATION_RATIO * self.max_derivative


ACTIVATIONS: Registry[Activation] = Registry("activation")


@ACTIVATIONS.register("identity")
def _identity() -> Activation:
    return Activation("identity", lambda s: s)


@ACTIVATIONS.register("sigmoid")
def _sigmoid() -> Activation:
    return Activation("sigmoid", torch.sigmoid, value_range=(0.0, 1.0))


@ACTIVATIONS.register("tanh")
def _tanh() -> Activation:
    return Activation("tanh", torch.tanh, value_range=(-1.0, 1.0))


@ACTIVATIONS.register("softsign")
def _softsign() -> Activation:
    return Activation("softsign", F.softsign, value_range=(-1.0, 1.0))


@ACTIVATIONS.register("relu")
def _relu() -> Activation:
    return Activation("relu", torch.relu, relu_family=True, value_range=(0.0, math.inf))


@ACTIVATIONS.register("leaky_relu")
def _leaky_relu(slope: float = 0.01) -> Activation:
    slope = float(slope)
    if not 0.0 <= slope < 1.0:
        raise ValueError(f"leaky_relu slope must lie in [0, 1), got {slope}")
    return Activation(
        f"leaky_relu:{slope!r}",
        lambda s: F.leaky_relu(s, negative_slope=slope),
        relu_family=True,
    )


@ACTIVATIONS.register("elu")
def _elu(alpha: float = 1.0) -> Activation:
    alpha = float(alpha)
    return Activation(
        "elu" if alpha == 1.0 else f"elu:{alpha!r}",
        lambda s: F.elu(s, alpha=alpha),
        value_range=(-alpha, math.inf),
    )


@ACTIVATIONS.register("selu")
def _selu() -> Activation:
    return Activation("selu", F.selu, value_range=(-SELU_LAMBDA * SELU_ALPHA, math.inf))
