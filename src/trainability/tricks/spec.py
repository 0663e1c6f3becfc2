"""Parse a member's trick string into a `TrickSet`, and refuse combinations that make no sense.

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

Adding a trick is one `@TRICKS.register` function that sets fields of the `TrickSet` being
built; `parse_trick` then checks the combination.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from trainability.registry import Registry, format_value, parse_spec

NONE = "none"
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")


@dataclass(frozen=True)
class Pretraining:
    """Greedy layer-wise denoising auto-encoder pretraining (Vincent et al. 2008).

    Attributes:
        updates: minibatch updates per hidden layer.
        noise: probability of zeroing each input component (masking noise).
        lr: SGD learning rate of the auto-encoders.
    """

    updates: int = 1000
    noise: float = 0.25
    lr: float = 0.01


@dataclass(frozen=True)
class TrickSet:
    """Everything a trick string switches on for one member (defaults: the paper's plain SGD).

    Attributes:
        batchnorm: None, "before" or "after" the activation.
        residual: identity skips h^l = f(.) + h^{l-1} for hidden layers 2..depth.
        clip_norm / clip_value: inf = no clipping.
        dropout: drop probability of hidden units (0 = none).
        l1 / l2: penalty weights (l2 applied as weight decay, as torch.optim does).
        optimizer: one of OPTIMIZERS; momentum: its coefficient for "momentum".
        early_stopping: restore the best-validation weights at the end; patience in
            evaluations (None: never stop early, only restore).
        pretraining: None or the DAE pretraining settings.
    """

    batchnorm: str | None = None
    residual: bool = False
    clip_norm: float = math.inf
    clip_value: float = math.inf
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    optimizer: str = "sgd"
    momentum: float = 0.0
    early_stopping: bool = False
    patience: int | None = None
    pretraining: Pretraining | None = None
    names: tuple[str, ...] = field(default=())

    @property
    def is_plain(self) -> bool:
        """True when the member is the paper's network trained by plain SGD."""
        return self == TrickSet()

    @property
    def changes_forward(self) -> bool:
        """True when the network function itself differs from the plain MLP."""
        return self.batchnorm is not None or self.residual or self.dropout > 0


Setter = Callable[..., dict]
TRICKS: Registry[Setter] = Registry("trick")


def _positive(name: str, value: float, upper: float = math.inf) -> float:
    value = float(value)
    if not 0 < value < upper:
        bound = f" and < {upper:g}" if upper < math.inf else ""
        raise ValueError(f"{name} needs a number > 0{bound}, got {value!r}")
    return value


@TRICKS.register("batchnorm")
def _batchnorm(where: str = "before") -> dict:
    if where not in ("before", "after"):
        raise ValueError(f"batchnorm takes 'before' or 'after' (the activation), got {where!r}")
    return {"batchnorm": where}


@TRICKS.register("residual")
def _residual() -> dict:
    return {"residual": True}


@TRICKS.register("clip_norm")
def _clip_norm(max_norm: float) -> dict:
    return {"clip_norm": _positive("clip_norm", max_norm)}


@TRICKS.register("clip_value")
def _clip_value(clip: float) -> dict:
    return {"clip_value": _positive("clip_value", clip)}


@TRICKS.register("dropout")
def _dropout(p: float = 0.5) -> dict:
    return {"dropout": _positive("dropout", p, 1.0)}


@TRICKS.register("l2")
def _l2(weight: float) -> dict:
    return {"l2": _positive("l2", weight)}


@TRICKS.register("l1")
def _l1(weight: float) -> dict:
    return {"l1": _positive("l1", weight)}


@TRICKS.register("momentum")
def _momentum(mu: float = 0.9) -> dict:
    return {"optimizer": "momentum", "momentum": _positive("momentum", mu, 1.0)}


@TRICKS.register("adagrad")
def _adagrad() -> dict:
    return {"optimizer": "adagrad"}


@TRICKS.register("rmsprop")
def _rmsprop() -> dict:
    return {"optimizer": "rmsprop"}


@TRICKS.register("adam")
def _adam() -> dict:
    return {"optimizer": "adam"}


@TRICKS.register("early_stopping")
def _early_stopping(patience: int | None = None) -> dict:
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int)
                                 or patience < 1):
        raise ValueError(f"early_stopping patience must be an integer >= 1, got {patience!r}")
    return {"early_stopping": True, "patience": patience}


