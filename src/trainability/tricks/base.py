"""What a trick is: one `Trick` class, registered once, that owns everything about it.

A trick has two halves, both defined in its unit file (trainability/tricks/units/):

- the *spec*, a frozen dataclass `Trick` subclass whose fields are the spec's arguments
  ("dropout:0.2" -> Dropout(p=0.2)); `__post_init__` checks them, `check` states the
  combination rules that involve one member (its other tricks, depth and activation),
  `check_bundle` those that involve the whole bundle; class attributes give its name, label,
  colour and what it means to the rest of the suite (`changes_function`, `plain_jacobian`,
  `optimizer_kind`, `results`). This half imports no torch: planning parses, spells and
  checks trick strings with it (trainability.lazy, tests/test_startup.py).
- the *hooks*, a `TrickHooks` subclass built once per bundle by `Trick.hooks(net, members)`
  from the members' specs (None for members without the trick). It declares the trick's
  parameters and buffers and implements the hooks it needs: the weight as the forward pass
  uses it, what a layer's linear map reads, transforms before and after the activation,
  which layers apply none, the scale of residual branches, penalty gradients, clipping, what
  happens after an update, which members may update, what an evaluation tells it, what it
  does at the end, a phase before training, its checkpoint state.

Per-member behaviour is masked, never branched on: a hook acts on all K members at once and
selects its members with (K, 1, 1) columns (`TrickHooks.column`) or contiguous member runs
(`member_runs`), so members with different tricks train together in one bundle. Hooks keep
shapes fixed and never read tensor values on the host (no .item(), no Python branch on a
value): whether a hook acts at all is decided once, when the bundle is built, so a whole
step can later be fused or captured as a CUDA graph.

Order: hooks of one kind run in registration order (trainability.tricks.units.UNITS), which is
also the order of parts in a canonical trick string. Where order matters it is the natural
one: after the activation batch norm, then the skip, then dropout; penalty gradients before
any clipping (separate hooks). Figures order tricks by `family` (FAMILIES) first.

Why classes with a dataclass spec rather than functions setting fields of one record: the
record had to grow a field per trick, the network and the step had to branch on each, and
rules were checked far from the trick they belong to (some twice). Here adding a trick is one
new unit file, named in units.UNITS (or a plugin module: trainability.plugins).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from trainability.lazy import lazy_import
from trainability.registry import Registry

torch = lazy_import("torch")  # only hooks use torch; specs are parsed without it

if TYPE_CHECKING:
    from trainability.nets.activations import Activation
    from trainability.tricks.net import TrickMLP
    from trainability.tricks.spec import TrickSet


#: Trick families, in the order figures show them: architecture (batch norm, skips),
#: gradient clipping, optimizer rules, regularization (dropout, penalties, early stopping),
#: pretraining.
FAMILIES = ("architecture", "clipping", "optimizer", "regularization", "pretraining")


@dataclass(frozen=True)
class OptimizerChoice:
    """How one member's parameters are updated (see trainability.tricks.optim).

    Attributes:
        kind: torch.optim's rule: "sgd", "momentum", "adagrad", "rmsprop" or "adam".
        hyper: the rule's hyper-parameters that differ from torch's defaults, as pairs.
        weight_decay: coupled L2 weight decay on the weight matrices (0: none).
    """

    kind: str = "sgd"
    hyper: tuple[tuple[str, float], ...] = ()
    weight_decay: float = 0.0


class Trick:
    """One trick of one member, parsed from its spec (subclasses are frozen dataclasses).

    Class attributes:
        name: the spec name ("batchnorm"); registration order is the order of parts in a
            canonical trick string (trainability.tricks.units.UNITS).
        label: how figures and the report name it; color: a hex string or None (figures
            pick one). An instance may refine both for its arguments (batchnorm:after).
        family: one of FAMILIES; figures show tricks by family, then in registration order.
        changes_function: the network function differs from the plain MLP's (batch norm,
            skips), not only its training.
        plain_jacobian: the layer Jacobian stays diag(f'(s)) W^T (the monitor's singular
            values are meaningful).
        optimizer_kind: the optimizer rule the trick selects, or None.
        results: per-member result fields the trick adds to run.json (None where unused).
        fused_update: the trick leaves the member's weight update a plain SGD step on the
            loss's gradient (possibly scaled per member by a `clip_fused` hook), so the
            weights can be updated in place by rank-B products without ever storing their
            gradient (trainability.tricks.fused). False (the default, safe for a new trick)
            when the update needs the stored gradient: an optimizer rule other than SGD, a
            penalty, clipping by value, a transformed weight.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    family: ClassVar[str]
    color: ClassVar[str | None] = None
    changes_function: ClassVar[bool] = False
    plain_jacobian: ClassVar[bool] = True
    optimizer_kind: ClassVar[str | None] = None
    results: ClassVar[tuple[str, ...]] = ()
    fused_update: ClassVar[bool] = False

    def check(self, tricks: TrickSet, depth: int | None = None,
              activation: Activation | None = None) -> None:
        """Raise ValueError (one line) if this trick cannot go with the member's other
        tricks, depth or activation. Depth and activation are None while a trick string is
        parsed on its own; rules that need them wait for the config."""

    @classmethod
    def check_bundle(cls, members: list[Trick | None], activations: list[Activation],
                     depth: int) -> None:
        """Raise ValueError (one line) if the bundle's members cannot use this trick together.

        Args:
            members: per member, its instance of this trick or None.
            activations: per member, its activation.
        """

    def configure_optimizer(self, choice: OptimizerChoice) -> OptimizerChoice:
        """The member's optimizer with this trick applied (default: unchanged)."""
        return choice

    @classmethod
    def hooks(cls, net: TrickMLP, members: list[Trick | None]) -> TrickHooks | None:
        """This trick's hooks in the bundle `net`, or None when it acts only through its
        spec (an optimizer choice). Called while `net` is built: its weights and biases
        exist, its flat buffers do not yet."""
        return None

    def _set(self, **values: Any) -> None:
        """Store normalized arguments in __post_init__ (the dataclass is frozen)."""
        for key, value in values.items():
            object.__setattr__(self, key, value)


