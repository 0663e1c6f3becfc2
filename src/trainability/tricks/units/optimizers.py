"""momentum[:<mu>] | adagrad | rmsprop | adam: the member's optimizer (default plain SGD).

Each selects one of torch.optim's rules with torch's defaults (trainability.tricks.optim runs
them, per member, on the bundle's flat buffers); "momentum" is SGD with momentum 0.9 unless
given. A member uses one optimizer. They act only through `configure_optimizer`: no hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from trainability.tricks.base import (
    OptimizerChoice,
    Trick,
    optimizer_kinds,
    positive,
    register,
)


class Optimizer(Trick):
    """An optimizer rule; a member uses at most one."""

    family = "optimizer"

    def check(self, tricks, depth=None, activation=None) -> None:
        if sum(u.optimizer_kind is not None for u in tricks.units) > 1:
            choices = ", ".join(optimizer_kinds()[1:])
            raise ValueError(f"choose one optimizer among {choices}")

    def configure_optimizer(self, choice: OptimizerChoice) -> OptimizerChoice:
        return replace(choice, kind=self.optimizer_kind)


@register
@dataclass(frozen=True)
class Momentum(Optimizer):
    """torch.optim.SGD(momentum=mu), dampening 0, not Nesterov. Attributes: mu."""

    name = "momentum"
    label = "Momentum"
    color = "#ca9161"
    optimizer_kind = "momentum"
    mu: float = 0.9

    def __post_init__(self) -> None:
        self._set(mu=positive("momentum", self.mu, 1.0))

    def configure_optimizer(self, choice: OptimizerChoice) -> OptimizerChoice:
        return replace(choice, kind=self.optimizer_kind, hyper=(("momentum", self.mu),))


@register
@dataclass(frozen=True)
class Adagrad(Optimizer):
    """torch.optim.Adagrad's defaults."""

    name = "adagrad"
    label = "Adagrad"
    color = "#fbafe4"
    optimizer_kind = "adagrad"


@register
@dataclass(frozen=True)
class RMSprop(Optimizer):
    """torch.optim.RMSprop's defaults."""

    name = "rmsprop"
    label = "RMSprop"
    color = "#949494"
    optimizer_kind = "rmsprop"


@register
@dataclass(frozen=True)
class Adam(Optimizer):
    """torch.optim.Adam's defaults."""

    name = "adam"
    label = "Adam"
    color = "#ece133"
    optimizer_kind = "adam"
