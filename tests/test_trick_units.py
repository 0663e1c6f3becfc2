"""A trick is one unit: the built-in units keep their spelling and order, and a new trick
(weight normalization, defined in this file and nowhere else) trains beside the others.

Weight normalization (Salimans & Kingma 2016) reparametrizes each weight matrix per output
unit j as w_j = g_j v_j / ||v_j||, with g_j initialized to ||v_j|| so that the network
function at initialization is the plain network's. Everything it needs is below: its spec,
its rule, its parameters (g; v is the weight matrix itself) and its hook into the forward
pass. It registers itself like any plugin module would.
"""

from dataclasses import dataclass

import pandas as pd
import pytest
import torch

from trainability.train import checkpoint as checkpoints
from trainability.train.config import BundleConfig, ConfigError
from trainability.train.outputs import read_run
from trainability.train.trainer import train_bundle
from trainability.tricks.base import TRICKS, Trick, TrickHooks, register
from trainability.tricks.net import TrickMLP
from trainability.tricks.spec import canonical, figure_order, parse_trick
from trainability.tricks.step import TrickStepper
from trick_reference import train_side_by_side


# ---- the new trick: this is all of it ----------------------------------------------------------
@register
@dataclass(frozen=True)
class WeightNorm(Trick):
    """weight_norm: w = g v / ||v|| per output unit, for every layer (the softmax's too)."""

    name = "weight_norm"
    label = "Weight norm"
    family = "architecture"
    plain_jacobian = False  # the monitor's Jacobian reads v, not w

    def check(self, tricks, depth=None, activation=None) -> None:
        if "pretrain_dae" in tricks:
            raise ValueError("weight_norm reparametrizes W; pretrain_dae would train v alone")

    @classmethod
    def hooks(cls, net, members):
        return WeightNormHooks(net, members)


class WeightNormHooks(TrickHooks):
    """g: per layer (K, 1, n_out), the norm of each output unit's weight vector at init."""

    def __init__(self, net, members):
        super().__init__(net, members)
        self.params = {"g": [w.detach().norm(dim=1, keepdim=True).requires_grad_(True)
                             for w in net.weights]}

    def weight(self, layer, v):
        g = self.params["g"][layer]  # (K, 1, n_out)
        return torch.where(self.mask, g * v / v.norm(dim=1, keepdim=True), v)


# ---- the built-in units ------------------------------------------------------------------------
BUILT_IN = ("batchnorm", "residual", "clip_norm", "clip_value", "dropout", "l2", "l1",
            "momentum", "adagrad", "rmsprop", "adam", "early_stopping", "pretrain_dae",
            "fixup", "rezero")


def test_built_in_tricks_keep_their_registration_spelling_and_figure_order():
    assert tuple(TRICKS.registered()[:len(BUILT_IN)]) == BUILT_IN
    assert [n for n in figure_order() if n in BUILT_IN] == [
        "batchnorm", "residual", "fixup", "rezero", "clip_norm", "clip_value", "momentum",
        "adagrad", "rmsprop", "adam", "dropout", "l2", "l1", "early_stopping", "pretrain_dae"]
    spellings = {
        "adam+clip_norm:1.0": "clip_norm:1+adam",
        "momentum+l2:0.001": "l2:0.001+momentum:0.9",
        "adagrad+clip_value:0.1": "clip_value:0.1+adagrad",
        "batchnorm:before+residual": "batchnorm+residual",
        "fixup+residual:block=2": "residual:block=2+fixup",
        "rmsprop+batchnorm:after": "batchnorm:after+rmsprop",
        "early_stopping:patience=3+dropout": "dropout:0.5+early_stopping:3",
        "pretrain_dae:updates=200": "pretrain_dae:updates=200,noise=0.25,lr=0.01",
        "l1:1e-5+l2:0.0001": "l2:0.0001+l1:1e-05",
        "none": "none",
    }
    assert {text: canonical(text) for text in spellings} == spellings


def test_every_unit_has_a_label_a_family_and_a_colour():
    for name in BUILT_IN:
        unit = TRICKS.factory(name)
        assert unit.label and unit.color.startswith("#") and len(unit.color) == 7
    assert parse_trick("batchnorm:after").get("batchnorm").color != TRICKS.factory(
        "batchnorm").color


# ---- weight normalization, added above ---------------------------------------------------------
def test_a_new_trick_is_spelled_and_checked_by_its_own_unit():
    assert canonical("weight_norm+adam") == "adam+weight_norm"  # registered last
    assert parse_trick("weight_norm").plain_jacobian is False
    with pytest.raises(ConfigError, match="members\\[0\\].trick: .*pretrain_dae would train"):
        BundleConfig.from_dict({"members": [{"trick": "weight_norm+pretrain_dae"}]})


