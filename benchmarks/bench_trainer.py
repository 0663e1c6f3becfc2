"""Speed of the trainer's update, of bundles, of the monitor, against references and targets.

Run from the repository root (``--quick`` for a short smoke check, default: full run):

    .venv/bin/python benchmarks/bench_trainer.py [--quick] [--sections 1,2,3,4,5,6]

Six measurements, on one device (the CPU), all taken in one run. Within a measurement the
compared variants are timed in alternating blocks (round r runs every variant once, in
forward order on even rounds and reverse order on odd ones), so a slow phase of a noisy
machine hits every variant alike; figures are medians over rounds, after a warm-up. Other
processes are watched through /proc/stat: on 2 cores a foreign busy process slows torch's
2-thread steps many times over, so rounds in which others took more than 10% of the CPUs are
set aside (all rounds are kept, and the result flagged NOISY, when fewer than a third are
quiet), and each measurement first waits a while for the machine to quieten.

1. Trainer update vs a naive PyTorch loop (depth 5, width 1000, tanh, 784 inputs, 10
   classes, 50,000 random examples in memory), at batch 10 and 128. Naive: nn.Sequential of
   nn.Linear + nn.Tanh, cross-entropy, loss.backward(), torch.optim.SGD, batches from
   DataLoader(TensorDataset(x, y), shuffle=True). Ours: the body of train_bundle's loop for
   a K=1 BundledMLP: ShuffledSource.next_batch(), sgd_step, and the loop's divergence / loss
   bookkeeping. Figure: ours examples/s / naive examples/s.
2. Bundle of K members vs K separate K=1 runs (width 1000, depth 5, batch 10). Figure:
   (step time of the bundle / K) / step time of a K=1 net. K=1 is a control: two
   independent K=1 nets, whose ratio shows the noise.
3. Instrumentation at the default schedule (BundleConfig: monitor_every=2000 updates,
   Jacobians only at init and end). Figure: one Monitor.record(with_jacobian=False) on the
   300 monitor examples / the time of 2000 updates (median update time x 2000), K=1 and 2.
   For information: one record with Jacobians, and the evaluation done every eval_every
   updates (trainer.error_rates on the validation and test sets).
4. Update at batch 10 vs the memory-traffic floor: plain SGD must read every parameter in
   the forward pass, again in the backward pass (dCost/dz = g W^T), and read + write it in
   the update: floor = 4 passes x 4 bytes x P parameters / copy bandwidth, where the
   bandwidth is that of torch's dst.copy_(src) on float32 buffers far larger than the
   last-level cache, counting bytes read + bytes written.
5. Update beside other work (depth 5, width 1000, batch 10, K=1, 2 threads as a Snakemake
   job gets): two worker processes, one with the suite's OpenMP waiting settings
   (trainability.threads.configure_waiting: waiting threads spin briefly, then sleep), one
   with the OpenMP runtime's defaults (spin for about 300,000 iterations), each timed alone
   and beside one CPU-bound busy loop per core (`python3 -c "while True: pass"`, which does
   not stream memory), in alternating order within each round. Figures: ours beside the
   loops / ours alone (target <= 2.5: a fair share of the cores would be 2), ours alone /
   defaults alone (target <= 1.05), and, for information, defaults beside the loops /
   defaults alone, and each beside a second training job of its own settings (two jobs
   sharing the cores, as in a busy test suite or on a shared node).
6. Trick path vs plain path (depth 5, width 1000, batch 10, tanh): one update of train_bundle's
   loop for a bundle whose K = 4 members all use one trick (TrickStepper.step), and for a
   mixed bundle of K = 5 (none, batchnorm, residual, clip_norm:1, adam, as the trick studies
   mix them), side by side with plain bundles of the same K (sgd_step), every net
   back-propagating in the machine's formulation as train_bundle does. Figure: the trick
   bundle's time per member-update / the plain bundle's. Targets: <= 1.5 for tricks whose
   members take the fused update (none, residual, dropout, clip_norm: the plain path's four
   passes over the weights), <= 2.5 for those that store weight gradients or add work per
   unit (clip_value, batchnorm, adam, the mixed bundle).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from trainability.threads import WAIT_SETTINGS, configure_waiting

configure_waiting()  # before torch loads, as every entry point of the suite does

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from trainability.nets.formulations import choose as choose_formulation  # noqa: E402
from trainability.nets.mlp import BundledMLP  # noqa: E402
from trainability.train.config import BundleConfig  # noqa: E402
from trainability.train.data import ShuffledSource  # noqa: E402
from trainability.train.monitor import Monitor  # noqa: E402
from trainability.train.sgd import sgd_step  # noqa: E402
from trainability.train.trainer import error_rates  # noqa: E402
from trainability.tricks.net import TrickMLP  # noqa: E402
from trainability.tricks.spec import parse_trick  # noqa: E402
from trainability.tricks.step import TrickStepper  # noqa: E402

N_INPUTS, N_CLASSES = 784, 10
DEPTH, WIDTH = 5, 1000
N_TRAIN = 50_000
LR = 0.01
MIB = 2**20


@dataclass(frozen=True)
class Mode:
    """How long to measure: rounds of interleaved blocks, each block about block_s long."""

    rounds: int
    block_s: float
    warmup_s: float
    record_rounds: int
    jacobian_reps: int
    copy_rounds: int
    quiet_wait_s: float
    neighbour_rounds: int
    neighbour_block_s: float


FULL = Mode(rounds=40, block_s=0.15, warmup_s=0.5, record_rounds=20, jacobian_reps=3,
            copy_rounds=30, quiet_wait_s=20, neighbour_rounds=8, neighbour_block_s=1.5)
QUICK = Mode(rounds=5, block_s=0.05, warmup_s=0.2, record_rounds=3, jacobian_reps=1,
             copy_rounds=5, quiet_wait_s=5, neighbour_rounds=3, neighbour_block_s=0.6)


# ---- what is timed ---------------------------------------------------------------------------
class TrainerUpdate:
    """One update of train_bundle's loop: next_batch, sgd_step, divergence/loss bookkeeping."""

    def __init__(self, k: int, batch: int, x: torch.Tensor, y: torch.Tensor, seed: int = 0):
        self.net = BundledMLP.initialize(N_INPUTS, N_CLASSES, DEPTH, WIDTH, ["tanh"] * k,
                                         ["normalized"] * k, list(range(seed, seed + k)))
        self.net.formulation = choose_formulation("cpu")  # as train_bundle sets it
        self.batches = ShuffledSource(x, y, batch, seed)
        self.lr = torch.full((k,), LR)
        self.diverged_at = torch.full((k,), -1, dtype=torch.long)
        self.loss_sum = torch.zeros(k)
        self.loss_count = torch.zeros(k)
        self.update = 0

    def __call__(self) -> None:
        self.update += 1
        x, y = self.batches.next_batch()
        active = self.diverged_at < 0
        losses, updated = sgd_step(self.net, x, y, self.lr, active)
        self.diverged_at = torch.where(active & ~updated, self.update, self.diverged_at)
        self.loss_sum += torch.where(updated, losses, 0.0)
        self.loss_count += updated


