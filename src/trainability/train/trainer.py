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

from trainability.nets.formulations import choose as choose_formulation
from trainability.nets.mlp import BundledMLP, nll_per_member
from trainability.provenance import provenance, resolve_device
from trainability.seeding import derive_seed
from trainability.train import checkpoint as checkpoints
from trainability.train.config import BundleConfig
from trainability.train.data import TrainingData, load_training_data
from trainability.train.engine import configure_device, make_engine
from trainability.train.memory import check_fits
from trainability.train.monitor import Monitor
from trainability.train.outputs import check_writable, write_run
from trainability.train.sgd import sgd_step
from trainability.tricks.hooks import BundleTricks
from trainability.tricks.net import TrickMLP
from trainability.tricks.step import TrickStepper

# Examples per forward pass when evaluating: as many as keep one (K, b, widest layer) float32
# activation within this many bytes, between the bounds below. Larger blocks are allocated
# fresh from the OS on every layer (glibc maps blocks over 32 MiB anew each time), and their
# first touch dominated: a bundle of 141 members at width 128 evaluated 6,000 examples in
# 42 s in blocks of 1,000, in 13 s in blocks of 100, on 2 Xeon cores.
EVAL_BLOCK_BYTES = 8 * 2**20
EVAL_CHUNK_BOUNDS = (32, 1000)


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
def eval_chunk(net: BundledMLP, device: torch.device) -> int:
    """Examples per evaluation forward pass for `net` (see EVAL_BLOCK_BYTES); on a GPU, whose
    caching allocator reuses its blocks, the upper bound."""
    low, high = EVAL_CHUNK_BOUNDS
    if device.type != "cpu":
        return high
    widest = max(w.shape[-1] for w in net.weights)
    fitting = EVAL_BLOCK_BYTES // (4 * net.n_members * widest)
    return int(min(high, max(low, fitting)))


