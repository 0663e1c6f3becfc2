"""The device check: run it whenever a GPU machine is available (a few minutes on one GPU).

    python benchmarks/device_check.py OUT_DIR            # on a CUDA machine
    python benchmarks/device_check.py OUT_DIR --dry      # anywhere: tiny shapes on the CPU

With `src/` on PYTHONPATH (PYTHONPATH=src) it needs torch, pandas, pyarrow, scipy, pyyaml, tqdm,
psutil and pytest, no Snakemake. Four parts, each written to OUT_DIR/device_check.json and
OUT_DIR/device_check.md:

1. The CUDA tests (pytest -m cuda on the files that have them; skipped with --dry).
2. Member-updates per second at the paper's shape (1024 inputs, 5 x 1000 tanh, 9 classes,
   minibatch 10) for K = 1, 8, 32 and 128 members trained as one bundle, with the captured
   CUDA graph (trainability.train.engine) and, for K <= 8, eagerly; and the fraction of the
   memory-traffic floor each reaches. The floor of one member-update is 4 passes over its
   parameters (forward read, backward read, read + write in the fused update) x 4 bytes /
   the device-to-device copy bandwidth measured here (bytes read + written per second by
   dst.copy_(src) on a buffer far larger than the L2 cache). At K = 1 the 20 MB network sits
   in the L2 cache, so compare K >= 8 with the floor.
3. The trick path: K = 32 members of depth 20, width 256, with batch norm and Adam, captured
   and eager.
4. The summary tables, with the device, torch and CUDA versions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trainability.nets.mlp import BundledMLP  # noqa: E402
from trainability.train.engine import configure_device, make_engine  # noqa: E402
from trainability.train.sgd import sgd_step  # noqa: E402
from trainability.tricks.net import TrickMLP  # noqa: E402
from trainability.tricks.spec import parse_trick  # noqa: E402
from trainability.tricks.step import TrickStepper  # noqa: E402

#: The test files that hold CUDA tests (marker `cuda`).
CUDA_TESTS = ("tests/test_engine.py", "tests/test_shapeset.py", "tests/test_optim.py")


@dataclass(frozen=True)
class Shape:
    inputs: int
    classes: int
    depth: int
    width: int
    batch: int = 10

    def parameters(self) -> int:
        sizes = [self.inputs, *[self.width] * self.depth, self.classes]
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


PAPER = Shape(1024, 9, 5, 1000)
TRICKS = Shape(1024, 9, 20, 256)
DRY_PAPER = Shape(64, 9, 2, 32)
DRY_TRICKS = Shape(64, 9, 3, 16)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(step, device: torch.device, seconds: float, active: torch.Tensor,
          x: torch.Tensor, y: torch.Tensor) -> float:
    """Seconds per update of `step`, over updates run for about `seconds` after a warm-up."""
    for _ in range(10):
        step(x, y, active)
    synchronize(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            step(x, y, active)
        count += 50
        synchronize(device)
    return (time.perf_counter() - start) / count


def copy_bandwidth(device: torch.device, mebibytes: int) -> float:
    """Bytes read + written per second by a device-to-device copy of `mebibytes`."""
    n = mebibytes * 2**20 // 4
    src, dst = torch.ones(n, device=device), torch.zeros(n, device=device)
    for _ in range(3):
        dst.copy_(src)
    synchronize(device)
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        dst.copy_(src)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n * 4 / best


def inputs(shape: Shape, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(shape.batch, shape.inputs, generator=g).to(device)
    return x, torch.randint(0, shape.classes, (shape.batch,), generator=g).to(device)


def plain_rates(shape: Shape, ks: list[int], device: torch.device, seconds: float,
                bandwidth: float, eager_up_to: int) -> list[dict]:
    rows = []
    x, y = inputs(shape, device)
    floor = 4 * 4 * shape.parameters() / bandwidth  # seconds per member-update
    for k in ks:
        net = BundledMLP.initialize(shape.inputs, shape.classes, shape.depth, shape.width,
                                    ["tanh"] * k, ["normalized"] * k, list(range(k)),
                                    device=device)
        lr = torch.full((k,), 1e-4, device=device)
        active = torch.ones(k, dtype=torch.bool, device=device)

        def step(xb, yb, act, net=net, lr=lr):
            return sgd_step(net, xb, yb, lr, act)

        for mode in ("auto", "eager") if k <= eager_up_to else ("auto",):
            engine = make_engine(step, device, shape.batch, shape.inputs, k, mode=mode)
            per_update = timed(engine.step, device, seconds, active, x, y)
            rows.append({"K": k, "engine": engine.name, "note": engine.note,
                         "ms_per_update": 1e3 * per_update,
                         "member_updates_per_s": k / per_update,
                         "fraction_of_floor": floor / (per_update / k)})
        del net
    return rows


def trick_rates(shape: Shape, k: int, device: torch.device, seconds: float) -> list[dict]:
    rows = []
    x, y = inputs(shape, device)
    for mode in ("auto", "eager"):
        net = TrickMLP.initialize(shape.inputs, shape.classes, shape.depth, shape.width,
                                  ["tanh"] * k, ["normalized"] * k, list(range(k)),
                                  device=device,
                                  tricks=[parse_trick("batchnorm+adam")] * k, noise_seed=0)
        stepper = TrickStepper(net, torch.full((k,), 1e-4, device=device))
        engine = make_engine(stepper.step, device, shape.batch, shape.inputs, k,
                             [net.generator], mode=mode)
        active = torch.ones(k, dtype=torch.bool, device=device)
        per_update = timed(engine.step, device, seconds, active, x, y)
        rows.append({"K": k, "depth": shape.depth, "width": shape.width,
                     "tricks": "batchnorm+adam", "engine": engine.name, "note": engine.note,
                     "ms_per_update": 1e3 * per_update, "member_updates_per_s": k / per_update})
    return rows


def cuda_tests(dry: bool) -> dict:
    if dry:
        return {"ran": False, "reason": "dry run"}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"),
                                                        os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p",
                             "no:cacheprovider", *CUDA_TESTS], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    lines = result.stdout.strip().splitlines()
    return {"ran": True, "returncode": result.returncode, "summary": lines[-1] if lines else "",
            "tail": "\n".join((result.stdout + result.stderr).splitlines()[-30:])}


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "cpu"


def markdown(summary: dict) -> str:
    lines = [f"# Device check: {summary['device']}", "",
             f"torch {summary['torch']}, CUDA {summary['cuda']}; copy bandwidth "
             f"{summary['copy_bandwidth_GBps']:.0f} GB/s; floor of a paper-shape member-update "
             f"{summary['floor_us']:.1f} us ({summary['paper_parameters']:,} parameters)", "",
             f"CUDA tests: {summary['tests'].get('summary') or summary['tests'].get('reason')}",
             "", "| K | engine | ms/update | member-updates/s | fraction of floor |",
             "|---|---|---|---|---|"]
    for row in summary["plain"]:
        lines.append(f"| {row['K']} | {row['engine']} | {row['ms_per_update']:.3f} | "
                     f"{row['member_updates_per_s']:,.0f} | {row['fraction_of_floor']:.2f} |")
    lines += ["", "Trick path (batch norm + Adam):", "",
              "| K | depth x width | engine | ms/update | member-updates/s |",
              "|---|---|---|---|---|"]
    for row in summary["tricks"]:
        lines.append(f"| {row['K']} | {row['depth']} x {row['width']} | {row['engine']} | "
                     f"{row['ms_per_update']:.3f} | {row['member_updates_per_s']:,.0f} |")
    notes = {row["note"] for row in summary["plain"] + summary["tricks"] if row["note"]}
    lines += [""] + [f"Note: {note}" for note in sorted(notes)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for device_check.json and .md")
    parser.add_argument("--dry", action="store_true",
                        help="tiny shapes on the CPU: checks that the script runs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    dry = args.dry or not torch.cuda.is_available()
    device = torch.device("cpu" if dry else "cuda")
    settings = configure_device(device)
    paper, tricks = (DRY_PAPER, DRY_TRICKS) if dry else (PAPER, TRICKS)
    seconds = 0.05 if dry else 2.0
    bandwidth = copy_bandwidth(device, 64 if dry else 2048)
    summary = {
        "device": device_name(device), "dry": dry, "torch": torch.__version__,
        "cuda": torch.version.cuda, "settings": settings,
        "copy_bandwidth_GBps": bandwidth / 1e9, "paper_parameters": paper.parameters(),
        "floor_us": 1e6 * 4 * 4 * paper.parameters() / bandwidth,
        "tests": cuda_tests(dry),
        "plain": plain_rates(paper, [1, 2] if dry else [1, 8, 32, 128], device, seconds,
                             bandwidth, eager_up_to=8),
        "tricks": trick_rates(tricks, 4 if dry else 32, device, seconds),
    }
    summary["seconds"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "device_check.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / "device_check.md").write_text(markdown(summary))
    print(markdown(summary))
    print(f"({summary['seconds']:.0f} s)")
    return 0 if summary["tests"].get("returncode", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
