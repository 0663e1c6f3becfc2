"""One update of a bundle with tricks: autograd, penalties, clipping, then each member's optimizer.

The order is torch's: the loss gradient, plus the L1 subgradient (L1 is part of the loss),
then clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_ semantics, per member), then
the optimizer, which adds L2 as weight decay exactly as torch.optim's `weight_decay` does.
Penalties touch weight matrices only (not biases, batch-norm scales or PReLU slopes).
Everything after autograd acts on the network's two flat parameter buffers (TrickMLP.
_flatten), so a step costs a fixed number of kernels whatever the depth.
"""

from __future__ import annotations

import math

import torch

from trainability.nets.mlp import nll_per_member
from trainability.tricks.net import TrickMLP
from trainability.tricks.optim import (
    BundleOptimizer,
    OptimizerSpec,
    add_l1_,
    clip_grad_norm_,
    clip_grad_value_,
)
from trainability.tricks.spec import TrickSet


def optimizer_spec(tricks: TrickSet) -> OptimizerSpec:
    """The member's optimizer with torch.optim's defaults for everything the trick leaves."""
    if tricks.optimizer == "momentum":
        return OptimizerSpec(name="momentum", momentum=tricks.momentum)
    return OptimizerSpec(name=tricks.optimizer)


class TrickStepper:
    """Trains a TrickMLP: `step(x, y, active)` does one update of every member.

    Args:
        net: the bundle.
        lr: (K,) learning rates.
    """

    def __init__(self, net: TrickMLP, lr: torch.Tensor):
        self.net = net
        device = lr.device
        tricks = net.tricks

        def column(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32, device=device)

        self.l1 = column([t.l1 for t in tricks])
        self.clip_norm = column([t.clip_norm for t in tricks])
        self.clip_value = column([t.clip_value for t in tricks])
        # Members needing each operation, as contiguous runs: the operations then touch only
        # those members' rows, through views (members are ordered so that runs are few).
        self.l1_runs = _runs([t.l1 > 0 for t in tricks])
        self.clip_norm_runs = _runs([t.clip_norm < math.inf for t in tricks])
        self.clip_value_runs = _runs([t.clip_value < math.inf for t in tricks])
        self.optimizer = BundleOptimizer([net.flat_weights, net.flat_others],
                                         [optimizer_spec(t) for t in tricks], lr,
                                         l2=(column([t.l2 for t in tricks])
                                             if any(t.l2 > 0 for t in tricks) else None),
                                         no_decay={1})

    def step(self, x: torch.Tensor, y: torch.Tensor, active: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Update members on (x (B, D), y (B,)); same contract as trainability.train.sgd_step.

        Returns (losses (K,), updated (K,) bool): members that were active and whose loss
        is finite; the others keep their parameters, statistics and optimizer state.
        """
        net = self.net
        forward = net.forward(x, mode="train")
        losses = nll_per_member(forward.logits, y)
        grads = torch.autograd.grad(losses.sum(), net.parameters())
        flat_grads = list(net.flat_gradients(grads))  # [(K, P_weights), (K, P_others)]
        updated = active & torch.isfinite(losses.detach())
        weights = net.flat_weights.detach()
        for run in self.l1_runs:  # weights only: the L1 penalty is on W
            add_l1_([flat_grads[0][run]], [weights[run]], self.l1[run])
        for run in self.clip_value_runs:
            clip_grad_value_([g[run] for g in flat_grads], self.clip_value[run])
        for run in self.clip_norm_runs:
            clip_grad_norm_([g[run] for g in flat_grads], self.clip_norm[run])
        with torch.no_grad():
            self.optimizer.step(flat_grads, updated)
        net.commit_running_stats(updated)
        return losses.detach(), updated

    def state(self) -> dict:
        return {"net": self.net.state(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict) -> None:
        self.net.load_state(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])


def _runs(flags: list[bool]) -> list[slice]:
    """Maximal runs of consecutive True flags, as slices."""
    runs, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append(slice(start, i))
            start = None
    return runs
