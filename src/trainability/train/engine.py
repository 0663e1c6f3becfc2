"""How a bundle's update runs on its device: eagerly, or captured once as a CUDA graph.

At the paper's minibatch of 10 an update is 60-70 small kernels (forward, backward, the fused
weight update, or the trick path's optimizer); launched one by one from Python, on a GPU the
launches cost more than the kernels. A CUDA graph records the whole update once, over static
input buffers (the minibatch and the mask of members still training), and replays it with
one launch per update. The update never waits for the host (divergence is a mask, losses
stay on the device until an evaluation), which capture needs.

Capture follows PyTorch's recipe (whole-network capture, torch.cuda.graphs): warm-up updates
on a side stream, then one recorded update. Both run with every member inactive, which by
the step's contract changes no weight, optimizer state or batch-norm statistic; the random
streams the step draws from (dropout, RReLU) are put back afterwards. If capture fails,
training runs eagerly and run.json says why (`engine`).

The device's settings for fidelity are here too (`configure_device`): float32 matmuls without
TF32 (TF32 keeps 10 mantissa bits, which would change what the paper's float32 networks
compute) and deterministic algorithms where CUDA offers them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trainability.lazy import lazy_import

torch = lazy_import("torch")  # the command line reads ENGINES without loading torch

#: How updates run: "auto" (a CUDA graph on CUDA, eager elsewhere), "eager", "graph".
ENGINES = ("auto", "eager", "graph")
#: Warm-up updates before capture (PyTorch's examples use a few, so lazy initialisation of
#: cuBLAS handles and workspaces happens outside the graph).
WARMUP_STEPS = 3

Step = Callable[..., tuple]  # (x, y, active) -> (losses, updated), tensors as above


def configure_device(device: torch.device) -> dict[str, object]:
    """Fidelity settings of `device`, returned for run.json. On CUDA: no TF32 in matmuls or
    cuDNN, cuBLAS's deterministic workspace (read when cuBLAS starts: before the first
    matmul), deterministic algorithms where they exist (warning, not failing, where they
    do not). On the CPU: nothing to set."""
    if device.type != "cuda":
        return {}
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    return {"tf32": False, "deterministic": "warn_only",
            "cublas_workspace": os.environ["CUBLAS_WORKSPACE_CONFIG"]}


@dataclass
class Engine:
    """An update function `step(x (B, D), y (B,), active (K,) bool) -> (losses (K,),
    updated (K,) bool)` and how it runs. With a CUDA graph the returned tensors are the
    graph's outputs, overwritten by the next update: use them before calling again."""

    step: Step
    name: str  # "eager" or "cuda-graph"
    note: str | None = None  # why it is not the engine asked for

    def describe(self) -> dict[str, str | None]:
        return {"engine": self.name, "note": self.note}


def make_engine(step: Step, device: torch.device, batch_size: int, n_inputs: int,
                n_members: int, generators: Sequence[torch.Generator] = (),
                mode: str = "auto") -> Engine:
    """The engine that runs `step` for minibatches of `batch_size` x `n_inputs` inputs and
    `n_members` members on `device`. `generators`: the random streams the step draws from,
    restored after capture. ValueError for mode "graph" without CUDA."""
    if mode not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {mode!r}")
    if mode == "graph" and device.type != "cuda":
        raise ValueError("engine 'graph' needs a CUDA device; use engine auto or eager")
    if mode == "eager" or device.type != "cuda":
        return Engine(step, "eager")
    try:
        return Engine(_capture(step, device, batch_size, n_inputs, n_members, generators),
                      "cuda-graph")
    except RuntimeError as error:  # capture refused an operation: train eagerly, say why
        if mode == "graph":
            raise
        reason = " ".join(str(error).split())[:200]
        return Engine(step, "eager", f"CUDA graph capture failed: {reason}")


def _capture(step: Step, device: torch.device, batch_size: int, n_inputs: int,
             n_members: int, generators: Sequence[torch.Generator]) -> Step:
    """`step` recorded as a CUDA graph over static buffers; returns its replaying twin."""
    static_x = torch.zeros(batch_size, n_inputs, device=device)
    static_y = torch.zeros(batch_size, dtype=torch.int64, device=device)
    static_active = torch.zeros(n_members, dtype=torch.bool, device=device)  # nobody updates
    states = [g.get_state() for g in generators]
    graph = torch.cuda.CUDAGraph()
    for g in generators:  # custom generators must be known to the graph (torch >= 2.4)
        if g.device.type == "cuda" and hasattr(graph, "register_generator_state"):
            graph.register_generator_state(g)
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(WARMUP_STEPS):
            step(static_x, static_y, static_active)
    torch.cuda.current_stream(device).wait_stream(side)
    with torch.cuda.graph(graph):
        static_losses, static_updated = step(static_x, static_y, static_active)
    torch.cuda.synchronize(device)
    for g, state in zip(generators, states, strict=True):
        g.set_state(state)

    def replay(x: torch.Tensor, y: torch.Tensor, active: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        static_x.copy_(x)
        static_y.copy_(y)
        static_active.copy_(active)
        graph.replay()
        return static_losses, static_updated

    return replay
