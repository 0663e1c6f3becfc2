"""The aggregated tables as TensorBoard runs: one run per trained network.

    trainability export tensorboard results/tables results/tensorboard
    tensorboard --logdir results/tensorboard

Each network (a member of a training job) becomes the run
`<dataset>/d<depth>-w<width>/<activation>-<initializer>/<trick>/<budget>/lr=<lr>-seed=<seed>-<stage>`
holding:
- scalars `curves/<metric>` (training loss, training, validation and test error) at every
  evaluation, and `curves/diverged` (0 or 1) at the last one;
- scalars `layers/<quantity>/<stat>/layer<l>` (the monitor's per-layer statistics);
- histograms `<quantity>/layer<l>` of activations, back-propagated and weight gradients at
  every monitor point, from the recorded bucket counts and raw moments (results schema 3);
- the configuration as hyperparameters, with the final errors as their metrics, so that the
  HParams dashboard filters by activation, initializer, depth, trick and the rest.

Written with torch's SummaryWriter (TensorBoard's own event-file writer); nothing is written
by hand. The output folder is replaced atomically.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from trainability.atomic import replacing
from trainability.results import RUN_KEY_COLUMNS, read_tables

#: The configuration columns shown as hyperparameters.
HPARAMS = ("dataset", "depth", "width", "batch_size", "activation", "initializer", "trick",
           "budget", "inputs", "lr", "init_seed", "stage", "updates")
#: The runs table's results shown as the hyperparameters' metrics.
METRICS = ("final_test_error", "final_valid_error", "final_train_error", "best_valid_error")


def run_name(row: pd.Series) -> str:
    """The TensorBoard run of a network (a runs-table row), readable and unique."""
    return (f"{row['dataset']}/d{row['depth']}-w{row['width']}/"
            f"{row['activation']}-{row['initializer']}/{row['trick']}/{row['budget']}/"
            f"lr={row['lr']:g}-seed={row['init_seed']}-{row['stage']}")


def _finite(value) -> bool:
    return value is not None and value is not pd.NA and math.isfinite(float(value))


def _write_network(writer, row: pd.Series, curves: pd.DataFrame, stats: pd.DataFrame,
                   histograms: pd.DataFrame) -> None:
    for (metric, update), value in curves.set_index(["metric", "update"])["value"].items():
        if _finite(value):
            writer.add_scalar(f"curves/{metric}", float(value), int(update))
    last = int(curves["update"].max()) if len(curves) else 0
    writer.add_scalar("curves/diverged", float(pd.notna(row["diverged_at"])), last)
    for (quantity, stat, layer, update), value in stats.set_index(
            ["quantity", "stat", "layer", "update"])["value"].items():
        if _finite(value):
            writer.add_scalar(f"layers/{quantity}/{stat}/layer{layer}", float(value),
                              int(update))
    for (quantity, layer, update), bins in histograms.groupby(["quantity", "layer", "update"]):
        bins = bins.sort_values("bin")
        first = bins.iloc[0]
        if pd.isna(first["n"]):  # tables older than schema 3 hold no raw counts
            continue
        writer.add_histogram_raw(
            f"{quantity}/layer{layer}", min=float(first["min"]), max=float(first["max"]),
            num=int(first["n"]), sum=float(first["sum"]),
            sum_squares=float(first["sum_squares"]),
            bucket_limits=bins["bin_right"].astype(float).tolist(),
            bucket_counts=bins["count"].astype(int).tolist(), global_step=int(update))
    hparams = {key: (row[key].item() if hasattr(row[key], "item") else row[key])
               for key in HPARAMS}
    metrics = {f"hparam/{key}": float(row[key]) for key in METRICS if _finite(row[key])}
    writer.add_hparams(hparams, metrics, run_name=".")


def export_tensorboard(tables_dir: str | Path, out_dir: str | Path) -> Path:
    """Write one TensorBoard run per network of the tables in `tables_dir` into `out_dir`
    (replaced atomically); return `out_dir`."""
    from torch.utils.tensorboard import SummaryWriter  # torch and tensorboard: only here

    tables = read_tables(tables_dir)
    grouped = {name: dict(iter(tables[name].groupby(RUN_KEY_COLUMNS)))
               for name in ("curves", "layer_stats", "histograms")}
    empty = {name: tables[name].iloc[0:0] for name in grouped}
    with replacing(out_dir, folder=True, advice="choose a writable folder") as staging:
        for _, row in tables["runs"].iterrows():
            key = (row["run"], row["member"])
            with SummaryWriter(str(staging / run_name(row))) as writer:
                _write_network(writer, row, *(grouped[name].get(key, empty[name])
                                              for name in grouped))
    return Path(out_dir)
