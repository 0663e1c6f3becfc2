"""Parse a member's trick string into a `TrickSet`, spell it one way, check combinations.

A trick string is "none" or '+'-joined specs, each `name[:args]` (the registry spec syntax):

    batchnorm | batchnorm:after       batch norm before (default) or after the activation
    residual[:block=<m>,scale=<s>]    identity skips around branches of m hidden layers (1: each
                                      layer; m >= 2: blocks ending with a linear layer), each
                                      branch times s (a number, or invsqrt: 1/sqrt(#branches))
    clip_norm:<c> | clip_value:<c>    per-member gradient clipping (torch.nn.utils semantics)
    dropout:<p>                       inverted dropout on hidden units (alpha dropout for SELU)
    l2:<lambda> | l1:<lambda>         penalties lambda/2 ||W||^2 (as weight decay), lambda ||W||_1
    momentum:<mu> | adagrad | rmsprop | adam
                                      the optimizer (default plain SGD); torch.optim defaults
    early_stopping[:patience=<n>]     keep the weights of the best validation error, restore them
                                      at the end; stop updating after n evaluations without gain
    pretrain_dae[:updates=<n>,noise=<p>,lr=<r>]
                                      greedy layer-wise denoising auto-encoder pretraining first
    fixup                             Fixup init and scalars on residual:block=<m>, m >= 2
    rezero                            a learned gate alpha (0 at init) on each residual branch

Each trick is one unit in trainability/tricks/units/ (see trainability.tricks.base for what a
unit holds); this module knows none of them by its rules, only through the registry. Nothing
here loads torch, so planning parses, spells and checks trick strings without it.
"""

from __future__ import annotations

import dataclasses
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
    "adam+clip_norm:1" -> "clip_norm:1+adam"); each part is spelled from its unit's
    arguments as the unit normalized them ("residual:block=1" -> "residual"); numbers are
    always spelled out, in one format ("clip_norm:1.0" -> "clip_norm:1", "momentum" ->
    "momentum:0.9"), so that a label says its rate or probability; other arguments only
    where they differ from the default ("batchnorm:before" -> "batchnorm"); the argument of a
    unit that takes one is written positionally, those of a unit that takes several as
    key=value ("residual:block=2"). Raises ValueError, like parse_trick, for a string that
    is not a valid trick.
    """
    tricks = parse_trick(text)
    if tricks.is_plain:
        return NONE
    return "+".join(_spelling(unit) for unit in tricks.units)


def _spelling(unit: Trick) -> str:
    """One parsed unit's canonical spelling (see `canonical`): its dataclass fields are the
    argument names, defaults and (normalized) values."""
    fields = dataclasses.fields(unit) if dataclasses.is_dataclass(unit) else ()
    shown = {}
    for field in fields:
        value = getattr(unit, field.name)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and (number or value != field.default):
            shown[field.name] = value
    if not shown:
        return unit.name
    if len(fields) == 1:
        return f"{unit.name}:{format_value(next(iter(shown.values())))}"
    return f"{unit.name}:" + ",".join(f"{k}={format_value(v)}" for k, v in shown.items())
