"""pretrain_dae[:updates=<n>,noise=<p>,lr=<r>]: greedy layer-wise denoising auto-encoder
pretraining (Vincent et al. 2008) before supervised training, the reference curve of the
paper's Fig. 11 (Bengio et al. 2007; Erhan et al. 2010).

Hidden layer l (1..depth) is trained as an auto-encoder on the representation h^{l-1} of the
layers below it, which are already pretrained and kept fixed:

    h~ = h^{l-1} * m,  m_i ~ Bernoulli(1 - noise)          masking noise   (K, B, n_{l-1})
    c  = f(h~ W^{l-1} + b^{l-1})                              code            (K, B, width)
    r  = c (W^{l-1})^T + d                                    tied-weight reconstruction
    loss = mean over the batch of ||r - h^{l-1}||^2 / n_{l-1}

with plain SGD on W^{l-1}, b^{l-1} and the decoder bias d for `updates` minibatches per layer.
The squared error is used at every layer, so it applies to inputs of any range. Only members
with `pretrain_dae` are changed; supervised training then starts from the pretrained weights.
A plain MLP with an elementwise activation is pretrained, and one bundle shares one setting
(the phase runs once for the bundle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainability.lazy import lazy_import
from trainability.tricks.base import Trick, TrickHooks, positive, register, whole

torch = lazy_import("torch")

if TYPE_CHECKING:
    from trainability.nets.mlp import BundledMLP


@register
@dataclass(frozen=True)
class PretrainDAE(Trick):
    """Attributes:
        updates: minibatch updates per hidden layer.
        noise: probability of zeroing each input component (masking noise), in [0, 1).
        lr: SGD learning rate of the auto-encoders.
    """

    name = "pretrain_dae"
    family = "pretraining"
    label = "DAE pretraining"
    color = "#956cb4"
    fused_update = True  # a phase before training; training itself is plain SGD
    updates: int = 1000
    noise: float = 0.25
    lr: float = 0.01

    def __post_init__(self) -> None:
        whole("pretrain_dae updates", self.updates)
        if not 0 <= float(self.noise) < 1:
            raise ValueError(f"pretrain_dae noise must lie in [0, 1), got {self.noise!r}")
        self._set(noise=float(self.noise), lr=positive("pretrain_dae lr", self.lr))

    def check(self, tricks, depth=None, activation=None) -> None:
        changed = [u.name for u in tricks.units if u.changes_function]
        if changed:
            raise ValueError(f"pretrain_dae pretrains a plain MLP layer by layer; drop "
                             f"{'/'.join(changed)} or the pretraining")
        if activation is not None and not activation.elementwise:
            raise ValueError(f"pretrain_dae needs an elementwise activation, not "
                             f"{activation.name!r}")

    @classmethod
    def check_bundle(cls, members, activations, depth) -> None:
        if len({m for m in members if m is not None}) > 1:
            raise ValueError("members of one bundle must share their pretrain_dae settings")

    @classmethod
    def hooks(cls, net, members) -> PretrainHooks:
        return PretrainHooks(net, members)


class PretrainHooks(TrickHooks):
    def pretrain(self, next_batch, probe_x, seed):
        settings = next(m for m in self.members if m is not None)
        generator = torch.Generator(device=probe_x.device).manual_seed(seed)
        return pretrain(self.net, settings, self.mask.view(-1), next_batch, probe_x, generator)


def _reconstruction_error(net: BundledMLP, layer: int, h: torch.Tensor,
                          decoder_bias: torch.Tensor, noise: float,
                          generator: torch.Generator | None) -> torch.Tensor:
    """(K,) mean squared reconstruction error per input unit of layer `layer`'s auto-encoder."""
    if noise > 0 and generator is not None:
        keep = torch.rand(h.shape, generator=generator, device=h.device) >= noise
        corrupted = torch.where(keep, h, 0.0)
    else:
        corrupted = h
    groups = net.activation_groups
    pre = torch.baddbmm(net.biases[layer], corrupted, net.weights[layer])
    code = torch.cat([act(pre[members]) for act, members in groups])
    reconstruction = torch.baddbmm(decoder_bias, code, net.weights[layer].transpose(1, 2))
    return (reconstruction - h).pow(2).mean(dim=(1, 2))


def _representation(net: BundledMLP, x: torch.Tensor, layers: int) -> torch.Tensor:
    """h^{layers} of x (B, D) through the first `layers` hidden layers: (K, B, n)."""
    with torch.no_grad():
        h = x.unsqueeze(0).expand(net.n_members, *x.shape)
        for layer in range(layers):
            pre = torch.baddbmm(net.biases[layer], h, net.weights[layer])
            h = torch.cat([act(pre[members]) for act, members in net.activation_groups])
    return h


def pretrain(net: BundledMLP, settings: PretrainDAE, members: torch.Tensor, next_batch,
             probe_x: torch.Tensor, generator: torch.Generator) -> list[dict]:
    """Pretrain every hidden layer of the members where `members` (K,) bool is True.

    Args:
        next_batch: callable returning the next training minibatch (x (B, D), y (B,)).
        probe_x: (M, D) fixed examples on which the reconstruction error is measured before
            and after each layer's pretraining (without noise).
        generator: RNG of the masking noise.

    Returns:
        One row per member and layer: {"member", "layer", "error_before", "error_after"}.
    """
    rows = []
    mask = members.view(-1, 1, 1)
    for layer in range(net.depth):
        width_in = net.weights[layer].shape[1]
        decoder_bias = torch.zeros(net.n_members, 1, width_in, device=probe_x.device)
        with torch.no_grad():
            before = _reconstruction_error(net, layer, _representation(net, probe_x, layer),
                                           decoder_bias, 0.0, None)
        params = [net.weights[layer], net.biases[layer], decoder_bias]
        needed_grad = [p.requires_grad for p in params]
        for param in params:
            param.requires_grad_(True)
        for _ in range(settings.updates):
            x, _ = next_batch()
            h = _representation(net, x, layer)
            loss = _reconstruction_error(net, layer, h, decoder_bias, settings.noise, generator)
            grads = torch.autograd.grad(loss.sum(), params)
            with torch.no_grad():
                ok = (members & torch.isfinite(loss)).view(-1, 1, 1)
                for param, grad in zip(params, grads, strict=True):
                    param.sub_(torch.where(ok, grad * settings.lr, 0.0))
        for param, needed in zip(params, needed_grad, strict=True):
            param.requires_grad_(needed)
        with torch.no_grad():
            after = _reconstruction_error(net, layer, _representation(net, probe_x, layer),
                                          decoder_bias, 0.0, None)
        for member in torch.nonzero(mask.view(-1)).flatten().tolist():
            rows.append({"member": member, "layer": layer + 1,
                         "error_before": float(before[member]),
                         "error_after": float(after[member])})
    return rows
