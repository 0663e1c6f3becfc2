"""Residual blocks of two layers and the inits that scale their branches: each arm does what
its definition says, trains exactly as autograd and torch.optim would, deep, and resumes.

- `residual:block=2`: after the first hidden layer, blocks x + W_2 f(W_1 x + b_1) + b_2;
  `residual:scale=<s>` (or `invsqrt`, 1/sqrt(L)) multiplies every branch by a fixed factor.
- `residual:block=2+fixup` (Zhang, Dauphin & Ma 2019): the last layer of each branch and the
  classifier start at 0, the other branch layers at the member's init times L^(-1/(2m-2));
  scalar multipliers (1) and biases (0) are learned.
- `residual[:block=2]+rezero` (Bachlechner et al. 2020; SkipInit, De & Smith 2020): h = x +
  alpha F(x), alpha learned from 0.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from trainability.nets.mlp import nll_per_member
from trainability.train import checkpoint as checkpoints
from trainability.train.config import BundleConfig, ConfigError
from trainability.train.outputs import read_run
from trainability.train.trainer import train_bundle
from trainability.tricks.base import TRICKS
from trainability.tricks.net import TrickMLP
from trainability.tricks.spec import canonical, parse_trick
from trainability.tricks.step import TrickStepper
from trick_reference import train_side_by_side


@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def make_net(tricks, depth=6, width=12, activation="relu", initializer="he_normal",
             seeds=None, n_inputs=6, n_classes=3):
    k = len(tricks)
    return TrickMLP.initialize(n_inputs, n_classes, depth, width, [activation] * k,
                               [initializer] * k, seeds or list(range(k)),
                               tricks=[parse_trick(t) for t in tricks], noise_seed=1)


def batches(n=6, seed=0, size=10, n_inputs=6, n_classes=3):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, n_inputs, generator=g),
             torch.randint(0, n_classes, (size,), generator=g)) for _ in range(n)]


def member(net, k):
    """Member k's weights (n_in, n_out) and biases (n_out,), detached."""
    return ([w[k].detach() for w in net.weights], [b[k, 0].detach() for b in net.biases])


# ---- spelling and rules ------------------------------------------------------------------------
def test_each_network_has_one_spelling_and_plain_residual_keeps_its_own():
    spellings = {
        "residual": "residual",
        "residual:block=1": "residual",
        "residual:scale=1": "residual",
        "residual:2": "residual:block=2",
        "residual:scale=0.5,block=2": "residual:block=2,scale=0.5",
        "residual:block=2,scale=invsqrt": "residual:block=2,scale=invsqrt",
        "residual:scale=0.25": "residual:scale=0.25",
        "fixup+residual:block=2": "residual:block=2+fixup",
        "rezero+adam+residual:block=2": "residual:block=2+adam+rezero",
        "rezero+residual": "residual+rezero",
        "batchnorm+residual:block=2+dropout:0.1": "batchnorm+residual:block=2+dropout:0.1",
    }
    assert {text: canonical(text) for text in spellings} == spellings
    assert all(canonical(c) == c for c in spellings.values())  # the spelling parses back
    for name in ("fixup", "rezero"):
        unit = TRICKS.factory(name)
        assert unit.family == "architecture" and unit.label
        assert unit.color.startswith("#") and len(unit.color) == 7
    labels = {parse_trick(t).units[0].label for t in
              ("residual", "residual:block=2", "residual:scale=invsqrt")}
    assert len(labels) == 3
    # Plain residual is the same unit, with the same flags, as before blocks existed.
    unit = parse_trick("residual").get("residual")
    assert (unit.block, unit.scale, unit.label, unit.color) == (None, None, "Residual", "#de8f05")
    for text in ("residual:block=2+fixup", "residual:block=2+rezero", "residual:scale=invsqrt"):
        tricks = parse_trick(text)
        assert tricks.fused_update and not tricks.plain_jacobian


