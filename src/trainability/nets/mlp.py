"""The deep MLP of the paper, as a *bundle*: K member networks of one shape, weights stacked.

Layer l (l = 0..depth) maps z^l (K, B, n_l) to s^{l+1} = z^l W^l + b^l, with
W^l of shape (K, n_l, n_{l+1}) and b^l of shape (K, 1, n_{l+1}); z^0 = x is shared by all
members, hidden layers apply the member's activation, and the last layer gives the softmax
logits. One batched matmul (torch.baddbmm) serves every member at once, so a bundle of K
costs one pass over K weight matrices instead of K Python-level training loops.

Members may use different activations: activations are applied per run of consecutive
members that share one (order members by activation to get one run per activation).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainability.nets.activations import ACTIVATIONS, Activation, shared_pieces
from trainability.nets.formulations import BACKWARD_INPUT
from trainability.nets.initializers import INITIALIZERS
from trainability.seeding import derive_seed


class _BundledLinear(torch.autograd.Function):
    """s = b + h @ W per member, differentiable in h only (weights are updated by hand).

    Why hand-written: the fused SGD step never forms a weight gradient, and dh = g W^T is
    taken in the formulation that is fastest on this machine (trainability.nets.formulations),
    which autograd's backward of baddbmm would not choose.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                backward_input) -> torch.Tensor:
        ctx.save_for_backward(weight)
        ctx.backward_input = backward_input
        return torch.baddbmm(bias, h, weight)  # (K, B, n_out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (weight,) = ctx.saved_tensors  # (K, n_in, n_out); grad: (K, B, n_out)
        return ctx.backward_input(grad, weight), None, None, None  # dh: (K, B, n_in)


def bundled_linear(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                   formulation: str = "w_gt") -> torch.Tensor:
    """(K, B, n_in) x (K, n_in, n_out) + (K, 1, n_out) -> (K, B, n_out); back-propagated
    (to h only) in `formulation` (trainability.nets.formulations.BACKWARD_INPUT)."""
    if h.requires_grad:
        return _BundledLinear.apply(h, weight, bias, BACKWARD_INPUT[formulation])
    return torch.baddbmm(bias, h, weight)


@dataclass
class ForwardPass:
    """Everything one forward pass computes, for training and for the monitor.

    Attributes:
        pre_activations: s^1..s^depth, the inputs of the activation function, each
            (K, B, width * pieces).
        activations: h^1..h^depth, the hidden layers' outputs (what the next layer reads),
            each (K, B, width); f(s^l) for the plain MLP.
        logits: (K, B, n_classes).
        linear_outputs: the affine outputs h^{l-1} W^{l-1} + b^{l-1} of the hidden layers,
            when they differ from `pre_activations` (batch norm in between); else None.
        layer_inputs: h^0 = x .. h^{depth-1}, each (K, B, n_l), when not simply
            [x, *activations[:-1]]; else None.
    """

    pre_activations: list[torch.Tensor]
    activations: list[torch.Tensor]
    logits: torch.Tensor
    linear_outputs: list[torch.Tensor] | None = None
    layer_inputs: list[torch.Tensor] | None = None


