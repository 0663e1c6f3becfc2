"""How training uses the CPU: how many threads, and how they wait for each other.

torch runs each large operation on a team of OpenMP threads (GNU libgomp in the Linux wheels;
its BLAS, MKL, uses the same team). Between two operations the team's threads wait for the
next one, and by default libgomp makes them *spin* (busy-wait) for 300,000 iterations, some
milliseconds, before they sleep. At the paper's minibatch of 10 an update is a chain of
operations of well under a millisecond each, so on an idle machine the threads never sleep,
which is fast. When anything else wants the cores (another job, a browser, CI) the spinning
threads take time slices that the working threads need, and a thread that sleeps instead is
woken ahead of CPU-bound neighbours; waiting passively (OMP_WAIT_POLICY=PASSIVE) costs a
futex wake-up per operation, which alone, on a virtual machine, is 20-35% of an update.

So every entry point calls `configure_waiting()` before torch loads: waiting threads spin for
`SPIN_COUNT` iterations (GOMP_SPINCOUNT), long enough to bridge the gap between two
operations of one update, then sleep. Measured on a 2-core AMD EPYC VM
(`benchmarks/bench_trainer.py` section 5 and side-by-side runs of 1,000-50,000 spins): at
3,000 spins an update alone is within noise of the default (0.98-1.06x), and it loses less
beside other work (beside a second training job 1.5-2.1x its time alone against 1.6-2.9x;
four jobs at once 3.9x against 4.7x); fewer spins cost time alone (1,000: 1.22x). A variable
the user set is never overridden. `KMP_BLOCKTIME` does the same for the LLVM/Intel OpenMP
runtimes of other builds (not measured here: no such build runs on this machine).

Threads: a training job uses the threads its scheduler gave it. Snakemake sets
OMP_NUM_THREADS to the rule's `threads` (torch reads it when it loads); `trainability train
--threads N` says it on the command line (`set_threads`).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

#: libgomp spin iterations before a waiting thread sleeps (its default is 300,000); chosen
#: in bench_trainer.py section 5 (see the README's Speed section for the figures).
SPIN_COUNT = "3000"
#: The same for the LLVM/Intel OpenMP runtimes, in milliseconds (their default is 200).
BLOCK_TIME_MS = "1"

#: What `configure_waiting` sets, unless the variable is already set.
WAIT_SETTINGS = {"GOMP_SPINCOUNT": SPIN_COUNT, "KMP_BLOCKTIME": BLOCK_TIME_MS}


def configure_waiting(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Make waiting OpenMP threads sleep after a short spin; returns what it set.

    Effective only before torch is first imported (the OpenMP runtime reads its settings
    when it loads); processes started from this one inherit the settings. Variables already
    set, in the environment or by OMP_WAIT_POLICY, are left as they are.
    """
    environ = os.environ if environ is None else environ
    if "OMP_WAIT_POLICY" in environ:  # the user chose a policy; libgomp derives its spin
        return {}
    chosen = {key: value for key, value in WAIT_SETTINGS.items() if key not in environ}
    environ.update(chosen)
    return chosen


def set_threads(threads: int | None) -> int:
    """Use `threads` CPU threads for torch's operations (None: leave torch's choice, which
    follows OMP_NUM_THREADS); returns the number in use. Raises ValueError below 1."""
    import torch

    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
        torch.set_num_threads(threads)
    return torch.get_num_threads()