@pytest.mark.parametrize("text, fragment", [
    ("residual:block=0", "integer >= 1"),
    ("residual:block=1.5", "integer >= 1"),
    ("residual:scale=-1", "number > 0"),
    ("residual:scale=sqrt", "'invsqrt'"),
    ("residual:width=3", "bad arguments for trick"),
    ("fixup", "add residual:block=2"),
    ("residual+fixup", "m >= 2 layers"),
    ("residual:block=2,scale=0.5+fixup", "drop residual's scale="),
    ("residual:block=2+fixup+rezero", "keep one"),
    ("batchnorm+residual:block=2+fixup", "drop batchnorm"),
    ("rezero", "add residual"),
    ("residual:scale=invsqrt+rezero", "drop residual's scale="),
    ("batchnorm:after+residual:block=2", "use batchnorm \\(before\\)"),
    ("fixup:1", "bad arguments for trick"),
])
def test_bad_spellings_fail_with_one_line(text, fragment):
    with pytest.raises(ValueError, match=fragment) as error:
        parse_trick(text)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("members, depth, fragment", [
    ([{"trick": "residual:block=2"}], 2, "depth >= 3"),
    ([{"trick": "residual:block=3+fixup"}], 3, "depth >= 4"),
    ([{"activation": "maxout:2", "trick": "residual:block=2"}], 5, "elementwise"),
    ([{"trick": "residual:block=2+fixup+pretrain_dae"}], 5, "pretrain_dae"),
])
def test_configs_refuse_what_the_blocks_cannot_do(members, depth, fragment):
    with pytest.raises(ConfigError, match=fragment) as error:
        BundleConfig.from_dict({"depth": depth, "members": members})
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match=fragment):
        make_net([m["trick"] for m in members], depth=depth,
                 activation=members[0].get("activation", "relu"))


# ---- the function each arm computes ----------------------------------------------------------
@pytest.mark.parametrize("trick, scale", [("residual:block=2", 1.0),
                                          ("residual:block=2,scale=0.3", 0.3),
                                          ("residual:block=2,scale=invsqrt", 1 / math.sqrt(2))])
def test_two_layer_blocks_and_their_fixed_scale_compute_the_defined_function(float64, trick,
                                                                             scale):
    """Depth 6: the first hidden layer, two blocks (layers 2-3, 4-5: L = 2), one plain
    layer on top; each branch ends with a linear layer and is multiplied by its scale."""
    net = make_net(["none", trick, "residual"], depth=6, activation="tanh",
                   initializer="normalized")
    x = batches(1)[0][0]
    w, b = member(net, 1)
    f = torch.tanh
    h1 = f(x @ w[0] + b[0])
    h3 = h1 + scale * (f(h1 @ w[1] + b[1]) @ w[2] + b[2])
    h5 = h3 + scale * (f(h3 @ w[3] + b[3]) @ w[4] + b[4])
    h6 = f(h5 @ w[5] + b[5])
    forward = net.forward(x)
    torch.testing.assert_close(forward.logits[1], h6 @ w[6] + b[6])
    # The branch's last layer applies no activation: its output is the skip plus s times its
    # pre-activation. The plain member beside it is the plain network.
    torch.testing.assert_close(forward.activations[2][1],
                               h1 + scale * forward.pre_activations[2][1])
    assert net.no_activation[2].view(-1).tolist() == [False, True, False]
    assert net.no_activation[1] is None and net.no_activation[5] is None
    # Beside it, the plain network and one-layer skips (h^l = h^{l-1} + f(s^l)) as ever.
    for k, skip in ((0, 0.0), (2, 1.0)):
        wp, bp = member(net, k)
        h = f(x @ wp[0] + bp[0])
        for layer in range(1, 6):
            h = skip * h + f(h @ wp[layer] + bp[layer])
        torch.testing.assert_close(forward.logits[k], h @ wp[6] + bp[6])


