"""Per-member optimizers, clipping and penalties against torch.optim and torch.nn.utils.

Each member k of a bundle is compared with torch's own optimizer run on separate leaf tensors
equal to params[i][k], step for step, in float64 so the comparisons are tight. (Clipping and
L1 live in their trick units, trainability.tricks.units.clipping and .penalties.)
"""

from __future__ import annotations

import io
import math

import pytest
import torch

from trainability.tricks.base import equal_runs
from trainability.tricks.optim import KINDS, BundleOptimizer, OptimizerSpec
from trainability.tricks.spec import OPTIMIZERS
from trainability.tricks.units.clipping import clip_grad_norm_, clip_grad_value_
from trainability.tricks.units.penalties import add_l1_

DT = torch.float64
# A weight, a bias, a PReLU slope, a BatchNorm gain: the shapes a bundle stacks.
SHAPES = [(4, 3), (1, 3), (1, 1), (1, 5)]
NO_DECAY = {1, 3}
STEPS = 6


def make_params(k: int, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn((k, *shape), generator=gen, dtype=DT) for shape in SHAPES]


def make_grads(k: int, gen: torch.Generator) -> list[torch.Tensor]:
    return [torch.randn((k, *shape), generator=gen, dtype=DT) for shape in SHAPES]


def torch_optimizer(spec: OptimizerSpec, params: list[torch.Tensor], lr: float,
                    l2: float) -> torch.optim.Optimizer:
    """torch.optim's counterpart of `spec` for one member, with no weight decay on NO_DECAY."""
    groups = [{"params": [p for i, p in enumerate(params) if i not in NO_DECAY],
               "weight_decay": l2},
              {"params": [p for i, p in enumerate(params) if i in NO_DECAY],
               "weight_decay": 0.0}]
    if spec.name == "sgd":
        return torch.optim.SGD(groups, lr=lr)
    if spec.name == "momentum":
        return torch.optim.SGD(groups, lr=lr, momentum=spec.momentum)
    if spec.name == "adagrad":
        return torch.optim.Adagrad(groups, lr=lr, eps=spec.eps)
    if spec.name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, alpha=spec.alpha, eps=spec.eps)
    if spec.name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=(spec.beta1, spec.beta2), eps=spec.eps)
    raise AssertionError(spec.name)


class Reference:
    """K torch optimizers, one per member, on leaf copies of the members' slices."""

    def __init__(self, params: list[torch.Tensor], specs: list[OptimizerSpec],
                 lr: torch.Tensor, l2: torch.Tensor):
        self.leaves = [[p[k].clone().requires_grad_(True) for p in params]
                       for k in range(len(specs))]
        self.optimizers = [torch_optimizer(spec, self.leaves[k], float(lr[k]), float(l2[k]))
                           for k, spec in enumerate(specs)]

    def step(self, grads: list[torch.Tensor], mask: list[bool]) -> None:
        for k, (leaves, optimizer) in enumerate(zip(self.leaves, self.optimizers, strict=True)):
            if not mask[k]:
                continue  # torch's optimizer never sees a masked step
            for leaf, g in zip(leaves, grads, strict=True):
                leaf.grad = g[k].clone()
            optimizer.step()

    def assert_matches(self, params: list[torch.Tensor]) -> None:
        for k, leaves in enumerate(self.leaves):
            for p, leaf in zip(params, leaves, strict=True):
                torch.testing.assert_close(p[k], leaf.detach(), rtol=1e-12, atol=1e-12)


SPECS = {
    "sgd": OptimizerSpec("sgd"),
    "momentum": OptimizerSpec("momentum", momentum=0.9),
    "adagrad": OptimizerSpec("adagrad"),
    "rmsprop": OptimizerSpec("rmsprop"),
    "adam": OptimizerSpec("adam"),
}


