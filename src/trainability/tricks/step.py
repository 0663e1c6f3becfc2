"""One update of a bundle with tricks: the gradients, penalties, clipping, each member's optimizer.

The order is torch's: the loss gradient, plus penalty gradients that are part of the loss
(the tricks' `penalize` hooks: L1), then clipping (`clip` hooks), then the optimizer, which
adds weight decay (L2) exactly as torch.optim's `weight_decay` does, then the tricks'
`after_step` hooks (batch-norm running statistics). Each member's optimizer rule and weight
decay come from its tricks (TrickSet.optimizer_choice).

Autograd back-propagates only to each layer's linear output, as on the plain path
(trainability.train.sgd): the weights never get gradients from it. Members whose tricks allow
it (TrickMLP.fused) have their weights updated in place by rank-B products, clipped by norm
through their Gram matrices; the others' weight gradients are formed once into a flat buffer
for their penalties, clipping and optimizer (trainability.tricks.fused). Biases, the tricks'
parameters and PReLU slopes, small, take the flat-buffer path for every member
(TrickMLP._flatten). A step costs a fixed number of kernels whatever the depth.
"""

from __future__ import annotations

import torch

from trainability.nets.mlp import nll_per_member
from trainability.tricks.base import OptimizerChoice
from trainability.tricks.fused import WeightUpdate, rank_b_sq_norms
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
        self.lr = lr
        choices = [t.optimizer_choice for t in net.member_tricks]
        decay = [c.weight_decay for c in choices]
        self.weight_update = WeightUpdate(net)
        fused = [k for k, f in enumerate(net.fused) if f]
        self.optimizer = BundleOptimizer(
            [net.flat_weights, net.flat_others], [optimizer_spec(c) for c in choices], lr,
            l2=torch.tensor(decay, dtype=torch.float64) if any(d > 0 for d in decay) else None,
            no_decay={1},  # weight decay on the weight matrices only
            skip={0: fused})  # fused members' weights: WeightUpdate.apply

    def step(self, x: torch.Tensor, y: torch.Tensor, active: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Update members on (x (B, D), y (B,)); same contract as trainability.train.sgd_step.

        Returns (losses (K,), updated (K,) bool): members that were active and whose loss
        is finite; the others keep their parameters, statistics and optimizer state.
        """
        net, tricks = self.net, self.net.tricks
        forward = net.forward(x, mode="train", linear_grad=True)
        losses = nll_per_member(forward.logits, y)  # (K,)
        outputs = [*forward.linear_outputs, forward.logits]
        graph = net.graph_parameters()
        grads = torch.autograd.grad(losses.sum(), [*outputs, *graph], allow_unused=True,
                                    materialize_grads=True)
        linear_grads = list(grads[:len(outputs)])  # g = dCost/da per layer, (K, B, n_out)
        graph_grads = list(grads[len(outputs):])
        inputs = [z.detach() for z in [*forward.layer_inputs, forward.activations[-1]]]
        self.weight_update.store(inputs, linear_grads)
        if net.transforms_weights:
            through = self.weight_update.through_transform(graph)
            graph_grads = [a + b for a, b in zip(graph_grads, through, strict=True)]
        # [(K, P_weights), (K, P_others)], laid out like the network's flat buffers
        flat_grads = [self.weight_update.buffer, net.others_gradient(linear_grads, graph_grads)]
        updated = active & torch.isfinite(losses.detach())
        tricks.penalize(flat_grads, [net.flat_weights.detach(), net.flat_others.detach()])
        tricks.clip(flat_grads)
        if self.weight_update.fused_runs:
            scale = self.lr
            if tricks.clips_fused:
                sq_norms = rank_b_sq_norms(inputs, linear_grads) + flat_grads[1].square().sum(1)
                factor = tricks.clip_fused(sq_norms)  # (K,), 1 for members not clipped here
                flat_grads[1].mul_(factor.view(-1, 1))
                scale = scale * factor
            self.weight_update.apply(inputs, linear_grads, scale, updated)
        with torch.no_grad():
            self.optimizer.step(flat_grads, updated)
        tricks.after_step(updated)
        return losses.detach(), updated

    def state(self) -> dict:
        return {"net": self.net.state(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict) -> None:
        self.net.load_state(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
