"""The run loop: train a bundle, evaluate, monitor, and write its run folder.

A reader can follow one update top to bottom in `train_bundle`: draw a minibatch, call
`sgd_step`, freeze members whose loss is no longer finite, and every `eval_every` /
`monitor_every` updates record curves and layer statistics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from trainability.nets.mlp import BundledMLP, nll_per_member
from trainability.provenance import provenance, resolve_device
from trainability.train.config import BundleConfig
from trainability.train.data import TrainingData, load_training_data
from trainability.train.monitor import Monitor
from trainability.train.outputs import check_writable, write_run
from trainability.train.sgd import sgd_step

EVAL_CHUNK = 1000  # examples per forward pass when evaluating (bounds memory at K x 1000 x width)


@dataclass
class BundleState:
    """Everything that changes during training (what a checkpoint would hold).

    Attributes:
        net: the bundle's weights.
        update: updates done so far.
        diverged_at: (K,) int64, the update at which each member's loss stopped being
            finite, -1 while it trains.
        loss_sum / loss_count: (K,) training-loss accumulators since the last evaluation.
    """

    net: BundledMLP
    update: int
    diverged_at: torch.Tensor
    loss_sum: torch.Tensor
    loss_count: torch.Tensor

    @property
    def active(self) -> torch.Tensor:
        return self.diverged_at < 0


@torch.no_grad()
def error_rates(net: BundledMLP, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(K,) fraction of misclassified examples of (x (N, D), y (N,)) per member."""
    wrong = torch.zeros(net.n_members, device=x.device)
    for start in range(0, len(x), EVAL_CHUNK):
        logits = net.logits(x[start:start + EVAL_CHUNK])  # (K, b, C)
        wrong += (logits.argmax(-1) != y[start:start + EVAL_CHUNK]).sum(-1)
    return wrong / len(x)


def _record_curves(rows: dict[str, list], state: BundleState, data: TrainingData) -> float:
    """Append train_loss (mean since the last evaluation), valid_error and test_error.

    Returns the best validation error among members still training (for the progress bar).
    """
    net = state.net
    with torch.no_grad():
        if state.update == 0:
            train_loss = nll_per_member(net.logits(data.monitor_x), data.monitor_y)
        else:
            train_loss = state.loss_sum / state.loss_count.clamp_min(1)
        metrics = {"train_loss": train_loss,
                   "valid_error": error_rates(net, data.valid_x, data.valid_y),
                   "test_error": error_rates(net, data.test_x, data.test_y)}
    active = state.active.cpu()
    for metric, values in metrics.items():
        values = torch.where(active, values.cpu().double(), float("nan"))
        for member, value in enumerate(values.tolist()):
            rows["member"].append(member)
            rows["update"].append(state.update)
            rows["metric"].append(metric)
            rows["value"].append(value)
    state.loss_sum.zero_()
    state.loss_count.zero_()
    valid = metrics["valid_error"].cpu()[active]
    return float(valid.min()) if len(valid) else float("nan")


def _due(update: int, every: int, last: int) -> bool:
    return update == last or (every > 0 and update % every == 0)


def train_bundle(config: BundleConfig, out_dir: str | Path, progress: bool = True,
                 overwrite: bool = False) -> Path:
    """Train every member of `config` and write the run folder `out_dir`; return its path."""
    out_dir = Path(out_dir)
    check_writable(out_dir, overwrite)
    # Saturated sigmoid/tanh units produce subnormal floats, which are ~100x slower on CPUs.
    torch.set_flush_denormal(True)
    device = resolve_device(config.device)
    started = time.perf_counter()
    data = load_training_data(config, device)
    members = config.members
    net = BundledMLP.initialize(
        data.n_inputs, data.n_classes, config.depth, config.width,
        [m.activation for m in members], [m.initializer for m in members],
        [m.seed for m in members], config.output_uses_init, device)
    k = len(members)
    state = BundleState(net, 0, torch.full((k,), -1, dtype=torch.long, device=device),
                        torch.zeros(k, device=device), torch.zeros(k, device=device))
    lr = torch.tensor([m.lr for m in members], dtype=torch.float32, device=device)
    monitor = Monitor(data.monitor_x, data.monitor_y, config.histogram_bins,
                      config.jacobian_examples)
    curves: dict[str, list] = {"member": [], "update": [], "metric": [], "value": []}
    last = config.updates

    _record_curves(curves, state, data)
    monitor.record(net, 0, with_jacobian=True)
    bar = tqdm(total=last, disable=not progress, unit="upd", dynamic_ncols=True,
               desc=f"{config.dataset} d{config.depth}x{config.width} K={k}")
    train_started = time.perf_counter()
    for update in range(1, last + 1):
        x, y = data.batches.next_batch()  # (B, D), (B,)
        losses, updated = sgd_step(net, x, y, lr, state.active)
        state.diverged_at = torch.where(state.active & ~updated, update, state.diverged_at)
        state.loss_sum += torch.where(updated, losses, 0.0)
        state.loss_count += updated
        state.update = update
        if _due(update, config.eval_every, last):
            best = _record_curves(curves, state, data)
            bar.set_postfix(best_valid_err=f"{best:.4f}", refresh=False)
        if _due(update, config.monitor_every, last):
            monitor.record(net, update, _due(update, config.jacobian_every, last), state.active)
        bar.update(1)
    bar.close()
    train_seconds = time.perf_counter() - train_started

    diverged = state.diverged_at.cpu().tolist()
    run_info = {
        "config": config.to_dict(),
        "members": [m | {"diverged_at": d if d >= 0 else None}
                    for m, d in zip(config.to_dict()["members"], diverged, strict=True)],
        "provenance": provenance(device),
        "wall_seconds": time.perf_counter() - started,
        "train_seconds": train_seconds,
        "updates_per_second": last / train_seconds if train_seconds > 0 else None,
    }
    tables = {"curves": pd.DataFrame(curves),
              "layer_stats": pd.DataFrame(monitor.records.stats),
              "histograms": pd.DataFrame(monitor.records.histograms)}
    return write_run(out_dir, run_info, tables, overwrite)