def test_a_fixed_scale_multiplies_one_layer_branches_too(float64):
    depth = 4  # L = 3 one-layer branches
    net = make_net(["residual", "residual:scale=invsqrt", "residual:scale=2"], depth=depth,
                   activation="tanh", initializer="normalized", seeds=[0, 0, 0])
    forward = net.forward(batches(1)[0][0])
    for layer in range(1, depth):
        branch = torch.tanh(forward.pre_activations[layer])  # (K, B, n)
        h_in = forward.activations[layer - 1]
        for k, scale in enumerate([1.0, 1 / math.sqrt(depth - 1), 2.0]):
            torch.testing.assert_close(forward.activations[layer][k],
                                       h_in[k] + scale * branch[k])


# ---- Fixup ------------------------------------------------------------------------------------
@pytest.mark.parametrize("block, depth", [(2, 9), (3, 11)])
def test_fixup_zeroes_each_branch_end_and_the_classifier_and_scales_the_rest(block, depth):
    """Against the same member drawn without Fixup (same seed): branch layers but the last
    are the drawn weights times L^(-1/(2m-2)) exactly, and their measured std is He's
    sqrt(2 / fan_in) times that factor; last layers and the classifier are 0; the first
    hidden layer and the plain layers on top are as drawn."""
    width = 256
    net = make_net([f"residual:block={block}", f"residual:block={block}+fixup"], depth=depth,
                   width=width, seeds=[7, 7])
    (w, b), (w_fix, b_fix) = member(net, 0), member(net, 1)
    n_branches = (depth - 1) // block
    factor = n_branches ** (-1 / (2 * block - 2))
    assert factor < 1
    branch_layers = range(1, 1 + n_branches * block)
    lasts = [block * (j + 1) for j in range(n_branches)]
    for layer in range(depth + 1):
        if layer in lasts or layer == depth:
            assert torch.count_nonzero(w_fix[layer]) == 0 and torch.count_nonzero(b_fix[layer]) == 0
            assert torch.count_nonzero(w[layer]) > 0
        elif layer in branch_layers:
            torch.testing.assert_close(w_fix[layer], w[layer] * factor, rtol=0, atol=0)
            he_std = math.sqrt(2 / width) * factor
            assert w_fix[layer].std().item() == pytest.approx(he_std, rel=0.02)
        else:  # the first hidden layer; the plain layer on top when (depth - 1) % m > 0
            assert torch.equal(w_fix[layer], w[layer]) and torch.equal(b_fix[layer], b[layer])


def test_fixup_starts_as_the_identity_and_learns_from_the_classifier_down(float64):
    net = make_net(["residual:block=2+fixup", "none"], depth=5)
    x, y = batches(1)[0]
    forward = net.forward(x)
    stem = forward.activations[0][0]
    for layer in (2, 4):  # the block ends: x + 0
        assert torch.equal(forward.activations[layer][0], stem)
    assert torch.count_nonzero(forward.logits[0]) == 0
    hooks = net.tricks["fixup"]
    assert hooks.last_layers == [2, 4] and hooks.act_layers == [0, 1, 3]
    assert all(torch.all(m == 1) for m in hooks.params["multiplier"])
    assert all(torch.all(c == 0) for role in ("bias_in", "bias_act", "bias_out")
               for c in hooks.params[role])
    # At init only the classifier (and its scalar bias) has a gradient: every branch's
    # output is multiplied by a zero weight, and the classifier's weights are 0.
    weight_grads = torch.autograd.grad(nll_per_member(forward.logits, y).sum(), net.weights)
    assert torch.count_nonzero(weight_grads[5][0]) > 0
    assert all(torch.count_nonzero(weight_grads[i][0]) == 0 for i in range(5))
    # Trained a few steps, the branches' last layers and the scalars move off their start.
    stepper = TrickStepper(net, torch.full((2,), 0.1))
    for x, y in batches(4):
        stepper.step(x, y, torch.ones(2, dtype=torch.bool))
    assert torch.count_nonzero(net.weights[2][0]) > 0 and torch.count_nonzero(net.weights[4][0]) > 0
    assert not torch.all(hooks.params["multiplier"][0][0] == 1)
    assert not torch.all(hooks.params["bias_in"][0][0] == 0)
    # Members without Fixup keep their scalars' entries untouched.
    assert all(torch.all(p[1] == start) for role, start in
               (("multiplier", 1.0), ("bias_in", 0.0), ("bias_act", 0.0), ("bias_out", 0.0))
               for p in hooks.params[role])