def test_weight_norm_keeps_the_function_at_init_and_trains_g_and_v():
    net = TrickMLP.initialize(6, 3, 3, 8, ["tanh"] * 2, ["normalized"] * 2, [0, 0],
                              tricks=[parse_trick("weight_norm"), parse_trick("none")])
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g)
    logits = net.logits(x)  # (2, 16, 3): both members start from the same v (same seed)
    torch.testing.assert_close(logits[0], logits[1])
    hooks = net.tricks["weight_norm"]
    g0 = [t.detach().clone() for t in hooks.params["g"]]
    v0 = [w.detach().clone() for w in net.weights]
    stepper = TrickStepper(net, torch.tensor([0.1, 0.1]))
    for _ in range(3):
        stepper.step(x, y, torch.ones(2, dtype=torch.bool))
    for before, after in zip(g0, hooks.params["g"], strict=True):
        assert not torch.equal(before[0], after[0].detach())  # g is trained...
        assert torch.equal(before[1], after[1].detach())  # ...only where the trick is used
    for before, after in zip(v0, net.weights, strict=True):
        assert not torch.equal(before[0], after[0].detach())  # v is trained
    # The forward pass uses w = g v / ||v||: the function is that of those weights.
    v, gains = net.weights[-1].detach()[0], hooks.params["g"][-1].detach()[0]
    w = gains * v / v.norm(dim=0, keepdim=True)
    h = net.forward(x).activations[-1].detach()[0]
    torch.testing.assert_close(net.logits(x)[0], h @ w + net.biases[-1].detach()[0])
    assert not torch.allclose(net.logits(x)[0], net.logits(x)[1])  # and it trained otherwise


def test_weight_norm_is_differentiated_through_its_transform_beside_fused_members():
    """The trick path takes z^T g, the gradient of w as used, back through w = g v / ||v|| to
    g and v (for members with the transform), while the members beside it keep their fused
    update: autograd, torch.optim and torch.nn.utils give the same training (float64)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tricks = ["none", "weight_norm", "clip_norm:0.05", "adam+weight_norm"]

        def make():
            return TrickMLP.initialize(6, 3, 3, 8, ["tanh"] * 4, ["normalized"] * 4,
                                       [0, 1, 2, 3], tricks=[parse_trick(t) for t in tricks])

        net, twin = make(), make()
        assert net.fused == [True, False, True, False] and net.transforms_weights
        g = torch.Generator().manual_seed(0)
        batches = [(torch.randn(10, 6, generator=g), torch.randint(0, 3, (10,), generator=g))
                   for _ in range(5)]
        train_side_by_side(net, twin, 0.1, batches)
    finally:
        torch.set_default_dtype(before)


def bundle(last_trick):
    members = [{"activation": "tanh", "trick": t, "lr": 0.05, "seed": s} for t, s in [
        ("none", 0), ("batchnorm", 1), ("adam", 2), ("dropout:0.1", 3), (last_trick, 0)]]
    return BundleConfig.from_dict({
        "dataset": "shapeset", "depth": 3, "width": 16, "updates": 60, "eval_every": 20,
        "monitor_every": 30, "monitor_size": 40, "valid_size": 200, "test_size": 200,
        "histogram_bins": 10, "device": "cpu", "members": members})


def test_weight_norm_trains_in_a_bundle_beside_other_tricks_and_resumes(tmp_path):
    config = bundle("weight_norm")
    info, tables = read_run(train_bundle(config, tmp_path / "with", progress=False))
    # The bundle without it: the same members, the last one plain. (The bundle keeps its
    # size: dropout draws one noise tensor for the whole bundle, so its mask depends on K.)
    _, without = read_run(train_bundle(bundle("none"), tmp_path / "without", progress=False))
    curves, plain = tables["curves"], without["curves"]
    others = [0, 1, 2, 3]
    for name in ("curves", "layer_stats"):
        mine, theirs = tables[name], without[name]
        pd.testing.assert_frame_equal(
            mine[mine.member.isin(others)].reset_index(drop=True),
            theirs[theirs.member.isin(others)].reset_index(drop=True),
            check_exact=False, rtol=1e-5, atol=1e-7)
    # At initialization weight norm is the plain network: member 4 = member 0 (same seed).
    start = curves[curves["update"] == 0]
    torch.testing.assert_close(
        torch.tensor(start[start.member == 4].value.values),
        torch.tensor(start[start.member == 0].value.values), rtol=1e-5, atol=1e-7)
    # After training it is not: g and v learn differently from W.
    end = curves[(curves["update"] == 60) & (curves.metric == "train_loss")]
    end_plain = plain[(plain["update"] == 60) & (plain.metric == "train_loss")]
    assert end[end.member == 4].value.item() != end_plain[end_plain.member == 4].value.item()
    assert info["members"][4]["trick"] == "weight_norm"
    assert end.value.notna().all()
    # Its parameters live in the network's flat buffers, so a checkpoint holds them: an
    # interrupted run resumes bitwise.
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
