"""The trick path's fused update gives what autograd, torch.optim and torch.nn.utils give.

The reference (tests/trick_reference.py) differentiates every parameter of a twin network
with autograd (its weights and biases as leaves), applies each member's penalty and clipping
with torch.nn.utils, and steps each member with its own torch.optim optimizer on views of the
twin's flat buffers: the stored-gradient path as torch would run it. The step under test
back-propagates only to the linear outputs and updates fused members' weights by rank-B
products (trainability.tricks.fused). Float64, several steps, so the comparisons are tight.
"""

from __future__ import annotations

import pytest
import torch

from trainability.nets.mlp import BundledMLP, nll_per_member
from trainability.train.sgd import sgd_step
from trainability.tricks import fused, optim
from trainability.tricks.fused import rank_b_sq_norms
from trainability.tricks.net import TrickMLP
from trainability.tricks.spec import parse_trick
from trainability.tricks.step import TrickStepper
from trick_reference import train_side_by_side

STEPS = 6
LR = 0.1


@pytest.fixture(params=["small", "large"])
def layers(request, monkeypatch):
    """The CPU's way with small layers (batched products, the optimizer's formulas) and, with
    the size thresholds at 1, its way with large ones (products into the strided weights,
    torch's fused optimizer kernels member by member), as at the paper's layer."""
    if request.param == "large":
        monkeypatch.setattr(fused, "IN_PLACE_MIN", 1)
        monkeypatch.setattr(optim, "FUSED_MIN", 1)
    return request.param


@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def make_net(tricks, activations=None, depth=3, width=12, seeds=None):
    k = len(tricks)
    return TrickMLP.initialize(6, 3, depth, width, activations or ["tanh"] * k,
                               ["normalized"] * k, seeds or list(range(k)),
                               tricks=[parse_trick(t) for t in tricks], noise_seed=1)


def batches(n=STEPS, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(10, 6, generator=g), torch.randint(0, 3, (10,), generator=g))
            for _ in range(n)]


def assert_same_training(tricks, activations=None, active=None):
    net, twin = make_net(tricks, activations), make_net(tricks, activations)
    train_side_by_side(net, twin, LR, batches(), active)
    return net


# ---- which members take the fused update --------------------------------------------------------
def test_tricks_that_keep_the_update_plain_sgd_take_the_fused_update():
    tricks = ["none", "batchnorm", "residual", "dropout:0.2", "clip_norm:1", "early_stopping",
              "adam", "clip_norm:1+adam", "clip_value:0.1", "l2:0.01", "l1:0.01", "momentum",
              "rmsprop", "adagrad"]
    net = make_net(tricks)
    assert net.fused == [True] * 6 + [False] * 8
    assert net.fused_runs == [slice(0, 6)] and net.stored_runs == [slice(6, 14)]
    stepper = TrickStepper(net, torch.full((len(tricks),), LR))
    assert stepper.optimizer.skip == {0: frozenset(range(6))}
    # A bundle of fused members stores no weight gradient at all.
    alone = TrickStepper(make_net(["none", "clip_norm:1"]), torch.full((2,), LR))
    assert alone.weight_update.buffer.stride() == (0, 0)
    assert not alone.weight_update.grads


# ---- each fused trick against torch ------------------------------------------------------------
@pytest.mark.parametrize("trick", ["none", "residual", "dropout:0.3", "clip_norm:0.05",
                                   "clip_norm:100", "batchnorm", "batchnorm:after"])
def test_each_fused_trick_matches_autograd_and_torch_optim(float64, layers, trick):
    net = assert_same_training([trick] * 3)
    assert all(net.fused)


def test_clip_norm_is_active_and_its_norm_is_torchs():
    """The fused member's step is exactly max_norm / (n + 1e-6) long, n torch's total norm of
    all of its gradients (biases included), computed here from the weights' Gram matrices."""
    net = make_net(["clip_norm:0.01", "none"])
    x, y = batches(1)[0]
    before = [p.detach().clone() for p in net.parameters()]
    grads = torch.autograd.grad(nll_per_member(net.forward(x, mode="train").logits, y).sum(),
                                net.parameters())
    norm = torch.sqrt(sum((g[0] ** 2).sum() for g in grads))
    assert norm > 0.01
    TrickStepper(net, torch.tensor([1.0, 1.0])).step(x, y, torch.ones(2, dtype=torch.bool))
    step = torch.sqrt(sum(((b[0] - p.detach()[0]) ** 2).sum()
                          for b, p in zip(before, net.parameters(), strict=True)))
    torch.testing.assert_close(step, 0.01 * norm / (norm + 1e-6), rtol=1e-4, atol=1e-7)


