"""One update of a bundle with tricks: autograd, penalties, clipping, then each member's optimizer.

The order is torch's: the loss gradient, plus penalty gradients that are part of the loss
(the tricks' `penalize` hooks: L1), then clipping (`clip` hooks), then the optimizer, which
adds weight decay (L2) exactly as torch.optim's `weight_decay` does, then the tricks'
`after_step` hooks (batch-norm running statistics). Each member's optimizer rule and weight
decay come from its tricks (TrickSet.optimizer_choice). Everything after autograd acts on the
network's two flat parameter buffers (TrickMLP._flatten), so a step costs a fixed number of
kernels whatever the depth.
"""

from __future__ import annotations

import torch

from trainability.nets.mlp import nll_per_member
from trainability.tricks.base import OptimizerChoice
from trainability.tricks.net import TrickMLP
from trainability.tricks.optim import BundleOptimizer, OptimizerSpec


def optimizer_spec(choice: OptimizerChoice) -> OptimizerSpec:
    """The member's optimizer with torch.optim's defaults for everything its tricks leave."""
    return OptimizerSpec(choice.kind, **dict(choice.hyper))


class TrickStepper:
    """Trains a TrickMLP: `step(x, y, active)` does one update of every member.

    Args:
        net: the bundle.
        lr: (K,) learning rates.
    """

    def __init__(self, net: TrickMLP, lr: torch.Tensor):
        self.net = net
        choices = [t.optimizer_choice for t in net.member_tricks]
        decay = [c.weight_decay for c in choices]
        self.optimizer = BundleOptimizer(
            [net.flat_weights, net.flat_others], [optimizer_spec(c) for c in choices], lr,
            l2=(torch.tensor(decay, dtype=torch.float32, device=lr.device)
                if any(d > 0 for d in decay) else None),
            no_decay={1})  # weight decay on the weight matrices only

    def step(self, x: torch.Tensor, y: torch.Tensor, active: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Update members on (x (B, D), y (B,)); same contract as trainability.train.sgd_step.

        Returns (losses (K,), updated (K,) bool): members that were active and whose loss
        is finite; the others keep their parameters, statistics and optimizer state.
        """
        net, tricks = self.net, self.net.tricks
        forward = net.forward(x, mode="train")
        losses = nll_per_member(forward.logits, y)  # (K,)
        grads = torch.autograd.grad(losses.sum(), net.parameters())
        flat_grads = list(net.flat_gradients(grads))  # [(K, P_weights), (K, P_others)]
        updated = active & torch.isfinite(losses.detach())
        tricks.penalize(flat_grads, [net.flat_weights.detach(), net.flat_others.detach()])
        tricks.clip(flat_grads)
        with torch.no_grad():
            self.optimizer.step(flat_grads, updated)
        tricks.after_step(updated)
        return losses.detach(), updated

    def state(self) -> dict:
        return {"net": self.net.state(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict) -> None:
        self.net.load_state(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
