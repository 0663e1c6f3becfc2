"""The monitor's statistics on networks and inputs whose answers are known."""

import math

import pandas as pd
import torch

from trainability.nets.activations import ACTIVATIONS
from trainability.nets.mlp import BundledMLP
from trainability.train.monitor import Monitor


def tiny_net(weights, activation="identity"):
    weights = [w.unsqueeze(0).float() for w in weights]  # K = 1
    biases = [torch.zeros(1, 1, w.shape[-1]) for w in weights]
    return BundledMLP(weights, biases, [ACTIVATIONS.build(activation)])


def stats_frame(monitor):
    return pd.DataFrame(monitor.records.stats)


def stat(frame, quantity, name, layer, member=0):
    row = frame[(frame.quantity == quantity) & (frame.stat == name) & (frame.layer == layer)
                & (frame.member == member)]
    assert len(row) == 1
    return row.value.item()


def test_activation_statistics_of_known_inputs():
    # Identity net, W1 = I: layer-1 activations equal the inputs, whose stats we know.
    x = torch.arange(100, dtype=torch.float32).view(50, 2) / 100  # values 0.00 .. 0.99
    y = torch.zeros(50, dtype=torch.long)
    net = tiny_net([torch.eye(2), torch.eye(2)])
    monitor = Monitor(x, y, bins=10, jacobian_examples=1)
    monitor.record(net, update=0, with_jacobian=False)
    frame = stats_frame(monitor)
    values = x.flatten().double()
    assert math.isclose(stat(frame, "activation", "mean", 1), values.mean().item(), rel_tol=1e-6)
    assert math.isclose(stat(frame, "activation", "std", 1), values.std().item(), rel_tol=1e-5)
    assert math.isclose(stat(frame, "activation", "p02", 1), 0.01, abs_tol=1e-6)  # 2nd of 100
    assert math.isclose(stat(frame, "activation", "p98", 1), 0.97, abs_tol=1e-6)  # 98th
    assert stat(frame, "activation", "saturated_fraction", 1) == 0.0  # identity never saturates
    assert math.isnan(stat(frame, "activation", "dead_fraction", 1))  # not ReLU family


def test_saturation_and_dead_units():
    # tanh with huge first-layer weights on unit 0 saturates it; unit 1 stays linear.
    x = torch.tensor([[1.0], [-1.0], [0.5], [-0.5]])
    net = tiny_net([torch.tensor([[100.0, 0.01]]), torch.ones(2, 2)], activation="tanh")
    monitor = Monitor(x, torch.zeros(4, dtype=torch.long), bins=10, jacobian_examples=1)
    monitor.record(net, 0, with_jacobian=False)
    assert stat(stats_frame(monitor), "activation", "saturated_fraction", 1) == 0.5
    # ReLU: s = x W; unit 0 gets x0 (both signs: alive), unit 1 gets -x1 < 0 always (dead).
    x = torch.tensor([[1.0, 1.0], [-1.0, 2.0], [2.0, 3.0]])
    net = tiny_net([torch.tensor([[1.0, 0.0], [0.0, -1.0]]), torch.ones(2, 2)], activation="relu")
    monitor = Monitor(x, torch.zeros(3, dtype=torch.long), bins=10, jacobian_examples=1)
    monitor.record(net, 0, with_jacobian=False)
    frame = stats_frame(monitor)
    assert stat(frame, "activation", "dead_fraction", 1) == 0.5
    assert math.isclose(stat(frame, "activation", "saturated_fraction", 1), 4 / 6, rel_tol=1e-6)


def test_jacobian_singular_values_of_linear_network():
    # Identity activation: J^2 = (W^1)^T exactly, whatever the input.
    torch.manual_seed(0)
    w1 = torch.randn(6, 6)
    singular = torch.linalg.svdvals(w1.double())
    net = tiny_net([torch.randn(4, 6), w1, torch.randn(6, 3)])
    monitor = Monitor(torch.randn(5, 4), torch.zeros(5, dtype=torch.long), bins=10,
                      jacobian_examples=3)
    monitor.record(net, 0, with_jacobian=True)
    value = stat(stats_frame(monitor), "jacobian", "mean_singular_value", 2)
    assert math.isclose(value, singular.mean().item(), rel_tol=1e-5)


def test_jacobian_of_tanh_layer_includes_the_slope():
    # A single example: J = diag(1 - tanh(s)^2) W^T, so its singular values are known.
    torch.manual_seed(2)
    w0, w1 = torch.randn(3, 4), torch.randn(4, 4)
    x = torch.randn(1, 3)
    net = tiny_net([w0, w1, torch.randn(4, 2)], activation="tanh")
    monitor = Monitor(x, torch.zeros(1, dtype=torch.long), bins=10, jacobian_examples=1)
    monitor.record(net, 0, with_jacobian=True)
    s2 = torch.tanh(x @ w0) @ w1
    jac = torch.diag(1 - torch.tanh(s2[0]) ** 2) @ w1.T
    expected = torch.linalg.svdvals(jac.double()).mean().item()
    value = stat(stats_frame(monitor), "jacobian", "mean_singular_value", 2)
    assert math.isclose(value, expected, rel_tol=1e-4)


def test_gradients_match_autograd_and_histograms_are_normalized():
    torch.manual_seed(1)
    x, y = torch.randn(20, 5), torch.randint(0, 3, (20,))
    w = [torch.randn(5, 4), torch.randn(4, 4), torch.randn(4, 3)]
    net = tiny_net(w, activation="tanh")
    monitor = Monitor(x, y, bins=16, jacobian_examples=1)
    monitor.record(net, 0, with_jacobian=False)
    # Reference: plain autograd on the mean NLL.
    params = [p.clone().requires_grad_() for p in w]
    h1 = torch.tanh(x @ params[0])
    h2 = torch.tanh(h1 @ params[1])
    torch.nn.functional.cross_entropy(h2 @ params[2], y).backward()
    frame = stats_frame(monitor)
    for layer in (1, 2):
        grad = params[layer - 1].grad
        assert math.isclose(stat(frame, "weight_grad", "std", layer), grad.std().item(),
                            rel_tol=1e-4)
    hist = pd.DataFrame(monitor.records.histograms)
    sums = hist.groupby(["layer", "quantity"]).fraction.sum()
    assert ((sums - 1).abs() < 1e-6).all()
    assert set(hist.quantity) == {"activation", "backprop_grad", "weight_grad"}
    # Fixed edges: a second record uses the same bins even after the weights change.
    first_edges = hist[hist.quantity == "backprop_grad"].bin_left.unique()
    net.weights[0].mul_(10)
    monitor.record(net, 1, with_jacobian=False)
    hist = pd.DataFrame(monitor.records.histograms)
    later = hist[(hist.quantity == "backprop_grad") & (hist["update"] == 1)].bin_left.unique()
    assert (first_edges == later).all()
