"""How updates run: eagerly on the CPU; on CUDA captured once as a graph and replayed, giving the
eager results without one host sync per update. The CUDA tests are marked `cuda` and skipped
without a GPU (benchmarks/device_check.py runs them on one)."""

from __future__ import annotations

import pytest
import torch

from trainability.nets.mlp import BundledMLP
from trainability.train.config import BundleConfig, MemberConfig
from trainability.train.engine import configure_device, make_engine
from trainability.train.outputs import read_run
from trainability.train.sgd import sgd_step
from trainability.train.trainer import train_bundle
from trainability.tricks.net import TrickMLP
from trainability.tricks.spec import parse_trick
from trainability.tricks.step import TrickStepper


def plain_step(device, k=3, seed=0):
    net = BundledMLP.initialize(20, 4, 3, 32, ["tanh"] * k, ["normalized"] * k,
                                list(range(seed, seed + k)), device=device)
    lr = torch.full((k,), 0.2, device=device)
    return net, (lambda x, y, active: sgd_step(net, x, y, lr, active))


def trick_step(device, tricks=("adam", "batchnorm", "clip_norm:1", "none")):
    k = len(tricks)
    net = TrickMLP.initialize(20, 4, 3, 32, ["tanh"] * k, ["normalized"] * k, list(range(k)),
                              device=device, tricks=[parse_trick(t) for t in tricks],
                              noise_seed=7)
    stepper = TrickStepper(net, torch.full((k,), 0.05, device=device))
    return net, stepper.step


def batches(device, n=40, seed=1):
    """`n` minibatches cycling over 4 fixed ones whose label is the largest of the first 4
    inputs: learnable, so the loss falls within a few dozen updates."""
    g = torch.Generator().manual_seed(seed)
    fixed = []
    for _ in range(4):
        x = torch.rand(10, 20, generator=g)
        fixed.append((x.to(device), x[:, :4].argmax(1).to(device)))
    return [fixed[i % 4] for i in range(n)]


def run(step, data, k, device, graph: bool):
    engine = make_engine(step, device, 10, 20, k, mode="graph" if graph else "eager")
    active = torch.ones(k, dtype=torch.bool, device=device)
    losses = []
    for x, y in data:
        loss, _ = engine.step(x, y, active)
        losses.append(loss.clone())
    return engine, torch.stack(losses)


# ---- everywhere --------------------------------------------------------------------------------
def test_on_the_cpu_updates_run_eagerly_and_a_graph_is_refused():
    _, step = plain_step("cpu")
    engine = make_engine(step, torch.device("cpu"), 10, 20, 3)
    assert engine.name == "eager" and engine.step is step
    assert configure_device(torch.device("cpu")) == {}
    with pytest.raises(ValueError, match="engine 'graph' needs a CUDA device"):
        make_engine(step, torch.device("cpu"), 10, 20, 3, mode="graph")
    with pytest.raises(ValueError, match="engine must be one of"):
        make_engine(step, torch.device("cpu"), 10, 20, 3, mode="fast")


@pytest.mark.parametrize("make", [plain_step, trick_step])
def test_the_steps_the_gpu_tests_capture_train_here(make):
    """The same helpers as the CUDA tests below, run eagerly on the CPU, so that those tests
    exercise working code on the first GPU they meet."""
    net, step = make("cpu")
    _, losses = run(step, batches("cpu"), net.n_members, torch.device("cpu"), graph=False)
    assert torch.isfinite(losses).all() and (losses[-5:].mean(0) < losses[:5].mean(0)).all()


def test_a_run_records_its_engine(tmp_path):
    config = BundleConfig(dataset="shapeset", depth=2, width=16, updates=10, eval_every=10,
                          monitor_every=0, monitor_size=20, valid_size=50, test_size=50,
                          histogram_bins=0, device="cpu", members=(MemberConfig(),))
    info, _ = read_run(train_bundle(config, tmp_path / "run", progress=False))
    assert info["engine"]["engine"] == "eager" and info["engine"]["note"] is None
    assert info["engine"]["formulation"] in ("w_gt", "g_wt")


# ---- on a GPU ----------------------------------------------------------------------------------
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind", ["plain", "tricks"])
def test_a_captured_update_gives_the_eager_results(kind):
    device = torch.device("cuda")
    configure_device(device)
    make = plain_step if kind == "plain" else trick_step
    data = batches(device)
    net_e, step_e = make(device)
    net_g, step_g = make(device)
    k = net_e.n_members
    engine, graph_losses = run(step_g, data, k, device, graph=True)
    _, eager_losses = run(step_e, data, k, device, graph=False)
    assert engine.name == "cuda-graph"
    torch.testing.assert_close(graph_losses, eager_losses, rtol=1e-5, atol=1e-6)
    for a, b in zip(net_g.weights, net_e.weights, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_captured_updates_never_wait_for_the_host():
    device = torch.device("cuda")
    configure_device(device)
    net, step = plain_step(device, k=4)
    engine = make_engine(step, device, 10, 20, 4, mode="graph")
    data = batches(device, n=20)
    active = torch.ones(4, dtype=torch.bool, device=device)
    loss_sum = torch.zeros(4, device=device)
    diverged_at = torch.full((4,), -1, dtype=torch.long, device=device)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:  # what the run loop does per update
        for update, (x, y) in enumerate(data, start=1):
            losses, updated = engine.step(x, y, active)
            diverged_at = torch.where(active & ~updated, update, diverged_at)
            loss_sum += torch.where(updated, losses, 0.0)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(loss_sum).all() and (diverged_at == -1).all()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_bundle_trains_on_the_gpu_with_a_captured_graph(tmp_path):
    config = BundleConfig(dataset="shapeset", depth=3, width=64, updates=300, eval_every=100,
                          monitor_every=100, monitor_size=50, valid_size=500, test_size=500,
                          device="cuda",
                          members=(MemberConfig("tanh", "standard", 0.05, 0),
                                   MemberConfig("tanh", "normalized", 0.05, 0)))
    info, tables = read_run(train_bundle(config, tmp_path / "run", progress=False))
    assert info["engine"]["engine"] == "cuda-graph" and info["engine"]["tf32"] is False
    curves = tables["curves"]
    assert curves["value"].notna().all()
    loss = curves[curves.metric == "train_loss"].groupby("update")["value"].mean()
    assert loss.iloc[-1] < loss.iloc[0]