def error_rates(net: BundledMLP, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(K,) fraction of misclassified examples of (x (N, D), y (N,)) per member."""
    wrong = torch.zeros(net.n_members, device=x.device)
    chunk = eval_chunk(net, x.device)
    for start in range(0, len(x), chunk):
        logits = net.logits(x[start:start + chunk])  # (K, b, C)
        wrong += (logits.argmax(-1) != y[start:start + chunk]).sum(-1)
    return wrong / len(x)


@torch.no_grad()
def _evaluate(state: BundleState, data: TrainingData) -> dict[str, torch.Tensor]:
    """(K,) train_loss (mean since the last evaluation), train, validation and test error."""
    net = state.net
    if state.update == 0:
        train_loss = nll_per_member(net.logits(data.monitor_x), data.monitor_y)
    else:
        train_loss = state.loss_sum / state.loss_count.clamp_min(1)
    return {"train_loss": train_loss,
            "train_error": error_rates(net, data.train_eval_x, data.train_eval_y),
            "valid_error": error_rates(net, data.valid_x, data.valid_y),
            "test_error": error_rates(net, data.test_x, data.test_y)}


def _record_curves(rows: dict[str, list], state: BundleState,
                   metrics: dict[str, torch.Tensor]) -> float:
    """Append the metrics of every member at the current update; reset the loss accumulators.

    Returns the best validation error among members still training (for the progress bar).
    """
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


def _checkpoint_of(config: BundleConfig, state: BundleState, data: TrainingData,
                   curves: dict[str, list], monitor: Monitor, train_seconds: float,
                   wall_seconds: float, extra: dict) -> checkpoints.Checkpoint:
    def cpu(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        return [t.detach().cpu().clone() for t in tensors]

    return checkpoints.Checkpoint(
        config=config.to_dict(), update=state.update, data_position=data.batches.position,
        weights=cpu(state.net.weights), biases=cpu(state.net.biases),
        diverged_at=state.diverged_at.cpu(), loss_sum=state.loss_sum.cpu(),
        loss_count=state.loss_count.cpu(), curves=curves, monitor_stats=monitor.records.stats,
        monitor_histograms=monitor.records.histograms, monitor_edges=monitor.edges,
        train_seconds=train_seconds, wall_seconds=wall_seconds,
        formulation=state.net.formulation, extra=extra)


def _build(config: BundleConfig, data: TrainingData, device: torch.device, lr: torch.Tensor):
    """The bundle's network, its trick path's stepper (None for plain bundles), its update
    function `step(x, y, active) -> (losses, updated)` and its tricks' hooks.

    Plain members train on the fused SGD path (trainability.train.sgd); a bundle with any
    trick trains every member on the autograd path (trainability.tricks.step). The run loop
    calls the tricks' hooks (trainability.tricks.hooks.BundleTricks) at fixed points; a plain
    bundle has none, and they do nothing.
    """
    members = config.members
    args = (data.n_inputs, data.n_classes, config.depth, config.width,
            [m.activation for m in members], [m.initializer for m in members],
            [m.seed for m in members], config.output_uses_init, device)
    if not config.needs_tricks():
        net = BundledMLP.initialize(*args)
        return (net, None, lambda x, y, active: sgd_step(net, x, y, lr, active),
                BundleTricks(len(members), []))
    net = TrickMLP.initialize(*args, tricks=config.member_tricks(),
                              noise_seed=derive_seed(config.seed, "noise"))
    stepper = TrickStepper(net, lr)
    return net, stepper, stepper.step, net.tricks


def train_bundle(config: BundleConfig, out_dir: str | Path, progress: bool = True,
                 overwrite: bool = False, checkpoint_every: int = 0,
                 checkpoint_path: str | Path | None = None, engine: str = "auto") -> Path:
    """Train every member of `config` and write the run folder `out_dir`; return its path.

    With `checkpoint_every` > 0 the whole training state is saved every that many updates to
    `checkpoint_path` (default: `<out_dir>.ckpt`), and a run started while a checkpoint of the
    same config exists resumes from it, ending bitwise identical (on the CPU) to a run that
    was never interrupted. The checkpoint is deleted once the run folder is complete.
    Members with pretrain_dae are pretrained first; members with early_stopping end at the
    weights of their best validation error (the last curve point shows those). `engine`
    says how updates run (trainability.train.engine: a CUDA graph on CUDA by default).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    check_writable(out_dir, overwrite)
    checkpoint_path = Path(checkpoint_path or checkpoints.default_path(out_dir))
    if checkpoint_every > 0:  # fail now, not at the first save
        checkpoints.check_writable(checkpoint_path)
        checkpoints.remove_stale_partials(checkpoint_path)
    resumed = checkpoints.load(checkpoint_path, config.to_dict())
    # Saturated sigmoid/tanh units produce subnormal floats, which are ~100x slower on CPUs.
    torch.set_flush_denormal(True)
    device = resolve_device(config.device)
    device_settings = configure_device(device)  # before the first matmul
    data = load_training_data(config, device, resumed.data_position if resumed else 0)
    check_fits(config, data.n_inputs, data.n_classes, device)
    members = config.members
    k = len(members)
    lr = torch.tensor([m.lr for m in members], dtype=torch.float32, device=device)
    net, stepper, step, tricks = _build(config, data, device, lr)
    # The machine's fastest way to back-propagate, or the one a resumed run started with.
    net.formulation = (resumed.formulation if resumed and resumed.formulation
                       else choose_formulation(device.type))
    state = BundleState(net, 0, torch.full((k,), -1, dtype=torch.long, device=device),
                        torch.zeros(k, device=device), torch.zeros(k, device=device))
    monitor = Monitor(data.monitor_x, data.monitor_y, config.histogram_bins,
                      config.jacobian_examples)
    curves: dict[str, list] = {"member": [], "update": [], "metric": [], "value": []}
    last = config.updates
    earlier_seconds = earlier_wall = 0.0
    pretraining: list[dict] = []
    if resumed:
        with torch.no_grad():
            for target, saved in zip([*net.weights, *net.biases],
                                     [*resumed.weights, *resumed.biases], strict=True):
                target.copy_(saved)
        extra = resumed.extra or {}
        if stepper:
            stepper.load_state(extra["stepper"])
        tricks.load_state(extra)
        pretraining = extra.get("pretraining", [])
        state.update = resumed.update
        state.diverged_at = resumed.diverged_at.to(device)
        state.loss_sum = resumed.loss_sum.to(device)
        state.loss_count = resumed.loss_count.to(device)
        curves = resumed.curves
        monitor.records.stats, monitor.records.histograms = (resumed.monitor_stats,
                                                             resumed.monitor_histograms)
        monitor.edges = resumed.monitor_edges
        earlier_seconds, earlier_wall = resumed.train_seconds, resumed.wall_seconds
    else:
        # A phase before training (DAE pretraining), on the training stream.
        pretraining = tricks.pretrain(data.batches.next_batch, data.monitor_x,
                                      derive_seed(config.seed, "pretrain"))
        metrics = _evaluate(state, data)
        tricks.observe(metrics["valid_error"], 0)
        _record_curves(curves, state, metrics)
        monitor.record(net, 0, with_jacobian=True)

    # Captured (on CUDA) only now: after resuming or pretraining, whose updates it would not
    # see; it reads and updates the same weight tensors in place.
    runner = make_engine(step, device, config.batch_size, data.n_inputs, k,
                         [net.generator] if stepper else [], engine)

    def extra_state() -> dict:
        return {"stepper": stepper.state() if stepper else None,
                **tricks.state(),  # by trick name, e.g. "early_stopping"
                "pretraining": pretraining}

    bar = tqdm(total=last, initial=state.update, disable=not progress, unit="upd",
               dynamic_ncols=True, desc=f"{config.dataset} d{config.depth}x{config.width} K={k}")
    train_started = time.perf_counter()
    for update in range(state.update + 1, last + 1):
        x, y = data.batches.next_batch()  # (B, D), (B,)
        training = tricks.updating(state.active)  # early stopping may hold members back
        losses, updated = runner.step(x, y, training)
        state.diverged_at = torch.where(training & ~updated, update, state.diverged_at)
        state.loss_sum += torch.where(updated, losses, 0.0)
        state.loss_count += updated
        state.update = update
        if _due(update, config.eval_every, last):
            metrics = _evaluate(state, data)
            tricks.observe(torch.where(state.active, metrics["valid_error"], float("nan")),
                           update)
            # At the end, tricks may change the weights (early stopping restores the best
            # ones): report those.
            if update == last and tricks.finish():
                metrics = _evaluate(state, data) | {"train_loss": metrics["train_loss"]}
            best = _record_curves(curves, state, metrics)
            bar.set_postfix(best_valid_err=f"{best:.4f}", refresh=False)
        if _due(update, config.monitor_every, last):
            monitor.record(net, update, _due(update, config.jacobian_every, last), state.active)
        if checkpoint_every > 0 and update % checkpoint_every == 0 and update < last:
            now = time.perf_counter()
            checkpoints.save(_checkpoint_of(config, state, data, curves, monitor,
                                            earlier_seconds + now - train_started,
                                            earlier_wall + now - started, extra_state()),
                             checkpoint_path)
        bar.update(1)
    bar.close()
    train_seconds = earlier_seconds + time.perf_counter() - train_started

    diverged = state.diverged_at.cpu().tolist()
    results = tricks.member_results()  # e.g. best_update, None for members without the trick
    run_info = {
        "config": config.to_dict(),
        "members": [m | {"diverged_at": d if d >= 0 else None}
                    | {key: values[i] for key, values in results.items()}
                    for i, (m, d) in enumerate(zip(config.to_dict()["members"], diverged,
                                                   strict=True))],
        "provenance": provenance(device),
        "engine": runner.describe() | {"formulation": net.formulation} | device_settings,
        "wall_seconds": earlier_wall + time.perf_counter() - started,  # every segment
        "train_seconds": train_seconds,
        "resumed_from_update": resumed.update if resumed else None,
        "updates_per_second": last / train_seconds if train_seconds > 0 else None,
        "pretraining": pretraining,
    }
    tables = {"curves": pd.DataFrame(curves),
              "layer_stats": pd.DataFrame(monitor.records.stats),
              "histograms": pd.DataFrame(monitor.records.histograms)}
    written = write_run(out_dir, run_info, tables, overwrite)
    checkpoint_path.unlink(missing_ok=True)
    return written
