"""Parse a member's trick string into a `TrickSet`, spell it one way, check combinations.

A trick string is "none" or '+'-joined specs, each `name[:args]` (the registry spec syntax):

    batchnorm | batchnorm:after       batch norm before (default) or after the activation
    residual                          identity skips between equal-width hidden layers
    clip_norm:<c> | clip_value:<c>    per-member gradient clipping (torch.nn.utils semantics)
    dropout:<p>                       inverted dropout on hidden units (alpha dropout for SELU)
    l2:<lambda> | l1:<lambda>         penalties lambda/2 ||W||^2 (as weight decay), lambda ||W||_1
    momentum:<mu> | adagrad | rmsprop | adam
                                      the optimizer (default plain SGD); torch.optim defaults
    early_stopping[:patience=<n>]     keep the weights of the best validation error, restore them
                                      at the end; stop updating after n evaluations without gain
    pretrain_dae[:updates=<n>,noise=<p>,lr=<r>]
                                      greedy layer-wise denoising auto-encoder pretraining first

Each trick is one unit in trainability/tricks/units/ (see trainability.tricks.base for what a
unit holds); this module knows none of them by its rules, only through the registry. Nothing
here loads torch, so planning parses, spells and checks trick strings without it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import reduce

import trainability.tricks.units  # noqa: F401  (registers every trick, in order)
from trainability.registry import format_value, parse_spec
from trainability.tricks.base import FAMILIES, TRICKS, OptimizerChoice, Trick, optimizer_kinds

NONE = "none"
#: Plain SGD first, then the optimizers of the registered tricks, in registration order.
OPTIMIZERS = optimizer_kinds()
#: The colour figures give "none" (plain SGD) where they compare tricks.
NONE_COLOR = "#000000"


@dataclass(frozen=True)
class TrickSet:
    """Everything a trick string switches on for one member ("none": no units).

    Attributes:
        units: one parsed `Trick` per part, in registration order.
    """

    units: tuple[Trick, ...] = ()

    def __contains__(self, name: str) -> bool:
        return any(u.name == name for u in self.units)

    def get(self, name: str) -> Trick | None:
        """The member's unit of trick `name`, or None."""
        return next((u for u in self.units if u.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.units)

    @property
    def is_plain(self) -> bool:
        """True when the member is the paper's network trained by plain SGD."""
        return not self.units

    @property
    def optimizer_choice(self) -> OptimizerChoice:
        """The member's optimizer rule and weight decay, every unit's choice applied."""
        return reduce(lambda choice, unit: unit.configure_optimizer(choice), self.units,
                      OptimizerChoice())

    @property
    def optimizer(self) -> str:
        """The member's optimizer rule: one of OPTIMIZERS."""
        return self.optimizer_choice.kind

    @property
    def fused_update(self) -> bool:
        """True when every unit lets the weights be updated without storing their gradient
        (Trick.fused_update): plain SGD, updated in place by rank-B products."""
        return all(u.fused_update for u in self.units)

    @property
    def plain_jacobian(self) -> bool:
        """True when every unit keeps the layer Jacobian diag(f'(s)) W^T."""
        return all(u.plain_jacobian for u in self.units)

    # Shortcuts for planning and the run loop, by the tricks' registered names.
    @property
    def early_stopping(self) -> bool:
        return "early_stopping" in self

    @property
    def pretraining(self) -> Trick | None:
        """The pretrain_dae unit (its .updates, .noise, .lr), or None."""
        return self.get("pretrain_dae")

    def check(self, depth: int | None = None, activation=None) -> None:
        """Every unit's combination rules (trainability.tricks.base.Trick.check); raises
        ValueError (one line). Without depth and activation, only the rules among tricks."""
        for unit in self.units:
            unit.check(self, depth, activation)


def parse_trick(text: str) -> TrickSet:
    """Parse a trick string ("none" or 'a+b:1+...') into a checked `TrickSet`.

    Raises ValueError with one line saying what to change.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a trick is 'none' or specs joined by '+', got {text!r}")
    if text.strip() == NONE:
        return TrickSet()
    units: list[Trick] = []
    for part in text.split("+"):
        spec = parse_spec(part)
        if spec.name in (u.name for u in units):
            raise ValueError(f"trick {spec.name!r} appears twice in {text!r}")
        if spec.name == NONE:
            raise ValueError(f"'none' cannot be combined with other tricks in {text!r}")
        units.append(TRICKS.build(spec))
    order = TRICKS.registered()
    tricks = TrickSet(tuple(sorted(units, key=lambda u: order.index(u.name))))
    try:
        tricks.check()
    except ValueError as error:
        raise ValueError(f"in {text!r}: {error}") from None
    return tricks


def figure_order() -> list[str]:
    """Registered trick names in the order figures show them: by family (base.FAMILIES),
    then in registration order."""
    names = TRICKS.registered()
    return sorted(names, key=lambda n: (FAMILIES.index(TRICKS.factory(n).family),
                                        names.index(n)))


def check_bundle(member_tricks: list[TrickSet], activations: list, depth: int) -> None:
    """Every registered trick's rules for one bundle (Trick.check_bundle), for the tricks
    some member uses; raises ValueError (one line)."""
    for name in TRICKS.registered():
        members = [t.get(name) for t in member_tricks]
        if any(m is not None for m in members):
            TRICKS.factory(name).check_bundle(members, activations, depth)


def canonical(text: str) -> str:
    """The one spelling of a trick string, so that equivalent strings are one network.

    Parts follow the order in which the tricks are registered (trainability.tricks.units:
    "adam+clip_norm:1" -> "clip_norm:1+adam"); numbers are always spelled out, in one format
    ("clip_norm:1.0" -> "clip_norm:1", "momentum" -> "momentum:0.9"), so that a label says
    its rate or probability; other arguments only where they differ from the default
    ("batchnorm:before" -> "batchnorm"); one argument is written positionally, several as
    key=value. Raises ValueError, like parse_trick, for a string that is not a valid trick.
    """
    parse_trick(text)
    if text.strip() == NONE:
        return NONE
    order = TRICKS.registered()
    parts = sorted((parse_spec(part) for part in text.split("+")),
                   key=lambda spec: order.index(spec.name))
    return "+".join(_spelling(spec) for spec in parts)


def _spelling(spec) -> str:
    """One trick spec's canonical spelling (see `canonical`): its unit's signature says
    the argument names and defaults."""
    signature = inspect.signature(TRICKS.factory(spec.name))
    bound = signature.bind(*spec.args, **dict(spec.kwargs))
    bound.apply_defaults()
    shown = {}
    for name, value in bound.arguments.items():
        default = signature.parameters[name].default
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and (number or value != default):
            shown[name] = value
    if not shown:
        return spec.name
    if len(shown) == 1:
        return f"{spec.name}:{format_value(next(iter(shown.values())))}"
    return f"{spec.name}:" + ",".join(f"{k}={format_value(v)}" for k, v in shown.items())