class TrickUpdate(TrainerUpdate):
    """TrainerUpdate's loop body for a bundle with tricks: TrickStepper.step instead of
    sgd_step, and the early-stopping gate train_bundle asks the tricks for."""

    def __init__(self, tricks: list[str], batch: int, x: torch.Tensor, y: torch.Tensor,
                 seed: int = 0):
        k = len(tricks)
        super().__init__(k, batch, x, y, seed)
        self.net = TrickMLP.initialize(N_INPUTS, N_CLASSES, DEPTH, WIDTH, ["tanh"] * k,
                                       ["normalized"] * k, list(range(seed, seed + k)),
                                       tricks=[parse_trick(t) for t in tricks], noise_seed=seed)
        self.net.formulation = choose_formulation("cpu")
        self.stepper = TrickStepper(self.net, self.lr)

    def __call__(self) -> None:
        self.update += 1
        x, y = self.batches.next_batch()
        active = self.net.tricks.updating(self.diverged_at < 0)
        losses, updated = self.stepper.step(x, y, active)
        self.diverged_at = torch.where(active & ~updated, self.update, self.diverged_at)
        self.loss_sum += torch.where(updated, losses, 0.0)
        self.loss_count += updated


class NaiveUpdate:
    """The textbook loop: nn.Sequential, autograd, torch.optim.SGD, a shuffling DataLoader."""

    def __init__(self, batch: int, x: torch.Tensor, y: torch.Tensor):
        layers: list[nn.Module] = []
        for n_in, n_out in pairwise([N_INPUTS] + [WIDTH] * DEPTH):
            layers += [nn.Linear(n_in, n_out), nn.Tanh()]
        self.model = nn.Sequential(*layers, nn.Linear(WIDTH, N_CLASSES))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.loader = DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)
        self._batches = iter(self.loader)

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return next(self._batches)
        except StopIteration:  # a new epoch
            self._batches = iter(self.loader)
            return next(self._batches)

    def __call__(self) -> None:
        x, y = self._next_batch()
        self.optimizer.zero_grad()
        loss = F.cross_entropy(self.model(x), y)
        loss.backward()
        self.optimizer.step()


