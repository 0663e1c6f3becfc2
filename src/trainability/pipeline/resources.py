"""What a training job asks a scheduler for: wall time (minutes) and memory (MB).

Both are estimated from the bundle (its members, shape and dataset) and the budget (updates,
evaluation and monitor schedules), so that a paper-scale bundle asks for what it needs and a
smoke bundle for a few minutes, instead of one worst-case request for every job.

**Time.** One SGD update (minibatch of 10) of a bundle of K members costs

    layers x layer_ms + K x (member_ms + mweights x mweight_ms)   milliseconds,

where `mweights` is a member's weight count in millions (about `depth` at width 1000). On the
project's 2-core CPU one member at width 1000 costs about 0.2 + 0.75 x depth ms, i.e.
member_ms = 0.2, mweight_ms = 0.75, layer_ms = 0 (the step is memory-bound: each update reads
and writes every weight, so the cost grows with the weights; see README, Speed). Evaluation
adds about 10%, the layer-Jacobian spectra (at initialization and at the end) an
eigendecomposition per member, layer and Jacobian example, and a job starts in about a minute
(interpreter, torch, data). The estimate is multiplied by a margin (1.5: the step is
memory-bound, and jobs sharing a node share its memory bandwidth) and clamped to at least a
few minutes. Measured here at the quick preset (10,000 updates, width 1000, 2 to 12 members,
depths 1 and 4, Shapeset and MNIST), jobs alone on the CPU took 0.6-0.95 times the estimate
(without margin); one sharing the CPU with other work, 1.5 times.

**GPU.** No GPU has been measured for this project. `GPU_GUESS` is a deliberately
conservative guess, not a measurement: 0.25 ms of kernel launches and dispatch per layer and
update whatever the bundle's size, plus 0.025 ms per member and million weights (16 bytes of
memory traffic per weight and update at about 640 GB/s, a V100-class card; newer cards are
faster). Measure yours (the `s` column of results/benchmarks/train/*.tsv over updates x
members) and set `update_cost` in the GPU profile's gpu.yaml (or --config update_cost=...).

**Memory.** About 1 GiB for the interpreter, torch and the monitor (2 GiB with CUDA), plus
the weights (4 bytes x members x weights) times `WEIGHT_COPIES` (the weights, a CPU copy and
its serialization at each checkpoint, the monitor's weight gradients), plus the dataset's
float tensors (Shapeset: validation, test and one generated chunk of 1024 pixels; MNIST 70k x
784; CIFAR-10 60k x 3072) twice (the loaders convert), plus the monitor's records (histogram
rows kept in memory until the run is written), plus the Jacobian's transient
(examples x width^2 doubles), times a margin. For the six quick-preset jobs above the request
was 1.6-1.8 times the peak RSS Snakemake's benchmark measured.

**Tricks.** A bundle with any trick trains on the autograd path (trainability.tricks), which
computes weight gradients and keeps optimizer state: its update costs about TRICK_FACTOR times
the plain estimate plus TRICK_LAYER_MS per member and layer (many small kernels). Fitted on
this CPU to the quick trick budget (width 16-64, depth 20, 100-200 members: 0.14-0.95 s per
update), and it keeps TRICK_WEIGHT_COPIES copies of the weights (gradients, Adam's moments,
early stopping's snapshot).

A retried job (Snakemake's `attempt`, e.g. after a Slurm TIMEOUT or OUT_OF_MEMORY) asks for
`attempt` times as much; training resumes from its last checkpoint, so the retry only has to
finish the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from trainability.data.catalog import FiniteDataset, dataset
from trainability.train.config import BundleConfig
from trainability.train.memory import parameters_per_member

SHAPESET_CHUNK = 10_000  # examples generated at a time (ShapesetStream's default chunk)

OVERHEAD_MB = 1024  # interpreter, torch, pandas, the monitor's working tensors
CUDA_OVERHEAD_MB = 1024  # the CUDA context and libraries in host memory
WEIGHT_COPIES = 4
RECORD_ROW_BYTES = 200  # one tidy row in Python lists, its pickle and its DataFrame
STATS_PER_LAYER = 12  # layer-statistics rows per member, layer and record
MEMORY_MARGIN = 1.25
MIN_MEMORY_MB = 1024

TRICK_FACTOR = 4.0
TRICK_LAYER_MS = 0.03
TRICK_WEIGHT_COPIES = 8

STARTUP_SECONDS = 60
RUNTIME_MARGIN = 1.5  # covers a slower or busier node; a timeout retries and resumes
MIN_RUNTIME_MINUTES = 5


@dataclass(frozen=True)
class Speed:
    """Cost model of one SGD update (batch 10); see the module docstring."""

    member_ms: float  # per member
    mweight_ms: float  # per member and million weights
    layer_ms: float = 0.0  # per layer, whatever the number of members (GPU launches)
    eval_overhead: float = 0.10  # evaluation's share on top of training
    eig_seconds: float = 0.0625  # one eigendecomposition of a 1000 x 1000 Jacobian product
    gpu: bool = False


CPU_MEASURED = Speed(member_ms=0.2, mweight_ms=0.75)
GPU_GUESS = Speed(member_ms=0.0, mweight_ms=0.025, layer_ms=0.25, gpu=True)


def speed_from_config(config: dict[str, Any]) -> Speed:
    """The cost model a workflow config asks for: the GPU guess when training jobs get a GPU
    (`gpu` > 0), else the CPU measurement; `update_cost` overrides any of its numbers."""
    speed = GPU_GUESS if int(config.get("gpu") or 0) > 0 else CPU_MEASURED
    overrides = {key: float(value) for key, value in (config.get("update_cost") or {}).items()
                 if value is not None}
    return replace(speed, **overrides)


def weights_per_member(name: str, depth: int, width: int) -> int:
    """Weights and biases of one member: inputs -> depth hidden layers of width -> classes."""
    data = dataset(name)
    return parameters_per_member(data.n_inputs, data.n_classes, depth, width)


def monitor_records(bundle: BundleConfig) -> int:
    """Monitor points: at initialization, every monitor_every updates, and at the end."""
    every = bundle.monitor_every
    return 2 + (bundle.updates // every if every > 0 else 0)


def estimate_seconds(bundle: BundleConfig, speed: Speed = CPU_MEASURED,
                     members: int | None = None) -> float:
    """Expected wall time of training `bundle` from scratch, without margin; with `members`,
    of a bundle of that shape with that many members (a seeds job, whose rates are chosen
    later: trainability.pipeline.plan.PlannedJob)."""
    members = len(bundle.members) if members is None else members
    layers = bundle.depth + 1
    mweights = weights_per_member(bundle.dataset, bundle.depth, bundle.width) / 1e6
    update_ms = layers * speed.layer_ms + members * (speed.member_ms + mweights * speed.mweight_ms)
    if bundle.needs_tricks():
        update_ms = TRICK_FACTOR * update_ms + TRICK_LAYER_MS * members * layers
    training = bundle.updates * update_ms / 1000 * (1 + speed.eval_overhead)
    jacobian_records = 2 + (bundle.updates // bundle.jacobian_every
                            if bundle.jacobian_every > 0 else 0)
    eigs = jacobian_records * members * max(bundle.depth - 1, 0) * bundle.jacobian_examples
    jacobians = eigs * speed.eig_seconds * (bundle.width / 1000) ** 3
    return STARTUP_SECONDS + training + jacobians


def runtime_minutes(bundle: BundleConfig, speed: Speed = CPU_MEASURED, attempt: int = 1,
                    members: int | None = None) -> int:
    """Slurm wall time to request: the estimate times a margin, at least a few minutes."""
    minutes = estimate_seconds(bundle, speed, members) * RUNTIME_MARGIN / 60
    return max(MIN_RUNTIME_MINUTES, math.ceil(minutes)) * max(1, attempt)


def memory_mb(bundle: BundleConfig, speed: Speed = CPU_MEASURED, attempt: int = 1,
              members: int | None = None) -> int:
    """Memory to request, in MB (MiB, as Slurm counts), rounded up to 100."""
    members = len(bundle.members) if members is None else members
    weights = weights_per_member(bundle.dataset, bundle.depth, bundle.width)
    data = dataset(bundle.dataset)
    inputs = data.n_inputs
    examples = (data.examples if isinstance(data, FiniteDataset)
                else bundle.valid_size + bundle.test_size + SHAPESET_CHUNK)
    layers = bundle.depth + 1
    rows = monitor_records(bundle) * members * layers * (3 * bundle.histogram_bins
                                                         + STATS_PER_LAYER)
    parts = {
        "weights": 4 * members * weights * (TRICK_WEIGHT_COPIES if bundle.needs_tricks()
                                            else WEIGHT_COPIES),
        "data": 2 * 4 * examples * inputs,
        "records": rows * RECORD_ROW_BYTES,
        "jacobian": 3 * 8 * bundle.jacobian_examples * bundle.width ** 2
        if bundle.depth > 1 else 0,
    }
    overhead = OVERHEAD_MB + (CUDA_OVERHEAD_MB if speed.gpu else 0)
    mb = (overhead + sum(parts.values()) / 2**20) * MEMORY_MARGIN
    return max(MIN_MEMORY_MB, math.ceil(mb / 100) * 100) * max(1, attempt)
