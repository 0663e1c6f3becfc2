"""The tricks of one bundle: every used trick's hooks, called in registration order.

`BundleTricks` is what the network (trainability.tricks.net), the update
(trainability.tricks.step) and the run loop (trainability.train.trainer) see of the tricks:
they call its methods at fixed points of a forward pass, an update and a run, and it passes
each call on to the hooks that implement it (trainability.tricks.base.TrickHooks). Which
hooks those are is settled when the bundle is built, so a call costs one Python loop over a
fixed list and never depends on tensor values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from trainability.lazy import lazy_import
from trainability.tricks.base import TRICKS, TrickHooks

torch = lazy_import("torch")

if TYPE_CHECKING:
    from trainability.tricks.net import TrickMLP
    from trainability.tricks.spec import TrickSet


class BundleTricks:
    """The hooks of every trick that some member of a bundle of K uses.

    Attributes:
        n_members: K.
        hooks: one TrickHooks per used trick, in registration order.
    """

    def __init__(self, n_members: int, hooks: list[TrickHooks]):
        self.n_members = n_members
        self.hooks = hooks

        def having(method: str) -> list[TrickHooks]:
            return [h for h in hooks if getattr(type(h), method) is not getattr(TrickHooks, method)]

        self._weight = having("weight")
        self._pre = having("pre_activation")
        self._post = having("post_activation")
        self._penalize = having("penalize")
        self._clip = having("clip")
        self._clip_fused = having("clip_fused")
        self._after_step = having("after_step")
        self._updating = having("updating")
        self._stateful = having("state")

    @classmethod
    def build(cls, net: TrickMLP, member_tricks: list[TrickSet]) -> BundleTricks:
        """Each used trick's hooks for `net` (called while the network is built)."""
        hooks = []
        for name in TRICKS.registered():
            members = [t.get(name) for t in member_tricks]
            if any(m is not None for m in members):
                unit_hooks = TRICKS.factory(name).hooks(net, members)
                if unit_hooks is not None:
                    hooks.append(unit_hooks)
        return cls(len(member_tricks), hooks)

    def __getitem__(self, name: str) -> TrickHooks:
        """The hooks of trick `name` (KeyError when no member uses it)."""
        for hooks in self.hooks:
            if hooks.name == name:
                return hooks
        raise KeyError(name)

    # ---- parameters -------------------------------------------------------------------------
    def parameters(self) -> list[torch.Tensor]:
        """Every trick's trainable tensors, trick by trick, role by role."""
        return [p for h in self.hooks for tensors in h.params.values() for p in tensors]

    def replace_parameters(self, views: list[torch.Tensor]) -> None:
        """Put `views` (as many as `parameters()`, same order) in the tricks' lists."""
        views = iter(views)
        for h in self.hooks:
            for tensors in h.params.values():
                tensors[:] = [next(views) for _ in tensors]

    def buffers(self) -> list[torch.Tensor]:
        return [b for h in self.hooks for b in h.buffers]

    def attach(self) -> None:
        for h in self.hooks:
            h.attach()

    # ---- forward ----------------------------------------------------------------------------
    def weight(self, layer: int, w: torch.Tensor) -> torch.Tensor:
        for h in self._weight:
            w = h.weight(layer, w)
        return w

    def pre_activation(self, layer: int, s: torch.Tensor, mode: str) -> torch.Tensor:
        for h in self._pre:
            s = h.pre_activation(layer, s, mode)
        return s

    def post_activation(self, layer: int, u: torch.Tensor, h_in: torch.Tensor,
                        mode: str) -> torch.Tensor:
        for h in self._post:
            u = h.post_activation(layer, u, h_in, mode)
        return u

    @property
    def transforms_weights(self) -> bool:
        return bool(self._weight)

    # ---- the update -------------------------------------------------------------------------
    def penalize(self, grads: list[torch.Tensor], params: list[torch.Tensor]) -> None:
        for h in self._penalize:
            h.penalize(grads, params)

    def clip(self, grads: list[torch.Tensor]) -> None:
        for h in self._clip:
            h.clip(grads)

    @property
    def clips_fused(self) -> bool:
        """True when some trick scales the fused members' gradients (it needs their norms)."""
        return bool(self._clip_fused)

    def clip_fused(self, sq_norms: torch.Tensor) -> torch.Tensor:
        """(K,) factors scaling each fused member's gradient, every trick's applied."""
        factor = torch.ones_like(sq_norms)
        for h in self._clip_fused:
            factor = factor * h.clip_fused(sq_norms)
        return factor

    def after_step(self, updated: torch.Tensor) -> None:
        for h in self._after_step:
            h.after_step(updated)

    # ---- the run ----------------------------------------------------------------------------
    def updating(self, active: torch.Tensor) -> torch.Tensor:
        """(K,) bool: the `active` members that every trick lets update at the next step."""
        for h in self._updating:
            active = active & h.updating()
        return active

    def observe(self, valid_error: torch.Tensor, update: int) -> None:
        for h in self.hooks:
            h.observe(valid_error, update)

    def finish(self) -> bool:
        """End of training; True when some trick may have changed the weights."""
        changed = [h.finish() for h in self.hooks]
        return any(changed)

    def pretrain(self, next_batch: Callable, probe_x: torch.Tensor, seed: int) -> list[dict]:
        return [row for h in self.hooks for row in h.pretrain(next_batch, probe_x, seed)]

    def member_results(self) -> dict[str, list]:
        """Every registered trick's run.json fields, per member (None where unused)."""
        fields = {key: [None] * self.n_members for name in TRICKS.registered()
                  for key in TRICKS.factory(name).results}
        for h in self.hooks:
            fields |= h.member_results()
        return fields

    def state(self) -> dict[str, dict]:
        """Checkpoint state of the tricks that keep some, by trick name."""
        return {h.name: h.state() for h in self._stateful}

    def load_state(self, states: dict) -> None:
        """Restore `state()`'s output (other keys are ignored)."""
        for h in self._stateful:
            h.load_state(states[h.name])
