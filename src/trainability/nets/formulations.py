"""Equivalent ways to compute a bundle's back-propagated products, and the fastest on this machine.

The plain step's backward needs, per layer, dh = g W^T: (K, B, n_out) x (K, n_in, n_out)^T.
Mathematically one product, its speed depends on the CPU and its BLAS, because the batched
matmul hands the BLAS a transposed view one way or the other:

  "w_gt"  dh = (W g^T)^T: a (n_in x n_out)(n_out x B) product, then a transposed view.
  "g_wt"  dh = g W^T: a (B x n_out)(n_out x n_in) product on W's transposed view.

Measured side by side (paper's layer, 1000 x 1000, minibatch 10, 2 threads, MKL as bundled
with torch 2.13): on an Intel Xeon "w_gt" was about twice faster per member once a bundle had
several members; on an AMD EPYC (Zen 3) "g_wt" is about twice faster at K = 4 and 1.2x at
K = 1. So the suite measures, once per machine, which is faster (`choose`): at the paper's
layer shape and K = 4 whatever a run's K (so a bundle's members and their solo twins use the
same), caches the answer, and records it in run.json and in checkpoints (a resumed run keeps
its formulation). The results agree to float rounding (tests/test_formulations.py), not
bitwise: pin one with `$TRAINABILITY_FORMULATION` to compare runs across machines exactly.
On CUDA, cuBLAS takes transposes natively: "g_wt", without measuring.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from trainability.atomic import OutputError, write_json
from trainability.lazy import lazy_import

torch = lazy_import("torch")

FORMULATION_ENV = "TRAINABILITY_FORMULATION"
CACHE_ENV = "TRAINABILITY_CACHE"

#: name -> dh = f(g (K, B, n_out), W (K, n_in, n_out)) -> (K, B, n_in)
BACKWARD_INPUT: dict[str, Callable] = {
    "w_gt": lambda g, w: torch.bmm(w, g.transpose(1, 2)).transpose(1, 2),
    "g_wt": lambda g, w: torch.bmm(g, w.transpose(1, 2)),
}
#: What the measurement uses: the paper's hidden layer, minibatch, and a bundle of 4.
TUNE_SHAPE = {"k": 4, "batch": 10, "n_in": 1000, "n_out": 1000}


def cache_file() -> Path:
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME",
                                                            Path.home() / ".cache"))
    return Path(root) / "trainability" / "formulations.json"


def machine_key(threads: int) -> str:
    """What the fastest formulation depends on: the CPU model, torch's version (and BLAS),
    the thread count."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} | torch {torch.__version__} | {threads} threads"


def measure(repeats: int = 7) -> dict[str, float]:
    """Seconds per backward product of each formulation at TUNE_SHAPE, timed in alternating
    order (the median of `repeats` rounds)."""
    s = TUNE_SHAPE
    generator = torch.Generator().manual_seed(0)
    weights = [torch.randn(s["k"], s["n_in"], s["n_out"], generator=generator)
               for _ in range(4)]  # cycled through, as a step's layers are: not all cached
    g = torch.randn(s["k"], s["batch"], s["n_out"], generator=generator)
    times: dict[str, list[float]] = {name: [] for name in BACKWARD_INPUT}
    for r in range(repeats + 1):
        names = list(BACKWARD_INPUT) if r % 2 == 0 else list(BACKWARD_INPUT)[::-1]
        for name in names:
            start = time.perf_counter()
            for w in weights:
                BACKWARD_INPUT[name](g, w)
            if r:  # the first round warms up
                times[name].append((time.perf_counter() - start) / len(weights))
    return {name: statistics.median(values) for name, values in times.items()}


def choose(device_type: str = "cpu") -> str:
    """The formulation to use: $TRAINABILITY_FORMULATION if set; "g_wt" on CUDA; on the CPU
    the faster one measured on this machine (once: the answer is cached per machine key)."""
    forced = os.environ.get(FORMULATION_ENV)
    if forced:
        if forced not in BACKWARD_INPUT:
            raise ValueError(f"${FORMULATION_ENV} must be one of {', '.join(BACKWARD_INPUT)}, "
                             f"got {forced!r}")
        return forced
    if device_type == "cuda":
        return "g_wt"
    key = machine_key(torch.get_num_threads())
    path = cache_file()
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        cached = {}
    if key in cached and cached[key].get("choice") in BACKWARD_INPUT:
        return cached[key]["choice"]
    seconds = measure()
    choice = min(seconds, key=seconds.get)
    cached[key] = {"choice": choice, "seconds": seconds}
    try:
        write_json(path, cached)
    except OutputError:  # a cache that cannot be written only costs the measurement again
        pass
    return choice