@pytest.mark.parametrize("fused", [True, False], ids=["fused_kernels", "formulas"])
@pytest.mark.parametrize("decay", [False, True], ids=["no_l2", "l2"])
@pytest.mark.parametrize("kind", list(SPECS))
def test_each_optimizer_matches_torch(kind, decay, fused):
    k = 3
    params = make_params(k)
    specs = [SPECS[kind]] * k
    lr = torch.tensor([0.1, 0.03, 0.007], dtype=DT)
    l2 = torch.tensor([0.05, 0.0, 0.3] if decay else [0.0] * k, dtype=DT)
    reference = Reference(params, specs, lr, l2)
    optimizer = BundleOptimizer(params, specs, lr, l2 if decay else None, no_decay=NO_DECAY,
                                fused=fused)
    gen = torch.Generator().manual_seed(1)
    for _ in range(STEPS):
        grads = make_grads(k, gen)
        optimizer.step(grads, torch.ones(k, dtype=torch.bool))
        reference.step(grads, [True] * k)
        reference.assert_matches(params)
    assert optimizer.steps.tolist() == [STEPS] * k


@pytest.mark.parametrize("order", ["interleaved", "runs"])
def test_mixed_bundle_matches_torch(order):
    specs = [OptimizerSpec("adam"), OptimizerSpec("sgd"), OptimizerSpec("momentum", momentum=0.9),
             OptimizerSpec("rmsprop", alpha=0.9), OptimizerSpec("adagrad"),
             OptimizerSpec("adam", beta1=0.8, beta2=0.99, eps=1e-6),
             OptimizerSpec("momentum", momentum=0.5), OptimizerSpec("sgd")]
    if order == "runs":
        specs = sorted(specs, key=lambda s: s.name)
    k = len(specs)
    params = make_params(k, seed=2)
    lr = torch.linspace(0.01, 0.2, k, dtype=DT)
    l2 = torch.linspace(0.0, 0.1, k, dtype=DT)
    reference = Reference(params, specs, lr, l2)
    optimizer = BundleOptimizer(params, specs, lr, l2, no_decay=NO_DECAY)
    gen = torch.Generator().manual_seed(3)
    for _ in range(STEPS):
        grads = make_grads(k, gen)
        optimizer.step(grads, torch.ones(k, dtype=torch.bool))
        reference.step(grads, [True] * k)
        reference.assert_matches(params)


def test_state_matches_torch_state():
    specs = [OptimizerSpec("adam"), OptimizerSpec("momentum", momentum=0.9),
             OptimizerSpec("adagrad"), OptimizerSpec("rmsprop"), OptimizerSpec("adam")]
    k = len(specs)
    params = make_params(k, seed=4)
    lr = torch.full((k,), 0.05, dtype=DT)
    l2 = torch.full((k,), 0.01, dtype=DT)
    reference = Reference(params, specs, lr, l2)
    optimizer = BundleOptimizer(params, specs, lr, l2, no_decay=NO_DECAY)
    gen = torch.Generator().manual_seed(5)
    for _ in range(3):
        grads = make_grads(k, gen)
        optimizer.step(grads, torch.ones(k, dtype=torch.bool))
        reference.step(grads, [True] * k)
    for member, spec in enumerate(specs):
        state = optimizer.member_state(member)
        assert int(state["step"]) == 3
        torch_state = reference.optimizers[member].state
        for name in spec.buffers:
            for i, leaf in enumerate(reference.leaves[member]):
                torch.testing.assert_close(state[name][i], torch_state[leaf][name],
                                           rtol=1e-12, atol=1e-12)


def test_lr_is_read_at_every_step():
    k = 2
    params = make_params(k)
    lr = torch.tensor([0.1, 0.2], dtype=DT)
    optimizer = BundleOptimizer(params, [OptimizerSpec("sgd")] * k, lr)
    before = [p.clone() for p in params]
    lr.mul_(0.5)  # an in-place schedule
    grads = [torch.ones_like(p) for p in params]
    optimizer.step(grads, torch.ones(k, dtype=torch.bool))
    torch.testing.assert_close(params[0][1], before[0][1] - 0.1)


