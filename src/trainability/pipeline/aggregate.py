"""Merge every run folder into tidy tables under results/tables/.

    runs.parquet         one row per trained network: config, final metrics, divergence,
                         whether it is part of the protocol's result, provenance
    curves.parquet       + run, stage columns over every run's curves
    layer_stats.parquet  likewise
    histograms.parquet   likewise

`protocol` marks the networks the paper's protocol reports: in each sweep, the member at the
selected learning rate (read from the sweep's selection.json, written once by `trainability
select`); and every member of the seeds stage. Table 1, the figures and the claims read those
rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from trainability import SCHEMA_VERSION
from trainability.atomic import replacing
from trainability.pipeline.select import final_metrics, read_selection
from trainability.results import AGGREGATED_TABLES, columns, write_table
from trainability.train.outputs import read_run

#: A sweep's selection (trainability select), beside its run folder: <job>/selection.json.
SELECTION_FILE = "selection.json"


def _run_rows(run_dir: Path) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    info, tables = read_run(run_dir)
    config = info["config"]
    stage = run_dir.name
    run_id = f"{run_dir.parent.name}-{stage}"  # the job's name: unique across the grid
    curves = tables["curves"]
    members = curves.drop_duplicates("member").drop(columns=["update", "metric", "value"])
    final = final_metrics(curves).add_prefix("final_").reset_index()
    best_valid = (curves[curves.metric == "valid_error"].groupby("member")["value"].min()
                  .rename("best_valid_error").reset_index())
    runs = members.merge(final, on="member").merge(best_valid, on="member")
    if stage == "sweep":
        selection = run_dir.parent / SELECTION_FILE
        if not selection.is_file():
            raise ValueError(f"no learning-rate selection {selection} for the sweep {run_dir}; "
                             f"write it first: trainability select --sweep {run_dir} --out "
                             f"{selection}")
        chosen = pd.DataFrame([{"activation": a, "initializer": i, "trick": t, "lr": lr}
                               for (a, i, t), lr in read_selection(selection).items()],
                              columns=["activation", "initializer", "trick", "lr"])
        chosen["protocol"] = True
        runs = runs.merge(chosen, on=["activation", "initializer", "trick", "lr"], how="left")
        runs["protocol"] = runs["protocol"].fillna(False).astype(bool)
    else:
        runs["protocol"] = True
    provenance = info["provenance"]
    runs = runs.assign(
        run=run_id, stage=stage, updates=config["updates"], eval_every=config["eval_every"],
        wall_seconds=info["wall_seconds"], git_commit=provenance["git_commit"],
        device=provenance["device"], device_name=provenance["device_name"],
        torch_version=provenance["versions"]["torch"],
        trainability_version=provenance["versions"]["trainability"],
        schema_version=info["schema_version"])
    keyed = {name: frame.assign(run=run_id, stage=stage) for name, frame in tables.items()}
    return runs, keyed


def aggregate(run_dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Write the four tables for `run_dirs` into `out_dir` (replaced atomically)."""
    out_dir = Path(out_dir)
    collected: dict[str, list[pd.DataFrame]] = {name: [] for name in AGGREGATED_TABLES}
    for run_dir in sorted(Path(d) for d in run_dirs):
        runs, tables = _run_rows(run_dir)
        collected["runs"].append(runs)
        for name, frame in tables.items():
            collected[name].append(frame)
    with replacing(out_dir, folder=True, advice="choose a writable results folder") as staging:
        for name, frames in collected.items():
            frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
                columns=list(columns(name, aggregated=True)))
            write_table(frame, staging / f"{name}.parquet", name, aggregated=True)
        (staging / "schema.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION})
                                             + "\n")
    return out_dir