TRICKS: Registry[Trick] = Registry("trick")


def register(cls: type[Trick]) -> type[Trick]:
    """Class decorator: add a trick under its `name` (after the ones registered before)."""
    if cls.family not in FAMILIES:
        raise ValueError(f"trick family must be one of {FAMILIES}, got {cls.family!r}")
    TRICKS.register(cls.name)(cls)
    return cls


def optimizer_kinds() -> tuple[str, ...]:
    """The optimizer rules a member may use: plain SGD, then those of registered tricks."""
    kinds = (TRICKS.factory(name).optimizer_kind for name in TRICKS.registered())
    return (OptimizerChoice().kind, *(kind for kind in kinds if kind is not None))


def positive(name: str, value: float, upper: float = math.inf) -> float:
    """`value` as a float in (0, upper), or ValueError naming `name`."""
    value = float(value)
    if not 0 < value < upper:
        bound = f" and < {upper:g}" if upper < math.inf else ""
        raise ValueError(f"{name} needs a number > 0{bound}, got {value!r}")
    return value


def whole(name: str, value: Any, minimum: int = 1) -> int:
    """`value` as an int >= minimum (not a bool), or ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class TrickHooks:
    """What one trick does inside one bundle of K members (see the module docstring).

    Every hook has a default that does nothing, and the bundle calls only the hooks a
    subclass overrides (trainability.tricks.hooks.BundleTricks), in registration order.

    Attributes:
        net: the bundle's network (trainability.tricks.net.TrickMLP).
        members: per member, its instance of the trick or None.
        mask: (K, 1, 1) bool, the members that use the trick.
        params: trainable tensors by role, each a list (one per layer, say) of (K, ...)
            tensors; the network moves them into its flat buffer of non-weight parameters
            (never weight-decayed or L1-penalized) and puts views back in these lists.
        buffers: (K, ...) tensors saved with the network and restored by early stopping.
    """

    def __init__(self, net: TrickMLP, members: list[Trick | None]):
        self.net = net
        self.members = members
        self.mask = self.column(lambda _: 1.0).bool()
        self.params: dict[str, list[torch.Tensor]] = {}
        self.buffers: list[torch.Tensor] = []

    @property
    def name(self) -> str:
        return next(m for m in self.members if m is not None).name

    def per_member(self, value: Callable[[Trick], float], absent: float = 0.0) -> torch.Tensor:
        """(K,) in the default dtype (the flat buffers'): value(trick) for members with the
        trick, `absent` for the others."""
        return torch.tensor(self.per_member_values(value, absent),
                            device=self.net.weights[0].device)

    def per_member_values(self, value: Callable[[Trick], float], absent: float = 0.0
                          ) -> list[float]:
        """`per_member` as K host floats (no device read needed to use them)."""
        return [absent if m is None else float(value(m)) for m in self.members]

    def column(self, value: Callable[[Trick], float], absent: float = 0.0) -> torch.Tensor:
        """(K, 1, 1) `per_member`, to broadcast over (K, B, n) activations."""
        return self.per_member(value, absent).view(-1, 1, 1)

    def runs(self) -> list[slice]:
        """Contiguous runs of members with the trick (members are ordered so runs are few)."""
        return member_runs([m is not None for m in self.members])

    # ---- forward (mode: "train", "eval" or "monitor"; see trainability.tricks.net) ----------
    def weight(self, layer: int, w: torch.Tensor) -> torch.Tensor:
        """W^layer (K, n_in, n_out) as the forward pass uses it (layers 0..depth)."""
        return w

    def layer_input(self, layer: int, h: torch.Tensor) -> torch.Tensor:
        """What hidden layer `layer`'s linear map reads, from h (K, B, n_in), the previous
        layer's output (layers 0..depth-1; the classifier reads the last hidden layer's
        output, so a trick changes it in `post_activation`). The weights' gradient is taken
        with what this returns (z^T g), so any differentiable function of h and the trick's
        parameters keeps the update exact; skips and the monitor's activations still see h."""
        return h

    def pre_activation(self, layer: int, s: torch.Tensor, mode: str) -> torch.Tensor:
        """Transform the activation's input s (K, B, n * pieces) of hidden layer `layer`."""
        return s

    def no_activation(self, layer: int) -> torch.Tensor | None:
        """(K, 1, 1) bool: members whose hidden layer `layer` applies no activation (u = s:
        the last layer of a residual branch that ends with a linear map), or None for none.
        Fixed when the bundle is built; needs an elementwise activation (u and s of one
        width)."""
        return None

    def post_activation(self, layer: int, u: torch.Tensor, h: torch.Tensor,
                        mode: str) -> torch.Tensor:
        """Transform hidden layer `layer`'s output u (K, B, n); h (K, B, n_in) is its input."""
        return u

    def branch_scale(self, layer: int) -> torch.Tensor | None:
        """(K, 1, 1): the factor of the residual branch that ends at hidden layer `layer`
        (1 for members the trick does not scale), or None when it scales none there. Read by
        the residual unit, which adds the scaled branch to the skip (x + factor * F(x))."""
        return None

    # ---- the update (trainability.tricks.step) ---------------------------------------------
    def penalize(self, grads: list[torch.Tensor], params: list[torch.Tensor]) -> None:
        """Add penalty gradients in place, before clipping: grads and params are the flat
        [(K, P_weights), (K, P_others)] buffers (params detached)."""

    def clip(self, grads: list[torch.Tensor]) -> None:
        """Clip the flat gradients [(K, P_weights), (K, P_others)] in place, after penalties.
        Only the rows of members with stored gradients (`TrickMLP.stored_runs`) are meaningful
        in the weights' buffer; the others are updated without it (see `clip_fused`)."""

    def clip_fused(self, sq_norms: torch.Tensor) -> torch.Tensor | None:
        """Clipping for members whose weights are updated without a stored gradient
        (`TrickMLP.fused`): (K,) factors by which each of those members' whole gradient is
        scaled, given sq_norms (K,), the squared 2-norm of each member's whole gradient (its
        weights' part from Gram matrices: trainability.tricks.fused). 1 for other members."""
        return None

    def after_step(self, updated: torch.Tensor) -> None:
        """After the optimizer: updated (K,) bool, members whose update was applied."""

    # ---- the run (trainability.train.trainer) ----------------------------------------------
    def attach(self) -> None:
        """Called once the network's parameters live in its flat buffers."""

    def updating(self) -> torch.Tensor | None:
        """(K,) bool: members this trick lets update at the next step (None: all)."""
        return None

    def observe(self, valid_error: torch.Tensor, update: int) -> None:
        """An evaluation: valid_error (K,), NaN for diverged members, after `update` updates."""

    def finish(self) -> bool:
        """At the end of training; True when it may have changed the weights (the final
        evaluation is then repeated)."""
        return False

    def pretrain(self, next_batch: Callable, probe_x: torch.Tensor, seed: int) -> list[dict]:
        """A phase before training: returns rows for run.json's "pretraining" list.

        Args:
            next_batch: returns the next training minibatch (x (B, D), y (B,)).
            probe_x: (M, D) fixed examples to measure on.
            seed: seed of the phase's own RNG.
        """
        return []

    def member_results(self) -> dict[str, list]:
        """Per-member values of the fields named in the trick's `results`."""
        return {}

    def state(self) -> dict | None:
        """Checkpoint state besides parameters and buffers (None: nothing)."""
        return None

    def load_state(self, state: dict) -> None:
        """Restore `state()`'s output."""


def equal_runs(values: Sequence) -> list[slice]:
    """Maximal runs of consecutive equal values, as slices covering all of them."""
    changes = [i for i in range(1, len(values)) if values[i] != values[i - 1]]
    edges = [0, *changes, len(values)] if len(values) else []
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def member_runs(flags: list[bool]) -> list[slice]:
    """Maximal runs of consecutive True flags, as slices."""
    return [run for run in equal_runs(flags) if flags[run.start]]


def rows(x: torch.Tensor, ndim: int) -> torch.Tensor:
    """View a per-member (G,) tensor as (G, 1, ..., 1) with `ndim` dims, for broadcasting."""
    return x.reshape(x.shape[0], *([1] * (ndim - 1)))
