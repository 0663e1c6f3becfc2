"""l2:<lambda> and l1:<lambda>: penalties on the weight matrices (not biases, batch-norm
gains or PReLU slopes).

l2 adds lambda/2 ||W||^2 to the loss the way torch.optim's `weight_decay` does: the optimizer
adds lambda W to the gradient after clipping, before its rule (coupled decay, for every rule).
l1 adds lambda ||W||_1 to the loss: its subgradient lambda sign(W) (sign(0) = 0) joins the
gradient before clipping, as the loss's own gradient does.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

from trainability.lazy import lazy_import
from trainability.tricks.base import (
    OptimizerChoice,
    Trick,
    TrickHooks,
    positive,
    register,
    rows,
)

torch = lazy_import("torch")


@register
@dataclass(frozen=True)
class L2(Trick):
    """Attributes: weight: lambda."""

    name = "l2"
    family = "regularization"
    label = "L2"
    color = "#ee854a"
    weight: float

    def __post_init__(self) -> None:
        self._set(weight=positive("l2", self.weight))

    def configure_optimizer(self, choice: OptimizerChoice) -> OptimizerChoice:
        return replace(choice, weight_decay=self.weight)


@register
@dataclass(frozen=True)
class L1(Trick):
    """Attributes: weight: lambda."""

    name = "l1"
    family = "regularization"
    label = "L1"
    color = "#6acc64"
    weight: float

    def __post_init__(self) -> None:
        self._set(weight=positive("l1", self.weight))

    @classmethod
    def hooks(cls, net, members) -> L1Hooks:
        return L1Hooks(net, members)


class L1Hooks(TrickHooks):
    def __init__(self, net, members):
        super().__init__(net, members)
        self.weight = self.per_member(lambda l1: l1.weight)  # (K,)
        self.member_runs = self.runs()

    def penalize(self, grads, params):
        for run in self.member_runs:  # the weight matrices only: the flat buffer 0
            add_l1_([grads[0][run]], [params[0][run]], self.weight[run])


def add_l1_(grads: list[torch.Tensor], params: list[torch.Tensor], l1: torch.Tensor,
            skip: Collection[int] = frozenset()) -> None:
    """grad += l1[k] * sign(p): the subgradient of l1[k] * ||W||_1, with sign(0) = 0.

    Args:
        grads, params: lists of (K, ...) tensors, pairwise of equal shape; grads in place.
        l1: (K,) penalty coefficients.
        skip: indices into the lists that get no penalty (biases, BatchNorm, ...).
    """
    for i, (g, p) in enumerate(zip(grads, params, strict=True)):
        if i in skip:
            continue
        g.addcmul_(rows(l1.to(device=g.device, dtype=g.dtype), g.dim()), torch.sign(p))