# ---- ReZero -----------------------------------------------------------------------------------
@pytest.mark.parametrize("residual", ["residual:block=2", "residual"])
def test_rezero_computes_the_skip_path_at_init_and_alpha_gets_a_gradient(float64, residual):
    depth = 5
    net = make_net([f"{residual}+rezero", residual], depth=depth, seeds=[3, 3])
    x, y = batches(1)[0]
    forward = net.forward(x)
    stem = forward.activations[0][0]
    ends = [2, 4] if residual == "residual:block=2" else [1, 2, 3, 4]
    for layer in ends:
        assert torch.equal(forward.activations[layer][0], stem)
    w, b = member(net, 0)
    torch.testing.assert_close(forward.logits[0], stem @ w[depth] + b[depth])
    assert not torch.allclose(forward.logits[1], forward.logits[0])  # the same net, ungated
    hooks = net.tricks["rezero"]
    assert hooks.layers == ends
    alphas = hooks.params["alpha"]
    grads = torch.autograd.grad(nll_per_member(forward.logits, y).sum(), [*alphas, net.weights[2]])
    for grad in grads[:-1]:
        assert grad[0].abs().item() > 1e-6  # dCost/dalpha = <dCost/dh, F(x)> != 0
        assert grad[1].item() == 0  # the member without the gate
    assert torch.count_nonzero(grads[-1][0]) == 0  # the branch itself waits for alpha
    stepper = TrickStepper(net, torch.full((2,), 0.1))
    for x, y in batches(3):
        stepper.step(x, y, torch.ones(2, dtype=torch.bool))
    assert all(a[0].abs().item() > 0 for a in alphas) and all(a[1].item() == 0 for a in alphas)


# ---- against autograd, torch.optim and torch.nn.utils ---------------------------------------
@pytest.mark.parametrize("optimizer", ["", "+momentum:0.9", "+adagrad", "+rmsprop", "+adam"])
def test_the_arms_train_as_autograd_and_torch_optim_in_a_mixed_bundle(float64, optimizer):
    """Every arm beside plain, one-layer residual and clipped members in one bundle, under
    each optimizer: the trick path's step (fused rank-B updates for plain-SGD members, the
    scalars on the flat parameter path) equals autograd over every parameter and torch.optim
    per member, step after step."""
    tricks = ["none", "residual", f"residual:block=2+fixup{optimizer}",
              f"residual:block=2+rezero{optimizer}", f"residual+rezero{optimizer}",
              f"residual:block=2,scale=invsqrt{optimizer}", "residual:block=3+fixup",
              "residual:block=2+rezero+clip_norm:0.05", "residual:block=2+fixup+dropout:0.2"]
    net, twin = make_net(tricks), make_net(tricks)
    assert net.fused[2] == (optimizer == "")
    train_side_by_side(net, twin, 0.1, batches())


