"""Throughput of the Shapeset-3x2 generator (images per second) and fidelity of its pixels.

Run: ``.venv/bin/python benchmarks/bench_shapeset.py [--device cpu] [--repeats 3]
[--baseline-rev REV] [--stats-count 10000]``.

Speed: images/s (wall clock, best of ``--repeats``) for a few chunk sizes
(``generate(stream, start, chunk)`` calls, the way ``ShapesetStream`` uses it) and the ratio to
the 20,000 images/s target.  With ``--baseline-rev REV`` the generator of git revision REV is
timed in the same process, alternating with the working tree's on every repeat, so both see the
same machine load, and the ratio new/old is printed.  Wall-clock numbers need an otherwise idle
machine: with 2 threads on 2 cores, any other busy process makes torch's worker threads wait on
each other (``--threads 1`` is steadier on a shared machine).

Fidelity: the ``shapeset.PIXEL_STATISTICS`` of the first ``--stats-count`` images of the seed-0
train stream (default config) against the authors' figures (``AUTHORS_PIXEL_STATISTICS_10K`` and
``_300K``; see ``trainability.data.shapeset``).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from trainability.threads import configure_waiting

configure_waiting()  # before torch loads, as every entry point of the suite does

import torch  # noqa: E402

from trainability.data import shapeset  # noqa: E402
from trainability.data.shapeset import (  # noqa: E402
    AUTHORS_PIXEL_STATISTICS_10K,
    AUTHORS_PIXEL_STATISTICS_300K,
    PIXEL_STATISTICS,
    ShapesetConfig,
    pixel_statistics,
    stream_key,
)

TARGET = 20_000.0  # images/s on the 2-core CPU of the development machine
GENERATOR = "src/trainability/data/shapeset"  # a package now; one file (+ ".py") before


def load_revision(rev: str) -> ModuleType:
    """The generator as of git revision ``rev``, imported as ``trainability_baseline``'s: its
    files (the package, or the single module of older revisions) are extracted with git and
    their imports of ``trainability.data.shapeset`` renamed, so both versions coexist."""
    root = Path(__file__).resolve().parents[1]
    listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, GENERATOR + ".py",
                             GENERATOR], cwd=root, check=True, capture_output=True, text=True)
    package = Path(tempfile.mkdtemp()) / "trainability_baseline"
    for name in ("", "data"):
        (package / name).mkdir(parents=True, exist_ok=True)
        (package / name / "__init__.py").write_text("")
    for relative in listed.stdout.split():
        source = subprocess.run(["git", "show", f"{rev}:{relative}"], cwd=root, check=True,
                                capture_output=True, text=True).stdout
        target = package / Path(relative).relative_to("src/trainability")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.replace("trainability.data.shapeset",
                                         "trainability_baseline.data.shapeset"))
    sys.path.insert(0, str(package.parent))
    return importlib.import_module("trainability_baseline.data.shapeset")


def measure(
    modules: dict[str, ModuleType], chunk: int, device: str, repeats: int
) -> dict[str, float]:
    """Best-of-``repeats`` images/s of one ``generate`` call of ``chunk`` examples, per module
    (each module's config is its own ``ShapesetConfig()``), alternating modules every repeat."""
    stream = stream_key(0, "train")
    best = dict.fromkeys(modules, float("inf"))
    for m in modules.values():
        m.generate(stream, 0, min(chunk, 1000), device=device)  # warm-up (tables, allocator)
    for r in range(repeats):
        for name, m in modules.items():
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            m.generate(stream, (r + 1) * chunk, chunk, device=device)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: chunk / t for name, t in best.items()}


def print_statistics(count: int, device: str) -> None:
    """Ours vs the authors' for every pixel statistic (seed-0 train stream, default config)."""
    batch = shapeset.generate(
        stream_key(0, "train"), 0, count, ShapesetConfig(), device, return_scenes=True
    )
    ours = pixel_statistics(batch)
    print(f"\npixel statistics, {count:,} images of the seed-0 train stream (mean +- s.e.)")
    print(
        f"{'statistic':>20} {'ours':>18} {'authors 10k':>12} {'authors 300k':>18} {'ours/300k':>10}"
    )
    for name in PIXEL_STATISTICS:
        (m, se), small = ours[name], AUTHORS_PIXEL_STATISTICS_10K[name]
        ref, ref_se = AUTHORS_PIXEL_STATISTICS_300K[name]
        digits = 4 if name.startswith("foreground") else 1
        print(
            f"{name:>20} {m:>10.{digits}f} +- {se:<5.{digits}f} {small:>12.{digits}f} "
            f"{ref:>10.{digits}f} +- {ref_se:<5.{digits}f} {m / ref:>10.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--chunks", type=int, nargs="+", default=[1_000, 5_000, 10_000, 50_000])
    parser.add_argument("--baseline-rev", default=None, help="git revision to time alongside")
    parser.add_argument("--stats-count", type=int, default=10_000, help="0 skips the statistics")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    modules = {"new": shapeset}
    if args.baseline_rev:
        modules = {"old": load_revision(args.baseline_rev), "new": shapeset}
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")
    header = f"{'chunk':>8} {'images/s':>12} {'x target':>9}"
    if args.baseline_rev:
        header += f" {'old images/s':>13} {'new/old':>8}   (old = {args.baseline_rev})"
    print(header)
    for chunk in args.chunks:
        rate = measure(modules, chunk, args.device, args.repeats)
        line = f"{chunk:>8} {rate['new']:>12,.0f} {rate['new'] / TARGET:>9.2f}"
        if args.baseline_rev:
            line += f" {rate['old']:>13,.0f} {rate['new'] / rate['old']:>8.2f}"
        print(line)
    if args.stats_count:
        print_statistics(args.stats_count, args.device)


if __name__ == "__main__":
    main()