@TRICKS.register("pretrain_dae")
def _pretrain_dae(updates: int = 1000, noise: float = 0.25, lr: float = 0.01) -> dict:
    if isinstance(updates, bool) or not isinstance(updates, int) or updates < 1:
        raise ValueError(f"pretrain_dae updates must be an integer >= 1, got {updates!r}")
    if not 0 <= float(noise) < 1:
        raise ValueError(f"pretrain_dae noise must lie in [0, 1), got {noise!r}")
    return {"pretraining": Pretraining(updates, float(noise), _positive("pretrain_dae lr", lr))}


#: Groups of fields that one trick string may set only once.
_EXCLUSIVE = {
    "optimizer": "choose one optimizer among momentum, adagrad, rmsprop, adam",
    "batchnorm": "batchnorm appears twice",
}


def parse_trick(text: str) -> TrickSet:
    """Parse a trick string ("none" or 'a+b:1+...') into a checked `TrickSet`.

    Raises ValueError with one line saying what to change.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a trick is 'none' or specs joined by '+', got {text!r}")
    if text.strip() == NONE:
        return TrickSet()
    values: dict = {}
    names: list[str] = []
    for part in text.split("+"):
        spec = parse_spec(part)
        if spec.name in names:
            raise ValueError(f"trick {spec.name!r} appears twice in {text!r}")
        if spec.name == NONE:
            raise ValueError(f"'none' cannot be combined with other tricks in {text!r}")
        fields = TRICKS.build(spec)
        for key, message in _EXCLUSIVE.items():
            if key in fields and key in values:
                raise ValueError(f"in {text!r}: {message}")
        values |= fields
        names.append(spec.name)
    tricks = replace(TrickSet(), **values, names=tuple(names))
    _check_combination(tricks, text)
    return tricks


def _check_combination(tricks: TrickSet, text: str) -> None:
    if tricks.clip_norm < math.inf and tricks.clip_value < math.inf:
        raise ValueError(f"in {text!r}: use clip_norm or clip_value, not both")
    if tricks.pretraining is not None and (tricks.batchnorm or tricks.residual):
        raise ValueError(f"in {text!r}: pretrain_dae pretrains a plain MLP layer by layer; "
                         "drop batchnorm/residual or the pretraining")
    if tricks.patience is not None and not tricks.early_stopping:  # pragma: no cover
        raise ValueError(f"in {text!r}: patience needs early_stopping")


def canonical(text: str) -> str:
    """The one spelling of a trick string, so that equivalent strings are one network.

    Parts follow the order in which the tricks are registered above ("adam+clip_norm:1" ->
    "clip_norm:1+adam"); numbers are always spelled out, in one format ("clip_norm:1.0" ->
    "clip_norm:1", "momentum" -> "momentum:0.9"), so that a label says its rate or
    probability; other arguments only where they differ from the default ("batchnorm:before"
    -> "batchnorm"); one argument is written positionally, several as key=value. Raises
    ValueError, like parse_trick, for a string that is not a valid trick.
    """
    parse_trick(text)
    if text.strip() == NONE:
        return NONE
    order = TRICKS.registered()
    parts = sorted((parse_spec(part) for part in text.split("+")),
                   key=lambda spec: order.index(spec.name))
    return "+".join(_spelling(spec) for spec in parts)


def _spelling(spec) -> str:
    """One trick spec's canonical spelling (see `canonical`)."""
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