def test_the_norm_of_a_rank_b_product_comes_from_its_gram_matrices(float64):
    g = torch.Generator().manual_seed(3)
    inputs = [torch.randn(4, 10, n, generator=g) for n in (7, 5)]
    grads = [torch.randn(4, 10, n, generator=g) for n in (5, 3)]
    direct = sum((torch.bmm(z.transpose(1, 2), d) ** 2).sum(dim=(1, 2))
                 for z, d in zip(inputs, grads, strict=True))
    torch.testing.assert_close(rank_b_sq_norms(inputs, grads), direct, rtol=1e-12, atol=0.0)


# ---- mixed bundles -----------------------------------------------------------------------------
MIXED = ["none", "none", "batchnorm", "residual", "clip_norm:0.05", "dropout:0.2", "adam",
         "clip_norm:0.05+adam", "clip_value:0.01", "l2:0.01+momentum", "l1:0.001", "rmsprop",
         "batchnorm:after+adagrad"]


def test_a_mixed_bundle_matches_autograd_and_torch_optim(float64, layers):
    net = assert_same_training(MIXED, activations=["tanh", "prelu", *["tanh"] * 9, "relu",
                                                   "tanh"])
    assert any(net.fused) and not all(net.fused)


def test_members_not_updated_keep_everything(float64, layers):
    active = torch.tensor([i % 3 != 1 for i in range(len(MIXED))])
    net = make_net(MIXED)
    stepper = TrickStepper(net, torch.full((len(MIXED),), LR))
    start = [net.flat_weights.clone(), net.flat_others.clone(), *[b.clone() for b in
                                                                   net.buffers()]]
    for x, y in batches():
        stepper.step(x, y, active)
    for before, after in zip(start, [net.flat_weights, net.flat_others, *net.buffers()],
                             strict=True):
        assert torch.equal(before[~active], after[~active])
        assert not torch.equal(before[active], after[active]) or before.shape[1] == 0
    assert stepper.optimizer.steps.tolist() == [STEPS * bool(a) for a in active]
    assert_same_training(MIXED, active=active)


def test_a_member_trained_in_a_bundle_equals_the_member_trained_alone():
    """float32, as trained: the bundle's runs and the solo nets' agree to float rounding."""
    tricks = ["none", "batchnorm", "clip_norm:0.05", "adam", "clip_value:0.01", "residual"]
    bundle = make_net(tricks)
    stepper = TrickStepper(bundle, torch.full((len(tricks),), LR))
    solos = [make_net([t], seeds=[k]) for k, t in enumerate(tricks)]
    solo_steppers = [TrickStepper(net, torch.full((1,), LR)) for net in solos]
    for x, y in batches():
        stepper.step(x, y, torch.ones(len(tricks), dtype=torch.bool))
        for solo in solo_steppers:
            solo.step(x, y, torch.ones(1, dtype=torch.bool))
    for k, solo in enumerate(solos):
        for ours, theirs in zip([*bundle.weights, *bundle.biases], [*solo.weights, *solo.biases],
                                strict=True):
            torch.testing.assert_close(ours[k], theirs[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", ["plain", "none", "adam"])
def test_a_member_whose_loss_turns_non_finite_keeps_its_last_finite_weights(layers, path):
    """Its activations overflow (ReLU, huge weights): its loss is NaN, and neither NaN nor inf
    in its gradients or layer inputs reaches its weights (inf * 0 is NaN), on the plain path
    and on the trick path, fused ("none") or not ("adam")."""
    k = 2
    if path == "plain":
        net = BundledMLP.initialize(6, 3, 3, 8, ["relu"] * k, ["normalized"] * k, [0, 1])
    else:
        net = make_net(["none", path], activations=["relu"] * k)
    with torch.no_grad():
        for w in net.weights[:2]:
            w[1] *= 1e30
    before = [w[1].detach().clone() for w in net.weights]
    x, y = batches(1)[0]
    lr, active = torch.full((k,), LR), torch.ones(k, dtype=torch.bool)
    if path == "plain":
        losses, updated = sgd_step(net, x, y, lr, active)
    else:
        losses, updated = TrickStepper(net, lr).step(x, y, active)
    assert updated.tolist() == [True, False] and not torch.isfinite(losses[1])
    for w, saved in zip(net.weights, before, strict=True):
        assert torch.equal(w[1].detach(), saved)