@pytest.mark.parametrize("fused", [True, False], ids=["fused_kernels", "formulas"])
@pytest.mark.parametrize("order", ["one_kind", "mixed"])
def test_update_mask_freezes_members_and_nan_does_not_leak(order, fused):
    if order == "one_kind":
        specs = [OptimizerSpec("adam")] * 4
    else:
        specs = [OptimizerSpec("adam"), OptimizerSpec("momentum", momentum=0.9),
                 OptimizerSpec("adam"), OptimizerSpec("rmsprop"), OptimizerSpec("adagrad")]
    k = len(specs)
    params = make_params(k, seed=6)
    lr = torch.full((k,), 0.05, dtype=DT)
    l2 = torch.full((k,), 0.02, dtype=DT)
    reference = Reference(params, specs, lr, l2)
    optimizer = BundleOptimizer(params, specs, lr, l2, no_decay=NO_DECAY, fused=fused)
    gen = torch.Generator().manual_seed(7)
    masks = torch.rand((8, k), generator=gen) < 0.6
    masks[0, 0] = False  # member 0 is masked on its very first step (Adam step count 0)
    masks[-1] = True
    for mask in masks:
        grads = make_grads(k, gen)
        for g in grads:
            g[~mask] = math.nan  # masked members get NaN gradients
            g[~mask, ..., 0] = math.inf
        before = [optimizer.member_state(m) for m in range(k)]
        before_params = [p.clone() for p in params]
        optimizer.step(grads, mask)
        reference.step(grads, mask.tolist())
        reference.assert_matches(params)
        for m in range(k):
            if mask[m]:
                continue
            for p, q in zip(params, before_params, strict=True):
                assert torch.equal(p[m], q[m])
            after = optimizer.member_state(m)
            assert torch.equal(after["step"], before[m]["step"])
            for name in specs[m].buffers:
                for a, b in zip(after[name], before[m][name], strict=True):
                    assert torch.equal(a, b)
        assert all(torch.isfinite(p).all() for p in params)
    assert optimizer.steps.tolist() == masks.sum(0).tolist()


