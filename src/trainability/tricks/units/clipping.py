"""clip_norm:<c> and clip_value:<c>: per-member gradient clipping, torch.nn.utils semantics.

clip_norm scales all of member k's gradients by min(1, c / (n_k + 1e-6)), n_k the 2-norm of
all of them together (torch.nn.utils.clip_grad_norm_ applied to that member alone, not to the
bundle); clip_value clamps every gradient entry to [-c, c] (clip_grad_value_). Clipping acts
on the whole gradient (loss plus L1 penalty), before the optimizer adds weight decay. A member
uses one of the two.

clip_norm keeps the update an SGD step (scaled), so a member with plain SGD never stores its
weights' gradient (`fused_update`): its norm comes from the B x B Gram matrices of each
layer's input and output gradient (trainability.tricks.fused.rank_b_sq_norms) and the factor
scales its rank-B updates (`clip_fused`). clip_value needs every entry: the gradient is stored.

Nothing here reads a tensor value on the host, so clipping never stalls a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trainability.lazy import lazy_import
from trainability.tricks.base import (
    Trick,
    TrickHooks,
    equal_runs,
    member_runs,
    positive,
    register,
    rows,
)

torch = lazy_import("torch")


class Clipping(Trick):
    """A gradient clipping rule; a member uses at most one."""

    family = "clipping"

    def check(self, tricks, depth=None, activation=None) -> None:
        rules = [u.name for u in tricks.units if isinstance(u, Clipping)]
        if len(rules) > 1:
            raise ValueError(f"use {' or '.join(rules)}, not both")


@register
@dataclass(frozen=True)
class ClipNorm(Clipping):
    """Attributes: max_norm: the largest total gradient norm of the member."""

    name = "clip_norm"
    label = "Clip norm"
    color = "#d55e00"
    fused_update = True
    max_norm: float

    def __post_init__(self) -> None:
        self._set(max_norm=positive("clip_norm", self.max_norm))

    @classmethod
    def hooks(cls, net, members) -> ClipNormHooks:
        return ClipNormHooks(net, members, lambda c: c.max_norm)


@register
@dataclass(frozen=True)
class ClipValue(Clipping):
    """Attributes: clip: the largest absolute gradient entry."""

    name = "clip_value"
    label = "Clip value"
    color = "#cc78bc"
    clip: float

    def __post_init__(self) -> None:
        self._set(clip=positive("clip_value", self.clip))

    @classmethod
    def hooks(cls, net, members) -> ClipValueHooks:
        return ClipValueHooks(net, members, lambda c: c.clip)


class ClipHooks(TrickHooks):
    """Clips each contiguous run of clipping members with stored gradients, through views of
    their rows (other members are not touched).

    Attributes (besides TrickHooks'):
        bounds: K host floats, each member's threshold (inf for members without the trick).
        threshold: (K,) `bounds` as a tensor on the network's device.
        member_runs: runs of clipping members with stored gradients (set by `attach`, once
            the network knows which members take the fused update).
    """

    def __init__(self, net, members, threshold):
        super().__init__(net, members)
        self.bounds = self.per_member_values(threshold, absent=math.inf)
        self.threshold = self.per_member(threshold, absent=math.inf)  # (K,)
        self.member_runs: list[slice] = []

    def attach(self):
        self.member_runs = member_runs([m is not None and not fused for m, fused
                                        in zip(self.members, self.net.fused, strict=True)])


class ClipNormHooks(ClipHooks):
    """clip_norm: members with stored gradients by `clip_grad_norm_`; fused members by
    `clip_fused`."""

    def attach(self):
        super().attach()
        fused = torch.tensor(self.net.fused, device=self.threshold.device)
        self.fused_threshold = torch.where(fused, self.threshold, float("inf"))  # (K,)

    def clip(self, grads):
        for run in self.member_runs:
            clip_grad_norm_([g[run] for g in grads], self.threshold[run])

    def clip_fused(self, sq_norms):
        return clip_coefficients(sq_norms.clamp(min=0).sqrt(), self.fused_threshold)


class ClipValueHooks(ClipHooks):
    """clip_value: every member clamps its stored gradients (`clip_grad_value_`)."""

    def clip(self, grads):
        for run in self.member_runs:
            clip_grad_value_([g[run] for g in grads], self.bounds[run])


def member_norms(grads: list[torch.Tensor]) -> torch.Tensor:
    """Each member's total 2-norm over all of its gradients: list of (K, ...) -> (K,)."""
    if not grads:
        raise ValueError("member_norms needs at least one gradient tensor")
    per_tensor = torch.stack(
        [torch.linalg.vector_norm(g.reshape(g.shape[0], -1), dim=1) for g in grads], dim=1)
    return torch.linalg.vector_norm(per_tensor, dim=1)  # (K,)


def clip_coefficients(norms: torch.Tensor, max_norm: torch.Tensor) -> torch.Tensor:
    """(K,) torch.nn.utils.clip_grad_norm_'s factor min(1, max_norm / (norm + 1e-6)) per
    member; 1 where max_norm is inf."""
    max_norm = max_norm.to(device=norms.device, dtype=norms.dtype)
    scale = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    return torch.where(torch.isinf(max_norm), torch.ones_like(scale), scale)


def clip_grad_norm_(grads: list[torch.Tensor], max_norm: torch.Tensor) -> torch.Tensor:
    """Clip each member's gradients by its own total norm, in place.

    torch.nn.utils.clip_grad_norm_'s formula per member k: with n_k the 2-norm of all of
    grads[i][k] together, every grads[i][k] is multiplied by min(1, max_norm[k] / (n_k + 1e-6)).

    Args:
        grads: list of (K, ...) gradients, modified in place.
        max_norm: (K,); inf leaves that member's gradients untouched.

    Returns:
        (K,) total norms before clipping.
    """
    norms = member_norms(grads)
    scale = clip_coefficients(norms, max_norm)
    for g in grads:
        g.mul_(rows(scale, g.dim()).to(g.dtype))
    return norms


def clip_grad_value_(grads: list[torch.Tensor], clip: Sequence[float]) -> None:
    """Clamp member k's gradients to [-clip[k], clip[k]], in place (torch's clip_grad_value_).

    Consecutive members with the same bound are clamped together with a scalar bound, a
    unary kernel: a (K, 1) tensor bound makes clamp a broadcast ternary kernel, 4.8x as slow
    over a (4, 5M) float32 buffer (17.3 against 3.6 ms, 2 Xeon cores). The bounds are host
    floats, so nothing is read back from a device.

    Args:
        grads: list of (K, ...) gradients.
        clip: K bounds; inf leaves that member's gradients untouched.
    """
    for run in equal_runs(clip):
        bound = clip[run.start]
        if math.isinf(bound):
            continue
        for g in grads:
            g[run].clamp_(min=-bound, max=bound)
