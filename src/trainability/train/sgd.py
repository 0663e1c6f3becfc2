"""One plain-SGD update of every member of a bundle, with the weight update fused.

Why hand-written: at the paper's minibatch of 10 a step is memory-bound, so the cost is the
number of passes over the weights. Autograd followed by torch.optim.SGD makes five (forward
read, backward read, gradient write, and read W + read dW + write W in the update). Here
autograd only back-propagates dCost/ds (the weights do not require grad), and each weight
is updated in place by one rank-B product, W <- W - lr * z^T g (torch.Tensor.baddbmm_),
which reads and writes W once: four passes in all, the minimum for SGD.
"""

from __future__ import annotations

import torch

from trainability.nets.mlp import BundledMLP, nll_per_member


def sgd_step(net: BundledMLP, x: torch.Tensor, y: torch.Tensor,
             lr: torch.Tensor, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Update every member on the minibatch (x, y); return each member's loss before it.

    Args:
        x: (B, n_inputs) float32 inputs, shared by all members.
        y: (B,) int64 labels.
        lr: (K,) learning rates.
        active: (K,) bool; inactive (diverged) members are left untouched.

    Returns:
        losses: (K,) float32 mean NLL of each member on this minibatch, before the update.
        updated: (K,) bool, the members updated: active ones whose loss is finite. A member
            whose loss turns NaN or infinite keeps its last finite weights.
    """
    forward = net.forward(x, track_input_grad=True)
    losses = nll_per_member(forward.logits, y)  # (K,)
    # Summing the members' losses keeps their gradients separate: member k's weights only
    # touch member k's loss.
    grads = torch.autograd.grad(losses.sum(), [*forward.pre_activations, forward.logits])
    updated = active & torch.isfinite(losses.detach())  # no host sync: stays on the device
    scale = lr.view(-1, 1, 1)  # (K, 1, 1)
    keep = updated.view(-1, 1, 1)
    layer_inputs = [x.unsqueeze(0).expand(net.n_members, *x.shape)]
    layer_inputs += [z.detach() for z in forward.activations]
    # On the CPU reading a flag costs nothing, and when every member is updated (nearly
    # always) the masks are skipped: at batch 10 each is a call of ~20 us, 12 a step. On a
    # device the masks always run (no host sync; the step may be a captured CUDA graph).
    masked = x.device.type != "cpu" or not bool(updated.all())
    for layer, grad in enumerate(grads):
        # torch.where, not a product: a diverged member's gradient and layer input may hold
        # NaN or inf, and NaN * 0 = inf * 0 = NaN.
        step = torch.where(keep, grad * scale, 0.0) if masked else grad * scale  # (K, B, n_out)
        z = torch.where(keep, layer_inputs[layer], 0.0) if masked else layer_inputs[layer]
        net.weights[layer].baddbmm_(z.transpose(1, 2), step, alpha=-1.0)
        net.biases[layer].sub_(step.sum(dim=1, keepdim=True))
    return losses.detach(), updated
