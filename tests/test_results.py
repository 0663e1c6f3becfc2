"""The results' declared schema: one writer that conforms and stamps, readers that check the
version and upgrade older ones, and one line that says how to rebuild anything else."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trainability import SCHEMA_VERSION
from trainability.results import (
    MEMBER_COLUMNS,
    RUN_TABLES,
    SchemaError,
    columns,
    file_version,
    read_table,
    read_tables,
    write_table,
)


def curves_v1(with_axes: bool) -> pd.DataFrame:
    """Curves rows as version 1 wrote them: before the trick axis, the axis columns absent."""
    rows = pd.DataFrame({
        "member": [0, 0], "dataset": "shapeset", "depth": 5, "width": 48, "batch_size": 10,
        "data_seed": 0, "activation": "tanh", "initializer": "normalized", "lr": 0.1,
        "init_seed": 0, "diverged_at": [None, None], "best_update": [None, None],
        "update": [0, 50], "metric": "valid_error", "value": [0.8, 0.7],
        "run": "shapeset-d5-w48-sweep", "stage": "sweep"})
    if with_axes:
        rows = rows.assign(trick="", budget="preset", inputs="raw", train_size=None)
    return rows


def test_the_writer_conforms_and_stamps_every_table(tmp_path):
    frame = curves_v1(with_axes=True).assign(trick="none")
    path = write_table(frame, tmp_path / "curves.parquet", "curves", aggregated=True)
    assert file_version(path) == SCHEMA_VERSION
    back = read_table(path, "curves", aggregated=True, rebuild="x")
    assert list(back.columns) == list(columns("curves", aggregated=True))
    assert str(back["update"].dtype) == "int64" and str(back["diverged_at"].dtype) == "Int64"
    with pytest.raises(ValueError, match=r"missing \['metric'\]"):
        write_table(frame.drop(columns="metric"), tmp_path / "bad.parquet", "curves", True)


def test_an_empty_table_keeps_its_declared_types(tmp_path):
    path = write_table(pd.DataFrame(columns=list(columns("histograms", True))),
                       tmp_path / "histograms.parquet", "histograms", aggregated=True)
    back = read_table(path, "histograms", aggregated=True, rebuild="x")
    assert len(back) == 0 and str(back["bin"].dtype) == "int64"


def test_version_1_aggregated_tables_are_upgraded(tmp_path):
    """Version 1 stamped nothing in aggregated tables (schema.json beside them said 1) and
    early ones lack the axis columns: they read as the paper's plain SGD at the preset."""
    folder = tmp_path / "tables"
    folder.mkdir()
    curves_v1(with_axes=False).to_parquet(folder / "curves.parquet", index=False)
    (folder / "schema.json").write_text(json.dumps({"schema_version": 1}))
    assert file_version(folder / "curves.parquet") == 1
    back = read_table(folder / "curves.parquet", "curves", aggregated=True, rebuild="x")
    assert set(back["trick"]) == {"none"} and set(back["budget"]) == {"preset"}
    assert set(back["inputs"]) == {"raw"} and back["train_size"].isna().all()


def test_a_newer_or_foreign_file_is_one_line_saying_how_to_rebuild(tmp_path):
    frame = curves_v1(with_axes=True).assign(trick="none")
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(
        {b"trainability": json.dumps({"schema_version": SCHEMA_VERSION + 1}).encode()})
    pq.write_table(table, tmp_path / "curves.parquet")
    with pytest.raises(SchemaError) as error:
        read_table(tmp_path / "curves.parquet", "curves", aggregated=True,
                   rebuild="rebuild them: snakemake --forcerun aggregate")
    message = str(error.value)
    assert "\n" not in message and f"version {SCHEMA_VERSION + 1}" in message
    assert message.endswith("rebuild them: snakemake --forcerun aggregate")
    frame.drop(columns="metric").to_parquet(tmp_path / "runs.parquet")  # unstamped, wrong
    with pytest.raises(SchemaError, match="snakemake --forcerun aggregate"):
        read_tables(tmp_path)


def test_every_run_table_carries_the_member_columns():
    for name in RUN_TABLES:
        assert list(columns(name, aggregated=False))[:len(MEMBER_COLUMNS)] == list(
            MEMBER_COLUMNS)
    assert list(columns("runs", aggregated=True))[:len(MEMBER_COLUMNS)] == list(MEMBER_COLUMNS)


def test_version_2_histograms_read_without_raw_counts(tmp_path):
    """Version 2 histograms held fractions only: they read with counts and moments missing
    (what needs them, the TensorBoard export, then leaves them out)."""
    rows = curves_v1(with_axes=True).drop(columns=["metric", "value"]).assign(
        trick="none", layer=1, quantity="activation", bin=[0, 1], bin_left=[0.0, 0.5],
        bin_right=[0.5, 1.0], fraction=[0.25, 0.75])
    table = pa.Table.from_pandas(rows, preserve_index=False).replace_schema_metadata(
        {b"trainability": json.dumps({"schema_version": 2}).encode()})
    pq.write_table(table, tmp_path / "histograms.parquet")
    back = read_table(tmp_path / "histograms.parquet", "histograms", aggregated=True,
                      rebuild="x")
    assert back["count"].isna().all() and back["min"].isna().all()
    assert back["fraction"].tolist() == [0.25, 0.75]
