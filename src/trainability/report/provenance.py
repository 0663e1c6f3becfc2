"""The report's "Provenance" section: versions, commits, devices, wall time of the runs and
of the workflow's jobs (Snakemake benchmark files)."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import pandas as pd

from trainability.report.format import finite_number, fmt_number

REPORT_PACKAGES = ("trainability", "torch", "torchvision", "numpy", "pandas", "pyarrow",
                   "scipy", "matplotlib", "jinja2")


def load_benchmarks(benchmarks_dir: str | Path | None) -> dict[str, Any]:
    """Snakemake benchmark TSVs: one row per job (the file name, without .tsv, relative to
    benchmarks_dir) and repeat, with its wall time, peak memory and CPU time."""
    result: dict[str, Any] = {"given": benchmarks_dir is not None, "jobs": [],
                              "total_s": None, "total_hms": None}
    if benchmarks_dir is None or not Path(benchmarks_dir).is_dir():
        return result
    root = Path(benchmarks_dir)
    total = 0.0
    for path in sorted(root.rglob("*.tsv")):
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
            result["jobs"].append({"job": str(path.relative_to(root).with_suffix("")),
                                   "repeat": "", "s": "–", "hms": "unreadable file",
                                   "max_rss": "–", "cpu_time": "–", "mean_load": "–"})
            continue
        for repeat, row in enumerate(frame.to_dict("records"), start=1):
            seconds = finite_number(row.get("s"))
            total += seconds or 0.0
            result["jobs"].append({
                "job": str(path.relative_to(root).with_suffix("")),
                "repeat": repeat if len(frame) > 1 else "",
                "s": fmt_number(seconds, 1), "hms": str(row.get("h:m:s", "–")),
                "max_rss": fmt_number(row.get("max_rss"), 0),
                "cpu_time": fmt_number(row.get("cpu_time"), 1),
                "mean_load": fmt_number(row.get("mean_load"), 1),
            })
    result["total_s"] = fmt_number(total, 1)
    result["total_hms"] = _hms(total)
    return result


def _hms(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _counts(runs: pd.DataFrame, column: str) -> list[tuple[str, int]]:
    if runs.empty or column not in runs.columns:
        return []
    counts = runs[column].astype(str).value_counts()
    return sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: kv[0])


def provenance_context(runs: pd.DataFrame, tables_dir: str | Path | None,
                       benchmarks_dir: str | Path | None) -> dict[str, Any]:
    # Here, not at the top: trainability.provenance loads torch (its version, the device).
    from trainability.provenance import git_commit, package_versions

    versions = package_versions()
    for name in REPORT_PACKAGES:
        if name not in versions:
            try:
                versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                versions[name] = "not installed"
    devices = []
    if not runs.empty and "device" in runs.columns:
        name_col = "device_name" if "device_name" in runs.columns else "device"
        counts = runs.groupby(["device", name_col]).size()
        devices = [(str(d), str(n), int(c)) for (d, n), c in sorted(counts.items())]
    wall = None
    if not runs.empty and {"run", "wall_seconds"} <= set(runs.columns):
        per_run = runs.groupby("run")["wall_seconds"].first()
        wall = {"runs": len(per_run), "s": fmt_number(per_run.sum(), 1), "hms": _hms(per_run.sum())}
    schema = None
    if tables_dir is not None and (Path(tables_dir) / "schema.json").is_file():
        schema = json.loads((Path(tables_dir) / "schema.json").read_text()).get(
            "schema_version")
    return {
        "report_versions": sorted(versions.items(), key=lambda kv: (kv[0] != "python", kv[0])),
        "run_versions": {"torch": _counts(runs, "torch_version"),
                         "trainability": _counts(runs, "trainability_version"),
                         "schema": _counts(runs, "schema_version")},
        "tables_schema": schema,
        "report_commit": git_commit(),
        "run_commits": _counts(runs, "git_commit"),
        "devices": devices,
        "n_runs": len(runs),
        "n_jobs": int(runs["run"].nunique()) if "run" in runs.columns else 0,
        "run_wall": wall,
        "benchmarks": load_benchmarks(benchmarks_dir),
    }
