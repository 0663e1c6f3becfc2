"""Throughput of the Shapeset-3x2 generator (images per second).

Run: ``.venv/bin/python benchmarks/bench_shapeset.py [--device cpu] [--repeats 3]``.
Prints images/s (wall clock, best of ``--repeats``) for a few chunk sizes
(``generate(stream, start, chunk)`` calls, the way ``ShapesetStream`` uses it) and the ratio to
the 20,000 images/s target.  Wall-clock numbers need an otherwise idle machine: with 2 threads
on 2 cores, any other busy process makes torch's worker threads wait on each other.
"""

from __future__ import annotations

import argparse
import time

import torch

from trainability.data.shapeset import ShapesetConfig, generate, stream_key

TARGET = 20_000.0  # images/s on the 2-core CPU of the development machine


def measure(chunk: int, device: str, repeats: int, config: ShapesetConfig) -> float:
    """Best-of-``repeats`` images/s for one ``generate`` call of ``chunk`` examples."""
    stream = stream_key(0, "train")
    generate(stream, 0, min(chunk, 1000), config, device)  # warm-up (tables, allocator)
    best = float("inf")
    for r in range(repeats):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        generate(stream, (r + 1) * chunk, chunk, config, device)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return chunk / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1_000, 5_000, 10_000, 50_000])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = ShapesetConfig()
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")
    print(f"{'chunk':>8} {'images/s':>12} {'x target':>9}")
    for chunk in args.chunks:
        rate = measure(chunk, args.device, args.repeats, config)
        print(f"{chunk:>8} {rate:>12,.0f} {rate / TARGET:>9.2f}")


if __name__ == "__main__":
    main()