# ---- timing ----------------------------------------------------------------------------------
QUIET = 0.10  # a round is quiet when other processes used at most this share of the CPUs


class CpuMeter:
    """Share of the machine's CPU time taken by anything but this process, steal included.

    With 2 cores and 2 OpenMP threads, one busy foreign process can slow a step tens of
    times (threads wait at every parallel region for a descheduled partner), which no
    interleaving cancels; rounds where others were busy are set aside (see Timings).
    """

    def __init__(self, pids: tuple[int, ...] = ()) -> None:
        self.pids = pids  # processes whose CPU time counts as this process's own
        self._last = self._read()

    def _read(self) -> tuple[float, float, float] | None:
        try:
            values = [int(v) for v in Path("/proc/stat").read_text().split()[1:9]]
            hz = os.sysconf("SC_CLK_TCK")
            helpers = 0.0
            for pid in self.pids:  # utime + stime, fields 14 and 15 of /proc/<pid>/stat
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                helpers += (int(fields[11]) + int(fields[12])) / hz
        except (OSError, ValueError):
            return None
        user, nice, system, idle, iowait, irq, softirq, steal = values
        busy = (user + nice + system + irq + softirq + steal) / hz
        own = os.times()
        return busy, busy + (idle + iowait) / hz, own.user + own.system + helpers

    def foreign(self) -> float:
        """Foreign share of all CPU time since the last call (NaN when unknown)."""
        now, last = self._read(), self._last
        self._last = now
        if now is None or last is None or now[1] <= last[1]:
            return float("nan")
        return max(0.0, (now[0] - last[0]) - (now[2] - last[2])) / (now[1] - last[1])


def wait_for_quiet(mode: Mode) -> None:
    """Wait (up to mode.quiet_wait_s) until other processes leave the CPUs alone."""
    meter = CpuMeter()
    start = time.perf_counter()
    share = float("nan")
    while time.perf_counter() - start < mode.quiet_wait_s:
        time.sleep(0.5)
        share = meter.foreign()
        if not share > QUIET:
            break
    waited = time.perf_counter() - start
    if waited > 1:
        print(f"  (waited {waited:.0f} s for other processes; their CPU share now "
              f"{100 * share:.0f}%)")


@dataclass
class Timings:
    """Seconds per call of each variant, one sample per round, and others' CPU share."""

    samples: dict[str, list[float]]
    foreign: list[float]

    @property
    def used(self) -> list[int]:
        """Quiet rounds, or every round when fewer than a third of them were quiet."""
        quiet = [r for r, share in enumerate(self.foreign) if not share > QUIET]
        return quiet if len(quiet) >= max(1, len(self.foreign) / 3) else list(
            range(len(self.foreign)))

    @property
    def noisy(self) -> bool:
        return any(self.foreign[r] > QUIET for r in self.used)

    def series(self, name: str) -> list[float]:
        return [self.samples[name][r] for r in self.used]

    def median(self, name: str) -> float:
        return statistics.median(self.series(name))

    def paired(self, fn: Callable[..., float], *names: str) -> str:
        """Median and IQR of a per-round ratio (each round's variants ran side by side)."""
        ratios = [fn(*values) for values in zip(*map(self.series, names), strict=True)]
        low, high = iqr(ratios)
        return f"per-round {statistics.median(ratios):.3f} [IQR {low:.3f}-{high:.3f}]"

    def quiet_text(self) -> str:
        shares = [s for s in self.foreign if s == s]
        busy = f"{100 * statistics.median(shares):.0f}%" if shares else "unknown"
        return (f"{len(self.used)}/{len(self.foreign)} rounds used"
                + (" (NOISY: too few quiet rounds)" if self.noisy else "")
                + f"; others' CPU share median {busy}")


@dataclass
class Block:
    """A variant as timed: `calls` calls of fn per block, each estimated at `per_call` s."""

    fn: Callable[[], object]
    calls: int
    per_call: float


def block(fn: Callable[[], object], mode: Mode, block_s: float | None = None,
          warm_calls: int = 3) -> Block:
    """Warm fn up (>= warm_calls calls, and >= warmup_s unless warm_calls is 1) and size a
    block of ~block_s (0: one call). The estimate is the fastest warm-up call after the
    first, which a busy neighbour is least likely to have slowed."""
    durations: list[float] = []
    start = time.perf_counter()
    while len(durations) < warm_calls or (
            warm_calls > 1 and time.perf_counter() - start < mode.warmup_s):
        t0 = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - t0)
    per_call = min(durations[1:] or durations)
    target = mode.block_s if block_s is None else block_s
    return Block(fn, max(1, round(target / per_call)), per_call)