class BundledMLP:
    """K stacked MLPs with `depth` hidden layers of `width` units.

    Plain tensors, not an nn.Module: the trainer updates weights in place with fused
    rank-B updates (see trainability.train.sgd), which nn.Parameter bookkeeping would only hide.

    Attributes:
        weights: list of depth+1 tensors, weights[l] of shape (K, n_l, n_{l+1}).
        biases: list of depth+1 tensors, biases[l] of shape (K, 1, n_{l+1}).
        activation_groups: (Activation, slice of members) for each run of equal activations.
        formulation: how back-propagation takes dh = g W^T (trainability.nets.formulations;
            the trainer sets the machine's choice, or a resumed run's).
    """

    def __init__(self, weights: list[torch.Tensor], biases: list[torch.Tensor],
                 activations: list[Activation], formulation: str = "w_gt"):
        if len(activations) != weights[0].shape[0]:
            raise ValueError("one activation per member is needed")
        self.weights = weights
        self.biases = biases
        self.member_activations = activations
        self.activation_groups = _consecutive_groups(activations)
        self.formulation = formulation

    @classmethod
    def initialize(cls, n_inputs: int, n_classes: int, depth: int, width: int,
                   activations: list[str], initializers: list[str], seeds: list[int],
                   output_uses_init: bool = True, device: str | torch.device = "cpu",
                   **extra) -> BundledMLP:
        """Draw every member's weights and biases from its initializer and seed (biases are
        zero unless the initializer states a bias variance sigma_b^2, `sb2=`).

        Weights are drawn on the CPU with a per-member generator seeded from the member's
        seed, so a member's initial weights do not depend on the bundle it is in or on the
        device. The output layer uses the member's initializer when `output_uses_init`,
        else the normalized one. Maxout members (all members of a bundle share the number of
        pieces p) get hidden weights of shape (n_l, width * p), drawn with fan_out width * p.
        `extra` goes to the constructor (subclasses' settings).
        """
        acts = [ACTIVATIONS.build(a) for a in activations]
        piece = shared_pieces(activations)
        fan_in = [n_inputs] + [width] * depth
        fan_out = [width * piece] * depth + [n_classes]
        weights: list[list[torch.Tensor]] = [[] for _ in range(depth + 1)]
        biases: list[list[torch.Tensor]] = [[] for _ in range(depth + 1)]
        for spec, seed in zip(initializers, seeds, strict=True):
            generator = torch.Generator().manual_seed(derive_seed(seed, "init"))
            # Biases from their own stream: a spec with sigma_b^2 > 0 leaves the weights
            # drawn as without it (and zero biases advance nothing).
            bias_generator = torch.Generator().manual_seed(derive_seed(seed, "bias"))
            hidden_init = INITIALIZERS.build(spec)
            output_init = hidden_init if output_uses_init else INITIALIZERS.build("normalized")
            for layer in range(depth + 1):
                init = output_init if layer == depth else hidden_init
                weights[layer].append(init(fan_in[layer], fan_out[layer], generator))
                biases[layer].append(init.draw_bias(fan_out[layer], bias_generator))
        stacked = [torch.stack(w).to(device) for w in weights]
        stacked_biases = [torch.stack(b).unsqueeze(1).to(device) for b in biases]  # (K, 1, n)
        return cls(stacked, stacked_biases, acts, **extra)

    @property
    def n_members(self) -> int:
        return self.weights[0].shape[0]

    @property
    def depth(self) -> int:
        return len(self.weights) - 1

    def activate(self, s: torch.Tensor) -> torch.Tensor:
        """Apply each member's activation to s (K, B, n) -> (K, B, n)."""
        if len(self.activation_groups) == 1:
            return self.activation_groups[0][0](s)
        return torch.cat([act(s[members]) for act, members in self.activation_groups])

    def forward(self, x: torch.Tensor, track_input_grad: bool = False,
                mode: str = "eval") -> ForwardPass:
        """Run x (B, n_inputs), shared by all members, through every member.

        With `track_input_grad`, s^1 becomes a leaf that requires grad, so autograd can give
        dCost/ds^l for every layer without ever forming a weight gradient. `mode` ("train",
        "eval", "monitor") matters only to networks with tricks (see TrickMLP).
        """
        members = self.n_members
        h = x.unsqueeze(0).expand(members, *x.shape)  # (K, B, n_0), no copy
        pre, post = [], []
        for layer in range(self.depth):
            s = bundled_linear(h, self.weights[layer], self.biases[layer],
                               self.formulation)  # (K, B, width)
            if layer == 0 and track_input_grad:
                s.requires_grad_(True)
            h = self.activate(s)
            pre.append(s)
            post.append(h)
        logits = bundled_linear(h, self.weights[-1], self.biases[-1],
                                self.formulation)  # (K, B, classes)
        return ForwardPass(pre, post, logits)

    @torch.no_grad()
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_inputs) -> (K, B, n_classes), without autograd."""
        return self.forward(x).logits

    def state(self) -> dict[str, list[torch.Tensor]]:
        return {"weights": self.weights, "biases": self.biases}

    def jacobian_supported(self) -> torch.Tensor:
        """(K,) bool: members whose layer Jacobian is diag(f'(s)) W^T (elementwise
        activations), for which the monitor's singular values are meaningful."""
        return torch.tensor([a.elementwise for a in self.member_activations])


def _consecutive_groups(activations: list[Activation]) -> list[tuple[Activation, slice]]:
    groups: list[tuple[Activation, slice]] = []
    start = 0
    for i in range(1, len(activations) + 1):
        if i == len(activations) or activations[i].name != activations[start].name:
            groups.append((activations[start], slice(start, i)))
            start = i
    return groups


def nll_per_member(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per member: logits (K, B, C), labels (B,) -> (K,)."""
    log_probs = torch.log_softmax(logits, dim=-1)
    index = labels.view(1, -1, 1).expand(logits.shape[0], -1, 1)
    return -log_probs.gather(-1, index).squeeze(-1).mean(dim=1)
