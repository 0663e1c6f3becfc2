"""A run folder, written atomically.

    <run>/run.json            config, members, provenance, wall time, schema version
    <run>/curves.parquet      member x update x metric (train_loss, valid_error, test_error)
    <run>/layer_stats.parquet member x update x layer x quantity x stat
    <run>/histograms.parquet  member x update x layer x quantity x bin

Every table row carries its member's config and the bundle's shape; every Parquet file
carries the schema version and the run's provenance in its metadata. Everything is written
into a temporary sibling folder that is renamed into place last, so a killed run never
leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from trainability import SCHEMA_VERSION
from trainability.atomic import OutputError, replacing
from trainability.results import RUN_TABLES, read_table, write_table

RUN_FILES = ("run.json", *(f"{name}.parquet" for name in RUN_TABLES))
#: What to do with a run folder of another schema version.
RETRAIN = "train it again (delete the folder, or pass --overwrite)"

__all__ = ["RUN_FILES", "OutputError", "check_writable", "member_columns", "read_run",
           "write_run"]


def check_writable(out_dir: Path, overwrite: bool) -> None:
    """Fail early, before any training, if `out_dir` cannot be written."""
    if out_dir.exists() and not overwrite:
        raise OutputError(f"{out_dir} already exists; pass --overwrite or choose another folder")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        probe = out_dir.parent / f".{out_dir.name}.probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise OutputError(
            f"cannot write run folder {out_dir}: {error.strerror}; choose a writable --out"
        ) from None


def member_columns(config: dict[str, Any], members: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per member: the columns every table row carries."""
    rows = []
    for index, member in enumerate(members):
        rows.append({
            "member": index, "dataset": config["dataset"], "depth": config["depth"],
            "width": config["width"], "batch_size": config["batch_size"],
            "train_size": config.get("train_size"), "budget": config.get("budget", "preset"),
            "inputs": config.get("inputs", "raw"),
            "data_seed": config["seed"],
            "activation": member["activation"],
            "initializer": member["initializer"], "lr": float(member["lr"]),
            "init_seed": member["seed"], "trick": member.get("trick", "none"),
            "diverged_at": member.get("diverged_at"), "best_update": member.get("best_update"),
        })
    frame = pd.DataFrame(rows)
    frame["diverged_at"] = frame["diverged_at"].astype("Int64")
    frame["best_update"] = frame["best_update"].astype("Int64")
    frame["train_size"] = frame["train_size"].astype("Int64")
    return frame


def write_run(out_dir: Path, run_info: dict[str, Any], tables: dict[str, pd.DataFrame],
              overwrite: bool) -> Path:
    """Write run.json and the tables into `out_dir` atomically; return `out_dir`."""
    run_info = {"schema_version": SCHEMA_VERSION, **run_info}
    members = member_columns(run_info["config"], run_info["members"])
    metadata = {"provenance": run_info["provenance"]}
    advice = "choose a writable --out (a checkpoint, if any, resumes training)"
    with replacing(out_dir, folder=True, advice=advice) as staging:
        for name, frame in tables.items():
            write_table(members.merge(frame, on="member", how="right"),
                        staging / f"{name}.parquet", name, aggregated=False, metadata=metadata)
        (staging / "run.json").write_text(json.dumps(run_info, indent=2, default=str) + "\n")
        if out_dir.exists() and not overwrite:
            raise OutputError(f"{out_dir} appeared while training; pass --overwrite")
    return out_dir


def read_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(run.json contents, {table name: DataFrame}) of a finished run folder; OutputError
    for an unfinished one, SchemaError for one of another schema version."""
    run_dir = Path(run_dir)
    missing = [name for name in RUN_FILES if not (run_dir / name).exists()]
    if missing:
        raise OutputError(f"{run_dir} is not a finished run (missing {', '.join(missing)})")
    info = json.loads((run_dir / "run.json").read_text())
    tables = {name: read_table(run_dir / f"{name}.parquet", name, aggregated=False,
                               rebuild=RETRAIN) for name in RUN_TABLES}
    return info, tables