def interleaved(variants: dict[str, Block], rounds: int, min_rounds: int = 3) -> Timings:
    """Time every variant once per round, in alternating order, `calls` calls per block.

    Stops early (after >= min_rounds rounds) past twice the planned time, as on a machine
    made very slow by other processes.
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    foreign = []
    planned = rounds * sum(b.calls * b.per_call for b in variants.values())
    gc.collect()
    meter = CpuMeter()
    start = time.perf_counter()
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            variant = variants[name]
            t0 = time.perf_counter()
            for _ in range(variant.calls):
                variant.fn()
            samples[name].append((time.perf_counter() - t0) / variant.calls)
        foreign.append(meter.foreign())
        if min_rounds <= r + 1 < rounds and time.perf_counter() - start > 2 * planned + 5:
            print(f"  (stopped after {r + 1} of {rounds} rounds: over twice the planned "
                  f"{planned:.0f} s)")
            break
    return Timings(samples, foreign)


def iqr(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q1, q3


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


# ---- results ---------------------------------------------------------------------------------
@dataclass
class Result:
    label: str
    measured: float
    at_least: bool  # True: target is a lower bound (>=), False: an upper bound (<=)
    target: float
    timings: Timings
    unit: str = "x"

    @property
    def passed(self) -> bool:
        return self.measured >= self.target if self.at_least else self.measured <= self.target

    @property
    def headroom(self) -> float:
        """Percent by which the target is beaten (negative: missed)."""
        ratio = self.measured / self.target
        return 100 * (ratio - 1 if self.at_least else 1 - ratio)


def n_parameters(net: BundledMLP) -> int:
    return sum(w.numel() for w in net.weights) + sum(b.numel() for b in net.biases)


def last_level_cache_bytes() -> int | None:
    """Size of the highest-level CPU cache from sysfs, None when unknown."""
    best: tuple[int, int] | None = None
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(size[-1], 1)
        value = int(size.rstrip("KMG")) * scale
        if best is None or level > best[0]:
            best = (level, value)
    return best[1] if best else None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_kernels() -> str:
    """What decides the kernels' speed: torch's CPU dispatch (ISA), its BLAS, the threads'
    wait policy and the product formulation the trainer chose on this machine."""
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    mkl = (f"MKL {torch.backends.mkl.get_mkl_version()}" if hasattr(torch.backends.mkl,
           "get_mkl_version") else "MKL") if torch.backends.mkl.is_available() else None
    return (f"dispatch {torch.backends.cpu.get_cpu_capability()}, BLAS "
            f"{mkl or (blas.group(1) if blas else 'unknown')}, {torch.get_num_threads()} "
            f"threads, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
            f"formulation {choose_formulation('cpu')!r} (trainability.nets.formulations)")


# ---- the four measurements -------------------------------------------------------------------
def bench_vs_naive(mode: Mode, x: torch.Tensor, y: torch.Tensor) -> list[Result]:
    print("\n[1] Trainer update vs naive nn.Sequential + torch.optim.SGD + DataLoader loop")
    results = []
    for batch, target in ((10, 1.2), (128, 1.0)):
        torch.manual_seed(1)
        naive = NaiveUpdate(batch, x, y)
        ours = TrainerUpdate(1, batch, x, y)
        wait_for_quiet(mode)
        variants = {"naive": block(naive, mode), "ours": block(ours, mode)}
        times = interleaved(variants, mode.rounds)
        t_naive, t_ours = times.median("naive"), times.median("ours")
        print(f"  batch {batch:3d}: naive {ms(t_naive)}/step {batch / t_naive:7.0f} ex/s | "
              f"ours {ms(t_ours)}/step {batch / t_ours:7.0f} ex/s | "
              f"ours/naive {t_naive / t_ours:.3f}x")
        print(f"             {times.paired(lambda n, o: n / o, 'naive', 'ours')}; "
              f"blocks of {variants['naive'].calls}/{variants['ours'].calls} steps; "
              f"{times.quiet_text()}")
        results.append(Result(f"1. ours/naive examples/s, batch {batch}", t_naive / t_ours,
                              True, target, times))
    return results


def bench_bundles(mode: Mode, x: torch.Tensor, y: torch.Tensor) -> list[Result]:
    print("\n[2] Bundle of K members vs K separate K=1 runs (width 1000, depth 5, batch 10)")
    solo = TrainerUpdate(1, 10, x, y, seed=100)
    bundles = {k: TrainerUpdate(k, 10, x, y) for k in (1, 4, 16)}
    wait_for_quiet(mode)
    variants = {"solo": block(solo, mode)}
    for k, update in bundles.items():
        variants[f"K={k}"] = block(update, mode)
    times = interleaved(variants, mode.rounds)
    t_solo = times.median("solo")
    print(f"  solo K=1 net: {ms(t_solo)}/step (blocks of {variants['solo'].calls} steps); "
          f"{times.quiet_text()}")
    results = []
    for k in bundles:
        name = f"K={k}"
        t_k = times.median(name)
        ratio = t_k / k / t_solo
        weights_mib = sum(w.numel() for w in bundles[k].net.weights) * 4 / MIB
        print(f"  K={k:2d}: {ms(t_k)}/step, {ms(t_k / k)}/member-step, "
              f"per-member / solo {ratio:.3f}x "
              f"({times.paired(lambda b, s, k=k: b / k / s, name, 'solo')}; blocks of "
              f"{variants[name].calls}; weights {weights_mib:.0f} MiB)"
              + (" [control: a second K=1 net]" if k == 1 else ""))
        results.append(Result(f"2. per-member step / solo step, K={k}"
                              + (" (control)" if k == 1 else ""), ratio, False, 1.0, times))
    return results


def bench_monitor(mode: Mode, x: torch.Tensor, y: torch.Tensor) -> list[Result]:
    config = BundleConfig()
    every = config.monitor_every
    print(f"\n[3] Instrumentation at the default schedule: Monitor.record every {every} "
          f"updates on {config.monitor_size} examples (Jacobians only at init and end)")
    torch.manual_seed(2)
    monitor_x = torch.rand(config.monitor_size, N_INPUTS)
    monitor_y = torch.randint(0, N_CLASSES, (config.monitor_size,))
    eval_x = torch.rand(config.valid_size + config.test_size, N_INPUTS)
    eval_y = torch.randint(0, N_CLASSES, (len(eval_x),))
    valid = (eval_x[:config.valid_size], eval_y[:config.valid_size])
    test = (eval_x[config.valid_size:], eval_y[config.valid_size:])
    ks = (1, 2)
    updates = {k: TrainerUpdate(k, config.batch_size, x, y) for k in ks}
    monitors = {k: Monitor(monitor_x, monitor_y, config.histogram_bins,
                           config.jacobian_examples) for k in ks}

    def recorder(k: int, with_jacobian: bool) -> Callable[[], None]:
        def record() -> None:
            monitors[k].record(updates[k].net, updates[k].update, with_jacobian=with_jacobian)
        return record

    def evaluator(k: int) -> Callable[[], None]:
        def evaluate() -> None:  # what _record_curves computes every eval_every updates
            error_rates(updates[k].net, *valid)
            error_rates(updates[k].net, *test)
        return evaluate

    wait_for_quiet(mode)
    variants: dict[str, Block] = {}
    for k in ks:
        record = recorder(k, False)
        record()  # the first record also fixes the histogram edges
        variants[f"record K={k}"] = block(record, mode, block_s=0)
        variants[f"step K={k}"] = block(updates[k], mode)
    times = interleaved(variants, mode.record_rounds)
    extra = interleaved({f"{what} K={k}": block(recorder(k, True) if what == "jacobian"
                                                else evaluator(k), mode, 0, warm_calls=1)
                         for what in ("jacobian", "eval") for k in ks}, mode.jacobian_reps,
                        min_rounds=1)
    print(f"  record/update rounds: {times.quiet_text()}; information rounds: "
          f"{extra.quiet_text()}")
    results = []
    for k in ks:
        t_record, t_step = times.median(f"record K={k}"), times.median(f"step K={k}")
        t_jacobian, t_eval = extra.median(f"jacobian K={k}"), extra.median(f"eval K={k}")
        overhead = t_record / (every * t_step)
        spread = times.paired(lambda r, s: r / (every * s), f"record K={k}", f"step K={k}")
        print(f"  K={k}: record {ms(t_record)}, update {ms(t_step)} -> {every} updates "
              f"{every * t_step:6.2f} s; overhead {100 * overhead:.2f}% ({spread})")
        print(f"       info: record with_jacobian=True {t_jacobian:6.2f} s "
              f"(= {100 * t_jacobian / (every * t_step):.1f}% of {every} updates; the "
              f"defaults do it twice per run)")
        print(f"       info: evaluation every {config.eval_every} updates (error_rates on "
              f"{config.valid_size} + {config.test_size} examples) {t_eval:6.2f} s "
              f"(= {100 * t_eval / (config.eval_every * t_step):.1f}% of "
              f"{config.eval_every} updates)")
        n_records = config.updates // every + 1  # at 0, every `every`, and at the end
        n_evals = config.updates // config.eval_every + 1
        extra_s = (n_records - 2) * t_record + 2 * t_jacobian + n_evals * t_eval
        print(f"       info: a default run ({config.updates} updates): {n_records - 2} records "
              f"+ 2 with Jacobians + {n_evals} evaluations = {extra_s:.1f} s on top of "
              f"{config.updates * t_step:.1f} s of updates "
              f"(+{100 * extra_s / (config.updates * t_step):.0f}%)")
        results.append(Result(f"3. record / {every} updates, K={k}", 100 * overhead, False,
                              10.0, times, unit="%"))
    return results


def bench_floor(mode: Mode, x: torch.Tensor, y: torch.Tensor) -> list[Result]:
    llc = last_level_cache_bytes()
    buffer_bytes = max(512 * MIB, 2 * llc if llc else 0)
    print("\n[4] Update at batch 10 vs the memory-traffic floor")
    update = TrainerUpdate(1, 10, x, y)
    params = n_parameters(update.net)
    traffic = 4 * 4 * params
    n = buffer_bytes // 4
    src, dst = torch.ones(n), torch.zeros(n)  # filled: pages are touched before timing
    small = params * 4  # for information: two buffers of the net's own size
    small_src, small_dst = torch.ones(params), torch.zeros(params)

    def copy() -> None:
        dst.copy_(src)

    def copy_small() -> None:
        small_dst.copy_(small_src)

    wait_for_quiet(mode)
    variants = {"copy": block(copy, mode, block_s=0), "copy small": block(copy_small, mode, 0.05),
                "step": block(update, mode)}
    times = interleaved(variants, mode.copy_rounds)
    t_copy, t_step = times.median("copy"), times.median("step")
    bandwidth = 2 * buffer_bytes / t_copy
    small_bandwidth = 2 * small / times.median("copy small")
    floor = traffic / bandwidth
    ratio = t_step / floor
    low, high = (2 * buffer_bytes / t / 1e9 for t in iqr(times.series("copy"))[::-1])
    llc_text = f"{llc / MIB:.0f} MiB" if llc else "unknown"
    print(f"  last-level cache (sysfs): {llc_text}; copy buffers 2 x {buffer_bytes / MIB:.0f} "
          f"MiB; {times.quiet_text()}")
    print(f"  copy bandwidth (bytes read + bytes written) {bandwidth / 1e9:6.2f} GB/s "
          f"[IQR {low:.2f}-{high:.2f}]")
    print(f"  floor = 4 passes x 4 bytes x P, P = {params:,} parameters (weights + biases): "
          f"{traffic / 1e6:.1f} MB / {bandwidth / 1e9:.2f} GB/s = {ms(floor)}")
    print("        (activations at batch 10, B x (784 + 5 x 1000 + 10) floats per pass, "
          "are < 2% of it and left out)")
    spread = times.paired(lambda s, c: s / (traffic / (2 * buffer_bytes / c)), "step", "copy")
    print(f"  update {ms(t_step)} = {ratio:.3f}x floor ({spread})")
    print(f"  info: copy bandwidth at the net's own size (2 x {small / MIB:.1f} MiB) "
          f"{small_bandwidth / 1e9:6.2f} GB/s -> cache-resident floor "
          f"{ms(traffic / small_bandwidth)}; update = {t_step / (traffic / small_bandwidth):.3f}x")
    return [Result("4. update / memory-traffic floor, batch 10", ratio, False, 1.5, times)]


# ---- 6: the trick path -------------------------------------------------------------------------
#: (name, members, target): bundles whose members all use one trick, then a mixed bundle.
TRICK_BUNDLES = (
    [(trick, [trick] * 4, 1.5) for trick in ("none", "residual", "dropout:0.2", "clip_norm:1")]
    + [(trick, [trick] * 4, 2.5) for trick in ("clip_value:0.1", "batchnorm", "adam")]
    + [("mixed", ["none", "batchnorm", "residual", "clip_norm:1", "adam"], 2.5)])


def bench_tricks(mode: Mode, x: torch.Tensor, y: torch.Tensor) -> list[Result]:
    formulation = choose_formulation("cpu")
    print(f"\n[6] Trick path vs plain path per member-update (depth {DEPTH}, width {WIDTH}, "
          f"batch 10, tanh, formulation {formulation!r})")
    plain: dict[str, str] = {}  # bundle -> the plain bundle of its K
    updates: dict[str, TrainerUpdate] = {}
    for name, tricks, _ in TRICK_BUNDLES:
        plain[name] = f"plain K={len(tricks)}"
        if plain[name] not in updates:
            updates[plain[name]] = TrainerUpdate(len(tricks), 10, x, y)
        updates[name] = TrickUpdate(tricks, 10, x, y)
    wait_for_quiet(mode)
    variants = {name: block(update, mode) for name, update in updates.items()}
    times = interleaved(variants, mode.rounds)
    print(f"  {times.quiet_text()}")
    for name in sorted(set(plain.values())):
        k = updates[name].net.n_members
        print(f"  {name}: {ms(times.median(name))}/update, {ms(times.median(name) / k)}"
              f"/member-update (blocks of {variants[name].calls})")
    results = []
    for name, tricks, target in TRICK_BUNDLES:
        ratio = times.median(name) / times.median(plain[name])
        members = "+".join(tricks) if name == "mixed" else f"{len(tricks)} x {name}"
        print(f"  {members:<42} {ms(times.median(name))}/update = {ratio:.2f}x plain "
              f"({times.paired(lambda t, p: t / p, name, plain[name])}; target <= {target:g})")
        results.append(Result(f"6. trick path / plain path, {name}", ratio, False, target,
                              times))
    return results


# ---- 5: beside other work ---------------------------------------------------------------------
NEIGHBOUR_THREADS = 2  # what a Snakemake training job gets (workflow/rules/train.smk)


def worker() -> None:
    """`bench_trainer.py --worker`: time updates on request. Each stdin line holds a duration
    in seconds; the worker runs updates for that long and answers "<updates> <seconds>"."""
    torch.manual_seed(0)
    x = torch.rand(N_TRAIN, N_INPUTS)
    y = torch.randint(0, N_CLASSES, (N_TRAIN,))
    update = TrainerUpdate(1, 10, x, y)
    for _ in range(50):  # warm-up
        update()
    print("ready", flush=True)
    for line in sys.stdin:
        duration, count = float(line), 0
        start = time.perf_counter()
        while time.perf_counter() - start < duration:
            update()
            count += 1
        print(f"{count} {time.perf_counter() - start}", flush=True)


class Worker:
    """A `--worker` process with the given OpenMP settings (None: the runtime's defaults)."""

    def __init__(self, settings: dict[str, str] | None):
        env = {k: v for k, v in os.environ.items()
               if k not in {*WAIT_SETTINGS, "OMP_WAIT_POLICY"}}
        env |= {"OMP_NUM_THREADS": str(NEIGHBOUR_THREADS), **(settings or {})}
        self.process = subprocess.Popen([sys.executable, __file__, "--worker"], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def seconds_per_update(self, duration: float) -> float:
        self.process.stdin.write(f"{duration}\n")
        self.process.stdin.flush()
        count, seconds = self.process.stdout.readline().split()
        return float(seconds) / max(1, int(count))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def busy_loops() -> list[subprocess.Popen]:
    """One CPU-bound process per core that does not touch memory."""
    return [subprocess.Popen(["python3", "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 1)]


def side_by_side(pair: tuple[Worker, Worker], duration: float) -> float:
    """Seconds per update of pair[0] while pair[1] trains at the same time."""
    for w in pair:
        w.process.stdin.write(f"{duration}\n")
        w.process.stdin.flush()
    count, seconds = pair[0].process.stdout.readline().split()
    pair[1].process.stdout.readline()
    return float(seconds) / max(1, int(count))


def bench_neighbours(mode: Mode, x: torch.Tensor, y: torch.Tensor) -> list[Result]:
    print(f"\n[5] Update beside other work: depth 5, width 1000, batch 10, K=1, "
          f"{NEIGHBOUR_THREADS} threads; suite's OpenMP settings {WAIT_SETTINGS} vs the "
          f"runtime's defaults; alone, beside {os.cpu_count()} busy loops, and (for "
          "information) beside a second training job with the same settings")
    workers = {"ours": (Worker(WAIT_SETTINGS), Worker(WAIT_SETTINGS)),
               "default": (Worker(None), Worker(None))}
    arms = [f"{name} {where}" for where in ("alone", "beside loops", "beside a job")
            for name in workers]
    samples: dict[str, list[float]] = {arm: [] for arm in arms}
    foreign: list[float] = []
    block_s = mode.neighbour_block_s
    wait_for_quiet(mode)
    try:
        for r in range(mode.neighbour_rounds):
            order = list(workers) if r % 2 == 0 else list(workers)[::-1]
            meter = CpuMeter(tuple(w.process.pid for pair in workers.values() for w in pair))
            for name in order:
                samples[f"{name} alone"].append(workers[name][0].seconds_per_update(block_s))
            foreign.append(meter.foreign())
            loops = busy_loops()
            try:
                time.sleep(0.2)  # let the scheduler spread them
                for name in order:
                    samples[f"{name} beside loops"].append(
                        workers[name][0].seconds_per_update(block_s))
            finally:
                for loop in loops:
                    loop.kill()
                    loop.wait()
            for name in order:
                samples[f"{name} beside a job"].append(side_by_side(workers[name], block_s))
    finally:
        for pair in workers.values():
            for w in pair:
                w.close()
    times = Timings(samples, foreign)
    for arm in arms:
        print(f"  {arm:<20} {ms(times.median(arm))}/update "
              f"[IQR {' - '.join(ms(v).strip() for v in iqr(times.series(arm)))}]")
    print(f"  alone rounds: {times.quiet_text()}")
    contended = times.median("ours beside loops") / times.median("ours alone")
    alone = times.median("ours alone") / times.median("default alone")
    default = times.median("default beside loops") / times.median("default alone")
    print(f"  ours beside loops / ours alone {contended:.2f}x "
          f"({times.paired(lambda c, a: c / a, 'ours beside loops', 'ours alone')})")
    print(f"  ours alone / defaults alone {alone:.3f}x "
          f"({times.paired(lambda o, d: o / d, 'ours alone', 'default alone')})")
    print(f"  info: defaults beside loops / defaults alone {default:.2f}x "
          f"({times.paired(lambda c, a: c / a, 'default beside loops', 'default alone')})")
    for name in workers:
        job = times.median(f"{name} beside a job") / times.median(f"{name} alone")
        spread = times.paired(lambda c, a: c / a, f"{name} beside a job", f"{name} alone")
        print(f"  info: {name} beside a second job / alone {job:.2f}x ({spread})")
    return [Result("5. beside busy loops / alone (suite's settings)", contended, False, 2.5,
                   times),
            Result("5. alone: suite's settings / runtime defaults", alone, False, 1.05, times)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions, a smoke check")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sections", default="1,2,3,4,5,6",
                        help="comma-separated measurements to run (default: all)")
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    mode = QUICK if args.quick else FULL
    sections = {int(s) for s in args.sections.split(",")}
    torch.set_flush_denormal(True)  # as train_bundle does
    print(__doc__.strip())  # the header: what each measurement is
    print(f"\nmode: {'quick' if args.quick else 'full'}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {cpu_name()}; python "
          f"{platform.python_version()}; command: {' '.join([sys.executable, *sys.argv])}")
    print(f"kernels: {machine_kernels()}")
    torch.manual_seed(0)
    x = torch.rand(N_TRAIN, N_INPUTS)
    y = torch.randint(0, N_CLASSES, (N_TRAIN,))
    started = time.perf_counter()
    results: list[Result] = []
    for number, bench in ((1, bench_vs_naive), (2, bench_bundles), (3, bench_monitor),
                          (4, bench_floor), (5, bench_neighbours), (6, bench_tricks)):
        if number in sections:
            results += bench(mode, x, y)
            gc.collect()
    width = max(len(r.label) for r in results)
    print(f"\nSummary ({time.perf_counter() - started:.0f} s)")
    print(f"  {'measurement':<{width}}  {'measured':>9}  {'target':>9}  {'meas/target':>11}"
          f"  {'headroom':>8}  {'rounds':>6}  result")
    for r in results:
        op = ">=" if r.at_least else "<="
        rounds = f"{len(r.timings.used)}/{len(r.timings.foreign)}"
        print(f"  {r.label:<{width}}  {r.measured:>8.3f}{r.unit}  {op}{r.target:>6g}{r.unit}  "
              f"{r.measured / r.target:>11.3f}  {r.headroom:>+7.1f}%  {rounds:>6}  "
              f"{'PASS' if r.passed else 'MISS'}{' (NOISY)' if r.timings.noisy else ''}")
    if any("(control)" in r.label for r in results):
        print("  K=1 (control) compares two K=1 nets that differ only in seed and memory "
              "placement: its distance from 1.0 is this run's noise floor for row 2.")
    print("  headroom: how far the target is beaten (negative: missed); rounds: rounds used "
          f"(those where other processes took <= {100 * QUIET:.0f}% of the CPUs)")


if __name__ == "__main__":
    main()