# ---- deep, and in the whole run ---------------------------------------------------------------
def test_deep_relu_fixup_and_rezero_nets_train_where_the_unscaled_skip_blows_up():
    """Depth 30 (14 two-layer blocks), width 32, He init, 300 SGD updates at rate 0.05 on a
    linearly separable 4-class problem: Fixup and ReZero stay finite and learn; the unscaled
    blocks start with a loss in the thousands (the variance triples at every block)."""
    depth, width, n_inputs, n_classes = 30, 32, 20, 4
    tricks = ["residual:block=2+fixup", "residual:block=2+rezero", "residual:block=2"]
    net = make_net(tricks, depth=depth, width=width, n_inputs=n_inputs, n_classes=n_classes)
    g = torch.Generator().manual_seed(0)
    teacher = torch.randn(n_inputs, n_classes, generator=g)

    def batch(n):
        x = torch.randn(n, n_inputs, generator=g)
        return x, (x @ teacher).argmax(1)

    held_out = batch(1000)
    start = nll_per_member(net.logits(held_out[0]), held_out[1])
    assert start[0].item() == pytest.approx(math.log(n_classes), rel=1e-6)  # zero classifier
    assert start[2].item() > 100 * math.log(n_classes)
    stepper = TrickStepper(net, torch.full((3,), 0.05))
    active = torch.ones(3, dtype=torch.bool)
    for _ in range(300):
        losses, updated = stepper.step(*batch(32), active)
        assert torch.isfinite(losses[:2]).all() and updated[:2].all()
    end = nll_per_member(net.logits(held_out[0]), held_out[1])
    assert torch.isfinite(net.flat_weights[:2]).all() and torch.isfinite(net.flat_others[:2]).all()
    assert (end[:2] < 0.6 * math.log(n_classes)).all()
    assert not end[2].item() < math.log(n_classes)  # diverged (NaN) or no better than chance


def test_the_arms_train_in_a_bundle_with_others_record_layer_statistics_and_resume(tmp_path):
    members = [{"activation": a, "initializer": i, "trick": t, "lr": 0.05} for a, i, t in [
        ("tanh", "normalized", "none"), ("relu", "he_normal", "residual:block=2+fixup"),
        ("relu", "he_normal", "residual:block=2+rezero+adam"),
        ("tanh", "normalized", "residual:block=2,scale=invsqrt"),
        ("relu", "he_normal", "residual+rezero+momentum:0.9"),
        ("relu", "he_normal", "batchnorm+residual:block=2+dropout:0.1")]]
    config = BundleConfig.from_dict({
        "dataset": "shapeset", "depth": 5, "width": 16, "updates": 60, "eval_every": 20,
        "monitor_every": 30, "monitor_size": 40, "valid_size": 200, "test_size": 200,
        "histogram_bins": 10, "device": "cpu", "members": members})
    info, tables = read_run(train_bundle(config, tmp_path / "whole", progress=False))
    assert [m["trick"] for m in info["members"]] == [canonical(m["trick"]) for m in members]
    curves, stats = tables["curves"], tables["layer_stats"]
    final = curves[(curves["update"] == 60) & (curves.metric == "test_error")]
    assert final.value.notna().all() and len(final) == len(members)
    # Every layer's statistics are recorded; the layer-Jacobian singular values only where
    # the layer Jacobian is diag(f'(s)) W^T (plain_jacobian), here the plain member's.
    for quantity in ("activation", "backprop_grad", "weight_grad"):
        rows = stats[(stats.quantity == quantity) & (stats.stat == "std")]
        assert rows.value.notna().all() and set(rows.layer) == set(range(1, 6))
    jacobian = stats[stats.quantity == "jacobian"]
    assert jacobian[jacobian.member == 0].value.notna().all()
    assert jacobian[jacobian.member > 0].value.isna().all()
    # The scalars live in the flat parameter buffers: an interrupted run resumes bitwise.
    original = checkpoints.save

    def save_and_stop(checkpoint, path):
        original(checkpoint, path)
        if checkpoint.update == 40:
            raise KeyboardInterrupt

    checkpoints.save = save_and_stop
    try:
        with pytest.raises(KeyboardInterrupt):
            train_bundle(config, tmp_path / "resumed", progress=False, checkpoint_every=20)
    finally:
        checkpoints.save = original
    resumed_info, resumed = read_run(train_bundle(config, tmp_path / "resumed", progress=False,
                                                  checkpoint_every=20))
    assert resumed_info["resumed_from_update"] == 40
    for name in ("curves", "layer_stats", "histograms"):
        pd.testing.assert_frame_equal(resumed[name], tables[name], check_exact=True)