@pytest.mark.parametrize("fused", [True, False], ids=["fused_kernels", "formulas"])
def test_skipped_rows_are_left_alone_and_never_read(fused):
    """`skip`: a parameter's rows updated elsewhere (the trick path's fused weights) are not
    touched, whatever their gradient holds; the member's other parameters are updated."""
    specs = [OptimizerSpec("sgd"), OptimizerSpec("adam"), OptimizerSpec("sgd"),
             OptimizerSpec("rmsprop")]
    k = len(specs)
    params = make_params(k, seed=14)
    lr = torch.full((k,), 0.05, dtype=DT)
    reference = Reference(params, specs, lr, torch.zeros(k, dtype=DT))
    optimizer = BundleOptimizer(params, specs, lr, skip={0: [0, 2]}, fused=fused)
    gen = torch.Generator().manual_seed(15)
    before = params[0][[0, 2]].clone()
    for _ in range(3):
        grads = make_grads(k, gen)
        grads[0][[0, 2]] = math.nan
        optimizer.step(grads, torch.ones(k, dtype=torch.bool))
        reference.step([g.nan_to_num() for g in grads], [True] * k)
    assert torch.equal(params[0][[0, 2]], before)
    for k_, leaves in enumerate(reference.leaves):
        for i, (p, leaf) in enumerate(zip(params, leaves, strict=True)):
            if i == 0 and k_ in (0, 2):
                continue
            torch.testing.assert_close(p[k_], leaf.detach(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="out of range"):
        BundleOptimizer(params, specs, lr, skip={4: [0]})


def test_state_dict_round_trip():
    specs = [OptimizerSpec("adam"), OptimizerSpec("sgd"), OptimizerSpec("momentum"),
             OptimizerSpec("adam", beta1=0.5), OptimizerSpec("rmsprop"), OptimizerSpec("adagrad")]
    k = len(specs)
    lr = torch.full((k,), 0.05, dtype=DT)
    l2 = torch.full((k,), 0.01, dtype=DT)
    params = make_params(k, seed=8)
    original = BundleOptimizer(params, specs, lr, l2, no_decay=NO_DECAY)
    gen = torch.Generator().manual_seed(9)
    stream = [(make_grads(k, gen), torch.rand(k, generator=gen) < 0.7) for _ in range(6)]
    for grads, mask in stream[:3]:
        original.step(grads, mask)

    buffer = io.BytesIO()  # plain data and tensors only: loads with weights_only=True
    torch.save(original.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    copies = [p.clone() for p in params]
    restored = BundleOptimizer(copies, specs, lr.clone(), l2.clone(), no_decay=NO_DECAY)
    restored.load_state_dict(state)
    assert torch.equal(restored.steps, original.steps)

    for grads, mask in stream[3:]:
        original.step(grads, mask)
        restored.step(grads, mask)
    for p, q in zip(params, copies, strict=True):
        assert torch.equal(p, q)

    other = BundleOptimizer([p.clone() for p in params], [OptimizerSpec("sgd")] * k, lr)
    with pytest.raises(ValueError, match="specs"):
        other.load_state_dict(state)


def member_leaves(grads: list[torch.Tensor], k: int) -> list[torch.Tensor]:
    leaves = []
    for g in grads:
        leaf = torch.zeros_like(g[k], requires_grad=True)
        leaf.grad = g[k].clone()
        leaves.append(leaf)
    return leaves


def test_clip_grad_norm_matches_torch_per_member():
    k = 5
    gen = torch.Generator().manual_seed(10)
    grads = make_grads(k, gen)
    grads[0][3] *= 100.0  # member 3's norm is far above every other member's
    max_norm = torch.tensor([0.5, 1e3, math.inf, 2.0, 10.0], dtype=DT)
    original = [g.clone() for g in grads]
    norms = clip_grad_norm_(grads, max_norm)
    assert norms.shape == (k,)
    for m in range(k):
        leaves = member_leaves(original, m)
        expected_norm = torch.nn.utils.clip_grad_norm_(leaves, float(max_norm[m]))
        torch.testing.assert_close(norms[m], expected_norm, rtol=1e-12, atol=1e-12)
        for g, leaf in zip(grads, leaves, strict=True):
            torch.testing.assert_close(g[m], leaf.grad, rtol=1e-12, atol=1e-12)
    clipped = [m for m in range(k) if norms[m] > max_norm[m]]
    assert clipped == [0, 3]  # both the clipped and the unclipped case are covered
    for m in (1, 2, 4):
        for g, o in zip(grads, original, strict=True):
            assert torch.equal(g[m], o[m])
    clipped_norm = torch.linalg.vector_norm(torch.cat([g[3].flatten() for g in grads]))
    torch.testing.assert_close(clipped_norm, max_norm[3], rtol=1e-5, atol=0.0)


def test_clip_grad_norm_uses_each_members_own_norm():
    k = 3
    grads = [torch.ones(k, 2, 2, dtype=DT), torch.ones(k, 1, 2, dtype=DT)]
    grads[0][1] = math.nan  # a diverged member
    grads[1][2] *= 1e6
    norms = clip_grad_norm_(grads, torch.full((k,), 1.0, dtype=DT))
    assert math.isnan(norms[1])
    torch.testing.assert_close(norms[0], torch.tensor(math.sqrt(6.0), dtype=DT))
    assert all(torch.isfinite(g[[0, 2]]).all() for g in grads)
    torch.testing.assert_close(grads[0][0], torch.full((2, 2), 1.0 / (math.sqrt(6) + 1e-6),
                                                       dtype=DT))


@pytest.mark.parametrize("clip", [[0.1, 0.5, math.inf, 3.0], [0.1, 0.1, math.inf, 0.1],
                                  [0.5, 0.5, 0.5, 0.5]])
def test_clip_grad_value_matches_torch(clip):
    """Each member clamped by its own bound, whether neighbours share it (one scalar clamp
    over their rows) or not; an infinite bound leaves the member untouched."""
    k = 4
    gen = torch.Generator().manual_seed(11)
    grads = make_grads(k, gen)
    original = [g.clone() for g in grads]
    clip_grad_value_(grads, clip)
    for m in range(k):
        leaves = member_leaves(original, m)
        torch.nn.utils.clip_grad_value_(leaves, clip[m])
        for g, leaf in zip(grads, leaves, strict=True):
            assert torch.equal(g[m], leaf.grad)
        changed = any(not torch.equal(g[m], o[m]) for g, o in zip(grads, original, strict=True))
        assert changed == any(bool((o[m].abs() > clip[m]).any()) for o in original)
    assert any(not torch.equal(g, o) for g, o in zip(grads, original, strict=True))


def test_equal_runs_cover_every_member_once():
    assert equal_runs([0.1, 0.1, math.inf, 0.1]) == [slice(0, 2), slice(2, 3), slice(3, 4)]
    assert equal_runs([2.0]) == [slice(0, 1)]
    assert equal_runs([]) == []


def test_add_l1_is_the_gradient_of_the_l1_penalty():
    k = 3
    params = make_params(k, seed=12)
    params[0][0, 0, 0] = 0.0  # sign(0) = 0, as autograd of abs gives
    l1 = torch.tensor([0.1, 0.0, 2.5], dtype=DT)
    gen = torch.Generator().manual_seed(13)
    grads = make_grads(k, gen)
    original = [g.clone() for g in grads]
    add_l1_(grads, params, l1, skip={1})

    leaves = [p.clone().requires_grad_(True) for p in params]
    penalty = sum((l1.view(k, *[1] * (p.dim() - 1)) * p.abs()).sum()
                  for i, p in enumerate(leaves) if i != 1)
    penalty.backward()
    for i, (g, o, leaf) in enumerate(zip(grads, original, leaves, strict=True)):
        if i == 1:
            assert torch.equal(g, o)
            continue
        torch.testing.assert_close(g, o + leaf.grad, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(g, o + l1.view(k, *[1] * (g.dim() - 1)) * params[i].sign())
    assert grads[0][0, 0, 0] == original[0][0, 0, 0]


def test_optimizer_spec_defaults_and_validation():
    assert OptimizerSpec("adam") == OptimizerSpec("adam", beta1=0.9, beta2=0.999, eps=1e-8)
    assert OptimizerSpec("adagrad").eps == 1e-10
    assert OptimizerSpec("rmsprop").alpha == 0.99 and OptimizerSpec("rmsprop").eps == 1e-8
    assert OptimizerSpec("momentum").momentum == 0.9
    assert OptimizerSpec().name == "sgd"
    with pytest.raises(ValueError, match="unknown optimizer"):
        OptimizerSpec("adamw")
    with pytest.raises(ValueError, match="takes no momentum"):
        OptimizerSpec("sgd", momentum=0.9)
    with pytest.raises(ValueError, match="beta1"):
        OptimizerSpec("adam", beta1=1.0)


def test_the_optimizer_tricks_name_exactly_the_rules_implemented_here():
    assert OPTIMIZERS == KINDS


def test_bad_shapes_are_rejected():
    params = make_params(3)
    with pytest.raises(ValueError, match="specs"):
        BundleOptimizer(params, [OptimizerSpec()] * 2, torch.ones(3))
    with pytest.raises(ValueError, match="lr"):
        BundleOptimizer(params, [OptimizerSpec()] * 3, torch.ones(2))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_step_and_clipping_do_not_sync_with_the_host():
    k = 4
    specs = [OptimizerSpec("adam"), OptimizerSpec("sgd"), OptimizerSpec("adam"),
             OptimizerSpec("momentum")]
    params = [p.cuda() for p in make_params(k)]
    lr = torch.full((k,), 0.01, device="cuda")
    l2 = torch.full((k,), 0.01, device="cuda")
    optimizer = BundleOptimizer(params, specs, lr.double(), l2.double(), no_decay=NO_DECAY)
    grads = [torch.randn_like(p) for p in params]
    mask = torch.tensor([True, False, True, True], device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        clip_grad_norm_(grads, torch.full((k,), 1.0, device="cuda"))
        clip_grad_value_(grads, torch.full((k,), 1.0, device="cuda"))
        add_l1_(grads, params, torch.full((k,), 1e-3, device="cuda"))
        optimizer.step(grads, mask)
    finally:
        torch.cuda.set_sync_debug_mode("default")
