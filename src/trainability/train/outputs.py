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

import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trainability import SCHEMA_VERSION

RUN_FILES = ("run.json", "curves.parquet", "layer_stats.parquet", "histograms.parquet")


class OutputError(RuntimeError):
    """The run folder cannot be written; the message says what to do."""


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


def _write_table(frame: pd.DataFrame, path: Path, metadata: dict[str, Any]) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    extra = {b"trainability": json.dumps(metadata).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    pq.write_table(table, path, compression="zstd")


def write_run(out_dir: Path, run_info: dict[str, Any], tables: dict[str, pd.DataFrame],
              overwrite: bool) -> Path:
    """Write run.json and the tables into `out_dir` atomically; return `out_dir`."""
    run_info = {"schema_version": SCHEMA_VERSION, **run_info}
    members = member_columns(run_info["config"], run_info["members"])
    metadata = {"schema_version": SCHEMA_VERSION, "provenance": run_info["provenance"]}
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for name, frame in tables.items():
            _write_table(members.merge(frame, on="member", how="right"),
                         staging / f"{name}.parquet", metadata)
        (staging / "run.json").write_text(json.dumps(run_info, indent=2, default=str) + "\n")
        if out_dir.exists():
            if not overwrite:
                raise OutputError(f"{out_dir} appeared while training; pass --overwrite")
            retired = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(retired)
            staging.rename(out_dir)
            shutil.rmtree(retired)
        else:
            staging.rename(out_dir)
    except OSError as error:  # pyarrow's IO errors are OSErrors too, often without errno
        shutil.rmtree(staging, ignore_errors=True)
        full = (error.errno in (errno.ENOSPC, errno.EDQUOT)
                or "No space left on device" in str(error))
        reason = "no space left on device" if full else (error.strerror or str(error))
        advice = ("free disk space and rerun (a checkpoint, if any, resumes training)" if full
                  else "choose a writable --out")
        raise OutputError(f"cannot write run folder {out_dir}: {' '.join(reason.split())}; "
                          f"{advice}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def read_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(run.json contents, {table name: DataFrame}) of a finished run folder."""
    run_dir = Path(run_dir)
    missing = [name for name in RUN_FILES if not (run_dir / name).exists()]
    if missing:
        raise OutputError(f"{run_dir} is not a finished run (missing {', '.join(missing)})")
    info = json.loads((run_dir / "run.json").read_text())
    tables = {name.removesuffix(".parquet"): pd.read_parquet(run_dir / name)
              for name in RUN_FILES if name.endswith(".parquet")}
    return info, tables
